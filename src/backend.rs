//! The backend traits: what a storage backend must provide.
//!
//! A backend is a zero-sized marker type (`Scalar<f64>`, `NdArray<f32>`) whose associated
//! functions are *kernels*: they compute values and know nothing of graphs or gradients.
//! Every derivative lives in the core, written once with differentiable [`Variable`]
//! operations, so every backend gets every derivative (and derivatives of derivatives)
//! for free.
//!
//! - [`Ops`]: what every backend provides: creation, read-back, elementwise maths with
//!   broadcasting, and the two reductions that broadcasting's backward needs.
//! - [`TensorOps`]: what only n-dimensional backends provide (reshape, matmul, ...).
//!   `Variable<B>` offers those ops only where `B: TensorOps`, so calling `matmul` on a
//!   scalar backend is a compile error.
//! - [`Backend`]: the bound that `Variable<B>` carries.
//!
//! The core validates shapes before it calls a kernel: kernels may assume their inputs
//! are well-formed (shapes broadcast, axes in range) and need not check again.
//!
//! [`Variable`]: crate::Variable

use crate::element::Element;
use crate::error::Result;
use std::fmt::Debug;

pub use crate::layer_norm_rows::{
    layer_norm_backward_of_slice, layer_norm_backward_row, layer_norm_of_slice,
    layer_norm_piece_len, layer_norm_row, layer_norm_weight_grad_of_pieces,
    layer_norm_weight_grad_of_slice, layer_norm_weight_grad_piece, Affine, LAYER_NORM_PIECE,
};
pub use crate::leaf_cell::{AtomicCell, LeafCell, LockedCell};
pub use crate::norm_pieces::{norm_of_pieces, norm_of_slice, norm_piece, NORM_PIECE};

/// An elementwise function of one argument, applied by [`Ops::unary`].
///
/// Unary kernels go through this one entry so that a new activation adds a variant here
/// (and its formula in [`UnaryOp::apply`]) without widening the backend trait.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum UnaryOp<T> {
    /// `-x`
    Neg,
    /// `eˣ`
    Exp,
    /// `ln x`
    Log,
    /// `√x`
    Sqrt,
    /// `sin x`
    Sin,
    /// `cos x`
    Cos,
    /// `tanh x`
    Tanh,
    /// `1 / (1 + e⁻ˣ)`, computed without overflow for large `|x|`.
    Sigmoid,
    /// `max(x, 0)`
    Relu,
    /// `|x|`
    Abs,
    /// `-1`, `0` or `1` (0 at 0).
    Sign,
    /// `x²`
    Square,
    /// `1 / x`
    Reciprocal,
    /// The error function.
    Erf,
    /// `ln(1 + eˣ)`, and `x` itself above 20, as PyTorch's `softplus`.
    Softplus,
    /// `xᵖ` for a constant exponent `p`.
    Powf(T),
    /// `x` clamped to `[min, max]`.
    Clamp(T, T),
    /// `x` for `x > 0`, `slope · x` otherwise.
    LeakyRelu(T),
    /// `x` for `x > 0`, `alpha · (eˣ − 1)` otherwise.
    Elu(T),
}

impl<T: Element> UnaryOp<T> {
    /// The function applied to one number: the reference that every backend's kernel
    /// must agree with (the scalar backend uses it directly).
    #[inline]
    pub fn apply(self, x: T) -> T {
        let zero = T::zero();
        let one = T::one();
        match self {
            UnaryOp::Neg => -x,
            UnaryOp::Exp => x.exp(),
            UnaryOp::Log => x.ln(),
            UnaryOp::Sqrt => x.sqrt(),
            UnaryOp::Sin => x.sin(),
            UnaryOp::Cos => x.cos(),
            UnaryOp::Tanh => x.tanh(),
            UnaryOp::Sigmoid => {
                if x >= zero {
                    one / (one + (-x).exp())
                } else {
                    let e = x.exp();
                    e / (one + e)
                }
            }
            UnaryOp::Relu => {
                if x > zero {
                    x
                } else {
                    zero
                }
            }
            UnaryOp::Abs => x.abs(),
            UnaryOp::Sign => {
                if x > zero {
                    one
                } else if x < zero {
                    -one
                } else {
                    zero
                }
            }
            UnaryOp::Square => x * x,
            UnaryOp::Reciprocal => one / x,
            UnaryOp::Erf => x.erf(),
            UnaryOp::Softplus => {
                if x > T::from_f64(20.0) {
                    x
                } else {
                    x.exp().ln_1p()
                }
            }
            UnaryOp::Powf(p) => x.powf(p),
            UnaryOp::Clamp(lo, hi) => x.max(lo).min(hi),
            UnaryOp::LeakyRelu(slope) => {
                if x > zero {
                    x
                } else {
                    slope * x
                }
            }
            UnaryOp::Elu(alpha) => {
                if x > zero {
                    x
                } else {
                    alpha * x.exp_m1()
                }
            }
        }
    }
}

