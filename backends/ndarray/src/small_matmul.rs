//! Small matrix products without packing.
//!
//! matrixmultiply copies (packs) both operands into panels before its micro-kernel runs.
//! For a product of a few tens of thousands of multiply-adds that copy, and the kernel's
//! edge handling, cost as much as the arithmetic: W6's convolution multiplies `[8, 9]` by
//! `[9, 676]` per image, and its kernel gradient `[8, 676]` by `[676, 9]`. Timed alone on
//! W6's 64 images (2 threads), matrixmultiply took 207 µs for the forward products and
//! 263 µs for the gradient ones; these loops take 125 and 135 µs (BENCHMARKS.md).
//!
//! Two loops, chosen by the operands' layout:
//! - `B` with contiguous rows: each output row is `Σ_p a[i, p] · b[p, ..]`, added up in
//!   blocks of 64 columns held in registers;
//! - `A` with contiguous rows and `B` with contiguous columns (a transposed operand):
//!   each output is a dot product, with two sets of 16 partial sums.
//!
//! Each output element is computed in a fixed order that depends only on the sizes, never
//! on the thread count, and every compiled variant performs the same IEEE operations (as
//! in `simd.rs`), so results are the same to the bit on every run.

use crate::simd::{best_variant, compiled_variants};
use crate::Elem;
use ndarray::{ArrayView2, ArrayViewMut2};

/// Products of at most this many multiply-adds (`m·n·k`) use these loops.
pub const MAX_MULTIPLY_ADDS: usize = 1 << 16;

/// Columns of an output row accumulated together in the row form.
const BLOCK: usize = 64;

/// Partial sums per set in the dot form.
const LANES: usize = 16;

/// `c = a · b` if the sizes and layouts suit one of the loops; returns whether it did.
///
/// `c` needs contiguous rows. Then the row form applies when `b` has contiguous rows at
/// least one block (64 columns) wide, the dot form when `a` and `bᵀ` have contiguous
/// rows at least 32 elements long: narrower, most of the work would fall in the loops'
/// scalar tails, where matrixmultiply is faster (W5's `[100, 16] · [16, 16]` products
/// took 2.7 times as long).
pub fn product<T: Elem>(a: &ArrayView2<T>, b: &ArrayView2<T>, c: &mut ArrayViewMut2<T>) -> bool {
    let (m, k) = a.dim();
    let n = b.ncols();
    if c.dim() != (m, n) || k == 0 || !(0..m).all(|i| c.row(i).as_slice().is_some()) {
        return false;
    }
    if n >= BLOCK {
        let b_rows: Option<Vec<&[T]>> = (0..k).map(|p| b.row(p).to_slice()).collect();
        if let Some(b_rows) = b_rows {
            let coefficients: Vec<T> = a.iter().copied().collect();
            for (i, a_row) in coefficients.chunks_exact(k).enumerate() {
                let out = c.row_mut(i).into_slice().expect("checked contiguous");
                dispatch_rows(a_row, &b_rows, out);
            }
            return true;
        }
    }
    if k >= 2 * LANES {
        let a_rows: Option<Vec<&[T]>> = (0..m).map(|i| a.row(i).to_slice()).collect();
        let b_cols: Option<Vec<&[T]>> = (0..n).map(|j| b.column(j).to_slice()).collect();
        if let (Some(a_rows), Some(b_cols)) = (a_rows, b_cols) {
            for (i, a_row) in a_rows.iter().enumerate() {
                let out = c.row_mut(i).into_slice().expect("checked contiguous");
                dispatch_dots(a_row, &b_cols, out);
            }
            return true;
        }
    }
    false
}

/// `out[j] = Σ_p coefficients[p] · b_rows[p][j]`, summed in order of `p`.
#[inline(always)]
fn rows_plain<T: Elem>(coefficients: &[T], b_rows: &[&[T]], out: &mut [T]) {
    let whole = out.len() / BLOCK * BLOCK;
    let mut blocks = out.chunks_exact_mut(BLOCK);
    for (block, chunk) in blocks.by_ref().enumerate() {
        let start = block * BLOCK;
        // A whole block in a fixed-size array, indexed by constants only: the compiler
        // keeps it in vector registers.
        let mut acc = [T::zero(); BLOCK];
        for (&s, row) in coefficients.iter().zip(b_rows) {
            let row: &[T; BLOCK] = row[start..start + BLOCK].try_into().expect("a block");
            for l in 0..BLOCK {
                acc[l] = acc[l] + s * row[l];
            }
        }
        chunk.copy_from_slice(&acc);
    }
    let tail = blocks.into_remainder();
    let mut acc = [T::zero(); BLOCK];
    let acc = &mut acc[..tail.len()];
    for (&s, row) in coefficients.iter().zip(b_rows) {
        for (x, &y) in acc.iter_mut().zip(&row[whole..]) {
            *x = *x + s * y;
        }
    }
    tail.copy_from_slice(acc);
}

