//! `Variable<B>`: a value in a computation, and a handle on its graph node.

use crate::backend::{Backend, LeafCell};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::node::{LeafNode, Node, NodeKind};
use crate::shape::numel;
use num_traits::{One, Zero};
use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, PoisonError};

/// A value taking part in a differentiable computation.
///
/// Computing with `Variable`s records the computation: each result remembers the operation
/// that made it and its inputs, and keeps its value. [`backward`](Variable::backward) on a
/// result then walks that graph in reverse and accumulates into every leaf that
/// [requires a gradient](Variable::requires_grad) the derivative of the result with respect
/// to it.
///
/// A `Variable` is a cheap handle: cloning it copies a number (the scalar backend) or
/// increments a reference count. Three kinds exist:
///
/// - a **constant** (made by [`constant`](Variable::constant), [`scalar`](Variable::scalar),
///   [`from_vec`](Variable::from_vec), or any op on constants or under
///   [`no_grad`](crate::no_grad)): just a value, no graph node, no gradient;
/// - a **leaf** that requires a gradient ([`requires_grad`](Variable::requires_grad)): a
///   parameter or an input; its gradient accumulates across backward calls until
///   [`zero_grad`](Variable::zero_grad);
/// - an **op result** that depends on a leaf: a graph node holding its value, inputs and
///   derivative rule.
///
/// The backend `B` is a type parameter: `Variable<Scalar<f64>>` holds one number per node
/// (micrograd style), `Variable<NdArray<f32>>` an n-dimensional array.
///
/// ```
/// use ferrograd::Variable;
/// use ferrograd_scalar::Scalar;
///
/// type V = Variable<Scalar<f64>>;
/// let x = V::scalar(3.0).requires_grad();
/// let y = &x * &x + 2.0 * &x; // y = x² + 2x
/// y.backward();
/// assert_eq!(x.grad().unwrap().item(), 8.0); // dy/dx = 2x + 2
/// ```
pub struct Variable<B: Backend> {
    pub(crate) inner: Inner<B>,
}

pub(crate) enum Inner<B: Backend> {
    Constant(B::Tensor),
    Tracked(Arc<Node<B>>),
}

impl<B: Backend> Clone for Variable<B> {
    fn clone(&self) -> Self {
        let inner = match &self.inner {
            Inner::Constant(value) => Inner::Constant(value.clone()),
            Inner::Tracked(node) => Inner::Tracked(Arc::clone(node)),
        };
        Variable { inner }
    }
}

/// Construction.
impl<B: Backend> Variable<B> {
    /// A constant holding `value`: no graph node, no gradient.
    pub fn constant(value: B::Tensor) -> Self {
        Variable {
            inner: Inner::Constant(value),
        }
    }

    /// A leaf holding `value` that requires a gradient.
    pub fn leaf(value: B::Tensor) -> Self {
        let node = Node::new(NodeKind::Leaf(LeafNode::new(value)));
        Variable {
            inner: Inner::Tracked(Arc::new(node)),
        }
    }

    /// A rank-0 constant.
    pub fn scalar(value: B::Elem) -> Self {
        Self::constant(B::full(&[], value))
    }

    /// A constant built from row-major `data` of the given `shape`.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if `data` does not hold exactly the number of elements of
    /// `shape`; [`Error::UnsupportedShape`] if the backend cannot hold `shape` (the scalar
    /// backend holds only rank 0).
    pub fn from_vec(data: Vec<B::Elem>, shape: &[usize]) -> Result<Self> {
        let expected = numel(shape);
        if data.len() != expected {
            return Err(Error::LengthMismatch {
                op: "from_vec",
                shape: shape.to_vec(),
                expected,
                got: data.len(),
            });
        }
        B::from_vec(data, shape).map(Self::constant)
    }

    /// A constant of the given shape filled with `value`.
    pub fn full(shape: &[usize], value: B::Elem) -> Self {
        Self::constant(B::full(shape, value))
    }

    /// A constant of zeros.
    pub fn zeros(shape: &[usize]) -> Self {
        Self::full(shape, B::Elem::zero())
    }

    /// A constant of ones.
    pub fn ones(shape: &[usize]) -> Self {
        Self::full(shape, B::Elem::one())
    }

