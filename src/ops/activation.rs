//! Activations: `relu leaky_relu elu clamp` (primitives) and `gelu gelu_tanh` (compositions).

use crate::backend::{Backend, BinaryOp, UnaryOp};
use crate::ops::Operand;
use crate::variable::Variable;

impl<B: Backend> Variable<B> {
    /// `max(x, 0)`; its derivative at 0 is taken as 0.
    pub fn relu(&self) -> Self {
        Self::relu_operand(self)
    }

    /// [`relu`](Self::relu) on an input borrowed or taken: a neuron takes its sum, which
    /// nothing else holds, and so spares a reference count's increment and decrement.
    pub(crate) fn relu_operand(x: impl Operand<B>) -> Self {
        let value = x.variable().map_kernel(UnaryOp::Relu);
        Self::record_unary(x, "relu", value, true, |x, _, g| g.relu_backward(x))
    }

    /// `x` for `x > 0`, `negative_slope · x` otherwise.
    pub fn leaky_relu(&self, negative_slope: f64) -> Self {
        let value = self.map_kernel(UnaryOp::LeakyRelu(Self::elem(negative_slope)));
        self.elementwise_unary_op("leaky_relu", value, move |x, _, g| {
            // slope 1 where x > 0, negative_slope elsewhere
            g * (x.gt_scalar(0.0) * (1.0 - negative_slope) + negative_slope)
        })
    }

    /// `x` for `x > 0`, `alpha · (eˣ − 1)` otherwise.
    pub fn elu(&self, alpha: f64) -> Self {
        let value = self.map_kernel(UnaryOp::Elu(Self::elem(alpha)));
        self.elementwise_unary_op("elu", value, move |x, y, g| {
            // slope 1 where x > 0; α·eˣ = y + α elsewhere
            let positive = x.gt_scalar(0.0);
            g * (&positive + (1.0 - &positive) * (y + alpha))
        })
    }

    /// `x` clamped to `[min, max]`; the gradient is 1 inside the closed range, 0 outside.
    ///
    /// # Panics
    /// If `min > max`.
    #[track_caller]
    pub fn clamp(&self, min: f64, max: f64) -> Self {
        assert!(min <= max, "clamp: min {min} is greater than max {max}");
        let (lo, hi) = (Self::elem(min), Self::elem(max));
        let value = self.map_kernel(UnaryOp::Clamp(lo, hi));
        self.elementwise_unary_op("clamp", value, move |x, _, g| {
            g * (x.ge(&Self::scalar(lo)) * x.le(&Self::scalar(hi)))
        })
    }

    /// The exact GELU, `x · Φ(x) = x/2 · (1 + erf(x/√2))` (PyTorch's `gelu`, `approximate="none"`).
    pub fn gelu(&self) -> Self {
        let cdf = (self * std::f64::consts::FRAC_1_SQRT_2).erf() * 0.5 + 0.5;
        self * cdf
    }

    /// The tanh approximation of GELU,
    /// `x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³)))` (PyTorch's `approximate="tanh"`).
    pub fn gelu_tanh(&self) -> Self {
        let k = (2.0 / std::f64::consts::PI).sqrt();
        let inner: Self = (self + self.powf(3.0) * 0.044715) * k;
        self * 0.5 * (inner.tanh() + 1.0)
    }
}

impl<B: Backend> Variable<B> {
    /// `self` where `x > 0`, else 0: relu's derivative in one pass. Differentiable in
    /// `self` (the gradient passes the same mask); its derivative in `x` is zero.
    #[track_caller]
    pub(crate) fn relu_backward(&self, x: &Self) -> Self {
        let value = self.broadcast_kernel(x, BinaryOp::ReluBackward, "relu_backward");
        Self::elementwise_binary_op(
            self,
            x,
            "relu_backward",
            value,
            |_, x, _, u| u.relu_backward(x),
            |_, x, _, _| x.zeros_like(),
        )
    }
}
