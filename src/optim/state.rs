//! An optimizer's state as plain data: what resuming training needs besides the
//! parameters (moments, momentum buffers, step counts, the learning rate).

use crate::backend::Backend;
use crate::checkpoint::Problem;
use crate::variable::Variable;
use std::collections::BTreeMap;

/// The state an optimizer carries from step to step, as plain data: what
/// [`Optimizer::state_dict`](super::Optimizer::state_dict) returns and
/// [`checkpoint::save_optimizer`](crate::checkpoint::save_optimizer) writes.
///
/// Buffers have PyTorch's names (`exp_avg`, `exp_avg_sq`, `max_exp_avg_sq`,
/// `momentum_buffer`, `square_avg`, `grad_avg`, `sum`) and are listed per parameter, by
/// the parameter's position in the optimizer's list, as PyTorch's `state` is.
///
/// ```
/// use ferrograd::optim::{Adam, Optimizer};
/// use ferrograd::Variable;
/// use ferrograd_scalar::Scalar;
///
/// let x = Variable::<Scalar<f64>>::scalar(0.0).requires_grad();
/// let mut opt = Adam::new(vec![x.clone()], 0.1);
/// (&x - 3.0).square().backward();
/// opt.step();
///
/// let state = opt.state_dict();
/// assert_eq!(state.kind, "adam");
/// let first = state.params[0].as_ref().unwrap();
/// assert_eq!(first.step, Some(1));
/// assert_eq!(first.buffers.keys().collect::<Vec<_>>(), ["exp_avg", "exp_avg_sq"]);
///
/// // A fresh optimizer over the same parameters continues where this one stopped.
/// let mut resumed = Adam::new(vec![x.clone()], 0.1);
/// resumed.load_state_dict(state).unwrap();
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizerState<T> {
    /// The optimizer that wrote it: `sgd`, `adam`, `adamw`, `rmsprop` or `adagrad`.
    pub kind: String,
    /// The learning rate when it was taken (schedules change it as training goes).
    pub learning_rate: f64,
    /// One entry per parameter, in the optimizer's order: `None` for a parameter that has
    /// not been updated yet (it never had a gradient at a step).
    pub params: Vec<Option<ParamState<T>>>,
}

/// One parameter's optimizer state.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamState<T> {
    /// The number of updates so far, for optimizers that count them (Adam, Adagrad).
    pub step: Option<u64>,
    /// The buffers by name: shape (the parameter's) and row-major values.
    pub buffers: BTreeMap<String, (Vec<usize>, Vec<T>)>,
}

impl<T> OptimizerState<T> {
    /// The state of an optimizer of kind `kind` from its per-parameter states, each
    /// turned into plain data by `save`.
    pub(crate) fn from_states<S>(
        kind: &str,
        learning_rate: f64,
        states: &[Option<S>],
        save: impl Fn(&S) -> ParamState<T>,
    ) -> Self {
        OptimizerState {
            kind: kind.to_string(),
            learning_rate,
            params: states.iter().map(|s| s.as_ref().map(&save)).collect(),
        }
    }
}

impl<T> ParamState<T> {
    /// The state of one parameter from its step count and named buffers; a buffer that is
    /// `None` (one this configuration does not keep) is left out.
    pub(crate) fn new<B: Backend<Elem = T>>(
        step: Option<u64>,
        buffers: &[(&str, Option<&Variable<B>>)],
    ) -> Self {
        let buffers = buffers
            .iter()
            .filter_map(|&(name, b)| b.map(|b| (name.to_string(), (b.shape(), b.to_vec()))))
            .collect();
        ParamState { step, buffers }
    }
}

/// Reads one parameter's saved state, noting every problem: a buffer or a step count that
/// is missing, a buffer of the wrong shape, a buffer this configuration does not use.
pub(crate) struct Reader<'a, B: Backend> {
    index: usize,
    param: &'a Variable<B>,
    saved: ParamState<B::Elem>,
    problems: &'a mut Vec<Problem>,
}

impl<B: Backend> Reader<'_, B> {
    fn name(&self, buffer: &str) -> String {
        format!("state.{}.{buffer}", self.index)
    }

    /// The buffer `name`, as a constant of the parameter's shape.
    pub(crate) fn buffer(&mut self, name: &str) -> Option<Variable<B>> {
        let Some((shape, values)) = self.saved.buffers.remove(name) else {
            self.problems.push(Problem::Missing(self.name(name)));
            return None;
        };
        let expected = self.param.shape();
        if shape != expected || values.len() != expected.iter().product::<usize>() {
            let found = if shape == expected {
                vec![values.len()]
            } else {
                shape
            };
            self.problems.push(Problem::Shape {
                name: self.name(name),
                expected,
                found,
            });
            return None;
        }
        Variable::from_vec(values, &expected).ok()
    }

    /// The buffer `name` if this configuration keeps it (`kept`): `Some(None)` when it does
    /// not, `None` when the buffer is missing or wrong.
    pub(crate) fn buffer_if(&mut self, kept: bool, name: &str) -> Option<Option<Variable<B>>> {
        if kept {
            self.buffer(name).map(Some)
        } else {
            Some(None)
        }
    }

    /// The step count.
    pub(crate) fn step(&mut self) -> Option<u64> {
        let step = self.saved.step.take();
        if step.is_none() {
            self.problems.push(Problem::Missing(self.name("step")));
        }
        step
    }

    /// Notes every buffer not read (and a step count this optimizer does not keep) as
    /// unexpected.
    fn finish(self) {
        let index = self.index;
        let unexpected = self.saved.buffers.into_keys();
        let step = self.saved.step.map(|_| "step".to_string());
        self.problems.extend(
            unexpected
                .chain(step)
                .map(|name| Problem::Unexpected(format!("state.{index}.{name}"))),
        );
    }
}

/// Checks `state` against an optimizer of kind `kind` over `params` and builds each
/// parameter's state with `read`; returns the learning rate and the states, or every
/// problem found (and then the caller changes nothing).
pub(crate) fn read_states<B: Backend, S>(
    kind: &str,
    params: &[Variable<B>],
    state: OptimizerState<B::Elem>,
    mut read: impl FnMut(&mut Reader<'_, B>) -> Option<S>,
) -> Result<(f64, Vec<Option<S>>), Vec<Problem>> {
    let mut problems = Vec::new();
    if state.kind != kind {
        problems.push(Problem::Optimizer {
            expected: kind.to_string(),
            found: state.kind,
        });
        return Err(problems);
    }
    if state.params.len() != params.len() {
        problems.push(Problem::ParameterCount {
            expected: params.len(),
            found: state.params.len(),
        });
        return Err(problems);
    }
    if state.learning_rate.is_nan() || state.learning_rate < 0.0 {
        problems.push(Problem::Value {
            name: "learning_rate".to_string(),
            found: state.learning_rate.to_string(),
        });
    }
    let mut states = Vec::with_capacity(params.len());
    for (index, (param, saved)) in params.iter().zip(state.params).enumerate() {
        let Some(saved) = saved else {
            states.push(None);
            continue;
        };
        let mut reader = Reader {
            index,
            param,
            saved,
            problems: &mut problems,
        };
        let read = read(&mut reader);
        reader.finish();
        states.push(read);
    }
    if problems.is_empty() {
        Ok((state.learning_rate, states))
    } else {
        Err(problems)
    }
}