    /// A constant of this variable's shape filled with `value`.
    pub fn full_like(&self, value: B::Elem) -> Self {
        Self::constant(B::full(B::shape(&self.value_ref()), value))
    }

    /// A constant of zeros of this variable's shape.
    pub fn zeros_like(&self) -> Self {
        self.full_like(B::Elem::zero())
    }

    /// A constant of ones of this variable's shape.
    pub fn ones_like(&self) -> Self {
        self.full_like(B::Elem::one())
    }

    /// This value as a leaf that requires a gradient (PyTorch's `requires_grad_()`).
    ///
    /// A constant becomes a new leaf; a variable that already requires a gradient is
    /// returned as it is.
    pub fn requires_grad(self) -> Self {
        match self.inner {
            Inner::Constant(value) => Self::leaf(value),
            Inner::Tracked(_) => self,
        }
    }

    /// A constant with this variable's current value, cut loose from the graph.
    pub fn detach(&self) -> Self {
        Self::constant(self.value())
    }

    pub(crate) fn from_node(node: Arc<Node<B>>) -> Self {
        Variable {
            inner: Inner::Tracked(node),
        }
    }
}

/// Inspection.
impl<B: Backend> Variable<B> {
    /// The current value (a cheap copy or reference-counted clone).
    pub fn value(&self) -> B::Tensor {
        match &self.inner {
            Inner::Constant(value) => value.clone(),
            Inner::Tracked(node) => match &node.kind {
                NodeKind::Op(op) => op.value.clone(),
                NodeKind::Leaf(leaf) => leaf.value.get(),
            },
        }
    }

    /// The value, taken out of a constant without a copy.
    pub(crate) fn into_value(self) -> B::Tensor {
        match self.inner {
            Inner::Constant(value) => value,
            Inner::Tracked(node) => Self::from_node(node).value(),
        }
    }