/// An elementwise function of two arguments, applied with broadcasting by [`Ops::binary`].
///
/// The comparisons return `1` where they hold and `0` elsewhere: they make the masks that
/// derivatives of piecewise functions (relu, maximum, clamp) multiply by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BinaryOp {
    /// `a + b`
    Add,
    /// `a − b`
    Sub,
    /// `a · b`
    Mul,
    /// `a / b`
    Div,
    /// `aᵇ`
    Pow,
    /// `max(a, b)`
    Maximum,
    /// `min(a, b)`
    Minimum,
    /// `a > b`
    Gt,
    /// `a ≥ b`
    Ge,
    /// `a < b`
    Lt,
    /// `a ≤ b`
    Le,
    /// `a = b`
    Eq,
    /// `a · (1 − b²)`: the derivative of tanh (`a` the gradient, `b` the output), one pass
    /// instead of three.
    TanhBackward,
    /// `a · b · (1 − b)`: the derivative of the logistic sigmoid (`b` the output).
    SigmoidBackward,
    /// `a` where `b > 0`, else 0: the derivative of relu (`b` the input).
    ReluBackward,
}

impl BinaryOp {
    /// The function applied to one pair of numbers: the reference for every backend.
    #[inline]
    pub fn apply<T: Element>(self, a: T, b: T) -> T {
        let mask = |c: bool| if c { T::one() } else { T::zero() };
        match self {
            BinaryOp::Add => a + b,
            BinaryOp::Sub => a - b,
            BinaryOp::Mul => a * b,
            BinaryOp::Div => a / b,
            BinaryOp::Pow => a.powf(b),
            BinaryOp::Maximum => {
                if a.is_nan() || b.is_nan() {
                    T::nan()
                } else {
                    a.max(b)
                }
            }
            BinaryOp::Minimum => {
                if a.is_nan() || b.is_nan() {
                    T::nan()
                } else {
                    a.min(b)
                }
            }
            BinaryOp::Gt => mask(a > b),
            BinaryOp::Ge => mask(a >= b),
            BinaryOp::Lt => mask(a < b),
            BinaryOp::Le => mask(a <= b),
            BinaryOp::Eq => mask(a == b),
            BinaryOp::TanhBackward => a * (T::one() - b * b),
            BinaryOp::SigmoidBackward => a * ((T::one() - b) * b),
            BinaryOp::ReluBackward => {
                if b > T::zero() {
                    a
                } else {
                    T::zero()
                }
            }
        }
    }
}

