//! Whether operations record a graph: `no_grad` and friends.
//!
//! The switch is per thread, like PyTorch's: a `no_grad` block on one thread does not
//! affect graphs built on others (and rayon workers start with recording on).
//!
//! A rayon worker that waits inside a parallel kernel may meanwhile run another task of
//! its pool, which then sees the worker's switch: off, if the kernel belongs to a backward
//! pass or a `no_grad` block. A task that must record its graph whatever thread takes it
//! up wraps its work in [`enable_grad`], as
//! [`backward_shards`](crate::data_parallel::backward_shards) does for each shard.

use std::cell::Cell;

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// Whether operations on this thread currently record a graph.
#[inline]
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(Cell::get)
}

/// Runs `f` without recording a graph: every result is a constant. Use it for
/// evaluation, and to update parameters by hand.
///
/// ```
/// use ferrograd::{no_grad, Variable};
/// use ferrograd_scalar::Scalar;
///
/// let x = Variable::<Scalar<f64>>::scalar(3.0).requires_grad();
/// let y = no_grad(|| &x * &x);
/// assert!(!y.is_tracked());
/// assert_eq!(y.item(), 9.0);
/// ```
pub fn no_grad<R>(f: impl FnOnce() -> R) -> R {
    with_grad_mode(false, f)
}

/// Runs `f` recording a graph, even inside [`no_grad`].
pub fn enable_grad<R>(f: impl FnOnce() -> R) -> R {
    with_grad_mode(true, f)
}

/// Runs `f` with recording set to `enabled`, restoring the previous mode afterwards, also
/// when `f` panics.
pub(crate) fn with_grad_mode<R>(enabled: bool, f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            GRAD_ENABLED.with(|g| g.set(self.0));
        }
    }
    let _restore = Restore(GRAD_ENABLED.with(|g| g.replace(enabled)));
    f()
}
