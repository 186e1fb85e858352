//! `layer_norm`.

use crate::backend::TensorOps;
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
    let dims: Vec<isize> = (-(k as isize)..0).collect();
    let centered = x - x.mean_dims(&dims, true);
    let var = centered.square().mean_dims(&dims, true);
    let mut y = centered / (var + eps).sqrt();
    if let Some(w) = weight {
        y *= w;
    }
    if let Some(b) = bias {
        y += b;
    }
    y
}
