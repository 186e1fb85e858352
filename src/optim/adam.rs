//! Adam and AdamW (with AMSGrad).

use super::state::{read_states, OptimizerState, ParamState};
use super::{check_hyper, check_non_negative, decay, update_each, with_l2, Optimizer};
use crate::backend::{Backend, BinaryOp};
use crate::checkpoint::Problem;
use crate::element::Element;
use crate::variable::Variable;

#[derive(Debug)]
struct Moments<B: Backend> {
    step: u64,
    mean: Variable<B>,
    square: Variable<B>,
    max_square: Option<Variable<B>>,
}

/// Adam as PyTorch's `torch.optim.Adam` (and, with decoupled weight decay, `AdamW`):
///
/// ```text
/// g ← g + weight_decay·p            (Adam)    p ← p·(1 − lr·weight_decay)   (AdamW)
/// m ← m + (1 − β₁)(g − m)           v ← β₂·v + (1 − β₂)·g²
/// v̂ ← max(v̂, v) (AMSGrad), else v
/// p ← p − lr/(1 − β₁ᵗ) · m / (√v̂ / √(1 − β₂ᵗ) + eps)
/// ```
#[derive(Debug)]
pub struct Adam<B: Backend> {
    params: Vec<Variable<B>>,
    lr: f64,
    betas: (f64, f64),
    eps: f64,
    weight_decay: f64,
    amsgrad: bool,
    decoupled: bool,
    state: Vec<Option<Moments<B>>>,
}

/// AdamW: Adam with decoupled weight decay (PyTorch's `torch.optim.AdamW`, whose default
/// weight decay is 0.01).
pub struct AdamW;

impl AdamW {
    /// AdamW with learning rate `lr` and weight decay 0.01.
    #[allow(clippy::new_ret_no_self)]
    #[track_caller]
    pub fn new<B: Backend>(params: Vec<Variable<B>>, lr: f64) -> Adam<B> {
        let mut adam = Adam::new(params, lr).weight_decay(0.01);
        adam.decoupled = true;
        adam
    }
}

impl<B: Backend> Adam<B> {
    /// Adam with learning rate `lr`, β = (0.9, 0.999), eps = 1e-8.
    ///
    /// # Panics
    /// If `lr` is negative.
    #[track_caller]
    pub fn new(params: Vec<Variable<B>>, lr: f64) -> Self {
        check_non_negative("learning rate", lr);
        let n = params.len();
        Adam {
            params,
            lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            amsgrad: false,
            decoupled: false,
            state: (0..n).map(|_| None).collect(),
        }
    }

    /// With the moment decay rates β₁ and β₂.
    #[track_caller]
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Self {
        check_hyper("beta1", beta1, (0.0..1.0).contains(&beta1));
        check_hyper("beta2", beta2, (0.0..1.0).contains(&beta2));
        self.betas = (beta1, beta2);
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

    /// With weight decay (L2 in the gradient for Adam, decoupled for AdamW).
    #[track_caller]
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        check_non_negative("weight decay", weight_decay);
        self.weight_decay = weight_decay;
        self
    }

    /// With the AMSGrad variant (the running maximum of the second moment).
    pub fn amsgrad(mut self, amsgrad: bool) -> Self {
        self.amsgrad = amsgrad;
        self
    }
}

impl<B: Backend> Adam<B> {
    fn kind(&self) -> &'static str {
        if self.decoupled {
            "adamw"
        } else {
            "adam"
        }
    }
}

