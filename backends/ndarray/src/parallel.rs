//! Every parallelism decision of the backend, in one place.
//!
//! Small tensors never touch the rayon pool: handing work to another thread costs a few
//! microseconds, more than a kernel over a few thousand elements. Above the thresholds,
//! work is split into pieces whose boundaries depend only on the sizes involved, never on
//! the number of threads, and partial results are combined in a fixed order: results are
//! the same to the bit whatever `RAYON_NUM_THREADS` is.

use crate::pool::{self, Pooled};
use crate::simd;
use rayon::prelude::*;

/// Elementwise kernels go parallel from this many elements.
pub const ELEMENTWISE_MIN: usize = 1 << 16;

/// Reductions go parallel from this many elements.
pub const REDUCTION_MIN: usize = 1 << 16;

/// The fixed piece size of a parallel reduction: partial sums over pieces of this many
/// elements are combined in order.
pub const REDUCTION_CHUNK: usize = 1 << 14;

/// Matrix products go parallel from this many floating-point operations (2·m·n·k).
pub const MATMUL_MIN_FLOPS: usize = 1 << 21;

/// Whether `count` products of `m × k` by `k × n` are worth sharing out between threads.
pub fn product_goes_parallel(count: usize, m: usize, n: usize, k: usize) -> bool {
    2 * count * m * n * k >= MATMUL_MIN_FLOPS
}

/// From this many elements of B, a matrix product is cut into two halves of rows instead
/// of blocks of 64 rows, each of which repacks all of B (see `matmul::block_shape`).
pub const MATMUL_LARGE_B: usize = 1 << 18;

/// Window (im2col) and indexing kernels go parallel from this many elements.
pub const COPY_MIN: usize = 1 << 16;

/// A backward pass runs on a pool thread when a value near its root has this many
/// elements (see [`in_pool`]); smaller passes stay on the caller's thread, where their
/// tensors were made: for a graph of many tiny ops (W5 on tensors) moving the pass to
/// another thread cost 19% of the step.
pub const POOL_BACKWARD_MIN: usize = 1 << 14;

/// The minimum number of elements one parallel elementwise task handles.
pub const ELEMENTWISE_TASK: usize = 1 << 14;

/// The unfilled capacity of a buffer, which parallel tasks write in disjoint parts through
/// [`ptr`](Self::ptr) (each task's `unsafe` block says which part is its own). The caller
/// sets the buffer's length once every element is written.
pub struct DisjointWrites<T>(*mut T);

impl<T> DisjointWrites<T> {
    /// The capacity of `buffer` beyond its length.
    pub fn spare_of(buffer: &mut Vec<T>) -> Self {
        DisjointWrites(buffer.spare_capacity_mut().as_mut_ptr().cast::<T>())
    }

    /// The first unfilled element.
    pub fn ptr(&self) -> *mut T {
        self.0
    }
}

// SAFETY: the tasks sharing it write disjoint elements (their callers vouch for it), so
// sharing the pointer between threads creates no data race; `T` values cross threads as
// plain numbers.
unsafe impl<T: Send> Sync for DisjointWrites<T> {}

/// Runs `work` on a thread of the rayon pool (in place if this already is one), so that
/// the parallel kernels inside it fork within the pool. Handing a kernel's work to the pool
/// from an outside thread wakes a sleeping worker and blocks on a latch each time; a
/// backward pass of W1 (batch 128) has about ten such kernels, and running the pass in the
/// pool made the step about 8% faster (`benches/w1_mlp.rs`, see BENCHMARKS.md).
pub fn in_pool<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() {
        work()
    } else {
        rayon::scope(|_| work())
    }
}

/// `f` over `src`, in parallel for large inputs.
pub fn map<T, F>(src: &[T], f: F) -> Vec<T>
where
    T: Copy + Send + Sync + Pooled,
    F: Fn(T) -> T + Send + Sync,
{
    let n = src.len();
    let mut out = pool::take(n);
    let dst = &mut out.spare_capacity_mut()[..n];
    if n < ELEMENTWISE_MIN {
        simd::map(src, dst, &f);
    } else {
        dst.par_chunks_mut(ELEMENTWISE_TASK)
            .zip(src.par_chunks(ELEMENTWISE_TASK))
            .for_each(|(d, s)| simd::map(s, d, &f));
    }
    // SAFETY: `simd::map` wrote every one of the `n` elements (a panic in `f` would have
    // left `out` empty instead).
    unsafe { out.set_len(n) };
    out
}

