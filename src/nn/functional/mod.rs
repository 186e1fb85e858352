//! Stateless neural-network functions, named as in PyTorch's `torch.nn.functional`.
//!
//! All are compositions of differentiable ops, so their gradients (of any order) follow
//! and are checked like every op's: `cross_entropy`, `nll_loss`, `mse_loss`,
//! `binary_cross_entropy_with_logits`, `hinge_loss`, `layer_norm`, `conv2d`, `max_pool2d`, `avg_pool2d`,
//! `embedding`. `mse_loss`, `binary_cross_entropy_with_logits` and `hinge_loss` work on every backend;
//! the others need a tensor backend.

mod conv;
mod embedding;
mod loss;
mod norm;

pub use conv::{avg_pool2d, conv2d, max_pool2d};
pub use embedding::embedding;
pub use loss::{
    binary_cross_entropy_with_logits, cross_entropy, hinge_loss, mse_loss, nll_loss, Reduction,
};
pub use norm::layer_norm;
