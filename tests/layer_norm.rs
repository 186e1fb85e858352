//! `layer_norm` is one op whose derivative has two forms: one kernel on values for an
//! unrecorded backward pass, differentiable ops for a recorded one (`create_graph`). The
//! two must agree; gradcheck and the PyTorch fixtures check each against the truth.

use ferrograd::nn::functional as f;
use ferrograd::random::Rng;
use ferrograd::{autograd, Variable};
use ferrograd_ndarray::NdArray;

type V = Variable<NdArray<f64>>;

fn random(shape: &[usize], rng: &mut Rng) -> V {
    let n = shape.iter().product();
    let data = (0..n).map(|_| rng.uniform_in(-2.0, 2.0)).collect();
    V::from_vec(data, shape).unwrap().requires_grad()
}

fn assert_close(what: &str, a: &V, b: &V) {
    assert_eq!(a.shape(), b.shape(), "{what}: shapes");
    for (i, (x, y)) in a.to_vec().iter().zip(b.to_vec()).enumerate() {
        assert!(
            (x - y).abs() <= 1e-12 * y.abs().max(1.0),
            "{what}[{i}]: {x:e} unrecorded, {y:e} recorded"
        );
    }
}

#[test]
fn recorded_and_unrecorded_derivatives_agree() {
    let mut rng = Rng::new(7);
    let x = random(&[5, 3, 7], &mut rng);
    let (w, b) = (random(&[3, 7], &mut rng), random(&[3, 7], &mut rng));
    let upstream = random(&[5, 3, 7], &mut rng).detach();
    for (weight, bias) in [
        (None, None),
        (Some(&w), None),
        (None, Some(&b)),
        (Some(&w), Some(&b)),
    ] {
        let y = f::layer_norm(&x, &[3, 7], weight, bias, 1e-5);
        let loss = (&y * &upstream).sum();
        let mut inputs = vec![&x];
        inputs.extend(weight);
        inputs.extend(bias);
        let unrecorded = autograd::grad(&loss, &inputs, None, false);
        let recorded = autograd::grad(&loss, &inputs, None, true);
        assert!(
            recorded[0].is_tracked(),
            "the recorded gradient of x is a graph"
        );
        for (i, (u, r)) in unrecorded.iter().zip(&recorded).enumerate() {
            let what = format!(
                "weight {}, bias {}: input {i}",
                weight.is_some(),
                bias.is_some()
            );
            assert_close(&what, u, r);
        }
    }
}

#[test]
fn the_output_is_normalised_and_shifted() {
    let mut rng = Rng::new(8);
    let x = random(&[4, 9], &mut rng);
    let b = V::from_vec(vec![3.0; 9], &[9]).unwrap();
    let y = f::layer_norm(&x, &[9], None, Some(&b), 0.0).to_vec();
    for row in y.chunks(9) {
        let mean = row.iter().sum::<f64>() / 9.0;
        let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 9.0;
        assert!((mean - 3.0).abs() < 1e-13, "mean {mean}");
        assert!((var - 1.0).abs() < 1e-12, "variance {var}");
    }
}
