//! The n-dimensional tensor backend of ferrograd.
//!
//! `NdArray<T>` stores every graph node's value as an n-dimensional array (ndarray's
//! `ArcArray`: cloning shares the data; reshapes, transposes and slices are views where
//! possible). Large elementwise kernels and reductions run in parallel on rayon, matrix
//! products go through matrixmultiply (or, for small and mid-sized ones, loops of the
//! backend's own that skip its packing) in blocks that ferrograd spreads over rayon itself,
//! and every parallel split depends only on the sizes involved, so results are the same
//! to the bit whatever the thread count (see `parallel.rs`, where all thresholds live).
//!
//! ```
//! use ferrograd::Variable;
//! use ferrograd_ndarray::NdArray;
//!
//! type T = Variable<NdArray<f64>>;
//! let x = T::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap().requires_grad();
//! let w = T::from_vec(vec![0.5, -1.0, 2.0], &[3, 1]).unwrap().requires_grad();
//! let y = x.matmul(&w).tanh().sum();
//! y.backward();
//! assert_eq!(w.grad().unwrap().shape(), vec![3, 1]);
//! ```

#![warn(missing_docs)]

mod avx512_matmul;
mod elementwise;
mod fastmath;
mod index;
mod layer_norm;
mod layout;
mod matmul;
mod norm;
mod packed_matmul;
mod parallel;
mod pool;
mod reduce;
mod simd;
mod small_matmul;
mod tensor;
#[cfg(test)]
mod test_matrices;
mod window;
mod zip_map;

use ferrograd::backend::{BinaryOp, Indices, Ops, ReduceOp, TensorOps, UnaryOp, Window2d};
use ferrograd::{DType, Element, Result};
use ndarray::LinalgScalar;
use std::marker::PhantomData;

/// The tensor backend: values are n-dimensional arrays of `T` (`f32` or `f64`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NdArray<T>(PhantomData<T>);

pub use pool::release_cached_memory;
pub use tensor::Tensor;

/// The element types the backend computes with.
pub trait Elem: Element + LinalgScalar + fastmath::FastMath + pool::Pooled {}

impl<T: Element + LinalgScalar + fastmath::FastMath + pool::Pooled> Elem for T {}

/// `x` in row-major layout: itself, borrowed, if it already is; else a copy.
pub(crate) fn standard<T: Elem>(x: &Tensor<T>) -> std::borrow::Cow<'_, Tensor<T>> {
    if x.is_standard_layout() {
        std::borrow::Cow::Borrowed(x)
    } else {
        std::borrow::Cow::Owned(layout::copy_to_standard(&x.view()))
    }
}

impl<T: Elem> Ops for NdArray<T> {
    type Elem = T;
    type Tensor = Tensor<T>;
    type Leaf = ferrograd::backend::LockedCell<Tensor<T>>;

    fn name() -> &'static str {
        match T::DTYPE {
            DType::F32 => "NdArray<f32>",
            DType::F64 => "NdArray<f64>",
        }
    }

    fn from_vec(data: Vec<T>, shape: &[usize]) -> Result<Tensor<T>> {
        Ok(elementwise::from_vec(shape, data))
    }

    fn full(shape: &[usize], value: T) -> Tensor<T> {
        let n = shape.iter().product();
        let mut data = pool::take(n);
        data.resize(n, value);
        elementwise::from_vec(shape, data)
    }

    fn shape(x: &Tensor<T>) -> &[usize] {
        x.shape()
    }

    fn to_vec(x: &Tensor<T>) -> Vec<T> {
        x.iter().copied().collect()
    }

    fn unary(op: UnaryOp<T>, x: &Tensor<T>) -> Tensor<T> {
        elementwise::unary(op, x)
    }

    fn binary(op: BinaryOp, a: &Tensor<T>, b: &Tensor<T>) -> Tensor<T> {
        elementwise::binary(op, a, b)
    }

    fn add_scaled(a: &Tensor<T>, b: &Tensor<T>, scale: T) -> Tensor<T> {
        elementwise::add_scaled(a, b, scale)
    }

    #[track_caller]
    fn zip_map<const I: usize, const O: usize>(
        inputs: [&Tensor<T>; I],
        f: impl Fn([T; I]) -> [T; O] + Sync,
    ) -> [Tensor<T>; O] {
        zip_map::zip_map(inputs, f)
    }

    fn norm(x: &Tensor<T>, norm_type: f64) -> f64 {
        norm::norm(x, norm_type)
    }

    fn broadcast_to(x: &Tensor<T>, shape: &[usize]) -> Tensor<T> {
        layout::broadcast_to(x, shape)
    }

    fn sum_to(x: &Tensor<T>, shape: &[usize]) -> Tensor<T> {
        reduce::sum_to(x, shape)
    }

    fn run_backward<R: Send>(
        largest: impl FnOnce() -> usize,
        pass: impl FnOnce() -> R + Send,
    ) -> R {
        if largest() >= parallel::POOL_BACKWARD_MIN {
            parallel::in_pool(pass)
        } else {
            pass()
        }
    }
}

