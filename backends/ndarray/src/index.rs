//! Indexing kernels: index_select / index_add and gather / scatter_add.

use crate::{Elem, Tensor};
use ferrograd::backend::Indices;
use ndarray::{ArrayD, Axis, IxDyn};

/// The slices `index[i]` along `axis`.
pub fn index_select<T: Elem>(x: &Tensor<T>, axis: usize, index: &[usize]) -> Tensor<T> {
    x.select(Axis(axis), index).into()
}

/// `x` plus slice `i` of `src` added at slice `index[i]` along `axis`, in order of `i`.
pub fn index_add<T: Elem>(
    x: &Tensor<T>,
    axis: usize,
    index: &[usize],
    src: &Tensor<T>,
) -> Tensor<T> {
    let mut out = x.view().to_owned();
    for (i, &target) in index.iter().enumerate() {
        out.index_axis_mut(Axis(axis), target)
            .zip_mut_with(&src.index_axis(Axis(axis), i), |o, &s| *o = *o + s);
    }
    out.into()
}

/// `out[p] = x[p with coordinate axis = index[p]]`.
pub fn gather<T: Elem>(x: &Tensor<T>, axis: usize, index: &Indices) -> Tensor<T> {
    let mut coord = vec![0; x.ndim()];
    let data: Vec<T> = positions(index.shape())
        .zip(index.data())
        .map(|(p, &i)| {
            coord.copy_from_slice(&p);
            coord[axis] = i;
            x[IxDyn(&coord)]
        })
        .collect();
    ArrayD::from_shape_vec(IxDyn(index.shape()), data)
        .expect("one value per index")
        .into()
}

/// `x` plus `src[p]` added at `p` with coordinate axis = `index[p]`, in row-major order of
/// `p`.
pub fn scatter_add<T: Elem>(
    x: &Tensor<T>,
    axis: usize,
    index: &Indices,
    src: &Tensor<T>,
) -> Tensor<T> {
    let mut out = x.view().to_owned();
    let mut coord = vec![0; x.ndim()];
    for ((p, &i), &v) in positions(index.shape()).zip(index.data()).zip(src.iter()) {
        coord.copy_from_slice(&p);
        coord[axis] = i;
        out[IxDyn(&coord)] = out[IxDyn(&coord)] + v;
    }
    out.into()
}

/// Every coordinate of `shape`, row-major.
fn positions(shape: &[usize]) -> impl Iterator<Item = Vec<usize>> + '_ {
    let total: usize = shape.iter().product();
    let mut coord = vec![0; shape.len()];
    (0..total).map(move |n| {
        if n > 0 {
            for d in (0..shape.len()).rev() {
                coord[d] += 1;
                if coord[d] < shape[d] {
                    break;
                }
                coord[d] = 0;
            }
        }
        coord.clone()
    })
}
