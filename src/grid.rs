//! A shaped grid of rank-0 variables: tensor ops written as plain loops of scalar ops.
//!
//! This is the independent oracle for tensor backends. `Grid<B>` holds one rank-0
//! `Variable<B>` per element (use it with the scalar backend), and implements broadcasting,
//! reductions, `matmul`, softmax, cross-entropy, convolution, pooling, layer norm and
//! gathering by looping over elements and calling only the elementwise ops. Gradients
//! computed through a grid therefore never use a tensor backend's vectorised derivative
//! rules (`sum_to`, matmul's transposes, `fold2d`, scatters, ...), so agreement between
//! the two is real evidence; the test suite requires it to 1e-12 in `f64`.
//!
//! ```
//! use ferrograd::grid::Grid;
//! use ferrograd_scalar::Scalar;
//!
//! let a = Grid::<Scalar<f64>>::leaves(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
//! let b = Grid::<Scalar<f64>>::leaves(&[2, 1], &[5.0, 6.0]);
//! let loss = a.matmul(&b).sum(); // 1·5+2·6 + 3·5+4·6
//! loss.backward();
//! assert_eq!(loss.item(), 56.0);
//! assert_eq!(a.cells()[1].grad().unwrap().item(), 6.0); // ∂/∂a01 = b10
//! ```
//!
//! It is slow (a graph node per multiply-add) and meant for tests, small examples and
//! teaching.

use crate::backend::{Backend, Indices};
use crate::shape::{broadcast_shapes, numel};
use crate::variable::Variable;

/// An n-dimensional array of rank-0 variables, row-major.
#[derive(Clone, Debug)]
pub struct Grid<B: Backend> {
    shape: Vec<usize>,
    cells: Vec<Variable<B>>,
}

impl<B: Backend> Grid<B> {
    /// A grid of the given shape from its cells, row-major.
    ///
    /// # Panics
    /// If the number of cells does not match the shape.
    #[track_caller]
    pub fn new(shape: &[usize], cells: Vec<Variable<B>>) -> Self {
        assert_eq!(
            numel(shape),
            cells.len(),
            "Grid::new: {} cells for shape {shape:?}",
            cells.len()
        );
        Grid {
            shape: shape.to_vec(),
            cells,
        }
    }

    /// A grid of constants.
    pub fn constants(shape: &[usize], values: &[f64]) -> Self {
        Self::new(
            shape,
            values
                .iter()
                .map(|&v| Variable::scalar(Variable::<B>::elem(v)))
                .collect(),
        )
    }

