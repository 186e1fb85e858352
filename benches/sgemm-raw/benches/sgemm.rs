//! matrixmultiply's sgemm alone, C = A·B with W2's data (U(−1, 1) from streams 201 and
//! 202), n = 256 and 1024. Threads: matrixmultiply's own, from MATMUL_NUM_THREADS.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn stream_u(s: u64, k: u64) -> f64 {
    let mut z = s
        .wrapping_mul(0xD1B5_4A32_D192_ED03)
        .wrapping_add((k + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 40) as f64 / (1u64 << 24) as f64
}

fn data(s: u64, n: usize) -> Vec<f32> {
    (0..(n * n) as u64).map(|k| (-1.0 + 2.0 * stream_u(s, k)) as f32).collect()
}

fn sgemm(c: &mut Criterion) {
    let threads = std::env::var("MATMUL_NUM_THREADS").unwrap_or_else(|_| "default".into());
    for n in [256usize, 1024] {
        let (a, b) = (data(201, n), data(202, n));
        let mut out = vec![0f32; n * n];
        let mut group = c.benchmark_group(format!("sgemm_raw/threads{threads}/n{n}"));
        group.throughput(Throughput::Elements(2 * (n as u64).pow(3)));
        group.bench_function("forward", |bench| {
            bench.iter(|| {
                // SAFETY: a, b and out hold n·n elements, row-major with the strides given.
                unsafe {
                    matrixmultiply::sgemm(
                        n, n, n, 1.0, a.as_ptr(), n as isize, 1, b.as_ptr(), n as isize, 1, 0.0,
                        out.as_mut_ptr(), n as isize, 1,
                    )
                }
            })
        });
        group.finish();
        let sum: f64 = out.iter().map(|&x| x as f64).sum();
        eprintln!("n={n} check: sum(C) {sum:.6}");
    }
}

criterion_group!(benches, sgemm);
criterion_main!(benches);
