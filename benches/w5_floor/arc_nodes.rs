//! DESIGN.md's graph and nothing more: a reference-counted heap node per op, freed
//! without recursion, optionally into a per-thread pool (see `w5_node_floor.rs`).

use super::{is_hidden, w5, LEARNING_RATE};
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Clone, Copy)]
enum Op {
    Leaf,
    Add,
    Sub,
    Mul,
    Relu,
}

/// A graph node. A leaf keeps its value and gradient in atomics, as a shared parameter
/// must; an op result never changes, but one layout serves both.
struct Node {
    seq: u64,
    op: Op,
    value: AtomicU64,
    grad: AtomicU64,
    inputs: [Value; 2],
}

/// A constant, or a handle on a node.
#[derive(Clone)]
enum Value {
    Constant(f64),
    Tracked(Arc<Node>),
}

thread_local! {
    static CLOCK: Cell<u64> = const { Cell::new(0) };
    /// Whether freed nodes go to `POOL` (and new ones come from it).
    pub static POOLED: Cell<bool> = const { Cell::new(false) };
    static POOL: RefCell<Vec<Arc<Node>>> = const { RefCell::new(Vec::new()) };
    static ORPHANS: Cell<Vec<Option<Arc<Node>>>> = const { Cell::new(Vec::new()) };
}

impl Value {
    fn get(&self) -> f64 {
        match self {
            Value::Constant(x) => *x,
            Value::Tracked(node) => f64::from_bits(node.value.load(Ordering::Relaxed)),
        }
    }

    fn seq(&self) -> u64 {
        match self {
            Value::Constant(_) => 0,
            Value::Tracked(node) => node.seq,
        }
    }

    fn node(op: Op, value: f64, inputs: [Value; 2]) -> Value {
        let newest = inputs[0].seq().max(inputs[1].seq());
        let seq = CLOCK.with(|clock| {
            let seq = clock.get().max(newest) + 1;
            clock.set(seq);
            seq
        });
        let node = Node {
            seq,
            op,
            value: AtomicU64::new(value.to_bits()),
            grad: AtomicU64::new(0),
            inputs,
        };
        if let Some(mut slot) = POOL.with_borrow_mut(Vec::pop) {
            if let Some(place) = unique_mut(&mut slot) {
                // The pooled node has no children left: dropping it frees nothing.
                *place = node;
                return Value::Tracked(slot);
            }
        }
        Value::Tracked(Arc::new(node))
    }

    fn leaf(value: f64) -> Value {
        Value::node(
            Op::Leaf,
            value,
            [Value::Constant(0.0), Value::Constant(0.0)],
        )
    }

    fn is_tracked(&self) -> bool {
        matches!(self, Value::Tracked(_))
    }

    fn binary(op: Op, a: &Value, b: &Value, value: f64) -> Value {
        Value::binary_owned(op, a.clone(), b.clone(), value)
    }

    /// As ferrograd's operators do with operands taken by value: moved into the node, no
    /// reference count changed.
    fn binary_owned(op: Op, a: Value, b: Value, value: f64) -> Value {
        if a.is_tracked() || b.is_tracked() {
            Value::node(op, value, [a, b])
        } else {
            Value::Constant(value)
        }
    }

    fn add_owned(self, rhs: Value) -> Value {
        let value = self.get() + rhs.get();
        Value::binary_owned(Op::Add, self, rhs, value)
    }

    fn add(&self, rhs: &Value) -> Value {
        Value::binary(Op::Add, self, rhs, self.get() + rhs.get())
    }

    fn sub(&self, rhs: &Value) -> Value {
        Value::binary(Op::Sub, self, rhs, self.get() - rhs.get())
    }

    fn mul(&self, rhs: &Value) -> Value {
        Value::binary(Op::Mul, self, rhs, self.get() * rhs.get())
    }

    fn relu(&self) -> Value {
        let zero = Value::Constant(0.0);
        Value::binary(Op::Relu, self, &zero, self.get().max(0.0))
    }

    fn grad(&self) -> f64 {
        match self {
            Value::Constant(_) => 0.0,
            Value::Tracked(node) => f64::from_bits(node.grad.load(Ordering::Relaxed)),
        }
    }
}

