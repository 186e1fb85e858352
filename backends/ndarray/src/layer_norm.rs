//! [`TensorOps::layer_norm`](ferrograd::backend::TensorOps::layer_norm) and its backward:
//! the groups in parallel, each normalised by the core's row functions (so the bits are
//! the default implementation's), compiled for the widest vectors the CPU has.

use crate::parallel::{ELEMENTWISE_MIN, ELEMENTWISE_TASK};
use crate::simd::{best_variant, compiled_variants};
use crate::{elementwise, pool, standard, Elem, Tensor};
use ferrograd::backend::{
    layer_norm_backward_row, layer_norm_piece_len, layer_norm_row,
    layer_norm_weight_grad_of_pieces, layer_norm_weight_grad_piece, Affine,
};
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Each group of `group` consecutive elements of `x`, normalised, times `weight` plus
/// `bias`.
pub fn layer_norm<T: Elem>(
    x: &Tensor<T>,
    weight: Option<&Tensor<T>>,
    bias: Option<&Tensor<T>>,
    group: usize,
    eps: f64,
) -> Tensor<T> {
    let x = standard(x);
    let from = x.as_slice().expect("row-major");
    let (weight, bias) = (weight.map(standard), bias.map(standard));
    let affine = Affine {
        weight: weight.as_ref().map(|w| w.as_slice().expect("row-major")),
        bias: bias.as_ref().map(|b| b.as_slice().expect("row-major")),
    };
    let out = by_groups(from.len(), group, |start, to| {
        forward_best(&from[start..start + to.len()], affine, group, eps, to)
    });
    elementwise::from_vec(x.shape(), out)
}

/// The gradient with respect to `x` of `Σ g · layer_norm(x, weight, bias)`, group by group.
pub fn layer_norm_backward<T: Elem>(
    x: &Tensor<T>,
    g: &Tensor<T>,
    weight: Option<&Tensor<T>>,
    group: usize,
    eps: f64,
) -> Tensor<T> {
    let weight = weight.map(standard);
    let weight = weight.as_ref().map(|w| w.as_slice().expect("row-major"));
    let out = with_gradient(x, g, |from, grads| {
        by_groups(from.len(), group, |start, to| {
            let range = start..start + to.len();
            let (x, g) = (&from[range.clone()], &grads[range]);
            backward_best(x, g, weight, group, eps, to)
        })
    });
    elementwise::from_vec(x.shape(), out)
}

/// `Σ g · ŷ` over the groups: the weight's gradient, pieces in parallel, their sums added
/// in order.
pub fn layer_norm_weight_grad<T: Elem>(
    x: &Tensor<T>,
    g: &Tensor<T>,
    group: usize,
    eps: f64,
) -> Tensor<T> {
    let sums = with_gradient(x, g, |from, grads| {
        if group == 0 {
            return Vec::new();
        }
        let piece = layer_norm_piece_len(group);
        let sum_piece = |(x, g): (&[T], &[T])| {
            let mut sum = vec![T::zero(); group];
            weight_grad_best(x, g, group, eps, &mut sum);
            sum
        };
        if from.len() < ELEMENTWISE_MIN {
            from.chunks(piece)
                .zip(grads.chunks(piece))
                .map(sum_piece)
                .collect()
        } else {
            from.par_chunks(piece)
                .zip(grads.par_chunks(piece))
                .map(sum_piece)
                .collect::<Vec<_>>()
        }
    });
    elementwise::from_vec(&[group], layer_norm_weight_grad_of_pieces(sums, group))
}

/// `f` on the row-major elements of `x` and of its gradient `g`.
///
/// # Panics
/// If `g` has not as many elements as `x`.
fn with_gradient<T: Elem, R>(x: &Tensor<T>, g: &Tensor<T>, f: impl FnOnce(&[T], &[T]) -> R) -> R {
    let (x, g) = (standard(x), standard(g));
    let (from, grads) = (
        x.as_slice().expect("row-major"),
        g.as_slice().expect("row-major"),
    );
    assert_eq!(from.len(), grads.len(), "layer_norm: gradient size");
    f(from, grads)
}

