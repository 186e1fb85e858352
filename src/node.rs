//! Graph nodes, and dropping a graph of any depth without recursion.

use crate::backend::{Backend, LeafCell};
use crate::node_pool;
use crate::prefetch;
use crate::seq_table::SeqTable;
use crate::variable::Variable;
use crate::vec_reuse::{keep, take_kept};
use std::cell::Cell;
use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// The derivative rule of an op, recorded with its result.
///
/// Called as `derivative(i, inputs, output, grad)`, it returns the gradient with respect to
/// `inputs[i]` of `sum(output · grad)`, built from differentiable `Variable` operations (so
/// that it can itself be differentiated). The result may have the output's shape where the
/// op broadcast `inputs[i]`: the engine sums broadcast dimensions away.
pub type Derivative<B> =
    dyn Fn(usize, &[Variable<B>], &Variable<B>, &Variable<B>) -> Variable<B> + Send + Sync;

/// An elementwise op's derivative on plain values, for backward passes that are not
/// recorded: [`apply`](Self::apply)`(i, inputs, grad)` returns the value that
/// `derivative(i, inputs, output, grad)` would hold, to the bit, when `grad` and every
/// input have the output's shape. It is recorded only where every input has the output's
/// shape, so the backward pass checks `grad`'s alone. It skips building `Variable`s and
/// the op's checks and dispatch: 4-5% of W5's step (a scalar graph of adds and
/// multiplies). An enum rather than a function pointer, so that the pass runs it inline:
/// W5 has one per node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ValueRule {
    /// `a + b`: the gradient, to both inputs.
    Add,
    /// `a − b`: the gradient, and its negation.
    Sub,
    /// `a · b`: the gradient times the other input.
    Mul,
}

impl ValueRule {
    /// The gradient with respect to `inputs[i]`, for the upstream gradient `grad`.
    #[inline(always)]
    pub(crate) fn apply<B: Backend>(
        self,
        i: usize,
        inputs: &[Variable<B>],
        grad: &B::Tensor,
    ) -> B::Tensor {
        use crate::backend::{BinaryOp, UnaryOp};
        match (self, i) {
            (ValueRule::Add, _) | (ValueRule::Sub, 0) => grad.clone(),
            (ValueRule::Sub, _) => B::unary(UnaryOp::Neg, grad),
            (ValueRule::Mul, _) => B::binary(BinaryOp::Mul, grad, &inputs[1 - i].value_ref()),
        }
    }
}

/// The inputs of an op, stored inline for the common one- and two-input cases so that a
/// scalar graph node costs one allocation.
pub(crate) enum Inputs<B: Backend> {
    One([Variable<B>; 1]),
    Two([Variable<B>; 2]),
    Many(Vec<Variable<B>>),
}

impl<B: Backend> Inputs<B> {
    pub(crate) fn as_slice(&self) -> &[Variable<B>] {
        match self {
            Inputs::One(xs) => xs,
            Inputs::Two(xs) => xs,
            Inputs::Many(xs) => xs,
        }
    }

    /// The largest `seq` among the inputs' nodes (0 if none is tracked). Written out per
    /// case: it runs once per node made, and the common two-input case needs no loop.
    fn newest_seq(&self) -> u64 {
        let seq = |x: &Variable<B>| x.node().map_or(0, |n| n.seq);
        match self {
            Inputs::One([x]) => seq(x),
            Inputs::Two([a, b]) => seq(a).max(seq(b)),
            Inputs::Many(xs) => xs.iter().map(seq).max().unwrap_or(0),
        }
    }

    fn take(&mut self) -> Inputs<B> {
        std::mem::replace(self, Inputs::Many(Vec::new()))
    }

    fn for_each(self, f: impl FnMut(Variable<B>)) {
        match self {
            Inputs::One(xs) => xs.into_iter().for_each(f),
            Inputs::Two(xs) => xs.into_iter().for_each(f),
            Inputs::Many(xs) => xs.into_iter().for_each(f),
        }
    }
}

/// A node made by an op: its value, its inputs and how to differentiate it.
pub(crate) struct OpNode<B: Backend> {
    pub(crate) value: B::Tensor,
    pub(crate) name: &'static str,
    /// Whether the derivative accepts a gradient that is only broadcastable to the output
    /// (elementwise ops), so the engine need not materialise it (see `backward.rs`).
    pub(crate) elementwise: bool,
    pub(crate) inputs: Inputs<B>,
    pub(crate) derivative: Box<Derivative<B>>,
    /// The same derivative on values, where the op has one and no input was broadcast
    /// (see [`ValueRule`]).
    pub(crate) on_values: Option<ValueRule>,
}

