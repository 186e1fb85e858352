//! The `Module` trait: anything that holds parameters.

use crate::backend::Backend;
use crate::variable::Variable;

/// A part of a model that owns parameters: a layer, or a model built of layers.
///
/// Parameters are leaf variables that require gradients. Each has a stable dotted name
/// (`layers.0.weight`), formed as in PyTorch from the field names of the modules that hold
/// it, so that a state dict maps one to one onto the equivalent PyTorch model.
///
/// ```
/// use ferrograd::nn::{Linear, Module};
/// use ferrograd::random::Rng;
/// use ferrograd_ndarray::NdArray;
///
/// let layer = Linear::<NdArray<f32>>::new(3, 2, true, &mut Rng::new(0));
/// let names: Vec<String> = layer.named_parameters().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["weight", "bias"]);
/// assert_eq!(layer.parameters()[0].shape(), [2, 3]); // PyTorch's [out, in]
/// ```
pub trait Module<B: Backend>: Send + Sync {
    /// Every parameter with its dotted name, in a fixed order.
    fn named_parameters(&self) -> Vec<(String, Variable<B>)>;

    /// Every parameter, in the order of [`named_parameters`](Module::named_parameters).
    /// Containers may override it to skip building names (it is called every step).
    fn parameters(&self) -> Vec<Variable<B>> {
        self.named_parameters()
            .into_iter()
            .map(|(_, p)| p)
            .collect()
    }

    /// Switches between training and evaluation behaviour (dropout is active only in
    /// training). Containers pass it on to their parts. Modules start in training mode.
    fn set_training(&mut self, training: bool) {
        let _ = training;
    }

    /// Whether the module is in training mode.
    fn is_training(&self) -> bool {
        true
    }

    /// Training mode (PyTorch's `model.train()`).
    fn train(&mut self) {
        self.set_training(true);
    }

    /// Evaluation mode (PyTorch's `model.eval()`).
    fn eval(&mut self) {
        self.set_training(false);
    }

    /// Clears every parameter's gradient.
    fn zero_grad(&self) {
        for p in self.parameters() {
            p.zero_grad();
        }
    }

    /// The number of parameter elements.
    fn num_parameters(&self) -> usize {
        self.parameters().iter().map(Variable::numel).sum()
    }

    /// The current parameter values by name (PyTorch's `state_dict`); see
    /// [`checkpoint`](crate::checkpoint) to save them.
    fn state_dict(&self) -> crate::checkpoint::StateDict<B::Elem>
    where
        Self: Sized,
    {
        crate::checkpoint::state_dict(self)
    }

    /// Sets the parameters from a state dict whose names and shapes match exactly
    /// (PyTorch's `load_state_dict`); otherwise returns every problem and changes nothing.
    ///
    /// # Errors
    /// The missing, unexpected and wrongly shaped tensors.
    fn load_state_dict(
        &self,
        state: crate::checkpoint::StateDict<B::Elem>,
    ) -> Result<(), Vec<crate::checkpoint::Problem>>
    where
        Self: Sized,
    {
        crate::checkpoint::load_state_dict(self, state)
    }
}

/// A module with one input and one output tensor: what [`Sequential`](super::Sequential)
/// chains.
pub trait Forward<B: Backend>: Module<B> {
    /// Applies the module.
    fn forward(&self, x: &Variable<B>) -> Variable<B>;
}

/// Prefixes the names of a part's parameters with the part's name: how containers build
/// dotted names.
pub fn prefixed<B: Backend>(prefix: &str, part: &dyn Module<B>) -> Vec<(String, Variable<B>)> {
    part.named_parameters()
        .into_iter()
        .map(|(name, p)| (format!("{prefix}.{name}"), p))
        .collect()
}
