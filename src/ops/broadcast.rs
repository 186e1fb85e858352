//! Broadcasting as an op (`expand`) and its backward (`sum_to`), each the other's derivative.

use crate::backend::Backend;
use crate::shape::broadcasts_to;
use crate::variable::Variable;

impl<B: Backend> Variable<B> {
    /// Repeats this value along new leading dimensions and size-1 dimensions to `shape`
    /// (PyTorch's `expand`, `broadcast_to`).
    ///
    /// # Panics
    /// If this shape does not broadcast to `shape`.
    #[track_caller]
    pub fn expand(&self, shape: &[usize]) -> Self {
        let x = self.value_ref();
        let from = B::shape(&x);
        if from == shape {
            return self.clone();
        }
        if !broadcasts_to(from, shape) {
            panic!("expand: shape {from:?} cannot be broadcast to {shape:?}");
        }
        let value = B::broadcast_to(&x, shape);
        self.unary_op("expand", value, |x, _, g| g.sum_to(&x.shape()))
    }

    /// Sums this value down to `shape`, a shape it is a broadcast of: the backward of
    /// broadcasting.
    ///
    /// # Panics
    /// If `shape` does not broadcast to this shape.
    #[track_caller]
    pub fn sum_to(&self, shape: &[usize]) -> Self {
        let x = self.value_ref();
        let from = B::shape(&x);
        if from == shape {
            return self.clone();
        }
        if !broadcasts_to(shape, from) {
            panic!("sum_to: shape {from:?} cannot be summed down to {shape:?}");
        }
        let value = B::sum_to(&x, shape);
        self.unary_op("sum_to", value, |x, _, g| g.expand(&x.shape()))
    }
}
