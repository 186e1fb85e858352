//! Layer normalisation of one group of elements, as
//! [`TensorOps::layer_norm`](crate::backend::TensorOps::layer_norm) and
//! [`TensorOps::layer_norm_backward`](crate::backend::TensorOps::layer_norm_backward)
//! compute it: a backend normalises its groups (the rows of the normalised dimensions) with
//! these, in parallel or not, and gets the same bits.
//!
//! The statistics are computed in the element type, as PyTorch's CPU kernel does, in
//! sixteen interleaved lanes (a vector register of `f32`): the mean first, then the
//! variance from the centred values (two passes, as stable as Welford's method). A group
//! fits the level-1 cache in any common model, so the passes cost little beside the one
//! read of the input and one write of the output.

use crate::element::Element;
use std::mem::MaybeUninit;

/// Accumulators per sum: independent chains, so that the additions pipeline and
/// vectorise.
const LANES: usize = 16;

/// `Σ f(x, g)` over the pairs of `x` and `g` (of one length), in [`LANES`] interleaved
/// lanes.
#[inline(always)]
fn sum_in_lanes<T: Element>(x: &[T], g: &[T], f: impl Fn(T, T) -> T) -> T {
    let (xs, gs) = (x.chunks_exact(LANES), g.chunks_exact(LANES));
    let rest =
        (xs.remainder().iter().zip(gs.remainder())).fold(T::zero(), |sum, (&x, &g)| sum + f(x, g));
    let mut lanes = [T::zero(); LANES];
    for (x, g) in xs.zip(gs) {
        // As arrays, the lengths are known: no bounds checks in the way of vectorising.
        let x: &[T; LANES] = x.try_into().expect("a whole chunk");
        let g: &[T; LANES] = g.try_into().expect("a whole chunk");
        lanes = std::array::from_fn(|l| lanes[l] + f(x[l], g[l]));
    }
    combine(lanes) + rest
}

/// The sum of the lanes, in order. (Summed as a halving tree, the lanes made the compiler
/// vectorise the whole loop two lanes wide, at twice the time.)
#[inline(always)]
fn combine<T: Element>(lanes: [T; LANES]) -> T {
    lanes.iter().fold(T::zero(), |sum, &lane| sum + lane)
}

/// `Σ f(x, g, w)` over the triples of `x`, `g` and `w` (of one length), as
/// [`sum_in_lanes`].
#[inline(always)]
fn sum_in_lanes3<T: Element>(x: &[T], g: &[T], w: &[T], f: impl Fn(T, T, T) -> T) -> T {
    let (xs, gs, ws) = (
        x.chunks_exact(LANES),
        g.chunks_exact(LANES),
        w.chunks_exact(LANES),
    );
    let rest = (xs
        .remainder()
        .iter()
        .zip(gs.remainder())
        .zip(ws.remainder()))
    .fold(T::zero(), |sum, ((&x, &g), &w)| sum + f(x, g, w));
    let mut lanes = [T::zero(); LANES];
    for ((x, g), w) in xs.zip(gs).zip(ws) {
        let x: &[T; LANES] = x.try_into().expect("a whole chunk");
        let g: &[T; LANES] = g.try_into().expect("a whole chunk");
        let w: &[T; LANES] = w.try_into().expect("a whole chunk");
        lanes = std::array::from_fn(|l| lanes[l] + f(x[l], g[l], w[l]));
    }
    combine(lanes) + rest
}

/// The mean of `x` and the reciprocal of its standard deviation `1 / √(var + eps)`, with
/// the biased variance.
#[inline(always)]
fn statistics<T: Element>(x: &[T], eps: T) -> (T, T) {
    let n = T::from_f64(x.len() as f64);
    let mean = sum_in_lanes(x, x, |x, _| x) / n;
    let var = sum_in_lanes(x, x, |x, _| (x - mean) * (x - mean)) / n;
    (mean, (var + eps).sqrt().recip())
}

/// The elementwise affine step after the normalisation: `ŷ · weight + bias`, each of the
/// group's length where given.
#[derive(Clone, Copy, Debug, Default)]
pub struct Affine<'a, T> {
    /// Multiplies the normalised values.
    pub weight: Option<&'a [T]>,
    /// Added after the weight.
    pub bias: Option<&'a [T]>,
}

