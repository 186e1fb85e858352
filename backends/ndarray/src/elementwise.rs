//! Elementwise kernels: unary maps and broadcasting binary maps.

use crate::parallel;
use crate::{pool, standard, Elem, Tensor};
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

/// `a + scale · b` in one pass (an optimizer's update: W1's SGD step made two passes over
/// its 235,000 parameters, one to scale the gradient and one to subtract it).
pub fn add_scaled<T: Elem>(a: &Tensor<T>, b: &Tensor<T>, scale: T) -> Tensor<T> {
    assert_eq!(a.shape(), b.shape(), "add_scaled: shapes differ");
    zip_with(a, b, move |x, y| x + scale * y)
}

fn zip_with<T: Elem, F>(a: &Tensor<T>, b: &Tensor<T>, f: F) -> Tensor<T>
where
    F: Fn(T, T) -> T + Send + Sync + Copy,
{
    // Same shapes: one flat vectorised loop over row-major data (operands in another
    // layout, such as a transposed gradient, are copied to row-major first: one pass, then
    // a fast loop, beats a strided loop over both).
    if a.shape() == b.shape() {
        let (a, b) = (standard(a), standard(b));
        let (xs, ys) = (
            a.as_slice().expect("row-major"),
            b.as_slice().expect("row-major"),
        );
        return from_vec(a.shape(), parallel::zip_map(xs, ys, f));
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
    // One operand repeated along leading dimensions (a bias added to every row): the
    // smaller one's data is a row of the larger's, so loop row by row.
    if let Some(out) = rows_with(a, b, f) {
        return out;
    }
    if let Some(out) = rows_with(b, a, move |y, x| f(x, y)) {
        return out;
    }
    // One operand constant over runs of the other's innermost elements (a per-channel
    // bias over images, a per-row statistic).
    if let Some(out) = runs_with(a, b, f) {
        return out;
    }
    if let Some(out) = runs_with(b, a, move |y, x| f(x, y)) {
        return out;
    }
    // General broadcasting.
    let shape = broadcast_shape(a.shape(), b.shape());
    let av = a.broadcast(IxDyn(&shape)).expect("shapes broadcast");
    let bv = b.broadcast(IxDyn(&shape)).expect("shapes broadcast");
    let n = shape.iter().product();
    let mut data = pool::take(n);
    data.resize(n, T::zero());
    let mut out = ArrayD::from_shape_vec(IxDyn(&shape), data).expect("sizes agree");
    Zip::from(&mut out)
        .and(&av)
        .and(&bv)
        .for_each(|o, &x, &y| *o = f(x, y));
    out.into()
}

/// `f(big, small)` when `small` (broadcast to `big`'s shape) is constant over runs of at
/// least 8 consecutive elements of a row-major `big`: `small`'s last dimensions of size
/// above 1 end before `big`'s innermost ones. Each run then meets one value of `small`.
fn runs_with<T: Elem, F>(big: &Tensor<T>, small: &Tensor<T>, f: F) -> Option<Tensor<T>>
where
    F: Fn(T, T) -> T + Send + Sync + Copy,
{
    let bs = big.shape();
    if small.ndim() > bs.len() || small.len() >= big.len() {
        return None;
    }
    let mut ss = vec![1; bs.len() - small.ndim()];
    ss.extend_from_slice(small.shape());
    let last = ss.iter().rposition(|&d| d != 1)?;
    let inner: usize = bs[last + 1..].iter().product();
    if inner < 8 {
        return None;
    }
    let xs = big.as_slice()?;
    // `small`'s value for each run: it broadcast to big's outer dimensions.
    let outer_shape = &bs[..=last];
    let small_view = small
        .view()
        .into_shape_with_order(IxDyn(&ss[..=last]))
        .ok()?
        .broadcast(IxDyn(outer_shape))?
        .iter()
        .copied()
        .collect::<Vec<T>>();
    let data = parallel::zip_runs(xs, &small_view, inner, f);
    Some(from_vec(bs, data))
}

/// `f(big, small)` when `small`'s shape is the trailing part of `big`'s (after dropping
/// leading ones) and both are row-major: `small` repeats for every row of `big`.
fn rows_with<T: Elem, F>(big: &Tensor<T>, small: &Tensor<T>, f: F) -> Option<Tensor<T>>
where
    F: Fn(T, T) -> T + Send + Sync + Copy,
{
    let trimmed: &[usize] = {
        let s = small.shape();
        let lead = s.iter().take_while(|&&d| d == 1).count();
        &s[lead..]
    };
    let bs = big.shape();
    if trimmed.is_empty()
        || trimmed.len() > bs.len()
        || bs[bs.len() - trimmed.len()..] != *trimmed
        || small.ndim() > big.ndim()
    {
        return None;
    }
    let (xs, ys) = (big.as_slice()?, small.as_slice()?);
    let width = ys.len();
    let data = parallel::zip_rows(xs, ys, width, f);
    Some(from_vec(bs, data))
}

fn broadcast_shape(a: &[usize], b: &[usize]) -> Vec<usize> {
    ferrograd::shape::broadcast_shapes(a, b).expect("shapes checked by the core")
}

/// A tensor from row-major data of the given shape.
pub fn from_vec<T: Elem>(shape: &[usize], data: Vec<T>) -> Tensor<T> {
    ndarray::ArcArray::from_shape_vec(IxDyn(shape), data)
        .expect("data matches the shape")
        .into()
}
