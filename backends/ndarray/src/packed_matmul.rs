//! Large `f32` products on AVX-512: both operands copied once into the layout the strip
//! kernel reads fastest (`avx512_matmul.rs`), then the product computed in blocks that
//! share those copies.
//!
//! Read in place, a large operand costs the strip kernel a new page at nearly every step
//! along the summation axis (rows of `B` are 4 KiB apart when `n` is 1024) and twelve
//! streams of `A` at once. Packed, each tile reads two contiguous streams: a *panel* of 12
//! rows of `A`, element `(r, p)` at `12p + r`, and a *strip* of 32 columns of `B`, row `p`
//! at `32p`. Every panel and strip is packed once per product, by both threads at once,
//! and every block then reads the same copies (matrixmultiply packs per call, so the blocks
//! ferrograd cuts for threads each packed `B` again).
//!
//! A block is 4 panels by 8 strips: its panels (192 KiB when `k` is 1024) stay in the
//! level-2 cache while its strips pass, each strip serving the 4 panels in turn. On W1L's
//! five products (2 threads, three alternated runs of a scratch timer) that took 24.3-24.8
//! ms against 26.0-26.8 through matrixmultiply; blocks of 16 panels by 2 strips, of 8 by
//! 8, and passes of 256 or 512 steps along the summation axis were slower or no faster.
//!
//! Every element of `C` is still one chain of fused multiply-adds over the whole summation
//! axis, in order: results are those of the strip form to the bit, on any number of
//! threads.

use crate::avx512_matmul::{self, STRIP, STRIP_ROWS};
use crate::{parallel, pool, Elem};
use ndarray::ArrayView2;
use std::any::TypeId;

/// Panels of `A` per block of work.
const BLOCK_PANELS: usize = 4;

/// Strips of `B` per block of work.
const BLOCK_STRIPS: usize = 8;

/// The longest summation axis packed: a strip of `B` that deep is 256 KiB, and a block's
/// four panels of `A` 384 KiB, which still share the level-2 cache. Deeper products keep
/// matrixmultiply, which also blocks along the summation axis.
const MAX_DEPTH: usize = 2048;

/// The most elements packed (both copies): 32 MiB of `f32`. The copies cost as much memory
/// as the operands (matrixmultiply's blocks cost a few MiB whatever the size), so larger
/// products keep matrixmultiply.
const MAX_PACKED: usize = 1 << 23;

/// Whether [`product`] computes `a · b`: `f32` on a CPU with AVX-512, with a summation
/// axis, at least a panel of rows and a strip of columns (narrower products would spend
/// most of the kernel's work on padding), and within [`MAX_DEPTH`] and [`MAX_PACKED`].
pub fn applies<T: Elem>(a: &ArrayView2<T>, b: &ArrayView2<T>) -> bool {
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    TypeId::of::<T>() == TypeId::of::<f32>()
        && avx512_matmul::avx512()
        && k > 0
        && k == b.nrows()
        && k <= MAX_DEPTH
        && m >= STRIP_ROWS
        && n >= STRIP
        && m * k + n.div_ceil(STRIP) * STRIP * k <= MAX_PACKED
}