/// Writes into `y` (of `x`'s length, possibly uninitialised) the normalised `x`,
/// `ŷ = (x − mean) / √(var + eps)`, times `affine.weight` plus `affine.bias`.
///
/// # Panics
/// If `y`, the weight or the bias is not as long as `x`.
#[inline(always)]
pub fn layer_norm_row<T: Element>(
    x: &[T],
    affine: Affine<'_, T>,
    eps: f64,
    y: &mut [MaybeUninit<T>],
) {
    assert_eq!(x.len(), y.len(), "layer_norm_row: output length");
    let (mean, rstd) = statistics(x, T::from_f64(eps));
    let normalised = |x: T| (x - mean) * rstd;
    let outputs = y.iter_mut().zip(x);
    // One loop per case, so that each is a plain vector loop.
    match (affine.weight, affine.bias) {
        (None, None) => outputs.for_each(|(y, &x)| _ = y.write(normalised(x))),
        (Some(w), None) => {
            assert_eq!(w.len(), x.len(), "layer_norm_row: weight length");
            for ((y, &x), &w) in outputs.zip(w) {
                y.write(normalised(x) * w);
            }
        }
        (None, Some(b)) => {
            assert_eq!(b.len(), x.len(), "layer_norm_row: bias length");
            for ((y, &x), &b) in outputs.zip(b) {
                y.write(normalised(x) + b);
            }
        }
        (Some(w), Some(b)) => {
            assert_eq!(w.len(), x.len(), "layer_norm_row: weight length");
            assert_eq!(b.len(), x.len(), "layer_norm_row: bias length");
            for (((y, &x), &w), &b) in outputs.zip(w).zip(b) {
                y.write(normalised(x) * w + b);
            }
        }
    }
}

/// Writes into `dx` (of `x`'s length, possibly uninitialised) the gradient with respect to
/// `x` of `Σ g · (ŷ · weight + bias)` over the group: `rstd · (ĝ − mean(ĝ) − ŷ · mean(ĝ ·
/// ŷ))` with `ĝ = g · weight` (`g` without a weight), `ŷ` the normalised `x` and `rstd = 1
/// / √(var + eps)`.
///
/// # Panics
/// If `g`, `weight` or `dx` is not as long as `x`.
#[inline(always)]
pub fn layer_norm_backward_row<T: Element>(
    x: &[T],
    g: &[T],
    weight: Option<&[T]>,
    eps: f64,
    dx: &mut [MaybeUninit<T>],
) {
    assert_eq!(x.len(), g.len(), "layer_norm_backward_row: gradient length");
    assert_eq!(x.len(), dx.len(), "layer_norm_backward_row: output length");
    match weight {
        None => backward_row(x, g, |g, _| g, x, eps, dx),
        Some(w) => {
            assert_eq!(w.len(), x.len(), "layer_norm_backward_row: weight length");
            backward_row(x, g, |g, w| g * w, w, eps, dx)
        }
    }
}

/// [`layer_norm_backward_row`] with `ĝ = scaled(g, w)` for the pairs of `g` and `w`.
///
/// Five passes over the group, each sum in its own: merged into one pass, the three sums
/// after the mean were not vectorised and took nearly twice as long.
#[inline(always)]
fn backward_row<T: Element>(
    x: &[T],
    g: &[T],
    scaled: impl Fn(T, T) -> T,
    w: &[T],
    eps: f64,
    dx: &mut [MaybeUninit<T>],
) {
    let n = T::from_f64(x.len() as f64);
    let (mean, rstd) = statistics(x, T::from_f64(eps));
    let normalised = |x: T| (x - mean) * rstd;
    let mean_g = sum_in_lanes(g, w, &scaled) / n;
    let mean_gy = sum_in_lanes3(x, g, w, |x, g, w| scaled(g, w) * normalised(x)) / n;
    for (((dx, &x), &g), &w) in dx.iter_mut().zip(x).zip(g).zip(w) {
        dx.write(rstd * ((scaled(g, w) - mean_g) - normalised(x) * mean_gy));
    }
}

/// Elements per piece of a weight gradient (see [`layer_norm_weight_grad_piece`]).
pub const LAYER_NORM_PIECE: usize = 1 << 14;

/// The elements of a piece of a weight gradient for groups of `group` elements: whole
/// groups, about [`LAYER_NORM_PIECE`] elements, at least one group.
pub fn layer_norm_piece_len(group: usize) -> usize {
    group * (LAYER_NORM_PIECE / group.max(1)).max(1)
}

/// One piece of the weight's gradient: `Σ g · ŷ` over the groups of `x` (whole groups of
/// `group` elements, `g` alike), summed in order into `sum` (`group` long, zeros at the
/// start). A backend sums each piece of [`layer_norm_piece_len`] elements into its own
/// zeros, in parallel or not, and combines the pieces' sums with
/// [`layer_norm_weight_grad_of_pieces`]: the same bits on any number of threads.
///
/// # Panics
/// If `g` is not as long as `x`, or `sum` not `group` long.
#[inline(always)]
pub fn layer_norm_weight_grad_piece<T: Element>(
    x: &[T],
    g: &[T],
    group: usize,
    eps: f64,
    sum: &mut [T],
) {
    assert_eq!(
        x.len(),
        g.len(),
        "layer_norm_weight_grad_piece: gradient length"
    );
    assert_eq!(sum.len(), group, "layer_norm_weight_grad_piece: sum length");
    for (x, g) in x.chunks(group).zip(g.chunks(group)) {
        let (mean, rstd) = statistics(x, T::from_f64(eps));
        for ((sum, &x), &g) in sum.iter_mut().zip(x).zip(g) {
            *sum = *sum + g * ((x - mean) * rstd);
        }
    }
}

