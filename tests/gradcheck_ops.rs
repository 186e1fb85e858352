//! Finite-difference gradient checks for every differentiable op, first and second order,
//! and the guard that no exported op goes without one.

use ferrograd::gradcheck::{gradcheck, gradgradcheck, GradcheckError};
use ferrograd::ops::DIFFERENTIABLE_OPS;
use ferrograd::random::Rng;
use ferrograd::{Backend, Indices, Variable};
use ferrograd_ndarray::NdArray;
use ferrograd_scalar::Scalar;
use std::collections::BTreeSet;

type Op<B> = fn(&[Variable<B>]) -> Variable<B>;

/// An op to check: its name, the function, and points (one value per input) where it is
/// smooth, away from kinks such as relu's 0.
struct Check<B: Backend> {
    name: &'static str,
    f: Op<B>,
    points: &'static [&'static [f64]],
    /// Whether the op is smooth enough at `points` for a second-order check.
    smooth: bool,
}

/// The elementwise ops, which every backend has.
fn elementwise_checks<B: Backend<Elem = f64>>() -> Vec<Check<B>> {
    const BINARY: &[&[f64]] = &[&[0.7, -1.3], &[-2.1, 0.4], &[1.5, 2.5]];
    const POSITIVE: &[&[f64]] = &[&[0.3], &[1.7], &[4.2]];
    const ANY: &[&[f64]] = &[&[-1.4], &[0.2], &[2.3]];
    const AWAY_FROM_ZERO: &[&[f64]] = &[&[-1.4], &[0.6], &[2.3]];
    fn c<B: Backend>(
        name: &'static str,
        f: Op<B>,
        points: &'static [&'static [f64]],
        smooth: bool,
    ) -> Check<B> {
        Check {
            name,
            f,
            points,
            smooth,
        }
    }
    vec![
        c("add", |x| &x[0] + &x[1], BINARY, true),
        c("sub", |x| &x[0] - &x[1], BINARY, true),
        c("mul", |x| &x[0] * &x[1], BINARY, true),
        c("div", |x| &x[0] / &x[1], BINARY, true),
        c(
            "pow",
            |x| x[0].pow(&x[1]),
            &[&[0.7, -1.3], &[2.1, 0.4], &[1.5, 2.5]],
            true,
        ),
        c("maximum", |x| x[0].maximum(&x[1]), BINARY, true),
        c("minimum", |x| x[0].minimum(&x[1]), BINARY, true),
        c("neg", |x| -&x[0], ANY, true),
        c("exp", |x| x[0].exp(), ANY, true),
        c("log", |x| x[0].log(), POSITIVE, true),
        c("sqrt", |x| x[0].sqrt(), POSITIVE, true),
        c("sin", |x| x[0].sin(), ANY, true),
        c("cos", |x| x[0].cos(), ANY, true),
        c("tanh", |x| x[0].tanh(), ANY, true),
        c("sigmoid", |x| x[0].sigmoid(), ANY, true),
        c("abs", |x| x[0].abs(), AWAY_FROM_ZERO, true),
        c("square", |x| x[0].square(), ANY, true),
        c("reciprocal", |x| x[0].reciprocal(), AWAY_FROM_ZERO, true),
        c("erf", |x| x[0].erf(), ANY, true),
        c("softplus", |x| x[0].softplus(), ANY, true),
        c("powf", |x| x[0].powf(2.5), POSITIVE, true),
        c("relu", |x| x[0].relu(), AWAY_FROM_ZERO, true),
        c("leaky_relu", |x| x[0].leaky_relu(0.1), AWAY_FROM_ZERO, true),
        c("elu", |x| x[0].elu(0.7), AWAY_FROM_ZERO, true),
        c(
            "clamp",
            |x| x[0].clamp(-1.0, 1.0),
            &[&[-1.4], &[0.2], &[0.9], &[2.3]],
            true,
        ),
        c("gelu", |x| x[0].gelu(), ANY, true),
        c("gelu_tanh", |x| x[0].gelu_tanh(), ANY, true),
        c("expand", |x| x[0].expand(&[]), ANY, true),
        c("sum_to", |x| x[0].sum_to(&[]), ANY, true),
        c("sum", |x| x[0].sum(), ANY, true),
        c("mean", |x| x[0].mean(), ANY, true),
    ]
}

fn run_checks<B: Backend<Elem = f64>>(checks: &[Check<B>], make: impl Fn(f64) -> Variable<B>) {
    for check in checks {
        for point in check.points {
            let inputs: Vec<Variable<B>> = point.iter().map(|&v| make(v)).collect();
            if let Err(e) = gradcheck(check.f, &inputs) {
                panic!("{} at {point:?}: {e}", check.name);
            }
            if check.smooth {
                if let Err(e) = gradgradcheck(check.f, &inputs) {
                    panic!("{} at {point:?}, second order: {e}", check.name);
                }
            }
        }
    }
}