/// `a · b`, row-major.
///
/// # Panics
/// If [`applies`] does not hold.
pub fn product<T: Elem>(a: &ArrayView2<T>, b: &ArrayView2<T>) -> Vec<T> {
    assert!(
        applies(a, b),
        "the packed kernel cannot compute this product"
    );
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    let (panels, strips) = (m.div_ceil(STRIP_ROWS), n.div_ceil(STRIP));
    let parallel = parallel::product_goes_parallel(1, m, n, k);

    // The panels, then the strips, in one buffer.
    let strips_at = m * k;
    let packed_len = strips_at + strips * STRIP * k;
    let mut packed = pool::take::<T>(packed_len);
    let to = parallel::DisjointWrites::spare_of(&mut packed);
    let to = &to;
    let (from_a, from_b) = (Strided::of(a), Strided::of(b));
    let tasks: Vec<Pack> = (0..panels)
        .map(Pack::Panel)
        .chain((0..strips).map(Pack::Strip))
        .collect();
    parallel::for_each(tasks, parallel, |task| match task {
        // SAFETY: panel `t` writes its rows times `k` elements from `12·k·t` (below
        // `m·k`), strip `s` writes `32·k` from `m·k + 32·k·s`: within the capacity, and no
        // two tasks write the same element.
        Pack::Panel(t) => unsafe {
            pack_panel(
                &from_a,
                t,
                m,
                k,
                to.ptr().cast::<f32>().add(t * STRIP_ROWS * k),
            )
        },
        Pack::Strip(s) => unsafe {
            pack_strip(
                &from_b,
                s,
                k,
                n,
                to.ptr().cast::<f32>().add(strips_at + s * STRIP * k),
            )
        },
    });
    // SAFETY: the tasks wrote every element.
    unsafe { packed.set_len(packed_len) };

    let mut out = pool::take::<T>(m * n);
    let c = &parallel::DisjointWrites::spare_of(&mut out);
    let from = packed.as_slice();
    let blocks: Vec<(usize, usize)> = (0..panels)
        .step_by(BLOCK_PANELS)
        .flat_map(|t| (0..strips).step_by(BLOCK_STRIPS).map(move |s| (t, s)))
        .collect();
    parallel::for_each(blocks, parallel, |(t, s)| {
        let (panels, strips) = (
            t..(t + BLOCK_PANELS).min(panels),
            s..(s + BLOCK_STRIPS).min(strips),
        );
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `applies` checked AVX-512; the packed buffer holds every panel and strip;
        // the block's tiles of the `m × n` output (row stride `n`) lie within its capacity,
        // and no other block writes them.
        unsafe {
            avx512_matmul::x86::packed_tiles(
                from.as_ptr().cast::<f32>(),
                from[strips_at..].as_ptr().cast::<f32>(),
                (c.ptr().cast::<f32>(), n),
                (m, k, n),
                panels,
                strips,
            )
        }
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("`applies` holds only on x86-64 ({panels:?}, {strips:?})")
    });
    // SAFETY: the blocks tile the output, and every tile writes all of its elements.
    unsafe { out.set_len(m * n) };
    pool::give(packed);
    out
}

/// A piece of the packing: a panel of `A` or a strip of `B`, by index.
enum Pack {
    Panel(usize),
    Strip(usize),
}

/// A matrix as a pointer and strides in elements, which may be negative.
struct Strided {
    ptr: *const f32,
    rows: isize,
    cols: isize,
}

impl Strided {
    fn of<T: Elem>(x: &ArrayView2<T>) -> Strided {
        Strided {
            ptr: x.as_ptr().cast::<f32>(),
            rows: x.strides()[0],
            cols: x.strides()[1],
        }
    }

    /// # Safety
    /// `(i, j)` lies within the matrix.
    unsafe fn at(&self, i: usize, j: usize) -> f32 {
        *self
            .ptr
            .offset(i as isize * self.rows + j as isize * self.cols)
    }
}

// SAFETY: a `Strided` only reads the matrix it was made from, which outlives its use and
// is not written meanwhile; `f32`s cross threads as plain numbers.
unsafe impl Sync for Strided {}

/// Steps along the summation axis per block of a packing loop that reads and writes with
/// different strides: both sides of the block stay in the level-1 cache.
const PACK_BLOCK: usize = 64;

/// Copies `len` adjacent elements for each step `p < k`, from `src(p)` to `dst + step·p`.
/// A whole row of a panel or strip (`len == WHOLE`) is copied with its length known at
/// compile time: a few vector moves instead of a call to `memmove`.
///
/// # Safety
/// Each `src(p)` is valid for `len` reads, and `dst` for writes of `step·(k − 1) + len`.
unsafe fn copy_steps<const WHOLE: usize>(
    src: impl Fn(usize) -> *const f32,
    k: usize,
    len: usize,
    dst: *mut f32,
    step: usize,
) {
    if len == WHOLE {
        for p in 0..k {
            std::ptr::copy_nonoverlapping(src(p), dst.add(step * p), WHOLE);
        }
    } else {
        for p in 0..k {
            std::ptr::copy_nonoverlapping(src(p), dst.add(step * p), len);
        }
    }
}