    /// A grid of leaves that require gradients.
    pub fn leaves(shape: &[usize], values: &[f64]) -> Self {
        Self::new(
            shape,
            values
                .iter()
                .map(|&v| Variable::scalar(Variable::<B>::elem(v)).requires_grad())
                .collect(),
        )
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The cells, row-major.
    pub fn cells(&self) -> &[Variable<B>] {
        &self.cells
    }

    /// The gradient of each cell (0 where there is none), row-major.
    pub fn grads(&self) -> Vec<f64> {
        self.cells
            .iter()
            .map(|c| c.grad().map_or(0.0, |g| crate::Element::as_f64(g.item())))
            .collect()
    }

    /// `f` applied to every cell.
    pub fn map(&self, f: impl Fn(&Variable<B>) -> Variable<B>) -> Self {
        Self::new(&self.shape, self.cells.iter().map(f).collect())
    }

    /// `f` applied to pairs of cells, with broadcasting.
    ///
    /// # Panics
    /// If the shapes do not broadcast.
    #[track_caller]
    pub fn zip(&self, other: &Self, f: impl Fn(&Variable<B>, &Variable<B>) -> Variable<B>) -> Self {
        let shape = broadcast_shapes(&self.shape, &other.shape).unwrap_or_else(|| {
            panic!(
                "Grid::zip: {:?} and {:?} do not broadcast",
                self.shape, other.shape
            )
        });
        let cells = (0..numel(&shape))
            .map(|i| {
                let coord = coords(i, &shape);
                f(self.at_broadcast(&coord), other.at_broadcast(&coord))
            })
            .collect();
        Self::new(&shape, cells)
    }

    /// The cell at `coord`, with this grid broadcast to `coord`'s rank.
    fn at_broadcast(&self, coord: &[usize]) -> &Variable<B> {
        let lead = coord.len() - self.shape.len();
        let mut flat = 0;
        for (d, &size) in self.shape.iter().enumerate() {
            let c = if size == 1 { 0 } else { coord[lead + d] };
            flat = flat * size + c;
        }
        &self.cells[flat]
    }

    /// The cell at `coord`.
    pub fn at(&self, coord: &[usize]) -> &Variable<B> {
        &self.cells[flat_index(coord, &self.shape)]
    }

    /// The sum of all cells, in row-major order.
    pub fn sum(&self) -> Variable<B> {
        self.cells.iter().cloned().sum()
    }

    /// `Σ self · weights` over all cells (equal shapes): how tests weight an output by a
    /// random upstream gradient.
    pub fn dot(&self, weights: &[f64]) -> Variable<B> {
        assert_eq!(weights.len(), self.cells.len(), "Grid::dot: length");
        self.cells.iter().zip(weights).map(|(c, &w)| c * w).sum()
    }

    /// The same cells in a new shape.
    pub fn reshape(&self, shape: &[usize]) -> Self {
        Self::new(shape, self.cells.clone())
    }

    /// Dimensions reordered: result dimension `i` is dimension `axes[i]`.
    pub fn permute(&self, axes: &[usize]) -> Self {
        let shape: Vec<usize> = axes.iter().map(|&a| self.shape[a]).collect();
        let cells = (0..numel(&shape))
            .map(|i| {
                let c = coords(i, &shape);
                let mut src = vec![0; c.len()];
                for (k, &a) in axes.iter().enumerate() {
                    src[a] = c[k];
                }
                self.at(&src).clone()
            })
            .collect();
        Self::new(&shape, cells)
    }

    /// Reduces `dims` with `f` over the lists of cells along them (row-major order).
    fn reduce_with(
        &self,
        dims: &[usize],
        keepdim: bool,
        f: impl Fn(&[Variable<B>]) -> Variable<B>,
    ) -> Self {
        let kept_shape: Vec<usize> = self
            .shape
            .iter()
            .enumerate()
            .map(|(i, &d)| if dims.contains(&i) { 1 } else { d })
            .collect();
        let reduced_shape: Vec<usize> = dims.iter().map(|&d| self.shape[d]).collect();
        let cells = (0..numel(&kept_shape))
            .map(|i| {
                let base = coords(i, &kept_shape);
                let group: Vec<Variable<B>> = (0..numel(&reduced_shape))
                    .map(|j| {
                        let r = coords(j, &reduced_shape);
                        let mut c = base.clone();
                        for (k, &d) in dims.iter().enumerate() {
                            c[d] = r[k];
                        }
                        self.at(&c).clone()
                    })
                    .collect();
                f(&group)
            })
            .collect();
        let out = Self::new(&kept_shape, cells);
        if keepdim {
            out
        } else {
            let shape: Vec<usize> = self
                .shape
                .iter()
                .enumerate()
                .filter(|(i, _)| !dims.contains(i))
                .map(|(_, &d)| d)
                .collect();
            out.reshape(&shape)
        }
    }

    /// Sums along `dims` (sorted, distinct).
    pub fn sum_dims(&self, dims: &[usize], keepdim: bool) -> Self {
        self.reduce_with(dims, keepdim, |g| g.iter().cloned().sum())
    }

    /// Means along `dims`.
    pub fn mean_dims(&self, dims: &[usize], keepdim: bool) -> Self {
        self.reduce_with(dims, keepdim, |g| {
            g.iter().cloned().sum::<Variable<B>>() / g.len() as f64
        })
    }

    /// The maximum along `dim`: the largest cell itself, so its gradient goes to it alone.
    pub fn max_dim(&self, dim: usize, keepdim: bool) -> Self {
        self.reduce_with(&[dim], keepdim, |g| pick(g, |a, b| a > b))
    }

    /// The minimum along `dim`.
    pub fn min_dim(&self, dim: usize, keepdim: bool) -> Self {
        self.reduce_with(&[dim], keepdim, |g| pick(g, |a, b| a < b))
    }

    /// `log Σ exp` along `dim`, shifted by the (constant) maximum.
    pub fn logsumexp(&self, dim: usize, keepdim: bool) -> Self {
        self.reduce_with(&[dim], keepdim, |g| {
            let m = pick(g, |a, b| a > b).detach();
            g.iter().map(|x| (x - &m).exp()).sum::<Variable<B>>().log() + m
        })
    }

    /// The variance along `dims`, dividing by `n − correction`.
    pub fn var(&self, dims: &[usize], correction: usize, keepdim: bool) -> Self {
        self.reduce_with(dims, keepdim, |g| {
            let mean = g.iter().cloned().sum::<Variable<B>>() / g.len() as f64;
            let ss: Variable<B> = g.iter().map(|x| (x - &mean).square()).sum();
            ss / (g.len() as f64 - correction as f64)
        })
    }

    /// `log_softmax` along `dim`.
    pub fn log_softmax(&self, dim: usize) -> Self {
        let lse = self.logsumexp(dim, true);
        self.zip(&lse, |x, l| x - l)
    }

    /// `softmax` along `dim`.
    pub fn softmax(&self, dim: usize) -> Self {
        self.log_softmax(dim).map(Variable::exp)
    }

    /// The matrix product of the last two dimensions, batch dimensions broadcast (both
    /// operands of rank ≥ 2): each output cell a row-major loop of multiply-adds.
    ///
    /// # Panics
    /// If the inner dimensions differ or the batches do not broadcast.
    #[track_caller]
    pub fn matmul(&self, other: &Self) -> Self {
        let (sa, sb) = (&self.shape, &other.shape);
        let (m, k, n) = (sa[sa.len() - 2], sa[sa.len() - 1], sb[sb.len() - 1]);
        assert_eq!(k, sb[sb.len() - 2], "Grid::matmul: inner dimensions differ");
        let batch =
            broadcast_shapes(&sa[..sa.len() - 2], &sb[..sb.len() - 2]).expect("batches broadcast");
        let mut shape = batch.clone();
        shape.extend_from_slice(&[m, n]);
        let cells = (0..numel(&shape))
            .map(|i| {
                let c = coords(i, &shape);
                let (bc, (r, col)) = (&c[..c.len() - 2], (c[c.len() - 2], c[c.len() - 1]));
                (0..k)
                    .map(|j| {
                        let mut ca = bc.to_vec();
                        ca.extend_from_slice(&[r, j]);
                        let mut cb = bc.to_vec();
                        cb.extend_from_slice(&[j, col]);
                        self.at_broadcast(&ca) * other.at_broadcast(&cb)
                    })
                    .sum()
            })
            .collect();
        Self::new(&shape, cells)
    }

    /// The slices `index[i]` along `dim`.
    pub fn index_select(&self, dim: usize, index: &[usize]) -> Self {
        let mut shape = self.shape.clone();
        shape[dim] = index.len();
        let cells = (0..numel(&shape))
            .map(|i| {
                let mut c = coords(i, &shape);
                c[dim] = index[c[dim]];
                self.at(&c).clone()
            })
            .collect();
        Self::new(&shape, cells)
    }

    /// `out[p] = self[p with its dim coordinate replaced by index[p]]`.
    pub fn gather(&self, dim: usize, index: &Indices) -> Self {
        let cells = (0..index.len())
            .map(|i| {
                let mut c = coords(i, index.shape());
                c[dim] = index.data()[i];
                self.at(&c).clone()
            })
            .collect();
        Self::new(index.shape(), cells)
    }

    /// Mean softmax cross-entropy of logits `[n, c]` against class `targets`, with label
    /// smoothing.
    pub fn cross_entropy(&self, targets: &[usize], label_smoothing: f64) -> Variable<B> {
        let (n, c) = (self.shape[0], self.shape[1]);
        let logp = self.log_softmax(1);
        let rows: Variable<B> = (0..n)
            .map(|i| {
                let nll = -logp.at(&[i, targets[i]]);
                let uniform = -(0..c)
                    .map(|j| logp.at(&[i, j]).clone())
                    .sum::<Variable<B>>()
                    / c as f64;
                nll * (1.0 - label_smoothing) + uniform * label_smoothing
            })
            .sum();
        rows / n as f64
    }

    /// Layer normalisation over the last `k` dimensions, with optional weight and bias of
    /// those dimensions' shape.
    pub fn layer_norm(
        &self,
        k: usize,
        weight: Option<&Self>,
        bias: Option<&Self>,
        eps: f64,
    ) -> Self {
        let rank = self.shape.len();
        let dims: Vec<usize> = (rank - k..rank).collect();
        let mean = self.mean_dims(&dims, true);
        let centered = self.zip(&mean, |x, m| x - m);
        let var = centered.map(Variable::square).mean_dims(&dims, true);
        let mut y = centered.zip(&var, |c, v| c / (v + eps).sqrt());
        if let Some(w) = weight {
            y = y.zip(w, |a, b| a * b);
        }
        if let Some(b) = bias {
            y = y.zip(b, |a, b| a + b);
        }
        y
    }

    /// 2-D cross-correlation of `[n, c, h, w]` with `[o, c, kh, kw]`, optional bias `[o]`.
    pub fn conv2d(
        &self,
        weight: &Self,
        bias: Option<&Self>,
        stride: usize,
        padding: usize,
    ) -> Self {
        let (n, c, h, w) = (self.shape[0], self.shape[1], self.shape[2], self.shape[3]);
        let (o, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3]);
        let (oh, ow) = (
            (h + 2 * padding - kh) / stride + 1,
            (w + 2 * padding - kw) / stride + 1,
        );
        let shape = [n, o, oh, ow];
        let cells = (0..numel(&shape))
            .map(|i| {
                let p = coords(i, &shape);
                let mut terms = Vec::new();
                for ci in 0..c {
                    for ki in 0..kh {
                        for kj in 0..kw {
                            let y = (p[2] * stride + ki) as isize - padding as isize;
                            let x = (p[3] * stride + kj) as isize - padding as isize;
                            if y >= 0 && x >= 0 && (y as usize) < h && (x as usize) < w {
                                let pixel = self.at(&[p[0], ci, y as usize, x as usize]);
                                terms.push(pixel * weight.at(&[p[1], ci, ki, kj]));
                            }
                        }
                    }
                }
                let mut acc: Variable<B> = terms.into_iter().sum();
                if let Some(b) = bias {
                    acc += b.at(&[p[1]]);
                }
                acc
            })
            .collect();
        Self::new(&shape, cells)
    }