/// `f` over pairs of `a` and `b` (equal lengths), in parallel for large inputs.
pub fn zip_map<T, F>(a: &[T], b: &[T], f: F) -> Vec<T>
where
    T: Copy + Send + Sync + Pooled,
    F: Fn(T, T) -> T + Send + Sync,
{
    assert_eq!(a.len(), b.len(), "zip_map: lengths differ");
    let n = a.len();
    let mut out = pool::take(n);
    let dst = &mut out.spare_capacity_mut()[..n];
    if n < ELEMENTWISE_MIN {
        simd::zip(a, b, dst, &f);
    } else {
        dst.par_chunks_mut(ELEMENTWISE_TASK)
            .zip(
                a.par_chunks(ELEMENTWISE_TASK)
                    .zip(b.par_chunks(ELEMENTWISE_TASK)),
            )
            .for_each(|(d, (x, y))| simd::zip(x, y, d, &f));
    }
    // SAFETY: `simd::zip` wrote every one of the `n` elements.
    unsafe { out.set_len(n) };
    out
}

/// `f(x, row[j])` over `xs` taken as rows of `width`, the same `row` for every one (a
/// bias added to each row).
pub fn zip_rows<T, F>(xs: &[T], row: &[T], width: usize, f: F) -> Vec<T>
where
    T: Copy + Send + Sync + Pooled,
    F: Fn(T, T) -> T + Send + Sync,
{
    debug_assert_eq!(xs.len() % width, 0);
    let n = xs.len();
    let mut out = pool::take(n);
    let dst = &mut out.spare_capacity_mut()[..n];
    let rows = |d: &mut [std::mem::MaybeUninit<T>], s: &[T]| {
        for (d, s) in d.chunks_exact_mut(width).zip(s.chunks_exact(width)) {
            simd::zip(s, row, d, &f);
        }
    };
    if n < ELEMENTWISE_MIN {
        rows(dst, xs);
    } else {
        let task = width * (ELEMENTWISE_TASK / width).max(1);
        dst.par_chunks_mut(task)
            .zip(xs.par_chunks(task))
            .for_each(|(d, s)| rows(d, s));
    }
    // SAFETY: every row of `dst` was written by `simd::zip`.
    unsafe { out.set_len(n) };
    out
}

/// `f(x, values[r])` over `xs` taken as runs of `run` elements, run `r` meeting
/// `values[r]` (a per-channel bias over images).
pub fn zip_runs<T, F>(xs: &[T], values: &[T], run: usize, f: F) -> Vec<T>
where
    T: Copy + Send + Sync + Pooled,
    F: Fn(T, T) -> T + Send + Sync,
{
    debug_assert_eq!(xs.len(), values.len() * run);
    let n = xs.len();
    let mut out = pool::take(n);
    let dst = &mut out.spare_capacity_mut()[..n];
    let runs = |d: &mut [std::mem::MaybeUninit<T>], s: &[T], first: usize| {
        for (r, (d, s)) in d.chunks_exact_mut(run).zip(s.chunks_exact(run)).enumerate() {
            let v = values[first + r];
            simd::map(s, d, |x| f(x, v));
        }
    };
    if n < ELEMENTWISE_MIN {
        runs(dst, xs, 0);
    } else {
        let per_task = (ELEMENTWISE_TASK / run).max(1);
        dst.par_chunks_mut(per_task * run)
            .zip(xs.par_chunks(per_task * run))
            .enumerate()
            .for_each(|(t, (d, s))| runs(d, s, t * per_task));
    }
    // SAFETY: every run of `dst` was written by `simd::map`.
    unsafe { out.set_len(n) };
    out
}

/// Runs `f` on each item, in parallel when `parallel` holds.
pub fn for_each<I, F>(items: Vec<I>, parallel: bool, f: F)
where
    I: Send,
    F: Fn(I) + Send + Sync,
{
    if parallel {
        items.into_par_iter().for_each(f);
    } else {
        items.into_iter().for_each(f);
    }
}

/// Sums `src` with a fixed association: pieces of `REDUCTION_CHUNK` elements summed with
/// [`sum_serial`], then the partial sums in order. The same result on any number of threads.
pub fn sum<T>(src: &[T], zero: T) -> T
where
    T: Copy + Send + Sync + std::ops::Add<Output = T>,
{
    if src.len() < REDUCTION_MIN {
        return sum_serial(src, zero);
    }
    let partials: Vec<T> = src
        .par_chunks(REDUCTION_CHUNK)
        .map(|piece| sum_serial(piece, zero))
        .collect();
    partials.into_iter().fold(zero, |acc, x| acc + x)
}

/// Sums with eight interleaved accumulators (which the compiler vectorises), then combines
/// them in a fixed order.
pub fn sum_serial<T>(src: &[T], zero: T) -> T
where
    T: Copy + std::ops::Add<Output = T>,
{
    let mut lanes = [zero; 8];
    let mut chunks = src.chunks_exact(8);
    for chunk in &mut chunks {
        for (lane, &x) in lanes.iter_mut().zip(chunk) {
            *lane = *lane + x;
        }
    }
    let tail = chunks.remainder().iter().fold(zero, |acc, &x| acc + x);
    let pairs = [
        lanes[0] + lanes[4],
        lanes[1] + lanes[5],
        lanes[2] + lanes[6],
        lanes[3] + lanes[7],
    ];
    (pairs[0] + pairs[2]) + (pairs[1] + pairs[3]) + tail
}
