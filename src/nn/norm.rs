//! `LayerNorm`.

use super::functional;
use super::module::{Forward, Module};
use crate::backend::TensorOps;
use crate::variable::Variable;

/// Layer normalisation over the trailing `normalized_shape` dimensions, with a learned
/// elementwise `weight` (ones) and `bias` (zeros), as PyTorch's `nn.LayerNorm`.
#[derive(Clone, Debug)]
pub struct LayerNorm<B: TensorOps> {
    /// The normalised trailing shape.
    pub normalized_shape: Vec<usize>,
    /// `normalized_shape`, initialised to ones.
    pub weight: Variable<B>,
    /// `normalized_shape`, initialised to zeros.
    pub bias: Variable<B>,
    /// Added to the variance.
    pub eps: f64,
}

impl<B: TensorOps> LayerNorm<B> {
    /// A layer over the given trailing shape, with PyTorch's `eps` of 1e-5.
    pub fn new(normalized_shape: &[usize]) -> Self {
        LayerNorm {
            normalized_shape: normalized_shape.to_vec(),
            weight: Variable::ones(normalized_shape).requires_grad(),
            bias: Variable::zeros(normalized_shape).requires_grad(),
            eps: 1e-5,
        }
    }
}

impl<B: TensorOps> Module<B> for LayerNorm<B> {
    fn named_parameters(&self) -> Vec<(String, Variable<B>)> {
        vec![
            ("weight".to_string(), self.weight.clone()),
            ("bias".to_string(), self.bias.clone()),
        ]
    }
}

impl<B: TensorOps> Forward<B> for LayerNorm<B> {
    #[track_caller]
    fn forward(&self, x: &Variable<B>) -> Variable<B> {
        functional::layer_norm(
            x,
            &self.normalized_shape,
            Some(&self.weight),
            Some(&self.bias),
            self.eps,
        )
    }
}
