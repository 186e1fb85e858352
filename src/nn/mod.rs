//! Neural-network building blocks.
//!
//! [`functional`] holds the stateless functions (losses, convolution, pooling,
//! normalisation, embedding), as PyTorch's `torch.nn.functional`.

pub mod functional;
