//! The backward pass: nodes in decreasing logical time, each handing its gradient to its
//! inputs, with no recursion and no hash map on the common path.
//!
//! # Order without a topological sort
//!
//! Every node carries `seq`, a per-thread Lamport clock larger than its inputs' (see
//! `node.rs`). Visiting nodes by decreasing `seq` therefore visits every node after all of
//! its consumers, which is all backpropagation needs, without first sorting the graph. And
//! because `seq` follows creation order, nodes are mostly visited in the reverse of the
//! order they were allocated, which is kind to caches.
//!
//! Pending gradients wait in a *dense* table indexed by `root.seq − seq` (`seq_table.rs`): the nodes of one
//! graph have nearby `seq`s, so the table is small and indexing it costs nothing. Nodes
//! that do not fit (an op result computed long before the graph, or two nodes of different
//! threads that drew the same `seq`) wait in a *far* list, ordered by a heap. Leaves need
//! no order (they have no inputs): a leaf's pending gradient is found through marks on the
//! leaf itself, written only by the thread that created it, or through a small map for
//! leaves created by other threads (parameters shared by data-parallel workers), and for
//! every leaf in a pass that runs inside another on the same thread, which must leave the
//! outer pass's marks alone.
//!
//! Contributions to a node are summed in the order its consumers are visited, which
//! depends only on the graph and the order it was built in: results are the same to the
//! bit whichever thread runs the pass.

use crate::backend::{Backend, BinaryOp};
use crate::grad_mode::with_grad_mode;
use crate::node::{new_pass, thread_tag, LeafNode, Node, NodeKind, OpNode};
use crate::prefetch;
use crate::seq_table::SeqTable;
use crate::shape::{broadcasts_to, numel};
use crate::variable::Variable;
use crate::vec_reuse::{keep, relabel, take_kept};
use std::cell::Cell;
use std::cmp::Reverse;
use std::collections::hash_map::Entry;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};

/// What to do with the gradients that reach the graph's nodes.
pub(crate) enum Sink<'a, B: Backend> {
    /// Add each leaf's gradient into the leaf (`backward`).
    Leaves,
    /// Return the gradients of these variables and touch no leaf (`autograd::grad`).
    Capture(&'a [&'a Variable<B>]),
}

/// Runs backpropagation from `root` (a tracked variable), seeded with `upstream` (the
/// gradient of some scalar with respect to `root`, in `root`'s shape). With
/// `create_graph`, the backward pass is itself recorded, so that its results can be
/// differentiated again; without, it computes on plain values.
///
/// Returns the captured gradients for [`Sink::Capture`] (zeros for variables the root does
/// not depend on), an empty vector for [`Sink::Leaves`].
pub(crate) fn run<B: Backend>(
    root: &Variable<B>,
    upstream: Variable<B>,
    create_graph: bool,
    sink: Sink<'_, B>,
) -> Vec<Variable<B>> {
    let write_leaves = matches!(sink, Sink::Leaves);
    let mut captures = Captures::new(match sink {
        Sink::Leaves => &[],
        Sink::Capture(targets) => targets,
    });
    B::run_backward(
        || largest_value_near(root),
        || {
            with_grad_mode(create_graph, || {
                if create_graph {
                    recorded_pass(root, upstream, &mut captures, write_leaves);
                } else {
                    value_pass(root, upstream.into_value(), &mut captures, write_leaves);
                }
            })
        },
    );
    captures.finish()
}

/// The backward pass that is itself recorded: gradients are `Variable`s and every
/// derivative is the op's differentiable one.
fn recorded_pass<B: Backend>(
    root: &Variable<B>,
    upstream: Variable<B>,
    captures: &mut Captures<'_, B>,
    write_leaves: bool,
) {
    let mut pending = Pending::new(root);
    pending.add(root, upstream);
    while let Some((output, grad)) = pending.pop() {
        let NodeKind::Op(op) = &tracked(output).kind else {
            unreachable!("leaves are not queued");
        };
        if captures.wanted() {
            captures.offer(output, &materialize(grad.clone(), output));
        }
        derive_by_variables(op, output, grad, &mut pending, |g| g);
    }
    finish_leaves(std::mem::take(&mut pending.leaves), captures, write_leaves);
}