/// The kernels every backend provides.
///
/// All functions are associated functions of a zero-sized backend type; the values they
/// work on are [`Ops::Tensor`]s. Shapes are validated by the core before a kernel runs.
pub trait Ops: Clone + Copy + Debug + Default + Send + Sync + 'static {
    /// The element type, `f32` or `f64`.
    type Elem: Element;
    /// The stored value of one graph node: a number for the scalar backend, an n-d array
    /// for a tensor backend. Cloning must be cheap (a copy or a reference count).
    type Tensor: Clone + Debug + Send + Sync + 'static;
    /// Where a leaf (a parameter) keeps its value: [`LockedCell`] serves any value;
    /// the scalar backend uses [`AtomicCell`], which reads without a lock.
    type Leaf: LeafCell<Self::Tensor>;

    /// A short name for messages, such as `"Scalar<f64>"`.
    fn name() -> &'static str;

    /// Builds a value from row-major data. The core has checked that `data.len()` is the
    /// number of elements of `shape`; a backend that cannot hold `shape` returns
    /// [`Error::UnsupportedShape`](crate::Error::UnsupportedShape).
    fn from_vec(data: Vec<Self::Elem>, shape: &[usize]) -> Result<Self::Tensor>;

    /// A value of the given shape with every element `value`.
    fn full(shape: &[usize], value: Self::Elem) -> Self::Tensor;

    /// The shape of a value (`&[]` for rank 0).
    fn shape(x: &Self::Tensor) -> &[usize];

    /// The elements in row-major order.
    fn to_vec(x: &Self::Tensor) -> Vec<Self::Elem>;

    /// Applies `op` to every element.
    fn unary(op: UnaryOp<Self::Elem>, x: &Self::Tensor) -> Self::Tensor;

    /// Applies `op` elementwise, broadcasting `a` and `b` to their common shape.
    fn binary(op: BinaryOp, a: &Self::Tensor, b: &Self::Tensor) -> Self::Tensor;

    /// `a + scale · b` for two tensors of one shape: an optimizer's update. Each element is
    /// a multiply then an add, never fused, so the result equals the two `binary` ops to
    /// the bit; a backend may do both in one pass (the default makes two).
    fn add_scaled(a: &Self::Tensor, b: &Self::Tensor, scale: Self::Elem) -> Self::Tensor {
        let scaled = Self::binary(BinaryOp::Mul, b, &Self::full(&[], scale));
        Self::binary(BinaryOp::Add, a, &scaled)
    }

    /// Applies `f` to the elements at each index of `inputs`, which all have one shape, and
    /// gives its `O` results as `O` tensors of that shape: an elementwise computation of
    /// several steps in one pass over memory (the optimizers' updates).
    ///
    /// `f` works on plain numbers, so every backend computes the same bits. The default
    /// goes through [`to_vec`](Ops::to_vec) and [`from_vec`](Ops::from_vec) on one thread;
    /// a backend may run it in parallel.
    ///
    /// # Panics
    /// If `I` is zero or the inputs' shapes differ.
    ///
    /// ```
    /// use ferrograd::backend::Ops;
    /// use ferrograd_ndarray::NdArray;
    ///
    /// type B = NdArray<f64>;
    /// let (x, y) = (B::from_vec(vec![1.0, 2.0], &[2])?, B::from_vec(vec![3.0, 4.0], &[2])?);
    /// let [sum, product] = B::zip_map([&x, &y], |[a, b]| [a + b, a * b]);
    /// assert_eq!((B::to_vec(&sum), B::to_vec(&product)), (vec![4.0, 6.0], vec![3.0, 8.0]));
    /// # Ok::<(), ferrograd::Error>(())
    /// ```
    #[track_caller]
    fn zip_map<const I: usize, const O: usize>(
        inputs: [&Self::Tensor; I],
        f: impl Fn([Self::Elem; I]) -> [Self::Elem; O] + Sync,
    ) -> [Self::Tensor; O] {
        let shape = zip_map_shape::<Self, I>(&inputs).to_vec();
        let n = shape.iter().product();
        let mut inputs = inputs.map(|x| Self::to_vec(x).into_iter());
        let mut outputs: [Vec<Self::Elem>; O] = std::array::from_fn(|_| Vec::with_capacity(n));
        for _ in 0..n {
            let x = inputs
                .each_mut()
                .map(|x| x.next().expect("one element per index"));
            for (output, y) in outputs.iter_mut().zip(f(x)) {
                output.push(y);
            }
        }
        outputs.map(|data| Self::from_vec(data, &shape).expect("one element per index"))
    }

    /// The `norm_type`-norm of all of `x`'s elements, computed in `f64`: the largest
    /// absolute value for `f64::INFINITY`, else `(Σ |x|^p)^(1/p)`. NaN if any element is.
    /// The sum runs in pieces of [`NORM_PIECE`] elements combined in order
    /// ([`norm_of_slice`]); a backend may compute the pieces in parallel, with the same
    /// bits.
    ///
    /// ```
    /// use ferrograd::backend::Ops;
    /// use ferrograd_ndarray::NdArray;
    ///
    /// let x = NdArray::<f32>::from_vec(vec![3.0, -4.0], &[2])?;
    /// assert_eq!(NdArray::<f32>::norm(&x, 2.0), 5.0);
    /// # Ok::<(), ferrograd::Error>(())
    /// ```
    fn norm(x: &Self::Tensor, norm_type: f64) -> f64 {
        norm_of_slice(&Self::to_vec(x), norm_type)
    }

    /// Repeats `x` along new leading and size-1 dimensions to `shape` (PyTorch's `expand`).
    fn broadcast_to(x: &Self::Tensor, shape: &[usize]) -> Self::Tensor;

    /// Sums `x` down to `shape`, a shape `x`'s shape is a broadcast of: the reduction that
    /// turns the gradient of a broadcast result into the gradient of its input.
    fn sum_to(x: &Self::Tensor, shape: &[usize]) -> Self::Tensor;

    /// Runs `pass`, a whole backward pass, where this backend's kernels run best;
    /// `largest` computes the most elements of any value near the graph's root, a hint of
    /// how large the pass's kernels are (a walk of a few dozen nodes, so a backend that
    /// does not need it never calls it). The default runs the pass on the calling thread. A
    /// backend whose large kernels fork onto a thread pool may run it on a pool thread
    /// instead, so that each parallel kernel forks from inside the pool rather than
    /// handing its work over from outside, which costs a wake-up per kernel.
    fn run_backward<R: Send>(
        largest: impl FnOnce() -> usize,
        pass: impl FnOnce() -> R + Send,
    ) -> R {
        drop(largest);
        pass()
    }
}

