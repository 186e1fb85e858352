//! `softmax` and `log_softmax` (tensor backends): compositions over `logsumexp`, so they
//! are stable for large logits and their derivatives (to any order) follow.

use crate::backend::TensorOps;
use crate::variable::Variable;

impl<B: TensorOps> Variable<B> {
    /// `exp(x) / Σ exp(x)` along `dim`.
    ///
    /// # Panics
    /// If `dim` is out of range.
    #[track_caller]
    pub fn softmax(&self, dim: isize) -> Self {
        self.log_softmax(dim).exp()
    }

    /// `x − log Σ exp(x)` along `dim`.
    ///
    /// # Panics
    /// If `dim` is out of range.
    #[track_caller]
    pub fn log_softmax(&self, dim: isize) -> Self {
        self - self.logsumexp(dim, true)
    }
}
