//! The floor under W5's time per graph node: W5's step run by two stripped-down engines that
//! do only what backpropagation needs, with the derivatives of add, sub, mul and ReLU
//! written inline as numbers.
//!
//! - `arc_nodes`: the design ferrograd follows (DESIGN.md): a reference-counted heap node per
//!   op, holding its value and handles on its inputs, ordered by a per-thread clock,
//!   backpropagated through a dense table, and freed without recursion when the last handle
//!   drops. Nothing else: no derivative closures, shapes, grad mode, create-graph or
//!   threads. `arc_nodes_pooled` is the same engine with freed nodes kept in a per-thread
//!   pool and reused, newest freed first, as ferrograd's scalar backend does. No engine
//!   built this way can be faster than these.
//! - `tape`: the redesign: one vector of nodes per graph, inputs by index, gradients in a
//!   vector, the graph freed by clearing the vector (its memory kept for the next step).
//!
//! Both build W5's graph exactly as ferrograd does (65,412 nodes) and print W5's check
//! values, so they compute what ferrograd's step computes.
//!
//! `cargo bench --bench w5_node_floor`. BENCHMARKS.md compares the figures with
//! `w5_scalar_mlp`.

#[path = "workloads/mod.rs"]
mod workloads;

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use workloads::w5;

const LEARNING_RATE: f64 = 0.05;

fn main_bench(c: &mut Criterion) {
    let (points, labels) = w5::data();

    let model = arc_nodes::Model::new();
    let (loss, grad_w0, nodes) = model.check(&points, &labels);
    report("arc_nodes", loss, grad_w0, nodes);
    let mut scratch = arc_nodes::Scratch::default();
    c.bench_function("w5_floor/arc_nodes/step", |b| {
        b.iter(|| black_box(model.step(&points, &labels, &mut scratch)))
    });
    arc_nodes::POOLED.set(true);
    c.bench_function("w5_floor/arc_nodes_pooled/step", |b| {
        b.iter(|| black_box(model.step(&points, &labels, &mut scratch)))
    });
    arc_nodes::POOLED.set(false);

    let mut model = tape::Model::new();
    let (loss, grad_w0, nodes) = model.check(&points, &labels);
    report("tape", loss, grad_w0, nodes);
    c.bench_function("w5_floor/tape/step", |b| {
        b.iter(|| black_box(model.step(&points, &labels)))
    });
}

fn report(engine: &str, loss: f64, grad_w0: f64, nodes: usize) {
    eprintln!(
        "W5 floor, {engine}: loss {loss:.16} (reference {}), sum dW0 {grad_w0:.16} \
         (reference {}), {nodes} nodes per step",
        w5::CHECK_LOSS,
        w5::CHECK_GRAD_W0
    );
}

/// Hidden layers use ReLU; the output layer is linear.
fn is_hidden(layer: usize) -> bool {
    layer + 2 < w5::SIZES.len()
}

mod arc_nodes {
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
                if let Some(place) = Arc::get_mut(&mut slot) {
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
            if a.is_tracked() || b.is_tracked() {
                Value::node(op, value, [a.clone(), b.clone()])
            } else {
                Value::Constant(value)
            }
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
                if let Some(inner) = Arc::get_mut(&mut node) {
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
        dense.push(Some((root, 1.0)));
        let mut j = 0;
        while j < dense.len() {
            if let Some((node, g)) = dense[j].take() {
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
                                .fold(bias.clone(), |acc, (w, xi)| acc.add(&w.mul(xi)));
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
                    Some(sum) => sum.add(&margin),
                });
            }
            let squares = self
                .parameters()
                .into_iter()
                .map(|p| p.mul(p))
                .reduce(|acc, x| acc.add(&x))
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
}

mod tape {
    use super::{is_hidden, w5, LEARNING_RATE};

    #[derive(Clone, Copy)]
    enum Op {
        Add,
        Sub,
        Mul,
        Relu,
    }

    /// An operand: a constant, a parameter (by index) or an earlier op (by tape index).
    #[derive(Clone, Copy)]
    enum Arg {
        Constant(f64),
        Parameter(u32),
        Node(u32),
    }

    struct Node {
        op: Op,
        inputs: [Arg; 2],
        value: f64,
    }

    pub struct Model {
        values: Vec<f64>,
        grads: Vec<f64>,
        /// Per layer, per neuron: the parameter indices of the weights and the bias.
        layers: Vec<Vec<(Vec<u32>, u32)>>,
        tape: Vec<Node>,
        node_grads: Vec<f64>,
    }

    impl Model {
        pub fn new() -> Model {
            let mut values = Vec::new();
            let mut layers = Vec::new();
            for l in 0..w5::SIZES.len() - 1 {
                let mut layer = Vec::new();
                for row in w5::initial_weights(l) {
                    let mut weights = Vec::new();
                    for w in row {
                        weights.push(values.len() as u32);
                        values.push(w);
                    }
                    let bias = values.len() as u32;
                    values.push(0.0);
                    layer.push((weights, bias));
                }
                layers.push(layer);
            }
            let grads = vec![0.0; values.len()];
            Model {
                values,
                grads,
                layers,
                tape: Vec::new(),
                node_grads: Vec::new(),
            }
        }

