//! `Embedding`.

use super::functional;
use super::init::Init;
use super::module::Module;
use crate::backend::{Indices, TensorOps};
use crate::error::Result;
use crate::random::Rng;
use crate::variable::Variable;

/// A lookup table of `num_embeddings` vectors of size `embedding_dim`, initialised from
/// N(0, 1) as PyTorch's `nn.Embedding`.
#[derive(Clone, Debug)]
pub struct Embedding<B: TensorOps> {
    /// `[num_embeddings, embedding_dim]`.
    pub weight: Variable<B>,
}

impl<B: TensorOps> Embedding<B> {
    /// A new table.
    pub fn new(num_embeddings: usize, embedding_dim: usize, rng: &mut Rng) -> Self {
        Embedding {
            weight: Init::Normal(0.0, 1.0).parameter(&[num_embeddings, embedding_dim], rng),
        }
    }

    /// The rows for `indices`, shape `indices.shape() + [embedding_dim]`.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`](crate::Error::IndexOutOfRange) for an index outside the
    /// table.
    pub fn forward(&self, indices: &Indices) -> Result<Variable<B>> {
        functional::embedding(&self.weight, indices)
    }
}

impl<B: TensorOps> Module<B> for Embedding<B> {
    fn named_parameters(&self) -> Vec<(String, Variable<B>)> {
        vec![("weight".to_string(), self.weight.clone())]
    }
}
