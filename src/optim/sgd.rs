//! Stochastic gradient descent, with momentum, dampening, Nesterov and weight decay.

use super::state::{read_states, OptimizerState, ParamState};
use super::{check_non_negative, decay, update_each, with_l2, Optimizer};
use crate::backend::Backend;
use crate::checkpoint::Problem;
use crate::element::Element;
use crate::variable::Variable;

/// SGD as PyTorch's `torch.optim.SGD`:
///
/// ```text
/// g ← g + weight_decay·p
/// b ← g (first step), else momentum·b + (1 − dampening)·g
/// g ← g + momentum·b (Nesterov), else b          (only with momentum)
/// p ← p − lr·g
/// ```
#[derive(Debug)]
pub struct Sgd<B: Backend> {
    params: Vec<Variable<B>>,
    lr: f64,
    momentum: f64,
    dampening: f64,
    nesterov: bool,
    weight_decay: f64,
    buffers: Vec<Option<Variable<B>>>,
}

impl<B: Backend> Sgd<B> {
    /// Plain SGD with learning rate `lr`.
    ///
    /// # Panics
    /// If `lr` is negative.
    #[track_caller]
    pub fn new(params: Vec<Variable<B>>, lr: f64) -> Self {
        check_non_negative("learning rate", lr);
        let n = params.len();
        Sgd {
            params,
            lr,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            buffers: vec![None; n],
        }
    }

    /// With momentum.
    #[track_caller]
    pub fn momentum(mut self, momentum: f64) -> Self {
        check_non_negative("momentum", momentum);
        self.momentum = momentum;
        self
    }

    /// With dampening of the momentum.
    pub fn dampening(mut self, dampening: f64) -> Self {
        self.dampening = dampening;
        self
    }

    /// With Nesterov momentum.
    pub fn nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }

    /// With L2 weight decay added to the gradient.
    #[track_caller]
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        check_non_negative("weight decay", weight_decay);
        self.weight_decay = weight_decay;
        self
    }
}

impl<B: Backend> Optimizer<B> for Sgd<B> {
    #[track_caller]
    fn step(&mut self) {
        assert!(
            !self.nesterov || (self.momentum > 0.0 && self.dampening == 0.0),
            "SGD: Nesterov momentum requires a momentum and zero dampening"
        );
        let (momentum, dampening, nesterov) = (self.momentum, self.dampening, self.nesterov);
        let momentum_on = momentum != 0.0;
        let elem = B::Elem::from_f64;
        let (lr, weight_decay) = (elem(-self.lr), decay(self.weight_decay));
        let (momentum, rate) = (elem(momentum), elem(1.0 - dampening));
        update_each(&self.params, &mut self.buffers, |p, g, buffer| {
            let (p, g) = (p.value(), g.value());
            // PyTorch's ops, one by one and never fused, so that the result is theirs to
            // the bit, in one pass: the L2 term, the buffer, then the step. `p − lr·d` is
            // written `p + (−lr)·d`, the same bits.
            let step = |g, b| if nesterov { g + b * momentum } else { b };
            let p = match (momentum_on, buffer.take()) {
                (false, _) if weight_decay.is_none() => B::add_scaled(&p, &g, lr),
                (false, _) => {
                    let [p] = B::zip_map([&p, &g], |[p, g]| [p + with_l2(g, p, weight_decay) * lr]);
                    p
                }
                // The first step's buffer is the gradient itself.
                (true, None) => {
                    let [p, b] = B::zip_map([&p, &g], |[p, g]| {
                        let g = with_l2(g, p, weight_decay);
                        [p + step(g, g) * lr, g]
                    });
                    *buffer = Some(Variable::constant(b));
                    p
                }
                (true, Some(b)) => {
                    let [p, b] = B::zip_map([&p, &g, &b.value()], |[p, g, b]| {
                        let g = with_l2(g, p, weight_decay);
                        let b = b * momentum + g * rate;
                        [p + step(g, b) * lr, b]
                    });
                    *buffer = Some(Variable::constant(b));
                    p
                }
            };
            Variable::constant(p)
        });
    }

    fn parameters(&self) -> &[Variable<B>] {
        &self.params
    }

    fn state_dict(&self) -> OptimizerState<B::Elem> {
        OptimizerState::from_states("sgd", self.lr, &self.buffers, |b| {
            ParamState::new(None, &[("momentum_buffer", Some(b))])
        })
    }

    fn load_state_dict(&mut self, state: OptimizerState<B::Elem>) -> Result<(), Vec<Problem>> {
        // Plain SGD keeps no buffer: a saved one is reported as unexpected.
        let kept = self.momentum != 0.0;
        let (lr, buffers) = read_states("sgd", &self.params, state, |r| {
            r.buffer_if(kept, "momentum_buffer")
        })?;
        self.lr = lr;
        self.buffers = buffers.into_iter().map(Option::flatten).collect();
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
