//! Add, sub and mul also carry their derivatives on plain values, which backward passes
//! that are not recorded use where nothing is broadcast. Those must give the very bits of
//! the derivatives written as `Variable` operations, which a recorded pass
//! (`create_graph`) still runs.

use ferrograd::{autograd, Backend, Element, Variable};
use ferrograd_ndarray::NdArray;
use ferrograd_scalar::Scalar;

/// Values whose sums and products round differently in different orders.
fn value(i: usize) -> f64 {
    ((i as f64 + 1.0) * 0.731).sin() * 10f64.powi((i % 5) as i32 - 2)
}

/// A graph of adds, subs and muls with values reused (so gradients accumulate), and a
/// constant on either side of each op.
fn graph<B: Backend>(xs: &[Variable<B>], c: &Variable<B>) -> Variable<B> {
    let (a, b, d) = (&xs[0], &xs[1], &xs[2]);
    let p = a * b - c * d;
    let q = (&p + a) * (b - &p) + c;
    let r = &q * &q - (d * a - c);
    (r * &p + b * c).sum()
}

/// The bits of the gradients of [`graph`] at `xs`, from an unrecorded and from a recorded
/// backward pass.
type Bits = Vec<Vec<u64>>;
fn both_ways<B: Backend>(xs: &[Variable<B>], c: &Variable<B>) -> (Bits, Bits) {
    let y = graph(xs, c);
    let inputs: Vec<&Variable<B>> = xs.iter().collect();
    let bits = |grads: Vec<Variable<B>>| -> Bits {
        grads
            .iter()
            .map(|g| g.to_vec().into_iter().map(Element::to_bits64).collect())
            .collect()
    };
    (
        bits(autograd::grad(&y, &inputs, None, false)),
        bits(autograd::grad(&y, &inputs, None, true)),
    )
}

fn assert_same_bits(fast: &Bits, slow: &Bits, what: &str) {
    assert!(
        fast.iter().flatten().any(|&g| g != 0),
        "{what}: all gradients zero"
    );
    assert_eq!(fast, slow, "{what}");
}

#[test]
fn scalar_value_derivatives_match_the_variable_ones_to_the_bit() {
    type V = Variable<Scalar<f64>>;
    for start in 0..20 {
        let xs: Vec<V> = (0..3)
            .map(|i| V::scalar(value(start + i)).requires_grad())
            .collect();
        let (fast, slow) = both_ways(&xs, &V::scalar(value(start + 7)));
        assert_same_bits(&fast, &slow, &format!("start {start}"));
    }
}

#[test]
fn tensor_value_derivatives_match_the_variable_ones_to_the_bit() {
    fn check<B: Backend>() {
        let tensor = |seed: usize, shape: &[usize]| {
            let n = shape.iter().product();
            let data = (0..n)
                .map(|i| B::Elem::from_f64(value(seed + 3 * i)))
                .collect();
            Variable::<B>::from_vec(data, shape).unwrap()
        };
        let xs: Vec<Variable<B>> = (0..3).map(|i| tensor(i, &[4, 5]).requires_grad()).collect();
        let (fast, slow) = both_ways(&xs, &tensor(9, &[4, 5]));
        assert_same_bits(&fast, &slow, B::name());
        // A broadcast constant: ops with it take the `Variable` derivatives, and the
        // gradients must still agree.
        let (fast, slow) = both_ways(&xs, &tensor(9, &[5]));
        assert_same_bits(&fast, &slow, B::name());
    }
    check::<NdArray<f32>>();
    check::<NdArray<f64>>();
}
