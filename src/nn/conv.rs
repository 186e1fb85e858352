//! `Conv2d`, `MaxPool2d`, `AvgPool2d`, `Flatten`.

use super::functional;
use super::init::Init;
use super::module::{Forward, Module};
use crate::backend::TensorOps;
use crate::random::Rng;
use crate::variable::Variable;

/// 2-D convolution (cross-correlation) over `[n, c, h, w]`, with `weight`
/// `[out, in, kh, kw]` and `bias` `[out]` as in PyTorch.
#[derive(Clone, Debug)]
pub struct Conv2d<B: TensorOps> {
    /// `[out_channels, in_channels, kh, kw]`.
    pub weight: Variable<B>,
    /// `[out_channels]`, if the layer has one.
    pub bias: Option<Variable<B>>,
    /// The stride along both axes.
    pub stride: usize,
    /// Zero padding on every side.
    pub padding: usize,
}

impl<B: TensorOps> Conv2d<B> {
    /// A layer initialised as PyTorch's `nn.Conv2d`: weight and bias from U(−1/√k, 1/√k)
    /// with `k = in_channels · kernel²`.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel_size: usize,
        stride: usize,
        padding: usize,
        bias: bool,
        rng: &mut Rng,
    ) -> Self {
        let bound = 1.0 / ((in_channels * kernel_size * kernel_size) as f64).sqrt();
        let weight = Init::Uniform(-bound, bound)
            .parameter(&[out_channels, in_channels, kernel_size, kernel_size], rng);
        let bias = bias.then(|| Init::Uniform(-bound, bound).parameter(&[out_channels], rng));
        Conv2d {
            weight,
            bias,
            stride,
            padding,
        }
    }
}

impl<B: TensorOps> Module<B> for Conv2d<B> {
    fn named_parameters(&self) -> Vec<(String, Variable<B>)> {
        let mut params = vec![("weight".to_string(), self.weight.clone())];
        if let Some(b) = &self.bias {
            params.push(("bias".to_string(), b.clone()));
        }
        params
    }
}

impl<B: TensorOps> Forward<B> for Conv2d<B> {
    #[track_caller]
    fn forward(&self, x: &Variable<B>) -> Variable<B> {
        functional::conv2d(
            x,
            &self.weight,
            self.bias.as_ref(),
            self.stride,
            self.padding,
        )
    }
}

/// 2-D max pooling (no padding, floor mode).
#[derive(Clone, Copy, Debug)]
pub struct MaxPool2d {
    /// The window size.
    pub kernel_size: usize,
    /// The stride (PyTorch's default is the window size).
    pub stride: usize,
}

impl MaxPool2d {
    /// Pooling over `kernel_size` windows with the given stride.
    pub fn new(kernel_size: usize, stride: usize) -> Self {
        MaxPool2d {
            kernel_size,
            stride,
        }
    }
}

/// 2-D average pooling (no padding, floor mode).
#[derive(Clone, Copy, Debug)]
pub struct AvgPool2d {
    /// The window size.
    pub kernel_size: usize,
    /// The stride.
    pub stride: usize,
}

impl AvgPool2d {
    /// Pooling over `kernel_size` windows with the given stride.
    pub fn new(kernel_size: usize, stride: usize) -> Self {
        AvgPool2d {
            kernel_size,
            stride,
        }
    }
}

/// Merges dimensions `start_dim ..= end_dim` (PyTorch's `nn.Flatten`, which defaults to
/// `1 ..= -1`: everything but the batch).
#[derive(Clone, Copy, Debug)]
pub struct Flatten {
    /// The first dimension merged.
    pub start_dim: isize,
    /// The last dimension merged.
    pub end_dim: isize,
}

impl Default for Flatten {
    fn default() -> Self {
        Flatten {
            start_dim: 1,
            end_dim: -1,
        }
    }
}

macro_rules! parameterless {
    ($($t:ty => |$s:ident, $x:ident| $body:expr;)*) => {$(
        impl<B: TensorOps> Module<B> for $t {
            fn named_parameters(&self) -> Vec<(String, Variable<B>)> {
                Vec::new()
            }
        }
        impl<B: TensorOps> Forward<B> for $t {
            #[track_caller]
            fn forward(&self, $x: &Variable<B>) -> Variable<B> {
                let $s = self;
                $body
            }
        }
    )*};
}

parameterless! {
    MaxPool2d => |s, x| functional::max_pool2d(x, s.kernel_size, s.stride);
    AvgPool2d => |s, x| functional::avg_pool2d(x, s.kernel_size, s.stride);
    Flatten => |s, x| x.flatten(s.start_dim, s.end_dim);
}
