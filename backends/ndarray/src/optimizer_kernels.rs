//! Optimizer updates in one pass over their tensors, the same arithmetic as the backend
//! trait's defaults (written as separate ops) to the bit.

use crate::parallel::{DisjointWrites, ELEMENTWISE_MIN, ELEMENTWISE_TASK};
use crate::{elementwise, pool, standard, Elem, Tensor};
use ferrograd::backend::{AdamConstants, AdamMoments, BinaryOp};
use rayon::prelude::*;

/// [`Ops::adam_update`](ferrograd::backend::Ops::adam_update) in one pass: Adam made a
/// dozen passes over each parameter, each writing a new tensor.
pub fn adam_update<T: Elem>(
    param: &Tensor<T>,
    grad: &Tensor<T>,
    moments: AdamMoments<&Tensor<T>>,
    c: AdamConstants<T>,
) -> (Tensor<T>, AdamMoments<Tensor<T>>) {
    let shape = param.shape();
    let inputs = [grad, moments.mean, moments.square];
    for x in inputs.iter().chain(&moments.max_square) {
        assert_eq!(x.shape(), shape, "adam_update: shapes differ");
    }
    let (p, g, m, v) = (
        standard(param),
        standard(grad),
        standard(moments.mean),
        standard(moments.square),
    );
    let max = moments.max_square.map(standard);
    fn slice<T: Elem>(x: &Tensor<T>) -> &[T] {
        x.as_slice().expect("row-major")
    }
    let from = Inputs {
        p: slice(&p),
        g: slice(&g),
        m: slice(&m),
        v: slice(&v),
        max: max.as_deref().map(slice),
    };
    let n = param.len();
    let mut outs: Vec<Vec<T>> = (0..3 + usize::from(max.is_some()))
        .map(|_| pool::take(n))
        .collect();
    let to: Vec<DisjointWrites<T>> = outs.iter_mut().map(DisjointWrites::spare_of).collect();
    let run = |start: usize| {
        let end = (start + ELEMENTWISE_TASK).min(n);
        // SAFETY: every output has room for `n` elements, and each task writes only its
        // own range `start..end` of them.
        unsafe { adam_range(&from, &to, start..end, c) };
    };
    if n < ELEMENTWISE_MIN {
        (0..n).step_by(ELEMENTWISE_TASK).for_each(run);
    } else {
        (0..n)
            .into_par_iter()
            .step_by(ELEMENTWISE_TASK)
            .for_each(run);
    }
    let mut tensors = outs.into_iter().map(|mut data| {
        // SAFETY: the tasks above wrote all `n` elements.
        unsafe { data.set_len(n) };
        elementwise::from_vec(shape, data)
    });
    let mut next = || tensors.next().expect("one output per tensor");
    let (param, mean, square) = (next(), next(), next());
    let max_square = max.is_some().then(next);
    (
        param,
        AdamMoments {
            mean,
            square,
            max_square,
        },
    )
}

/// Row-major inputs of [`adam_update`], all of one length.
struct Inputs<'a, T> {
    p: &'a [T],
    g: &'a [T],
    m: &'a [T],
    v: &'a [T],
    max: Option<&'a [T]>,
}

/// # Safety
/// Every output has room for the elements of `range`, and no other task writes that range
/// of them.
unsafe fn adam_range<T: Elem>(
    from: &Inputs<'_, T>,
    to: &[DisjointWrites<T>],
    range: std::ops::Range<usize>,
    c: AdamConstants<T>,
) {
    // Every slice cut to the range's length, and the output pointers read once, so that
    // the loop has no bounds checks or reloads left and vectorises.
    let n = range.len();
    let (p, g) = (&from.p[range.clone()], &from.g[range.clone()][..n]);
    let (m, v) = (&from.m[range.clone()][..n], &from.v[range.clone()][..n]);
    let max = from
        .max
        .map(|x| (&x[range.clone()][..n], to[3].ptr().add(range.start)));
    let [param_to, mean_to, square_to] = [0, 1, 2].map(|k| to[k].ptr().add(range.start));
    for i in 0..n {
        // The trait default's ops, one by one (see `Ops::adam_update`).
        let mean = m[i] + (g[i] - m[i]) * c.mean_rate;
        let square = v[i] * c.beta2 + (g[i] * g[i]) * c.square_rate;
        let second = match max {
            Some((max, max_to)) => {
                let max = BinaryOp::Maximum.apply(max[i], square);
                *max_to.add(i) = max;
                max
            }
            None => square,
        };
        let denom = second.sqrt() / c.bias_correction2_sqrt + c.eps;
        *param_to.add(i) = p[i] - (mean / denom) * c.step_size;
        *mean_to.add(i) = mean;
        *square_to.add(i) = square;
    }
}
