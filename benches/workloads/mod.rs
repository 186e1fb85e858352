//! The benchmark workloads' synthetic data, exactly as the workload spec (../shared/WORKLOADS.md,
//! listed in BENCHMARKS.md) specifies, so that every engine starts from bit-identical inputs and
//! reproduces the same check values.
//!
//! Shared by the criterion benches (`#[path]`-included) and by the test that checks the
//! generator's published test vectors (tests/workload_data.rs).

#![allow(dead_code)]

pub mod resident;
pub mod w1;
pub mod w5;

/// Element `k` of stream `s`: a uniform number in `[0, 1)` with 24 random bits, exact in
/// `f32` and `f64`.
pub fn stream_u(s: u64, k: u64) -> f64 {
    let mut z = s
        .wrapping_mul(0xD1B5_4A32_D192_ED03)
        .wrapping_add((k + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 40) as f64 / (1u64 << 24) as f64
}

/// `n` values of U(lo, hi) from stream `s`, computed in `f64`.
pub fn uniform(s: u64, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    (0..n as u64)
        .map(|k| lo + (hi - lo) * stream_u(s, k))
        .collect()
}

/// `n` values of U(lo, hi) from stream `s`, computed in `f64` and rounded to `f32`.
pub fn uniform_f32(s: u64, n: usize, lo: f64, hi: f64) -> Vec<f32> {
    uniform(s, n, lo, hi)
        .into_iter()
        .map(|x| x as f32)
        .collect()
}

/// `n` class labels in `0..10` from stream `s`.
pub fn labels(s: u64, n: usize) -> Vec<usize> {
    (0..n as u64)
        .map(|k| ((10.0 * stream_u(s, k)).floor() as usize).min(9))
        .collect()
}

/// A linear layer's parameters: `W` `[fan_in, fan_out]` row-major and `b` `[fan_out]`,
/// both U(−1/√fan_in, 1/√fan_in), from streams `s` and `s + 1`.
pub fn linear(s: u64, fan_in: usize, fan_out: usize) -> (Vec<f64>, Vec<f64>) {
    let bound = 1.0 / (fan_in as f64).sqrt();
    (
        uniform(s, fan_in * fan_out, -bound, bound),
        uniform(s + 1, fan_out, -bound, bound),
    )
}

/// An `f32` tensor of U(lo, hi) from stream `s`, for the tensor backend.
pub fn tensor_f32(
    s: u64,
    shape: &[usize],
    lo: f64,
    hi: f64,
) -> ferrograd::Variable<ferrograd_ndarray::NdArray<f32>> {
    let n = shape.iter().product();
    ferrograd::Variable::from_vec(uniform_f32(s, n, lo, hi), shape).expect("shape and data agree")
}

/// The sum of an `f32` tensor's elements, accumulated in `f64`: how the benches compare a
/// result with its check value.
pub fn sum_f64(x: &ferrograd::Variable<ferrograd_ndarray::NdArray<f32>>) -> f64 {
    x.to_vec().iter().map(|&v| v as f64).sum()
}

/// The sum of `x`'s gradient (see [`sum_f64`]).
pub fn grad_sum(x: &ferrograd::Variable<ferrograd_ndarray::NdArray<f32>>) -> f64 {
    sum_f64(&x.grad().expect("a gradient after backward"))
}
