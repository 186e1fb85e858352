//! Shape arithmetic: broadcasting and dimension indices.

/// The number of elements of a shape (1 for rank 0).
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// The shape two shapes broadcast to under NumPy/PyTorch rules, or `None` if they do not.
///
/// Shapes are aligned from the right; a missing or size-1 dimension stretches to match the
/// other.
///
/// ```
/// use ferrograd::shape::broadcast_shapes;
/// assert_eq!(broadcast_shapes(&[3, 1], &[1, 4]), Some(vec![3, 4]));
/// assert_eq!(broadcast_shapes(&[2, 3, 4], &[3, 1]), Some(vec![2, 3, 4]));
/// assert_eq!(broadcast_shapes(&[3], &[4]), None);
/// ```
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i < rank - a.len() {
            1
        } else {
            a[i - (rank - a.len())]
        };
        let db = if i < rank - b.len() {
            1
        } else {
            b[i - (rank - b.len())]
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// Whether `from` can be broadcast (expanded) to `to`.
pub fn broadcasts_to(from: &[usize], to: &[usize]) -> bool {
    from.len() <= to.len()
        && from
            .iter()
            .rev()
            .zip(to.iter().rev())
            .all(|(&f, &t)| f == t || f == 1)
}

/// Resolves a PyTorch-style dimension index (negative counts from the end) for a tensor of
/// rank `rank`.
///
/// # Panics
/// If `dim` is outside `-rank..rank`; the message names `op`.
#[track_caller]
pub fn resolve_dim(op: &str, dim: isize, rank: usize) -> usize {
    let r = rank as isize;
    if dim < -r || dim >= r {
        panic!("{op}: dimension {dim} is out of range for a tensor of rank {rank}");
    }
    if dim < 0 {
        (dim + r) as usize
    } else {
        dim as usize
    }
}

/// Resolves a list of PyTorch-style dimension indices, sorted and without repeats.
///
/// # Panics
/// If a dimension is out of range or given twice.
#[track_caller]
pub fn resolve_dims(op: &str, dims: &[isize], rank: usize) -> Vec<usize> {
    // A loop, not a closure, so that a panic reports the caller's line.
    let mut resolved = Vec::with_capacity(dims.len());
    for &d in dims {
        resolved.push(resolve_dim(op, d, rank));
    }
    resolved.sort_unstable();
    if resolved.windows(2).any(|w| w[0] == w[1]) {
        panic!("{op}: dimensions {dims:?} repeat a dimension");
    }
    resolved
}

/// A shape given to `reshape`: a list of sizes, of which at most one may be −1 (inferred
/// from the number of elements), as `usize`, `isize` or `i32` (what an integer literal
/// defaults to): `x.reshape(&[2, -1])`, `x.reshape(&shape)`.
pub trait ShapeSpec {
    /// The sizes, −1 for the one to infer.
    fn sizes(&self) -> Vec<i64>;
}

macro_rules! shape_spec {
    ($($t:ty),*) => {$(
        impl ShapeSpec for [$t] {
            fn sizes(&self) -> Vec<i64> {
                self.iter().map(|&d| d as i64).collect()
            }
        }
        impl<const N: usize> ShapeSpec for [$t; N] {
            fn sizes(&self) -> Vec<i64> {
                self.as_slice().sizes()
            }
        }
        impl ShapeSpec for Vec<$t> {
            fn sizes(&self) -> Vec<i64> {
                self.as_slice().sizes()
            }
        }
    )*};
}

shape_spec!(usize, isize, i32);

/// Resolves a [`ShapeSpec`] for a tensor of `numel` elements.
///
/// # Panics
/// If more than one size is −1, a size is negative otherwise, or the sizes do not hold
/// `numel` elements.
#[track_caller]
pub fn resolve_shape<S: ShapeSpec + ?Sized>(op: &str, spec: &S, from: &[usize]) -> Vec<usize> {
    let sizes = spec.sizes();
    let numel = numel(from);
    let holes = sizes.iter().filter(|&&d| d == -1).count();
    if holes > 1 || sizes.iter().any(|&d| d < -1) {
        panic!("{op}: invalid shape {sizes:?} (at most one −1, no other negative size)");
    }
    let known: usize = sizes
        .iter()
        .filter(|&&d| d >= 0)
        .map(|&d| d as usize)
        .product();
    let shape: Option<Vec<usize>> = if holes == 1 {
        (known > 0 && numel.is_multiple_of(known)).then(|| {
            sizes
                .iter()
                .map(|&d| if d == -1 { numel / known } else { d as usize })
                .collect()
        })
    } else {
        (known == numel).then(|| sizes.iter().map(|&d| d as usize).collect())
    };
    // A `match`, not `unwrap_or_else`: a panic inside a closure would not report the
    // caller's line.
    match shape {
        Some(shape) => shape,
        None => panic!(
            "{op}: shape {sizes:?} is invalid for a tensor of shape {from:?} ({numel} elements)"
        ),
    }
}
