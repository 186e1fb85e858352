//! Elementwise kernels: unary maps and broadcasting binary maps.

use crate::parallel;
use crate::{standard, Elem, Tensor};
use ferrograd::backend::{BinaryOp, UnaryOp};
use ndarray::{ArrayD, IxDyn, Zip};

/// Applies `op` to every element. Each op gets its own loop (the match is outside), so the
/// simple ones vectorise.
pub fn unary<T: Elem>(op: UnaryOp<T>, x: &Tensor<T>) -> Tensor<T> {
    let x = standard(x);
    let src = x.as_slice().expect("standard layout");
    let data = match op {
        UnaryOp::Neg => parallel::map(src, |v| -v),
        UnaryOp::Exp => parallel::map(src, T::fast_exp),
        UnaryOp::Tanh => parallel::map(src, T::fast_tanh),
        UnaryOp::Sigmoid => parallel::map(src, T::fast_sigmoid),
        UnaryOp::Relu => parallel::map(src, |v| if v > T::zero() { v } else { T::zero() }),
        UnaryOp::Square => parallel::map(src, |v| v * v),
        UnaryOp::Abs => parallel::map(src, T::abs),
        op => parallel::map(src, move |v| op.apply(v)),
    };
    from_vec(x.shape(), data)
}

/// Applies `op` elementwise with broadcasting (shapes already checked to broadcast).
pub fn binary<T: Elem>(op: BinaryOp, a: &Tensor<T>, b: &Tensor<T>) -> Tensor<T> {
    match op {
        BinaryOp::Add => zip_with(a, b, |x, y| x + y),
        BinaryOp::Sub => zip_with(a, b, |x, y| x - y),
        BinaryOp::Mul => zip_with(a, b, |x, y| x * y),
        BinaryOp::Div => zip_with(a, b, |x, y| x / y),
        BinaryOp::TanhBackward => zip_with(a, b, |g, y| g * (T::one() - y * y)),
        BinaryOp::SigmoidBackward => zip_with(a, b, |g, y| g * ((T::one() - y) * y)),
        BinaryOp::ReluBackward => zip_with(a, b, |g, x| if x > T::zero() { g } else { T::zero() }),
        op => zip_with(a, b, move |x, y| op.apply(x, y)),
    }
}

fn zip_with<T: Elem, F>(a: &Tensor<T>, b: &Tensor<T>, f: F) -> Tensor<T>
where
    F: Fn(T, T) -> T + Send + Sync + Copy,
{
    // Same shapes, both laid out row-major: one flat loop.
    if a.shape() == b.shape() {
        if let (Some(xs), Some(ys)) = (a.as_slice(), b.as_slice()) {
            return from_vec(a.shape(), parallel::zip_map(xs, ys, f));
        }
    }
    // A single-element operand: a map with a constant.
    if b.len() == 1 && b.ndim() <= a.ndim() {
        let y = *b.iter().next().expect("one element");
        let a = standard(a);
        let out = parallel::map(a.as_slice().expect("standard layout"), move |x| f(x, y));
        return from_vec(&broadcast_shape(a.shape(), b.shape()), out);
    }
    if a.len() == 1 && a.ndim() <= b.ndim() {
        let x = *a.iter().next().expect("one element");
        let b = standard(b);
        let out = parallel::map(b.as_slice().expect("standard layout"), move |y| f(x, y));
        return from_vec(&broadcast_shape(a.shape(), b.shape()), out);
    }
    // General broadcasting.
    let shape = broadcast_shape(a.shape(), b.shape());
    let av = a.broadcast(IxDyn(&shape)).expect("shapes broadcast");
    let bv = b.broadcast(IxDyn(&shape)).expect("shapes broadcast");
    Zip::from(&av).and(&bv).map_collect(|&x, &y| f(x, y)).into()
}

fn broadcast_shape(a: &[usize], b: &[usize]) -> Vec<usize> {
    ferrograd::shape::broadcast_shapes(a, b).expect("shapes checked by the core")
}

/// A tensor from row-major data of the given shape.
pub fn from_vec<T: Elem>(shape: &[usize], data: Vec<T>) -> Tensor<T> {
    ArrayD::from_shape_vec(IxDyn(shape), data)
        .expect("data matches the shape")
        .into()
}
