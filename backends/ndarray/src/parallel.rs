//! Every parallelism decision of the backend, in one place.
//!
//! Small tensors never touch the rayon pool: handing work to another thread costs a few
//! microseconds, more than a kernel over a few thousand elements. Above the thresholds,
//! work is split into pieces whose boundaries depend only on the sizes involved, never on
//! the number of threads, and partial results are combined in a fixed order: results are
//! the same to the bit whatever `RAYON_NUM_THREADS` is.

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

/// Window (im2col) and indexing kernels go parallel from this many elements.
pub const COPY_MIN: usize = 1 << 16;

/// The minimum number of elements one parallel elementwise task handles.
const ELEMENTWISE_TASK: usize = 1 << 14;

/// `f` over `src`, in parallel for large inputs.
pub fn map<T, F>(src: &[T], f: F) -> Vec<T>
where
    T: Copy + Send + Sync,
    F: Fn(T) -> T + Send + Sync,
{
    if src.len() < ELEMENTWISE_MIN {
        src.iter().map(|&x| f(x)).collect()
    } else {
        let mut out = Vec::with_capacity(src.len());
        src.par_iter()
            .with_min_len(ELEMENTWISE_TASK)
            .map(|&x| f(x))
            .collect_into_vec(&mut out);
        out
    }
}

/// `f` over pairs of `a` and `b` (equal lengths), in parallel for large inputs.
pub fn zip_map<T, F>(a: &[T], b: &[T], f: F) -> Vec<T>
where
    T: Copy + Send + Sync,
    F: Fn(T, T) -> T + Send + Sync,
{
    debug_assert_eq!(a.len(), b.len());
    if a.len() < ELEMENTWISE_MIN {
        a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect()
    } else {
        let mut out = Vec::with_capacity(a.len());
        a.par_iter()
            .zip(b.par_iter())
            .with_min_len(ELEMENTWISE_TASK)
            .map(|(&x, &y)| f(x, y))
            .collect_into_vec(&mut out);
        out
    }
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
