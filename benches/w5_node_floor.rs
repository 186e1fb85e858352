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

#[path = "w5_floor/arc_nodes.rs"]
mod arc_nodes;

#[path = "w5_floor/tape.rs"]
mod tape;

criterion_group!(benches, main_bench);
criterion_main!(benches);
