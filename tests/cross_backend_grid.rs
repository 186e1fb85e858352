//! The independent oracle: every tensor op's gradients on `NdArray<f64>` equal those of the
//! same computation done cell by cell on a `Grid` of `Scalar<f64>` variables, which uses
//! only the scalar derivative rules, to 1e-12 with random inputs and random upstream
//! gradients, for several shapes each.

mod common;

use ferrograd::grid::Grid;
use ferrograd::nn::functional as f;
use ferrograd::nn::functional::Reduction;
use ferrograd::random::Rng;
use ferrograd::{autograd, Indices, Variable};
use ferrograd_ndarray::NdArray;
use ferrograd_scalar::Scalar;

type T = Variable<NdArray<f64>>;
type G = Grid<Scalar<f64>>;
type Op<X> = dyn Fn(&[X]) -> X;

struct Pair {
    name: &'static str,
    shapes: Vec<Vec<usize>>,
    tensor: Box<Op<T>>,
    grid: Box<Op<G>>,
    positive: bool,
}

fn pair(
    name: &'static str,
    shapes: &[&[usize]],
    tensor: impl Fn(&[T]) -> T + 'static,
    grid: impl Fn(&[G]) -> G + 'static,
) -> Pair {
    Pair {
        name,
        shapes: shapes.iter().map(|s| s.to_vec()).collect(),
        tensor: Box::new(tensor),
        grid: Box::new(grid),
        positive: false,
    }
}

fn positive(mut p: Pair) -> Pair {
    p.positive = true;
    p
}

/// A rank-0 grid holding one variable (for losses).
fn single(v: Variable<Scalar<f64>>) -> G {
    Grid::new(&[], vec![v])
}

