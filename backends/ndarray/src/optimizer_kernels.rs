//! Optimizer updates in one pass over their tensors, the same arithmetic as the backend
//! trait's defaults (written as separate ops) to the bit.

use crate::parallel::{ELEMENTWISE_MIN, ELEMENTWISE_TASK};
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
    let slice = |x: &Tensor<T>| x.as_slice().expect("row-major").as_ptr();
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
    let to: Vec<Output<T>> = outs
        .iter_mut()
        .map(|o| Output(o.spare_capacity_mut().as_mut_ptr().cast::<T>()))
        .collect();
    let run = |start: usize| {
        let end = (start + ELEMENTWISE_TASK).min(n);
        // SAFETY: every input holds `n` elements and every output has room for `n`;
        // each task writes only its own range `start..end` of the outputs.
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

/// Row-major inputs of [`adam_update`].
struct Inputs<T> {
    p: *const T,
    g: *const T,
    m: *const T,
    v: *const T,
    max: Option<*const T>,
}

// SAFETY: the inputs are only read, and outlive the tasks that read them.
unsafe impl<T: Sync> Sync for Inputs<T> {}

/// An output buffer that tasks write in disjoint ranges.
struct Output<T>(*mut T);

// SAFETY: each task writes only its own range of elements.
unsafe impl<T: Send> Sync for Output<T> {}

/// # Safety
/// Every input holds, and every output has room for, the elements of `range`; no other
/// task writes that range of the outputs.
unsafe fn adam_range<T: Elem>(
    from: &Inputs<T>,
    to: &[Output<T>],
    range: std::ops::Range<usize>,
    c: AdamConstants<T>,
) {
    for i in range {
        let (p, g, m, v) = (
            *from.p.add(i),
            *from.g.add(i),
            *from.m.add(i),
            *from.v.add(i),
        );
        // The trait default's ops, one by one (see `Ops::adam_update`).
        let mean = m + (g - m) * c.mean_rate;
        let square = v * c.beta2 + (g * g) * c.square_rate;
        let second = match from.max {
            Some(max) => {
                let max = BinaryOp::Maximum.apply(*max.add(i), square);
                *to[3].0.add(i) = max;
                max
            }
            None => square,
        };
        let denom = second.sqrt() / c.bias_correction2_sqrt + c.eps;
        *to[0].0.add(i) = p - (mean / denom) * c.step_size;
        *to[1].0.add(i) = mean;
        *to[2].0.add(i) = square;
    }
}
