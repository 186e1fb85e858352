//! `Linear`: `y = x·Wᵀ + b`, with PyTorch's layout.

use super::init::Init;
use super::module::{Forward, Module};
use crate::backend::TensorOps;
use crate::random::Rng;
use crate::variable::Variable;

/// A fully connected layer, `y = x·Wᵀ + b`, with `weight` of shape `[out, in]` and `bias`
/// `[out]` as in PyTorch (so state dicts map one to one). `x` is `[..., in]`.
///
/// ```
/// use ferrograd::nn::{Forward, Linear};
/// use ferrograd::random::Rng;
/// use ferrograd::Variable;
/// use ferrograd_ndarray::NdArray;
///
/// let layer = Linear::<NdArray<f32>>::new(4, 3, true, &mut Rng::new(7));
/// let x = Variable::<NdArray<f32>>::ones(&[8, 4]);
/// let y = layer.forward(&x);
/// assert_eq!(y.shape(), [8, 3]);
/// ```
#[derive(Clone, Debug)]
pub struct Linear<B: TensorOps> {
    /// `[out, in]`.
    pub weight: Variable<B>,
    /// `[out]`, if the layer has one.
    pub bias: Option<Variable<B>>,
}

impl<B: TensorOps> Linear<B> {
    /// A layer initialised as PyTorch's `nn.Linear`: weight and bias from
    /// U(−1/√in, 1/√in).
    pub fn new(inputs: usize, outputs: usize, bias: bool, rng: &mut Rng) -> Self {
        let bound = 1.0 / (inputs as f64).sqrt();
        let weight = Init::Uniform(-bound, bound).parameter(&[outputs, inputs], rng);
        let bias = bias.then(|| Init::Uniform(-bound, bound).parameter(&[outputs], rng));
        Linear { weight, bias }
    }

    /// A layer with the given parameters (made leaves that require gradients).
    ///
    /// # Panics
    /// If `weight` is not 2-D or `bias` does not have `weight`'s first dimension.
    #[track_caller]
    pub fn from_parameters(weight: Variable<B>, bias: Option<Variable<B>>) -> Self {
        let ws = weight.shape();
        assert_eq!(ws.len(), 2, "Linear: weight must be [out, in], got {ws:?}");
        if let Some(b) = &bias {
            assert_eq!(
                b.shape(),
                [ws[0]],
                "Linear: bias must be [{}], got {:?}",
                ws[0],
                b.shape()
            );
        }
        Linear {
            weight: weight.requires_grad(),
            bias: bias.map(Variable::requires_grad),
        }
    }
}

impl<B: TensorOps> Module<B> for Linear<B> {
    fn named_parameters(&self) -> Vec<(String, Variable<B>)> {
        let mut params = vec![("weight".to_string(), self.weight.clone())];
        if let Some(b) = &self.bias {
            params.push(("bias".to_string(), b.clone()));
        }
        params
    }
}

impl<B: TensorOps> Forward<B> for Linear<B> {
    #[track_caller]
    fn forward(&self, x: &Variable<B>) -> Variable<B> {
        // Wᵀ is a view: the matrix product reads the weight in place.
        let y = x.matmul(&self.weight.transpose(0, 1));
        match &self.bias {
            Some(b) => y + b,
            None => y,
        }
    }
}
