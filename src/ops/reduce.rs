//! Reductions over all elements: `sum`, `mean`.

use crate::backend::Backend;
use crate::variable::Variable;

impl<B: Backend> Variable<B> {
    /// The sum of all elements, a rank-0 value.
    pub fn sum(&self) -> Self {
        let x = self.value_ref();
        if B::shape(&x).is_empty() {
            // Already a single number: the sum is itself.
            return self.clone();
        }
        let value = B::sum_to(&x, &[]);
        // The gradient is g broadcast to x's shape; the engine expands it only if a
        // consumer needs it materialised.
        self.unary_op("sum", value, |_, _, g| g.clone())
    }

    /// The mean of all elements, a rank-0 value.
    pub fn mean(&self) -> Self {
        let n = self.numel();
        self.sum() / n as f64
    }
}
