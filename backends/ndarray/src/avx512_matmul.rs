//! `f32` matrix products on AVX-512 that read both operands where they lie, without
//! packing them.
//!
//! matrixmultiply copies (packs) both operands into panels at every call, and when a
//! product is cut into blocks for two threads, each block packs its operands again. For
//! W1's products (`[128, 784] · [784, 256]`, its weight gradient, and the narrower layers)
//! packing was 17% of the step's samples under `perf`, beside 49% in the multiply kernel.
//!
//! Two forms, chosen by the operands' layout, both keeping a tile of `C` in vector
//! registers while `p` runs along the summation axis:
//! - **strips**, when `B` has contiguous rows: 12 rows by 32 columns of `C` (two vectors per
//!   row, 24 registers). Each step loads the strip's row `p` of `B` and broadcasts the 12
//!   elements `A[i, p]` straight from `A`, whatever its strides (a transposed `A` is read
//!   in place). Every element of `C` is one chain of fused multiply-adds over `p`, in
//!   order.
//! - **dots**, when `A` has contiguous rows and `B` contiguous columns (`X · Wᵀ` with the
//!   weight stored `[out, in]`, as `Linear` does): 4 rows by 4 columns of `C`, each a
//!   vector of 16 partial sums over `p` (lane `l` takes `p ≡ l mod 16`), added up at the
//!   end by one fixed tree.
//!
//! Either way the order of every sum depends only on `k`, never on how the product is cut
//! into blocks, on where a tile falls, or on the thread count: results are the same to the
//! bit on any number of threads. They may differ in the last bits from matrixmultiply's.
//!
//! Measured on W1's five large products alone (2 threads, three alternated runs of a
//! scratch timer): 800-864 µs through matrixmultiply, 656-706 µs here; the forward
//! `[128, 784] · [784, 256]` with the weight stored `[256, 784]` went from 368-433 to
//! 254-293 µs. W1's step and its ratio to PyTorch are in BENCHMARKS.md.
//!
//! Larger products are packed first (`packed_matmul.rs`, see [`MAX_A_ELEMENTS`]): these
//! loops do not block for the caches, and on W1L's sizes they were no faster than
//! matrixmultiply. The packed path runs the strip form's tile on its copies.

use crate::Elem;
use ndarray::ArrayView2;
use std::any::TypeId;

/// Columns per strip: two vectors of 16 `f32`.
pub const STRIP: usize = 32;

/// Rows of `C` per register tile in the strip form: 24 accumulators, 2 vectors of `B` and a
/// broadcast fit the 32 vector registers.
pub const STRIP_ROWS: usize = 12;

/// Rows and columns of `C` per register tile in the dot form: 16 accumulators, whose lane
/// sums one shuffle network adds at once (`add_lanes_of_16`), and 8 vectors loaded per 16
/// multiply-adds. (Tiles of 4 by 6, 24 accumulators and 10 loads per 24 multiply-adds,
/// measured no faster.)
pub const DOT_ROWS: usize = 4;
/// See [`DOT_ROWS`].
pub const DOT_COLS: usize = 4;

/// The largest `A` (in elements) read in place. Every block of columns reads all of `A`;
/// up to this size (1 MiB of `f32`) it stays in the core's level-2 cache between them.
/// In a scratch comparison on W1L's `[512, 784]` and `[512, 1024]` inputs, reading them
/// from level 3 ran at 140-160 GFLOP/s against 185-190 for matrixmultiply at 2 threads,
/// so larger products are packed first (`packed_matmul.rs`).
pub const MAX_A_ELEMENTS: usize = 1 << 18;

/// How [`product_into`] reads the operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// `B` has contiguous rows.
    Strips,
    /// `A` has contiguous rows and `B` contiguous columns.
    Dots,
}

/// Which form computes `a · b`, if any: `f32` on a CPU with AVX-512, `a` small enough, and
/// a layout one of the forms reads (non-negative strides); the strip form also needs `b`
/// at least one strip wide, and the dot form (which streams all of `b` past each group of
/// rows) `b` small enough. The dot form takes a larger `a` when `b` has fewer than two
/// strips of columns: its blocks are then halves of the rows, which read `a` once (a
/// classifier's last layer, `[512, 1024] · [1024, 10]` in W1L, where matrixmultiply spent
/// more time packing `a` than multiplying).
pub fn form<T: Elem>(a: &ArrayView2<T>, b: &ArrayView2<T>) -> Option<Form> {
    let a_fits = a.len() <= MAX_A_ELEMENTS;
    if a_fits && b.ncols() >= STRIP && reads(Form::Strips, a, b) {
        Some(Form::Strips)
    } else if (a_fits || b.ncols() < 2 * STRIP)
        && b.len() <= MAX_A_ELEMENTS
        && reads(Form::Dots, a, b)
    {
        Some(Form::Dots)
    } else {
        None
    }
}