impl<B: Backend> Optimizer<B> for Adam<B> {
    fn step(&mut self) {
        let (beta1, beta2) = self.betas;
        let (lr, eps, amsgrad) = (self.lr, self.eps, self.amsgrad);
        // Adam's decay is PyTorch's L2 term in the gradient; AdamW's shrinks the parameter
        // itself.
        let (l2, decoupled) = if self.decoupled {
            (0.0, self.weight_decay)
        } else {
            (self.weight_decay, 0.0)
        };
        update_each(&self.params, &mut self.state, |p, g, state| {
            let s = state.get_or_insert_with(|| Moments {
                step: 0,
                mean: g.zeros_like(),
                square: g.zeros_like(),
                max_square: amsgrad.then(|| g.zeros_like()),
            });
            s.step += 1;
            // powf, not powi: the same `pow` PyTorch's Python float arithmetic calls.
            let t = s.step as f64;
            let elem = B::Elem::from_f64;
            let c = Constants {
                l2: decay(l2),
                shrink: (decoupled != 0.0).then(|| elem(1.0 - lr * decoupled)),
                mean_rate: elem(1.0 - beta1),
                beta2: elem(beta2),
                square_rate: elem(1.0 - beta2),
                bias_correction2_sqrt: elem((1.0 - beta2.powf(t)).sqrt()),
                eps: elem(eps),
                step_size: elem(lr / (1.0 - beta1.powf(t))),
            };
            let (p, g, mean, square) = (p.value(), g.value(), s.mean.value(), s.square.value());
            // One pass over the parameter for PyTorch's dozen ops.
            let (param, mean, square, max_square) = match &s.max_square {
                None => {
                    let [param, mean, square] =
                        B::zip_map([&p, &g, &mean, &square], |[p, g, m, v]| {
                            let (p, m, v, _) = c.update(p, g, m, v, None);
                            [p, m, v]
                        });
                    (param, mean, square, None)
                }
                Some(max) => {
                    let [param, mean, square, max] = B::zip_map(
                        [&p, &g, &mean, &square, &max.value()],
                        |[p, g, m, v, max]| {
                            let (p, m, v, max) = c.update(p, g, m, v, Some(max));
                            [p, m, v, max.expect("AMSGrad keeps its maximum")]
                        },
                    );
                    (param, mean, square, Some(max))
                }
            };
            s.mean = Variable::constant(mean);
            s.square = Variable::constant(square);
            s.max_square = max_square.map(Variable::constant);
            Variable::constant(param)
        });
    }

    fn parameters(&self) -> &[Variable<B>] {
        &self.params
    }

    fn state_dict(&self) -> OptimizerState<B::Elem> {
        OptimizerState::from_states(self.kind(), self.lr, &self.state, |s| {
            let buffers = [
                ("exp_avg", Some(&s.mean)),
                ("exp_avg_sq", Some(&s.square)),
                ("max_exp_avg_sq", s.max_square.as_ref()),
            ];
            ParamState::new(Some(s.step), &buffers)
        })
    }

    fn load_state_dict(&mut self, state: OptimizerState<B::Elem>) -> Result<(), Vec<Problem>> {
        let amsgrad = self.amsgrad;
        let (lr, states) = read_states(self.kind(), &self.params, state, |r| {
            // Every read is made before any `?`, so that every problem is reported.
            let step = r.step();
            let mean = r.buffer("exp_avg");
            let square = r.buffer("exp_avg_sq");
            let max_square = r.buffer_if(amsgrad, "max_exp_avg_sq");
            Some(Moments {
                step: step?,
                mean: mean?,
                square: square?,
                max_square: max_square?,
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

/// The numbers of one Adam update, in the element type.
struct Constants<T> {
    /// Adam's weight decay, PyTorch's L2 term.
    l2: Option<T>,
    /// AdamW's `1 − lr·weight_decay`.
    shrink: Option<T>,
    /// `1 − β₁`: how far the mean moves towards the gradient.
    mean_rate: T,
    beta2: T,
    /// `1 − β₂`
    square_rate: T,
    /// `√(1 − β₂ᵗ)` at step `t`.
    bias_correction2_sqrt: T,
    eps: T,
    /// `lr / (1 − β₁ᵗ)` at step `t`.
    step_size: T,
}

impl<T: Element> Constants<T> {
    /// PyTorch's ops on one element, one by one and never fused, so that the result is
    /// theirs to the bit: the parameter, the mean, the square and (AMSGrad) the maximum.
    #[inline(always)]
    fn update(&self, p: T, g: T, mean: T, square: T, max: Option<T>) -> (T, T, T, Option<T>) {
        let g = with_l2(g, p, self.l2);
        let p = self.shrink.map_or(p, |shrink| p * shrink);
        let mean = mean + (g - mean) * self.mean_rate;
        let square = square * self.beta2 + (g * g) * self.square_rate;
        let max = max.map(|max| BinaryOp::Maximum.apply(max, square));
        let denom = max.unwrap_or(square).sqrt() / self.bias_correction2_sqrt + self.eps;
        (p - (mean / denom) * self.step_size, mean, square, max)
    }
}
