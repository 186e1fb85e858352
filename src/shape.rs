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
