//! The same model on both backends: micrograd's `Mlp` sample by sample on `Scalar<f64>`,
//! the same `Mlp` (same seed) on `NdArray<f64>` with one batch column per feature, and a
//! `Linear` stack holding the same weights: equal losses and gradients to 1e-12, and
//! parameters still equal to 1e-10 after ten SGD steps on each.

use ferrograd::nn::functional::{hinge_loss, Reduction};
use ferrograd::nn::{Forward, Linear, Mlp, Module, Relu, Sequential};
use ferrograd::optim::{Optimizer, Sgd};
use ferrograd::random::Rng;
use ferrograd::Variable;
use ferrograd_ndarray::NdArray;
use ferrograd_scalar::Scalar;

type S = Scalar<f64>;
type N = NdArray<f64>;
const SEED: u64 = 2026;
const SIZES: [usize; 3] = [16, 16, 1];

/// Twenty noisy two-moons points and their ±1 labels.
fn data() -> (Vec<[f64; 2]>, Vec<f64>) {
    let mut rng = Rng::new(7);
    (0..20)
        .map(|i| {
            let t = std::f64::consts::PI * (i % 10) as f64 / 9.0;
            let (x, y, label) = if i < 10 {
                (t.cos(), t.sin(), -1.0)
            } else {
                (1.0 - t.cos(), 0.5 - t.sin(), 1.0)
            };
            (
                [x + rng.uniform_in(-0.1, 0.1), y + rng.uniform_in(-0.1, 0.1)],
                label,
            )
        })
        .unzip()
}

fn regulariser<B: ferrograd::Backend>(params: &[Variable<B>]) -> Variable<B> {
    params.iter().map(|p| p.square().sum()).sum::<Variable<B>>() * 1e-4
}

/// The loss on the scalar backend: one forward pass per point.
fn scalar_loss(model: &Mlp<S>, points: &[[f64; 2]], labels: &[f64]) -> Variable<S> {
    let losses: Variable<S> = points
        .iter()
        .zip(labels)
        .map(|(p, &y)| {
            let score = model
                .forward(&[Variable::scalar(p[0]), Variable::scalar(p[1])])
                .remove(0);
            (1.0 - score * y).relu()
        })
        .sum();
    losses / points.len() as f64 + regulariser(&model.parameters())
}

/// The batch as one column per feature, and the labels.
fn columns(points: &[[f64; 2]], labels: &[f64]) -> ([Variable<N>; 2], Variable<N>) {
    let n = points.len();
    let col = |j: usize| Variable::from_vec(points.iter().map(|p| p[j]).collect(), &[n]).unwrap();
    (
        [col(0), col(1)],
        Variable::from_vec(labels.to_vec(), &[n]).unwrap(),
    )
}

/// The loss on the tensor backend: the same `Mlp` code, all points at once.
fn batched_loss(model: &Mlp<N>, points: &[[f64; 2]], labels: &[f64]) -> Variable<N> {
    let (x, y) = columns(points, labels);
    let scores = model.forward(&x).remove(0);
    hinge_loss(&scores, &y, Reduction::Mean) + regulariser(&model.parameters())
}

/// A `Linear` stack with the `Mlp`'s weights: neuron j's weights become row j.
fn linear_stack(model: &Mlp<S>) -> Sequential<N> {
    let mut seq = Sequential::new();
    for (l, layer) in model.layers.iter().enumerate() {
        let (outs, ins) = (layer.neurons.len(), layer.neurons[0].weights.len());
        let w: Vec<f64> = layer
            .neurons
            .iter()
            .flat_map(|n| n.weights.iter().map(|w| w.item()))
            .collect();
        let b: Vec<f64> = layer.neurons.iter().map(|n| n.bias.item()).collect();
        seq = seq.add(Linear::from_parameters(
            Variable::from_vec(w, &[outs, ins]).unwrap(),
            Some(Variable::from_vec(b, &[outs]).unwrap()),
        ));
        if l + 1 < model.layers.len() {
            seq = seq.add(Relu);
        }
    }
    seq
}