/// `out[j] = a_row · b_cols[j]`, each a [`dot`].
#[inline(always)]
fn dots_plain<T: Elem>(a_row: &[T], b_cols: &[&[T]], out: &mut [T]) {
    for (o, col) in out.iter_mut().zip(b_cols) {
        *o = dot(a_row, col);
    }
}

/// `a · b` with two sets of 16 partial sums: chunk `q` of 16 elements goes to set
/// `q mod 2`, lane by lane. Then the sets are added, their lanes combined pairwise
/// ([`combine`]), and the last elements (fewer than 32) added in order.
#[inline(always)]
fn dot<T: Elem>(a: &[T], b: &[T]) -> T {
    // Two independent sets, so that consecutive chunks do not wait on each other's
    // additions; fixed-size arrays indexed by constants, so that they stay in registers.
    let (mut even, mut odd) = ([T::zero(); LANES], [T::zero(); LANES]);
    let whole = a.len() / (2 * LANES) * (2 * LANES);
    for (a, b) in a[..whole]
        .chunks_exact(2 * LANES)
        .zip(b[..whole].chunks_exact(2 * LANES))
    {
        let a: &[T; 2 * LANES] = a.try_into().expect("whole chunks");
        let b: &[T; 2 * LANES] = b.try_into().expect("whole chunks");
        for l in 0..LANES {
            even[l] = even[l] + a[l] * b[l];
        }
        for l in 0..LANES {
            odd[l] = odd[l] + a[LANES + l] * b[LANES + l];
        }
    }
    a[whole..]
        .iter()
        .zip(&b[whole..])
        .fold(combine(even, odd), |sum, (&x, &y)| sum + x * y)
}

/// The two sets added, then their lanes pairwise. Kept out of line: inlined, it led the
/// compiler to vectorise [`dot`]'s loop two lanes wide instead of sixteen.
#[inline(never)]
fn combine<T: Elem>(mut even: [T; LANES], odd: [T; LANES]) -> T {
    for (x, &y) in even.iter_mut().zip(&odd) {
        *x = *x + y;
    }
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for l in 0..width {
            even[l] = even[l] + even[l + width];
        }
    }
    even[0]
}

fn dispatch_rows<T: Elem>(a: &[T], b_rows: &[&[T]], out: &mut [T]) {
    best_variant!(x86::rows_avx512, x86::rows_avx2, rows_plain; a, b_rows, out)
}

fn dispatch_dots<T: Elem>(a_row: &[T], b_cols: &[&[T]], out: &mut [T]) {
    best_variant!(x86::dots_avx512, x86::dots_avx2, dots_plain; a_row, b_cols, out)
}

compiled_variants! {
    fn rows_plain => rows_avx512, rows_avx2
        <T: Elem> (a: &[T], b_rows: &[&[T]], out: &mut [T]);
    fn dots_plain => dots_avx512, dots_avx2
        <T: Elem> (a_row: &[T], b_cols: &[&[T]], out: &mut [T]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_matrices::{by_matrixmultiply, integers};
    use ndarray::{Array2, ShapeBuilder};

    #[test]
    fn both_forms_agree_with_matrixmultiply_on_every_size_edge() {
        // Sizes around the block of 64 columns and the chunks of 32 elements, and whether
        // each form takes them.
        for (m, k, n, rows, dots) in [
            (3, 9, 676, true, false),
            (8, 9, 65, true, false),
            (1, 2, 64, true, false),
            (5, 32, 7, false, true),
            (2, 33, 130, true, true),
            (8, 676, 9, false, true),
            (4, 31, 63, false, false),
        ] {
            let a = integers::<f64>(m, k, 1);
            let b = integers(k, n, 2);
            let want = by_matrixmultiply(&a.view(), &b.view());

            let mut c = Array2::zeros((m, n));
            assert_eq!(product(&a.view(), &b.view(), &mut c.view_mut()), rows);
            if rows {
                assert_eq!(c, want, "row form, {m}×{k}·{k}×{n}");
            }

            // The same B stored column by column: the dot form.
            let mut b_cols = Array2::zeros((k, n).f());
            b_cols.assign(&b);
            let mut c = Array2::zeros((m, n));
            assert_eq!(product(&a.view(), &b_cols.view(), &mut c.view_mut()), dots);
            if dots {
                assert_eq!(c, want, "dot form, {m}×{k}·{k}×{n}");
            }
        }
    }

    #[test]
    fn declines_layouts_it_has_no_loop_for() {
        let a = integers::<f64>(4, 40, 3);
        // A column-major, B column-major: neither form applies.
        let mut a_cols = Array2::zeros((4, 40).f());
        a_cols.assign(&a);
        let mut b_cols = Array2::zeros((40, 5).f());
        b_cols.assign(&integers(40, 5, 4));
        let mut c = Array2::zeros((4, 5));
        assert!(!product(&a_cols.view(), &b_cols.view(), &mut c.view_mut()));
    }
}
