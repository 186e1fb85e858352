//! Unary maths: `exp log sqrt sin cos tanh sigmoid abs square reciprocal erf softplus powf`.

use crate::backend::{Backend, BinaryOp, UnaryOp};
use crate::variable::Variable;

impl<B: Backend> Variable<B> {
    /// Applies a unary kernel to the value.
    pub(crate) fn map_kernel(&self, op: UnaryOp<B::Elem>) -> B::Tensor {
        B::unary(op, &self.value_ref())
    }

    /// `eˣ`
    pub fn exp(&self) -> Self {
        let value = self.map_kernel(UnaryOp::Exp);
        // (eˣ)' = eˣ = y
        self.elementwise_unary_op("exp", value, |_, y, g| g * y)
    }

    /// The natural logarithm.
    pub fn log(&self) -> Self {
        let value = self.map_kernel(UnaryOp::Log);
        // (ln x)' = 1/x
        self.elementwise_unary_op("log", value, |x, _, g| g / x)
    }

    /// The square root.
    pub fn sqrt(&self) -> Self {
        let value = self.map_kernel(UnaryOp::Sqrt);
        // (√x)' = 1/(2√x) = 1/(2y)
        self.elementwise_unary_op("sqrt", value, |_, y, g| g / (y * 2.0))
    }

    /// The sine.
    pub fn sin(&self) -> Self {
        let value = self.map_kernel(UnaryOp::Sin);
        self.elementwise_unary_op("sin", value, |x, _, g| g * x.cos())
    }

    /// The cosine.
    pub fn cos(&self) -> Self {
        let value = self.map_kernel(UnaryOp::Cos);
        self.elementwise_unary_op("cos", value, |x, _, g| g * -x.sin())
    }

    /// The hyperbolic tangent.
    pub fn tanh(&self) -> Self {
        let value = self.map_kernel(UnaryOp::Tanh);
        // (tanh x)' = 1 − tanh²x = 1 − y²
        self.elementwise_unary_op("tanh", value, |_, y, g| g.tanh_backward(y))
    }

    /// The logistic function `1 / (1 + e⁻ˣ)`, stable for large `|x|`.
    pub fn sigmoid(&self) -> Self {
        let value = self.map_kernel(UnaryOp::Sigmoid);
        // σ' = σ(1 − σ) = y(1 − y)
        self.elementwise_unary_op("sigmoid", value, |_, y, g| g.sigmoid_backward(y))
    }

    /// The absolute value (its derivative at 0 is taken as 0, as in PyTorch).
    pub fn abs(&self) -> Self {
        let value = self.map_kernel(UnaryOp::Abs);
        self.elementwise_unary_op("abs", value, |x, _, g| g * x.sign())
    }

    /// `x²`
    pub fn square(&self) -> Self {
        let value = self.map_kernel(UnaryOp::Square);
        self.elementwise_unary_op("square", value, |x, _, g| g * (x * 2.0))
    }

    /// `1/x`
    pub fn reciprocal(&self) -> Self {
        let value = self.map_kernel(UnaryOp::Reciprocal);
        // (1/x)' = −1/x² = −y²
        self.elementwise_unary_op("reciprocal", value, |_, y, g| g * -y.square())
    }

    /// The error function.
    pub fn erf(&self) -> Self {
        let value = self.map_kernel(UnaryOp::Erf);
        // erf'(x) = 2/√π · e^(−x²)
        self.elementwise_unary_op("erf", value, |x, _, g| {
            g * (-x.square()).exp() * std::f64::consts::FRAC_2_SQRT_PI
        })
    }

    /// `ln(1 + eˣ)` (PyTorch's `softplus` with β = 1 and threshold 20: `x` itself above 20).
    pub fn softplus(&self) -> Self {
        let value = self.map_kernel(UnaryOp::Softplus);
        // softplus'(x) = σ(x)
        self.elementwise_unary_op("softplus", value, |x, _, g| g * x.sigmoid())
    }

    /// `xᵖ` for a constant exponent (PyTorch's `pow` with a Python float).
    pub fn powf(&self, exponent: f64) -> Self {
        let value = self.map_kernel(UnaryOp::Powf(Self::elem(exponent)));
        self.elementwise_unary_op("powf", value, move |x, _, g| {
            if exponent == 0.0 {
                g * x.zeros_like()
            } else {
                // (xᵖ)' = p·xᵖ⁻¹
                g * (x.powf(exponent - 1.0) * exponent)
            }
        })
    }
}

/// Derivative kernels fused into one pass: `g·(1 − y²)` and `g·y(1 − y)`. They are ops in
/// their own right, with derivatives, so that the backward pass of tanh and sigmoid can be
/// differentiated again (the second-order fixtures cover them).
impl<B: Backend> Variable<B> {
    /// `self · (1 − y²)`, broadcasting.
    #[track_caller]
    pub(crate) fn tanh_backward(&self, y: &Self) -> Self {
        let value = self.broadcast_kernel(y, BinaryOp::TanhBackward, "tanh_backward");
        Self::elementwise_binary_op(
            self,
            y,
            "tanh_backward",
            value,
            |_, y, _, u| u.tanh_backward(y),
            // ∂/∂y of g(1 − y²) = −2gy
            |g, y, _, u| u * g * y * -2.0,
        )
    }

    /// `self · y(1 − y)`, broadcasting.
    #[track_caller]
    pub(crate) fn sigmoid_backward(&self, y: &Self) -> Self {
        let value = self.broadcast_kernel(y, BinaryOp::SigmoidBackward, "sigmoid_backward");
        Self::elementwise_binary_op(
            self,
            y,
            "sigmoid_backward",
            value,
            |_, y, _, u| u.sigmoid_backward(y),
            // ∂/∂y of g(y − y²) = g(1 − 2y)
            |g, y, _, u| u * g * (1.0 - y * 2.0),
        )
    }
}