/// Frees a graph of any depth without recursion: the children this node held the only
/// handle on are emptied one by one.
impl Drop for Node {
    fn drop(&mut self) {
        if POOLED.get() {
            free_into_pool(self);
            return;
        }
        let mut orphans = Vec::new();
        release(self, &mut orphans);
        while let Some(node) = orphans.pop() {
            if let Some(mut node) = Arc::into_inner(node) {
                release(&mut node, &mut orphans);
            }
        }
    }
}

/// Frees a graph newest node first into the pool, as ferrograd does: the children wait
/// in a table indexed by `top − seq`, so the pool hands memory out in the order it was
/// last used.
fn free_into_pool(top: &mut Node) {
    let mut waiting = Vec::new();
    release(top, &mut waiting);
    if waiting.is_empty() {
        return;
    }
    let mut dense: Vec<Option<Arc<Node>>> = ORPHANS.take();
    let mut pool = POOL.take();
    let place = |dense: &mut Vec<Option<Arc<Node>>>, node: Arc<Node>| {
        let j = (top.seq - node.seq) as usize;
        if j >= dense.len() {
            dense.resize(j + 1, None);
        }
        dense[j] = Some(node);
    };
    for node in waiting.drain(..) {
        place(&mut dense, node);
    }
    let mut j = 0;
    while j < dense.len() {
        if let Some(mut node) = dense[j].take() {
            nodes_below(Arc::as_ptr(&node));
            if let Some(inner) = unique_mut(&mut node) {
                release(inner, &mut waiting);
                for child in waiting.drain(..) {
                    place(&mut dense, child);
                }
                pool.push(node);
            }
        }
        j += 1;
    }
    dense.clear();
    ORPHANS.set(dense);
    POOL.set(pool);
}

/// Asks for the memory 8 KiB below `node`, where pooled nodes made just before it lie, as
/// ferrograd's backward pass and drop do (its `prefetch.rs`).
fn nodes_below(node: *const Node) {
    let ahead = node.cast::<i8>().wrapping_sub(8192);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch accesses no memory and never faults, whatever the address.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(ahead);
        _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(64));
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = ahead;
}

/// `Arc::get_mut` without its atomic read-modify-write, as ferrograd's drop and pool do:
/// no `Weak` of a node is ever made, so a strong count of 1 under a mutable borrow is
/// uniqueness.
fn unique_mut(node: &mut Arc<Node>) -> Option<&mut Node> {
    if Arc::strong_count(node) != 1 {
        return None;
    }
    std::sync::atomic::fence(Ordering::Acquire);
    // SAFETY: the count is 1 and `node` is borrowed mutably, so no other handle exists or
    // can be made, and no `Weak` exists in this engine.
    Some(unsafe { &mut *Arc::as_ptr(node).cast_mut() })
}

fn release(node: &mut Node, orphans: &mut Vec<Arc<Node>>) {
    for input in &mut node.inputs {
        if let Value::Tracked(child) = std::mem::replace(input, Value::Constant(0.0)) {
            if Arc::strong_count(&child) == 1 {
                orphans.push(child);
            }
        }
    }
}

/// The dense table of pending gradients, kept (empty) from step to step.
#[derive(Default)]
pub struct Scratch {
    dense: Vec<Option<(&'static Node, f64)>>,
}

/// An emptied vector's memory as a vector of another type of the same layout (here:
/// borrows of another lifetime), as ferrograd's backward pass keeps its table.
fn relabel<T, U>(mut table: Vec<T>) -> Vec<U> {
    table.clear();
    table.into_iter().map(|_| unreachable!("emptied")).collect()
}

/// Backpropagates from `root`, visiting nodes by decreasing `seq` (every node after its
/// consumers), with pending gradients in a table indexed by `root.seq − seq`.
fn backward(root: &Value, scratch: &mut Scratch) {
    let Value::Tracked(root) = root else { return };
    let mut dense: Vec<Option<(&Node, f64)>> = relabel(std::mem::take(&mut scratch.dense));
    let pooled = POOLED.get();
    dense.push(Some((root, 1.0)));
    let mut j = 0;
    while j < dense.len() {
        if let Some((node, g)) = dense[j].take() {
            if pooled {
                nodes_below(node);
            }
            let [a, b] = &node.inputs;
            let grads = match node.op {
                Op::Add => [g, g],
                Op::Sub => [g, -g],
                Op::Mul => [g * b.get(), g * a.get()],
                Op::Relu => [if a.get() > 0.0 { g } else { 0.0 }, 0.0],
                Op::Leaf => unreachable!("leaves are not queued"),
            };
            for (input, g) in node.inputs.iter().zip(grads) {
                let Value::Tracked(input) = input else {
                    continue;
                };
                if let Op::Leaf = input.op {
                    let old = f64::from_bits(input.grad.load(Ordering::Relaxed));
                    input.grad.store((old + g).to_bits(), Ordering::Relaxed);
                    continue;
                }
                let i = (root.seq - input.seq) as usize;
                if i >= dense.len() {
                    dense.resize(i + 1, None);
                }
                match &mut dense[i] {
                    Some((_, sum)) => *sum += g,
                    slot => *slot = Some((input, g)),
                }
            }
        }
        j += 1;
    }
    scratch.dense = relabel(dense);
}

pub struct Model {
    /// Per layer, per neuron: the weights and the bias.
    layers: Vec<Vec<(Vec<Value>, Value)>>,
}

impl Model {
    pub fn new() -> Model {
        let layers = (0..w5::SIZES.len() - 1)
            .map(|l| {
                w5::initial_weights(l)
                    .into_iter()
                    .map(|row| {
                        let weights = row.into_iter().map(Value::leaf).collect();
                        (weights, Value::leaf(0.0))
                    })
                    .collect()
            })
            .collect();
        Model { layers }
    }