/// The backward pass that is not recorded (every training step's): gradients are plain
/// values, and an op's derivative on values ([`ValueRule`]) is used where it has one
/// and nothing is broadcast. Elsewhere its `Variable` derivative runs on constants, which
/// under a disabled grad mode record nothing either.
///
/// [`ValueRule`]: crate::node::ValueRule
fn value_pass<B: Backend>(
    root: &Variable<B>,
    upstream: B::Tensor,
    captures: &mut Captures<'_, B>,
    write_leaves: bool,
) {
    let mut pending = Pending::new(root);
    pending.add(root, Value::<B>(upstream));
    while let Some((output, Value(grad))) = pending.pop() {
        let node = tracked(output);
        prefetch::nodes_below(Arc::as_ptr(node));
        let NodeKind::Op(op) = &node.kind else {
            unreachable!("leaves are not queued");
        };
        if captures.wanted() {
            captures.offer(
                output,
                &materialize(Variable::constant(grad.clone()), output),
            );
        }
        let inputs = op.inputs.as_slice();
        match op.on_values {
            Some(rule) if B::shape(&grad) == B::shape(&op.value) => {
                for (i, input) in inputs.iter().enumerate() {
                    if input.is_tracked() {
                        pending.add(input, Value(rule.apply::<B>(i, inputs, &grad)));
                    }
                }
            }
            _ => derive_by_variables(op, output, Variable::constant(grad), &mut pending, |g| {
                Value(g.into_value())
            }),
        }
    }
    let leaves = std::mem::take(&mut pending.leaves)
        .into_iter()
        .map(|(leaf, Value(g))| (leaf, Variable::constant(g)));
    finish_leaves(leaves, captures, write_leaves);
}

/// Hands `grad`, the gradient of `output` (the result of `op`), on to the op's tracked
/// inputs through its `Variable` derivative: each input's gradient brought to the input's
/// shape, and queued as `pendable` makes it.
fn derive_by_variables<'a, B: Backend, G: Pendable>(
    op: &'a OpNode<B>,
    output: &'a Variable<B>,
    grad: Variable<B>,
    pending: &mut Pending<'a, B, G>,
    pendable: impl Fn(Variable<B>) -> G,
) {
    let grad = if op.elementwise {
        grad
    } else {
        materialize(grad, output)
    };
    let inputs = op.inputs.as_slice();
    for (i, input) in inputs.iter().enumerate() {
        if input.is_tracked() {
            let g = reduce_to_input((op.derivative)(i, inputs, output, &grad), input);
            pending.add(input, pendable(g));
        }
    }
}

/// Hands each leaf its gradient, expanded to the leaf's shape: to the captures, and into
/// the leaf's stored gradient where the pass writes leaves.
fn finish_leaves<'a, B: Backend>(
    leaves: impl IntoIterator<Item = (&'a Variable<B>, Variable<B>)>,
    captures: &mut Captures<'_, B>,
    write_leaves: bool,
) {
    for (leaf, grad) in leaves {
        let grad = materialize(grad, leaf);
        captures.offer(leaf, &grad);
        if write_leaves {
            let NodeKind::Leaf(node) = &tracked(leaf).kind else {
                unreachable!("only leaves are listed as leaves");
            };
            let mut slot = node.grad.lock().unwrap_or_else(PoisonError::into_inner);
            *slot = Some(match slot.take() {
                None => grad,
                Some(old) => old + grad,
            });
        }
    }
}

/// The gradients an `autograd::grad` call asked for, collected as the pass reaches their
/// nodes.
struct Captures<'s, B: Backend> {
    targets: &'s [&'s Variable<B>],
    /// The targets by node, so that each visited node costs one lookup rather than a scan
    /// of all targets (which was a quarter of a data-parallel W5 step: 337 targets).
    slots: AddressMap<Vec<usize>>,
    captured: Vec<Option<Variable<B>>>,
}

