//! The micrograd-style backend of ferrograd: every graph node holds one number.
//!
//! `Scalar<T>` implements [`Ops`] over plain `T` (`f32` or `f64`): every value is rank 0 and
//! every kernel is a one-liner. It is tiny and dependency-free, ideal for learning, for
//! functions of a few variables, and as an independent gradient oracle for tensor
//! backends. It has no [`TensorOps`](ferrograd::TensorOps): tensor-only methods such as
//! `matmul` do not exist on `Variable<Scalar<T>>`.
//!
//! ```
//! use ferrograd::Variable;
//! use ferrograd_scalar::Scalar;
//!
//! let x = Variable::<Scalar<f64>>::scalar(0.5).requires_grad();
//! let y = x.tanh() * 2.0;
//! y.backward();
//! assert!((x.grad().unwrap().item() - 2.0 * (1.0 - 0.5f64.tanh().powi(2))).abs() < 1e-15);
//! ```
//!
//! Tensor-only ops do not compile on this backend:
//!
//! ```compile_fail
//! use ferrograd::Variable;
//! use ferrograd_scalar::Scalar;
//!
//! let x = Variable::<Scalar<f64>>::scalar(1.0);
//! let _ = x.matmul(&x);
//! ```

#![warn(missing_docs)]

use ferrograd::backend::{BinaryOp, Ops, UnaryOp};
use ferrograd::{Element, Error, Result};
use std::marker::PhantomData;

/// The scalar backend: one number of type `T` per graph node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scalar<T>(PhantomData<T>);

impl<T: Element> Ops for Scalar<T> {
    type Elem = T;
    type Tensor = T;
    /// A parameter's number read with one atomic load: a scalar graph reads each weight
    /// once per sample, forward and backward.
    type Leaf = ferrograd::backend::AtomicCell<T>;

    fn name() -> &'static str {
        match T::DTYPE {
            ferrograd::DType::F32 => "Scalar<f32>",
            ferrograd::DType::F64 => "Scalar<f64>",
        }
    }

    fn from_vec(data: Vec<T>, shape: &[usize]) -> Result<T> {
        match (data.as_slice(), shape) {
            ([x], []) => Ok(*x),
            _ => Err(Error::UnsupportedShape {
                backend: Self::name(),
                shape: shape.to_vec(),
            }),
        }
    }

    fn full(shape: &[usize], value: T) -> T {
        assert_rank0(shape);
        value
    }

    fn shape(_: &T) -> &[usize] {
        &[]
    }

    fn to_vec(x: &T) -> Vec<T> {
        vec![*x]
    }

    #[inline]
    fn unary(op: UnaryOp<T>, x: &T) -> T {
        op.apply(*x)
    }

    #[inline]
    fn binary(op: BinaryOp, a: &T, b: &T) -> T {
        op.apply(*a, *b)
    }

    /// One call of `f`: a scalar backend's values are single numbers, so the default's
    /// vectors would only allocate.
    #[inline]
    fn zip_map<const I: usize, const O: usize>(
        inputs: [&T; I],
        f: impl Fn([T; I]) -> [T; O] + Sync,
    ) -> [T; O] {
        assert!(I > 0, "zip_map: no inputs");
        f(inputs.map(|x| *x))
    }

    /// One piece of one number, without the default's vector.
    fn norm(x: &T, norm_type: f64) -> f64 {
        ferrograd::backend::norm_of_pieces(
            [ferrograd::backend::norm_piece(&[*x], norm_type)],
            norm_type,
        )
    }

    fn broadcast_to(x: &T, shape: &[usize]) -> T {
        assert_rank0(shape);
        *x
    }

    fn sum_to(x: &T, shape: &[usize]) -> T {
        assert_rank0(shape);
        *x
    }
}

#[track_caller]
fn assert_rank0(shape: &[usize]) {
    assert!(
        shape.is_empty(),
        "the scalar backend holds only rank-0 values, not shape {shape:?}"
    );
}