fn pairs() -> Vec<Pair> {
    let mut out = Vec::new();
    // Broadcasting binary ops, over several broadcast patterns.
    let patterns: [(&[usize], &[usize]); 5] = [
        (&[3, 4], &[3, 4]),
        (&[3, 4], &[4]),
        (&[3, 1], &[1, 4]),
        (&[2, 3, 4], &[3, 1]),
        (&[], &[2, 3]),
    ];
    for (a, b) in patterns {
        out.push(pair(
            "add",
            &[a, b],
            |x| &x[0] + &x[1],
            |x| x[0].zip(&x[1], |a, b| a + b),
        ));
        out.push(pair(
            "sub",
            &[a, b],
            |x| &x[0] - &x[1],
            |x| x[0].zip(&x[1], |a, b| a - b),
        ));
        out.push(pair(
            "mul",
            &[a, b],
            |x| &x[0] * &x[1],
            |x| x[0].zip(&x[1], |a, b| a * b),
        ));
        out.push(positive(pair(
            "div",
            &[a, b],
            |x| &x[0] / &x[1],
            |x| x[0].zip(&x[1], |a, b| a / b),
        )));
        out.push(positive(pair(
            "pow",
            &[a, b],
            |x| x[0].pow(&x[1]),
            |x| x[0].zip(&x[1], |a, b| a.pow(b)),
        )));
        out.push(pair(
            "maximum",
            &[a, b],
            |x| x[0].maximum(&x[1]),
            |x| x[0].zip(&x[1], |a, b| a.maximum(b)),
        ));
        out.push(pair(
            "minimum",
            &[a, b],
            |x| x[0].minimum(&x[1]),
            |x| x[0].zip(&x[1], |a, b| a.minimum(b)),
        ));
    }
    // Elementwise maps on a tensor.
    out.push(pair(
        "tanh",
        &[&[3, 5]],
        |x| x[0].tanh(),
        |x| x[0].map(|v| v.tanh()),
    ));
    out.push(pair(
        "gelu",
        &[&[3, 5]],
        |x| x[0].gelu(),
        |x| x[0].map(|v| v.gelu()),
    ));
    // Reductions along dimensions.
    for (shape, dims) in [
        (&[2, 3, 4][..], &[1usize][..]),
        (&[2, 3, 4], &[0, 2]),
        (&[5, 3], &[0, 1]),
    ] {
        let d: Vec<isize> = dims.iter().map(|&d| d as isize).collect();
        let (d1, d2, d3) = (d.clone(), d.clone(), d.clone());
        let (g1, g2, g3) = (dims.to_vec(), dims.to_vec(), dims.to_vec());
        out.push(pair(
            "sum_dims",
            &[shape],
            move |x| x[0].sum_dims(&d1, false),
            move |x| x[0].sum_dims(&g1, false),
        ));
        out.push(pair(
            "mean_dims",
            &[shape],
            move |x| x[0].mean_dims(&d2, true),
            move |x| x[0].mean_dims(&g2, true),
        ));
        out.push(pair(
            "var",
            &[shape],
            move |x| x[0].var(&d3, 1, false),
            move |x| x[0].var(&g3, 1, false),
        ));
    }
    for (shape, dim) in [(&[3, 5][..], 1usize), (&[2, 3, 4], 0), (&[2, 3, 4], 2)] {
        let d = dim as isize;
        out.push(pair(
            "max_dim",
            &[shape],
            move |x| x[0].max_dim(d, false),
            move |x| x[0].max_dim(dim, false),
        ));
        out.push(pair(
            "min_dim",
            &[shape],
            move |x| x[0].min_dim(d, true),
            move |x| x[0].min_dim(dim, true),
        ));
        out.push(pair(
            "logsumexp",
            &[shape],
            move |x| x[0].logsumexp(d, false),
            move |x| x[0].logsumexp(dim, false),
        ));
        out.push(pair(
            "softmax",
            &[shape],
            move |x| x[0].softmax(d),
            move |x| x[0].softmax(dim),
        ));
        out.push(pair(
            "log_softmax",
            &[shape],
            move |x| x[0].log_softmax(d),
            move |x| x[0].log_softmax(dim),
        ));
    }
    // Matrix products: plain, batched, broadcast batch.
    for (a, b) in [
        (&[3, 4][..], &[4, 5][..]),
        (&[2, 3, 4], &[2, 4, 2]),
        (&[2, 3, 4], &[4, 2]),
        (&[3, 4], &[2, 4, 5]),
        (&[2, 1, 3, 4], &[3, 4, 2]),
    ] {
        out.push(pair(
            "matmul",
            &[a, b],
            |x| x[0].matmul(&x[1]),
            |x| x[0].matmul(&x[1]),
        ));
    }
    // Cross-entropy, with and without label smoothing.
    for smoothing in [0.0, 0.2] {
        out.push(pair(
            "cross_entropy",
            &[&[4, 5]],
            move |x| {
                f::cross_entropy(
                    &x[0],
                    &Indices::vector(vec![1, 0, 4, 1]),
                    smoothing,
                    Reduction::Mean,
                )
                .unwrap()
            },
            move |x| single(x[0].cross_entropy(&[1, 0, 4, 1], smoothing)),
        ));
    }
    // Convolution: stride and padding.
    for (stride, padding) in [(1, 0), (2, 1), (1, 2)] {
        out.push(pair(
            "conv2d",
            &[&[2, 2, 5, 5], &[3, 2, 3, 3], &[3]],
            move |x| f::conv2d(&x[0], &x[1], Some(&x[2]), stride, padding),
            move |x| x[0].conv2d(&x[1], Some(&x[2]), stride, padding),
        ));
    }
    // Pooling, including overlapping windows.
    for (k, s) in [(2, 2), (3, 2), (2, 1)] {
        out.push(pair(
            "max_pool2d",
            &[&[2, 3, 5, 5]],
            move |x| f::max_pool2d(&x[0], k, s),
            move |x| x[0].max_pool2d(k, s),
        ));
        out.push(pair(
            "avg_pool2d",
            &[&[2, 3, 5, 5]],
            move |x| f::avg_pool2d(&x[0], k, s),
            move |x| x[0].avg_pool2d(k, s),
        ));
    }
    // Layer norm over one and two trailing dimensions.
    out.push(pair(
        "layer_norm",
        &[&[4, 6], &[6], &[6]],
        |x| f::layer_norm(&x[0], &[6], Some(&x[1]), Some(&x[2]), 1e-5),
        |x| x[0].layer_norm(1, Some(&x[1]), Some(&x[2]), 1e-5),
    ));
    out.push(pair(
        "layer_norm",
        &[&[2, 3, 4], &[3, 4], &[3, 4]],
        |x| f::layer_norm(&x[0], &[3, 4], Some(&x[1]), Some(&x[2]), 1e-5),
        |x| x[0].layer_norm(2, Some(&x[1]), Some(&x[2]), 1e-5),
    ));
    // Gathering, with repeated indices.
    out.push(pair(
        "index_select",
        &[&[5, 3]],
        |x| {
            x[0].index_select(0, &Indices::vector(vec![4, 0, 4, 2]))
                .unwrap()
        },
        |x| x[0].index_select(0, &[4, 0, 4, 2]),
    ));
    out.push(pair(
        "index_select",
        &[&[3, 5]],
        |x| {
            x[0].index_select(1, &Indices::vector(vec![1, 1, 3]))
                .unwrap()
        },
        |x| x[0].index_select(1, &[1, 1, 3]),
    ));
    let gather_index = Indices::new(vec![0, 3, 3, 1, 2, 2, 0, 1, 0], &[3, 3]).unwrap();
    let gi = gather_index.clone();
    out.push(pair(
        "gather",
        &[&[3, 4]],
        move |x| x[0].gather(1, &gather_index).unwrap(),
        move |x| x[0].gather(1, &gi),
    ));
    out
}

