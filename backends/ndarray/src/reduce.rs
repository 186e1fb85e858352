//! Reductions: along axes, down to a broadcast shape, and arg-max/arg-min.
//!
//! Every reduction first brings the reduced axes last and contiguous, then reduces each
//! row with a fixed association (see `parallel::sum_serial`), so results do not depend on
//! memory layout or thread count.

use crate::elementwise::from_vec;
use crate::simd::{best_variant, compiled_variants};
use crate::{parallel, pool};
use crate::{standard, Elem, Tensor};
use ferrograd::backend::ReduceOp;
use rayon::prelude::*;

/// Reduces along `axes` (sorted, distinct).
pub fn reduce<T: Elem>(op: ReduceOp, x: &Tensor<T>, axes: &[usize], keepdim: bool) -> Tensor<T> {
    let shape = x.shape().to_vec();
    let out_shape: Vec<usize> = shape
        .iter()
        .enumerate()
        .filter_map(|(i, &d)| {
            if axes.contains(&i) {
                keepdim.then_some(1)
            } else {
                Some(d)
            }
        })
        .collect();
    let trailing = axes
        .iter()
        .enumerate()
        .all(|(i, &a)| a == shape.len() - axes.len() + i);
    if let (Some(src), false) = (x.as_slice(), trailing) {
        // A row-major tensor reduced over axes that are not its last ones (one inner axis,
        // or a convolution's bias gradient over batch, height and width): reduce each run
        // of adjacent axes in place, last run first, instead of copying the tensor into a
        // transposed order.
        return from_vec(&out_shape, reduce_runs(op, src, &shape, axes));
    }
    let row_len: usize = axes.iter().map(|&a| shape[a]).product();
    let rows = rows_last(x, axes);
    let src = rows.as_slice().expect("standard layout");
    let out_len: usize = out_shape.iter().product();
    let data = if row_len == 0 {
        // Reducing an empty dimension: the sum of nothing (max and min are refused by the
        // core before they get here).
        vec![T::zero(); out_len]
    } else {
        reduce_rows(op, src, row_len)
    };
    from_vec(&out_shape, data)
}

/// Sums `x` down to `shape`, which broadcasts to `x`'s shape.
pub fn sum_to<T: Elem>(x: &Tensor<T>, shape: &[usize]) -> Tensor<T> {
    let full = x.shape();
    let lead = full.len() - shape.len();
    let axes: Vec<usize> = (0..full.len())
        .filter(|&i| i < lead || (shape[i - lead] == 1 && full[i] != 1))
        .collect();
    if axes.is_empty() {
        return crate::layout::reshape(x, shape);
    }
    // A leading-axis sum over a row-major tensor (a bias gradient) adds whole rows, in
    // order: no transposing copy needed.
    if let (Some(src), true) = (x.as_slice(), axes.iter().enumerate().all(|(i, &a)| i == a)) {
        let width: usize = full[axes.len()..].iter().product();
        if width == 1 {
            // Everything into one number: the parallel sum with fixed pieces.
            return from_vec(shape, vec![parallel::sum(src, T::zero())]);
        }
        if width > 0 && full[axes.len()..] == shape[shape.len() - (full.len() - axes.len())..] {
            return from_vec(shape, sum_leading_rows(src, width));
        }
    }
    let reduced = reduce(ReduceOp::Sum, x, &axes, false);
    crate::layout::reshape(&reduced, shape)
}

/// Columns summed together in registers by [`column_sums`], and per task when the columns
/// are shared out.
const COLUMN_BLOCK: usize = 64;

/// Column sums of a row-major `[rows, width]` buffer.
fn sum_leading_rows<T: Elem>(src: &[T], width: usize) -> Vec<T> {
    let mut out = vec![T::zero(); width];
    if src.len() < parallel::REDUCTION_MIN || width < COLUMN_BLOCK {
        column_sums(src, width, 0, &mut out);
    } else {
        // Columns are independent: split them; each column still adds its rows in order.
        out.par_chunks_mut(COLUMN_BLOCK)
            .enumerate()
            .for_each(|(i, piece)| column_sums(src, width, i * COLUMN_BLOCK, piece));
    }
    out
}

/// `out[j] = 0 + src[0][offset + j] + src[1][offset + j] + …` over the rows of `src` (each
/// `width` long), in order of the rows.
fn column_sums<T: Elem>(src: &[T], width: usize, offset: usize, out: &mut [T]) {
    best_variant!(
        x86::column_sums_avx512,
        x86::column_sums_avx2,
        column_sums_plain;
        src, width, offset, out
    )
}