impl<T: Elem> TensorOps for NdArray<T> {
    fn reshape(x: &Tensor<T>, shape: &[usize]) -> Tensor<T> {
        layout::reshape(x, shape)
    }

    fn permute(x: &Tensor<T>, axes: &[usize]) -> Tensor<T> {
        layout::permute(x, axes)
    }

    fn narrow(x: &Tensor<T>, axis: usize, start: usize, len: usize) -> Tensor<T> {
        layout::narrow(x, axis, start, len)
    }

    fn pad(x: &Tensor<T>, axis: usize, before: usize, after: usize) -> Tensor<T> {
        layout::pad(x, axis, before, after)
    }

    fn cat(xs: &[Tensor<T>], axis: usize) -> Tensor<T> {
        layout::cat(xs, axis)
    }

    fn reduce(op: ReduceOp, x: &Tensor<T>, axes: &[usize], keepdim: bool) -> Tensor<T> {
        reduce::reduce(op, x, axes, keepdim)
    }

    fn arg_reduce(op: ReduceOp, x: &Tensor<T>, axis: usize) -> Vec<usize> {
        reduce::arg_reduce(op, x, axis)
    }

    fn matmul(a: &Tensor<T>, b: &Tensor<T>) -> Tensor<T> {
        matmul::matmul(a, b)
    }

    fn is_column_major(x: &Tensor<T>) -> bool {
        let (shape, strides) = (x.shape(), x.strides());
        let n = shape.len();
        n >= 2
            && shape[n - 2] > 1
            && shape[n - 1] > 1
            && strides[n - 2] == 1
            && strides[n - 1] as usize >= shape[n - 2]
    }

    fn index_select(x: &Tensor<T>, axis: usize, index: &[usize]) -> Tensor<T> {
        index::index_select(x, axis, index)
    }

    fn index_add(x: &Tensor<T>, axis: usize, index: &[usize], src: &Tensor<T>) -> Tensor<T> {
        index::index_add(x, axis, index, src)
    }

    fn gather(x: &Tensor<T>, axis: usize, index: &Indices) -> Tensor<T> {
        index::gather(x, axis, index)
    }

    fn scatter_add(x: &Tensor<T>, axis: usize, index: &Indices, src: &Tensor<T>) -> Tensor<T> {
        index::scatter_add(x, axis, index, src)
    }

    fn unfold2d(x: &Tensor<T>, window: &Window2d) -> Tensor<T> {
        window::unfold2d(x, window)
    }

    fn fold2d(cols: &Tensor<T>, window: &Window2d) -> Tensor<T> {
        window::fold2d(cols, window)
    }

    fn max_pool2d_indices(x: &Tensor<T>, window: &Window2d) -> Vec<usize> {
        window::max_pool2d_indices(x, window)
    }

    fn layer_norm(
        x: &Tensor<T>,
        weight: Option<&Tensor<T>>,
        bias: Option<&Tensor<T>>,
        group: usize,
        eps: f64,
    ) -> Tensor<T> {
        layer_norm::layer_norm(x, weight, bias, group, eps)
    }

    fn layer_norm_backward(
        x: &Tensor<T>,
        g: &Tensor<T>,
        weight: Option<&Tensor<T>>,
        group: usize,
        eps: f64,
    ) -> Tensor<T> {
        layer_norm::layer_norm_backward(x, g, weight, group, eps)
    }

    fn layer_norm_weight_grad(x: &Tensor<T>, g: &Tensor<T>, group: usize, eps: f64) -> Tensor<T> {
        layer_norm::layer_norm_weight_grad(x, g, group, eps)
    }
}
