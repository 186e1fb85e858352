//! Shape ops (tensor backends): `reshape permute transpose squeeze unsqueeze flatten
//! narrow pad_dim cat stack`.
//!
//! `reshape` and `permute` are primitives whose derivatives undo them; `narrow` and
//! `pad_dim` are each other's derivative, and `cat`'s derivative narrows the gradient back
//! into pieces. The rest are compositions.

use crate::backend::TensorOps;
use crate::shape::{resolve_dim, resolve_shape, ShapeSpec};
use crate::variable::Variable;

impl<B: TensorOps> Variable<B> {
    /// The same elements in a new shape; one size may be −1 and is then inferred
    /// (`x.reshape(&[2, -1])`).
    ///
    /// # Panics
    /// If the new shape does not hold the same number of elements.
    #[track_caller]
    pub fn reshape<S: ShapeSpec + ?Sized>(&self, shape: &S) -> Self {
        let x = self.value_ref();
        let from = B::shape(&x);
        let to = resolve_shape("reshape", shape, from);
        if to == from {
            return self.clone();
        }
        let value = B::reshape(&x, &to);
        self.unary_op("reshape", value, |x, _, g| g.reshape(&x.shape()))
    }

    /// Reorders dimensions: result dimension `i` is dimension `dims[i]` of `self`.
    ///
    /// # Panics
    /// If `dims` is not a permutation of the dimensions.
    #[track_caller]
    pub fn permute(&self, dims: &[isize]) -> Self {
        let x = self.value_ref();
        let rank = B::shape(&x).len();
        let mut axes = Vec::with_capacity(dims.len());
        for &d in dims {
            axes.push(resolve_dim("permute", d, rank));
        }
        let mut seen = vec![false; rank];
        if axes.len() != rank || axes.iter().any(|&a| std::mem::replace(&mut seen[a], true)) {
            panic!("permute: {dims:?} is not a permutation of the {rank} dimensions");
        }
        if axes.iter().enumerate().all(|(i, &a)| i == a) {
            return self.clone();
        }
        let value = B::permute(&x, &axes);
        let mut inverse = vec![0isize; rank];
        for (i, &a) in axes.iter().enumerate() {
            inverse[a] = i as isize;
        }
        self.unary_op("permute", value, move |_, _, g| g.permute(&inverse))
    }

    /// Swaps two dimensions.
    ///
    /// # Panics
    /// If a dimension is out of range.
    #[track_caller]
    pub fn transpose(&self, dim0: isize, dim1: isize) -> Self {
        let rank = self.rank();
        let (a, b) = (
            resolve_dim("transpose", dim0, rank),
            resolve_dim("transpose", dim1, rank),
        );
        let mut dims: Vec<isize> = (0..rank as isize).collect();
        dims.swap(a, b);
        self.permute(&dims)
    }

    /// Inserts a dimension of size 1 at `dim` (`-1` appends).
    ///
    /// # Panics
    /// If `dim` is outside `-(rank+1) ..= rank`.
    #[track_caller]
    pub fn unsqueeze(&self, dim: isize) -> Self {
        let mut shape = self.shape();
        let d = resolve_dim("unsqueeze", dim, shape.len() + 1);
        shape.insert(d, 1);
        self.reshape(&shape)
    }

    /// Removes dimension `dim`, which must have size 1.
    ///
    /// # Panics
    /// If `dim` is out of range or its size is not 1.
    #[track_caller]
    pub fn squeeze(&self, dim: isize) -> Self {
        let mut shape = self.shape();
        let d = resolve_dim("squeeze", dim, shape.len());
        if shape[d] != 1 {
            panic!(
                "squeeze: dimension {dim} of shape {shape:?} has size {}, not 1",
                shape[d]
            );
        }
        shape.remove(d);
        self.reshape(&shape)
    }

