//! Matrix products through matrixmultiply (by way of ndarray's `general_mat_mul`, which
//! hands it the operands' strides: a transposed operand is read in place, not copied).
//! Small products with a long contiguous side skip its packing (`small_matmul.rs`). On CPUs
//! with AVX-512, `f32` products have loops of their own: without packing up to a few
//! hundred thousand elements per operand (`avx512_matmul.rs`), with packing shared by the
//! threads beyond (`packed_matmul.rs`).
//!
//! Otherwise, large and batched products are cut into blocks of whole rows and columns (never the
//! summation axis, so every output element is one unbroken dot product) and the blocks run
//! on rayon. The cut depends only on the sizes, so results do not depend on the number of
//! threads. matrixmultiply's own threading stays off: ferrograd decides.

use crate::{avx512_matmul, packed_matmul, parallel, pool, small_matmul};
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

    let mut shape = batch;
    shape.extend_from_slice(&[m, n]);
    if count == 1 && m * n * k > small_matmul::MAX_MULTIPLY_ADDS {
        let (a, b) = (&a_mats[0], &b_mats[0]);
        let data = match avx512_matmul::form(a, b) {
            Some(form) => Some(unpacked_product(form, a, b)),
            None if packed_matmul::applies(a, b) => Some(packed_matmul::product(a, b)),
            None => None,
        };
        if let Some(data) = data {
            return Array::from_shape_vec(IxDyn(&shape), data)
                .expect("sizes agree")
                .into();
        }
    }

    let mut data = pool::take(count * m * n);
    data.resize(count * m * n, T::zero());
    let mut out = Array::from_shape_vec((count, m, n), data).expect("sizes agree");
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
        // Batched products share out whole matrices.
        parallel::for_each(
            blocks,
            parallel::product_goes_parallel(count, m, n, k),
            |(mut c, a, b): (ArrayViewMut2<T>, ArrayView2<T>, ArrayView2<T>)| {
                let small = a.len() * b.ncols() <= small_matmul::MAX_MULTIPLY_ADDS;
                if !(small && small_matmul::product(&a, &b, &mut c)) {
                    general_mat_mul(T::one(), &a, &b, T::zero(), &mut c);
                }
            },
        );
    }
    out.into_shape_with_order(IxDyn(&shape))
        .expect("same number of elements")
        .into()
}

/// `a · b` by the kernels without packing (`avx512_matmul.rs`), in blocks of rows and
/// columns, row-major. The output buffer is not zero-filled first: the blocks tile it and
/// the kernels write every element of theirs (for W1's `[256, 784]` weight gradient the
/// fill was a memset of 800 KB per step).
fn unpacked_product<T: Elem>(
    form: avx512_matmul::Form,
    a: &ArrayView2<T>,
    b: &ArrayView2<T>,
) -> Vec<T> {
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    let (rows, cols) = unpacked_block_shape(form, m, n, k);
    let mut data = pool::take::<T>(m * n);
    let out = parallel::DisjointWrites::spare_of(&mut data);
    let blocks: Vec<(usize, usize)> = (0..m)
        .step_by(rows)
        .flat_map(|i| (0..n).step_by(cols).map(move |j| (i, j)))
        .collect();
    let out = &out;
    parallel::for_each(
        blocks,
        parallel::product_goes_parallel(1, m, n, k),
        |(i, j)| {
            let a_rows = a.slice_axis(Axis(0), (i..(i + rows).min(m)).into());
            let b_cols = b.slice_axis(Axis(1), (j..(j + cols).min(n)).into());
            // SAFETY: the block's elements, rows `i ..` and columns `j ..` of the `m × n`
            // buffer (row stride `n`), lie within its capacity, and no other block touches
            // them: the blocks tile the matrix without overlap.
            unsafe {
                avx512_matmul::product_into(form, &a_rows, &b_cols, out.ptr().add(i * n + j), n)
            };
        },
    );
    // SAFETY: the blocks cover every element of the `m × n` matrix, and `product_into`
    // writes every element of its block.
    unsafe { data.set_len(m * n) };
    data
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

/// Rows and columns per block, from the sizes alone.
///
/// Each block is a separate matrixmultiply call, which packs its own copy of its slices of
/// A and B; blocks of whole rows keep the kernel's wide panels of B and only repeat B's
/// packing. Measured on this project's 2-core machine (GFLOP/s, 2 threads):
///
/// | m×k×n | 2 column blocks | 2 row blocks | 64-row blocks |
/// | --- | --- | --- | --- |
/// | 128×784×256 (W1 layer 1) | 129 | 155 | 155 |
/// | 784×128×256 (its weight gradient) | 125 | 137 | 151 |
/// | 512×1024×1024 (W1L) | 124 | 170 | 127 |
///
/// And for W1L's weight gradient, 1024×512×1024, two row halves reach 170 against 152 for
/// 64-row blocks (B, half a million elements, repacked 16 times). So: rows of 64 while B is
/// small enough to repack cheaply (under a quarter of a million elements), else two halves
/// of the rows; column halves only when there are too few rows to split.
fn block_shape(count: usize, m: usize, n: usize, k: usize) -> (usize, usize) {
    if !parallel::product_goes_parallel(count, m, n, k) || count >= 2 {
        // Small, or several matrices: each matrix is a block.
        return (m, n);
    }
    if m >= 128 {
        let rows = if k * n < parallel::MATMUL_LARGE_B {
            64
        } else {
            round_up(m.div_ceil(2), 8)
        };
        return (rows.min(m), n);
    }
    if n >= 256 {
        return (m, round_up(n.div_ceil(2), 16));
    }
    (m, n)
}

/// Rows and columns per block for the kernels without packing (`avx512_matmul.rs`), every
/// block reading the one copy of each operand: blocks of columns (a strip of 32, or a
/// quarter of the columns in whole tiles for the dot form, so that two or four threads
/// share them evenly), and the rows in two halves (whole tiles) when there are too few
/// columns to share out.
fn unpacked_block_shape(form: avx512_matmul::Form, m: usize, n: usize, k: usize) -> (usize, usize) {
    if !parallel::product_goes_parallel(1, m, n, k) {
        return (m, n);
    }
    let (cols, tile_rows) = match form {
        avx512_matmul::Form::Strips => (avx512_matmul::STRIP, avx512_matmul::STRIP_ROWS),
        avx512_matmul::Form::Dots => (
            round_up(n.div_ceil(4), avx512_matmul::DOT_COLS),
            avx512_matmul::DOT_ROWS,
        ),
    };
    if n >= 2 * cols.max(avx512_matmul::STRIP) {
        (m, cols)
    } else {
        (round_up(m.div_ceil(2), tile_rows).min(m), n)
    }
}

fn round_up(x: usize, multiple: usize) -> usize {
    x.div_ceil(multiple) * multiple
}
