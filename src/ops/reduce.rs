//! Reductions over all elements: `sum`, `mean`.

use crate::backend::Backend;
use crate::variable::Variable;

impl<B: Backend> Variable<B> {
    /// The sum of all elements, a rank-0 value.
    pub fn sum(&self) -> Self {
        let value = B::sum_to(&self.value(), &[]);
        self.unary_op("sum", value, |x, _, g| g.expand(&x.shape()))
    }

    /// The mean of all elements, a rank-0 value.
    pub fn mean(&self) -> Self {
        let n = self.numel();
        self.sum() / n as f64
    }
}
