//! RMSprop (with momentum, centred).

use super::state::{read_states, OptimizerState, ParamState};
use super::{check_non_negative, decay, update_each, with_l2, Optimizer};
use crate::backend::Backend;
use crate::checkpoint::Problem;
use crate::element::Element;
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
        let (momentum, centered) = (self.momentum, self.centered);
        let elem = B::Elem::from_f64;
        let c = Constants {
            alpha: elem(self.alpha),
            rate: elem(1.0 - self.alpha),
            eps: elem(self.eps),
            momentum: elem(momentum),
            lr: elem(self.lr),
            decay: decay(self.weight_decay),
        };
        update_each(&self.params, &mut self.state, |p, g, state| {
            let s = state.get_or_insert_with(|| State {
                square: g.zeros_like(),
                mean: centered.then(|| g.zeros_like()),
                momentum: (momentum > 0.0).then(|| g.zeros_like()),
            });
            let (p, g, square) = (p.value(), g.value(), s.square.value());
            let (mean, buffer) = (
                s.mean.as_ref().map(Variable::value),
                s.momentum.as_ref().map(Variable::value),
            );
            let kept = |x: Option<B::Elem>| x.expect("a buffer the update was given");
            // One pass over the parameter for PyTorch's ops, with the buffers it keeps.
            let (p, square, mean, buffer) = match (&mean, &buffer) {
                (None, None) => {
                    let [p, v] = B::zip_map([&p, &g, &square], |[p, g, v]| {
                        let (p, v, _, _) = c.update(p, g, v, None, None);
                        [p, v]
                    });
                    (p, v, None, None)
                }
                (Some(mean), None) => {
                    let [p, v, m] = B::zip_map([&p, &g, &square, mean], |[p, g, v, m]| {
                        let (p, v, m, _) = c.update(p, g, v, Some(m), None);
                        [p, v, kept(m)]
                    });
                    (p, v, Some(m), None)
                }
                (None, Some(buffer)) => {
                    let [p, v, b] = B::zip_map([&p, &g, &square, buffer], |[p, g, v, b]| {
                        let (p, v, _, b) = c.update(p, g, v, None, Some(b));
                        [p, v, kept(b)]
                    });
                    (p, v, None, Some(b))
                }
                (Some(mean), Some(buffer)) => {
                    let [p, v, m, b] =
                        B::zip_map([&p, &g, &square, mean, buffer], |[p, g, v, m, b]| {
                            let (p, v, m, b) = c.update(p, g, v, Some(m), Some(b));
                            [p, v, kept(m), kept(b)]
                        });
                    (p, v, Some(m), Some(b))
                }
            };
            s.square = Variable::constant(square);
            s.mean = mean.map(Variable::constant);
            s.momentum = buffer.map(Variable::constant);
            Variable::constant(p)
        });
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

/// The numbers of one RMSprop update, in the element type.
struct Constants<T> {
    alpha: T,
    /// `1 − alpha`
    rate: T,
    eps: T,
    momentum: T,
    lr: T,
    /// PyTorch's L2 term.
    decay: Option<T>,
}

impl<T: Element> Constants<T> {
    /// PyTorch's ops on one element, one by one and never fused, so that the result is
    /// theirs to the bit: the parameter, the square, and the mean (centred) and momentum
    /// buffer where they are kept.
    #[inline(always)]
    fn update(
        &self,
        p: T,
        g: T,
        square: T,
        mean: Option<T>,
        buffer: Option<T>,
    ) -> (T, T, Option<T>, Option<T>) {
        let g = with_l2(g, p, self.decay);
        let square = square * self.alpha + (g * g) * self.rate;
        let mean = mean.map(|mean| mean + (g - mean) * self.rate);
        let avg = match mean {
            Some(mean) => (square - mean * mean).sqrt(),
            None => square.sqrt(),
        } + self.eps;
        let buffer = buffer.map(|b| b * self.momentum + g / avg);
        let step = match buffer {
            Some(b) => b,
            None => g / avg,
        };
        (p - step * self.lr, square, mean, buffer)
    }
}
