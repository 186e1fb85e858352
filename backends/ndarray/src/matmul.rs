//! Matrix products through matrixmultiply (by way of ndarray's `general_mat_mul`, which
//! hands it the operands' strides: a transposed operand is read in place, not copied).
//!
//! Large and batched products are cut into blocks of whole rows and columns (never the
//! summation axis, so every output element is one unbroken dot product) and the blocks run
//! on rayon. The cut depends only on the sizes, so results do not depend on the number of
//! threads. matrixmultiply's own threading stays off: ferrograd decides.

use crate::parallel;
use crate::{Elem, Tensor};
use ndarray::linalg::general_mat_mul;
use ndarray::{Array, ArrayView2, ArrayViewD, ArrayViewMut2, Axis, Ix2, IxDyn};

/// `[..., m, k] · [..., k, n] → [..., m, n]` with batch dimensions broadcast.
pub fn matmul<T: Elem>(a: &Tensor<T>, b: &Tensor<T>) -> Tensor<T> {
    let (sa, sb) = (a.shape(), b.shape());
    let (m, k, n) = (sa[sa.len() - 2], sa[sa.len() - 1], sb[sb.len() - 1]);
    let batch = ferrograd::shape::broadcast_shapes(&sa[..sa.len() - 2], &sb[..sb.len() - 2])
        .expect("batch dimensions checked by the core");
    let count: usize = batch.iter().product();

    let mut a_full = batch.clone();
    a_full.extend_from_slice(&[m, k]);
    let mut b_full = batch.clone();
    b_full.extend_from_slice(&[k, n]);
    let mut a_mats = Vec::with_capacity(count);
    matrices(
        a.broadcast(IxDyn(&a_full)).expect("broadcasts"),
        &mut a_mats,
    );
    let mut b_mats = Vec::with_capacity(count);
    matrices(
        b.broadcast(IxDyn(&b_full)).expect("broadcasts"),
        &mut b_mats,
    );

    let mut out = Array::<T, _>::zeros((count, m, n));
    if m > 0 && n > 0 {
        let (rows, cols) = block_shape(count, m, n, k);
        let mut blocks = Vec::new();
        for ((c, a), b) in out.outer_iter_mut().zip(&a_mats).zip(&b_mats) {
            for (i, c_rows) in split(c, Axis(0), rows).into_iter().enumerate() {
                let a_rows = a.slice_axis(Axis(0), (i * rows..i * rows + c_rows.nrows()).into());
                for (j, c_block) in split(c_rows, Axis(1), cols).into_iter().enumerate() {
                    let b_cols =
                        b.slice_axis(Axis(1), (j * cols..j * cols + c_block.ncols()).into());
                    blocks.push((c_block, a_rows, b_cols));
                }
            }
        }
        let flops = 2 * count * m * n * k;
        parallel::for_each(
            blocks,
            flops >= parallel::MATMUL_MIN_FLOPS,
            |(mut c, a, b): (ArrayViewMut2<T>, ArrayView2<T>, ArrayView2<T>)| {
                general_mat_mul(T::one(), &a, &b, T::zero(), &mut c);
            },
        );
    }
    let mut shape = batch;
    shape.extend_from_slice(&[m, n]);
    out.into_shape_with_order(IxDyn(&shape))
        .expect("same number of elements")
        .into_shared()
}

/// `view` cut along `axis` into pieces of `size` (the last may be shorter).
fn split<T>(mut view: ArrayViewMut2<'_, T>, axis: Axis, size: usize) -> Vec<ArrayViewMut2<'_, T>> {
    let mut pieces = Vec::new();
    while view.len_of(axis) > size {
        let (piece, rest) = view.split_at(axis, size);
        pieces.push(piece);
        view = rest;
    }
    pieces.push(view);
    pieces
}

/// The 2-D matrices of a (broadcast) batch view, in row-major batch order.
fn matrices<'a, T: Elem>(view: ArrayViewD<'a, T>, out: &mut Vec<ArrayView2<'a, T>>) {
    if view.ndim() == 2 {
        out.push(view.into_dimensionality::<Ix2>().expect("rank 2"));
    } else {
        for sub in view.into_outer_iter() {
            matrices(sub, out);
        }
    }
}

/// Rows and columns per block, from the sizes alone. Blocks are large enough that
/// packing costs little next to the arithmetic (at least 2²¹ flops, and 64 rows or
/// columns), and small products stay whole.
fn block_shape(count: usize, m: usize, n: usize, k: usize) -> (usize, usize) {
    let flops = 2 * count * m * n * k;
    if flops < parallel::MATMUL_MIN_FLOPS || count >= 8 {
        // Small, or enough independent matrices to share out whole.
        return (m, n);
    }
    // Aim for about 16 blocks per matrix, each a sizeable tile.
    let target = (flops / count / 16).max(parallel::MATMUL_MIN_FLOPS);
    let per_row = 2 * n * k; // flops of one whole output row
    let rows = round_up((target / per_row.max(1)).max(64), 16).min(m);
    if rows < m {
        return (rows, n);
    }
    // Few rows: split the columns instead.
    let per_col = 2 * m * k;
    let cols = round_up((target / per_col.max(1)).max(64), 16).min(n);
    (m, cols)
}

fn round_up(x: usize, multiple: usize) -> usize {
    x.div_ceil(multiple) * multiple
}
