//! W1 and W1L: an MLP training step (ReLU, softmax cross-entropy, SGD 0.01) in f32, and
//! W6: a small conv net's forward and backward. Data and parameters from the workload
//! streams.

use super::{grad_sum, labels, linear, tensor_f32, uniform_f32};
use ferrograd::data_parallel::{backward_shards, shard_ranges};
use ferrograd::nn::functional::{conv2d, cross_entropy, max_pool2d, Reduction};
use ferrograd::nn::{Forward, Linear, Module, Relu, Sequential};
use ferrograd::optim::{Optimizer, Sgd};
use ferrograd::{Indices, Variable};
use ferrograd_ndarray::NdArray;

type B = NdArray<f32>;
type T = Variable<B>;

/// A `Linear` holding the workload's `Linear(s, fan_in, fan_out)` values. The spec's `W` is
/// `[fan_in, fan_out]` for `h = x·W + b`; ferrograd stores PyTorch's `[out, in]`, so the
/// weight is the transpose, with the same values.
pub fn spec_linear(s: u64, fan_in: usize, fan_out: usize) -> Linear<B> {
    let (w, b) = linear(s, fan_in, fan_out);
    let w_t: Vec<f32> = (0..fan_out)
        .flat_map(|j| (0..fan_in).map(move |i| (j, i)))
        .map(|(j, i)| w[i * fan_out + j] as f32)
        .collect();
    Linear::from_parameters(
        T::from_vec(w_t, &[fan_out, fan_in]).expect("sizes agree"),
        Some(
            T::from_vec(b.into_iter().map(|v| v as f32).collect(), &[fan_out])
                .expect("sizes agree"),
        ),
    )
}

/// The W1 problem: the model, the batch, the labels.
pub struct Mlp {
    /// Linear, ReLU, Linear, ReLU, Linear.
    pub model: Sequential<B>,
    /// `[batch, 784]`.
    pub x: T,
    /// The class of each row.
    pub y: Indices,
}

/// W1 (`batch` 128, dims 784-256-128-10) or W1L (512, 784-1024-1024-10).
pub fn mlp(batch: usize, dims: [usize; 4]) -> Mlp {
    let mut model = Sequential::new();
    for l in 0..3 {
        model = model.add(spec_linear(110 + 10 * l as u64, dims[l], dims[l + 1]));
        if l < 2 {
            model = model.add(Relu);
        }
    }
    Mlp {
        model,
        x: tensor_f32(101, &[batch, dims[0]], 0.0, 1.0),
        y: Indices::vector(labels(102, batch)),
    }
}

impl Mlp {
    /// The loss of the current parameters.
    pub fn loss(&self) -> T {
        cross_entropy(&self.model.forward(&self.x), &self.y, 0.0, Reduction::Mean)
            .expect("labels in range")
    }

    /// One training step: clear the gradients, forward, backward, SGD with lr 0.01.
    pub fn step(&self, opt: &mut Sgd<B>) -> T {
        opt.zero_grad();
        let loss = self.loss();
        loss.backward();
        opt.step();
        loss
    }

    /// One training step with the batch cut into `shards` data-parallel shards
    /// (`ferrograd::data_parallel`): each shard's forward and backward pass in its own
    /// rayon task, the gradients summed in shard order.
    pub fn step_sharded(&self, opt: &mut Sgd<B>, shards: usize) -> T {
        opt.zero_grad();
        let n = self.y.len();
        let ranges = shard_ranges(n, shards);
        let loss = backward_shards(&self.model, ranges.len(), |i| {
            let r = &ranges[i];
            let labels = self.y.rows(r.clone());
            let logits = self.model.forward(&self.x.narrow(0, r.start, r.len()));
            cross_entropy(&logits, &labels, 0.0, Reduction::Sum).expect("labels in range")
                / n as f64
        });
        opt.step();
        loss
    }

    /// The loss and the sum of ∂loss/∂W0 at the current parameters (the check values).
    pub fn check(&self) -> (f64, f64) {
        self.model.zero_grad();
        let loss = self.loss();
        loss.backward();
        let g = grad_sum(&self.model.parameters()[0]);
        self.model.zero_grad();
        (loss.item() as f64, g)
    }
}

