//! A cache of large buffers, so that a training loop stops asking the operating system for
//! fresh memory at every step.
//!
//! glibc serves large allocations (above 128 KiB) with fresh pages and gives them back when
//! freed; touching those pages again costs a page fault and a page clearing per 4 KiB. In W3
//! (tanh over four million elements) that was three quarters of the step: 40 ms, of which
//! 29 ms in the kernel, against 11.6 ms with the pages kept. So the backend keeps the
//! buffers of dropped tensors (when it holds the last reference) and reuses them for new
//! tensors of similar size. Buffers of under `MIN_ELEMENTS` are left to the allocator,
//! which handles small ones well; at most `MAX_BYTES` are kept, per element type.
//! [`release_cached_memory`] empties the cache.

use std::sync::Mutex;

/// Buffers smaller than this many elements are not cached.
const MIN_ELEMENTS: usize = 1 << 15;

/// The most memory the cache keeps, per element type.
const MAX_BYTES: usize = 1 << 30;

/// A buffer is reused for a request of `n` elements if its capacity is at most this
/// many times `n`.
const MAX_WASTE: usize = 2;

/// The cached buffers of one element type.
pub struct BufferPool<T> {
    buffers: Mutex<Vec<Vec<T>>>,
}

impl<T> BufferPool<T> {
    /// An empty cache.
    pub const fn new() -> Self {
        BufferPool {
            buffers: Mutex::new(Vec::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Vec<T>>> {
        self.buffers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<T> Default for BufferPool<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// Element types with a buffer cache.
pub trait Pooled: Sized + 'static {
    /// This type's cache.
    fn pool() -> &'static BufferPool<Self>;
}

static F32_POOL: BufferPool<f32> = BufferPool::new();
static F64_POOL: BufferPool<f64> = BufferPool::new();

impl Pooled for f32 {
    fn pool() -> &'static BufferPool<f32> {
        &F32_POOL
    }
}

impl Pooled for f64 {
    fn pool() -> &'static BufferPool<f64> {
        &F64_POOL
    }
}

/// An empty vector with room for `n` elements, reusing a cached buffer if one fits.
pub fn take<T: Pooled>(n: usize) -> Vec<T> {
    if n >= MIN_ELEMENTS {
        let mut buffers = T::pool().lock();
        let best = buffers
            .iter()
            .enumerate()
            .filter(|(_, b)| b.capacity() >= n && b.capacity() <= MAX_WASTE * n)
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i);
        if let Some(i) = best {
            return buffers.swap_remove(i);
        }
    }
    Vec::with_capacity(n)
}

/// Keeps a buffer that is no longer needed for later reuse, if it is large and the cache
/// has room.
pub fn give<T: Pooled>(mut buffer: Vec<T>) {
    let capacity = buffer.capacity();
    if capacity < MIN_ELEMENTS {
        return;
    }
    buffer.clear();
    let mut buffers = T::pool().lock();
    let held: usize = buffers.iter().map(|b| b.capacity()).sum();
    if (held + capacity) * std::mem::size_of::<T>() <= MAX_BYTES {
        buffers.push(buffer);
    }
}

/// Frees every buffer the tensor backend keeps for reuse (for both element types). Memory
/// held by live tensors is not affected.
pub fn release_cached_memory() {
    F32_POOL.lock().clear();
    F64_POOL.lock().clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_a_buffer_that_fits_and_not_one_too_large() {
        // f64 buffers of unusual sizes, so that other tests' buffers do not interfere.
        let n = MIN_ELEMENTS + 12_345;
        let buffer: Vec<f64> = Vec::with_capacity(n);
        let address = buffer.as_ptr();
        give(buffer);
        let reused = take::<f64>(n - 10);
        assert_eq!(reused.as_ptr(), address);
        assert!(reused.is_empty() && reused.capacity() >= n - 10);
        give(reused);
        let other = take::<f64>(n / 3 + 1);
        assert_ne!(
            other.as_ptr(),
            address,
            "more than twice the size asked for"
        );
    }
}
