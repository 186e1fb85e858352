//! Operations on [`Variable`]s, each with its derivative beside it.
//!
//! Every op computes its value with a backend kernel and records a node holding a
//! derivative rule written with differentiable `Variable` operations. So every backend
//! gets every derivative, and gradients can be differentiated again.
//!
//! # Primitives and compositions
//!
//! *Primitives* have a kernel and a hand-written derivative:
//!
//! | family | ops |
//! | --- | --- |
//! | [arithmetic] | `add sub mul div pow maximum minimum neg` |
//! | [math] | `exp log sqrt sin cos tanh sigmoid abs square reciprocal erf softplus powf` |
//! | [activation] | `relu leaky_relu elu clamp` |
//! | [broadcast] | `expand sum_to` (broadcasting and its backward) |
//! | [reduce] | `sum` |
//! | [shape_ops] (tensor) | `reshape permute narrow pad_dim cat` |
//! | [reduce_dims] (tensor) | `sum_dims max_dim min_dim` |
//! | [linalg] (tensor) | `matmul` |
//! | [index] (tensor) | `index_select index_add gather scatter_add` |
//! | [window] (tensor) | `unfold2d fold2d` |
//!
//! *Compositions* are written in terms of primitives, so their derivatives follow:
//! `mean`, `gelu`, `gelu_tanh`; on tensor backends `transpose unsqueeze squeeze flatten
//! stack mean_dims logsumexp var softmax log_softmax`, and everything in
//! [`nn::functional`](crate::nn::functional) (losses, `layer_norm`, `conv2d`, pooling,
//! `embedding`).
//!
//! *Masks* ([compare]: `gt ge lt le eq sign`) are not differentiable (their
//! derivative is zero almost everywhere) and always return constants.
//!
//! Broadcasting's backward (summing a gradient back to an input's shape) is applied once,
//! by the engine, not by each op.
//!
//! [`DIFFERENTIABLE_OPS`] lists every differentiable op; a test fails if one of them has
//! no gradient check.

pub mod activation;
pub mod arithmetic;
pub mod broadcast;
pub mod compare;
pub mod index;
pub mod linalg;
pub mod math;
mod operators;
pub mod reduce;
pub mod reduce_dims;
pub mod shape_ops;
pub mod softmax;
pub mod window;

use crate::backend::Backend;
use crate::grad_mode::is_grad_enabled;
use crate::node::{Inputs, Node, NodeKind, OpNode, ValueRule};
use crate::node_pool;
use crate::variable::Variable;

/// Every differentiable op the crate exports, by its PyTorch name. The test suite checks
/// that each has a gradient check, so no op can silently cut a gradient.
#[rustfmt::skip]
pub const DIFFERENTIABLE_OPS: &[&str] = &[
    // arithmetic
    "add",
    "sub",
    "mul",
    "div",
    "pow",
    "maximum",
    "minimum",
    "neg",
    // math
    "exp",
    "log",
    "sqrt",
    "sin",
    "cos",
    "tanh",
    "sigmoid",
    "abs",
    "square",
    "reciprocal",
    "erf",
    "softplus",
    "powf",
    // activation
    "relu",
    "leaky_relu",
    "elu",
    "clamp",
    "gelu",
    "gelu_tanh",
    // broadcast and reduce
    "expand",
    "sum_to",
    "sum",
    "mean",
    // tensor backends: shape
    "reshape", "permute", "transpose", "unsqueeze", "squeeze", "flatten", "narrow", "pad_dim",
    "cat", "stack",
    // tensor backends: reductions along dimensions
    "sum_dims", "mean_dims", "max_dim", "min_dim", "logsumexp", "var", "softmax", "log_softmax",
    // tensor backends: linear algebra, indexing, windows
    "matmul", "index_select", "index_add", "gather", "scatter_add", "unfold2d", "fold2d",
    // nn::functional
    "cross_entropy", "nll_loss", "mse_loss", "binary_cross_entropy_with_logits", "hinge_loss",
    "layer_norm",
    "conv2d", "max_pool2d", "avg_pool2d", "embedding",
];

