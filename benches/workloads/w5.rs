//! W5: micrograd's demo. An MLP 2-16-16-1 (ReLU hidden, linear output) over 100 noisy
//! two-moons points, SVM max-margin loss with L2, one SGD step.

use super::{stream_u, uniform};
use ferrograd::data_parallel::{backward_shards, shard_ranges};
use ferrograd::nn::functional::{hinge_loss, Reduction};
use ferrograd::nn::{Forward, Linear, Mlp, Module, Relu, Sequential};
use ferrograd::optim::{Optimizer, Sgd};
use ferrograd::random::Rng;
use ferrograd::{Backend, Element, TensorOps, Variable};

/// The 100 points (row-major `[100, 2]`) and their labels (±1). Like all workload data the
/// points are `f32` values (the check values were computed from them); the scalar engine
/// then computes in `f64`.
pub fn data() -> (Vec<[f64; 2]>, Vec<f64>) {
    let noise = uniform(501, 200, 0.0, 1.0);
    let mut points = Vec::with_capacity(100);
    let mut labels = Vec::with_capacity(100);
    for k in 0..50 {
        let t = std::f64::consts::PI * k as f64 / 49.0;
        points.push([t.cos(), t.sin()]);
        labels.push(-1.0);
    }
    for k in 0..50 {
        let t = std::f64::consts::PI * k as f64 / 49.0;
        points.push([1.0 - t.cos(), 0.5 - t.sin()]);
        labels.push(1.0);
    }
    for (i, p) in points.iter_mut().enumerate() {
        p[0] = (p[0] + 0.2 * noise[2 * i] - 0.1) as f32 as f64;
        p[1] = (p[1] + 0.2 * noise[2 * i + 1] - 0.1) as f32 as f64;
    }
    (points, labels)
}

/// Layer sizes of micrograd's `MLP(2, [16, 16, 1])`.
pub const SIZES: [usize; 4] = [2, 16, 16, 1];

/// The initial weights of layer `l`, `[nout][nin]`: 2u − 1 from stream 510 + 10·l.
pub fn initial_weights(l: usize) -> Vec<Vec<f64>> {
    let (nin, nout) = (SIZES[l], SIZES[l + 1]);
    (0..nout)
        .map(|j| {
            (0..nin)
                .map(|i| 2.0 * stream_u(510 + 10 * l as u64, (j * nin + i) as u64) - 1.0)
                .collect()
        })
        .collect()
}

/// The check values at initialisation: the loss, and the sum of ∂loss/∂W0.
pub const CHECK_LOSS: f64 = 1.0676771047661007;
/// The sum of the gradient of all first-layer weights at initialisation.
pub const CHECK_GRAD_W0: f64 = 0.22058971723749748;

/// micrograd's `MLP(2, [16, 16, 1])` (ferrograd's own [`Mlp`], generic over the backend)
/// with W5's initial parameters.
pub fn model<B: Backend>() -> Mlp<B> {
    let model = Mlp::new(SIZES[0], &SIZES[1..], &mut Rng::new(0));
    for (l, layer) in model.layers.iter().enumerate() {
        let weights = initial_weights(l);
        for (neuron, row) in layer.neurons.iter().zip(weights) {
            for (w, value) in neuron.weights.iter().zip(row) {
                w.set_value(B::full(&[], B::Elem::from_f64(value)));
            }
            neuron.bias.set_value(B::full(&[], B::Elem::from_f64(0.0)));
        }
    }
    model
}

/// The sum of squared parameters times 1e-4.
fn regulariser<B: Backend>(model: &impl Module<B>) -> Variable<B> {
    let squares: Variable<B> = model.parameters().iter().map(|p| (p * p).sum()).sum();
    squares * 1e-4
}

/// The loss on the scalar backend, micrograd's way: one forward pass per point, the mean
/// hinge loss (a sum times 1/n), plus the regulariser.
pub fn loss_per_point<B: Backend>(
    model: &Mlp<B>,
    points: &[[f64; 2]],
    labels: &[f64],
) -> Variable<B> {
    let losses: Variable<B> = points
        .iter()
        .zip(labels)
        .map(|(p, &y)| {
            let x = [
                Variable::scalar(B::Elem::from_f64(p[0])),
                Variable::scalar(B::Elem::from_f64(p[1])),
            ];
            let score = model.forward(&x).remove(0);
            (1.0 - score * y).relu()
        })
        .sum();
    losses * (1.0 / points.len() as f64) + regulariser(model)
}

