//! RMSprop (with momentum, centred).

use super::state::{read_states, OptimizerState, ParamState};
use super::{check_non_negative, update_each, Optimizer};
use crate::backend::Backend;
use crate::checkpoint::Problem;
use crate::variable::Variable;

#[derive(Debug)]
struct State<B: Backend> {
    square: Variable<B>,
    mean: Option<Variable<B>>,
    momentum: Option<Variable<B>>,
}

/// RMSprop as PyTorch's `torch.optim.RMSprop`:
///
/// ```text
/// g ← g + weight_decay·p
/// v ← α·v + (1 − α)·g²
/// m ← m + (1 − α)(g − m), a ← √(v − m²) (centred), else a ← √v;  a ← a + eps
/// b ← momentum·b + g/a, p ← p − lr·b (momentum), else p ← p − lr·g/a
/// ```
#[derive(Debug)]
pub struct RmsProp<B: Backend> {
    params: Vec<Variable<B>>,
    lr: f64,
    alpha: f64,
    eps: f64,
    weight_decay: f64,
    momentum: f64,
    centered: bool,
    state: Vec<Option<State<B>>>,
}

impl<B: Backend> RmsProp<B> {
    /// RMSprop with learning rate `lr`, α = 0.99, eps = 1e-8.
    ///
    /// # Panics
    /// If `lr` is negative.
    #[track_caller]
    pub fn new(params: Vec<Variable<B>>, lr: f64) -> Self {
        check_non_negative("learning rate", lr);
        let n = params.len();
        RmsProp {
            params,
            lr,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
            state: (0..n).map(|_| None).collect(),
        }
    }

    /// With the smoothing constant α.
    ///
    /// # Panics
    /// If `alpha` is negative or NaN.
    #[track_caller]
    pub fn alpha(mut self, alpha: f64) -> Self {
        check_non_negative("alpha", alpha);
        self.alpha = alpha;
        self
    }

    /// With the denominator's `eps`.
    ///
    /// # Panics
    /// If `eps` is negative or NaN.
    #[track_caller]
    pub fn eps(mut self, eps: f64) -> Self {
        check_non_negative("eps", eps);
        self.eps = eps;
        self
    }

    /// With L2 weight decay added to the gradient.
    ///
    /// # Panics
    /// If `weight_decay` is negative or NaN.
    #[track_caller]
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        check_non_negative("weight decay", weight_decay);
        self.weight_decay = weight_decay;
        self
    }

    /// With momentum.
    ///
    /// # Panics
    /// If `momentum` is negative or NaN.
    #[track_caller]
    pub fn momentum(mut self, momentum: f64) -> Self {
        check_non_negative("momentum", momentum);
        self.momentum = momentum;
        self
    }

    /// Centred: normalise by an estimate of the gradient's variance.
    pub fn centered(mut self, centered: bool) -> Self {
        self.centered = centered;
        self
    }
}

impl<B: Backend> Optimizer<B> for RmsProp<B> {
    fn step(&mut self) {
        let (lr, alpha, eps, momentum, centered) =
            (self.lr, self.alpha, self.eps, self.momentum, self.centered);
        update_each(
            &self.params,
            &mut self.state,
            self.weight_decay,
            |p, g, state| {
                let s = state.get_or_insert_with(|| State {
                    square: g.zeros_like(),
                    mean: centered.then(|| g.zeros_like()),
                    momentum: (momentum > 0.0).then(|| g.zeros_like()),
                });
                s.square = &s.square * alpha + g.square() * (1.0 - alpha);
                let avg = match &mut s.mean {
                    Some(mean) => {
                        *mean = &*mean + (&g - &*mean) * (1.0 - alpha);
                        (&s.square - mean.square()).sqrt()
                    }
                    None => s.square.sqrt(),
                } + eps;
                let update = match &mut s.momentum {
                    Some(buffer) => {
                        *buffer = &*buffer * momentum + &g / &avg;
                        buffer.clone()
                    }
                    None => g / avg,
                };
                p.detach() - update * lr
            },
        );
    }

    fn parameters(&self) -> &[Variable<B>] {
        &self.params
    }

    fn state_dict(&self) -> OptimizerState<B::Elem> {
        OptimizerState::from_states("rmsprop", self.lr, &self.state, |s| {
            let buffers = [
                ("square_avg", Some(&s.square)),
                ("grad_avg", s.mean.as_ref()),
                ("momentum_buffer", s.momentum.as_ref()),
            ];
            ParamState::new(None, &buffers)
        })
    }

    fn load_state_dict(&mut self, state: OptimizerState<B::Elem>) -> Result<(), Vec<Problem>> {
        let (centered, momentum) = (self.centered, self.momentum > 0.0);
        let (lr, states) = read_states("rmsprop", &self.params, state, |r| {
            let square = r.buffer("square_avg");
            let mean = r.buffer_if(centered, "grad_avg");
            let momentum = r.buffer_if(momentum, "momentum_buffer");
            Some(State {
                square: square?,
                mean: mean?,
                momentum: momentum?,
            })
        })?;
        self.lr = lr;
        self.state = states;
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.lr
    }

    #[track_caller]
    fn set_learning_rate(&mut self, lr: f64) {
        check_non_negative("learning rate", lr);
        self.lr = lr;
    }
}
