//! Gradient clipping by norm.

use crate::backend::{norm_of_slice, Backend};
use crate::grad_mode::no_grad;
use crate::variable::Variable;

/// Scales the gradients of `params` so that their total `norm_type`-norm is at most
/// `max_norm`, and returns the total norm before clipping (PyTorch's
/// `clip_grad_norm_`). The total is the norm of the per-parameter norms; `norm_type` may be
/// `f64::INFINITY` (the largest absolute element). Gradients are multiplied by
/// `min(1, max_norm / (total + 1e-6))`. Parameters without a gradient are skipped. As in
/// PyTorch (without `error_if_nonfinite`), a NaN in any gradient makes the total NaN and
/// every gradient NaN.
///
/// # Panics
/// If `norm_type` is not positive.
#[track_caller]
pub fn clip_grad_norm<B: Backend>(params: &[Variable<B>], max_norm: f64, norm_type: f64) -> f64 {
    assert!(
        norm_type > 0.0,
        "clip_grad_norm: norm_type must be positive, got {norm_type}"
    );
    let grads: Vec<(&Variable<B>, Variable<B>)> = params
        .iter()
        .filter_map(|p| p.grad().map(|g| (p, g)))
        .collect();
    let per_parameter: Vec<f64> = grads
        .iter()
        .map(|(_, g)| B::norm(&g.value(), norm_type))
        .collect();
    let total = norm_of_slice(&per_parameter, norm_type);
    // NaN stays NaN (PyTorch's clamp): a NaN gradient makes every gradient NaN, rather
    // than passing as if the norm were small.
    let ratio = max_norm / (total + 1e-6);
    let coefficient = if ratio.is_nan() {
        ratio
    } else {
        ratio.min(1.0)
    };
    // Multiplying by 1 changes no bits, so gradients under the limit are left as they
    // are rather than copied (PyTorch multiplies them in place).
    if coefficient != 1.0 {
        no_grad(|| {
            for (p, g) in grads {
                p.set_grad(Some(g * coefficient));
            }
        });
    }
    total
}
