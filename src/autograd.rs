//! Running the backward pass: `backward`, and gradients as values (`grad`, `hvp`).

use crate::backend::Backend;
use crate::backward::{run, Sink};
use crate::shape::numel;
use crate::variable::Variable;
use num_traits::One;

impl<B: Backend> Variable<B> {
    /// Backpropagates from this single-element result: adds `∂self/∂leaf` into the
    /// gradient of every leaf it depends on that requires a gradient.
    ///
    /// Gradients accumulate across calls until [`zero_grad`](Variable::zero_grad); a leaf
    /// reached along several paths receives the sum. The pass itself records no graph (see
    /// [`backward_create_graph`](Variable::backward_create_graph) for that).
    ///
    /// # Panics
    /// If this variable has more than one element (use
    /// [`backward_with`](Variable::backward_with)), or if it is a constant (nothing it
    /// depends on requires a gradient).
    #[track_caller]
    pub fn backward(&self) {
        let seed = self.single_element_seed("backward");
        self.backward_impl(seed, false);
    }

    /// Backpropagates `upstream`, a gradient in this variable's shape: afterwards each leaf's
    /// gradient has grown by the gradient of `sum(self · upstream)`.
    ///
    /// # Panics
    /// If `upstream`'s shape differs from this variable's, or if this is a constant.
    #[track_caller]
    pub fn backward_with(&self, upstream: &Self) {
        self.check_upstream("backward_with", upstream);
        self.backward_impl(upstream.clone(), false);
    }

    /// Like [`backward`](Variable::backward), but records the backward pass as a graph
    /// (PyTorch's `create_graph=True`): the gradients stored in the leaves are tracked and
    /// can be differentiated again, for gradient penalties and Hessian-vector products.
    ///
    /// ```
    /// use ferrograd::Variable;
    /// use ferrograd_scalar::Scalar;
    ///
    /// type V = Variable<Scalar<f64>>;
    /// let x = V::scalar(2.0).requires_grad();
    /// x.powf(3.0).backward_create_graph(); // dy/dx = 3x² = 12
    /// let dydx = x.grad().unwrap();
    /// assert_eq!(dydx.item(), 12.0);
    /// x.zero_grad();
    /// dydx.backward(); // d²y/dx² = 6x = 12
    /// assert_eq!(x.grad().unwrap().item(), 12.0);
    /// ```
    ///
    /// # Panics
    /// As [`backward`](Variable::backward).
    #[track_caller]
    pub fn backward_create_graph(&self) {
        let seed = self.single_element_seed("backward_create_graph");
        self.backward_impl(seed, true);
    }

    /// The number of graph nodes this variable depends on, itself included: op results and
    /// leaves that require a gradient. Constants are not nodes. A debugging and
    /// benchmarking aid (graph size per training step); it walks the graph.
    pub fn node_count(&self) -> usize {
        if self.is_tracked() {
            crate::backward::node_count(self)
        } else {
            0
        }
    }

    #[track_caller]
    fn backward_impl(&self, upstream: Self, create_graph: bool) {
        self.assert_tracked("backward");
        run(self, upstream, create_graph, Sink::Leaves);
    }

    #[track_caller]
    fn assert_tracked(&self, op: &str) {
        if !self.is_tracked() {
            panic!("{op}: the variable is a constant; nothing it depends on requires a gradient");
        }
    }

    #[track_caller]
    fn single_element_seed(&self, op: &str) -> Self {
        let value = self.value();
        let shape = B::shape(&value);
        if numel(shape) != 1 {
            panic!(
                "{op}: the output has shape {shape:?}; an implicit gradient exists only for a \
                 single element (pass an upstream gradient with backward_with)"
            );
        }
        Self::constant(B::full(shape, B::Elem::one()))
    }

    #[track_caller]
    fn check_upstream(&self, op: &str, upstream: &Self) {
        let (y, u) = (self.value(), upstream.value());
        if B::shape(&y) != B::shape(&u) {
            panic!(
                "{op}: the upstream gradient has shape {:?} but the output has shape {:?}",
                B::shape(&u),
                B::shape(&y)
            );
        }
    }
}

