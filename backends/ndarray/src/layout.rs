//! Layout kernels: reshape, permute, narrow (views that share data where possible), pad,
//! concatenation and broadcasting.

use crate::{standard, Elem, Tensor};
use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn, Slice};

/// The same elements in a new shape (a view when `x` is row-major, else a copy).
pub fn reshape<T: Elem>(x: &Tensor<T>, shape: &[usize]) -> Tensor<T> {
    standard(x)
        .into_shape_with_order(IxDyn(shape))
        .expect("same number of elements, row-major")
}

/// The dimensions reordered (a view).
pub fn permute<T: Elem>(x: &Tensor<T>, axes: &[usize]) -> Tensor<T> {
    x.clone().permuted_axes(IxDyn(axes))
}

/// Elements `start .. start + len` along `axis` (a view).
pub fn narrow<T: Elem>(x: &Tensor<T>, axis: usize, start: usize, len: usize) -> Tensor<T> {
    let mut view = x.clone();
    view.slice_axis_inplace(Axis(axis), Slice::from(start..start + len));
    view
}

/// Zeros around `x` along `axis`.
pub fn pad<T: Elem>(x: &Tensor<T>, axis: usize, before: usize, after: usize) -> Tensor<T> {
    let mut shape = x.shape().to_vec();
    shape[axis] += before + after;
    let mut out = ArrayD::zeros(IxDyn(&shape));
    out.slice_axis_mut(Axis(axis), Slice::from(before..before + x.shape()[axis]))
        .assign(x);
    out.into_shared()
}

/// Concatenation along `axis`.
pub fn cat<T: Elem>(xs: &[Tensor<T>], axis: usize) -> Tensor<T> {
    let views: Vec<ArrayViewD<T>> = xs.iter().map(|x| x.view()).collect();
    ndarray::concatenate(Axis(axis), &views)
        .expect("shapes checked by the core")
        .into_shared()
}

/// `x` repeated to `shape` (a row-major copy).
pub fn broadcast_to<T: Elem>(x: &Tensor<T>, shape: &[usize]) -> Tensor<T> {
    x.broadcast(IxDyn(shape))
        .expect("shapes checked by the core")
        .as_standard_layout()
        .into_owned()
        .into_shared()
}