#[test]
fn elementwise_ops_on_scalar() {
    run_checks::<Scalar<f64>>(&elementwise_checks(), Variable::scalar);
}

#[test]
fn elementwise_ops_on_ndarray_rank0() {
    run_checks::<NdArray<f64>>(&elementwise_checks(), Variable::scalar);
}

/// A tensor op to check: its name, the function, and its inputs' shapes. Inputs are drawn
/// from a seeded generator; ops with kinks get values far from them (`positive`) or ties
/// are avoided by the draw.
struct TensorCheck {
    name: &'static str,
    f: TensorFn,
    shapes: Vec<Vec<usize>>,
    positive: bool,
}

type T = Variable<NdArray<f64>>;
type TensorFn = Box<dyn Fn(&[T]) -> T>;

fn tc(name: &'static str, shapes: &[&[usize]], f: impl Fn(&[T]) -> T + 'static) -> TensorCheck {
    TensorCheck {
        name,
        f: Box::new(f),
        shapes: shapes.iter().map(|s| s.to_vec()).collect(),
        positive: false,
    }
}

impl TensorCheck {
    fn positive(mut self) -> Self {
        self.positive = true;
        self
    }
}

fn idx(data: &[usize], shape: &[usize]) -> Indices {
    Indices::new(data.to_vec(), shape).unwrap()
}