/// A buffer of `len` elements from the pool, written by `work(start, out)` for runs of
/// whole groups from `start`: in parallel tasks of about [`ELEMENTWISE_TASK`] elements when
/// there are enough.
fn by_groups<T: Elem>(
    len: usize,
    group: usize,
    work: impl Fn(usize, &mut [MaybeUninit<T>]) + Sync,
) -> Vec<T> {
    // A group of 0 elements divides only an empty tensor.
    assert!(
        len.is_multiple_of(group),
        "{len} elements do not make groups of {group}"
    );
    let mut out = pool::take(len);
    let to = &mut out.spare_capacity_mut()[..len];
    if len > 0 {
        let task = group * (ELEMENTWISE_TASK / group).max(1);
        if len < ELEMENTWISE_MIN {
            work(0, to);
        } else {
            to.par_chunks_mut(task)
                .enumerate()
                .for_each(|(i, to)| work(i * task, to));
        }
    }
    // SAFETY: the tasks cover all `len` elements, and the row functions write every
    // element of their groups.
    unsafe { out.set_len(len) };
    out
}

/// [`forward`] compiled for the best instruction set the CPU has (see [`crate::simd`]).
fn forward_best<T: Elem>(
    x: &[T],
    affine: Affine<'_, T>,
    group: usize,
    eps: f64,
    y: &mut [MaybeUninit<T>],
) {
    best_variant!(x86::forward_avx512, x86::forward_avx2, forward; x, affine, group, eps, y)
}

/// [`backward`] compiled for the best instruction set the CPU has.
fn backward_best<T: Elem>(
    x: &[T],
    g: &[T],
    weight: Option<&[T]>,
    group: usize,
    eps: f64,
    dx: &mut [MaybeUninit<T>],
) {
    best_variant!(x86::backward_avx512, x86::backward_avx2, backward; x, g, weight, group, eps, dx)
}

/// [`weight_grad`] compiled for the best instruction set the CPU has.
fn weight_grad_best<T: Elem>(x: &[T], g: &[T], group: usize, eps: f64, sum: &mut [T]) {
    best_variant!(x86::weight_grad_avx512, x86::weight_grad_avx2, weight_grad; x, g, group, eps, sum)
}

#[inline(always)]
fn weight_grad<T: Elem>(x: &[T], g: &[T], group: usize, eps: f64, sum: &mut [T]) {
    layer_norm_weight_grad_piece(x, g, group, eps, sum);
}

#[inline(always)]
fn forward<T: Elem>(
    x: &[T],
    affine: Affine<'_, T>,
    group: usize,
    eps: f64,
    y: &mut [MaybeUninit<T>],
) {
    for (x, y) in x.chunks(group).zip(y.chunks_mut(group)) {
        layer_norm_row(x, affine, eps, y);
    }
}

#[inline(always)]
fn backward<T: Elem>(
    x: &[T],
    g: &[T],
    weight: Option<&[T]>,
    group: usize,
    eps: f64,
    dx: &mut [MaybeUninit<T>],
) {
    let groups = x.chunks(group).zip(g.chunks(group));
    for ((x, g), dx) in groups.zip(dx.chunks_mut(group)) {
        layer_norm_backward_row(x, g, weight, eps, dx);
    }
}

