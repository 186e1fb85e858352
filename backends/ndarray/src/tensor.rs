//! The backend's value type: a shared n-dimensional array that returns its buffer to the
//! cache (see `pool.rs`) when its last handle is dropped.

use crate::pool::{self, Pooled};
use ndarray::{ArcArray, ArrayD, IxDyn};
use std::fmt;
use std::ops::Deref;

/// A shared n-dimensional array (ndarray's `ArcArray`): cloning shares the data, and views
/// (reshape, transpose, slices) share it where they can. It dereferences to the array for
/// reading.
pub struct Tensor<T: Pooled> {
    array: ArcArray<T, IxDyn>,
}

impl<T: Pooled + Clone> Tensor<T> {
    /// The array handle itself (a cheap clone), for operations that consume one.
    pub fn arc(&self) -> ArcArray<T, IxDyn> {
        self.array.clone()
    }
}

impl<T: Pooled> Deref for Tensor<T> {
    type Target = ArcArray<T, IxDyn>;

    fn deref(&self) -> &ArcArray<T, IxDyn> {
        &self.array
    }
}

impl<T: Pooled> Clone for Tensor<T> {
    fn clone(&self) -> Self {
        Tensor {
            array: self.array.clone(),
        }
    }
}

impl<T: Pooled + fmt::Debug> fmt::Debug for Tensor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.array.fmt(f)
    }
}

impl<T: Pooled> From<ArcArray<T, IxDyn>> for Tensor<T> {
    fn from(array: ArcArray<T, IxDyn>) -> Self {
        Tensor { array }
    }
}

impl<T: Pooled + Clone> From<ArrayD<T>> for Tensor<T> {
    fn from(array: ArrayD<T>) -> Self {
        Tensor {
            array: array.into_shared(),
        }
    }
}

impl<T: Pooled> Drop for Tensor<T> {
    fn drop(&mut self) {
        // Only the last handle on a large buffer gives it back.
        if self.array.len() >= 4096 && self.array.is_unique() {
            let array = std::mem::replace(
                &mut self.array,
                ArcArray::from_shape_vec(IxDyn(&[0]), Vec::new()).expect("empty"),
            );
            if let Ok(owned) = array.try_into_owned_nocopy() {
                let (buffer, _) = owned.into_raw_vec_and_offset();
                pool::give(buffer);
            }
        }
    }
}
