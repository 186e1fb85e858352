//! `conv2d`, `max_pool2d`, `avg_pool2d`: built on `unfold2d` (im2col) and matmul or a
//! reduction over each window.

use crate::backend::{Indices, TensorOps, Window2d};
use crate::variable::Variable;

/// 2-D cross-correlation, as PyTorch's `F.conv2d`: `x` `[n, c, h, w]`, `weight`
/// `[o, c, kh, kw]`, optional `bias` `[o]`, the same `stride` and zero `padding` along both
/// axes. The output is `[n, o, ⌊(h + 2p − kh)/s⌋ + 1, ⌊(w + 2p − kw)/s⌋ + 1]`.
///
/// # Panics
/// If the shapes do not fit (ranks, channels, kernel larger than the padded input).
#[track_caller]
pub fn conv2d<B: TensorOps>(
    x: &Variable<B>,
    weight: &Variable<B>,
    bias: Option<&Variable<B>>,
    stride: usize,
    padding: usize,
) -> Variable<B> {
    let (xs, ws) = (x.shape(), weight.shape());
    if xs.len() != 4 || ws.len() != 4 || xs[1] != ws[1] {
        panic!(
            "conv2d: input {xs:?} and weight {ws:?} do not fit ([n, c, h, w] and [o, c, kh, kw])"
        );
    }
    let (n, o) = (xs[0], ws[0]);
    let cols = x.unfold2d((ws[2], ws[3]), (stride, stride), (padding, padding));
    let out_h = (xs[2] + 2 * padding - ws[2]) / stride + 1;
    let out_w = (xs[3] + 2 * padding - ws[3]) / stride + 1;
    let mut y = weight
        .reshape(&[o, ws[1] * ws[2] * ws[3]])
        .matmul(&cols)
        .reshape(&[n, o, out_h, out_w]);
    if let Some(b) = bias {
        if b.shape() != [o] {
            panic!("conv2d: bias has shape {:?}, expected [{o}]", b.shape());
        }
        y += b.reshape(&[1, o, 1, 1]);
    }
    y
}

/// 2-D max pooling over `[n, c, h, w]` (PyTorch's `F.max_pool2d`, no padding, floor
/// mode); the gradient goes to each window's maximum.
///
/// # Panics
/// If `x` is not 4-D or the kernel does not fit.
#[track_caller]
pub fn max_pool2d<B: TensorOps>(x: &Variable<B>, kernel_size: usize, stride: usize) -> Variable<B> {
    let shape = x.shape();
    if shape.len() != 4 {
        panic!("max_pool2d: the input must be [n, c, h, w], got shape {shape:?}");
    }
    let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3]);
    if kernel_size == 0 || stride == 0 || kernel_size > h || kernel_size > w {
        panic!("max_pool2d: kernel {kernel_size} with stride {stride} does not fit an input of {h}×{w}");
    }
    let window = Window2d {
        kernel: (kernel_size, kernel_size),
        stride: (stride, stride),
        padding: (0, 0),
        input: (h, w),
    };
    let (oh, ow) = window.output();
    // Each output is the input element at its window's maximum: a gather from the
    // flattened planes, whose derivative scatters the gradient back to those elements.
    let index = Indices::new(
        B::max_pool2d_indices(&x.value(), &window),
        &[n * c, oh * ow],
    )
    .expect("one index per output")
    .known_below(h * w);
    x.reshape(&[n * c, h * w])
        .gather(1, &index)
        .expect("the kernel returns positions inside each plane")
        .reshape(&[n, c, oh, ow])
}

/// 2-D average pooling over `[n, c, h, w]` (PyTorch's `F.avg_pool2d`, no padding, floor
/// mode).
///
/// # Panics
/// If `x` is not 4-D or the kernel does not fit.
#[track_caller]
pub fn avg_pool2d<B: TensorOps>(x: &Variable<B>, kernel_size: usize, stride: usize) -> Variable<B> {
    pool(x, kernel_size, stride, |windows| {
        windows.mean_dims(&[2], false)
    })
}

#[track_caller]
fn pool<B: TensorOps>(
    x: &Variable<B>,
    k: usize,
    stride: usize,
    reduce: impl Fn(&Variable<B>) -> Variable<B>,
) -> Variable<B> {
    let shape = x.shape();
    if shape.len() != 4 {
        panic!("pool2d: the input must be [n, c, h, w], got shape {shape:?}");
    }
    let (n, c) = (shape[0], shape[1]);
    let cols = x.unfold2d((k, k), (stride, stride), (0, 0));
    let (out_h, out_w) = ((shape[2] - k) / stride + 1, (shape[3] - k) / stride + 1);
    let windows = cols.reshape(&[n, c, k * k, out_h * out_w]);
    reduce(&windows).reshape(&[n, c, out_h, out_w])
}
