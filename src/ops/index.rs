//! Indexing (tensor backends): `index_select index_add gather scatter_add`.
//!
//! Two adjoint pairs: `index_select`'s derivative is `index_add` of the gradient, and
//! `index_add`'s derivative (for the source) is `index_select`; likewise `gather` and
//! `scatter_add`. Indices are data, so an out-of-range index is an
//! [`Error::IndexOutOfRange`](crate::Error::IndexOutOfRange), not a panic.

use crate::backend::{Indices, TensorOps};
use crate::error::Result;
use crate::shape::resolve_dim;
use crate::variable::Variable;

impl<B: TensorOps> Variable<B> {
    /// The slices `index[0], index[1], ...` of `self` along `dim` (indices may repeat).
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`](crate::Error::IndexOutOfRange) for an index past the
    /// dimension.
    ///
    /// # Panics
    /// If `dim` is out of range or `index` is not 1-D.
    #[track_caller]
    pub fn index_select(&self, dim: isize, index: &Indices) -> Result<Self> {
        let x = self.value_ref();
        let shape = B::shape(&x).to_vec();
        let axis = resolve_dim("index_select", dim, shape.len());
        assert_eq!(
            index.shape().len(),
            1,
            "index_select: the index must be 1-D, not {:?}",
            index.shape()
        );
        index.check("index_select", shape[axis])?;
        let value = B::index_select(&x, axis, index.data());
        let index = index.clone();
        Ok(self.unary_op("index_select", value, move |x, _, g| {
            x.zeros_like()
                .index_add(axis as isize, &index, g)
                .expect("checked when selecting")
        }))
    }

    /// `self` with slice `i` of `source` added into slice `index[i]` along `dim`, for every
    /// `i` (repeated indices add up).
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`](crate::Error::IndexOutOfRange) for an index past the
    /// dimension.
    ///
    /// # Panics
    /// If `dim` is out of range, `index` is not 1-D, or `source`'s shape is not `self`'s
    /// with `index.len()` along `dim`.
    #[track_caller]
    pub fn index_add(&self, dim: isize, index: &Indices, source: &Self) -> Result<Self> {
        let (x, src) = (self.value_ref(), source.value_ref());
        let shape = B::shape(&x).to_vec();
        let axis = resolve_dim("index_add", dim, shape.len());
        assert_eq!(
            index.shape().len(),
            1,
            "index_add: the index must be 1-D, not {:?}",
            index.shape()
        );
        let mut expected = shape.clone();
        expected[axis] = index.len();
        if B::shape(&src) != expected.as_slice() {
            panic!(
                "index_add: source has shape {:?}, expected {expected:?} for input {shape:?} and {} indices",
                B::shape(&src),
                index.len()
            );
        }
        index.check("index_add", shape[axis])?;
        let value = B::index_add(&x, axis, index.data(), &src);
        let index = index.clone();
        Ok(Self::binary_op(
            self,
            source,
            "index_add",
            value,
            |_, _, _, g| g.clone(),
            move |_, _, _, g| {
                g.index_select(axis as isize, &index)
                    .expect("checked when adding")
            },
        ))
    }

    /// `out[p] = self[p with its dim coordinate replaced by index[p]]`: `index` has `self`'s
    /// rank, and the result has `index`'s shape (other dimensions no larger than `self`'s).
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`](crate::Error::IndexOutOfRange) for an index past the
    /// dimension.
    ///
    /// # Panics
    /// If `dim` is out of range, or `index`'s rank or shape does not fit `self`.
    #[track_caller]
    pub fn gather(&self, dim: isize, index: &Indices) -> Result<Self> {
        let x = self.value_ref();
        let shape = B::shape(&x).to_vec();
        let axis = resolve_dim("gather", dim, shape.len());
        check_gather_shape("gather", &shape, axis, index.shape());
        index.check("gather", shape[axis])?;
        let value = B::gather(&x, axis, index);
        let index = index.clone();
        Ok(self.unary_op("gather", value, move |x, _, g| {
            x.zeros_like()
                .scatter_add(axis as isize, &index, g)
                .expect("checked when gathering")
        }))
    }

    /// `self` plus every `source[p]` added at `p` with its dim coordinate replaced by
    /// `index[p]` (PyTorch's `scatter_add`); `source` has `index`'s shape.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`](crate::Error::IndexOutOfRange) for an index past the
    /// dimension.
    ///
    /// # Panics
    /// If `dim` is out of range or the shapes do not fit.
    #[track_caller]
    pub fn scatter_add(&self, dim: isize, index: &Indices, source: &Self) -> Result<Self> {
        let (x, src) = (self.value_ref(), source.value_ref());
        let shape = B::shape(&x).to_vec();
        let axis = resolve_dim("scatter_add", dim, shape.len());
        check_gather_shape("scatter_add", &shape, axis, index.shape());
        if B::shape(&src) != index.shape() {
            panic!(
                "scatter_add: source has shape {:?} but the index has shape {:?}",
                B::shape(&src),
                index.shape()
            );
        }
        index.check("scatter_add", shape[axis])?;
        let value = B::scatter_add(&x, axis, index, &src);
        let index = index.clone();
        Ok(Self::binary_op(
            self,
            source,
            "scatter_add",
            value,
            |_, _, _, g| g.clone(),
            move |_, _, _, g| {
                g.gather(axis as isize, &index)
                    .expect("checked when scattering")
            },
        ))
    }
}

#[track_caller]
fn check_gather_shape(op: &str, shape: &[usize], axis: usize, index: &[usize]) {
    let fits = index.len() == shape.len()
        && index
            .iter()
            .zip(shape)
            .enumerate()
            .all(|(i, (&n, &s))| i == axis || n <= s);
    if !fits {
        panic!("{op}: index of shape {index:?} does not fit a tensor of shape {shape:?} along dimension {axis}");
    }
}
