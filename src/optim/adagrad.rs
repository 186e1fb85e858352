//! Adagrad.

use super::state::{read_states, OptimizerState, ParamState};
use super::{check_non_negative, decay, update_each, with_l2, Optimizer};
use crate::backend::Backend;
use crate::checkpoint::Problem;
use crate::element::Element;
use crate::variable::Variable;
use num_traits::Float;

/// Adagrad as PyTorch's `torch.optim.Adagrad`:
///
/// ```text
/// g ← g + weight_decay·p
/// s ← s + g²                         (s starts at initial_accumulator_value)
/// p ← p − lr/(1 + (t − 1)·lr_decay) · g/(√s + eps)
/// ```
#[derive(Debug)]
pub struct Adagrad<B: Backend> {
    params: Vec<Variable<B>>,
    lr: f64,
    lr_decay: f64,
    weight_decay: f64,
    initial_accumulator_value: f64,
    eps: f64,
    state: Vec<Option<(u64, Variable<B>)>>,
}

impl<B: Backend> Adagrad<B> {
    /// Adagrad with learning rate `lr` and eps = 1e-10.
    ///
    /// # Panics
    /// If `lr` is negative.
    #[track_caller]
    pub fn new(params: Vec<Variable<B>>, lr: f64) -> Self {
        check_non_negative("learning rate", lr);
        let n = params.len();
        Adagrad {
            params,
            lr,
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
            state: (0..n).map(|_| None).collect(),
        }
    }

    /// With learning-rate decay per step.
    ///
    /// # Panics
    /// If `lr_decay` is negative or NaN.
    #[track_caller]
    pub fn lr_decay(mut self, lr_decay: f64) -> Self {
        check_non_negative("learning-rate decay", lr_decay);
        self.lr_decay = lr_decay;
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

    /// With the accumulator's starting value.
    ///
    /// # Panics
    /// If `value` is negative or NaN.
    #[track_caller]
    pub fn initial_accumulator_value(mut self, value: f64) -> Self {
        check_non_negative("initial accumulator value", value);
        self.initial_accumulator_value = value;
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
}

impl<B: Backend> Optimizer<B> for Adagrad<B> {
    fn step(&mut self) {
        let (lr, lr_decay, eps) = (self.lr, self.lr_decay, self.eps);
        let initial = Variable::<B>::elem(self.initial_accumulator_value);
        let weight_decay = decay(self.weight_decay);
        update_each(&self.params, &mut self.state, |p, g, state| {
            let (step, sum) = state.get_or_insert_with(|| (0, g.full_like(initial)));
            *step += 1;
            let elem = B::Elem::from_f64;
            let clr = elem(lr / (1.0 + (*step - 1) as f64 * lr_decay));
            let eps = elem(eps);
            // One pass over the parameter for PyTorch's ops, never fused, so that the
            // result is theirs to the bit.
            let [p, new_sum] = B::zip_map([&p.value(), &g.value(), &sum.value()], |[p, g, s]| {
                let g = with_l2(g, p, weight_decay);
                let s = s + g * g;
                [p - (g / (s.sqrt() + eps)) * clr, s]
            });
            *sum = Variable::constant(new_sum);
            Variable::constant(p)
        });
    }

    fn parameters(&self) -> &[Variable<B>] {
        &self.params
    }

    fn state_dict(&self) -> OptimizerState<B::Elem> {
        OptimizerState::from_states("adagrad", self.lr, &self.state, |(step, sum)| {
            ParamState::new(Some(*step), &[("sum", Some(sum))])
        })
    }

    fn load_state_dict(&mut self, state: OptimizerState<B::Elem>) -> Result<(), Vec<Problem>> {
        let (lr, states) = read_states("adagrad", &self.params, state, |r| {
            let step = r.step();
            let sum = r.buffer("sum");
            Some((step?, sum?))
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
