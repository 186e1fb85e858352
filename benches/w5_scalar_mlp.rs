//! W5: micrograd's demo on the scalar backend (`Scalar<f64>`): MLP 2-16-16-1 over 100
//! two-moons points, SVM max-margin loss with L2, forward + backward + SGD per step.
//!
//! `cargo bench --bench w5_scalar_mlp`. Prints the check values and the graph size, so
//! that ms/step converts to ns per graph node; benches/micrograd_w5.py runs the same step
//! in micrograd.

#[path = "workloads/mod.rs"]
mod workloads;

use criterion::{criterion_group, criterion_main, Criterion};
use ferrograd_scalar::Scalar;
use std::hint::black_box;
use workloads::w5;

fn w5_scalar(c: &mut Criterion) {
    let (points, labels) = w5::data();

    let model = w5::model::<Scalar<f64>>();
    let loss = w5::loss_per_point(&model, &points, &labels);
    loss.backward();
    let grad_w0: f64 = model.layers[0]
        .neurons
        .iter()
        .flat_map(|n| &n.weights)
        .map(|w| w.grad().unwrap().item())
        .sum();
    eprintln!(
        "W5 check: loss {:.16} (reference {}), sum dW0 {:.16} (reference {})",
        loss.item(),
        w5::CHECK_LOSS,
        grad_w0,
        w5::CHECK_GRAD_W0
    );
    eprintln!("W5 graph: {} nodes per step", loss.node_count());
    drop(loss);

    let model = w5::model::<Scalar<f64>>();
    let mut opt = w5::optimizer(&model);
    c.bench_function("w5/scalar_f64/step", |b| {
        b.iter(|| {
            black_box(w5::sgd_step(&mut opt, || {
                w5::loss_per_point(&model, &points, &labels)
            }))
        })
    });
}

criterion_group!(benches, w5_scalar);
criterion_main!(benches);