/// The W1 check values (loss; sum of ∂loss/∂W0), from PyTorch in float64.
pub const W1_CHECK: (f64, f64) = (2.30262582455094, -5.926743706550134);
/// The W1L check values.
pub const W1L_CHECK: (f64, f64) = (2.3035768908731797, 2.078110672955546);

/// The W6 problem: images, labels, and the four parameters.
pub struct Conv {
    /// `[64, 1, 28, 28]`.
    pub x: T,
    /// 64 classes.
    pub y: Indices,
    /// `[8, 1, 3, 3]`.
    pub kernel: T,
    /// `[8]`.
    pub kernel_bias: T,
    /// The final linear layer, 1352 → 10.
    pub head: Linear<B>,
}

/// W6's data and parameters.
pub fn conv() -> Conv {
    let bound = 1.0 / 3.0;
    Conv {
        x: tensor_f32(601, &[64, 1, 28, 28], 0.0, 1.0),
        y: Indices::vector(labels(602, 64)),
        kernel: T::from_vec(uniform_f32(610, 72, -bound, bound), &[8, 1, 3, 3])
            .unwrap()
            .requires_grad(),
        kernel_bias: T::from_vec(uniform_f32(611, 8, -bound, bound), &[8])
            .unwrap()
            .requires_grad(),
        head: spec_linear(620, 1352, 10),
    }
}

impl Conv {
    /// Forward and backward to K, kb, W and b (no update); the gradients are cleared first.
    pub fn step(&self) -> T {
        for p in [
            &self.kernel,
            &self.kernel_bias,
            &self.head.weight,
            self.head.bias.as_ref().unwrap(),
        ] {
            p.zero_grad();
        }
        let h = conv2d(&self.x, &self.kernel, Some(&self.kernel_bias), 1, 0).relu();
        let h = max_pool2d(&h, 2, 2).reshape(&[64, 1352]);
        let loss = cross_entropy(&self.head.forward(&h), &self.y, 0.0, Reduction::Mean)
            .expect("labels in range");
        loss.backward();
        loss
    }
}

impl Conv {
    /// W6's four parameters, as a module (for `data_parallel::backward_shards`).
    pub fn parameters(&self) -> ConvParameters {
        ConvParameters(vec![
            self.kernel.clone(),
            self.kernel_bias.clone(),
            self.head.weight.clone(),
            self.head.bias.clone().expect("the head has a bias"),
        ])
    }

    /// [`Conv::step`] with the 64 images cut into `shards` data-parallel shards, each
    /// shard's forward and backward pass in its own rayon task.
    pub fn step_sharded(&self, params: &ConvParameters, shards: usize) -> T {
        params.zero_grad();
        let n = self.y.len();
        let ranges = shard_ranges(n, shards);
        backward_shards(params, ranges.len(), |i| {
            let r = &ranges[i];
            let x = self.x.narrow(0, r.start, r.len());
            let labels = self.y.rows(r.clone());
            let h = conv2d(&x, &self.kernel, Some(&self.kernel_bias), 1, 0).relu();
            let h = max_pool2d(&h, 2, 2).reshape(&[r.len(), 1352]);
            cross_entropy(&self.head.forward(&h), &labels, 0.0, Reduction::Sum)
                .expect("labels in range")
                / n as f64
        })
    }
}

/// W6's parameters: convolution kernel and bias, head weight and bias.
pub struct ConvParameters(Vec<T>);

impl Module<B> for ConvParameters {
    fn named_parameters(&self) -> Vec<(String, T)> {
        ["conv.weight", "conv.bias", "head.weight", "head.bias"]
            .iter()
            .map(|name| name.to_string())
            .zip(self.0.iter().cloned())
            .collect()
    }
}

/// The W6 check values (loss; sum of ∂loss/∂K).
pub const W6_CHECK: (f64, f64) = (2.332651242133724, 0.6749793655848216);
