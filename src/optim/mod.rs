//! Optimizers, learning-rate schedules and gradient clipping, with PyTorch's update rules.
//!
//! Every optimizer implements [`Optimizer`]: `step()` updates each parameter in place from
//! its accumulated gradient (parameters without one are skipped, as in PyTorch), and
//! `zero_grad()` clears the gradients. The update formulas follow PyTorch's
//! single-tensor implementations operation by operation; the reference trajectories in
//! tests/reference/optim.json are matched to 1e-12 in `f64`.
//!
//! ```
//! use ferrograd::nn::{Forward, Linear, Module};
//! use ferrograd::optim::{Optimizer, Sgd};
//! use ferrograd::random::Rng;
//! use ferrograd::Variable;
//! use ferrograd_ndarray::NdArray;
//!
//! type T = Variable<NdArray<f64>>;
//! let model = Linear::<NdArray<f64>>::new(1, 1, true, &mut Rng::new(3));
//! let mut opt = Sgd::new(model.parameters(), 0.1).momentum(0.9);
//! // Fit y = 2x + 1.
//! let x = T::from_vec(vec![0.0, 1.0, 2.0, 3.0], &[4, 1]).unwrap();
//! let y = T::from_vec(vec![1.0, 3.0, 5.0, 7.0], &[4, 1]).unwrap();
//! for _ in 0..200 {
//!     opt.zero_grad();
//!     let loss = (model.forward(&x) - &y).square().mean();
//!     loss.backward();
//!     opt.step();
//! }
//! assert!((model.weight.item() - 2.0).abs() < 1e-3);
//! ```

mod adagrad;
mod adam;
mod clip;
mod rmsprop;
mod schedule;
mod sgd;
mod state;

pub use adagrad::Adagrad;
pub use adam::{Adam, AdamW};
pub use clip::clip_grad_norm;
pub use rmsprop::RmsProp;
pub use schedule::{CosineAnnealingLr, LinearLr, LrSchedule, Scheduler, StepLr};
pub use sgd::Sgd;
pub use state::{OptimizerState, ParamState};

use crate::backend::Backend;
use crate::checkpoint::Problem;
use crate::element::Element;
use crate::grad_mode::no_grad;
use crate::variable::Variable;

/// Something that updates parameters from their gradients.
///
/// The training loop is the same for every optimizer:
///
/// ```
/// use ferrograd::optim::{Adam, Optimizer};
/// use ferrograd::Variable;
/// use ferrograd_scalar::Scalar;
///
/// // Minimise (x − 3)² from x = 0.
/// let x = Variable::<Scalar<f64>>::scalar(0.0).requires_grad();
/// let mut opt = Adam::new(vec![x.clone()], 0.1);
/// for _ in 0..500 {
///     opt.zero_grad();
///     (&x - 3.0).square().backward();
///     opt.step();
/// }
/// assert!((x.item() - 3.0).abs() < 1e-3);
/// ```
pub trait Optimizer<B: Backend> {
    /// Updates every parameter that has a gradient.
    fn step(&mut self);

    /// The parameters this optimizer updates.
    fn parameters(&self) -> &[Variable<B>];

    /// The current learning rate.
    fn learning_rate(&self) -> f64;

    /// Sets the learning rate (what schedules do between epochs).
    ///
    /// # Panics
    /// If `lr` is negative or NaN (the optimizers of this crate check it).
    fn set_learning_rate(&mut self, lr: f64);

    /// The state this optimizer carries between steps (moments, momentum buffers, step
    /// counts, the learning rate), as plain data: with the parameters, what resuming
    /// training needs. [`checkpoint::save_optimizer`](crate::checkpoint::save_optimizer)
    /// writes it to a file.
    fn state_dict(&self) -> OptimizerState<B::Elem>;

    /// Replaces this optimizer's state with `state` (from
    /// [`state_dict`](Optimizer::state_dict) of the same kind of optimizer over parameters
    /// of the same shapes, configured the same way), so that the next `step` continues
    /// exactly where that optimizer would have.
    ///
    /// # Errors
    /// Every problem found (another optimizer's state, a different number of parameters, a
    /// buffer missing, unexpected or of the wrong shape); the optimizer is then unchanged.
    fn load_state_dict(&mut self, state: OptimizerState<B::Elem>) -> Result<(), Vec<Problem>>;

    /// Clears the gradient of every parameter.
    fn zero_grad(&self) {
        for p in self.parameters() {
            p.zero_grad();
        }
    }
}

/// The loop every optimizer's `step` runs: without recording a graph, for each parameter
/// that has a gradient, gives `update` the parameter, its gradient and its state, and
/// replaces the parameter's value with what `update` returns.
pub(crate) fn update_each<B: Backend, S>(
    params: &[Variable<B>],
    states: &mut [S],
    mut update: impl FnMut(&Variable<B>, Variable<B>, &mut S) -> Variable<B>,
) {
    no_grad(|| {
        for (p, state) in params.iter().zip(states) {
            let Some(g) = p.grad() else { continue };
            p.set_value(update(p, g, state).value());
        }
    });
}

/// A weight decay in the element type, `None` when it is zero (no term at all, as in
/// PyTorch).
pub(crate) fn decay<T: Element>(weight_decay: f64) -> Option<T> {
    (weight_decay != 0.0).then(|| T::from_f64(weight_decay))
}

/// PyTorch's L2 term on one element: the gradient `g + p·decay`, where there is a decay.
/// Each optimizer adds it inside its one-pass update, which saves two passes over the
/// parameter.
#[inline(always)]
pub(crate) fn with_l2<T: Element>(g: T, p: T, decay: Option<T>) -> T {
    decay.map_or(g, |decay| g + p * decay)
}

#[track_caller]
pub(crate) fn check_hyper(name: &str, value: f64, ok: bool) {
    assert!(ok, "invalid {name}: {value}");
}

/// What most settings need: a value that is neither negative nor NaN.
#[track_caller]
pub(crate) fn check_non_negative(name: &str, value: f64) {
    check_hyper(name, value, value >= 0.0);
}