/// Packs rows `12t ..` (up to 12) of `a` into `dst`: element `(r, p)` at `r + rows·p`.
///
/// # Safety
/// `dst` is valid for `rows · k` writes.
unsafe fn pack_panel(a: &Strided, t: usize, m: usize, k: usize, dst: *mut f32) {
    let first = t * STRIP_ROWS;
    let rows = (m - first).min(STRIP_ROWS);
    if a.rows == 1 || rows == 1 {
        // The panel's elements at each step are adjacent (a transposed `A`).
        let src = |p: usize| a.ptr.offset(first as isize * a.rows + p as isize * a.cols);
        copy_steps::<STRIP_ROWS>(src, k, rows, dst, rows);
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if a.cols == 1 && a.rows > 0 && rows == STRIP_ROWS {
        // Rows contiguous (the usual `A`): transposed in registers, rows 0-7 in blocks of
        // 8 × 8 and rows 8-11 in blocks of 4 × 4, 8 steps at a time.
        let row = |r: usize| a.ptr.offset((first + r) as isize * a.rows);
        let stride = a.rows as usize;
        let steps = k / 8 * 8;
        for p in (0..steps).step_by(8) {
            // SAFETY: `applies` checked AVX-512F (which includes AVX and SSE); rows
            // `first .. first + 12` and steps `p .. p + 8` lie within `a`, and rows
            // `p .. p + 8` of the panel within `dst`.
            x86::transpose_8x8(row(0).add(p), stride, dst.add(STRIP_ROWS * p), STRIP_ROWS);
            for half in [0, 4] {
                x86::transpose_4x4(
                    row(8).add(p + half),
                    stride,
                    dst.add(STRIP_ROWS * (p + half) + 8),
                    STRIP_ROWS,
                );
            }
        }
        for p in steps..k {
            for r in 0..rows {
                *dst.add(r + rows * p) = a.at(first + r, p);
            }
        }
        return;
    }
    for p0 in (0..k).step_by(PACK_BLOCK) {
        let end = (p0 + PACK_BLOCK).min(k);
        for r in 0..rows {
            for p in p0..end {
                *dst.add(r + rows * p) = a.at(first + r, p);
            }
        }
    }
}

/// Packs columns `32s ..` of `b` into `dst`: element `(p, q)` at `32p + q`, zeros past the
/// last column.
///
/// # Safety
/// `dst` is valid for `32 · k` writes.
unsafe fn pack_strip(b: &Strided, s: usize, k: usize, n: usize, dst: *mut f32) {
    let first = s * STRIP;
    let width = (n - first).min(STRIP);
    if width < STRIP {
        for p in 0..k {
            std::ptr::write_bytes(dst.add(STRIP * p + width), 0, STRIP - width);
        }
    }
    if b.cols == 1 || width == 1 {
        // Rows contiguous: a copy per step.
        let src = |p: usize| b.ptr.offset(p as isize * b.rows + first as isize * b.cols);
        copy_steps::<STRIP>(src, k, width, dst, STRIP);
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if b.rows == 1 && b.cols > 0 {
        // Columns contiguous (`Wᵀ` of a weight stored `[out, in]`): transposed in blocks of
        // 8 × 8 in registers, 8 columns by 8 steps at a time.
        let groups = width / 8 * 8;
        let steps = k / 8 * 8;
        for q in (0..groups).step_by(8) {
            let column = b.ptr.offset((first + q) as isize * b.cols);
            for p in (0..steps).step_by(8) {
                // SAFETY: `applies` checked AVX-512F (which includes AVX); columns
                // `first + q .. + 8` and steps `p .. p + 8` lie within `b`, and rows
                // `p .. p + 8` of the strip within `dst`.
                x86::transpose_8x8(
                    column.add(p),
                    b.cols as usize,
                    dst.add(STRIP * p + q),
                    STRIP,
                );
            }
        }
        for p in 0..k {
            let from_q = if p < steps { groups } else { 0 };
            for q in from_q..width {
                *dst.add(STRIP * p + q) = b.at(p, first + q);
            }
        }
        return;
    }
    for p0 in (0..k).step_by(PACK_BLOCK) {
        let end = (p0 + PACK_BLOCK).min(k);
        for q in 0..width {
            for p in p0..end {
                *dst.add(STRIP * p + q) = b.at(p, first + q);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// Writes the transpose of the 4 × 4 block at `src` (rows `src_stride` apart) to `dst`
    /// (rows `dst_stride` apart).
    ///
    /// # Safety
    /// The CPU has SSE; both blocks lie within valid memory, `dst`'s for writes.
    #[target_feature(enable = "sse")]
    pub unsafe fn transpose_4x4(
        src: *const f32,
        src_stride: usize,
        dst: *mut f32,
        dst_stride: usize,
    ) {
        let row = |i: usize| _mm_loadu_ps(src.add(i * src_stride));
        let (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3));
        let (t0, t1) = (_mm_unpacklo_ps(r0, r1), _mm_unpackhi_ps(r0, r1));
        let (t2, t3) = (_mm_unpacklo_ps(r2, r3), _mm_unpackhi_ps(r2, r3));
        let out = [
            _mm_movelh_ps(t0, t2),
            _mm_movehl_ps(t2, t0),
            _mm_movelh_ps(t1, t3),
            _mm_movehl_ps(t3, t1),
        ];
        for (i, v) in out.into_iter().enumerate() {
            _mm_storeu_ps(dst.add(i * dst_stride), v);
        }
    }

    /// Writes the transpose of the 8 × 8 block at `src` (rows `src_stride` apart) to `dst`
    /// (rows `dst_stride` apart).
    ///
    /// # Safety
    /// The CPU has AVX; both blocks lie within valid memory, `dst`'s for writes.
    #[target_feature(enable = "avx")]
    pub unsafe fn transpose_8x8(
        src: *const f32,
        src_stride: usize,
        dst: *mut f32,
        dst_stride: usize,
    ) {
        let row = |i: usize| _mm256_loadu_ps(src.add(i * src_stride));
        let (r0, r1, r2, r3, r4, r5, r6, r7) = (
            row(0),
            row(1),
            row(2),
            row(3),
            row(4),
            row(5),
            row(6),
            row(7),
        );
        // Pairs of rows interleaved, then pairs of pairs, then the 128-bit halves swapped.
        let (t0, t1) = (_mm256_unpacklo_ps(r0, r1), _mm256_unpackhi_ps(r0, r1));
        let (t2, t3) = (_mm256_unpacklo_ps(r2, r3), _mm256_unpackhi_ps(r2, r3));
        let (t4, t5) = (_mm256_unpacklo_ps(r4, r5), _mm256_unpackhi_ps(r4, r5));
        let (t6, t7) = (_mm256_unpacklo_ps(r6, r7), _mm256_unpackhi_ps(r6, r7));
        let (u0, u1) = (
            _mm256_shuffle_ps::<0b01_00_01_00>(t0, t2),
            _mm256_shuffle_ps::<0b11_10_11_10>(t0, t2),
        );
        let (u2, u3) = (
            _mm256_shuffle_ps::<0b01_00_01_00>(t1, t3),
            _mm256_shuffle_ps::<0b11_10_11_10>(t1, t3),
        );
        let (u4, u5) = (
            _mm256_shuffle_ps::<0b01_00_01_00>(t4, t6),
            _mm256_shuffle_ps::<0b11_10_11_10>(t4, t6),
        );
        let (u6, u7) = (
            _mm256_shuffle_ps::<0b01_00_01_00>(t5, t7),
            _mm256_shuffle_ps::<0b11_10_11_10>(t5, t7),
        );
        let out = [
            _mm256_permute2f128_ps::<0x20>(u0, u4),
            _mm256_permute2f128_ps::<0x20>(u1, u5),
            _mm256_permute2f128_ps::<0x20>(u2, u6),
            _mm256_permute2f128_ps::<0x20>(u3, u7),
            _mm256_permute2f128_ps::<0x31>(u0, u4),
            _mm256_permute2f128_ps::<0x31>(u1, u5),
            _mm256_permute2f128_ps::<0x31>(u2, u6),
            _mm256_permute2f128_ps::<0x31>(u3, u7),
        ];
        for (i, v) in out.into_iter().enumerate() {
            _mm256_storeu_ps(dst.add(i * dst_stride), v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_matrices::{by_matrixmultiply, column_major, integers};
    use ndarray::{s, Array2};

    fn check(a: &ArrayView2<f32>, b: &ArrayView2<f32>, what: &str) {
        let got = Array2::from_shape_vec((a.nrows(), b.ncols()), product(a, b)).unwrap();
        assert_eq!(got, by_matrixmultiply(a, b), "{what}");
    }

    #[test]
    fn agrees_with_matrixmultiply_on_every_edge_and_layout() {
        if !avx512_matmul::avx512() {
            eprintln!("no AVX-512 on this CPU: this kernel never runs");
            return;
        }
        // Rows around the panel of 12, columns around the strip of 32 and the transposing
        // block of 8, summation lengths around the block of 8.
        for (m, k, n) in [
            (12, 8, 32),
            (12, 1, 32),
            (13, 7, 33),
            (23, 9, 63),
            (25, 17, 70),
            (50, 130, 65),
            (14, 16, 41),
        ] {
            let (a, b) = (integers(m, k, 1), integers(k, n, 2));
            let (a_cols, b_cols) = (column_major(&a), column_major(&b));
            let what = format!("{m}×{k}·{k}×{n}");
            check(&a.view(), &b.view(), &format!("rows, rows, {what}"));
            check(&a_cols.view(), &b.view(), &format!("columns, rows, {what}"));
            check(&a.view(), &b_cols.view(), &format!("rows, columns, {what}"));
            check(
                &a_cols.view(),
                &b_cols.view(),
                &format!("columns, columns, {what}"),
            );
        }
        // Neither rows nor columns contiguous, and negative strides.
        let a = integers(30, 40, 3);
        let b = integers(40, 90, 4);
        check(
            &a.slice(s![..;2, ..;2]),
            &b.slice(s![..;2, ..;2]),
            "every other row and column",
        );
        check(
            &a.slice(s![..;-1, ..;-2]),
            &b.slice(s![..;-2, ..;-1]),
            "reversed",
        );
    }

    /// Each element is the strip form's chain of fused multiply-adds: the same bits on data
    /// where the order of rounding shows.
    #[test]
    fn the_same_bits_as_the_strip_form() {
        if !avx512_matmul::avx512() {
            return;
        }
        let real = |rows: usize, cols: usize, seed: usize| {
            Array2::from_shape_fn((rows, cols), |(i, j)| {
                (((i * 31 + j * 17 + seed) as f32) * 0.37).sin() * 10f32.powi((j % 5) as i32 - 2)
            })
        };
        let (a, b) = (real(37, 300, 1), real(300, 70, 2));
        let (a, b) = (a.view(), b.view());
        assert_eq!(
            avx512_matmul::form(&a, &b),
            Some(avx512_matmul::Form::Strips)
        );
        let mut strips = Array2::zeros((37, 70));
        // SAFETY: `strips` is a 37 × 70 row-major array, ours alone.
        unsafe {
            avx512_matmul::product_into(
                avx512_matmul::Form::Strips,
                &a,
                &b,
                strips.as_mut_ptr(),
                70,
            )
        };
        let packed = Array2::from_shape_vec((37, 70), product(&a, &b)).unwrap();
        let bits = |x: &Array2<f32>| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&packed), bits(&strips));
        // The data rounds: a different order of summation (matrixmultiply's) differs.
        assert_ne!(bits(&packed), bits(&by_matrixmultiply(&a, &b)));
    }

    #[test]
    fn declines_f64_empty_sums_and_narrow_products() {
        let (a, b) = (integers::<f32>(11, 5, 1), integers(5, 40, 2));
        assert!(!applies(&a.view(), &b.view()), "fewer rows than a panel");
        let (a, b) = (integers::<f32>(20, 5, 1), integers(5, 31, 2));
        assert!(!applies(&a.view(), &b.view()), "fewer columns than a strip");
        let (a, b) = (
            Array2::<f32>::zeros((12, 2049)),
            Array2::<f32>::zeros((2049, 32)),
        );
        assert!(!applies(&a.view(), &b.view()), "a summation axis over 2048");
        let (a, b) = (
            Array2::<f32>::zeros((12, 2048)),
            Array2::<f32>::zeros((2048, 32)),
        );
        assert!(
            applies(&a.view(), &b.view()) || !avx512_matmul::avx512(),
            "a summation axis of 2048"
        );
        let (a, b) = (
            Array2::<f32>::zeros((4100, 2048)),
            Array2::<f32>::zeros((2048, 96)),
        );
        assert!(!applies(&a.view(), &b.view()), "over 2^23 elements to pack");
        let a = Array2::<f64>::zeros((4, 3));
        let b = Array2::<f64>::zeros((3, 5));
        assert!(!applies(&a.view(), &b.view()));
        let a = Array2::<f32>::zeros((4, 0));
        let b = Array2::<f32>::zeros((0, 5));
        assert!(!applies(&a.view(), &b.view()));
    }
}
