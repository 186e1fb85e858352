//! Layer normalisation, forward and backward (not one of DESIGN.md's workloads): a
//! transformer-sized `[512, 1024]` `f32` input normalised over its rows with a weight and
//! a bias, `loss = Σ layer_norm(x) · r` for a fixed `r`. `benches/pytorch_workloads.py`
//! runs the same step as `LN`; `benches/compare.py --only LN` prints both.
//!
//! `cargo bench --bench layer_norm`.

#[path = "workloads/mod.rs"]
mod workloads;

use criterion::{criterion_group, criterion_main, Criterion};
use ferrograd::nn::functional::layer_norm;
use workloads::{grad_sum, tensor_f32};

fn layer_norm_step(c: &mut Criterion) {
    let (rows, n) = (512, 1024);
    let x = tensor_f32(701, &[rows, n], -1.0, 1.0).requires_grad();
    let w = tensor_f32(702, &[n], 0.5, 1.5).requires_grad();
    let b = tensor_f32(703, &[n], -0.5, 0.5).requires_grad();
    let r = tensor_f32(704, &[rows, n], -1.0, 1.0);
    let step = || {
        x.zero_grad();
        w.zero_grad();
        b.zero_grad();
        let loss = (layer_norm(&x, &[n], Some(&w), Some(&b), 1e-5) * &r).sum();
        loss.backward();
        loss
    };
    let loss = step();
    eprintln!(
        "LN check: loss {:.6}, sum dx {:.6}, sum dw {:.6}",
        loss.item(),
        grad_sum(&x),
        grad_sum(&w)
    );
    c.bench_function("layer_norm/f32_512x1024/step", |bench| bench.iter(step));
}

criterion_group!(benches, layer_norm_step);
criterion_main!(benches);
