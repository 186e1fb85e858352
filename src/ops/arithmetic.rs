//! Binary arithmetic with broadcasting: `add sub mul div pow maximum minimum`, and `neg`.

use crate::backend::{Backend, BinaryOp, UnaryOp};
use crate::node::ValueRule;
use crate::ops::Operand;
use crate::shape::broadcast_shapes;
use crate::variable::Variable;

impl<B: Backend> Variable<B> {
    /// Computes `op(self, rhs)` with broadcasting, after checking that the shapes broadcast.
    #[track_caller]
    pub(crate) fn broadcast_kernel(&self, rhs: &Self, op: BinaryOp, name: &str) -> B::Tensor {
        self.broadcast_kernel_same(rhs, op, name).0
    }

    /// [`broadcast_kernel`](Self::broadcast_kernel), and whether the two shapes were the
    /// same (nothing was broadcast).
    #[track_caller]
    fn broadcast_kernel_same(&self, rhs: &Self, op: BinaryOp, name: &str) -> (B::Tensor, bool) {
        let (a, b) = (self.value_ref(), rhs.value_ref());
        let (sa, sb) = (B::shape(&a), B::shape(&b));
        let same = sa == sb;
        if !same && broadcast_shapes(sa, sb).is_none() {
            panic!("{name}: shapes {sa:?} and {sb:?} cannot be broadcast together");
        }
        (B::binary(op, &a, &b), same)
    }

    /// `self + rhs`, broadcasting (also the `+` operator).
    ///
    /// # Panics
    /// If the shapes do not broadcast.
    #[track_caller]
    pub fn add(&self, rhs: &Self) -> Self {
        Self::add_operands(self, rhs)
    }

    /// [`add`](Self::add) on operands borrowed or taken (the operators take theirs).
    #[track_caller]
    pub(crate) fn add_operands(a: impl Operand<B>, b: impl Operand<B>) -> Self {
        let value = a
            .variable()
            .broadcast_kernel_same(b.variable(), BinaryOp::Add, "add");
        Self::elementwise_binary_op_on_values(
            a,
            b,
            "add",
            value,
            |_, _, _, g| g.clone(),
            |_, _, _, g| g.clone(),
            ValueRule::Add,
        )
    }

    /// `self − rhs`, broadcasting (also the `-` operator).
    ///
    /// # Panics
    /// If the shapes do not broadcast.
    #[track_caller]
    pub fn sub(&self, rhs: &Self) -> Self {
        Self::sub_operands(self, rhs)
    }

    /// [`sub`](Self::sub) on operands borrowed or taken (the operators take theirs).
    #[track_caller]
    pub(crate) fn sub_operands(a: impl Operand<B>, b: impl Operand<B>) -> Self {
        let value = a
            .variable()
            .broadcast_kernel_same(b.variable(), BinaryOp::Sub, "sub");
        Self::elementwise_binary_op_on_values(
            a,
            b,
            "sub",
            value,
            |_, _, _, g| g.clone(),
            |_, _, _, g| -g,
            ValueRule::Sub,
        )
    }

    /// `self · rhs` elementwise, broadcasting (also the `*` operator).
    ///
    /// # Panics
    /// If the shapes do not broadcast.
    #[track_caller]
    pub fn mul(&self, rhs: &Self) -> Self {
        Self::mul_operands(self, rhs)
    }

    /// [`mul`](Self::mul) on operands borrowed or taken (the operators take theirs).
    #[track_caller]
    pub(crate) fn mul_operands(a: impl Operand<B>, b: impl Operand<B>) -> Self {
        let value = a
            .variable()
            .broadcast_kernel_same(b.variable(), BinaryOp::Mul, "mul");
        Self::elementwise_binary_op_on_values(
            a,
            b,
            "mul",
            value,
            |_, b, _, g| g * b,
            |a, _, _, g| g * a,
            ValueRule::Mul,
        )
    }

    /// `self / rhs` elementwise, broadcasting (also the `/` operator).
    ///
    /// # Panics
    /// If the shapes do not broadcast.
    #[track_caller]
    pub fn div(&self, rhs: &Self) -> Self {
        Self::div_operands(self, rhs)
    }

    /// [`div`](Self::div) on operands borrowed or taken (the operators take theirs).
    #[track_caller]
    pub(crate) fn div_operands(a: impl Operand<B>, b: impl Operand<B>) -> Self {
        let value = a
            .variable()
            .broadcast_kernel(b.variable(), BinaryOp::Div, "div");
        Self::elementwise_binary_op(
            a,
            b,
            "div",
            value,
            // d(a/b)/da = 1/b
            |_, b, _, g| g / b,
            // d(a/b)/db = −a/b²
            |a, b, _, g| -(g * a) / (b * b),
        )
    }

    /// `self ^ exponent` elementwise with a tensor exponent, broadcasting. For a constant
    /// exponent use [`powf`](Variable::powf).
    ///
    /// # Panics
    /// If the shapes do not broadcast.
    #[track_caller]
    pub fn pow(&self, exponent: &Self) -> Self {
        let value = self.broadcast_kernel(exponent, BinaryOp::Pow, "pow");
        Self::elementwise_binary_op(
            self,
            exponent,
            "pow",
            value,
            // d(aᵇ)/da = b·aᵇ⁻¹
            |a, b, _, g| g * b * a.pow(&(b - 1.0)),
            // d(aᵇ)/db = aᵇ·ln a
            |a, _, y, g| g * y * a.log(),
        )
    }

    /// The elementwise maximum, broadcasting. At ties the gradient is split evenly, as in
    /// PyTorch.
    ///
    /// # Panics
    /// If the shapes do not broadcast.
    #[track_caller]
    pub fn maximum(&self, rhs: &Self) -> Self {
        let value = self.broadcast_kernel(rhs, BinaryOp::Maximum, "maximum");
        Self::elementwise_binary_op(
            self,
            rhs,
            "maximum",
            value,
            |a, b, _, g| g * winner_mask(a, b),
            |a, b, _, g| g * winner_mask(b, a),
        )
    }

    /// The elementwise minimum, broadcasting. At ties the gradient is split evenly.
    ///
    /// # Panics
    /// If the shapes do not broadcast.
    #[track_caller]
    pub fn minimum(&self, rhs: &Self) -> Self {
        let value = self.broadcast_kernel(rhs, BinaryOp::Minimum, "minimum");
        Self::elementwise_binary_op(
            self,
            rhs,
            "minimum",
            value,
            |a, b, _, g| g * winner_mask(b, a),
            |a, b, _, g| g * winner_mask(a, b),
        )
    }

    /// `−self` (also the unary `-` operator).
    pub fn neg(&self) -> Self {
        let value = B::unary(UnaryOp::Neg, &self.value_ref());
        self.elementwise_unary_op("neg", value, |_, _, g| -g)
    }
}

/// 1 where `a > b`, ½ where `a = b`, 0 elsewhere: the share of the gradient of `max(a, b)`
/// that goes to `a`.
fn winner_mask<B: Backend>(a: &Variable<B>, b: &Variable<B>) -> Variable<B> {
    a.gt(b) + a.eq(b) * 0.5
}