/// The batch as one column per feature (what the same `Mlp` takes on a tensor backend),
/// and the labels.
pub fn columns<B: Backend>(points: &[[f64; 2]], labels: &[f64]) -> ([Variable<B>; 2], Variable<B>) {
    let n = points.len();
    let col = |j: usize| {
        Variable::from_vec(
            points.iter().map(|p| B::Elem::from_f64(p[j])).collect(),
            &[n],
        )
        .expect("one value per point")
    };
    ([col(0), col(1)], label_vector(labels))
}

/// The loss with the whole batch at once (a tensor backend): the same model code.
pub fn loss_batched<B: Backend>(
    model: &Mlp<B>,
    x: &[Variable<B>; 2],
    y: &Variable<B>,
) -> Variable<B> {
    let scores = model.forward(x).remove(0);
    hinge_loss(&scores, y, Reduction::Mean) + regulariser(model)
}

/// The same model as three matrix products, as a tensor engine runs it (and as W5's
/// PyTorch version is written): `Linear` layers whose `[out, in]` weights hold
/// [`initial_weights`], zero biases, ReLU between them.
pub fn matrix_model<B: TensorOps>() -> Sequential<B> {
    let linear = |l: usize| {
        let values: Vec<B::Elem> = initial_weights(l)
            .into_iter()
            .flatten()
            .map(B::Elem::from_f64)
            .collect();
        let weight = Variable::from_vec(values, &[SIZES[l + 1], SIZES[l]]).expect("[out, in]");
        Linear::from_parameters(weight, Some(Variable::zeros(&[SIZES[l + 1]])))
    };
    Sequential::new()
        .add(linear(0))
        .add(Relu)
        .add(linear(1))
        .add(Relu)
        .add(linear(2))
}

/// The batch as a `[100, 2]` matrix, one row per point, and the labels.
pub fn rows<B: Backend>(points: &[[f64; 2]], labels: &[f64]) -> (Variable<B>, Variable<B>) {
    let n = points.len();
    let values = points
        .iter()
        .flatten()
        .map(|&v| B::Elem::from_f64(v))
        .collect();
    let x = Variable::from_vec(values, &[n, 2]).expect("two coordinates per point");
    (x, label_vector(labels))
}

/// The labels (±1) as a vector.
fn label_vector<B: Backend>(labels: &[f64]) -> Variable<B> {
    Variable::from_vec(
        labels.iter().map(|&v| B::Elem::from_f64(v)).collect(),
        &[labels.len()],
    )
    .expect("one value per label")
}

/// The loss of [`matrix_model`] on the `[n, 2]` batch: the same mean hinge loss and
/// regulariser as [`loss_batched`].
pub fn loss_matrix<B: TensorOps>(
    model: &Sequential<B>,
    x: &Variable<B>,
    y: &Variable<B>,
) -> Variable<B> {
    let scores = model.forward(x).reshape(&[y.shape()[0]]);
    hinge_loss(&scores, y, Reduction::Mean) + regulariser(model)
}

/// W5's learning rate.
pub const LEARNING_RATE: f64 = 0.05;

/// W5's optimizer: plain SGD at [`LEARNING_RATE`] over the model's parameters.
pub fn optimizer<B: Backend>(model: &impl Module<B>) -> Sgd<B> {
    Sgd::new(model.parameters(), LEARNING_RATE)
}

/// One SGD step after `loss`: zero the gradients, backward, update. Returns the loss.
pub fn sgd_step<B: Backend>(opt: &mut Sgd<B>, loss: impl FnOnce() -> Variable<B>) -> Variable<B> {
    opt.zero_grad();
    let loss = loss();
    loss.backward();
    opt.step();
    loss
}

/// [`sgd_step`] on [`loss_batched`] with the batch cut into `shards` data-parallel shards
/// (`ferrograd::data_parallel`): each shard's hinge losses summed and divided by the whole
/// batch's size, the regulariser added in the first shard only.
pub fn sgd_step_sharded<B: TensorOps>(
    model: &Mlp<B>,
    opt: &mut Sgd<B>,
    x: &[Variable<B>; 2],
    y: &Variable<B>,
    shards: usize,
) -> Variable<B> {
    opt.zero_grad();
    let n = y.shape()[0];
    let ranges = shard_ranges(n, shards);
    let loss = backward_shards(model, ranges.len(), |i| {
        let r = &ranges[i];
        let xs = [0, 1].map(|j| x[j].narrow(0, r.start, r.len()));
        let scores = model.forward(&xs).remove(0);
        let hinge = hinge_loss(&scores, &y.narrow(0, r.start, r.len()), Reduction::Sum) / n as f64;
        if i == 0 {
            hinge + regulariser(model)
        } else {
            hinge
        }
    });
    opt.step();
    loss
}
