//! W5: micrograd's demo. An MLP 2-16-16-1 (ReLU hidden, linear output) over 100 noisy
//! two-moons points, SVM max-margin loss with L2, one SGD step.

use super::{stream_u, uniform};
use ferrograd::{no_grad, Backend, Variable};

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

/// micrograd's model over one variable per input feature, written directly with
/// ferrograd's operators: on the scalar backend a feature is one number.
pub struct Mlp<B: Backend> {
    /// `weights[l][j][i]`: layer `l`, neuron `j`, input `i`.
    pub weights: Vec<Vec<Vec<Variable<B>>>>,
    /// `biases[l][j]`.
    pub biases: Vec<Vec<Variable<B>>>,
}

impl<B: Backend<Elem = f64>> Mlp<B> {
    /// The model with W5's initial parameters.
    pub fn new() -> Self {
        let weights = (0..3)
            .map(|l| {
                initial_weights(l)
                    .into_iter()
                    .map(|row| {
                        row.into_iter()
                            .map(|w| Variable::scalar(w).requires_grad())
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let biases = (0..3)
            .map(|l| {
                (0..SIZES[l + 1])
                    .map(|_| Variable::scalar(0.0).requires_grad())
                    .collect()
            })
            .collect();
        Mlp { weights, biases }
    }

    /// Every parameter: weights, then biases, neuron by neuron.
    pub fn parameters(&self) -> Vec<&Variable<B>> {
        let mut ps = Vec::new();
        for (ws, bs) in self.weights.iter().zip(&self.biases) {
            for (row, b) in ws.iter().zip(bs) {
                ps.extend(row.iter());
                ps.push(b);
            }
        }
        ps
    }

    /// The score of one point: `b + Σ w·x` per neuron, ReLU on hidden layers.
    pub fn forward(&self, x: &[Variable<B>]) -> Variable<B> {
        let mut h: Vec<Variable<B>> = x.to_vec();
        let last = self.weights.len() - 1;
        for (l, (ws, bs)) in self.weights.iter().zip(&self.biases).enumerate() {
            h = ws
                .iter()
                .zip(bs)
                .map(|(row, b)| {
                    let act = row
                        .iter()
                        .zip(&h)
                        .fold(b.clone(), |acc, (w, xi)| acc + w * xi);
                    if l < last {
                        act.relu()
                    } else {
                        act
                    }
                })
                .collect();
        }
        h.pop().unwrap()
    }

    /// The loss over the data: mean hinge loss plus 1e-4 times the sum of squared
    /// parameters.
    pub fn loss(&self, points: &[[f64; 2]], labels: &[f64]) -> Variable<B> {
        let losses: Variable<B> = points
            .iter()
            .zip(labels)
            .map(|(p, &y)| {
                let x = [Variable::scalar(p[0]), Variable::scalar(p[1])];
                (1.0 - self.forward(&x) * y).relu()
            })
            .sum();
        let data_loss = losses * (1.0 / points.len() as f64);
        let reg: Variable<B> = self.parameters().into_iter().map(|p| p * p).sum();
        data_loss + reg * 1e-4
    }

    /// One training step: loss, backward, SGD with learning rate 0.05. Returns the loss.
    pub fn step(&self, points: &[[f64; 2]], labels: &[f64]) -> Variable<B> {
        let params = self.parameters();
        for p in &params {
            p.zero_grad();
        }
        let loss = self.loss(points, labels);
        loss.backward();
        no_grad(|| {
            for p in &params {
                if let Some(g) = p.grad() {
                    p.set_value((p.detach() - g * 0.05).value());
                }
            }
        });
        loss
    }
}
