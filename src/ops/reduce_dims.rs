//! Reductions along dimensions (tensor backends): `sum_dims mean_dims max_dim min_dim
//! logsumexp var`.
//!
//! `sum_dims` is a primitive (its derivative broadcasts the gradient back); `max_dim` and
//! `min_dim` are primitives whose derivative scatters the gradient to the arg-max
//! (arg-min); `mean_dims`, `logsumexp` and `var` are compositions.

use crate::backend::{Indices, ReduceOp, TensorOps};
use crate::shape::{resolve_dim, resolve_dims};
use crate::variable::Variable;

impl<B: TensorOps> Variable<B> {
    /// The sum along `dims`; with `keepdim` they stay as size-1 dimensions. Listing every
    /// dimension reduces to rank 0 (or all ones with `keepdim`).
    ///
    /// # Panics
    /// If a dimension is out of range or repeated.
    #[track_caller]
    pub fn sum_dims(&self, dims: &[isize], keepdim: bool) -> Self {
        let x = self.value_ref();
        let shape = B::shape(&x).to_vec();
        let axes = resolve_dims("sum_dims", dims, shape.len());
        let value = B::reduce(ReduceOp::Sum, &x, &axes, keepdim);
        // g with the reduced dimensions back as size 1: it broadcasts to the input, and the
        // engine expands it only if a consumer needs it materialised.
        self.unary_op("sum_dims", value, move |_, _, g| {
            restore_reduced_dims(g, &shape, &axes, keepdim)
        })
    }

    /// The mean along `dims`.
    ///
    /// # Panics
    /// If a dimension is out of range or repeated.
    #[track_caller]
    pub fn mean_dims(&self, dims: &[isize], keepdim: bool) -> Self {
        let shape = self.shape();
        let count: usize = resolve_dims("mean_dims", dims, shape.len())
            .iter()
            .map(|&a| shape[a])
            .product();
        self.sum_dims(dims, keepdim) / count as f64
    }

    /// The maximum along `dim` (PyTorch's `max(dim).values`); the gradient goes to the
    /// position of the maximum.
    ///
    /// # Panics
    /// If `dim` is out of range or the dimension is empty.
    #[track_caller]
    pub fn max_dim(&self, dim: isize, keepdim: bool) -> Self {
        self.extreme("max_dim", ReduceOp::Max, dim, keepdim)
    }

    /// The minimum along `dim` (PyTorch's `min(dim).values`); the gradient goes to the
    /// position of the minimum.
    ///
    /// # Panics
    /// If `dim` is out of range or the dimension is empty.
    #[track_caller]
    pub fn min_dim(&self, dim: isize, keepdim: bool) -> Self {
        self.extreme("min_dim", ReduceOp::Min, dim, keepdim)
    }

    /// The index of the maximum along `dim`, as indices of `self`'s shape without `dim`.
    ///
    /// # Panics
    /// If `dim` is out of range or the dimension is empty.
    #[track_caller]
    pub fn argmax(&self, dim: isize) -> Indices {
        let x = self.value_ref();
        let mut shape = B::shape(&x).to_vec();
        let axis = resolve_dim("argmax", dim, shape.len());
        assert!(shape[axis] > 0, "argmax: dimension {dim} is empty");
        let index = B::arg_reduce(ReduceOp::Max, &x, axis);
        shape.remove(axis);
        Indices::new(index, &shape).expect("one index per position")
    }

    #[track_caller]
    fn extreme(&self, name: &'static str, op: ReduceOp, dim: isize, keepdim: bool) -> Self {
        let x = self.value_ref();
        let shape = B::shape(&x).to_vec();
        let axis = resolve_dim(name, dim, shape.len());
        assert!(
            shape[axis] > 0,
            "{name}: dimension {dim} of shape {shape:?} is empty"
        );
        let value = B::reduce(op, &x, &[axis], keepdim);
        let mut kept = shape.clone();
        kept[axis] = 1;
        let index =
            Indices::new(B::arg_reduce(op, &x, axis), &kept).expect("one index per position");
        self.unary_op(name, value, move |x, _, g| {
            let g = restore_reduced_dims(g, &shape, &[axis], keepdim);
            x.zeros_like()
                .scatter_add(axis as isize, &index, &g)
                .expect("arg-reduce indices are in range")
        })
    }

    /// `log Σ exp(x)` along `dim`, computed without overflow (the maximum is subtracted
    /// before exponentiating), so logits near ±1000 are fine.
    ///
    /// # Panics
    /// If `dim` is out of range.
    #[track_caller]
    pub fn logsumexp(&self, dim: isize, keepdim: bool) -> Self {
        // The shift m is constant: the result does not depend on it, so no gradient need
        // flow through it (and d/dx is softmax either way).
        let m = self.max_dim(dim, true).detach();
        let lse = (self - &m).exp().sum_dims(&[dim], true).log() + m;
        if keepdim {
            lse
        } else {
            lse.squeeze(dim)
        }
    }

    /// The variance along `dims`, dividing by `n − correction` (PyTorch's `var`;
    /// `correction = 1` is the unbiased estimate).
    ///
    /// # Panics
    /// If a dimension is out of range or repeated.
    #[track_caller]
    pub fn var(&self, dims: &[isize], correction: usize, keepdim: bool) -> Self {
        let shape = self.shape();
        let n: usize = resolve_dims("var", dims, shape.len())
            .iter()
            .map(|&a| shape[a])
            .product();
        let centered = self - self.mean_dims(dims, true);
        centered.square().sum_dims(dims, keepdim) / (n as f64 - correction as f64)
    }
}

/// Reinserts reduced dimensions (as size 1) into a gradient reduced without `keepdim`, so
/// that it broadcasts against the input again.
fn restore_reduced_dims<B: TensorOps>(
    g: &Variable<B>,
    input_shape: &[usize],
    axes: &[usize],
    keepdim: bool,
) -> Variable<B> {
    if keepdim {
        return g.clone();
    }
    let kept: Vec<usize> = input_shape
        .iter()
        .enumerate()
        .map(|(i, &d)| if axes.contains(&i) { 1 } else { d })
        .collect();
    g.reshape(&kept)
}