/// [`column_sums`], a block of [`COLUMN_BLOCK`] columns at a time. The block's sums stay in
/// a fixed-size array indexed by constants, which the compiler keeps in vector registers
/// while the rows pass. Written over `out` directly, each row cost a load and a store of
/// every sum, in 128-bit adds: the layer-norm bench's bias gradient (`[512, 1024]` summed
/// over its rows) took 8-12% of the step's samples under `perf` on the Zen 5 of
/// BENCHMARKS.md, 7% now; what remains is reading the rows from memory.
#[inline(always)]
fn column_sums_plain<T: Elem>(src: &[T], width: usize, offset: usize, out: &mut [T]) {
    let out_len = out.len();
    let whole = out_len / COLUMN_BLOCK * COLUMN_BLOCK;
    let (blocks, tail) = out.split_at_mut(whole);
    for (b, block) in blocks.chunks_exact_mut(COLUMN_BLOCK).enumerate() {
        let start = offset + b * COLUMN_BLOCK;
        let mut sums = [T::zero(); COLUMN_BLOCK];
        for row in src.chunks_exact(width) {
            let row: &[T; COLUMN_BLOCK] = row[start..start + COLUMN_BLOCK]
                .try_into()
                .expect("a whole block");
            for l in 0..COLUMN_BLOCK {
                sums[l] = sums[l] + row[l];
            }
        }
        block.copy_from_slice(&sums);
    }
    let columns = offset + whole..offset + out_len;
    tail.fill(T::zero());
    for row in src.chunks_exact(width) {
        for (o, &x) in tail.iter_mut().zip(&row[columns.clone()]) {
            *o = *o + x;
        }
    }
}

compiled_variants! {
    fn column_sums_plain => column_sums_avx512, column_sums_avx2
        <T: Elem> (src: &[T], width: usize, offset: usize, out: &mut [T]);
}

/// For every position of the other axes, the index along `axis` of the extreme element.
/// NaN counts as the extreme (as PyTorch propagates it); ties go to the first.
pub fn arg_reduce<T: Elem>(op: ReduceOp, x: &Tensor<T>, axis: usize) -> Vec<usize> {
    if let Some(src) = x.as_slice() {
        if axis + 1 < x.ndim() {
            return reduce_middle(op, src, x.shape(), axis).1;
        }
    }
    let row_len = x.shape()[axis];
    let rows = rows_last(x, &[axis]);
    let src = rows.as_slice().expect("standard layout");
    let better = move |candidate: T, best: T| match op {
        ReduceOp::Max => candidate > best || (candidate.is_nan() && !best.is_nan()),
        ReduceOp::Min => candidate < best || (candidate.is_nan() && !best.is_nan()),
        ReduceOp::Sum => unreachable!("no arg-sum"),
    };
    src.chunks_exact(row_len.max(1))
        .map(|row| {
            let mut best = 0;
            for (i, &v) in row.iter().enumerate().skip(1) {
                if better(v, row[best]) {
                    best = i;
                }
            }
            best
        })
        .collect()
}

/// Reduces a row-major tensor along an axis that is not the last, as `[outer, len, inner]`:
/// for each `o`, the `len` rows of `inner` elements are combined row by row (vectorised
/// along `inner`), in order of the axis. Returns the values and, for max/min, the index
/// of the first extreme (NaN counts as the extreme, as elsewhere).
fn reduce_middle<T: Elem>(
    op: ReduceOp,
    src: &[T],
    shape: &[usize],
    axis: usize,
) -> (Vec<T>, Vec<usize>) {
    let outer: usize = shape[..axis].iter().product();
    let len = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let mut values = pool::take(outer * inner);
    let track = op != ReduceOp::Sum;
    let mut index = Vec::with_capacity(if track { outer * inner } else { 0 });
    let mut best = vec![T::zero(); inner];
    let mut best_index = vec![0u32; if track { inner } else { 0 }];
    for o in 0..outer {
        let block = &src[o * len * inner..(o + 1) * len * inner];
        let row = |j: usize| &block[j * inner..(j + 1) * inner];
        best.copy_from_slice(row(0));
        // Loops without branches or short-circuits, one per op, so that they vectorise.
        for j in 1..len {
            match op {
                ReduceOp::Sum => best.iter_mut().zip(row(j)).for_each(|(b, &v)| *b = *b + v),
                ReduceOp::Max => best.iter_mut().zip(row(j)).for_each(|(b, &v)| {
                    *b = if (v > *b) | (v.is_nan() & !b.is_nan()) {
                        v
                    } else {
                        *b
                    }
                }),
                ReduceOp::Min => best.iter_mut().zip(row(j)).for_each(|(b, &v)| {
                    *b = if (v < *b) | (v.is_nan() & !b.is_nan()) {
                        v
                    } else {
                        *b
                    }
                }),
            }
        }
        if track {
            // The first position holding the extreme: scan from the last row back.
            for j in (0..len).rev() {
                for ((bi, &b), &v) in best_index.iter_mut().zip(&best).zip(row(j)) {
                    *bi = if (v == b) | (v.is_nan() & b.is_nan()) {
                        j as u32
                    } else {
                        *bi
                    };
                }
            }
            index.extend(best_index.iter().map(|&j| j as usize));
        }
        values.extend_from_slice(&best);
    }
    (values, index)
}

