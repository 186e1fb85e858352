//! Activation functions as modules, for [`Sequential`](super::Sequential).

use super::module::{Forward, Module};
use crate::backend::Backend;
use crate::variable::Variable;

/// `max(x, 0)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Relu;

/// `tanh x`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tanh;

/// The logistic sigmoid.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sigmoid;

/// The exact GELU.
#[derive(Clone, Copy, Debug, Default)]
pub struct Gelu;

/// `x` above 0, `negative_slope · x` below.
#[derive(Clone, Copy, Debug)]
pub struct LeakyRelu(pub f64);

/// `x` above 0, `alpha · (eˣ − 1)` below.
#[derive(Clone, Copy, Debug)]
pub struct Elu(pub f64);

/// `ln(1 + eˣ)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Softplus;

macro_rules! activation {
    ($($t:ty => |$s:ident, $x:ident| $body:expr;)*) => {$(
        impl<B: Backend> Module<B> for $t {
            fn named_parameters(&self) -> Vec<(String, Variable<B>)> {
                Vec::new()
            }
        }
        impl<B: Backend> Forward<B> for $t {
            fn forward(&self, $x: &Variable<B>) -> Variable<B> {
                let $s = self;
                $body
            }
        }
    )*};
}

activation! {
    Relu => |_s, x| x.relu();
    Tanh => |_s, x| x.tanh();
    Sigmoid => |_s, x| x.sigmoid();
    Gelu => |_s, x| x.gelu();
    LeakyRelu => |s, x| x.leaky_relu(s.0);
    Elu => |s, x| x.elu(s.0);
    Softplus => |_s, x| x.softplus();
}
