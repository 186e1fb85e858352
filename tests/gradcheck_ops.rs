//! Finite-difference gradient checks for every differentiable op, first and second order,
//! and the guard that no exported op goes without one.

use ferrograd::gradcheck::{gradcheck, gradgradcheck, GradcheckError};
use ferrograd::ops::DIFFERENTIABLE_OPS;
use ferrograd::{Backend, Variable};
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
fn every_differentiable_op_has_a_gradient_check() {
    let checked: BTreeSet<&str> = elementwise_checks::<Scalar<f64>>()
        .iter()
        .map(|c| c.name)
        .collect();
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
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ops");
    let not_differentiable = ["gt", "ge", "lt", "le", "eq", "gt_scalar", "sign", "from_op"];
    let mut unlisted = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
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
