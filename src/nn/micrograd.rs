//! micrograd's `Neuron`, `Layer` and `Mlp`, generic over every backend.
//!
//! They work over a slice of variables, one per input feature. On the scalar backend a
//! feature is one number; on a tensor backend the very same code takes one column (a
//! `[batch]` tensor) per feature and so runs a whole batch at once: each weight is a rank-0
//! parameter that broadcasts over the batch.
//!
//! ```
//! use ferrograd::nn::{Mlp, Module};
//! use ferrograd::random::Rng;
//! use ferrograd::Variable;
//! use ferrograd_scalar::Scalar;
//!
//! type V = Variable<Scalar<f64>>;
//! let model = Mlp::<Scalar<f64>>::new(2, &[16, 16, 1], &mut Rng::new(1337));
//! assert_eq!(model.parameters().len(), 337);
//! let score = model.forward(&[V::scalar(0.5), V::scalar(-1.0)]);
//! assert_eq!(score.len(), 1);
//! ```

use super::init::Init;
use super::module::Module;
use crate::backend::Backend;
use crate::random::Rng;
use crate::variable::Variable;

/// One neuron: `b + Σᵢ wᵢ·xᵢ`, followed by ReLU unless it is linear.
#[derive(Clone, Debug)]
pub struct Neuron<B: Backend> {
    /// One weight per input.
    pub weights: Vec<Variable<B>>,
    /// The bias.
    pub bias: Variable<B>,
    /// Whether ReLU follows.
    pub nonlinear: bool,
}

impl<B: Backend> Neuron<B> {
    /// A neuron with `inputs` weights drawn from U(−1, 1) (micrograd's initialisation) and a
    /// zero bias.
    pub fn new(inputs: usize, nonlinear: bool, rng: &mut Rng) -> Self {
        let weights = (0..inputs)
            .map(|_| Init::Uniform(-1.0, 1.0).parameter(&[], rng))
            .collect();
        Neuron {
            weights,
            bias: Variable::scalar(Variable::<B>::elem(0.0)).requires_grad(),
            nonlinear,
        }
    }

    /// The neuron's output for one variable per input feature.
    ///
    /// # Panics
    /// If the number of inputs differs from the number of weights.
    #[track_caller]
    pub fn forward(&self, x: &[Variable<B>]) -> Variable<B> {
        assert_eq!(
            x.len(),
            self.weights.len(),
            "Neuron: {} inputs for {} weights",
            x.len(),
            self.weights.len()
        );
        let act = self
            .weights
            .iter()
            .zip(x)
            .fold(self.bias.clone(), |acc, (w, xi)| acc + w * xi);
        if self.nonlinear {
            Variable::relu_operand(act)
        } else {
            act
        }
    }
}

impl<B: Backend> Module<B> for Neuron<B> {
    fn named_parameters(&self) -> Vec<(String, Variable<B>)> {
        let mut params: Vec<(String, Variable<B>)> = self
            .weights
            .iter()
            .enumerate()
            .map(|(i, w)| (format!("weights.{i}"), w.clone()))
            .collect();
        params.push(("bias".to_string(), self.bias.clone()));
        params
    }

    // Without building names: what training loops call every step.
    fn parameters(&self) -> Vec<Variable<B>> {
        let mut params = self.weights.clone();
        params.push(self.bias.clone());
        params
    }
}

/// A layer of neurons over the same inputs.
#[derive(Clone, Debug)]
pub struct Layer<B: Backend> {
    /// The neurons, one per output.
    pub neurons: Vec<Neuron<B>>,
}

impl<B: Backend> Layer<B> {
    /// A layer of `outputs` neurons over `inputs` inputs.
    pub fn new(inputs: usize, outputs: usize, nonlinear: bool, rng: &mut Rng) -> Self {
        Layer {
            neurons: (0..outputs)
                .map(|_| Neuron::new(inputs, nonlinear, rng))
                .collect(),
        }
    }

    /// One output per neuron.
    #[track_caller]
    pub fn forward(&self, x: &[Variable<B>]) -> Vec<Variable<B>> {
        self.neurons.iter().map(|n| n.forward(x)).collect()
    }
}

impl<B: Backend> Module<B> for Layer<B> {
    fn named_parameters(&self) -> Vec<(String, Variable<B>)> {
        self.neurons
            .iter()
            .enumerate()
            .flat_map(|(j, n)| super::module::prefixed(&format!("neurons.{j}"), n))
            .collect()
    }

    fn parameters(&self) -> Vec<Variable<B>> {
        self.neurons.iter().flat_map(Module::parameters).collect()
    }
}

/// micrograd's multi-layer perceptron: ReLU layers and a linear last layer.
///
/// The same code runs one sample at a time on the scalar backend, or a whole batch on a
/// tensor backend, one column per feature:
///
/// ```
/// use ferrograd::nn::{Mlp, Module};
/// use ferrograd::random::Rng;
/// use ferrograd::Variable;
/// use ferrograd_ndarray::NdArray;
/// use ferrograd_scalar::Scalar;
///
/// let one = Mlp::<Scalar<f64>>::new(2, &[8, 1], &mut Rng::new(0));
/// let many = Mlp::<NdArray<f64>>::new(2, &[8, 1], &mut Rng::new(0)); // the same weights
/// let y1 = one.forward(&[Variable::scalar(0.3), Variable::scalar(-0.2)]);
/// let columns = [
///     Variable::from_vec(vec![0.3, 1.0, -1.0], &[3]).unwrap(), // feature 0 of 3 samples
///     Variable::from_vec(vec![-0.2, 0.5, 0.0], &[3]).unwrap(), // feature 1
/// ];
/// let y3 = many.forward(&columns);
/// assert_eq!(y3[0].shape(), [3]);
/// assert!((y3[0].to_vec()[0] - y1[0].item()).abs() < 1e-12);
/// ```
#[derive(Clone, Debug)]
pub struct Mlp<B: Backend> {
    /// The layers, first to last.
    pub layers: Vec<Layer<B>>,
}

impl<B: Backend> Mlp<B> {
    /// `inputs` features through layers of the given sizes (micrograd's
    /// `MLP(inputs, sizes)`): ReLU after every layer but the last.
    pub fn new(inputs: usize, sizes: &[usize], rng: &mut Rng) -> Self {
        let mut fan_in = inputs;
        let layers = sizes
            .iter()
            .enumerate()
            .map(|(l, &size)| {
                let layer = Layer::new(fan_in, size, l + 1 < sizes.len(), rng);
                fan_in = size;
                layer
            })
            .collect();
        Mlp { layers }
    }

    /// The outputs for one variable per input feature.
    #[track_caller]
    pub fn forward(&self, x: &[Variable<B>]) -> Vec<Variable<B>> {
        let mut h = x.to_vec();
        for layer in &self.layers {
            h = layer.forward(&h);
        }
        h
    }
}

impl<B: Backend> Module<B> for Mlp<B> {
    fn named_parameters(&self) -> Vec<(String, Variable<B>)> {
        self.layers
            .iter()
            .enumerate()
            .flat_map(|(l, layer)| super::module::prefixed(&format!("layers.{l}"), layer))
            .collect()
    }

    fn parameters(&self) -> Vec<Variable<B>> {
        self.layers.iter().flat_map(Module::parameters).collect()
    }
}
