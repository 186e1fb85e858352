//! `clip_grad_norm` beyond PyTorch's fixtures (tests/optim_reference.rs): NaN, gradients
//! under the limit, and a tensor large enough for the parallel norm.

use ferrograd::optim::clip_grad_norm;
use ferrograd::{Backend, Element, Variable};
use ferrograd_ndarray::NdArray;
use ferrograd_scalar::Scalar;

/// Parameters whose gradients are `grads`, one parameter per gradient.
fn with_grads<B: Backend>(
    grads: &[Vec<f64>],
    shape: impl Fn(usize) -> Vec<usize>,
) -> Vec<Variable<B>> {
    grads
        .iter()
        .map(|g| {
            let p = Variable::<B>::ones(&shape(g.len())).requires_grad();
            let values = g.iter().map(|&v| B::Elem::from_f64(v)).collect();
            let g = Variable::<B>::from_vec(values, &shape(g.len())).unwrap();
            (&p * &g).sum().backward(); // ∂/∂p = g
            p
        })
        .collect()
}

fn grads_of<B: Backend>(params: &[Variable<B>]) -> Vec<f64> {
    params
        .iter()
        .flat_map(|p| p.grad().unwrap().to_vec())
        .map(Element::as_f64)
        .collect()
}

/// As in PyTorch: a NaN anywhere makes the total and every gradient NaN, for the
/// infinity norm too (which a maximum that skips NaN would hide).
#[test]
fn a_nan_gradient_makes_every_gradient_nan() {
    fn check<B: Backend>(grads: &[Vec<f64>], shape: impl Fn(usize) -> Vec<usize> + Copy) {
        for norm_type in [1.0, 2.0, f64::INFINITY] {
            let params = with_grads::<B>(grads, shape);
            let total = clip_grad_norm(&params, 1.0, norm_type);
            assert!(
                total.is_nan(),
                "{} norm {norm_type}: total {total}",
                B::name()
            );
            let after = grads_of(&params);
            assert!(
                after.iter().all(|g| g.is_nan()),
                "{} norm {norm_type}",
                B::name()
            );
        }
    }
    let grads = vec![vec![1.0, f64::NAN, -2.0], vec![0.5, 4.0]];
    check::<NdArray<f32>>(&grads, |n| vec![n]);
    check::<NdArray<f64>>(&grads, |n| vec![n]);
    let scalars: Vec<Vec<f64>> = grads.concat().into_iter().map(|g| vec![g]).collect();
    check::<Scalar<f64>>(&scalars, |_| vec![]);
}

/// Gradients whose norm is under the limit keep their bits, and the total is returned.
#[test]
fn gradients_under_the_limit_are_unchanged() {
    let grads = vec![vec![3.0, -4.0], vec![12.0]];
    let params = with_grads::<NdArray<f64>>(&grads, |n| vec![n]);
    assert_eq!(clip_grad_norm(&params, 100.0, 2.0), 13.0);
    assert_eq!(grads_of(&params), grads.concat());
}

/// A gradient of a million elements (the parallel pieces) against the same numbers held
/// as scalars, one parameter each, and against a plain sum.
#[test]
fn a_large_gradient_agrees_with_scalars_and_a_plain_sum() {
    let n = 1_000_003;
    let g: Vec<f64> = (0..n).map(|i| ((i as f64) * 0.731).sin() * 1e-3).collect();
    let plain = g.iter().map(|v| v * v).sum::<f64>().sqrt();
    let tensor = with_grads::<NdArray<f64>>(std::slice::from_ref(&g), |n| vec![n]);
    let total = clip_grad_norm(&tensor, 0.5, 2.0);
    assert!(
        (total - plain).abs() <= 1e-12 * plain,
        "{total} against {plain}"
    );
    let scalars: Vec<Vec<f64>> = g[..1000].iter().map(|&v| vec![v]).collect();
    let params = with_grads::<Scalar<f64>>(&scalars, |_| vec![]);
    let small = with_grads::<NdArray<f64>>(&[g[..1000].to_vec()], |n| vec![n]);
    let (a, b) = (
        clip_grad_norm(&params, 0.5, 2.0),
        clip_grad_norm(&small, 0.5, 2.0),
    );
    assert!(
        (a - b).abs() <= 1e-14 * a,
        "scalars {a} against a tensor {b}"
    );
    // Clipped to 0.5: each gradient scaled by the same coefficient.
    let coefficient = 0.5 / (total + 1e-6);
    let after = grads_of(&tensor);
    for i in (0..n).step_by(9973) {
        assert_eq!(after[i], g[i] * coefficient, "element {i}");
    }
}