/// Reduces a row-major buffer of `shape` along `axes` (sorted, distinct, at least one),
/// one run of adjacent axes at a time from the last: each run is the middle of an
/// `[outer, len, inner]` view. Returns the values, row-major over the remaining axes.
fn reduce_runs<T: Elem>(op: ReduceOp, src: &[T], shape: &[usize], axes: &[usize]) -> Vec<T> {
    let mut shape = shape.to_vec();
    let mut values: Option<Vec<T>> = None;
    let mut end = axes.len();
    while end > 0 {
        let mut start = end - 1;
        while start > 0 && axes[start - 1] + 1 == axes[start] {
            start -= 1;
        }
        let (first, last) = (axes[start], axes[end - 1]);
        let outer: usize = shape[..first].iter().product();
        let len: usize = shape[first..=last].iter().product();
        let inner: usize = shape[last + 1..].iter().product();
        let current = values.as_deref().unwrap_or(src);
        let reduced = if len == 0 {
            vec![T::zero(); outer * inner]
        } else if inner == 1 {
            reduce_rows(op, current, len)
        } else {
            reduce_middle(op, current, &[outer, len, inner], 1).0
        };
        if let Some(old) = values.replace(reduced) {
            pool::give(old);
        }
        shape.drain(first..=last);
        end = start;
    }
    values.expect("at least one axis")
}

/// `x` with `axes` moved last, row-major, so each reduction is over a contiguous row.
fn rows_last<T: Elem>(x: &Tensor<T>, axes: &[usize]) -> Tensor<T> {
    let rank = x.ndim();
    let mut order: Vec<usize> = (0..rank).filter(|a| !axes.contains(a)).collect();
    order.extend_from_slice(axes);
    if order.iter().enumerate().all(|(i, &a)| i == a) {
        standard(x).into_owned()
    } else {
        standard(&x.arc().permuted_axes(order).into()).into_owned()
    }
}

