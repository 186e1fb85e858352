//! The backend traits: what a storage backend must provide.
//!
//! A backend is a zero-sized marker type (`Scalar<f64>`, `NdArray<f32>`) whose associated
//! functions are *kernels*: they compute values and know nothing of graphs or gradients.
//! Every derivative lives in the core, written once with differentiable [`Variable`]
//! operations, so every backend gets every derivative (and derivatives of derivatives)
//! for free.
//!
//! - [`Ops`]: what every backend provides: creation, read-back, elementwise maths with
//!   broadcasting, and the two reductions that broadcasting's backward needs.
//! - [`TensorOps`]: what only n-dimensional backends provide (reshape, matmul, ...).
//!   `Variable<B>` offers those ops only where `B: TensorOps`, so calling `matmul` on a
//!   scalar backend is a compile error.
//! - [`Backend`]: the bound that `Variable<B>` carries.
//!
//! The core validates shapes before it calls a kernel: kernels may assume their inputs
//! are well-formed (shapes broadcast, axes in range) and need not check again.
//!
//! [`Variable`]: crate::Variable

use crate::element::Element;
use crate::error::Result;
use std::fmt::Debug;

/// An elementwise function of one argument, applied by [`Ops::unary`].
///
/// Unary kernels go through this one entry so that a new activation adds a variant here
/// (and its formula in [`UnaryOp::apply`]) without widening the backend trait.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum UnaryOp<T> {
    /// `-x`
    Neg,
    /// `eˣ`
    Exp,
    /// `ln x`
    Log,
    /// `√x`
    Sqrt,
    /// `sin x`
    Sin,
    /// `cos x`
    Cos,
    /// `tanh x`
    Tanh,
    /// `1 / (1 + e⁻ˣ)`, computed without overflow for large `|x|`.
    Sigmoid,
    /// `max(x, 0)`
    Relu,
    /// `|x|`
    Abs,
    /// `-1`, `0` or `1` (0 at 0).
    Sign,
    /// `x²`
    Square,
    /// `1 / x`
    Reciprocal,
    /// The error function.
    Erf,
    /// `ln(1 + eˣ)`, and `x` itself above 20, as PyTorch's `softplus`.
    Softplus,
    /// `xᵖ` for a constant exponent `p`.
    Powf(T),
    /// `x` clamped to `[min, max]`.
    Clamp(T, T),
    /// `x` for `x > 0`, `slope · x` otherwise.
    LeakyRelu(T),
    /// `x` for `x > 0`, `alpha · (eˣ − 1)` otherwise.
    Elu(T),
}

impl<T: Element> UnaryOp<T> {
    /// The function applied to one number: the reference that every backend's kernel
    /// must agree with (the scalar backend uses it directly).
    #[inline]
    pub fn apply(self, x: T) -> T {
        let zero = T::zero();
        let one = T::one();
        match self {
            UnaryOp::Neg => -x,
            UnaryOp::Exp => x.exp(),
            UnaryOp::Log => x.ln(),
            UnaryOp::Sqrt => x.sqrt(),
            UnaryOp::Sin => x.sin(),
            UnaryOp::Cos => x.cos(),
            UnaryOp::Tanh => x.tanh(),
            UnaryOp::Sigmoid => {
                if x >= zero {
                    one / (one + (-x).exp())
                } else {
                    let e = x.exp();
                    e / (one + e)
                }
            }
            UnaryOp::Relu => {
                if x > zero {
                    x
                } else {
                    zero
                }
            }
            UnaryOp::Abs => x.abs(),
            UnaryOp::Sign => {
                if x > zero {
                    one
                } else if x < zero {
                    -one
                } else {
                    zero
                }
            }
            UnaryOp::Square => x * x,
            UnaryOp::Reciprocal => one / x,
            UnaryOp::Erf => x.erf(),
            UnaryOp::Softplus => {
                if x > T::from_f64(20.0) {
                    x
                } else {
                    x.exp().ln_1p()
                }
            }
            UnaryOp::Powf(p) => x.powf(p),
            UnaryOp::Clamp(lo, hi) => x.max(lo).min(hi),
            UnaryOp::LeakyRelu(slope) => {
                if x > zero {
                    x
                } else {
                    slope * x
                }
            }
            UnaryOp::Elu(alpha) => {
                if x > zero {
                    x
                } else {
                    alpha * x.exp_m1()
                }
            }
        }
    }
}

/// An elementwise function of two arguments, applied with broadcasting by [`Ops::binary`].
///
/// The comparisons return `1` where they hold and `0` elsewhere: they make the masks that
/// derivatives of piecewise functions (relu, maximum, clamp) multiply by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BinaryOp {
    /// `a + b`
    Add,
    /// `a − b`
    Sub,
    /// `a · b`
    Mul,
    /// `a / b`
    Div,
    /// `aᵇ`
    Pow,
    /// `max(a, b)`
    Maximum,
    /// `min(a, b)`
    Minimum,
    /// `a > b`
    Gt,
    /// `a ≥ b`
    Ge,
    /// `a < b`
    Lt,
    /// `a ≤ b`
    Le,
    /// `a = b`
    Eq,
}

