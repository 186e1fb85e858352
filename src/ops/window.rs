//! Sliding windows over images (tensor backends): `unfold2d` (im2col) and `fold2d`
//! (col2im), each the other's derivative. Convolution and pooling are built on them.

use crate::backend::{TensorOps, Window2d};
use crate::variable::Variable;

impl<B: TensorOps> Variable<B> {
    /// Extracts sliding windows from `[n, c, h, w]` images into `[n, c·kh·kw, L]` columns,
    /// `L` the number of window positions (PyTorch's `F.unfold`). Zero padding.
    ///
    /// # Panics
    /// If the input is not 4-D, a stride or kernel size is 0, or the kernel does not fit
    /// the padded input.
    #[track_caller]
    pub fn unfold2d(
        &self,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Self {
        let x = self.value_ref();
        let shape = B::shape(&x).to_vec();
        if shape.len() != 4 {
            panic!("unfold2d: the input must be [n, c, h, w], got shape {shape:?}");
        }
        let window = checked_window("unfold2d", kernel, stride, padding, (shape[2], shape[3]));
        let value = B::unfold2d(&x, &window);
        self.unary_op("unfold2d", value, move |_, _, g| g.fold2d_window(&window))
    }

    /// Sums `[n, c·kh·kw, L]` columns back into `[n, c, h, w]` images of size `output`
    /// (PyTorch's `F.fold`): overlapping windows add up.
    ///
    /// # Panics
    /// If the shapes do not fit the window geometry.
    #[track_caller]
    pub fn fold2d(
        &self,
        output: (usize, usize),
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Self {
        let window = checked_window("fold2d", kernel, stride, padding, output);
        self.fold2d_window(&window)
    }

    #[track_caller]
    fn fold2d_window(&self, window: &Window2d) -> Self {
        let cols = self.value_ref();
        let shape = B::shape(&cols);
        let k = window.kernel.0 * window.kernel.1;
        if shape.len() != 3 || !shape[1].is_multiple_of(k) || shape[2] != window.positions() {
            panic!(
                "fold2d: columns of shape {shape:?} do not fit kernel {:?} over {:?} ({} positions)",
                window.kernel,
                window.input,
                window.positions()
            );
        }
        let value = B::fold2d(&cols, window);
        let window = *window;
        self.unary_op("fold2d", value, move |_, _, g| {
            g.unfold2d(window.kernel, window.stride, window.padding)
        })
    }
}

#[track_caller]
fn checked_window(
    op: &str,
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
    input: (usize, usize),
) -> Window2d {
    let fits = |size: usize, k: usize, p: usize| k > 0 && k <= size + 2 * p;
    if stride.0 == 0
        || stride.1 == 0
        || !fits(input.0, kernel.0, padding.0)
        || !fits(input.1, kernel.1, padding.1)
    {
        panic!("{op}: kernel {kernel:?} with stride {stride:?} and padding {padding:?} does not fit an input of {input:?}");
    }
    Window2d {
        kernel,
        stride,
        padding,
        input,
    }
}