    /// Merges dimensions `start_dim ..= end_dim` into one.
    ///
    /// # Panics
    /// If a dimension is out of range or `start_dim` comes after `end_dim`.
    #[track_caller]
    pub fn flatten(&self, start_dim: isize, end_dim: isize) -> Self {
        let shape = self.shape();
        let rank = shape.len().max(1);
        let (s, e) = (
            resolve_dim("flatten", start_dim, rank),
            resolve_dim("flatten", end_dim, rank),
        );
        if shape.is_empty() {
            return self.reshape(&[1]);
        }
        assert!(
            s <= e,
            "flatten: start_dim {start_dim} comes after end_dim {end_dim}"
        );
        let mut out: Vec<usize> = shape[..s].to_vec();
        out.push(shape[s..=e].iter().product());
        out.extend_from_slice(&shape[e + 1..]);
        self.reshape(&out)
    }

    /// Elements `start .. start + length` along `dim`.
    ///
    /// # Panics
    /// If `dim` is out of range or the range exceeds the dimension.
    #[track_caller]
    pub fn narrow(&self, dim: isize, start: usize, length: usize) -> Self {
        let x = self.value_ref();
        let shape = B::shape(&x);
        let d = resolve_dim("narrow", dim, shape.len());
        if start + length > shape[d] {
            panic!(
                "narrow: range {start}..{} exceeds dimension {dim} of shape {shape:?}",
                start + length
            );
        }
        if start == 0 && length == shape[d] {
            return self.clone();
        }
        let value = B::narrow(&x, d, start, length);
        let after = shape[d] - start - length;
        self.unary_op("narrow", value, move |_, _, g| {
            g.pad_dim(d as isize, start, after)
        })
    }

    /// Zero padding along one dimension: `before` zeros in front, `after` behind.
    ///
    /// # Panics
    /// If `dim` is out of range.
    #[track_caller]
    pub fn pad_dim(&self, dim: isize, before: usize, after: usize) -> Self {
        let x = self.value_ref();
        let d = resolve_dim("pad_dim", dim, B::shape(&x).len());
        if before == 0 && after == 0 {
            return self.clone();
        }
        let length = B::shape(&x)[d];
        let value = B::pad(&x, d, before, after);
        self.unary_op("pad_dim", value, move |_, _, g| {
            g.narrow(d as isize, before, length)
        })
    }

    /// Concatenates along `dim`; all other dimensions must agree.
    ///
    /// # Panics
    /// If `xs` is empty, ranks differ, or another dimension differs.
    #[track_caller]
    pub fn cat(xs: &[&Self], dim: isize) -> Self {
        assert!(!xs.is_empty(), "cat: no tensors given");
        let values: Vec<B::Tensor> = xs.iter().map(|x| x.value()).collect();
        let first = B::shape(&values[0]).to_vec();
        let d = resolve_dim("cat", dim, first.len());
        let mut offsets = Vec::with_capacity(xs.len());
        let mut offset = 0;
        for v in &values {
            let s = B::shape(v);
            let agrees = s.len() == first.len()
                && s.iter()
                    .zip(&first)
                    .enumerate()
                    .all(|(i, (a, b))| i == d || a == b);
            if !agrees {
                let shapes: Vec<&[usize]> = values.iter().map(|v| B::shape(v)).collect();
                panic!("cat: shapes {shapes:?} do not agree outside dimension {dim}");
            }
            offsets.push((offset, s[d]));
            offset += s[d];
        }
        if xs.len() == 1 {
            return xs[0].clone();
        }
        let value = B::cat(&values, d);
        Self::from_op("cat", value, xs, move |i, _, _, g| {
            let (start, length) = offsets[i];
            g.narrow(d as isize, start, length)
        })
    }

    /// Stacks equally shaped tensors along a new dimension `dim`.
    ///
    /// # Panics
    /// If `xs` is empty or the shapes differ.
    #[track_caller]
    pub fn stack(xs: &[&Self], dim: isize) -> Self {
        assert!(!xs.is_empty(), "stack: no tensors given");
        let shape = xs[0].shape();
        if let Some(other) = xs.iter().map(|x| x.shape()).find(|s| *s != shape) {
            panic!("stack: shapes {shape:?} and {other:?} differ");
        }
        let mut expanded = Vec::with_capacity(xs.len());
        for x in xs {
            expanded.push(x.unsqueeze(dim));
        }
        let refs: Vec<&Self> = expanded.iter().collect();
        Self::cat(&refs, dim)
    }
}