impl BinaryOp {
    /// The function applied to one pair of numbers: the reference for every backend.
    #[inline]
    pub fn apply<T: Element>(self, a: T, b: T) -> T {
        let mask = |c: bool| if c { T::one() } else { T::zero() };
        match self {
            BinaryOp::Add => a + b,
            BinaryOp::Sub => a - b,
            BinaryOp::Mul => a * b,
            BinaryOp::Div => a / b,
            BinaryOp::Pow => a.powf(b),
            BinaryOp::Maximum => {
                if a.is_nan() || b.is_nan() {
                    T::nan()
                } else {
                    a.max(b)
                }
            }
            BinaryOp::Minimum => {
                if a.is_nan() || b.is_nan() {
                    T::nan()
                } else {
                    a.min(b)
                }
            }
            BinaryOp::Gt => mask(a > b),
            BinaryOp::Ge => mask(a >= b),
            BinaryOp::Lt => mask(a < b),
            BinaryOp::Le => mask(a <= b),
            BinaryOp::Eq => mask(a == b),
        }
    }
}

/// The kernels every backend provides.
///
/// All functions are associated functions of a zero-sized backend type; the values they
/// work on are [`Ops::Tensor`]s. Shapes are validated by the core before a kernel runs.
pub trait Ops: Clone + Copy + Debug + Default + Send + Sync + 'static {
    /// The element type, `f32` or `f64`.
    type Elem: Element;
    /// The stored value of one graph node: a number for the scalar backend, an n-d array
    /// for a tensor backend. Cloning must be cheap (a copy or a reference count).
    type Tensor: Clone + Debug + Send + Sync + 'static;

    /// A short name for messages, such as `"Scalar<f64>"`.
    fn name() -> &'static str;

    /// Builds a value from row-major data. The core has checked that `data.len()` is the
    /// number of elements of `shape`; a backend that cannot hold `shape` returns
    /// [`Error::UnsupportedShape`](crate::Error::UnsupportedShape).
    fn from_vec(data: Vec<Self::Elem>, shape: &[usize]) -> Result<Self::Tensor>;

    /// A value of the given shape with every element `value`.
    fn full(shape: &[usize], value: Self::Elem) -> Self::Tensor;

    /// The shape of a value (`&[]` for rank 0).
    fn shape(x: &Self::Tensor) -> &[usize];

    /// The elements in row-major order.
    fn to_vec(x: &Self::Tensor) -> Vec<Self::Elem>;

    /// Applies `op` to every element.
    fn unary(op: UnaryOp<Self::Elem>, x: &Self::Tensor) -> Self::Tensor;

    /// Applies `op` elementwise, broadcasting `a` and `b` to their common shape.
    fn binary(op: BinaryOp, a: &Self::Tensor, b: &Self::Tensor) -> Self::Tensor;

    /// Repeats `x` along new leading and size-1 dimensions to `shape` (PyTorch's `expand`).
    fn broadcast_to(x: &Self::Tensor, shape: &[usize]) -> Self::Tensor;

    /// Sums `x` down to `shape`, a shape `x`'s shape is a broadcast of: the reduction that
    /// turns the gradient of a broadcast result into the gradient of its input.
    fn sum_to(x: &Self::Tensor, shape: &[usize]) -> Self::Tensor;
}

/// The kernels only n-dimensional backends provide.
///
/// `Variable<B>`'s tensor methods (`matmul`, `reshape`, ...) exist only where
/// `B: TensorOps`, so calling them on the scalar backend does not compile.
pub trait TensorOps: Ops {
    /// The same elements, row-major, in a new shape with as many elements.
    fn reshape(x: &Self::Tensor, shape: &[usize]) -> Self::Tensor;

    /// Reorders the dimensions: result dimension `i` is input dimension `axes[i]`.
    fn permute(x: &Self::Tensor, axes: &[usize]) -> Self::Tensor;

    /// Matrix product of the last two dimensions, batch dimensions broadcast:
    /// `[..., m, k] · [..., k, n] → [..., m, n]`. Both operands have rank at least 2.
    fn matmul(a: &Self::Tensor, b: &Self::Tensor) -> Self::Tensor;
}

/// The bound that [`Variable<B>`](crate::Variable) and modules carry: any [`Ops`] backend.
///
/// It exists so that signatures read `B: Backend` and so that requirements shared by all
/// backends have one place to live.
pub trait Backend: Ops {}

impl<B: Ops> Backend for B {}