impl<'s, B: Backend> Captures<'s, B> {
    fn new(targets: &'s [&'s Variable<B>]) -> Self {
        let mut slots: AddressMap<Vec<usize>> = AddressMap::default();
        for (i, target) in targets.iter().enumerate() {
            if let Some(node) = target.node() {
                slots.entry(address(node)).or_default().push(i);
            }
        }
        Captures {
            targets,
            slots,
            captured: vec![None; targets.len()],
        }
    }

    /// Whether any gradient is to be captured.
    #[inline]
    fn wanted(&self) -> bool {
        !self.targets.is_empty()
    }

    /// Keeps `grad` (in `var`'s shape) if `var` is a target.
    fn offer(&mut self, var: &Variable<B>, grad: &Variable<B>) {
        if !self.wanted() {
            return;
        }
        if let Some(slots) = var.node().and_then(|node| self.slots.get(&address(node))) {
            for &i in slots {
                self.captured[i] = Some(grad.clone());
            }
        }
    }

    /// The captured gradients in the targets' order, zeros for those never reached.
    fn finish(self) -> Vec<Variable<B>> {
        self.captured
            .into_iter()
            .zip(self.targets)
            .map(|(g, target)| g.unwrap_or_else(|| target.zeros_like()))
            .collect()
    }
}

/// Brings a gradient to its input's shape where the op broadcast the input: the one place
/// broadcasting's backward happens. Dimensions in which the gradient is larger than the
/// input are summed away; dimensions in which it is smaller stay so (see `materialize`).
fn reduce_to_input<B: Backend>(grad: Variable<B>, input: &Variable<B>) -> Variable<B> {
    let (g, x) = (grad.value_ref(), input.value_ref());
    let (gs, xs) = (B::shape(&g), B::shape(&x));
    if gs == xs || broadcasts_to(gs, xs) {
        return grad;
    }
    let rank = gs.len().min(xs.len());
    let target: Vec<usize> = (0..rank)
        .map(|i| {
            let (gd, xd) = (gs[gs.len() - rank + i], xs[xs.len() - rank + i]);
            if xd == 1 {
                1
            } else {
                gd
            }
        })
        .collect();
    grad.sum_to(&target)
}

/// Expands a gradient to the full shape of `like`.
///
/// Gradients may travel *unexpanded* through elementwise ops: the derivative of
/// `sum(x)` is a single 1 broadcast to `x`'s shape, and `tanh`'s derivative times a
/// broadcast 1 needs no materialised array of ones. The engine expands a gradient only
/// where it must: before the derivative of an op that needs the exact output shape
/// (reshape, matmul, ...), and when it reaches a leaf or is returned.
fn materialize<B: Backend>(grad: Variable<B>, like: &Variable<B>) -> Variable<B> {
    let (g, x) = (grad.value_ref(), like.value_ref());
    if B::shape(&g) == B::shape(&x) {
        grad
    } else {
        grad.expand(B::shape(&x))
    }
}

fn tracked<B: Backend>(var: &Variable<B>) -> &Arc<Node<B>> {
    var.node().expect("graph nodes are tracked")
}

/// A gradient waiting in a backward pass: a `Variable` where the pass is recorded, a
/// [`Value`] where it is not.
trait Pendable: Sized + 'static {
    /// Adds a further contribution.
    fn accumulate(&mut self, grad: Self);
}

/// A gradient as a plain value, in an unrecorded pass.
struct Value<B: Backend>(B::Tensor);

impl<B: Backend> Pendable for Value<B> {
    /// The sum of the values, broadcast where one is (as `Variable`'s `+` would give).
    #[inline]
    fn accumulate(&mut self, grad: Self) {
        self.0 = B::binary(BinaryOp::Add, &self.0, &grad.0);
    }
}

impl<B: Backend> Pendable for Variable<B> {
    /// The sum as a `Variable` operation (recorded in a recorded pass).
    fn accumulate(&mut self, grad: Self) {
        *self = &*self + grad;
    }
}

/// A variable of the graph being differentiated and the gradient pending for it. The
/// variable is borrowed from the graph (the root, or an input held by a node), which the
/// pass borrows throughout: queueing a node costs no reference count.
type Queued<'a, B, G> = (&'a Variable<B>, G);

/// The gradients waiting to be handed on, for one backward pass.
struct Pending<'a, B: Backend, G: Pendable> {
    /// Op nodes by `seq`, newest first, with their pending gradients. The table's memory
    /// is kept from pass to pass (see `vec_reuse.rs`).
    dense: SeqTable<Queued<'a, B, G>>,
    /// Op nodes that do not fit the dense table, with their index in `far` by address and
    /// a heap of `(seq, index)` giving the next to visit.
    far: Vec<Option<Queued<'a, B, G>>>,
    far_index: AddressMap<usize>,
    far_order: BinaryHeap<(u64, Reverse<usize>)>,
    /// Leaves in the order they were reached, with their accumulated gradient.
    leaves: Vec<Queued<'a, B, G>>,
    foreign_leaves: AddressMap<u32>,
    /// This thread's tag, whose leaves' marks the pass uses; 0 (no thread's) in a pass
    /// running inside another on the same thread, which finds every leaf through
    /// `foreign_leaves` instead, so as not to overwrite the outer pass's marks.
    thread: u32,
    pass: u64,
}