/// A leaf that requires a gradient: a parameter or an input being differentiated.
/// Its value can be replaced in place (by an optimizer), and gradients accumulate into it.
pub(crate) struct LeafNode<B: Backend> {
    pub(crate) value: B::Leaf,
    pub(crate) grad: Mutex<Option<Variable<B>>>,
    /// The thread that created the leaf: the only thread that touches the marks below.
    pub(crate) owner: u32,
    /// The backward pass (of the owner thread) that last reached this leaf, and the leaf's
    /// index in that pass's list of leaves: how a pass finds a leaf's pending gradient
    /// without a hash map (see `backward.rs`).
    pub(crate) visit_pass: AtomicU64,
    pub(crate) visit_slot: AtomicU32,
}

impl<B: Backend> LeafNode<B> {
    pub(crate) fn new(value: B::Tensor) -> Self {
        LeafNode {
            value: LeafCell::new(value),
            grad: Mutex::new(None),
            owner: thread_tag(),
            visit_pass: AtomicU64::new(0),
            visit_slot: AtomicU32::new(0),
        }
    }
}

/// A graph node: a leaf or an op result.
pub(crate) struct Node<B: Backend> {
    /// A logical clock (Lamport's): larger than the `seq` of every input, so that
    /// decreasing `seq` is a valid order for backpropagation (every node before its
    /// inputs), and close to creation order, so that visiting nodes in that order walks
    /// memory the way it was allocated.
    pub(crate) seq: u64,
    pub(crate) kind: NodeKind<B>,
}

pub(crate) enum NodeKind<B: Backend> {
    Leaf(LeafNode<B>),
    Op(OpNode<B>),
}

static NEXT_THREAD_TAG: AtomicU32 = AtomicU32::new(1);

thread_local! {
    static THREAD_TAG: u32 = NEXT_THREAD_TAG.fetch_add(1, Ordering::Relaxed);
    static CLOCK: Cell<u64> = const { Cell::new(0) };
    static NEXT_PASS: Cell<u64> = const { Cell::new(1) };
}

/// A small number identifying the current thread (never 0).
pub(crate) fn thread_tag() -> u32 {
    THREAD_TAG.with(|t| *t)
}

/// A pass id never used before on this thread (never 0).
pub(crate) fn new_pass() -> u64 {
    NEXT_PASS.with(|p| p.replace(p.get() + 1))
}

impl<B: Backend> Node<B> {
    /// A node stamped with the next tick of this thread's clock, past every input's.
    pub(crate) fn new(kind: NodeKind<B>) -> Self {
        let newest_input = match &kind {
            NodeKind::Leaf(_) => 0,
            NodeKind::Op(op) => op.inputs.newest_seq(),
        };
        let seq = CLOCK.with(|clock| {
            let seq = clock.get().max(newest_input) + 1;
            clock.set(seq);
            seq
        });
        Node { seq, kind }
    }

    pub(crate) fn inputs(&self) -> &[Variable<B>] {
        match &self.kind {
            NodeKind::Leaf(_) => &[],
            NodeKind::Op(op) => op.inputs.as_slice(),
        }
    }

    /// Moves out every child handle (inputs, and a leaf's gradient, which may hold a graph
    /// built by a create-graph backward). Children this node held the only handle on are
    /// queued in `orphans`; the others just lose a reference.
    fn release_children(&mut self, orphans: &mut Orphans<B>) {
        let mut release = |child: Variable<B>| {
            if let Some(node) = child.into_node() {
                // A count of 1 cannot grow behind our back: only our handle can be cloned.
                if Arc::strong_count(&node) == 1 {
                    orphans.push(node);
                }
            }
        };
        match &mut self.kind {
            NodeKind::Op(op) => op.inputs.take().for_each(release),
            NodeKind::Leaf(leaf) => {
                let grad = leaf.grad.get_mut().unwrap_or_else(PoisonError::into_inner);
                if let Some(g) = grad.take() {
                    release(g);
                }
            }
        }
    }

    /// Readies a freed op node for the pool: its inputs are already released; the
    /// derivative goes too, with anything it captured. A retired node must own no memory:
    /// the pool forgets it when its allocation is reused (its value owns none, or the
    /// backend is not pooled; its inputs are an empty list; its derivative a function).
    fn retire(&mut self) {
        if let NodeKind::Op(op) = &mut self.kind {
            op.derivative = Box::new(retired_derivative);
        }
    }
}

/// The derivative of a pooled node, which is never part of a graph.
fn retired_derivative<B: Backend>(
    _: usize,
    _: &[Variable<B>],
    _: &Variable<B>,
    _: &Variable<B>,
) -> Variable<B> {
    unreachable!("a pooled node is not part of any graph")
}

