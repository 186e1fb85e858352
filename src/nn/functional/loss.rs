//! Losses: `cross_entropy nll_loss mse_loss binary_cross_entropy_with_logits`.

use crate::backend::{Backend, Indices, TensorOps};
use crate::error::Result;
use crate::variable::Variable;

/// How a loss combines its per-element values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reduction {
    /// The mean (the default, as in PyTorch).
    #[default]
    Mean,
    /// The sum.
    Sum,
    /// No reduction: one loss per element (per row for class losses).
    None,
}

impl Reduction {
    fn apply<B: Backend>(self, losses: Variable<B>) -> Variable<B> {
        match self {
            Reduction::Mean => losses.mean(),
            Reduction::Sum => losses.sum(),
            Reduction::None => losses,
        }
    }
}

/// Softmax cross-entropy between `logits` `[n, c]` and class `targets` (`n` indices in
/// `0..c`), with label smoothing `ε`: the target distribution is `(1 − ε)·onehot + ε/c`
/// (PyTorch's `F.cross_entropy`). Stable for large logits.
///
/// # Errors
/// [`Error::IndexOutOfRange`](crate::Error::IndexOutOfRange) for a target outside `0..c`.
///
/// # Panics
/// If `logits` is not 2-D, `targets` does not hold one index per row, or `ε` is outside
/// `[0, 1]`.
#[track_caller]
pub fn cross_entropy<B: TensorOps>(
    logits: &Variable<B>,
    targets: &Indices,
    label_smoothing: f64,
    reduction: Reduction,
) -> Result<Variable<B>> {
    check_class_targets("cross_entropy", &logits.shape(), targets);
    assert!(
        (0.0..=1.0).contains(&label_smoothing),
        "cross_entropy: label_smoothing {label_smoothing} is outside [0, 1]"
    );
    let log_probs = logits.log_softmax(1);
    let nll = -pick_classes(&log_probs, targets, "cross_entropy")?;
    let per_row = if label_smoothing > 0.0 {
        let uniform = -log_probs.mean_dims(&[1], false);
        nll * (1.0 - label_smoothing) + uniform * label_smoothing
    } else {
        nll
    };
    Ok(reduction.apply(per_row))
}

/// Negative log-likelihood of class `targets` under log-probabilities `input` `[n, c]`
/// (PyTorch's `F.nll_loss`).
///
/// # Errors
/// [`Error::IndexOutOfRange`](crate::Error::IndexOutOfRange) for a target outside `0..c`.
///
/// # Panics
/// If `input` is not 2-D or `targets` does not hold one index per row.
#[track_caller]
pub fn nll_loss<B: TensorOps>(
    input: &Variable<B>,
    targets: &Indices,
    reduction: Reduction,
) -> Result<Variable<B>> {
    check_class_targets("nll_loss", &input.shape(), targets);
    Ok(reduction.apply(-pick_classes(input, targets, "nll_loss")?))
}

/// The element of each row at its target class, `[n]`.
fn pick_classes<B: TensorOps>(
    values: &Variable<B>,
    targets: &Indices,
    op: &'static str,
) -> Result<Variable<B>> {
    let column = targets.with_shape(vec![targets.len(), 1]);
    column.check(op, values.shape()[1])?;
    Ok(values.gather(1, &column)?.squeeze(1))
}

#[track_caller]
fn check_class_targets(op: &str, shape: &[usize], targets: &Indices) {
    if shape.len() != 2 || targets.shape() != [shape[0]] {
        panic!(
            "{op}: expected input [n, c] and n targets, got input {shape:?} and targets of shape {:?}",
            targets.shape()
        );
    }
}

/// Mean squared error, `(input − target)²` reduced (PyTorch's `F.mse_loss`). Works on
/// every backend.
///
/// # Panics
/// If the shapes differ (PyTorch would broadcast with a warning; here it is an error, to
/// catch a silently broadcast `[n]` against `[n, 1]`).
#[track_caller]
pub fn mse_loss<B: Backend>(
    input: &Variable<B>,
    target: &Variable<B>,
    reduction: Reduction,
) -> Variable<B> {
    check_same_shape("mse_loss", input, target);
    reduction.apply((input - target).square())
}

/// Binary cross-entropy of `sigmoid(logits)` against `target` (0/1 or soft labels), computed
/// stably from the logits: `max(x, 0) − x·y + ln(1 + e^(−|x|))` (PyTorch's
/// `F.binary_cross_entropy_with_logits`). Works on every backend.
///
/// # Panics
/// If the shapes differ.
#[track_caller]
pub fn binary_cross_entropy_with_logits<B: Backend>(
    logits: &Variable<B>,
    target: &Variable<B>,
    reduction: Reduction,
) -> Variable<B> {
    check_same_shape("binary_cross_entropy_with_logits", logits, target);
    let losses = logits.relu() - logits * target + (-logits.abs()).softplus();
    reduction.apply(losses)
}

/// The SVM max-margin (hinge) loss of micrograd's demo, `max(0, 1 − y·score)` reduced,
/// for labels `y` of ±1. Works on every backend.
///
/// # Panics
/// If the shapes differ.
#[track_caller]
pub fn hinge_loss<B: Backend>(
    scores: &Variable<B>,
    labels: &Variable<B>,
    reduction: Reduction,
) -> Variable<B> {
    check_same_shape("hinge_loss", scores, labels);
    reduction.apply((1.0 - scores * labels).relu())
}

#[track_caller]
fn check_same_shape<B: Backend>(op: &str, a: &Variable<B>, b: &Variable<B>) {
    let (sa, sb) = (a.shape(), b.shape());
    if sa != sb {
        panic!("{op}: input has shape {sa:?} but target has shape {sb:?}");
    }
}
