//! W4: per-op overhead. A chain of 1,000 ops (add, mul, tanh in turn) on 16-element f32
//! tensors, then sum and backward to x. The time per iteration divided by 1,000 is the
//! cost of one op, forward and backward together.
//!
//! `cargo bench --bench w4_overhead`.

#[path = "workloads/mod.rs"]
mod workloads;

use criterion::{criterion_group, criterion_main, Criterion};
use workloads::{grad_sum, tensor_f32};

fn w4(c: &mut Criterion) {
    let x = tensor_f32(401, &[16], -1.0, 1.0).requires_grad();
    let a = tensor_f32(402, &[16], -0.01, 0.01);
    let m = tensor_f32(403, &[16], 0.99, 1.01);
    let step = || {
        x.zero_grad();
        let mut h = x.clone();
        for i in 0..1000 {
            h = match i % 3 {
                0 => &h + &a,
                1 => &h * &m,
                _ => h.tanh(),
            };
        }
        let loss = h.sum();
        loss.backward();
        loss
    };
    let loss = step();
    let grad = grad_sum(&x);
    eprintln!(
        "W4 check: loss {:.10} (reference -0.1648272318328915), sum dx {grad:.10e} (reference 0.0012669286968320917)",
        loss.item()
    );
    c.bench_function("w4/chain_1000_ops", |bench| bench.iter(step));
}

criterion_group!(benches, w4);
criterion_main!(benches);
