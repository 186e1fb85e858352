//! im2col and col2im: sliding windows over `[n, c, h, w]` images.
//!
//! Column `(ci, ki, kj)` (row-major, `ci` slowest) and window position `(oy, ox)` read input
//! pixel `(ci, oy·sy + ki − py, ox·sx + kj − px)`, zero outside the image. `fold2d` adds
//! each column entry back to that pixel. Images are independent, so both run one image per
//! task when large; each image is processed in a fixed order.

use crate::{parallel, pool};
use crate::{standard, Elem, Tensor};
use ferrograd::backend::Window2d;
use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;

/// `[n, c, h, w] → [n, c·kh·kw, L]`.
pub fn unfold2d<T: Elem>(x: &Tensor<T>, w: &Window2d) -> Tensor<T> {
    let x = standard(x);
    let s = x.shape();
    let (n, c, h, wd) = (s[0], s[1], s[2], s[3]);
    let (kh, kw) = w.kernel;
    let (oh, ow) = w.output();
    let rows = c * kh * kw;
    let per_image = rows * oh * ow;
    let src = x.as_slice().expect("standard layout");
    let mut out = pool::take(n * per_image);
    out.resize(n * per_image, T::zero());
    let image = |(img, dst): (usize, &mut [T])| {
        let plane = &src[img * c * h * wd..(img + 1) * c * h * wd];
        for ci in 0..c {
            for ki in 0..kh {
                for kj in 0..kw {
                    let row = (ci * kh + ki) * kw + kj;
                    let dst_row = &mut dst[row * oh * ow..(row + 1) * oh * ow];
                    for oy in 0..oh {
                        let y = (oy * w.stride.0 + ki) as isize - w.padding.0 as isize;
                        if y < 0 || y >= h as isize {
                            continue;
                        }
                        let src_row =
                            &plane[(ci * h + y as usize) * wd..(ci * h + y as usize + 1) * wd];
                        for ox in 0..ow {
                            let xx = (ox * w.stride.1 + kj) as isize - w.padding.1 as isize;
                            if xx >= 0 && xx < wd as isize {
                                dst_row[oy * ow + ox] = src_row[xx as usize];
                            }
                        }
                    }
                }
            }
        }
    };
    if out.len() >= parallel::COPY_MIN && n > 1 {
        out.par_chunks_mut(per_image.max(1))
            .enumerate()
            .for_each(image);
    } else {
        out.chunks_mut(per_image.max(1)).enumerate().for_each(image);
    }
    ArrayD::from_shape_vec(IxDyn(&[n, rows, oh * ow]), out)
        .expect("sizes agree")
        .into()
}

/// `[n, c·kh·kw, L] → [n, c, h, w]`, overlapping windows added up.
pub fn fold2d<T: Elem>(cols: &Tensor<T>, w: &Window2d) -> Tensor<T> {
    let cols = standard(cols);
    let s = cols.shape();
    let (kh, kw) = w.kernel;
    let (n, c) = (s[0], s[1] / (kh * kw));
    let (h, wd) = w.input;
    let (oh, ow) = w.output();
    let per_image = c * h * wd;
    let src = cols.as_slice().expect("standard layout");
    let mut out = pool::take(n * per_image);
    out.resize(n * per_image, T::zero());
    let image = |(img, dst): (usize, &mut [T])| {
        let block = &src[img * s[1] * s[2]..(img + 1) * s[1] * s[2]];
        for ci in 0..c {
            for ki in 0..kh {
                for kj in 0..kw {
                    let row = (ci * kh + ki) * kw + kj;
                    let src_row = &block[row * oh * ow..(row + 1) * oh * ow];
                    for oy in 0..oh {
                        let y = (oy * w.stride.0 + ki) as isize - w.padding.0 as isize;
                        if y < 0 || y >= h as isize {
                            continue;
                        }
                        let dst_row =
                            &mut dst[(ci * h + y as usize) * wd..(ci * h + y as usize + 1) * wd];
                        for ox in 0..ow {
                            let xx = (ox * w.stride.1 + kj) as isize - w.padding.1 as isize;
                            if xx >= 0 && xx < wd as isize {
                                dst_row[xx as usize] = dst_row[xx as usize] + src_row[oy * ow + ox];
                            }
                        }
                    }
                }
            }
        }
    };
    if out.len() >= parallel::COPY_MIN && n > 1 {
        out.par_chunks_mut(per_image.max(1))
            .enumerate()
            .for_each(image);
    } else {
        out.chunks_mut(per_image.max(1)).enumerate().for_each(image);
    }
    ArrayD::from_shape_vec(IxDyn(&[n, c, h, wd]), out)
        .expect("sizes agree")
        .into()
}
