//! `Dropout`.

use super::module::{Forward, Module};
use crate::backend::Backend;
use crate::random::{shard_stream, Rng};
use crate::variable::Variable;
use std::sync::Mutex;

/// Zeroes each element with probability `p` in training mode and scales the rest by
/// `1/(1 − p)`; the identity in evaluation mode. Masks come from a seeded generator, so
/// a run is reproducible (inside data-parallel shards, from a per-shard stream, so it is
/// also independent of the number of threads).
#[derive(Debug)]
pub struct Dropout {
    /// The probability of zeroing an element.
    pub p: f64,
    training: bool,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    rng: Rng,
    /// The data-parallel step last seen, and the value drawn for it.
    step: Option<(u64, u64)>,
}

impl Dropout {
    /// A dropout layer with drop probability `p`, drawing its masks from `seed`.
    ///
    /// # Panics
    /// If `p` is outside `[0, 1)`.
    #[track_caller]
    pub fn new(p: f64, seed: u64) -> Self {
        assert!(
            (0.0..1.0).contains(&p),
            "Dropout: p = {p} is outside [0, 1)"
        );
        Dropout {
            p,
            training: true,
            state: Mutex::new(State {
                rng: Rng::new(seed),
                step: None,
            }),
        }
    }
}

impl<B: Backend> Module<B> for Dropout {
    fn named_parameters(&self) -> Vec<(String, Variable<B>)> {
        Vec::new()
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    fn is_training(&self) -> bool {
        self.training
    }
}

impl<B: Backend> Forward<B> for Dropout {
    fn forward(&self, x: &Variable<B>) -> Variable<B> {
        if !self.training || self.p == 0.0 {
            return x.clone();
        }
        let keep = 1.0 / (1.0 - self.p);
        let draw = |rng: &mut Rng| -> Vec<B::Elem> {
            (0..x.numel())
                .map(|_| Variable::<B>::elem(if rng.uniform() < self.p { 0.0 } else { keep }))
                .collect()
        };
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mask = match shard_stream::next() {
            // Inside data-parallel shards: one value from our generator per step, whichever
            // shard comes first, and a stream per shard from it.
            Some(position) => {
                let base = match state.step {
                    Some((step, base)) if step == position.step => base,
                    _ => {
                        let base = state.rng.next_u64();
                        state.step = Some((position.step, base));
                        base
                    }
                };
                drop(state);
                draw(&mut Rng::new(shard_stream::seed(base, position)))
            }
            None => draw(&mut state.rng),
        };
        let mask = Variable::from_vec(mask, &x.shape()).expect("the input's own shape");
        x * mask
    }
}