fn tensor_checks() -> Vec<TensorCheck> {
    use ferrograd::nn::functional as f;
    use ferrograd::nn::functional::Reduction;
    vec![
        // elementwise ops broadcasting between tensors
        tc("add", &[&[3, 4], &[4]], |x| &x[0] + &x[1]),
        tc("sub", &[&[3, 1], &[1, 4]], |x| &x[0] - &x[1]),
        tc("mul", &[&[2, 3, 4], &[3, 1]], |x| &x[0] * &x[1]),
        tc("div", &[&[3, 4], &[]], |x| &x[0] / &x[1]).positive(),
        tc("pow", &[&[3, 4], &[4]], |x| x[0].pow(&x[1])).positive(),
        tc("maximum", &[&[3, 4], &[3, 1]], |x| x[0].maximum(&x[1])),
        tc("minimum", &[&[3, 4], &[4]], |x| x[0].minimum(&x[1])),
        tc("expand", &[&[3, 1]], |x| x[0].expand(&[2, 3, 4])),
        tc("sum_to", &[&[2, 3, 4]], |x| x[0].sum_to(&[3, 1])),
        tc("sum", &[&[3, 4]], |x| x[0].sum()),
        tc("mean", &[&[3, 4]], |x| x[0].mean()),
        // shape
        tc("reshape", &[&[2, 3, 4]], |x| {
            x[0].reshape(&[4, -1]).square()
        }),
        tc("permute", &[&[2, 3, 4]], |x| x[0].permute(&[2, 0, 1]).exp()),
        tc("transpose", &[&[3, 4]], |x| {
            x[0].transpose(0, 1).matmul(&x[0])
        }),
        tc("unsqueeze", &[&[3, 4]], |x| x[0].unsqueeze(1).tanh()),
        tc("squeeze", &[&[3, 1, 4]], |x| x[0].squeeze(1).tanh()),
        tc("flatten", &[&[2, 3, 4]], |x| x[0].flatten(1, 2).sin()),
        tc("narrow", &[&[5, 3]], |x| x[0].narrow(0, 1, 3).square()),
        tc("pad_dim", &[&[2, 3]], |x| x[0].pad_dim(1, 2, 1).exp()),
        tc("cat", &[&[2, 3], &[4, 3]], |x| {
            Variable::cat(&[&x[0], &x[1]], 0).square()
        }),
        tc("stack", &[&[3, 4], &[3, 4]], |x| {
            Variable::stack(&[&x[0], &x[1]], 1).tanh()
        }),
        // reductions along dimensions
        tc("sum_dims", &[&[2, 3, 4]], |x| {
            x[0].sum_dims(&[0, 2], false).square()
        }),
        tc("mean_dims", &[&[2, 3, 4]], |x| {
            x[0].mean_dims(&[-1], true).square()
        }),
        tc("max_dim", &[&[3, 5]], |x| x[0].max_dim(1, false)),
        tc("min_dim", &[&[2, 3, 4]], |x| x[0].min_dim(0, true)),
        tc("logsumexp", &[&[3, 5]], |x| x[0].logsumexp(-1, false)),
        tc("var", &[&[3, 5]], |x| x[0].var(&[1], 1, false)),
        tc("softmax", &[&[3, 5]], |x| x[0].softmax(1)),
        tc("log_softmax", &[&[2, 3, 4]], |x| x[0].log_softmax(0)),
        // linear algebra
        tc("matmul", &[&[2, 3, 4], &[4, 5]], |x| x[0].matmul(&x[1])),
        tc("matmul", &[&[4], &[2, 4, 3]], |x| x[0].matmul(&x[1])),
        tc("matmul", &[&[3, 4], &[4]], |x| x[0].matmul(&x[1])),
        // Sizes for the backend's unpacked small-product loops: the row form forward and
        // for ∂B, the dot form for ∂A.
        tc("matmul", &[&[4, 40], &[40, 70]], |x| x[0].matmul(&x[1])),
        // indexing
        tc("index_select", &[&[5, 3]], |x| {
            x[0].index_select(0, &Indices::vector(vec![4, 0, 4, 2]))
                .unwrap()
                .square()
        }),
        tc("index_add", &[&[5, 3], &[2, 3]], |x| {
            x[0].index_add(0, &Indices::vector(vec![3, 3]), &x[1])
                .unwrap()
                .square()
        }),
        tc("gather", &[&[3, 4]], |x| {
            x[0].gather(1, &idx(&[0, 3, 3, 1, 2, 2, 0, 1, 0], &[3, 3]))
                .unwrap()
                .square()
        }),
        tc("scatter_add", &[&[3, 4], &[3, 2]], |x| {
            x[0].scatter_add(1, &idx(&[1, 1, 0, 3, 2, 2], &[3, 2]), &x[1])
                .unwrap()
                .square()
        }),
        // windows
        tc("unfold2d", &[&[2, 2, 5, 5]], |x| {
            x[0].unfold2d((3, 2), (2, 1), (1, 0)).square()
        }),
        tc("fold2d", &[&[2, 12, 12]], |x| {
            x[0].fold2d((5, 5), (3, 2), (2, 1), (1, 0)).square()
        }),
        // nn::functional
        tc("cross_entropy", &[&[4, 5]], |x| {
            f::cross_entropy(
                &x[0],
                &Indices::vector(vec![1, 0, 4, 1]),
                0.1,
                Reduction::Mean,
            )
            .unwrap()
        }),
        tc("nll_loss", &[&[4, 5]], |x| {
            f::nll_loss(
                &x[0].log_softmax(1),
                &Indices::vector(vec![3, 3, 0, 2]),
                Reduction::Sum,
            )
            .unwrap()
        }),
        tc("mse_loss", &[&[3, 4], &[3, 4]], |x| {
            f::mse_loss(&x[0], &x[1], Reduction::Mean)
        }),
        tc(
            "binary_cross_entropy_with_logits",
            &[&[3, 4], &[3, 4]],
            |x| f::binary_cross_entropy_with_logits(&x[0], &x[1].sigmoid(), Reduction::Sum),
        ),
        tc("hinge_loss", &[&[6]], |x| {
            let labels = T::from_vec(vec![1.0, -1.0, 1.0, 1.0, -1.0, -1.0], &[6]).unwrap();
            f::hinge_loss(&(&x[0] * 0.4), &labels, Reduction::Mean)
        }),
        tc("layer_norm", &[&[2, 3, 4], &[3, 4], &[3, 4]], |x| {
            f::layer_norm(&x[0], &[3, 4], Some(&x[1]), Some(&x[2]), 1e-5)
        }),
        // Without the affine step, and with a weight alone.
        tc("layer_norm", &[&[3, 5]], |x| {
            f::layer_norm(&x[0], &[5], None, None, 1e-5)
        }),
        tc("layer_norm", &[&[2, 2, 6], &[6]], |x| {
            f::layer_norm(&x[0], &[6], Some(&x[1]), None, 1e-5)
        }),
        tc("conv2d", &[&[2, 2, 5, 5], &[3, 2, 3, 3], &[3]], |x| {
            f::conv2d(&x[0], &x[1], Some(&x[2]), 2, 1)
        }),
        // 64 window positions per image: the small-product loops (row form forward, dot
        // form for the kernel's gradient).
        tc("conv2d", &[&[2, 1, 10, 10], &[2, 1, 3, 3], &[2]], |x| {
            f::conv2d(&x[0], &x[1], Some(&x[2]), 1, 0)
        }),
        tc("max_pool2d", &[&[2, 2, 5, 5]], |x| {
            f::max_pool2d(&x[0], 3, 2)
        }),
        tc("avg_pool2d", &[&[2, 2, 5, 5]], |x| {
            f::avg_pool2d(&x[0], 2, 2)
        }),
        tc("embedding", &[&[6, 3]], |x| {
            f::embedding(&x[0], &idx(&[5, 0, 5, 2], &[2, 2]))
                .unwrap()
                .square()
        }),
    ]
}

