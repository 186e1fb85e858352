//! Indexing kernels: index_select / index_add and gather / scatter_add.
//!
//! gather and scatter_add view their tensors as `[outer, len, inner]` around the indexed
//! axis (row-major), so that an element's address is `(o · len + j) · inner + i`: plain
//! loops, no per-element coordinate arithmetic.

use crate::elementwise::from_vec;
use crate::{pool, standard, Elem, Tensor};
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

/// `(outer, len, inner)` of a shape around `axis`.
fn around(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (
        shape[..axis].iter().product(),
        shape[axis],
        shape[axis + 1..].iter().product(),
    )
}

/// Whether `index` has `x`'s shape except (possibly) along `axis`: then both share the
/// same outer and inner extents, and the fast loops apply.
fn aligned(x: &[usize], index: &[usize], axis: usize) -> bool {
    x.len() == index.len()
        && x.iter()
            .zip(index)
            .enumerate()
            .all(|(d, (a, b))| d == axis || a == b)
}

/// `out[p] = x[p with coordinate axis = index[p]]`.
pub fn gather<T: Elem>(x: &Tensor<T>, axis: usize, index: &Indices) -> Tensor<T> {
    let x = standard(x);
    if !aligned(x.shape(), index.shape(), axis) {
        return gather_general(&x, axis, index);
    }
    let (outer, len, inner) = around(x.shape(), axis);
    let picks = index.shape()[axis];
    let src = x.as_slice().expect("row-major");
    let mut out = pool::take(index.len());
    let idx = index.data();
    if inner == 1 {
        // Picks along the last axis (max pooling's gather): one row of indices per row of
        // `x`, instead of a loop per index.
        for (row, picks) in src
            .chunks_exact(len.max(1))
            .zip(idx.chunks_exact(picks.max(1)))
        {
            out.extend(picks.iter().map(|&k| row[k]));
        }
        return from_vec(index.shape(), out);
    }
    for o in 0..outer {
        for j in 0..picks {
            let row = &idx[(o * picks + j) * inner..(o * picks + j + 1) * inner];
            out.extend(
                row.iter()
                    .enumerate()
                    .map(|(i, &k)| src[(o * len + k) * inner + i]),
            );
        }
    }
    from_vec(index.shape(), out)
}

/// `x` plus `src[p]` added at `p` with coordinate axis = `index[p]`, in row-major order of
/// `p`.
pub fn scatter_add<T: Elem>(
    x: &Tensor<T>,
    axis: usize,
    index: &Indices,
    src: &Tensor<T>,
) -> Tensor<T> {
    if !aligned(x.shape(), index.shape(), axis) {
        return scatter_add_general(x, axis, index, src);
    }
    let base = standard(x);
    let mut out = pool::take(base.len());
    out.extend_from_slice(base.as_slice().expect("row-major"));
    let src = standard(src);
    let values = src.as_slice().expect("row-major");
    let (outer, len, inner) = around(x.shape(), axis);
    let picks = index.shape()[axis];
    let idx = index.data();
    if inner == 1 {
        for ((row, picks), values) in out
            .chunks_exact_mut(len.max(1))
            .zip(idx.chunks_exact(picks.max(1)))
            .zip(values.chunks_exact(picks.max(1)))
        {
            for (&k, &v) in picks.iter().zip(values) {
                row[k] = row[k] + v;
            }
        }
        return from_vec(x.shape(), out);
    }
    for o in 0..outer {
        for j in 0..picks {
            let at = (o * picks + j) * inner;
            for (i, (&k, &v)) in idx[at..at + inner]
                .iter()
                .zip(&values[at..at + inner])
                .enumerate()
            {
                let target = (o * len + k) * inner + i;
                out[target] = out[target] + v;
            }
        }
    }
    from_vec(x.shape(), out)
}

fn gather_general<T: Elem>(x: &Tensor<T>, axis: usize, index: &Indices) -> Tensor<T> {
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

fn scatter_add_general<T: Elem>(
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
