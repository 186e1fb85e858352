//! The norm of a tensor's elements as [`Ops::norm`](crate::backend::Ops::norm) computes
//! it: in `f64`, in pieces of a fixed size whose partial results are combined in order,
//! so that a backend may compute the pieces in parallel and still give the same bits.

use crate::backend::BinaryOp;
use crate::element::Element;

/// Elements per piece.
pub const NORM_PIECE: usize = 1 << 14;

/// A piece's partial result for the `norm_type`-norm: the largest absolute value for
/// `f64::INFINITY` (NaN if there is one, as in PyTorch), else the sum of `|x|^p` (of `x²`
/// for 2), summed in four interleaved lanes so that it runs at the speed of memory.
pub fn norm_piece<T: Element>(piece: &[T], norm_type: f64) -> f64 {
    if norm_type.is_infinite() {
        return piece.iter().map(|x| x.as_f64().abs()).fold(0.0, max_or_nan);
    }
    if norm_type == 2.0 {
        sum_in_lanes(piece, |x| x * x)
    } else {
        sum_in_lanes(piece, |x| x.abs().powf(norm_type))
    }
}

/// The norm from the pieces' partial results, in order.
pub fn norm_of_pieces(partials: impl IntoIterator<Item = f64>, norm_type: f64) -> f64 {
    let partials = partials.into_iter();
    if norm_type.is_infinite() {
        partials.fold(0.0, max_or_nan)
    } else if norm_type == 2.0 {
        partials.sum::<f64>().sqrt()
    } else {
        partials.sum::<f64>().powf(1.0 / norm_type)
    }
}

/// The norm of `values` with the pieces computed one after another.
pub fn norm_of_slice<T: Element>(values: &[T], norm_type: f64) -> f64 {
    let partials = values.chunks(NORM_PIECE).map(|p| norm_piece(p, norm_type));
    norm_of_pieces(partials, norm_type)
}

/// The larger of two numbers, NaN if either is (the backends' `maximum`).
fn max_or_nan(a: f64, b: f64) -> f64 {
    BinaryOp::Maximum.apply(a, b)
}

fn sum_in_lanes<T: Element>(piece: &[T], f: impl Fn(f64) -> f64) -> f64 {
    let mut lanes = [0.0; 4];
    let mut quads = piece.chunks_exact(4);
    for quad in &mut quads {
        for (lane, x) in lanes.iter_mut().zip(quad) {
            *lane += f(x.as_f64());
        }
    }
    let rest: f64 = quads.remainder().iter().map(|x| f(x.as_f64())).sum();
    (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + rest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_norms_of_a_few_numbers() {
        let x = [3.0f32, -4.0, 0.0, 12.0, 0.0];
        assert_eq!(norm_of_slice(&x, 2.0), 13.0);
        assert_eq!(norm_of_slice(&x, 1.0), 19.0);
        assert_eq!(norm_of_slice(&x, f64::INFINITY), 12.0);
        assert!((norm_of_slice(&x, 3.0) - (27.0f64 + 64.0 + 1728.0).cbrt()).abs() < 1e-12);
        assert_eq!(norm_of_slice::<f64>(&[], 2.0), 0.0);
    }

    #[test]
    fn nan_propagates_through_every_norm() {
        let x = [1.0, f64::NAN, 2.0];
        for p in [1.0, 2.0, 3.0, f64::INFINITY] {
            assert!(norm_of_slice(&x, p).is_nan(), "norm {p}");
        }
    }

    #[test]
    fn many_pieces_agree_with_a_plain_sum() {
        let x: Vec<f64> = (0..3 * NORM_PIECE + 5)
            .map(|i| (i as f64 * 0.37).sin())
            .collect();
        let plain = x.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!((norm_of_slice(&x, 2.0) - plain).abs() < 1e-12 * plain);
    }
}
