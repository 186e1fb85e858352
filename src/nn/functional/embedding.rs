//! `embedding`.

use crate::backend::{Indices, TensorOps};
use crate::error::Result;
use crate::variable::Variable;

/// Rows of `weight` `[v, d]` looked up by `indices` of any shape: the result has shape
/// `indices.shape() + [d]` (PyTorch's `F.embedding`; note the argument order, weight
/// first). Repeated indices add their gradients.
///
/// # Errors
/// [`Error::IndexOutOfRange`](crate::Error::IndexOutOfRange) for an index outside `0..v`.
///
/// # Panics
/// If `weight` is not 2-D.
#[track_caller]
pub fn embedding<B: TensorOps>(weight: &Variable<B>, indices: &Indices) -> Result<Variable<B>> {
    let ws = weight.shape();
    if ws.len() != 2 {
        panic!("embedding: weight must be [v, d], got shape {ws:?}");
    }
    let flat = indices.with_shape(vec![indices.len()]);
    let rows = weight.index_select(0, &flat)?;
    let mut shape = indices.shape().to_vec();
    shape.push(ws[1]);
    Ok(rows.reshape(&shape))
}