/// The gradients of `output` with respect to each of `inputs`, returned as values; no
/// leaf's stored gradient is touched (PyTorch's `torch.autograd.grad`).
///
/// `upstream` weights the output (the result is the gradient of `sum(output · upstream)`);
/// `None` means 1 and needs a single-element output. With `create_graph`, the returned
/// gradients are tracked and can be differentiated again. An input the output does not
/// depend on gets zeros.
///
/// ```
/// use ferrograd::{autograd, Variable};
/// use ferrograd_scalar::Scalar;
///
/// type V = Variable<Scalar<f64>>;
/// let (x, y) = (V::scalar(3.0).requires_grad(), V::scalar(4.0).requires_grad());
/// let f = &x * &y + x.square(); // ∂f/∂x = y + 2x = 10, ∂f/∂y = x = 3
/// let g = autograd::grad(&f, &[&x, &y], None, false);
/// assert_eq!((g[0].item(), g[1].item()), (10.0, 3.0));
/// assert!(x.grad().is_none());
/// ```
///
/// # Panics
/// If `output` is a constant, if `upstream`'s shape differs from `output`'s, or if
/// `upstream` is `None` and `output` has more than one element.
#[track_caller]
pub fn grad<B: Backend>(
    output: &Variable<B>,
    inputs: &[&Variable<B>],
    upstream: Option<&Variable<B>>,
    create_graph: bool,
) -> Vec<Variable<B>> {
    let seed = match upstream {
        Some(u) => {
            output.check_upstream("grad", u);
            u.clone()
        }
        None => output.single_element_seed("grad"),
    };
    output.assert_tracked("grad");
    run(output, seed, create_graph, Sink::Capture(inputs))
}

/// The Hessian-vector product of a single-element `output`: for each input `xᵢ`, the sum
/// over `j` of `∂²output/∂xᵢ∂xⱼ · tangents[j]`, computed by differentiating the
/// (recorded) backward pass once more. Costs about two backward passes, whatever the size.
///
/// ```
/// use ferrograd::{autograd, Variable};
/// use ferrograd_scalar::Scalar;
///
/// type V = Variable<Scalar<f64>>;
/// let (x, y) = (V::scalar(1.0).requires_grad(), V::scalar(2.0).requires_grad());
/// let f = x.square() * &y; // H = [[2y, 2x], [2x, 0]] = [[4, 2], [2, 0]]
/// let hv = autograd::hvp(&f, &[&x, &y], &[V::scalar(1.0), V::scalar(1.0)]);
/// assert_eq!((hv[0].item(), hv[1].item()), (6.0, 2.0));
/// ```
///
/// # Panics
/// If `output` has more than one element or is a constant, or if `tangents` and `inputs`
/// differ in length or shapes.
#[track_caller]
pub fn hvp<B: Backend>(
    output: &Variable<B>,
    inputs: &[&Variable<B>],
    tangents: &[Variable<B>],
) -> Vec<Variable<B>> {
    assert_eq!(
        inputs.len(),
        tangents.len(),
        "hvp: {} inputs but {} tangents",
        inputs.len(),
        tangents.len()
    );
    let grads = grad(output, inputs, None, true);
    let mut dot: Option<Variable<B>> = None;
    for ((g, t), x) in grads.iter().zip(tangents).zip(inputs) {
        assert_eq!(
            t.shape(),
            x.shape(),
            "hvp: a tangent has shape {:?} but its input has shape {:?}",
            t.shape(),
            x.shape()
        );
        let term = (g * t).sum();
        dot = Some(match dot {
            None => term,
            Some(acc) => acc + term,
        });
    }
    match dot {
        Some(dot) if dot.is_tracked() => grad(&dot, inputs, None, false),
        // The gradient does not depend on the inputs: the Hessian is zero.
        _ => inputs.iter().map(|x| x.zeros_like()).collect(),
    }
}