/// A reduction along axes, applied by [`TensorOps::reduce`]. Exhaustive on purpose: a new
/// reduction must be implemented by every backend, so adding one should not compile
/// until it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceOp {
    /// The sum.
    Sum,
    /// The maximum.
    Max,
    /// The minimum.
    Min,
}

/// The kernels only n-dimensional backends provide.
///
/// `Variable<B>`'s tensor methods (`matmul`, `reshape`, `softmax`, ...) exist only where
/// `B: TensorOps`, so calling them on the scalar backend does not compile. Axes are
/// non-negative and in range, and shapes agree: the core checks before it calls.
pub trait TensorOps: Ops {
    /// The same elements, row-major, in a new shape with as many elements.
    fn reshape(x: &Self::Tensor, shape: &[usize]) -> Self::Tensor;

    /// Reorders the dimensions: result dimension `i` is input dimension `axes[i]`.
    fn permute(x: &Self::Tensor, axes: &[usize]) -> Self::Tensor;

    /// Elements `start .. start + len` along `axis`.
    fn narrow(x: &Self::Tensor, axis: usize, start: usize, len: usize) -> Self::Tensor;

    /// `x` with `before` zeros prepended and `after` zeros appended along `axis` (the
    /// adjoint of [`narrow`](TensorOps::narrow)).
    fn pad(x: &Self::Tensor, axis: usize, before: usize, after: usize) -> Self::Tensor;

    /// Concatenation along `axis` (all other dimensions agree).
    fn cat(xs: &[Self::Tensor], axis: usize) -> Self::Tensor;

    /// Reduces along `axes` (sorted, distinct); with `keepdim` they stay as size 1.
    fn reduce(op: ReduceOp, x: &Self::Tensor, axes: &[usize], keepdim: bool) -> Self::Tensor;

    /// For every position of the other axes (row-major), the index along `axis` of the
    /// maximum (`ReduceOp::Max`) or minimum (`ReduceOp::Min`).
    fn arg_reduce(op: ReduceOp, x: &Self::Tensor, axis: usize) -> Vec<usize>;

    /// Matrix product of the last two dimensions, batch dimensions broadcast:
    /// `[..., m, k] · [..., k, n] → [..., m, n]`. Both operands have rank at least 2.
    fn matmul(a: &Self::Tensor, b: &Self::Tensor) -> Self::Tensor;

    /// Whether the last two dimensions of `x` are stored column-major (as a transposed
    /// view is). A layout hint, never a change of values: matmul's derivative then
    /// computes a gradient as the transpose of a product, so that it comes out in `x`'s own
    /// layout (what PyTorch does), and a weight used as `Wᵀ` gets a row-major gradient.
    fn is_column_major(x: &Self::Tensor) -> bool {
        let _ = x;
        false
    }

    /// The slices `index[i]` of `x` along `axis`, in order (indices in range).
    fn index_select(x: &Self::Tensor, axis: usize, index: &[usize]) -> Self::Tensor;

