//! Gradient clipping by norm.

use crate::backend::Backend;
use crate::element::Element;
use crate::grad_mode::no_grad;
use crate::variable::Variable;

/// Scales the gradients of `params` so that their total `norm_type`-norm is at most
/// `max_norm`, and returns the total norm before clipping (PyTorch's
/// `clip_grad_norm_`). The total is the norm of the per-parameter norms; `norm_type` may be
/// `f64::INFINITY` (the largest absolute element). Gradients are multiplied by
/// `min(1, max_norm / (total + 1e-6))`. Parameters without a gradient are skipped.
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
    let norm = |values: &mut dyn Iterator<Item = f64>| -> f64 {
        if norm_type.is_infinite() {
            values.map(f64::abs).fold(0.0, f64::max)
        } else if norm_type == 2.0 {
            values.map(|v| v * v).sum::<f64>().sqrt()
        } else {
            values
                .map(|v| v.abs().powf(norm_type))
                .sum::<f64>()
                .powf(1.0 / norm_type)
        }
    };
    let per_parameter: Vec<f64> = grads
        .iter()
        .map(|(_, g)| norm(&mut g.to_vec().into_iter().map(Element::as_f64)))
        .collect();
    let total = norm(&mut per_parameter.into_iter());
    let coefficient = (max_norm / (total + 1e-6)).min(1.0);
    no_grad(|| {
        for (p, g) in grads {
            p.set_grad(Some(g * coefficient));
        }
    });
    total
}
