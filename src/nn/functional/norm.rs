//! `layer_norm`.

use crate::backend::TensorOps;
use crate::grad_mode::is_grad_enabled;
use crate::variable::Variable;

/// Layer normalisation over the trailing dimensions `normalized_shape` (PyTorch's
/// `F.layer_norm`): `(x − mean) / √(var + eps) · weight + bias` with the biased variance.
/// `weight` and `bias`, if given, have shape `normalized_shape`.
///
/// # Panics
/// If `normalized_shape` is not the trailing part of `x`'s shape, or `weight`/`bias` have
/// another shape.
#[track_caller]
pub fn layer_norm<B: TensorOps>(
    x: &Variable<B>,
    normalized_shape: &[usize],
    weight: Option<&Variable<B>>,
    bias: Option<&Variable<B>>,
    eps: f64,
) -> Variable<B> {
    let shape = x.shape();
    let k = normalized_shape.len();
    if k == 0 || k > shape.len() || shape[shape.len() - k..] != *normalized_shape {
        panic!("layer_norm: normalized_shape {normalized_shape:?} is not the end of input shape {shape:?}");
    }
    for (name, p) in [("weight", weight), ("bias", bias)] {
        if let Some(p) = p {
            if p.shape() != normalized_shape {
                panic!(
                    "layer_norm: {name} has shape {:?}, expected {normalized_shape:?}",
                    p.shape()
                );
            }
        }
    }
    let group: usize = normalized_shape.iter().product();
    let value = B::layer_norm(
        &x.value_ref(),
        weight.map(|w| w.value_ref()).as_deref(),
        bias.map(|b| b.value_ref()).as_deref(),
        group,
        eps,
    );
    let mut inputs = vec![x];
    inputs.extend(weight);
    inputs.extend(bias);
    let has_weight = weight.is_some();
    Variable::from_op("layer_norm", value, &inputs, move |i, xs, _, g| {
        let x = &xs[0];
        let weight = has_weight.then(|| &xs[1]);
        let input = match i {
            0 => Input::X,
            1 if has_weight => Input::Weight,
            _ => Input::Bias,
        };
        if is_grad_enabled() {
            recorded_derivative(input, x, weight, g, k, eps)
        } else {
            derivative_on_values(input, x, weight, g, (k, group), eps)
        }
    })
}

/// Which input of `layer_norm` a derivative is for.
#[derive(Clone, Copy)]
enum Input {
    X,
    Weight,
    Bias,
}

/// The derivative for an unrecorded backward pass, which only needs values: one kernel
/// each for `x` ([`TensorOps::layer_norm_backward`]) and the weight
/// ([`TensorOps::layer_norm_weight_grad`]). The bias's gradient is `g`, which the engine
/// sums over the leading dimensions.
fn derivative_on_values<B: TensorOps>(
    input: Input,
    x: &Variable<B>,
    weight: Option<&Variable<B>>,
    g: &Variable<B>,
    (k, group): (usize, usize),
    eps: f64,
) -> Variable<B> {
    let (x, g) = (x.value_ref(), g.value_ref());
    Variable::constant(match input {
        Input::X => {
            let weight = weight.map(|w| w.value_ref());
            B::layer_norm_backward(&x, &g, weight.as_deref(), group, eps)
        }
        Input::Weight => {
            let shape = B::shape(&x);
            let sum = B::layer_norm_weight_grad(&x, &g, group, eps);
            B::reshape(&sum, &shape[shape.len() - k..])
        }
        Input::Bias => g.into_owned(),
    })
}

/// The same derivatives written with differentiable ops, for a recorded backward pass
/// (`create_graph`), whose result may be differentiated again: with `ĝ = g · weight`,
/// `∂x = rstd · (ĝ − mean(ĝ) − ŷ · mean(ĝ · ŷ))`, where `ŷ = (x − mean) · rstd` and
/// `rstd = 1 / √(var + eps)` over the last `k` dimensions.
fn recorded_derivative<B: TensorOps>(
    input: Input,
    x: &Variable<B>,
    weight: Option<&Variable<B>>,
    g: &Variable<B>,
    k: usize,
    eps: f64,
) -> Variable<B> {
    let dims: Vec<isize> = (-(k as isize)..0).collect();
    let mean = |v: &Variable<B>| v.mean_dims(&dims, true);
    let rstd_and_normalised = || {
        let centred = x - mean(x);
        let rstd = (mean(&centred.square()) + eps).sqrt().reciprocal();
        let normalised = centred * &rstd;
        (rstd, normalised)
    };
    match input {
        Input::Bias => g.clone(),
        Input::Weight => g * rstd_and_normalised().1,
        Input::X => {
            let (rstd, normalised) = rstd_and_normalised();
            let g = weight.map_or_else(|| g.clone(), |w| g * w);
            (&g - mean(&g) - &normalised * mean(&(&g * &normalised))) * rstd
        }
    }
}