    /// `x` plus, for each `i`, slice `i` of `src` added into slice `index[i]` along `axis`
    /// (the adjoint of [`index_select`](TensorOps::index_select)).
    fn index_add(
        x: &Self::Tensor,
        axis: usize,
        index: &[usize],
        src: &Self::Tensor,
    ) -> Self::Tensor;

    /// `out[p] = x[p with its axis coordinate replaced by index[p]]`; `index` has `x`'s rank
    /// and the output's shape.
    fn gather(x: &Self::Tensor, axis: usize, index: &Indices) -> Self::Tensor;

    /// `x` plus every `src[p]` added at `p` with its axis coordinate replaced by `index[p]`
    /// (the adjoint of [`gather`](TensorOps::gather)).
    fn scatter_add(
        x: &Self::Tensor,
        axis: usize,
        index: &Indices,
        src: &Self::Tensor,
    ) -> Self::Tensor;

    /// Sliding windows of a batch of images, `[n, c, h, w] → [n, c·kh·kw, L]` with the
    /// `L` window positions row-major (PyTorch's `F.unfold`); zero padding.
    fn unfold2d(x: &Self::Tensor, window: &Window2d) -> Self::Tensor;

    /// Sums windows back into images, `[n, c·kh·kw, L] → [n, c, h, w]` (PyTorch's
    /// `F.fold`, the adjoint of [`unfold2d`](TensorOps::unfold2d)).
    fn fold2d(cols: &Self::Tensor, window: &Window2d) -> Self::Tensor;

    /// For each window of each `[h, w]` plane of `x` (`[n, c, h, w]`, no padding), the
    /// position `y·w + x` of its maximum within the plane (the first, if tied; NaN counts
    /// as the maximum), row-major over `[n, c, out_h, out_w]`. Max pooling gathers these.
    fn max_pool2d_indices(x: &Self::Tensor, window: &Window2d) -> Vec<usize>;

    /// Layer normalisation of each run of `group` consecutive elements (row-major): the
    /// groups are the rows of the normalised trailing dimensions, each becoming
    /// `(x − mean) / √(var + eps) · weight + bias` with the biased variance; `weight` and
    /// `bias`, where given, hold `group` elements. The kernel of
    /// `nn::functional::layer_norm`.
    ///
    /// The default is [`layer_norm_of_slice`] (group by group with [`layer_norm_row`]); a
    /// backend that overrides it must give the same bits (use that function on each group).
    fn layer_norm(
        x: &Self::Tensor,
        weight: Option<&Self::Tensor>,
        bias: Option<&Self::Tensor>,
        group: usize,
        eps: f64,
    ) -> Self::Tensor {
        let (weight, bias) = (weight.map(Self::to_vec), bias.map(Self::to_vec));
        let affine = Affine {
            weight: weight.as_deref(),
            bias: bias.as_deref(),
        };
        let out = layer_norm_of_slice(&Self::to_vec(x), affine, group, eps);
        Self::from_vec(out, Self::shape(x)).expect("the input's own shape")
    }

    /// The gradient with respect to `x` of `Σ g · layer_norm(x, weight, bias)` (`g` of
    /// `x`'s shape), by [`layer_norm_backward_of_slice`] (group by group with
    /// [`layer_norm_backward_row`]): what an unrecorded backward pass of
    /// `nn::functional::layer_norm` computes in one kernel. Overrides give the same bits.
    fn layer_norm_backward(
        x: &Self::Tensor,
        g: &Self::Tensor,
        weight: Option<&Self::Tensor>,
        group: usize,
        eps: f64,
    ) -> Self::Tensor {
        let weight = weight.map(Self::to_vec);
        let (values, grads) = (Self::to_vec(x), Self::to_vec(g));
        let out = layer_norm_backward_of_slice(&values, &grads, weight.as_deref(), group, eps);
        Self::from_vec(out, Self::shape(x)).expect("the input's own shape")
    }

