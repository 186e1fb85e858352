//! Seeded initialisation: the same seed gives the same values on every backend and run.
//!
//! Every value is drawn in `f64` from [`Rng`] and then rounded to the
//! backend's element type, so a model built from a seed is identical, to the bit, on the
//! scalar and the tensor backend, and from one run to the next. Fan-in and fan-out follow
//! PyTorch: for a weight of shape `[out, in, k...]`, `fan_in = in · Πk` and
//! `fan_out = out · Πk`.

use crate::backend::Backend;
use crate::random::Rng;
use crate::variable::Variable;

/// How to fill a new parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// U(lo, hi).
    Uniform(f64, f64),
    /// N(mean, std²).
    Normal(f64, f64),
    /// Every element the same.
    Constant(f64),
    /// Kaiming (He) uniform for a nonlinearity of the given gain: U(−b, b),
    /// `b = gain · √(3 / fan_in)` (PyTorch's `kaiming_uniform_`, mode `fan_in`).
    KaimingUniform(f64),
    /// Kaiming (He) normal: N(0, (gain / √fan_in)²).
    KaimingNormal(f64),
    /// Xavier (Glorot) uniform: U(−b, b), `b = gain · √(6 / (fan_in + fan_out))`.
    XavierUniform(f64),
    /// Xavier (Glorot) normal: N(0, (gain · √(2 / (fan_in + fan_out)))²).
    XavierNormal(f64),
}

/// The gain PyTorch recommends for ReLU layers, √2.
pub const RELU_GAIN: f64 = std::f64::consts::SQRT_2;

/// `(fan_in, fan_out)` of a weight shape, as PyTorch computes them.
pub fn fans(shape: &[usize]) -> (usize, usize) {
    match shape {
        [] => (1, 1),
        [n] => (*n, *n),
        [out, inp, rest @ ..] => {
            let field: usize = rest.iter().product();
            (inp * field, out * field)
        }
    }
}

impl Init {
    /// `n` values for a parameter of the given shape.
    pub fn sample(self, shape: &[usize], rng: &mut Rng) -> Vec<f64> {
        let n: usize = shape.iter().product();
        let (fan_in, fan_out) = fans(shape);
        let uniform = |rng: &mut Rng, b: f64| (0..n).map(|_| rng.uniform_in(-b, b)).collect();
        let normal = |rng: &mut Rng, std: f64| (0..n).map(|_| std * rng.normal()).collect();
        match self {
            Init::Uniform(lo, hi) => (0..n).map(|_| rng.uniform_in(lo, hi)).collect(),
            Init::Normal(mean, std) => (0..n).map(|_| mean + std * rng.normal()).collect(),
            Init::Constant(c) => vec![c; n],
            Init::KaimingUniform(gain) => uniform(rng, gain * (3.0 / fan_in as f64).sqrt()),
            Init::KaimingNormal(gain) => normal(rng, gain / (fan_in as f64).sqrt()),
            Init::XavierUniform(gain) => {
                uniform(rng, gain * (6.0 / (fan_in + fan_out) as f64).sqrt())
            }
            Init::XavierNormal(gain) => {
                normal(rng, gain * (2.0 / (fan_in + fan_out) as f64).sqrt())
            }
        }
    }

    /// A new parameter (a leaf that requires a gradient) of the given shape.
    ///
    /// # Panics
    /// If the backend cannot hold the shape (the scalar backend holds only rank 0).
    #[track_caller]
    pub fn parameter<B: Backend>(self, shape: &[usize], rng: &mut Rng) -> Variable<B> {
        let data = self
            .sample(shape, rng)
            .into_iter()
            .map(Variable::<B>::elem)
            .collect();
        match Variable::from_vec(data, shape) {
            Ok(v) => v.requires_grad(),
            Err(e) => panic!("Init::parameter: {e}"),
        }
    }
}