    /// Max pooling over `[n, c, h, w]` (no padding).
    pub fn max_pool2d(&self, k: usize, stride: usize) -> Self {
        self.pool(k, stride, |window| pick(window, |a, b| a > b))
    }

    /// Average pooling over `[n, c, h, w]` (no padding).
    pub fn avg_pool2d(&self, k: usize, stride: usize) -> Self {
        self.pool(k, stride, |window| {
            window.iter().cloned().sum::<Variable<B>>() / window.len() as f64
        })
    }

    fn pool(&self, k: usize, stride: usize, f: impl Fn(&[Variable<B>]) -> Variable<B>) -> Self {
        let (n, c, h, w) = (self.shape[0], self.shape[1], self.shape[2], self.shape[3]);
        let shape = [n, c, (h - k) / stride + 1, (w - k) / stride + 1];
        let cells = (0..numel(&shape))
            .map(|i| {
                let p = coords(i, &shape);
                let window: Vec<Variable<B>> = (0..k * k)
                    .map(|j| {
                        self.at(&[p[0], p[1], p[2] * stride + j / k, p[3] * stride + j % k])
                            .clone()
                    })
                    .collect();
                f(&window)
            })
            .collect();
        Self::new(&shape, cells)
    }
}

/// The cell whose value wins `better` (the first on ties).
fn pick<B: Backend>(cells: &[Variable<B>], better: impl Fn(f64, f64) -> bool) -> Variable<B> {
    let value = |v: &Variable<B>| crate::Element::as_f64(v.item());
    let mut best = &cells[0];
    for c in &cells[1..] {
        if better(value(c), value(best)) {
            best = c;
        }
    }
    best.clone()
}

/// Row-major coordinates of flat index `i`.
fn coords(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut c = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        c[d] = i % shape[d].max(1);
        i /= shape[d].max(1);
    }
    c
}

fn flat_index(coord: &[usize], shape: &[usize]) -> usize {
    coord.iter().zip(shape).fold(0, |acc, (&c, &s)| acc * s + c)
}