/// The weight's gradient (`group` elements) from the pieces' sums, added in order.
pub fn layer_norm_weight_grad_of_pieces<T: Element>(
    sums: impl IntoIterator<Item = Vec<T>>,
    group: usize,
) -> Vec<T> {
    let mut total = vec![T::zero(); group];
    for sum in sums {
        for (total, s) in total.iter_mut().zip(sum) {
            *total = *total + s;
        }
    }
    total
}

/// [`layer_norm_row`] over every group of `x`, one after another: what
/// [`TensorOps::layer_norm`](crate::backend::TensorOps::layer_norm) computes by default.
pub fn layer_norm_of_slice<T: Element>(
    x: &[T],
    affine: Affine<'_, T>,
    group: usize,
    eps: f64,
) -> Vec<T> {
    by_groups(x.len(), group, |range, to| {
        layer_norm_row(&x[range], affine, eps, to)
    })
}

/// [`layer_norm_backward_row`] over every group of `x` and `g`, one after another.
pub fn layer_norm_backward_of_slice<T: Element>(
    x: &[T],
    g: &[T],
    weight: Option<&[T]>,
    group: usize,
    eps: f64,
) -> Vec<T> {
    assert_eq!(x.len(), g.len(), "layer_norm_backward: gradient size");
    by_groups(x.len(), group, |range, to| {
        layer_norm_backward_row(&x[range.clone()], &g[range], weight, eps, to)
    })
}

/// The weight's gradient with the pieces summed one after another.
pub fn layer_norm_weight_grad_of_slice<T: Element>(
    x: &[T],
    g: &[T],
    group: usize,
    eps: f64,
) -> Vec<T> {
    assert_eq!(x.len(), g.len(), "layer_norm_weight_grad: gradient size");
    if group == 0 {
        return Vec::new();
    }
    let piece = layer_norm_piece_len(group);
    let sums = x.chunks(piece).zip(g.chunks(piece)).map(|(x, g)| {
        let mut sum = vec![T::zero(); group];
        layer_norm_weight_grad_piece(x, g, group, eps, &mut sum);
        sum
    });
    layer_norm_weight_grad_of_pieces(sums, group)
}

/// A vector of `len` elements written group by group: `write(range, out)` must write every
/// element of the group `range` into `out`.
fn by_groups<T>(
    len: usize,
    group: usize,
    mut write: impl FnMut(std::ops::Range<usize>, &mut [MaybeUninit<T>]),
) -> Vec<T> {
    // A group of 0 elements divides only an empty tensor.
    assert!(
        len.is_multiple_of(group),
        "{len} elements do not make groups of {group}"
    );
    let mut out = Vec::with_capacity(len);
    if group > 0 {
        for (i, to) in out.spare_capacity_mut()[..len]
            .chunks_mut(group)
            .enumerate()
        {
            write(i * group..i * group + to.len(), to);
        }
    }
    // SAFETY: the groups cover all `len` elements (checked above), and `write` wrote each.
    unsafe { out.set_len(len) };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalise<T: Element>(x: &[T], eps: f64) -> Vec<T> {
        layer_norm_of_slice(x, Affine::default(), x.len(), eps)
    }

    #[test]
    fn a_normalised_group_has_mean_zero_and_variance_one() {
        let x: Vec<f64> = (0..37)
            .map(|i| (i as f64 * 0.7).sin() * 5.0 + 3.0)
            .collect();
        let y = normalise(&x, 0.0);
        let mean = y.iter().sum::<f64>() / y.len() as f64;
        let var = y.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / y.len() as f64;
        assert!(mean.abs() < 1e-14, "mean {mean}");
        assert!((var - 1.0).abs() < 1e-13, "variance {var}");
    }

    /// The backward formula against central differences of the forward one.
    #[test]
    fn the_backward_row_is_the_derivative_of_the_forward_row() {
        let x: Vec<f64> = (0..11).map(|i| (i as f64 * 1.3).cos() * 2.0).collect();
        let g: Vec<f64> = (0..11).map(|i| (i as f64 * 0.4).sin()).collect();
        let eps = 1e-5;
        let loss = |x: &[f64]| {
            normalise(x, eps)
                .iter()
                .zip(&g)
                .map(|(y, g)| y * g)
                .sum::<f64>()
        };
        let dx = layer_norm_backward_of_slice(&x, &g, None, x.len(), eps);
        let h = 1e-6;
        for i in 0..x.len() {
            let (mut up, mut down) = (x.clone(), x.clone());
            up[i] += h;
            down[i] -= h;
            let numeric = (loss(&up) - loss(&down)) / (2.0 * h);
            assert!(
                (numeric - dx[i]).abs() < 1e-8,
                "dx[{i}]: {} analytic, {numeric} numeric",
                dx[i]
            );
        }
    }

    #[test]
    fn a_constant_group_normalises_to_zeros() {
        assert_eq!(normalise(&[2.5f32; 20], 1e-5), [0.0; 20]);
    }
}
