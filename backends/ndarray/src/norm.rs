//! [`Ops::norm`](ferrograd::backend::Ops::norm): the pieces in parallel, read in place.

use crate::parallel::REDUCTION_MIN;
use crate::{standard, Elem, Tensor};
use ferrograd::backend::{norm_of_pieces, norm_of_slice, norm_piece, NORM_PIECE};
use rayon::prelude::*;

/// The `norm_type`-norm of `x`'s elements, the bits of [`norm_of_slice`] on any number of
/// threads.
pub fn norm<T: Elem>(x: &Tensor<T>, norm_type: f64) -> f64 {
    let x = standard(x);
    let values = x.as_slice().expect("row-major");
    if values.len() < REDUCTION_MIN {
        return norm_of_slice(values, norm_type);
    }
    let partials: Vec<f64> = values
        .par_chunks(NORM_PIECE)
        .map(|piece| norm_piece(piece, norm_type))
        .collect();
    norm_of_pieces(partials, norm_type)
}

#[cfg(test)]
mod tests {
    use crate::NdArray;
    use ferrograd::backend::{norm_of_slice, Ops, TensorOps};

    /// The parallel pieces give the sequential bits, on a strided view too.
    #[test]
    fn the_bits_of_the_sequential_pieces() {
        let data: Vec<f32> = (0..300_007)
            .map(|i| (i as f32 * 0.37).sin() * 3.0)
            .collect();
        let x = NdArray::<f32>::from_vec(data.clone(), &[300_007]).unwrap();
        let t = NdArray::<f32>::permute(
            &NdArray::<f32>::from_vec(data[..300_000].to_vec(), &[600, 500]).unwrap(),
            &[1, 0],
        );
        let transposed = NdArray::<f32>::to_vec(&t);
        for p in [1.0, 2.0, 3.0, f64::INFINITY] {
            let (got, want) = (NdArray::<f32>::norm(&x, p), norm_of_slice(&data, p));
            assert_eq!(got.to_bits(), want.to_bits(), "norm {p}");
            let (got, want) = (NdArray::<f32>::norm(&t, p), norm_of_slice(&transposed, p));
            assert_eq!(
                got.to_bits(),
                want.to_bits(),
                "norm {p} of a transposed view"
            );
        }
    }
}
