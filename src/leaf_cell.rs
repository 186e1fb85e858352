//! Where a leaf keeps its value: [`LeafCell`] and its two implementations.
//!
//! A parameter's value is read by every op that uses it (in a scalar graph, once per
//! weight per sample, forward and backward) and replaced in place by an optimizer, from
//! whichever thread holds a handle. A read-write lock serves any value; for one number a
//! lock's two atomic read-modify-writes per read are most of the cost of the read, so the
//! scalar backend keeps the number's bits in an atomic integer, which reads with a load.

use crate::element::Element;
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};

/// Storage for a leaf's value, chosen by the backend ([`Ops::Leaf`](crate::Ops::Leaf)):
/// readable from any thread, replaceable in place.
pub trait LeafCell<T>: Send + Sync {
    /// A cell holding `value`.
    fn new(value: T) -> Self;

    /// The value (a copy, or a clone, which for tensors is a reference count).
    fn get(&self) -> T;

    /// Replaces the value.
    fn set(&self, value: T);
}

/// A [`LeafCell`] for any value: a read-write lock.
pub struct LockedCell<T>(RwLock<T>);

impl<T: Clone + Send + Sync> LeafCell<T> for LockedCell<T> {
    fn new(value: T) -> Self {
        LockedCell(RwLock::new(value))
    }

    fn get(&self) -> T {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set(&self, value: T) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = value;
    }
}

impl<T: fmt::Debug + Clone + Send + Sync> fmt::Debug for LockedCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LockedCell").field(&self.get()).finish()
    }
}

/// A [`LeafCell`] for one number: its bits in an atomic integer.
pub struct AtomicCell<T: Element> {
    bits: AtomicU64,
    element: PhantomData<T>,
}

impl<T: Element> LeafCell<T> for AtomicCell<T> {
    fn new(value: T) -> Self {
        AtomicCell {
            bits: AtomicU64::new(value.to_bits64()),
            element: PhantomData,
        }
    }

    fn get(&self) -> T {
        T::from_bits64(self.bits.load(Ordering::Acquire))
    }

    fn set(&self, value: T) {
        self.bits.store(value.to_bits64(), Ordering::Release);
    }
}

impl<T: Element> fmt::Debug for AtomicCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AtomicCell").field(&self.get()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_cells_keep_every_bit() {
        for x in [0.0, -0.0, 1.5, f64::MIN_POSITIVE, f64::INFINITY, -3.25e300] {
            let cell = AtomicCell::new(x);
            assert_eq!(cell.get().to_bits(), x.to_bits());
            cell.set(-x);
            assert_eq!(cell.get().to_bits(), (-x).to_bits());
        }
        let cell = AtomicCell::new(f32::NAN);
        assert!(cell.get().is_nan());
        cell.set(-1e-40f32);
        assert_eq!(cell.get().to_bits(), (-1e-40f32).to_bits());
    }

    #[test]
    fn locked_cells_replace_their_value() {
        let cell = LockedCell::new(vec![1.0, 2.0]);
        cell.set(vec![3.0]);
        assert_eq!(cell.get(), [3.0]);
    }
}