thread_local! {
    /// How many backward passes are running on this thread: more than one when a pass
    /// runs inside another (a derivative that runs one, or a rayon task taken up while a
    /// pass waits in a parallel kernel).
    static PASSES_RUNNING: Cell<u32> = const { Cell::new(0) };
}

impl<'a, B: Backend, G: Pendable> Pending<'a, B, G> {
    fn new(root: &'a Variable<B>) -> Self {
        let outer_passes = PASSES_RUNNING.with(|n| n.replace(n.get() + 1));
        Pending {
            dense: SeqTable::new(tracked(root).seq, relabel(take_kept::<DenseSlot<B, G>>())),
            far: Vec::new(),
            far_index: AddressMap::default(),
            far_order: BinaryHeap::new(),
            leaves: Vec::new(),
            foreign_leaves: AddressMap::default(),
            thread: if outer_passes == 0 { thread_tag() } else { 0 },
            pass: new_pass(),
        }
    }

    /// Adds `grad` to the gradient pending for `var` (a tracked variable). The common cases,
    /// an op node in the dense table and a leaf already reached, are inline; the rest is
    /// [`add_elsewhere`].
    ///
    /// [`add_elsewhere`]: Self::add_elsewhere
    #[inline]
    fn add(&mut self, var: &'a Variable<B>, mut grad: G) {
        let node = tracked(var);
        match &node.kind {
            NodeKind::Op(_) if self.far_index.is_empty() => {
                match self.add_dense(var, node.seq, grad) {
                    Ok(()) => return,
                    Err(back) => grad = back,
                }
            }
            // A leaf of this thread this pass has already reached.
            NodeKind::Leaf(leaf)
                if leaf.owner == self.thread
                    && leaf.visit_pass.load(Ordering::Relaxed) == self.pass =>
            {
                let i = leaf.visit_slot.load(Ordering::Relaxed) as usize;
                self.leaves[i].1.accumulate(grad);
                return;
            }
            _ => {}
        }
        self.add_elsewhere(var, grad);
    }

    #[inline(never)]
    fn add_elsewhere(&mut self, var: &'a Variable<B>, mut grad: G) {
        let node = tracked(var);
        match &node.kind {
            NodeKind::Leaf(leaf) => self.add_to_leaf(var, leaf, grad),
            NodeKind::Op(_) => {
                if !self.is_far(node) {
                    match self.add_dense(var, node.seq, grad) {
                        Ok(()) => return,
                        Err(back) => grad = back,
                    }
                }
                self.add_far(var, node, grad);
            }
        }
    }

    /// Adds `grad` for the op node `var` (of `seq`) in the dense table, or gives it back
    /// if the node is outside the table or another thread's node drew the same `seq` (it
    /// then goes far).
    #[inline]
    fn add_dense(&mut self, var: &'a Variable<B>, seq: u64, grad: G) -> Result<(), G> {
        match self.dense.slot(seq) {
            Some(slot @ None) => {
                *slot = Some((var, grad));
                Ok(())
            }
            Some(Some((held, sum))) if held.same_node(var) => {
                sum.accumulate(grad);
                Ok(())
            }
            _ => Err(grad),
        }
    }

    fn is_far(&self, node: &Arc<Node<B>>) -> bool {
        !self.far_index.is_empty() && self.far_index.contains_key(&address(node))
    }

    fn add_far(&mut self, var: &'a Variable<B>, node: &Arc<Node<B>>, grad: G) {
        match self.far_index.get(&address(node)) {
            Some(&i) => {
                let (_, sum) = self.far[i]
                    .as_mut()
                    .expect("a far node is pending until visited");
                sum.accumulate(grad);
            }
            None => {
                let i = self.far.len();
                self.far.push(Some((var, grad)));
                self.far_index.insert(address(node), i);
                self.far_order.push((node.seq, Reverse(i)));
            }
        }
    }

