//! W2: matrix product in f32 on the tensor backend, n = 256 and 1024.
//!
//! `cargo bench --bench w2_matmul`. Forward reports throughput in GFLOP/s (criterion's
//! "elem/s" with 2n³ elements per iteration); forward + backward of sum(A·B) reports time
//! (3·2n³ useful flops). benches/sgemm-raw measures matrixmultiply alone at the same sizes.

#[path = "workloads/mod.rs"]
mod workloads;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use workloads::{grad_sum, sum_f64, tensor_f32};

fn w2(c: &mut Criterion) {
    for (n, check_sum, check_grad) in [
        (256usize, 1946.804955057969, 1929.7895202636719),
        (1024, 11136.982714303456, 381312.0341796875),
    ] {
        let a = tensor_f32(201, &[n, n], -1.0, 1.0);
        let b = tensor_f32(202, &[n, n], -1.0, 1.0);
        let sum = sum_f64(&a.matmul(&b));
        let (al, bl) = (a.clone().requires_grad(), b.clone().requires_grad());
        al.matmul(&bl).sum().backward();
        let sum_da = grad_sum(&al);
        eprintln!("W2 n={n} check: sum(C) {sum:.6} (reference {check_sum}), sum dA {sum_da:.4} (reference {check_grad})");

        let mut group = c.benchmark_group(format!("w2/n{n}"));
        group.throughput(Throughput::Elements(2 * (n as u64).pow(3)));
        group.bench_function("forward", |bench| bench.iter(|| black_box(a.matmul(&b))));
        group.throughput(Throughput::Elements(6 * (n as u64).pow(3)));
        group.bench_function("forward_backward", |bench| {
            bench.iter(|| {
                al.zero_grad();
                bl.zero_grad();
                al.matmul(&bl).sum().backward();
            })
        });
        group.finish();
    }
}

criterion_group!(benches, w2);
criterion_main!(benches);
