//! `Sequential`: modules applied one after another.

use super::module::{prefixed, Forward, Module};
use crate::backend::Backend;
use crate::variable::Variable;

/// Modules applied in order; parameters are named by position (`0.weight`, `2.bias`), as
/// in PyTorch's `nn.Sequential`.
///
/// ```
/// use ferrograd::nn::{Forward, Linear, Module, Relu, Sequential};
/// use ferrograd::random::Rng;
/// use ferrograd::Variable;
/// use ferrograd_ndarray::NdArray;
///
/// type B = NdArray<f32>;
/// let mut rng = Rng::new(0);
/// let model = Sequential::<B>::new()
///     .add(Linear::new(784, 128, true, &mut rng))
///     .add(Relu)
///     .add(Linear::new(128, 10, true, &mut rng));
/// assert_eq!(model.named_parameters()[2].0, "2.weight");
/// let logits = model.forward(&Variable::zeros(&[32, 784]));
/// assert_eq!(logits.shape(), [32, 10]);
/// ```
pub struct Sequential<B: Backend> {
    layers: Vec<Box<dyn Forward<B>>>,
}

impl<B: Backend> Sequential<B> {
    /// An empty sequence (the identity).
    pub fn new() -> Self {
        Sequential { layers: Vec::new() }
    }

    /// This sequence with `layer` appended.
    #[allow(clippy::should_implement_trait)]
    pub fn add(mut self, layer: impl Forward<B> + 'static) -> Self {
        self.layers.push(Box::new(layer));
        self
    }

    /// The number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether there are no layers.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }
}

impl<B: Backend> Default for Sequential<B> {
    fn default() -> Self {
        Self::new()
    }
}

impl<B: Backend> Module<B> for Sequential<B> {
    fn named_parameters(&self) -> Vec<(String, Variable<B>)> {
        self.layers
            .iter()
            .enumerate()
            .flat_map(|(i, layer)| prefixed(&i.to_string(), layer.as_ref()))
            .collect()
    }

    fn parameters(&self) -> Vec<Variable<B>> {
        self.layers.iter().flat_map(|l| l.parameters()).collect()
    }

    fn set_training(&mut self, training: bool) {
        for layer in &mut self.layers {
            layer.set_training(training);
        }
    }

    fn is_training(&self) -> bool {
        self.layers.iter().all(|l| l.is_training())
    }
}

impl<B: Backend> Forward<B> for Sequential<B> {
    #[track_caller]
    fn forward(&self, x: &Variable<B>) -> Variable<B> {
        let mut h = x.clone();
        for layer in &self.layers {
            h = layer.forward(&h);
        }
        h
    }
}
