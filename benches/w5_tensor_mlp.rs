//! W5 on the tensor backend, in f32: forward, backward and SGD per step.
//!
//! `cargo bench --bench w5_tensor_mlp` measures the model two ways:
//! - `step`: as a tensor engine runs it, and as W5's PyTorch version is written: three
//!   `Linear` layers (matrix products) on the `[100, 2]` batch;
//! - `micrograd_code`: micrograd's `Mlp` code unchanged (the same code as the scalar
//!   bench), each feature a 100-element column, so every neuron is a chain of small
//!   vector ops (about 1,300 per step): a measure of per-op cost, not of the model;
//!   also with the batch split into two data-parallel shards.

#[path = "workloads/mod.rs"]
mod workloads;

use criterion::{criterion_group, criterion_main, Criterion};
use ferrograd_ndarray::NdArray;
use std::hint::black_box;
use workloads::w5;

/// Prints the loss at the initial parameters next to the reference, before any step.
fn print_check(formulation: &str, loss: f32) {
    eprintln!(
        "W5 (tensor, {formulation}) check: loss {loss:.8} (reference {})",
        w5::CHECK_LOSS
    );
}

fn w5_tensor(c: &mut Criterion) {
    let (points, labels) = w5::data();

    let model = w5::matrix_model::<NdArray<f32>>();
    let (x, y) = w5::rows(&points, &labels);
    print_check("matrix products", w5::loss_matrix(&model, &x, &y).item());
    let mut opt = w5::optimizer(&model);
    c.bench_function("w5/ndarray_f32/step", |b| {
        b.iter(|| black_box(w5::sgd_step(&mut opt, || w5::loss_matrix(&model, &x, &y))))
    });

    let model = w5::model::<NdArray<f32>>();
    let (x, y) = w5::columns(&points, &labels);
    print_check("micrograd code", w5::loss_batched(&model, &x, &y).item());
    let mut opt = w5::optimizer(&model);
    c.bench_function("w5/ndarray_f32/micrograd_code", |b| {
        b.iter(|| black_box(w5::sgd_step(&mut opt, || w5::loss_batched(&model, &x, &y))))
    });
    c.bench_function("w5/ndarray_f32/micrograd_code_2shards", |b| {
        b.iter(|| black_box(w5::sgd_step_sharded(&model, &mut opt, &x, &y, 2)))
    });
}

criterion_group!(benches, w5_tensor);
criterion_main!(benches);
