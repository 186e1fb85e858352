//! Neural-network building blocks: modules, layers, initialisation and the stateless
//! functions of [`functional`].
//!
//! - [`Module`]: anything holding parameters, with stable dotted names (as PyTorch's
//!   `named_parameters`), train/eval mode and `zero_grad`. [`Forward`]: a module with one
//!   input and one output, which [`Sequential`] chains.
//! - micrograd's [`Neuron`], [`Layer`], [`Mlp`], generic over every backend.
//! - Tensor layers, with PyTorch's parameter layouts: [`Linear`], [`Conv2d`],
//!   [`MaxPool2d`], [`AvgPool2d`], [`Flatten`], [`Embedding`], [`LayerNorm`], [`Dropout`],
//!   and activations ([`Relu`], [`Tanh`], ...).
//! - [`init`]: seeded initialisation, identical on every backend.

mod activation;
mod conv;
mod dropout;
mod embedding;
pub mod functional;
pub mod init;
mod linear;
mod micrograd;
mod module;
mod norm;
mod sequential;

pub use activation::{Elu, Gelu, LeakyRelu, Relu, Sigmoid, Softplus, Tanh};
pub use conv::{AvgPool2d, Conv2d, Flatten, MaxPool2d};
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use linear::Linear;
pub use micrograd::{Layer, Mlp, Neuron};
pub use module::{prefixed, Forward, Module};
pub use norm::LayerNorm;
pub use sequential::Sequential;