    /// The gradient of `Σ g · layer_norm(x, weight, bias)` with respect to the weight:
    /// `Σ g · ŷ` over the groups, a vector of `group` elements, by
    /// [`layer_norm_weight_grad_of_slice`]: pieces of [`layer_norm_piece_len`] elements
    /// summed by [`layer_norm_weight_grad_piece`], their sums added in order by
    /// [`layer_norm_weight_grad_of_pieces`]. Overrides give the same bits.
    fn layer_norm_weight_grad(
        x: &Self::Tensor,
        g: &Self::Tensor,
        group: usize,
        eps: f64,
    ) -> Self::Tensor {
        let (values, grads) = (Self::to_vec(x), Self::to_vec(g));
        let out = layer_norm_weight_grad_of_slice(&values, &grads, group, eps);
        Self::from_vec(out, &[group]).expect("a vector")
    }
}

/// Integer indices with a shape: class targets, gather indices, embedding lookups.
///
/// Built from data, they are checked when an op uses them: an index outside the indexed
/// dimension is an [`Error::IndexOutOfRange`](crate::Error::IndexOutOfRange).
#[derive(Clone, Debug)]
pub struct Indices {
    // A Vec behind the Arc, not `Arc<[usize]>`: turning a Vec into the latter copies it,
    // and for the max-pool positions of W6 that copy was half the step's page faults.
    data: std::sync::Arc<Vec<usize>>,
    shape: Vec<usize>,
    // An exclusive upper bound on every index, when the op that made them knows one (max
    // pooling's positions lie within a plane): checks against a dimension at least that
    // large then need no scan. W6's 86,528 positions are checked by the gather and again
    // by its backward scatter; the two scans took 3% of the step's time (`perf`, 1 thread).
    bound: Option<usize>,
}

/// Equal when shape and indices are (whatever bound the op that made them knew).
impl PartialEq for Indices {
    fn eq(&self, other: &Self) -> bool {
        self.shape == other.shape && self.data == other.data
    }
}

impl Eq for Indices {}

impl Indices {
    /// Indices of the given shape from row-major data.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`](crate::Error::LengthMismatch) if `data` does not hold the
    /// number of elements of `shape`.
    pub fn new(data: Vec<usize>, shape: &[usize]) -> Result<Self> {
        let expected: usize = shape.iter().product();
        if data.len() != expected {
            return Err(crate::Error::LengthMismatch {
                op: "Indices::new",
                shape: shape.to_vec(),
                expected,
                got: data.len(),
            });
        }
        Ok(Indices {
            data: std::sync::Arc::new(data),
            shape: shape.to_vec(),
            bound: None,
        })
    }

    /// A 1-D list of indices.
    pub fn vector(data: Vec<usize>) -> Self {
        let shape = vec![data.len()];
        Indices {
            data: std::sync::Arc::new(data),
            shape,
            bound: None,
        }
    }

    /// Indices from signed integers (as PyTorch's `int64` tensors hold them).
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`](crate::Error::IndexOutOfRange) for a negative index,
    /// [`Error::LengthMismatch`](crate::Error::LengthMismatch) as [`Indices::new`].
    pub fn from_i64(data: &[i64], shape: &[usize]) -> Result<Self> {
        let converted = data
            .iter()
            .map(|&i| {
                usize::try_from(i).map_err(|_| crate::Error::IndexOutOfRange {
                    op: "Indices::from_i64",
                    index: i,
                    size: 0,
                })
            })
            .collect::<Result<Vec<usize>>>()?;
        Self::new(converted, shape)
    }

    /// The indices, row-major.
    pub fn data(&self) -> &[usize] {
        &self.data
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The number of indices.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The rows `rows` along the first dimension (a shard of a batch's targets), as
    /// `Variable::narrow(0, ..)` takes them from the batch's inputs.
    ///
    /// ```
    /// use ferrograd::Indices;
    ///
    /// let y = Indices::new(vec![3, 1, 4, 1, 5, 9], &[3, 2]).unwrap();
    /// let shard = y.rows(1..3);
    /// assert_eq!(shard.shape(), [2, 2]);
    /// assert_eq!(shard.data(), [4, 1, 5, 9]);
    /// ```
    ///
    /// # Panics
    /// If the indices are rank 0 or the range is not within the first dimension.
    #[track_caller]
    pub fn rows(&self, rows: std::ops::Range<usize>) -> Self {
        let Some(&count) = self.shape.first() else {
            panic!("Indices::rows: rank-0 indices have no rows");
        };
        if rows.start > rows.end || rows.end > count {
            panic!(
                "Indices::rows: rows {rows:?} out of range for shape {:?}",
                self.shape
            );
        }
        let row = self.shape[1..].iter().product::<usize>();
        let mut shape = self.shape.clone();
        shape[0] = rows.len();
        Indices {
            data: std::sync::Arc::new(self.data[rows.start * row..rows.end * row].to_vec()),
            shape,
            bound: self.bound,
        }
    }