fn random_input(shape: &[usize], positive: bool, seed: u64) -> T {
    let mut rng = Rng::new(seed);
    let n: usize = shape.iter().product();
    let data = (0..n)
        .map(|_| {
            // Draws spread over [−2, 2] (or [0.5, 2.5]) rarely tie; the checks' inputs
            // are fixed, so a tie would show up as a failure every time, not at random.
            let u = rng.uniform();
            if positive {
                0.5 + 2.0 * u
            } else {
                -2.0 + 4.0 * u
            }
        })
        .collect();
    T::from_vec(data, shape).unwrap()
}

#[test]
fn tensor_ops_on_ndarray() {
    for (k, check) in tensor_checks().iter().enumerate() {
        let inputs: Vec<T> = check
            .shapes
            .iter()
            .enumerate()
            .map(|(i, s)| random_input(s, check.positive, 1000 * k as u64 + i as u64))
            .collect();
        if let Err(e) = gradcheck(&check.f, &inputs) {
            panic!("{} {:?}: {e}", check.name, check.shapes);
        }
        if let Err(e) = gradgradcheck(&check.f, &inputs) {
            panic!("{} {:?}, second order: {e}", check.name, check.shapes);
        }
    }
}

#[test]
fn every_differentiable_op_has_a_gradient_check() {
    let mut checked: BTreeSet<&str> = elementwise_checks::<Scalar<f64>>()
        .iter()
        .map(|c| c.name)
        .collect();
    checked.extend(tensor_checks().iter().map(|c| c.name));
    let missing: Vec<&&str> = DIFFERENTIABLE_OPS
        .iter()
        .filter(|op| !checked.contains(**op))
        .collect();
    assert!(
        missing.is_empty(),
        "ops without a gradient check: {missing:?}"
    );
}

/// Every public method defined in src/ops (other than the masks, which are not
/// differentiable, and the custom-op entry point) must be listed in `DIFFERENTIABLE_OPS`,
/// so that the check above covers it.
#[test]
fn every_exported_op_is_listed() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    // Masks and index results are not differentiable; from_op is the custom-op entry.
    let not_differentiable = [
        "gt",
        "ge",
        "lt",
        "le",
        "eq",
        "gt_scalar",
        "sign",
        "argmax",
        "from_op",
    ];
    let mut unlisted = Vec::new();
    let files = ["src/ops", "src/nn/functional"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(root.join(dir)).unwrap())
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"));
    for path in files {
        let source = std::fs::read_to_string(&path).unwrap();
        for line in source.lines() {
            let Some(rest) = line.trim_start().strip_prefix("pub fn ") else {
                continue;
            };
            let name = rest.split(['(', '<']).next().unwrap();
            if !DIFFERENTIABLE_OPS.contains(&name) && !not_differentiable.contains(&name) {
                unlisted.push(format!("{name} ({})", path.display()));
            }
        }
    }
    assert!(
        unlisted.is_empty(),
        "public ops missing from DIFFERENTIABLE_OPS: {unlisted:?}"
    );
}

/// The checker itself must catch a wrong derivative (tinygrad's practice): a custom op
/// whose recorded derivative is off by 1 % fails, and its correct twin passes.
#[test]
fn gradcheck_rejects_a_wrong_derivative() {
    type V = Variable<Scalar<f64>>;
    fn cube(x: &V, factor: f64) -> V {
        let value = x.item().powi(3);
        V::from_op("cube", value, &[x], move |_, xs, _, g| {
            g * (factor * 3.0) * xs[0].square()
        })
    }
    let x = [V::scalar(1.3)];
    assert!(gradcheck(|x| cube(&x[0], 1.0), &x).is_ok());
    let err: GradcheckError = gradcheck(|x| cube(&x[0], 1.01), &x).unwrap_err();
    assert_eq!((err.input, err.element), (0, 0));
    // The check weights the output by a fixed w: the numeric derivative is w·3x² (3x² =
    // 5.07 at 1.3) and the wrong rule reports 1.01 times that.
    assert!((err.analytic / err.numeric - 1.01).abs() < 1e-6, "{err}");
}

/// A wrong second derivative passes the first-order check but not the second-order one.
#[test]
fn gradgradcheck_rejects_a_wrong_second_derivative() {
    type V = Variable<Scalar<f64>>;
    // The derivative 3x² is right at first order, but written with a constant copy of x,
    // so the second derivative through it is lost.
    fn cube(x: &V) -> V {
        let value = x.item().powi(3);
        V::from_op("cube", value, &[x], |_, xs, _, g| {
            g * 3.0 * xs[0].detach().square()
        })
    }
    let x = [V::scalar(1.3)];
    assert!(gradcheck(|x| cube(&x[0]), &x).is_ok());
    assert!(gradgradcheck(|x| cube(&x[0]), &x).is_err());
}