fn stack_loss(model: &Sequential<N>, points: &[[f64; 2]], labels: &[f64]) -> Variable<N> {
    let n = points.len();
    let x = Variable::from_vec(points.iter().flatten().copied().collect(), &[n, 2]).unwrap();
    let y = Variable::from_vec(labels.to_vec(), &[n, 1]).unwrap();
    hinge_loss(&model.forward(&x), &y, Reduction::Mean) + regulariser(&model.parameters())
}

#[track_caller]
fn assert_close(what: &str, a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * y.abs().max(1.0),
            "{what}[{i}]: {x:e} vs {y:e}"
        );
    }
}

fn values<B: ferrograd::Backend<Elem = f64>>(params: &[Variable<B>]) -> Vec<f64> {
    params.iter().flat_map(|p| p.to_vec()).collect()
}

fn grads<B: ferrograd::Backend<Elem = f64>>(params: &[Variable<B>]) -> Vec<f64> {
    params
        .iter()
        .flat_map(|p| p.grad().unwrap().to_vec())
        .collect()
}

#[test]
fn the_same_seed_gives_the_same_model_on_both_backends() {
    let scalar = Mlp::<S>::new(2, &SIZES, &mut Rng::new(SEED));
    let tensor = Mlp::<N>::new(2, &SIZES, &mut Rng::new(SEED));
    let (a, b) = (values(&scalar.parameters()), values(&tensor.parameters()));
    assert_eq!(
        a.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
        b.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
    );
    let names_s: Vec<String> = scalar
        .named_parameters()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let names_t: Vec<String> = tensor
        .named_parameters()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names_s, names_t);
    assert_eq!(names_s[0], "layers.0.neurons.0.weights.0");
    assert_eq!(names_s.len(), 337);
}

#[test]
fn losses_and_gradients_agree_across_backends_and_layouts() {
    let (points, labels) = data();
    let scalar = Mlp::<S>::new(2, &SIZES, &mut Rng::new(SEED));
    let batched = Mlp::<N>::new(2, &SIZES, &mut Rng::new(SEED));
    let stack = linear_stack(&scalar);

    let ls = scalar_loss(&scalar, &points, &labels);
    let lb = batched_loss(&batched, &points, &labels);
    let lk = stack_loss(&stack, &points, &labels);
    assert_close("batched loss", &[lb.item()], &[ls.item()], 1e-12);
    assert_close("stack loss", &[lk.item()], &[ls.item()], 1e-12);

    ls.backward();
    lb.backward();
    lk.backward();
    let gs = grads(&scalar.parameters());
    assert_close(
        "batched Mlp gradients",
        &grads(&batched.parameters()),
        &gs,
        1e-12,
    );

    // The stack's parameters are per layer [W (out×in), b]; regroup the Mlp's gradients
    // (per neuron: weights then bias) the same way.
    let mut regrouped = Vec::new();
    for layer in &scalar.layers {
        for n in &layer.neurons {
            regrouped.extend(n.weights.iter().map(|w| w.grad().unwrap().item()));
        }
        regrouped.extend(layer.neurons.iter().map(|n| n.bias.grad().unwrap().item()));
    }
    assert_close(
        "Linear stack gradients",
        &grads(&stack.parameters()),
        &regrouped,
        1e-12,
    );
}

#[test]
fn ten_sgd_steps_keep_the_backends_together() {
    let (points, labels) = data();
    let scalar = Mlp::<S>::new(2, &SIZES, &mut Rng::new(SEED));
    let batched = Mlp::<N>::new(2, &SIZES, &mut Rng::new(SEED));
    let mut opt_s = Sgd::new(scalar.parameters(), 0.05);
    let mut opt_b = Sgd::new(batched.parameters(), 0.05);
    for step in 0..10 {
        opt_s.zero_grad();
        opt_b.zero_grad();
        scalar_loss(&scalar, &points, &labels).backward();
        batched_loss(&batched, &points, &labels).backward();
        opt_s.step();
        opt_b.step();
        assert_close(
            &format!("parameters after step {step}"),
            &values(&batched.parameters()),
            &values(&scalar.parameters()),
            1e-10,
        );
    }
}