/// Whether `form`'s kernel can compute `a · b` at all: `f32` on a CPU with AVX-512,
/// non-negative strides, a summation axis, and the layout the form reads. Blocks cut from
/// a product that [`form`] chose keep this (a narrower last strip included).
fn reads<T: Elem>(form: Form, a: &ArrayView2<T>, b: &ArrayView2<T>) -> bool {
    let layout = match form {
        Form::Strips => unit_stride(b, 1),
        Form::Dots => unit_stride(a, 1) && unit_stride(b, 0),
    };
    layout
        && TypeId::of::<T>() == TypeId::of::<f32>()
        && avx512()
        && a.ncols() > 0
        && a.ncols() == b.nrows()
        && a.strides().iter().chain(b.strides()).all(|&s| s >= 0)
}

/// Writes `a · b` into the `m × n` matrix at `c` with rows `c_row_stride` elements apart
/// (contiguous within), every element of it, reading none: `c` may be uninitialised.
///
/// # Panics
/// If `form`'s kernel cannot read `a` and `b` (see [`form`]).
///
/// # Safety
/// `c` must be valid for writes of every element `c + i·c_row_stride + j` with `i < m`,
/// `j < n`, and no other thread may access those elements meanwhile.
pub unsafe fn product_into<T: Elem>(
    form: Form,
    a: &ArrayView2<T>,
    b: &ArrayView2<T>,
    c: *mut T,
    c_row_stride: usize,
) {
    assert!(
        reads(form, a, b),
        "the {form:?} kernel cannot read these operands"
    );
    #[cfg(target_arch = "x86_64")]
    {
        // `reads` checked that `T` is `f32`, so the casts reinterpret nothing.
        let ops = x86::Operands {
            a: a.as_ptr().cast::<f32>(),
            a_strides: (a.strides()[0] as usize, a.strides()[1] as usize),
            b: b.as_ptr().cast::<f32>(),
            b_strides: (b.strides()[0] as usize, b.strides()[1] as usize),
            c: c.cast::<f32>(),
            c_row_stride,
            m: a.nrows(),
            k: a.ncols(),
            n: b.ncols(),
        };
        // SAFETY: `reads` checked that the CPU has AVX-512 and that the layout is the one
        // the form reads. The views' dimensions and non-negative strides bound every offset
        // the kernels form (rows below `m`, summation index below `k`, columns below `n`;
        // masked loads and stores where a vector would cross those bounds), so every read
        // lies within `a`'s and `b`'s elements, and every write within `c`'s `m × n`
        // elements, which the caller vouches for.
        unsafe {
            match form {
                Form::Strips => x86::strips(&ops),
                Form::Dots => x86::dots(&ops),
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    unreachable!("`reads` holds only on x86-64")
}

/// Whether consecutive elements along `axis` are adjacent in memory. ndarray may give an
/// axis of length 1 any stride (slicing sets it to 0); it has no second element to reach.
fn unit_stride<T>(x: &ArrayView2<T>, axis: usize) -> bool {
    x.shape()[axis] <= 1 || x.strides()[axis] == 1
}

pub(crate) fn avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod x86 {
    use super::{DOT_COLS, DOT_ROWS, STRIP, STRIP_ROWS};
    use std::arch::x86_64::*;

    /// How many steps along the summation axis ahead the packed tiles ask for their
    /// strip's rows (two cache lines per step). On the Intel Xeon of BENCHMARKS.md the
    /// tile waited on its strip from the level-2 cache: with the hint W2's `n = 1024`
    /// product went from 279-289 to 338-372 GFLOP/s and W1L's step from 22.0-22.6 to
    /// 18.8-19.8 ms (alternated criterion runs; 8 steps ahead gave 316-340 and 19.6-20.1,
    /// 24 and 32 no more than 16). The unpacked strip form, whose rows lie a matrix row
    /// apart, measured the same with and without it on W1, so it goes without.
    const PREFETCH_STEPS: usize = 16;

    /// Raw operands of `c[m, n] = a[m, k] · b[k, n]`; strides in elements, (row, column).
    pub struct Operands {
        pub a: *const f32,
        pub a_strides: (usize, usize),
        pub b: *const f32,
        pub b_strides: (usize, usize),
        pub c: *mut f32,
        pub c_row_stride: usize,
        pub m: usize,
        pub k: usize,
        pub n: usize,
    }

    /// Runs `$call` with the constant `$n` equal to the run-time `$count`, one of the
    /// listed values (or does nothing for 0): a tile's size must be a compile-time constant
    /// for its accumulators to live in registers.
    macro_rules! by_count {
        ($count:expr; $($value:literal)*; $n:ident => $call:expr) => {
            match $count {
                0 => {}
                $($value => {
                    const $n: usize = $value;
                    $call
                })*
                _ => unreachable!("fewer than a whole tile"),
            }
        };
    }

    fn lane_mask(lanes: usize) -> __mmask16 {
        if lanes >= 16 {
            u16::MAX
        } else {
            (1u16 << lanes) - 1
        }
    }

    /// The strip form over all of `c` (`b` has contiguous rows): strips of 32 columns, and
    /// within each, tiles of 12 rows, then one smaller tile for the rest.
    ///
    /// # Safety
    /// The CPU has AVX-512F, and `ops` describes valid matrices, `b` and `c` with
    /// contiguous rows.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn strips(ops: &Operands) {
        let whole = ops.m / STRIP_ROWS * STRIP_ROWS;
        for j in (0..ops.n).step_by(STRIP) {
            let width = (ops.n - j).min(STRIP);
            // Lanes of each of the strip's two vectors that lie within the matrix.
            let masks = (lane_mask(width), lane_mask(width.saturating_sub(16)));
            if width == STRIP {
                for i in (0..whole).step_by(STRIP_ROWS) {
                    strip_tile::<STRIP_ROWS, true, false>(ops, i, j, masks);
                }
                by_count!(ops.m - whole; 1 2 3 4 5 6 7 8 9 10 11; ROWS => strip_tile::<ROWS, true, false>(ops, whole, j, masks));
            } else {
                for i in (0..whole).step_by(STRIP_ROWS) {
                    strip_tile::<STRIP_ROWS, false, false>(ops, i, j, masks);
                }
                by_count!(ops.m - whole; 1 2 3 4 5 6 7 8 9 10 11; ROWS => strip_tile::<ROWS, false, false>(ops, whole, j, masks));
            }
        }
    }

    /// Rows `i .. i + ROWS` of the strip at column `j`: `Σ_p a[i + r, p] · b[p, j ..]` as
    /// one chain of fused multiply-adds per element, `p` in order. `WHOLE` when the strip
    /// is 32 columns wide: plain loads, since masked ones (needed for a narrower last
    /// strip) run slower on this machine (the dot form went from 94 to 110 GFLOP/s on one
    /// thread without them). `PREFETCH` asks for `b`'s rows [`PREFETCH_STEPS`] ahead.
    ///
    /// # Safety
    /// As [`strips`], with `i + ROWS ≤ m`, `j < n`, and `j + 32 ≤ n` if `WHOLE`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn strip_tile<const ROWS: usize, const WHOLE: bool, const PREFETCH: bool>(
        ops: &Operands,
        i: usize,
        j: usize,
        (low, high): (__mmask16, __mmask16),
    ) {
        let (a_row, a_col) = ops.a_strides;
        let mut acc = [[_mm512_setzero_ps(); 2]; ROWS];
        let mut a = ops.a.add(i * a_row);
        let mut b = ops.b.add(j);
        for _ in 0..ops.k {
            // Masked loads read no element outside the mask, so a narrow last strip never
            // reads past its row.
            let (b_low, b_high) = if WHOLE {
                (_mm512_loadu_ps(b), _mm512_loadu_ps(b.add(16)))
            } else {
                (
                    _mm512_maskz_loadu_ps(low, b),
                    _mm512_maskz_loadu_ps(high, b.wrapping_add(16)),
                )
            };
            if PREFETCH {
                // A hint only: addresses past the strip's end are never faulted on.
                let ahead = b.wrapping_add(ops.b_strides.0 * PREFETCH_STEPS);
                _mm_prefetch::<_MM_HINT_T0>(ahead.cast());
                _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(16).cast());
            }
            for (r, acc) in acc.iter_mut().enumerate() {
                let s = _mm512_set1_ps(*a.add(r * a_row));
                acc[0] = _mm512_fmadd_ps(s, b_low, acc[0]);
                acc[1] = _mm512_fmadd_ps(s, b_high, acc[1]);
            }
            // Wrapping: after the last step these point past the operands, never read.
            a = a.wrapping_add(a_col);
            b = b.wrapping_add(ops.b_strides.0);
        }
        for (r, acc) in acc.iter().enumerate() {
            let c = ops.c.add((i + r) * ops.c_row_stride + j);
            _mm512_mask_storeu_ps(c, low, acc[0]);
            _mm512_mask_storeu_ps(c.wrapping_add(16), high, acc[1]);
        }
    }

    /// Tiles of `c` from packed operands (`packed_matmul.rs`): for each strip of `b` in
    /// `strips` (32 columns, element `(p, q)` at `32p + q` from `b + 32·k·s`, zeros past
    /// the matrix), and within it each panel of `a` in `panels` (up to 12 rows, element
    /// `(r, p)` at `r + p·rows` from `a + 12·k·t`), the tile of `c` at rows `12t ..` and
    /// columns `32s ..`. It is the strip form's loop, so each element is the same chain of
    /// fused multiply-adds over all of `p`, in order.
    ///
    /// # Safety
    /// The CPU has AVX-512F; `a` and `b` hold the packed panels and strips of an `m × k`
    /// and a `k × n` matrix; `c` is valid for writes of rows `12·panels.start ..
    /// min(12·panels.end, m)` and columns `32·strips.start .. min(32·strips.end, n)`, row
    /// stride `c_row_stride`.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn packed_tiles(
        a: *const f32,
        b: *const f32,
        (c, c_row_stride): (*mut f32, usize),
        (m, k, n): (usize, usize, usize),
        panels: std::ops::Range<usize>,
        strips: std::ops::Range<usize>,
    ) {
        for s in strips {
            let width = (n - s * STRIP).min(STRIP);
            // Packed strips are whole (zero-padded): plain loads, masked stores.
            let masks = (lane_mask(width), lane_mask(width.saturating_sub(16)));
            for t in panels.clone() {
                let rows = (m - t * STRIP_ROWS).min(STRIP_ROWS);
                let ops = Operands {
                    a: a.add(t * STRIP_ROWS * k),
                    a_strides: (1, rows),
                    b: b.add(s * STRIP * k),
                    b_strides: (STRIP, 1),
                    c: c.add(t * STRIP_ROWS * c_row_stride + s * STRIP),
                    c_row_stride,
                    m: rows,
                    k,
                    n: width,
                };
                if rows == STRIP_ROWS {
                    strip_tile::<STRIP_ROWS, true, true>(&ops, 0, 0, masks);
                } else {
                    by_count!(rows; 1 2 3 4 5 6 7 8 9 10 11; ROWS => strip_tile::<ROWS, true, true>(&ops, 0, 0, masks));
                }
            }
        }
    }

    /// The dot form over all of `c` (`a` has contiguous rows, `b` contiguous columns):
    /// groups of 4 rows, and within each, tiles of 4 columns, so that the group's rows of
    /// `a` stay in the level-1 cache while the columns of `b` stream past from level 2.
    /// (Columns outer and rows inner measured the same.)
    ///
    /// # Safety
    /// The CPU has AVX-512F, and `ops` describes valid matrices, `a` with contiguous rows,
    /// `b` with contiguous columns and `c` with contiguous rows.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn dots(ops: &Operands) {
        let rows = ops.m / DOT_ROWS * DOT_ROWS;
        for i in (0..rows).step_by(DOT_ROWS) {
            dot_row_group::<DOT_ROWS>(ops, i);
        }
        by_count!(ops.m - rows; 1 2 3; ROWS => dot_row_group::<ROWS>(ops, rows));
    }

    /// # Safety
    /// As [`dots`], with `i + ROWS ≤ m`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn dot_row_group<const ROWS: usize>(ops: &Operands, i: usize) {
        let cols = ops.n / DOT_COLS * DOT_COLS;
        for j in (0..cols).step_by(DOT_COLS) {
            dot_tile::<ROWS, DOT_COLS>(ops, i, j);
        }
        by_count!(ops.n - cols; 1 2 3; COLS => dot_tile::<ROWS, COLS>(ops, i, cols));
    }

    /// The lane sums of 16 vectors at once: lane `4t + e` of the result holds the sum of
    /// the lanes of `inputs[4e + t]`. Four rounds, each adding pairs of vectors after
    /// shuffling them so that every vector keeps half as many partial sums of twice as
    /// many inputs: 8 vectors with 8 partial sums of 2 inputs each, then 4 with 4 of 4,
    /// then 2 with 2 of 8, then 1 with the sum of each of 16. Every sum is the same tree
    /// over its 16 lanes, whichever slot its input takes: lane `l` and `l + 8`, then `l + 4`,
    /// then the last four as `(e0 + e1) + (e2 + e3)`.
    ///
    /// About 30 instructions for 16 sums. Adding each vector's lanes through memory took
    /// about 30 per vector: on one thread, W1's forward product went from 81 to 92 GFLOP/s
    /// with this, its `[128, 256] · [256, 128]` from 62 to 86. And not
    /// `_mm512_reduce_add_ps`, whose 256- and 128-bit steps can only use the first 16 vector
    /// registers: the accumulators that fed it were confined to those, one spilled to the
    /// stack, and the loop ran at half speed (`perf annotate`).
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn add_lanes_of_16(inputs: &[__m512; 16]) -> __m512 {
        let input = |n: usize| inputs[n];
        let halves = |x, y| {
            _mm512_add_ps(
                _mm512_shuffle_f32x4::<0b01_00_01_00>(x, y),
                _mm512_shuffle_f32x4::<0b11_10_11_10>(x, y),
            )
        };
        let quarters = |x, y| {
            _mm512_add_ps(
                _mm512_shuffle_f32x4::<0b10_00_10_00>(x, y),
                _mm512_shuffle_f32x4::<0b11_01_11_01>(x, y),
            )
        };
        let pairs = |x, y| {
            _mm512_add_ps(
                _mm512_shuffle_ps::<0b10_00_10_00>(x, y),
                _mm512_shuffle_ps::<0b11_01_11_01>(x, y),
            )
        };
        let r1: [__m512; 8] = std::array::from_fn(|v| halves(input(2 * v), input(2 * v + 1)));
        let r2: [__m512; 4] = std::array::from_fn(|v| quarters(r1[2 * v], r1[2 * v + 1]));
        let r3: [__m512; 2] = std::array::from_fn(|v| pairs(r2[2 * v], r2[2 * v + 1]));
        pairs(r3[0], r3[1])
    }

    /// `c[i + r, j + q] = a[i + r, ..] · b[.., j + q]`: 16 partial sums (lane `l` takes
    /// `p ≡ l mod 16`, in order of `p`), then added by a fixed tree.
    ///
    /// # Safety
    /// As [`dots`], with `i + ROWS ≤ m` and `j + COLS ≤ n`.
    #[inline(never)]
    #[target_feature(enable = "avx512f")]
    unsafe fn dot_tile<const ROWS: usize, const COLS: usize>(ops: &Operands, i: usize, j: usize) {
        let mut acc = [[_mm512_setzero_ps(); COLS]; ROWS];
        let whole = ops.k / 16 * 16;
        let mut p = 0;
        while p < whole {
            let mut a = [_mm512_setzero_ps(); ROWS];
            for (r, a) in a.iter_mut().enumerate() {
                *a = _mm512_loadu_ps(ops.a.add((i + r) * ops.a_strides.0 + p));
            }
            for q in 0..COLS {
                let b = _mm512_loadu_ps(ops.b.add((j + q) * ops.b_strides.1 + p));
                for (acc, &a) in acc.iter_mut().zip(&a) {
                    acc[q] = _mm512_fmadd_ps(a, b, acc[q]);
                }
            }
            p += 16;
        }
        if p < ops.k {
            // The last, partial step: masked-off lanes load zeros and add 0 · 0.
            let mask = lane_mask(ops.k - p);
            let mut a = [_mm512_setzero_ps(); ROWS];
            for (r, a) in a.iter_mut().enumerate() {
                *a = _mm512_maskz_loadu_ps(mask, ops.a.add((i + r) * ops.a_strides.0 + p));
            }
            for q in 0..COLS {
                let b = _mm512_maskz_loadu_ps(mask, ops.b.add((j + q) * ops.b_strides.1 + p));
                for (acc, &a) in acc.iter_mut().zip(&a) {
                    acc[q] = _mm512_fmadd_ps(a, b, acc[q]);
                }
            }
        }
        // The tile's sums in groups of 4 columns: input 4e + t of the adding network is
        // acc[t][q + e], so that lane 4t + e of its result is c[i + t, j + q + e]. Slots
        // past the tile's edge get zeros, whose sums are dropped.
        for q in (0..COLS).step_by(4) {
            let inputs = std::array::from_fn(|n| {
                let (r, col) = (n % 4, q + n / 4);
                if r < ROWS && col < COLS {
                    acc[r][col]
                } else {
                    _mm512_setzero_ps()
                }
            });
            let mut sums = [0f32; 16];
            _mm512_storeu_ps(sums.as_mut_ptr(), add_lanes_of_16(&inputs));
            let width = (COLS - q).min(4);
            for (r, row) in sums.chunks_exact(4).take(ROWS).enumerate() {
                let c = ops.c.add((i + r) * ops.c_row_stride + j + q);
                std::ptr::copy_nonoverlapping(row.as_ptr(), c, width);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_matrices::{by_matrixmultiply, column_major, integers};
    use ndarray::linalg::general_mat_mul;
    use ndarray::ArrayViewMut2;
    use ndarray::{s, Array2, ShapeBuilder};

    /// `c = a · b` in `form`, if its kernel reads these operands and `c` has contiguous rows;
    /// returns whether it did.
    fn product<T: Elem>(
        form: Form,
        a: &ArrayView2<T>,
        b: &ArrayView2<T>,
        c: &mut ArrayViewMut2<T>,
    ) -> bool {
        let fits = reads(form, a, b)
            && c.dim() == (a.nrows(), b.ncols())
            && unit_stride(&c.view(), 1)
            && c.strides()[0] >= 0;
        if fits {
            // SAFETY: `c` is `m × n` with contiguous rows and a non-negative row stride, and
            // `&mut` makes its elements ours alone.
            unsafe { product_into(form, a, b, c.as_mut_ptr(), c.strides()[0] as usize) };
        }
        fits
    }

    /// `a · b` in `form` into the middle of a larger array, which must be left untouched
    /// around it.
    fn check(form_wanted: Form, a: &ArrayView2<f32>, b: &ArrayView2<f32>, what: &str) {
        let (m, n) = (a.nrows(), b.ncols());
        let want = by_matrixmultiply(a, b);
        let mut padded = Array2::from_elem((m + 2, n + 3), 7.5f32);
        let mut c = padded.slice_mut(s![1..m + 1, 1..n + 1]);
        assert_eq!(form(a, b), Some(form_wanted), "{what}");
        assert!(product(form_wanted, a, b, &mut c), "{what}");
        assert_eq!(c, want, "{what}");
        c.fill(7.5);
        assert!(padded.iter().all(|&x| x == 7.5), "{what}: wrote outside C");
    }

    #[test]
    fn both_forms_agree_with_matrixmultiply_on_every_edge() {
        if !avx512() {
            eprintln!("no AVX-512 on this CPU: these kernels never run");
            return;
        }
        // Rows around the tiles of 12 and 4, columns around the strip of 32 and the tile
        // of 6, summation lengths around the vector of 16.
        for (m, k, n) in [
            (12, 5, 32),
            (1, 3, 32),
            (13, 7, 33),
            (25, 40, 64),
            (11, 2, 47),
            (30, 17, 95),
            (24, 1, 100),
            (7, 16, 37),
            (5, 33, 70),
        ] {
            let (a, b) = (integers(m, k, 1), integers(k, n, 2));
            let what = format!("{m}×{k}·{k}×{n}");
            check(
                Form::Strips,
                &a.view(),
                &b.view(),
                &format!("strips, {what}"),
            );
            // A stored column by column (a transposed operand), read in place.
            let a_cols = column_major(&a);
            check(
                Form::Strips,
                &a_cols.view(),
                &b.view(),
                &format!("strips, A by columns, {what}"),
            );
            // B stored column by column: the dot form (for k = 1, B's rows are contiguous
            // either way, and the strip form takes it).
            let b_cols = column_major(&b);
            if k > 1 {
                check(
                    Form::Dots,
                    &a.view(),
                    &b_cols.view(),
                    &format!("dots, {what}"),
                );
            }
        }
        // The dot form takes narrow products too, with any number of rows.
        for (m, k, n) in [(1, 2, 1), (3, 15, 5), (6, 50, 13), (300, 1000, 10)] {
            let (a, b) = (integers(m, k, 3), column_major(&integers(k, n, 4)));
            check(
                Form::Dots,
                &a.view(),
                &b.view(),
                &format!("dots, {m}×{k}·{k}×{n}"),
            );
        }
    }

    /// The adding network of the dot form sums each input's lanes by the tree its docs
    /// give, whatever slot the input takes.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_lane_network_adds_each_input_by_its_documented_tree() {
        use std::arch::x86_64::{__m512, _mm512_loadu_ps, _mm512_storeu_ps};
        if !avx512() {
            return;
        }
        fn tree(mut lanes: [f32; 16]) -> f32 {
            for width in [8, 4] {
                for l in 0..width {
                    lanes[l] += lanes[l + width];
                }
            }
            (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
        }
        // Magnitudes far apart, so that a different order changes the bits.
        let lanes = |n: usize| -> [f32; 16] {
            std::array::from_fn(|l| {
                ((n * 16 + l) as f32 * 0.37).sin() * 10f32.powi((l % 7) as i32 - 3)
            })
        };
        // SAFETY: the CPU has AVX-512 (checked above), and every pointer is to a local
        // array of 16 floats.
        unsafe {
            let inputs: [__m512; 16] = std::array::from_fn(|n| _mm512_loadu_ps(lanes(n).as_ptr()));
            let mut sums = [0f32; 16];
            _mm512_storeu_ps(sums.as_mut_ptr(), x86::add_lanes_of_16(&inputs));
            for (lane, &sum) in sums.iter().enumerate() {
                let input = 4 * (lane % 4) + lane / 4;
                assert_eq!(sum.to_bits(), tree(lanes(input)).to_bits(), "lane {lane}");
            }
        }
        // And the order matters for these lanes: a plain left-to-right sum differs.
        let plain: f32 = lanes(0).iter().sum();
        assert_ne!(plain.to_bits(), tree(lanes(0)).to_bits());
    }

    /// A block cut from a product the strip form took may be narrower than a strip: the
    /// kernel takes it (masked), though [`form`] would not choose the strip form for it.
    #[test]
    fn the_strip_kernel_takes_narrow_blocks() {
        if !avx512() {
            return;
        }
        let (a, b) = (integers(13, 9, 6), integers(9, 7, 7));
        let mut want = Array2::zeros((13, 7));
        general_mat_mul(1.0, &a.view(), &b.view(), 0.0, &mut want);
        let mut c = Array2::from_elem((13, 7), 7.5f32);
        assert_eq!(form(&a.view(), &b.view()), None);
        assert!(product(
            Form::Strips,
            &a.view(),
            &b.view(),
            &mut c.view_mut()
        ));
        assert_eq!(c, want);
    }

    #[test]
    fn declines_what_it_has_no_loop_for() {
        let a = integers::<f32>(4, 8, 3);
        let b = integers(8, 40, 4);
        let (a_cols, b_cols) = (column_major(&a), column_major(&b));
        // A and B both stored column by column.
        assert_eq!(form(&a_cols.view(), &b_cols.view()), None);
        // B by rows but narrower than a strip, A by columns.
        assert_eq!(form(&a_cols.view(), &integers(8, 31, 5).view()), None);
        // f64.
        let (a64, b64) = (a.mapv(f64::from), b.mapv(f64::from));
        assert_eq!(form(&a64.view(), &b64.view()), None);
        // A form that does not suit the operands is refused.
        let mut c = Array2::zeros((4, 40));
        assert!(!product(
            Form::Dots,
            &a.view(),
            &b.view(),
            &mut c.view_mut()
        ));
        // So is an output without contiguous rows.
        let mut c_cols = Array2::zeros((4, 40).f());
        assert!(!product(
            Form::Strips,
            &a.view(),
            &b.view(),
            &mut c_cols.view_mut()
        ));
    }
}