        fn get(&self, arg: Arg) -> f64 {
            match arg {
                Arg::Constant(x) => x,
                Arg::Parameter(i) => self.values[i as usize],
                Arg::Node(i) => self.tape[i as usize].value,
            }
        }

        fn record(&mut self, op: Op, a: Arg, b: Arg) -> Arg {
            let (x, y) = (self.get(a), self.get(b));
            let value = match op {
                Op::Add => x + y,
                Op::Sub => x - y,
                Op::Mul => x * y,
                Op::Relu => x.max(0.0),
            };
            if let (Arg::Constant(_), Arg::Constant(_)) = (a, b) {
                return Arg::Constant(value);
            }
            self.tape.push(Node {
                op,
                inputs: [a, b],
                value,
            });
            Arg::Node(self.tape.len() as u32 - 1)
        }

        /// W5's loss, built in the same order as ferrograd's `loss_per_point`.
        fn loss(&mut self, points: &[[f64; 2]], labels: &[f64]) -> Arg {
            let layers = std::mem::take(&mut self.layers);
            let mut losses: Option<Arg> = None;
            for (p, &y) in points.iter().zip(labels) {
                let mut x = vec![Arg::Constant(p[0]), Arg::Constant(p[1])];
                for (l, layer) in layers.iter().enumerate() {
                    x = layer
                        .iter()
                        .map(|(weights, bias)| {
                            let mut act = Arg::Parameter(*bias);
                            for (&w, &xi) in weights.iter().zip(&x) {
                                let product = self.record(Op::Mul, Arg::Parameter(w), xi);
                                act = self.record(Op::Add, act, product);
                            }
                            if is_hidden(l) {
                                self.record(Op::Relu, act, Arg::Constant(0.0))
                            } else {
                                act
                            }
                        })
                        .collect();
                }
                let scaled = self.record(Op::Mul, x[0], Arg::Constant(y));
                let margin = self.record(Op::Sub, Arg::Constant(1.0), scaled);
                let margin = self.record(Op::Relu, margin, Arg::Constant(0.0));
                losses = Some(match losses {
                    None => margin,
                    Some(sum) => self.record(Op::Add, sum, margin),
                });
            }
            let mut squares: Option<Arg> = None;
            for (weights, bias) in layers.iter().flatten() {
                for &p in weights.iter().chain([bias]) {
                    let square = self.record(Op::Mul, Arg::Parameter(p), Arg::Parameter(p));
                    squares = Some(match squares {
                        None => square,
                        Some(sum) => self.record(Op::Add, sum, square),
                    });
                }
            }
            self.layers = layers;
            let scale = Arg::Constant(1.0 / points.len() as f64);
            let mean = self.record(Op::Mul, losses.expect("points"), scale);
            let penalty = self.record(Op::Mul, squares.expect("parameters"), Arg::Constant(1e-4));
            self.record(Op::Add, mean, penalty)
        }

        /// Backpropagates from the last node: the tape in reverse is a valid order.
        fn backward(&mut self) {
            self.node_grads.clear();
            self.node_grads.resize(self.tape.len(), 0.0);
            *self.node_grads.last_mut().expect("a graph") = 1.0;
            for i in (0..self.tape.len()).rev() {
                let g = self.node_grads[i];
                let node = &self.tape[i];
                let [a, b] = node.inputs;
                let grads = match node.op {
                    Op::Add => [g, g],
                    Op::Sub => [g, -g],
                    Op::Mul => [g * self.get(b), g * self.get(a)],
                    Op::Relu => [if self.get(a) > 0.0 { g } else { 0.0 }, 0.0],
                };
                for (input, g) in [a, b].into_iter().zip(grads) {
                    match input {
                        Arg::Constant(_) => {}
                        Arg::Parameter(p) => self.grads[p as usize] += g,
                        Arg::Node(j) => self.node_grads[j as usize] += g,
                    }
                }
            }
        }

        /// One SGD step: zero the gradients, forward, backward, update, clear the tape.
        pub fn step(&mut self, points: &[[f64; 2]], labels: &[f64]) -> f64 {
            self.grads.fill(0.0);
            let loss = self.loss(points, labels);
            self.backward();
            for (p, g) in self.values.iter_mut().zip(&self.grads) {
                *p -= LEARNING_RATE * g;
            }
            let loss = self.get(loss);
            self.tape.clear();
            loss
        }

        /// The loss, the sum of ∂W0 and the node count (ops and parameters) at the initial
        /// parameters.
        pub fn check(&mut self, points: &[[f64; 2]], labels: &[f64]) -> (f64, f64, usize) {
            self.grads.fill(0.0);
            let loss = self.loss(points, labels);
            self.backward();
            let grad_w0 = self.layers[0]
                .iter()
                .flat_map(|(weights, _)| weights)
                .map(|&w| self.grads[w as usize])
                .sum();
            let result = (self.get(loss), grad_w0, self.tape.len() + self.values.len());
            self.tape.clear();
            result
        }
    }
}

criterion_group!(benches, main_bench);
criterion_main!(benches);
