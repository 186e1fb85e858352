//! Comparisons and `sign`: masks, not differentiable, always constants.
//!
//! They return `1` where the relation holds and `0` elsewhere (`sign` returns −1, 0 or 1).
//! Their derivative is zero almost everywhere, so they never record a graph node: the
//! derivatives of piecewise ops (relu, maximum, clamp) multiply by them.

use crate::backend::{Backend, BinaryOp, UnaryOp};
use crate::variable::Variable;

impl<B: Backend> Variable<B> {
    /// `1` where `self > rhs`, else `0` (broadcasting; a constant).
    #[track_caller]
    pub fn gt(&self, rhs: &Self) -> Self {
        Self::constant(self.broadcast_kernel(rhs, BinaryOp::Gt, "gt"))
    }

    /// `1` where `self ≥ rhs`, else `0` (broadcasting; a constant).
    #[track_caller]
    pub fn ge(&self, rhs: &Self) -> Self {
        Self::constant(self.broadcast_kernel(rhs, BinaryOp::Ge, "ge"))
    }

    /// `1` where `self < rhs`, else `0` (broadcasting; a constant).
    #[track_caller]
    pub fn lt(&self, rhs: &Self) -> Self {
        Self::constant(self.broadcast_kernel(rhs, BinaryOp::Lt, "lt"))
    }

    /// `1` where `self ≤ rhs`, else `0` (broadcasting; a constant).
    #[track_caller]
    pub fn le(&self, rhs: &Self) -> Self {
        Self::constant(self.broadcast_kernel(rhs, BinaryOp::Le, "le"))
    }

    /// `1` where `self = rhs`, else `0` (broadcasting; a constant).
    #[track_caller]
    pub fn eq(&self, rhs: &Self) -> Self {
        Self::constant(self.broadcast_kernel(rhs, BinaryOp::Eq, "eq"))
    }

    /// `1` where `self > value`, else `0` (a constant).
    pub fn gt_scalar(&self, value: f64) -> Self {
        self.gt(&Self::scalar(Self::elem(value)))
    }

    /// `−1`, `0` or `1` by the sign of each element (a constant).
    pub fn sign(&self) -> Self {
        Self::constant(B::unary(UnaryOp::Sign, &self.value()))
    }
}
