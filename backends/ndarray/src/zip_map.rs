//! [`Ops::zip_map`](ferrograd::backend::Ops::zip_map): an elementwise computation of
//! several inputs and outputs in one parallel pass (the optimizers' updates, which made a
//! pass and wrote a new tensor for each op).

use crate::parallel::{DisjointWrites, ELEMENTWISE_MIN, ELEMENTWISE_TASK};
use crate::simd::{best_variant, compiled_variants};
use crate::{elementwise, pool, standard, Elem, NdArray, Tensor};
use ferrograd::backend::zip_map_shape;
use rayon::prelude::*;

/// `f` at each index of `inputs`, its results as `O` tensors of the inputs' shape.
#[track_caller]
pub fn zip_map<T: Elem, const I: usize, const O: usize>(
    inputs: [&Tensor<T>; I],
    f: impl Fn([T; I]) -> [T; O] + Sync,
) -> [Tensor<T>; O] {
    let shape = zip_map_shape::<NdArray<T>, I>(&inputs);
    let inputs = inputs.map(standard);
    let from: [&[T]; I] = std::array::from_fn(|k| inputs[k].as_slice().expect("row-major"));
    let n = from[0].len();
    let mut outputs: [Vec<T>; O] = std::array::from_fn(|_| pool::take(n));
    let to = outputs.each_mut().map(DisjointWrites::spare_of);
    let run = |start: usize| {
        let end = (start + ELEMENTWISE_TASK).min(n);
        // SAFETY: every input holds `n` elements, every output has room for `n`, and each
        // task writes only its own range `start..end` of the outputs.
        unsafe { zip_best(&from, &to, start..end, &f) };
    };
    if n < ELEMENTWISE_MIN {
        (0..n).step_by(ELEMENTWISE_TASK).for_each(run);
    } else {
        (0..n)
            .into_par_iter()
            .step_by(ELEMENTWISE_TASK)
            .for_each(run);
    }
    outputs.map(|mut data| {
        // SAFETY: the tasks above wrote all `n` elements.
        unsafe { data.set_len(n) };
        elementwise::from_vec(shape, data)
    })
}

/// [`zip_range`] compiled for the best instruction set the CPU has (see
/// [`simd`](crate::simd)): the same operations in the same order, so the same bits.
///
/// # Safety
/// As for [`zip_range`].
unsafe fn zip_best<T: Elem, const I: usize, const O: usize>(
    from: &[&[T]; I],
    to: &[DisjointWrites<T>; O],
    range: std::ops::Range<usize>,
    f: &impl Fn([T; I]) -> [T; O],
) {
    best_variant!(x86::zip_range_avx512, x86::zip_range_avx2, zip_range; from, to, range, f)
}

compiled_variants! {
    fn zip_range => zip_range_avx512, zip_range_avx2
        <T: Elem; const I: usize; const O: usize> (
            from: &[&[T]; I],
            to: &[DisjointWrites<T>; O],
            range: std::ops::Range<usize>,
            f: &impl Fn([T; I]) -> [T; O],
        );
}

/// Bytes per output per block of [`zip_range`]. Measured on Adam's step over W1L's
/// parameters: 512-byte blocks were 25% slower, and in the baseline build 256-byte ones
/// spent a third of the time in calls to `memmove`, where 128-byte copies are a few
/// vector moves.
const BLOCK_BYTES: usize = 128;