    /// The value, borrowed where it can be (constants and op results hold theirs
    /// immutably) and cloned only for leaves, whose value sits in a replaceable
    /// [`LeafCell`]: what ops read their inputs through.
    pub(crate) fn value_ref(&self) -> Cow<'_, B::Tensor> {
        match &self.inner {
            Inner::Constant(value) => Cow::Borrowed(value),
            Inner::Tracked(node) => match &node.kind {
                NodeKind::Op(op) => Cow::Borrowed(&op.value),
                NodeKind::Leaf(_) => Cow::Owned(self.value()),
            },
        }
    }

    /// The shape (`[]` for rank 0).
    pub fn shape(&self) -> Vec<usize> {
        B::shape(&self.value_ref()).to_vec()
    }

    /// The number of dimensions.
    pub fn rank(&self) -> usize {
        B::shape(&self.value_ref()).len()
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        numel(B::shape(&self.value_ref()))
    }

    /// The elements in row-major order.
    pub fn to_vec(&self) -> Vec<B::Elem> {
        B::to_vec(&self.value_ref())
    }

    /// The value of a single-element variable.
    ///
    /// # Panics
    /// If the variable holds more than one element.
    #[track_caller]
    pub fn item(&self) -> B::Elem {
        let value = self.value();
        let n = numel(B::shape(&value));
        if n != 1 {
            panic!(
                "item: the variable has shape {:?} ({n} elements), not a single element",
                B::shape(&value)
            );
        }
        B::to_vec(&value)[0]
    }

    /// Whether gradients flow into this variable: it is a leaf that requires a gradient or
    /// the result of an op on one. Constants are not tracked.
    pub fn is_tracked(&self) -> bool {
        matches!(self.inner, Inner::Tracked(_))
    }

    /// Whether this variable is a leaf (a constant, or a variable that requires a gradient
    /// and was not computed by an op).
    pub fn is_leaf(&self) -> bool {
        match &self.inner {
            Inner::Constant(_) => true,
            Inner::Tracked(node) => matches!(node.kind, NodeKind::Leaf(_)),
        }
    }

    /// The name of the op that computed this variable, if it is an op result.
    pub fn op_name(&self) -> Option<&'static str> {
        match self.node().map(|n| &n.kind) {
            Some(NodeKind::Op(op)) => Some(op.name),
            _ => None,
        }
    }

    pub(crate) fn node(&self) -> Option<&Arc<Node<B>>> {
        match &self.inner {
            Inner::Constant(_) => None,
            Inner::Tracked(node) => Some(node),
        }
    }

    pub(crate) fn into_node(self) -> Option<Arc<Node<B>>> {
        match self.inner {
            Inner::Constant(_) => None,
            Inner::Tracked(node) => Some(node),
        }
    }

    /// Whether two handles refer to the same graph node (always false for constants).
    pub fn same_node(&self, other: &Self) -> bool {
        match (self.node(), other.node()) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// Gradients and updates of leaves.
impl<B: Backend> Variable<B> {
    /// The gradient accumulated into this leaf by backward passes since the last
    /// [`zero_grad`](Variable::zero_grad), or `None` if there was none (or if this is not a
    /// leaf that requires a gradient).
    pub fn grad(&self) -> Option<Self> {
        match self.node().map(|n| &n.kind) {
            Some(NodeKind::Leaf(leaf)) => leaf
                .grad
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            _ => None,
        }
    }

    /// Clears the accumulated gradient of this leaf (PyTorch's `zero_grad(set_to_none=True)`).
    pub fn zero_grad(&self) {
        if let Some(NodeKind::Leaf(leaf)) = self.node().map(|n| &n.kind) {
            *leaf.grad.lock().unwrap_or_else(PoisonError::into_inner) = None;
        }
    }

    /// Replaces the gradient of this leaf (used by gradient clipping and data-parallel
    /// reduction). Does nothing on a variable that is not a leaf requiring a gradient.
    pub fn set_grad(&self, grad: Option<Self>) {
        if let Some(NodeKind::Leaf(leaf)) = self.node().map(|n| &n.kind) {
            *leaf.grad.lock().unwrap_or_else(PoisonError::into_inner) = grad;
        }
    }

    /// Replaces the value of this leaf in place: how optimizers update parameters. Every
    /// handle on the leaf sees the new value.
    ///
    /// Update parameters after `backward`, not between the forward pass and `backward`:
    /// derivatives read their inputs' values when the backward pass runs.
    ///
    /// # Panics
    /// If this is not a leaf that requires a gradient, or if the new value's shape differs.
    #[track_caller]
    pub fn set_value(&self, value: B::Tensor) {
        match self.node().map(|n| &n.kind) {
            Some(NodeKind::Leaf(leaf)) => {
                // Shapes never change (every replacement is checked), so checking against a
                // read taken before the write cannot miss a concurrent change of shape.
                let old = leaf.value.get();
                if B::shape(&old) != B::shape(&value) {
                    panic!(
                        "set_value: the new value has shape {:?}, the leaf has shape {:?}",
                        B::shape(&value),
                        B::shape(&old)
                    );
                }
                leaf.value.set(value);
            }
            _ => panic!("set_value: only a leaf that requires a gradient can be updated in place"),
        }
    }
}

impl<B: Backend> fmt::Debug for Variable<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Variable");
        s.field("value", &self.value());
        match &self.inner {
            Inner::Constant(_) => s.field("kind", &"constant"),
            Inner::Tracked(node) => match &node.kind {
                NodeKind::Leaf(_) => s.field("kind", &"leaf"),
                NodeKind::Op(op) => s.field("op", &op.name),
            },
        };
        s.finish()
    }
}

impl<B: Backend> fmt::Display for Variable<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = self.value();
        let shape = B::shape(&value);
        if shape.is_empty() {
            write!(f, "{}", B::to_vec(&value)[0])
        } else {
            write!(f, "{:?} {:?}", shape, B::to_vec(&value))
        }
    }
}

// Compile-time check: handles can cross threads (data-parallel training builds graphs on
// several threads over shared parameters).
#[allow(dead_code)]
fn assert_send_sync<B: Backend>() {
    fn is_send_sync<T: Send + Sync>() {}
    is_send_sync::<Variable<B>>();
}

impl<B: Backend> Variable<B> {
    /// Converts an `f64` to this variable's element type.
    #[inline]
    pub(crate) fn elem(x: f64) -> B::Elem {
        <B::Elem as Element>::from_f64(x)
    }
}