impl<B: Backend> Variable<B> {
    /// Records a custom differentiable op: the extension point for ops ferrograd does not
    /// have (PyTorch's `autograd.Function`).
    ///
    /// `value` is the op's result, computed by the caller. `derivative(i, inputs, output,
    /// grad)` must return the gradient of `sum(output · grad)` with respect to `inputs[i]`,
    /// written with `Variable` operations so that it can itself be differentiated; it is
    /// called only for inputs that are tracked. The result is a constant when no input is
    /// tracked or inside [`no_grad`](crate::no_grad).
    ///
    /// The derivative should not capture `Variable`s: a graph node drops its inputs without
    /// recursion, but cannot see into a closure.
    ///
    /// ```
    /// use ferrograd::Variable;
    /// use ferrograd_scalar::Scalar;
    ///
    /// type V = Variable<Scalar<f64>>;
    /// // cube(x) = x³ with its derivative 3x²
    /// fn cube(x: &V) -> V {
    ///     let value = x.item().powi(3);
    ///     V::from_op("cube", value, &[x], |_, xs, _, g| g * 3.0 * xs[0].square())
    /// }
    /// let x = V::scalar(2.0).requires_grad();
    /// cube(&x).backward();
    /// assert_eq!(x.grad().unwrap().item(), 12.0);
    /// ```
    pub fn from_op<F>(name: &'static str, value: B::Tensor, inputs: &[&Self], derivative: F) -> Self
    where
        F: Fn(usize, &[Self], &Self, &Self) -> Self + Send + Sync + 'static,
    {
        if !is_grad_enabled() || !inputs.iter().any(|x| x.is_tracked()) {
            return Self::constant(value);
        }
        let inputs = match inputs {
            [x] => Inputs::One([(*x).clone()]),
            [a, b] => Inputs::Two([(*a).clone(), (*b).clone()]),
            _ => Inputs::Many(inputs.iter().map(|x| (*x).clone()).collect()),
        };
        Self::record(name, value, inputs, false, Box::new(derivative), None)
    }

    /// Records a one-input op. `derivative(x, y, g)` gets the input, the output and the
    /// upstream gradient.
    pub(crate) fn unary_op<F>(&self, name: &'static str, value: B::Tensor, derivative: F) -> Self
    where
        F: Fn(&Self, &Self, &Self) -> Self + Send + Sync + 'static,
    {
        Self::record_unary(self, name, value, false, derivative)
    }

    /// Records a one-input elementwise op: its derivative is written so that it also works
    /// with an upstream gradient that is only broadcastable to the output.
    pub(crate) fn elementwise_unary_op<F>(
        &self,
        name: &'static str,
        value: B::Tensor,
        derivative: F,
    ) -> Self
    where
        F: Fn(&Self, &Self, &Self) -> Self + Send + Sync + 'static,
    {
        Self::record_unary(self, name, value, true, derivative)
    }

    /// Records a one-input op on an input borrowed or taken (see [`Operand`]).
    fn record_unary<F>(
        x: impl Operand<B>,
        name: &'static str,
        value: B::Tensor,
        elementwise: bool,
        derivative: F,
    ) -> Self
    where
        F: Fn(&Self, &Self, &Self) -> Self + Send + Sync + 'static,
    {
        if !x.variable().is_tracked() || !is_grad_enabled() {
            return Self::constant(value);
        }
        let d = move |_: usize, xs: &[Self], y: &Self, g: &Self| derivative(&xs[0], y, g);
        Self::record(
            name,
            value,
            Inputs::One([x.into_variable()]),
            elementwise,
            Box::new(d),
            None,
        )
    }

    /// Records a two-input op with one derivative per input, each called as
    /// `d(a, b, y, g)`; only the ones for tracked inputs run.
    pub(crate) fn binary_op<FA, FB>(
        a: impl Operand<B>,
        b: impl Operand<B>,
        name: &'static str,
        value: B::Tensor,
        da: FA,
        db: FB,
    ) -> Self
    where
        FA: Fn(&Self, &Self, &Self, &Self) -> Self + Send + Sync + 'static,
        FB: Fn(&Self, &Self, &Self, &Self) -> Self + Send + Sync + 'static,
    {
        Self::record_binary(a, b, name, value, false, (da, db), None)
    }

    /// Records a two-input elementwise op (broadcasting); see
    /// [`elementwise_unary_op`](Self::elementwise_unary_op).
    pub(crate) fn elementwise_binary_op<FA, FB>(
        a: impl Operand<B>,
        b: impl Operand<B>,
        name: &'static str,
        value: B::Tensor,
        da: FA,
        db: FB,
    ) -> Self
    where
        FA: Fn(&Self, &Self, &Self, &Self) -> Self + Send + Sync + 'static,
        FB: Fn(&Self, &Self, &Self, &Self) -> Self + Send + Sync + 'static,
    {
        Self::record_binary(a, b, name, value, true, (da, db), None)
    }

    /// Like [`elementwise_binary_op`](Self::elementwise_binary_op), with the derivatives
    /// also given on values (`on_values`, see [`ValueRule`]), which unrecorded
    /// backward passes use. `value` comes with whether `a` and `b` had the same shape; the
    /// derivative on values is recorded only then (when neither was broadcast).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn elementwise_binary_op_on_values<FA, FB>(
        a: impl Operand<B>,
        b: impl Operand<B>,
        name: &'static str,
        (value, same_shapes): (B::Tensor, bool),
        da: FA,
        db: FB,
        on_values: ValueRule,
    ) -> Self
    where
        FA: Fn(&Self, &Self, &Self, &Self) -> Self + Send + Sync + 'static,
        FB: Fn(&Self, &Self, &Self, &Self) -> Self + Send + Sync + 'static,
    {
        let on_values = same_shapes.then_some(on_values);
        Self::record_binary(a, b, name, value, true, (da, db), on_values)
    }

    fn record_binary<FA, FB>(
        a: impl Operand<B>,
        b: impl Operand<B>,
        name: &'static str,
        value: B::Tensor,
        elementwise: bool,
        (da, db): (FA, FB),
        on_values: Option<ValueRule>,
    ) -> Self
    where
        FA: Fn(&Self, &Self, &Self, &Self) -> Self + Send + Sync + 'static,
        FB: Fn(&Self, &Self, &Self, &Self) -> Self + Send + Sync + 'static,
    {
        if !(a.variable().is_tracked() || b.variable().is_tracked()) || !is_grad_enabled() {
            return Self::constant(value);
        }
        let d = move |i: usize, xs: &[Self], y: &Self, g: &Self| {
            if i == 0 {
                da(&xs[0], &xs[1], y, g)
            } else {
                db(&xs[0], &xs[1], y, g)
            }
        };
        let inputs = Inputs::Two([a.into_variable(), b.into_variable()]);
        Self::record(name, value, inputs, elementwise, Box::new(d), on_values)
    }

    fn record(
        name: &'static str,
        value: B::Tensor,
        inputs: Inputs<B>,
        elementwise: bool,
        derivative: Box<crate::node::Derivative<B>>,
        on_values: Option<ValueRule>,
    ) -> Self {
        Self::from_node(node_pool::allocate(Node::new(NodeKind::Op(OpNode {
            value,
            name,
            elementwise,
            inputs,
            derivative,
            on_values,
        }))))
    }
}

/// An operand of a two-input op: a variable the op borrows, and clones into the graph
/// node it records, or one it takes and moves in. `acc + w * x` takes both of its
/// operands, which spares a reference count's increment and decrement per operand: atomic
/// operations that cost a scalar graph (W5) most of a node's time on some CPUs.
pub(crate) trait Operand<B: Backend> {
    /// The variable, borrowed.
    fn variable(&self) -> &Variable<B>;
    /// The variable, owned: moved if it was taken, cloned if it was borrowed.
    fn into_variable(self) -> Variable<B>;
}

impl<B: Backend> Operand<B> for Variable<B> {
    fn variable(&self) -> &Variable<B> {
        self
    }

    fn into_variable(self) -> Variable<B> {
        self
    }
}

impl<B: Backend> Operand<B> for &Variable<B> {
    fn variable(&self) -> &Variable<B> {
        self
    }

    fn into_variable(self) -> Variable<B> {
        self.clone()
    }
}
