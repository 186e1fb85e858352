//! Layout kernels: reshape, permute, narrow (views that share data where possible), pad,
//! concatenation and broadcasting.

use crate::{pool, standard, Elem, Tensor};
use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn, Slice};

/// The same elements in a new shape (a view when `x` is row-major, else a copy).
pub fn reshape<T: Elem>(x: &Tensor<T>, shape: &[usize]) -> Tensor<T> {
    standard(x)
        .arc()
        .into_shape_with_order(IxDyn(shape))
        .expect("same number of elements, row-major")
        .into()
}

/// The dimensions reordered (a view).
pub fn permute<T: Elem>(x: &Tensor<T>, axes: &[usize]) -> Tensor<T> {
    x.arc().permuted_axes(IxDyn(axes)).into()
}

/// Elements `start .. start + len` along `axis` (a view).
pub fn narrow<T: Elem>(x: &Tensor<T>, axis: usize, start: usize, len: usize) -> Tensor<T> {
    let mut view = x.arc();
    view.slice_axis_inplace(Axis(axis), Slice::from(start..start + len));
    view.into()
}

/// Zeros around `x` along `axis`.
pub fn pad<T: Elem>(x: &Tensor<T>, axis: usize, before: usize, after: usize) -> Tensor<T> {
    let mut shape = x.shape().to_vec();
    shape[axis] += before + after;
    let n = shape.iter().product();
    let mut data = pool::take(n);
    data.resize(n, T::zero());
    let mut out = ArrayD::from_shape_vec(IxDyn(&shape), data).expect("sizes agree");
    out.slice_axis_mut(Axis(axis), Slice::from(before..before + x.shape()[axis]))
        .assign(&**x);
    out.into()
}

/// Concatenation along `axis`.
pub fn cat<T: Elem>(xs: &[Tensor<T>], axis: usize) -> Tensor<T> {
    let views: Vec<ArrayViewD<T>> = xs.iter().map(|x| x.view()).collect();
    ndarray::concatenate(Axis(axis), &views)
        .expect("shapes checked by the core")
        .into()
}

/// `x` repeated to `shape` (a row-major copy).
pub fn broadcast_to<T: Elem>(x: &Tensor<T>, shape: &[usize]) -> Tensor<T> {
    let view = x
        .broadcast(IxDyn(shape))
        .expect("shapes checked by the core");
    copy_to_standard(&view)
}

/// A row-major copy of any view, in a buffer from the cache. (Extending a vector from the
/// view's element iterator was five times slower: it computes each element's address.)
pub fn copy_to_standard<T: Elem>(view: &ndarray::ArrayViewD<'_, T>) -> Tensor<T> {
    let n = view.len();
    let mut data = pool::take(n);
    if n > 0 && view.strides().iter().all(|&s| s == 0) {
        // One value repeated (a broadcast scalar): a fill.
        let value = *view.iter().next().expect("one element");
        data.resize(n, value);
        return crate::elementwise::from_vec(view.shape(), data);
    }
    data.resize(n, T::zero());
    let mut out = ArrayD::from_shape_vec(IxDyn(view.shape()), data).expect("sizes agree");
    out.assign(view);
    out.into()
}