fn random(shape: &[usize], positive: bool, rng: &mut Rng) -> Vec<f64> {
    let n: usize = shape.iter().product();
    (0..n)
        .map(|_| {
            if positive {
                rng.uniform_in(0.5, 2.5)
            } else {
                rng.uniform_in(-2.0, 2.0)
            }
        })
        .collect()
}

#[track_caller]
fn assert_same(what: &str, tensor: &[f64], grid: &[f64]) {
    assert_eq!(tensor.len(), grid.len(), "{what}: lengths");
    for (i, (&a, &b)) in tensor.iter().zip(grid).enumerate() {
        assert!(
            (a - b).abs() <= 1e-12 * b.abs().max(1.0),
            "{what}[{i}]: tensor backend {a:e}, grid {b:e}"
        );
    }
}

#[test]
fn tensor_gradients_equal_scalar_grid_gradients() {
    let mut rng = Rng::new(20261127);
    let pairs = pairs();
    for p in &pairs {
        let values: Vec<Vec<f64>> = p
            .shapes
            .iter()
            .map(|s| random(s, p.positive, &mut rng))
            .collect();
        let what = format!("{} {:?}", p.name, p.shapes);

        let tensors: Vec<T> = values
            .iter()
            .zip(&p.shapes)
            .map(|(v, s)| T::from_vec(v.clone(), s).unwrap().requires_grad())
            .collect();
        let out = (p.tensor)(&tensors);
        let upstream_values = random(&out.shape(), false, &mut rng);
        let upstream = T::from_vec(upstream_values.clone(), &out.shape()).unwrap();
        let refs: Vec<&T> = tensors.iter().collect();
        let grads = autograd::grad(&out, &refs, Some(&upstream), false);

        let grids: Vec<G> = values
            .iter()
            .zip(&p.shapes)
            .map(|(v, s)| Grid::leaves(s, v))
            .collect();
        let grid_out = (p.grid)(&grids);
        assert_eq!(
            grid_out.shape(),
            out.shape().as_slice(),
            "{what}: output shape"
        );
        let grid_values: Vec<f64> = grid_out.cells().iter().map(|c| c.item()).collect();
        assert_same(&format!("{what} output"), &out.to_vec(), &grid_values);
        grid_out.dot(&upstream_values).backward();

        for (i, (g, grid)) in grads.iter().zip(&grids).enumerate() {
            assert_same(&format!("{what} grad {i}"), &g.to_vec(), &grid.grads());
        }
    }
    assert!(pairs.len() > 60, "the suite covers {} cases", pairs.len());
}

/// Every scalar.json case on rank-0 `NdArray` values agrees with the scalar backend (both
/// also match PyTorch, in tests/reference_*.rs).
#[test]
fn rank0_ndarray_agrees_with_scalar() {
    let cases = common::load("scalar.json");
    for case in &cases {
        let run = |case: &common::Case| -> (Vec<f64>, Vec<f64>) {
            let xs: Vec<Variable<Scalar<f64>>> = case
                .inputs
                .iter()
                .map(|t| t.variable().requires_grad())
                .collect();
            let y = common::elementwise::apply(case, &xs).unwrap();
            let refs: Vec<&Variable<Scalar<f64>>> = xs.iter().collect();
            let g = autograd::grad(&y, &refs, None, false);
            (vec![y.item()], g.iter().map(|g| g.item()).collect())
        };
        let run_nd = |case: &common::Case| -> (Vec<f64>, Vec<f64>) {
            let xs: Vec<T> = case
                .inputs
                .iter()
                .map(|t| t.variable().requires_grad())
                .collect();
            let y = common::elementwise::apply(case, &xs).unwrap();
            let refs: Vec<&T> = xs.iter().collect();
            let g = autograd::grad(&y, &refs, None, false);
            (vec![y.item()], g.iter().map(|g| g.item()).collect())
        };
        let (ys, gs) = run(case);
        let (yn, gn) = run_nd(case);
        assert_same(&format!("{} output", case.name), &yn, &ys);
        assert_same(&format!("{} grads", case.name), &gn, &gs);
    }
    assert_eq!(cases.len(), 56);
}