compiled_variants! {
    fn weight_grad => weight_grad_avx512, weight_grad_avx2
        <T: Elem> (x: &[T], g: &[T], group: usize, eps: f64, sum: &mut [T]);
    fn forward => forward_avx512, forward_avx2
        <T: Elem> (x: &[T], affine: Affine<'_, T>, group: usize, eps: f64, y: &mut [MaybeUninit<T>]);
    fn backward => backward_avx512, backward_avx2
        <T: Elem> (
            x: &[T],
            g: &[T],
            weight: Option<&[T]>,
            group: usize,
            eps: f64,
            dx: &mut [MaybeUninit<T>],
        );
}

#[cfg(test)]
mod tests {
    use crate::NdArray;
    use ferrograd::backend::{
        layer_norm_backward_of_slice, layer_norm_of_slice, layer_norm_weight_grad_of_slice, Affine,
        Ops, TensorOps,
    };

    fn values(n: usize, seed: f32) -> Vec<f32> {
        (0..n)
            .map(|i| ((i as f32 + seed) * 0.37).sin() * 3.0 + 0.5)
            .collect()
    }

    /// Parallel groups (over the parallel threshold) give the bits of the defaults (the
    /// groups one after another), with and without the affine step, on a transposed view
    /// too.
    #[test]
    fn the_bits_of_the_rows_one_by_one() {
        let (rows, group) = (300, 333);
        let n = rows * group;
        let data = values(n, 1.0);
        let x = NdArray::<f32>::from_vec(data.clone(), &[rows, group]).unwrap();
        let g = NdArray::<f32>::from_vec(values(n, 2.0), &[rows, group]).unwrap();
        let (w, b) = (values(group, 3.0), values(group, 4.0));
        let (wt, bt) = (
            NdArray::<f32>::from_vec(w.clone(), &[group]).unwrap(),
            NdArray::<f32>::from_vec(b.clone(), &[group]).unwrap(),
        );
        let grads = NdArray::<f32>::to_vec(&g);
        let bits = |v: Vec<f32>| v.into_iter().map(f32::to_bits).collect::<Vec<_>>();
        for (weight, bias) in [(None, None), (Some(&wt), Some(&bt)), (Some(&wt), None)] {
            let affine = Affine {
                weight: weight.map(|_| w.as_slice()),
                bias: bias.map(|_| b.as_slice()),
            };
            let got = NdArray::<f32>::layer_norm(&x, weight, bias, group, 1e-5);
            let want = layer_norm_of_slice(&data, affine, group, 1e-5);
            assert_eq!(bits(NdArray::<f32>::to_vec(&got)), bits(want), "forward");
            let got = NdArray::<f32>::layer_norm_backward(&x, &g, weight, group, 1e-5);
            let want = layer_norm_backward_of_slice(&data, &grads, affine.weight, group, 1e-5);
            assert_eq!(bits(NdArray::<f32>::to_vec(&got)), bits(want), "backward");
        }
        let got = NdArray::<f32>::layer_norm_weight_grad(&x, &g, group, 1e-5);
        let want = layer_norm_weight_grad_of_slice(&data, &grads, group, 1e-5);
        assert_eq!(
            bits(NdArray::<f32>::to_vec(&got)),
            bits(want),
            "weight gradient"
        );
        // A transposed view is read in row-major order.
        let t = NdArray::<f32>::permute(
            &NdArray::<f32>::from_vec(data.clone(), &[group, rows]).unwrap(),
            &[1, 0],
        );
        let transposed = NdArray::<f32>::to_vec(&t);
        let got = NdArray::<f32>::layer_norm(&t, None, None, group, 1e-5);
        let want = layer_norm_of_slice(&transposed, Affine::default(), group, 1e-5);
        assert_eq!(
            bits(NdArray::<f32>::to_vec(&got)),
            bits(want),
            "a transposed view"
        );
    }
    #[test]
    fn empty_inputs_give_empty_outputs() {
        let x = NdArray::<f32>::from_vec(Vec::new(), &[0, 4]).unwrap();
        assert_eq!(
            NdArray::<f32>::shape(&NdArray::<f32>::layer_norm(&x, None, None, 4, 1e-5)),
            [0, 4]
        );
        let x = NdArray::<f32>::from_vec(Vec::new(), &[3, 0]).unwrap();
        let y = NdArray::<f32>::layer_norm_backward(&x, &x, None, 0, 1e-5);
        assert_eq!(NdArray::<f32>::shape(&y), [3, 0]);
    }
}