/// Dropping the last handle of a deep graph would recurse once per node (each node drops
/// its inputs, which drop theirs, ...) and overflow the stack on long chains. Instead, the
/// first node dropped collects every descendant it held the only handle on, and empties
/// them one by one, newest first; each then drops with no children left. Op nodes go to
/// the thread's node pool where the backend has one (see `node_pool.rs`), the others back
/// to the allocator.
impl<B: Backend> Drop for Node<B> {
    fn drop(&mut self) {
        let mut orphans = Orphans::new(self.seq);
        self.release_children(&mut orphans);
        if orphans.is_empty() {
            return;
        }
        let mut pool = node_pool::take::<B>();
        while let Some(mut node) = orphans.pop() {
            prefetch::nodes_below(Arc::as_ptr(&node));
            let poolable = node_pool::enabled::<B>()
                && pool.len() < node_pool::CAPACITY
                && matches!(node.kind, NodeKind::Op(_));
            if poolable {
                if let Some(inner) = unique_mut(&mut node) {
                    inner.release_children(&mut orphans);
                    inner.retire();
                    pool.push(node);
                    continue;
                }
            }
            // Taking the node out of its allocation costs one atomic operation fewer than
            // `Arc::get_mut` and a drop.
            if let Some(mut node) = Arc::into_inner(node) {
                node.release_children(&mut orphans);
            }
        }
        orphans.give_back();
        node_pool::give_back(pool);
    }
}

/// `Arc::get_mut` without its atomic read-modify-write: the node, if `node` is the only
/// handle on it.
///
/// `Arc::get_mut` locks the weak count (a `lock cmpxchg` and a store) to keep a `Weak`
/// from upgrading meanwhile. No `Weak` of a node is ever made in this crate (nodes are
/// crate-private, and nothing calls `Arc::downgrade` on them), so a strong count of 1,
/// read while this thread holds that one handle mutably, cannot change behind its back.
/// On the Intel Xeon of BENCHMARKS.md, where an atomic read-modify-write costs about 20
/// cycles, a scalar graph makes two such checks per node (one when the pool hands it out,
/// one when the graph is freed).
pub(crate) fn unique_mut<B: Backend>(node: &mut Arc<Node<B>>) -> Option<&mut Node<B>> {
    if Arc::strong_count(node) != 1 {
        return None;
    }
    // Pairs with the `Release` decrement of a handle dropped on another thread, so that
    // its writes to the node happen before ours (as in `Arc`'s own drop).
    fence(Ordering::Acquire);
    // SAFETY: the strong count is 1, and `node` is borrowed mutably, so no other `Arc` on
    // this allocation exists or can be made (cloning needs a handle), and no `Weak` exists
    // (see above) that could upgrade. The pointer comes from the `Arc`, which allows
    // writes through it when it is unique, as `Arc::get_mut` does; the borrow lives no
    // longer than `node`'s.
    Some(unsafe { &mut *Arc::as_ptr(node).cast_mut() })
}

/// The nodes a drop has yet to empty. Where the backend pools its nodes, they are handed
/// out newest first (by decreasing `seq`, through a [`SeqTable`] under the dropped node's
/// `seq`): a graph is freed in the reverse of the order it was made, so that the
/// last-in-first-out pool hands the memory out again in the order it was last used. Other
/// nodes, and those that do not fit the table, wait on a stack.
struct Orphans<B: Backend> {
    top: u64,
    /// Made at the first node that goes in it: most drops free nothing.
    table: Option<SeqTable<Arc<Node<B>>>>,
    stack: Vec<Arc<Node<B>>>,
    /// How many nodes wait, in the table and on the stack.
    waiting: usize,
}

impl<B: Backend> Orphans<B> {
    fn new(top: u64) -> Self {
        Orphans {
            top,
            table: None,
            stack: Vec::new(),
            waiting: 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.waiting == 0
    }

    fn push(&mut self, node: Arc<Node<B>>) {
        self.waiting += 1;
        // Order only matters for reuse: without a pool, a stack is cheaper (3% of W4).
        if node_pool::enabled::<B>() {
            let top = self.top;
            let table = self
                .table
                .get_or_insert_with(|| SeqTable::new(top, take_kept()));
            if let Some(slot @ None) = table.slot(node.seq) {
                *slot = Some(node);
                return;
            }
        }
        self.stack.push(node);
    }

    fn pop(&mut self) -> Option<Arc<Node<B>>> {
        if self.waiting == 0 {
            return None;
        }
        self.waiting -= 1;
        self.table
            .as_mut()
            .and_then(SeqTable::pop)
            .or_else(|| self.stack.pop())
    }

    /// Keeps the (emptied) table's memory for the next drop on this thread.
    fn give_back(&mut self) {
        if let Some(table) = self.table.take() {
            keep(table.into_slots());
        }
    }
}
