//! W5 on the tensor backend: micrograd's model (the same `Mlp` code as the scalar bench)
//! with the 100 points as batch columns, in f32: forward, backward and SGD per step.
//!
//! `cargo bench --bench w5_tensor_mlp`. Also the step with the batch split into two
//! data-parallel shards (`ferrograd::data_parallel`).

#[path = "workloads/mod.rs"]
mod workloads;

use criterion::{criterion_group, criterion_main, Criterion};
use ferrograd_ndarray::NdArray;
use std::hint::black_box;
use workloads::w5;

fn w5_tensor(c: &mut Criterion) {
    let (points, labels) = w5::data();
    let model = w5::model::<NdArray<f32>>();
    let (x, y) = w5::columns(&points, &labels);
    let loss = w5::sgd_step(&model, || w5::loss_batched(&model, &x, &y));
    eprintln!(
        "W5 (tensor) check: loss {:.8} (reference {})",
        loss.item(),
        w5::CHECK_LOSS
    );
    let model = w5::model::<NdArray<f32>>();
    c.bench_function("w5/ndarray_f32/step", |b| {
        b.iter(|| black_box(w5::sgd_step(&model, || w5::loss_batched(&model, &x, &y))))
    });
    c.bench_function("w5/ndarray_f32/step_2shards", |b| {
        b.iter(|| black_box(w5::sgd_step_sharded(&model, &x, &y, 2)))
    });
}

criterion_group!(benches, w5_tensor);
criterion_main!(benches);