    fn add_to_leaf(&mut self, var: &'a Variable<B>, leaf: &LeafNode<B>, grad: G) {
        let index = if leaf.owner == self.thread {
            if leaf.visit_pass.load(Ordering::Relaxed) == self.pass {
                Some(leaf.visit_slot.load(Ordering::Relaxed))
            } else {
                leaf.visit_pass.store(self.pass, Ordering::Relaxed);
                leaf.visit_slot
                    .store(self.leaves.len() as u32, Ordering::Relaxed);
                None
            }
        } else {
            let next = self.leaves.len() as u32;
            match self.foreign_leaves.entry(address(tracked(var))) {
                Entry::Occupied(e) => Some(*e.get()),
                Entry::Vacant(e) => {
                    e.insert(next);
                    None
                }
            }
        };
        match index {
            Some(i) => self.leaves[i as usize].1.accumulate(grad),
            None => self.leaves.push((var, grad)),
        }
    }

    /// The op node with the largest `seq` still pending, and its gradient.
    #[inline]
    fn pop(&mut self) -> Option<Queued<'a, B, G>> {
        if self.far_order.is_empty() {
            return self.dense.pop();
        }
        let dense_seq = self.dense.newest_seq();
        let far_seq = self.far_order.peek().map(|&(seq, _)| seq);
        match (dense_seq, far_seq) {
            (None, None) => None,
            (Some(d), Some(f)) if f > d => self.pop_far(),
            (None, Some(_)) => self.pop_far(),
            (Some(_), _) => self.dense.pop(),
        }
    }

    fn pop_far(&mut self) -> Option<Queued<'a, B, G>> {
        let (_, Reverse(i)) = self.far_order.pop()?;
        let entry = self.far[i].take();
        if let Some((var, _)) = &entry {
            self.far_index.remove(&address(tracked(var)));
        }
        entry
    }
}

impl<B: Backend, G: Pendable> Drop for Pending<'_, B, G> {
    fn drop(&mut self) {
        let _ = PASSES_RUNNING.try_with(|n| n.set(n.get() - 1));
        let empty = SeqTable::new(0, Vec::new());
        let slots = std::mem::replace(&mut self.dense, empty).into_slots();
        keep::<DenseSlot<B, G>>(relabel(slots));
    }
}

/// A slot of the dense table as it is kept between passes: empty, so the lifetime of the
/// borrows it held no longer matters (see [`relabel`]).
type DenseSlot<B, G> = Option<Queued<'static, B, G>>;

/// How many nodes [`largest_value_near`] looks at.
const PROBE_NODES: usize = 64;

/// The most elements of any value among the first [`PROBE_NODES`] op results and constants
/// found from `root`, breadth first: a cheap hint to the backend of how large the kernels
/// of the pass will be (a loss is small, but the activations just behind it are not).
fn largest_value_near<B: Backend>(root: &Variable<B>) -> usize {
    let mut queue = vec![root];
    let mut largest = 0;
    let mut next = 0;
    while next < queue.len() && next < PROBE_NODES {
        let var = queue[next];
        next += 1;
        match var.node().map(|node| &node.kind) {
            None => largest = largest.max(numel(B::shape(&var.value_ref()))),
            Some(NodeKind::Op(op)) => {
                largest = largest.max(numel(B::shape(&op.value)));
                queue.extend(op.inputs.as_slice());
            }
            Some(NodeKind::Leaf(_)) => {}
        }
    }
    largest
}

/// The number of nodes reachable from `root`, itself included (an iterative search).
pub(crate) fn node_count<B: Backend>(root: &Variable<B>) -> usize {
    let mut seen: HashSet<usize, BuildHasherDefault<AddressHasher>> = HashSet::default();
    let mut stack = vec![root];
    while let Some(var) = stack.pop() {
        if let Some(node) = var.node() {
            if seen.insert(address(node)) {
                stack.extend(node.inputs());
            }
        }
    }
    seen.len()
}

fn address<B: Backend>(node: &Arc<Node<B>>) -> usize {
    Arc::as_ptr(node) as usize
}

/// A map keyed by node address. Addresses are already unique, so the hash only has to
/// spread them: a multiply is enough, and much faster than SipHash.
type AddressMap<V> = HashMap<usize, V, BuildHasherDefault<AddressHasher>>;

#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x100000001b3);
        }
    }

    fn write_usize(&mut self, address: usize) {
        self.0 = ((address as u64) >> 3).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }
}