/// # Safety
/// Every input holds the elements of `range`, every output has room for them, and no
/// other task writes that range of the outputs.
#[inline(always)]
unsafe fn zip_range<T: Elem, const I: usize, const O: usize>(
    from: &[&[T]; I],
    to: &[DisjointWrites<T>; O],
    range: std::ops::Range<usize>,
    f: &impl Fn([T; I]) -> [T; O],
) {
    // Each block's results go to arrays on the stack, then are copied out: written in
    // place, the compiler could not tell that the outputs do not overlap the inputs, and
    // with several of each it gave up vectorising the loop (Adam's step took 2.7 times as
    // long).
    let block = BLOCK_BYTES / std::mem::size_of::<T>();
    // Sized for the smallest element, `f32`.
    let mut y = [[T::zero(); BLOCK_BYTES / 4]; O];
    for start in range.clone().step_by(block) {
        let len = block.min(range.end - start);
        let x: [*const T; I] = std::array::from_fn(|k| from[k][start..start + len].as_ptr());
        // Whole blocks get their own copy of the code with the length a constant.
        if len == block {
            zip_block(x, to, start, block, &mut y, f);
        } else {
            zip_block(x, to, start, len, &mut y, f);
        }
    }
}

/// `f` over the `len` elements from `start` (at `x` in the inputs), through `y`.
///
/// # Safety
/// As for [`zip_range`], for the elements `start..start + len`; `len` fits `y`.
#[inline(always)]
unsafe fn zip_block<T: Elem, const I: usize, const O: usize, const B: usize>(
    x: [*const T; I],
    to: &[DisjointWrites<T>; O],
    start: usize,
    len: usize,
    y: &mut [[T; B]; O],
    f: &impl Fn([T; I]) -> [T; O],
) {
    for j in 0..len {
        let ys = f(x.map(|x| *x.add(j)));
        for (y, value) in y.iter_mut().zip(ys) {
            y[j] = value;
        }
    }
    for (y, to) in y.iter().zip(to) {
        std::ptr::copy_nonoverlapping(y.as_ptr(), to.ptr().add(start), len);
    }
}

#[cfg(test)]
mod tests {
    use crate::NdArray;
    use ferrograd::backend::{Ops, TensorOps};

    type B = NdArray<f32>;

    /// Every length around the block and task sizes, with one input transposed (a strided
    /// view), against the same arithmetic on the inputs' elements in row-major order.
    #[test]
    fn strided_inputs_and_every_tail_length() {
        for cols in [1, 7, 16, 17, 500, 8_193, 50_002] {
            let (rows, n) = (2, 2 * cols);
            let a_data: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b_data: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos() + 2.0).collect();
            let a = B::from_vec(a_data.clone(), &[rows, cols]).unwrap();
            let b = B::permute(
                &B::from_vec(b_data.clone(), &[cols, rows]).unwrap(),
                &[1, 0],
            );
            let [sum, quotient] = B::zip_map([&a, &b], |[x, y]| [x + y, x / y]);
            assert_eq!(B::shape(&sum), &[rows, cols]);
            assert_eq!(B::shape(&quotient), &[rows, cols]);
            let (sum, quotient) = (B::to_vec(&sum), B::to_vec(&quotient));
            for i in 0..n {
                let (r, c) = (i / cols, i % cols);
                let (x, y) = (a_data[i], b_data[c * rows + r]);
                assert_eq!(sum[i].to_bits(), (x + y).to_bits(), "n {n}, element {i}");
                assert_eq!(
                    quotient[i].to_bits(),
                    (x / y).to_bits(),
                    "n {n}, element {i}"
                );
            }
        }
    }

    #[test]
    fn empty_inputs_give_empty_outputs_of_their_shape() {
        let x = B::from_vec(vec![], &[0, 3]).unwrap();
        let [y] = B::zip_map([&x], |[v]| [v * 2.0]);
        assert_eq!(B::shape(&y), &[0, 3]);
    }

    #[test]
    #[should_panic(expected = "zip_map: the inputs' shapes [2, 3] and [3, 2] differ")]
    fn inputs_of_different_shapes_panic() {
        let x = B::from_vec(vec![0.0; 6], &[2, 3]).unwrap();
        let y = B::from_vec(vec![0.0; 6], &[3, 2]).unwrap();
        let _ = B::zip_map([&x, &y], |[a, b]| [a + b]);
    }
}
