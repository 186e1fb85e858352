//! W3: elementwise chain sum(tanh(x·w + b)), forward + backward, f32, over 4,000,000 and
//! 1,000 elements.
//!
//! `cargo bench --bench w3_elementwise`.

#[path = "workloads/mod.rs"]
mod workloads;

use criterion::{criterion_group, criterion_main, Criterion};
use workloads::{grad_sum, tensor_f32};

fn w3(c: &mut Criterion) {
    for (n, check_loss, check_grad) in [
        (4_000_000usize, 973.6137640815763, 2910545.8897530604),
        (1_000, -23.112170463120226, 736.9057294843424),
    ] {
        let x = tensor_f32(301, &[n], -1.0, 1.0).requires_grad();
        let w = tensor_f32(302, &[n], -1.0, 1.0).requires_grad();
        let b = tensor_f32(303, &[n], -1.0, 1.0).requires_grad();
        let step = || {
            x.zero_grad();
            w.zero_grad();
            b.zero_grad();
            let loss = (&x * &w + &b).tanh().sum();
            loss.backward();
            loss
        };
        let loss = step();
        let grad_b = grad_sum(&b);
        eprintln!(
            "W3 n={n} check: loss {:.6} (reference {check_loss}), sum db {grad_b:.4} (reference {check_grad})",
            loss.item()
        );
        c.bench_function(&format!("w3/n{n}"), |bench| bench.iter(step));
    }
}

criterion_group!(benches, w3);
criterion_main!(benches);
