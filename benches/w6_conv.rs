//! W6: a small conv net, forward and backward (no update), f32 on the tensor backend.
//!
//! `cargo bench --bench w6_conv`. Also the same step with the 64 images split into two
//! data-parallel shards (`ferrograd::data_parallel`).

#[path = "workloads/mod.rs"]
mod workloads;

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use workloads::{grad_sum, w1};

fn w6(c: &mut Criterion) {
    let problem = w1::conv();
    let loss = problem.step();
    let grad = grad_sum(&problem.kernel);
    eprintln!(
        "W6 check: loss {:.8} (reference {}), sum dK {grad:.6} (reference {})",
        loss.item(),
        w1::W6_CHECK.0,
        w1::W6_CHECK.1
    );
    let params = problem.parameters();
    let sharded = problem.step_sharded(&params, 2);
    eprintln!(
        "W6 in 2 shards: loss {:.8}, sum dK {:.6}",
        sharded.item(),
        grad_sum(&problem.kernel)
    );
    c.bench_function("w6/step", |b| b.iter(|| black_box(problem.step())));
    c.bench_function("w6/step_2shards", |b| {
        b.iter(|| black_box(problem.step_sharded(&params, 2)))
    });
}

criterion_group!(benches, w6);
criterion_main!(benches);