fn reduce_rows<T: Elem>(op: ReduceOp, src: &[T], row_len: usize) -> Vec<T> {
    let row =
        move |r: &[T]| -> T {
            match op {
                ReduceOp::Sum => parallel::sum_serial(r, T::zero()),
                ReduceOp::Max => r.iter().copied().fold(T::neg_infinity(), |a, b| {
                    if b > a || b.is_nan() {
                        b
                    } else {
                        a
                    }
                }),
                ReduceOp::Min => {
                    r.iter().copied().fold(
                        T::infinity(),
                        |a, b| {
                            if b < a || b.is_nan() {
                                b
                            } else {
                                a
                            }
                        },
                    )
                }
            }
        };
    let rows = src.len() / row_len;
    if rows == 1 && op == ReduceOp::Sum {
        // One long row: the parallel reduction with fixed pieces.
        return vec![parallel::sum(src, T::zero())];
    }
    if src.len() < parallel::REDUCTION_MIN || rows == 1 {
        src.chunks_exact(row_len).map(row).collect()
    } else {
        let mut out = Vec::with_capacity(rows);
        src.par_chunks_exact(row_len)
            .with_min_len((parallel::REDUCTION_CHUNK / row_len).max(1))
            .map(row)
            .collect_into_vec(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reduction of `[2, 3, 4, 5]` along `axes`, by brute force over every element.
    fn brute_force(op: ReduceOp, data: &[f64], axes: &[usize]) -> Vec<f64> {
        let shape = [2, 3, 4, 5];
        let kept: Vec<usize> = (0..4).filter(|a| !axes.contains(a)).collect();
        let out_len: usize = kept.iter().map(|&a| shape[a]).product();
        let mut out = vec![None::<f64>; out_len];
        for (flat, &v) in data.iter().enumerate() {
            let coord = [flat / 60, flat / 20 % 3, flat / 5 % 4, flat % 5];
            let at = kept.iter().fold(0, |at, &a| at * shape[a] + coord[a]);
            out[at] = Some(match (op, out[at]) {
                (_, None) => v,
                (ReduceOp::Sum, Some(s)) => s + v,
                (ReduceOp::Max, Some(m)) => m.max(v),
                (ReduceOp::Min, Some(m)) => m.min(v),
            });
        }
        out.into_iter().map(Option::unwrap).collect()
    }

    #[test]
    fn axes_of_a_row_major_tensor_reduce_in_place_as_by_brute_force() {
        // Small integers: every sum is exact, so any order of addition gives these bits.
        let data: Vec<f64> = (0..120).map(|i| ((i * 37) % 23) as f64 - 11.0).collect();
        let x = from_vec(&[2, 3, 4, 5], data.clone());
        for axes in [
            &[1][..],
            &[2],
            &[0, 2],
            &[0, 3],
            &[1, 3],
            &[0, 1, 3],
            &[0, 2, 3],
            &[0, 1],
        ] {
            for op in [ReduceOp::Sum, ReduceOp::Max, ReduceOp::Min] {
                let want = brute_force(op, &data, axes);
                let got = reduce(op, &x, axes, false);
                assert_eq!(
                    got.iter().copied().collect::<Vec<_>>(),
                    want,
                    "{op:?} {axes:?}"
                );
                let kept = reduce(op, &x, axes, true);
                let shape: Vec<usize> = [2, 3, 4, 5]
                    .iter()
                    .enumerate()
                    .map(|(i, &d)| if axes.contains(&i) { 1 } else { d })
                    .collect();
                assert_eq!(kept.shape(), &shape[..]);
                assert_eq!(kept.iter().copied().collect::<Vec<_>>(), want);
            }
        }
    }

    /// Column sums by the plainest loop: from zero, one row after another.
    fn column_sums_in_order<T: Elem>(src: &[T], width: usize) -> Vec<T> {
        let mut out = vec![T::zero(); width];
        for row in src.chunks_exact(width) {
            for (o, &x) in out.iter_mut().zip(row) {
                *o = *o + x;
            }
        }
        out
    }

    #[test]
    fn leading_rows_sum_column_by_column_in_row_order_to_the_bit() {
        // Values whose sums round, so that any other order of addition would show in the
        // last bits; widths around the block of 64 columns, and sizes on both sides of the
        // parallel threshold (2^16 elements).
        let value = |i: usize| ((i * 7919) % 1013) as f64 / 97.0 - 5.0 + 1e-3 / (1 + i % 13) as f64;
        for (rows, width) in [
            (3, 1),
            (5, 63),
            (7, 64),
            (9, 65),
            (4, 130),
            (70, 1029),
            (100, 1000),
        ] {
            let data: Vec<f64> = (0..rows * width).map(value).collect();
            assert_eq!(
                sum_leading_rows(&data, width),
                column_sums_in_order(&data, width),
                "f64, {rows}×{width}"
            );
            let data: Vec<f32> = data.iter().map(|&v| v as f32).collect();
            assert_eq!(
                sum_leading_rows(&data, width),
                column_sums_in_order(&data, width),
                "f32, {rows}×{width}"
            );
        }
        // The bias gradient path through `sum_to`.
        let data: Vec<f32> = (0..512 * 1024).map(|i| value(i) as f32).collect();
        let x = from_vec(&[512, 1024], data.clone());
        let got = sum_to(&x, &[1024]);
        assert_eq!(got.shape(), &[1024]);
        assert_eq!(
            got.iter().copied().collect::<Vec<_>>(),
            column_sums_in_order(&data, 1024)
        );
    }

    #[test]
    fn an_empty_reduced_axis_sums_to_zeros() {
        let x = from_vec::<f32>(&[2, 0, 3, 4], vec![]);
        let got = reduce(ReduceOp::Sum, &x, &[1, 3], false);
        assert_eq!(got.shape(), &[2, 3]);
        assert!(got.iter().all(|&v| v == 0.0));
    }
}
