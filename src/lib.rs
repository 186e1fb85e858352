//! # ferrograd
//!
//! Automatic differentiation from scratch: compute with [`Variable`]s and the computation is
//! recorded as a graph; call [`backward`](Variable::backward) on any result and every leaf
//! that [requires a gradient](Variable::requires_grad) receives the derivative of that
//! result with respect to it.
//!
//! ```
//! use ferrograd::Variable;
//! use ferrograd_scalar::Scalar;
//!
//! type V = Variable<Scalar<f64>>;
//!
//! let a = V::scalar(-4.0).requires_grad();
//! let b = V::scalar(2.0).requires_grad();
//! let c = &a * &b + b.powf(3.0); // c = ab + b³
//! c.backward();
//! assert_eq!(a.grad().unwrap().item(), 2.0); // ∂c/∂a = b
//! assert_eq!(b.grad().unwrap().item(), 8.0); // ∂c/∂b = a + 3b²
//! ```
//!
//! ## The design in one paragraph
//!
//! Storage is pluggable: a backend implements the kernels of [`backend::Ops`] (and, for
//! n-dimensional backends, [`backend::TensorOps`]) and knows nothing of graphs. Every
//! derivative is written once, in this crate, next to its op, in terms of differentiable
//! `Variable` operations ([`ops`]). So every backend gets every derivative, and a backward
//! pass can itself be recorded and differentiated again
//! ([`backward_create_graph`](Variable::backward_create_graph), [`autograd::hvp`]).
//! Two backends ship as their own crates: `ferrograd-scalar` (one number per node, like
//! micrograd) and `ferrograd-ndarray` (n-dimensional arrays, parallel kernels).
//!
//! ## Graph semantics (as PyTorch's)
//!
//! - Gradients accumulate into leaves across backward calls until
//!   [`zero_grad`](Variable::zero_grad); a value used along several paths receives the sum.
//! - [`no_grad`] builds no graph; [`detach`](Variable::detach) cuts a value loose.
//! - Graph traversal and graph dropping use no recursion: a chain of a million nodes is
//!   fine on an ordinary thread stack.
//! - A graph lives exactly as long as the handles on it: dropping a loss frees its graph.
//! - Variables are `Send + Sync`: threads can build graphs over shared parameters.
//!
//! ## Errors
//!
//! Shape mismatches are programming errors and panic, naming the op, the shapes and the
//! caller's line; bad input data returns a typed [`Error`] (see [`error`]).

#![warn(missing_docs)]

pub mod autograd;
pub mod backend;
mod backward;
pub mod checkpoint;
pub mod data_parallel;
mod element;
pub mod error;
mod grad_mode;
pub mod gradcheck;
pub mod grid;
mod layer_norm_rows;
mod leaf_cell;
pub mod nn;
mod node;
mod node_pool;
mod norm_pieces;
pub mod ops;
pub mod optim;
mod prefetch;
pub mod random;
mod seq_table;
pub mod shape;
mod variable;
mod vec_reuse;

pub use backend::{Backend, Indices, Ops, TensorOps};
pub use element::{DType, Element};
pub use error::{Error, Result};
pub use grad_mode::{enable_grad, is_grad_enabled, no_grad};
pub use node::Derivative;
pub use variable::Variable;

/// The names most programs need: `use ferrograd::prelude::*;`.
pub mod prelude {
    pub use crate::autograd;
    pub use crate::backend::{Backend, Ops, TensorOps};
    pub use crate::gradcheck::gradcheck;
    pub use crate::{no_grad, Element, Variable};
}

/// The README's code, compiled and run as a doc test so that it cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
