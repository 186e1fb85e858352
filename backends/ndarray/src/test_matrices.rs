//! Matrices for the product kernels' tests.

use crate::Elem;
use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, ShapeBuilder};

/// Small integers (−5 to 5): every product and partial sum the tests form is exact in
/// `f32` and `f64`, so any order of summation gives matrixmultiply's bits.
pub fn integers<T: Elem>(rows: usize, cols: usize, seed: usize) -> Array2<T> {
    Array2::from_shape_fn((rows, cols), |(i, j)| {
        T::from_f64(((i * 7 + j * 13 + seed) % 11) as f64 - 5.0)
    })
}

/// The same matrix stored column by column (as a transposed operand is).
pub fn column_major<T: Elem>(x: &Array2<T>) -> Array2<T> {
    let mut out = Array2::zeros(x.dim().f());
    out.assign(x);
    out
}

/// `a · b` by matrixmultiply.
pub fn by_matrixmultiply<T: Elem>(a: &ArrayView2<T>, b: &ArrayView2<T>) -> Array2<T> {
    let mut c = Array2::zeros((a.nrows(), b.ncols()));
    general_mat_mul(T::one(), a, b, T::zero(), &mut c);
    c
}
