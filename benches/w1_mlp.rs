//! W1 and W1L: an MLP training step (forward, backward, SGD), f32 on the tensor backend.
//!
//! `cargo bench --bench w1_mlp`. W1: batch 128, 784-256-128-10; W1L: batch 512,
//! 784-1024-1024-10. Also the same steps with the batch split into two data-parallel
//! shards (`ferrograd::parallel`), for comparison.

#[path = "workloads/mod.rs"]
mod workloads;

use criterion::{criterion_group, criterion_main, Criterion};
use ferrograd::nn::Module;
use ferrograd::optim::Sgd;
use std::hint::black_box;
use workloads::w1;

fn w1_benches(c: &mut Criterion) {
    for (name, batch, dims, check) in [
        ("b128", 128, [784, 256, 128, 10], w1::W1_CHECK),
        ("b512", 512, [784, 1024, 1024, 10], w1::W1L_CHECK),
    ] {
        let problem = w1::mlp(batch, dims);
        let (loss, grad) = problem.check();
        eprintln!(
            "W1 {name} check: loss {loss:.8} (reference {}), sum dW0 {grad:.6} (reference {})",
            check.0, check.1
        );
        let mut opt = Sgd::new(problem.model.parameters(), 0.01);
        c.bench_function(&format!("w1/{name}/step"), |b| {
            b.iter(|| black_box(problem.step(&mut opt)))
        });
        c.bench_function(&format!("w1/{name}/step_in_pool"), |b| {
            b.iter(|| rayon::scope(|_| black_box(problem.step(&mut opt))))
        });
        c.bench_function(&format!("w1/{name}/step_2shards"), |b| {
            b.iter(|| black_box(problem.step_sharded(&mut opt, 2)))
        });
    }
}

criterion_group!(benches, w1_benches);
criterion_main!(benches);