    fn parameters(&self) -> Vec<&Value> {
        self.layers
            .iter()
            .flatten()
            .flat_map(|(weights, bias)| weights.iter().chain([bias]))
            .collect()
    }

    /// W5's loss, built as ferrograd's `loss_per_point` builds it.
    fn loss(&self, points: &[[f64; 2]], labels: &[f64]) -> Value {
        let mut losses: Option<Value> = None;
        for (p, &y) in points.iter().zip(labels) {
            let mut x = vec![Value::Constant(p[0]), Value::Constant(p[1])];
            for (l, layer) in self.layers.iter().enumerate() {
                x = layer
                    .iter()
                    .map(|(weights, bias)| {
                        let act = weights
                            .iter()
                            .zip(&x)
                            .fold(bias.clone(), |acc, (w, xi)| acc.add_owned(w.mul(xi)));
                        if is_hidden(l) {
                            act.relu()
                        } else {
                            act
                        }
                    })
                    .collect();
            }
            let margin = Value::Constant(1.0)
                .sub(&x[0].mul(&Value::Constant(y)))
                .relu();
            losses = Some(match losses {
                None => margin,
                Some(sum) => sum.add_owned(margin),
            });
        }
        let squares = self
            .parameters()
            .into_iter()
            .map(|p| p.mul(p))
            .reduce(Value::add_owned)
            .expect("parameters");
        let mean = losses
            .expect("points")
            .mul(&Value::Constant(1.0 / points.len() as f64));
        mean.add(&squares.mul(&Value::Constant(1e-4)))
    }

    /// One SGD step: zero the gradients, forward, backward, update, free the graph.
    pub fn step(&self, points: &[[f64; 2]], labels: &[f64], scratch: &mut Scratch) -> f64 {
        for p in self.parameters() {
            if let Value::Tracked(node) = p {
                node.grad.store(0, Ordering::Relaxed);
            }
        }
        let loss = self.loss(points, labels);
        backward(&loss, scratch);
        for p in self.parameters() {
            if let Value::Tracked(node) = p {
                let updated = p.get() - LEARNING_RATE * p.grad();
                node.value.store(updated.to_bits(), Ordering::Relaxed);
            }
        }
        loss.get()
    }

    /// The loss, the sum of ∂W0 and the node count at the initial parameters.
    pub fn check(&self, points: &[[f64; 2]], labels: &[f64]) -> (f64, f64, usize) {
        let loss = self.loss(points, labels);
        backward(&loss, &mut Scratch::default());
        let grad_w0 = self.layers[0]
            .iter()
            .flat_map(|(weights, _)| weights)
            .map(Value::grad)
            .sum();
        (loss.get(), grad_w0, count_nodes(&loss))
    }
}

fn count_nodes(root: &Value) -> usize {
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![root.clone()];
    while let Some(value) = stack.pop() {
        if let Value::Tracked(node) = value {
            if seen.insert(Arc::as_ptr(&node)) {
                stack.extend(node.inputs.iter().cloned());
            }
        }
    }
    seen.len()
}