    /// The same indices with another shape of as many elements.
    pub(crate) fn with_shape(&self, shape: Vec<usize>) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), self.data.len());
        Indices {
            data: self.data.clone(),
            shape,
            bound: self.bound,
        }
    }

    /// These indices, known by the op that made them to be below `bound`: checks against
    /// a dimension of at least `bound` skip the scan. The indices are still checked in a
    /// debug build.
    pub(crate) fn known_below(mut self, bound: usize) -> Self {
        debug_assert!(self.data.iter().all(|&i| i < bound), "an index ≥ {bound}");
        self.bound = Some(bound);
        self
    }

    /// Checks every index against the size of the dimension it indexes.
    pub(crate) fn check(&self, op: &'static str, size: usize) -> Result<()> {
        if self.bound.is_some_and(|bound| bound <= size) {
            return Ok(());
        }
        match self.data.iter().find(|&&i| i >= size) {
            Some(&i) => Err(crate::Error::IndexOutOfRange {
                op,
                index: i as i64,
                size,
            }),
            None => Ok(()),
        }
    }
}

/// The geometry of a 2-D sliding window over `[n, c, h, w]` images: kernel, stride and
/// zero padding (each as (rows, columns)), and the input's height and width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window2d {
    /// Kernel height and width.
    pub kernel: (usize, usize),
    /// Vertical and horizontal stride.
    pub stride: (usize, usize),
    /// Zero padding added on each side, vertically and horizontally.
    pub padding: (usize, usize),
    /// The input's height and width.
    pub input: (usize, usize),
}

impl Window2d {
    /// The output's height and width: `floor((h + 2p − k) / s) + 1` each.
    pub fn output(&self) -> (usize, usize) {
        let out = |size: usize, k: usize, s: usize, p: usize| (size + 2 * p - k) / s + 1;
        (
            out(self.input.0, self.kernel.0, self.stride.0, self.padding.0),
            out(self.input.1, self.kernel.1, self.stride.1, self.padding.1),
        )
    }

    /// The number of window positions, `out_h · out_w`.
    pub fn positions(&self) -> usize {
        let (h, w) = self.output();
        h * w
    }
}

/// The bound that [`Variable<B>`](crate::Variable) and modules carry: any [`Ops`] backend.
///
/// It exists so that signatures read `B: Backend` and so that requirements shared by all
/// backends have one place to live.
pub trait Backend: Ops {}

impl<B: Ops> Backend for B {}

/// The one shape of [`Ops::zip_map`]'s inputs.
///
/// # Panics
/// If there are no inputs or their shapes differ.
#[track_caller]
pub fn zip_map_shape<'a, B: Ops, const I: usize>(inputs: &[&'a B::Tensor; I]) -> &'a [usize] {
    let Some(first) = inputs.first() else {
        panic!("zip_map: no inputs")
    };
    let shape = B::shape(first);
    for x in inputs {
        let other = B::shape(x);
        assert!(
            other == shape,
            "zip_map: the inputs' shapes {shape:?} and {other:?} differ"
        );
    }
    shape
}

#[cfg(test)]
mod tests {
    use super::Indices;

    #[test]
    fn a_known_bound_skips_only_the_checks_it_covers() {
        let positions = Indices::new(vec![3, 0, 5], &[3]).unwrap().known_below(6);
        assert!(positions.check("gather", 6).is_ok());
        assert!(positions.check("gather", 9).is_ok());
        // A smaller dimension than the bound: the indices are scanned, and 5 is reported.
        let err = positions.check("gather", 4).unwrap_err();
        assert!(matches!(
            err,
            crate::Error::IndexOutOfRange {
                index: 5,
                size: 4,
                ..
            }
        ));
        // The bound is bookkeeping, not part of the value.
        assert_eq!(positions, Indices::new(vec![3, 0, 5], &[3]).unwrap());
    }
}
