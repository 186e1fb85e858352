//! The fixture ops that every backend has: elementwise maths and the scalar composites.

use super::Case;
use ferrograd::{Backend, Variable};

/// Applies an elementwise fixture op (elementwise.json, scalar.json and the elementwise
/// cases of second_order.json), or `None` if `case.op` is not one.
pub fn apply<B: Backend>(case: &Case, x: &[Variable<B>]) -> Option<Variable<B>> {
    let y = match case.op.as_str() {
        "add" => x[0].add(&x[1]),
        "sub" => x[0].sub(&x[1]),
        "mul" => x[0].mul(&x[1]),
        "div" => x[0].div(&x[1]),
        "pow" => x[0].pow(&x[1]),
        "maximum" => x[0].maximum(&x[1]),
        "minimum" => x[0].minimum(&x[1]),
        "neg" => x[0].neg(),
        "exp" => x[0].exp(),
        "log" => x[0].log(),
        "sqrt" => x[0].sqrt(),
        "sin" => x[0].sin(),
        "cos" => x[0].cos(),
        "tanh" => x[0].tanh(),
        "sigmoid" => x[0].sigmoid(),
        "relu" => x[0].relu(),
        "abs" => x[0].abs(),
        "square" => x[0].square(),
        "reciprocal" => x[0].reciprocal(),
        "softplus" => x[0].softplus(),
        "leaky_relu" => x[0].leaky_relu(case.attr_f64("negative_slope")),
        "elu" => x[0].elu(case.attr_f64("alpha")),
        "powf" => x[0].powf(case.attr_f64("exponent")),
        "clamp" => x[0].clamp(case.attr_f64("min"), case.attr_f64("max")),
        "gelu" => match case.attr_str("approximate") {
            "none" => x[0].gelu(),
            "tanh" => x[0].gelu_tanh(),
            other => panic!("{}: gelu approximate={other}", case.name),
        },
        "rosenbrock" => rosenbrock(&x[0], &x[1]),
        "micrograd_style" => micrograd_style(&x[0], &x[1], &x[2]),
        _ => return None,
    };
    Some(y)
}

/// `(1 − x)² + 100 (y − x²)²`, elementwise (the fixtures' README).
pub fn rosenbrock<B: Backend>(x: &Variable<B>, y: &Variable<B>) -> Variable<B> {
    (1.0 - x).square() + 100.0 * (y - x.square()).square()
}

/// The scalar chain of composite.json's `micrograd_style` (the fixtures' README), with
/// `**` as `powf`.
pub fn micrograd_style<B: Backend>(
    a: &Variable<B>,
    b: &Variable<B>,
    c: &Variable<B>,
) -> Variable<B> {
    let d = a * b + c;
    let e = d.relu();
    let f = e.powf(2.0) + a * &e - b;
    let g = (0.5 * &f).tanh();
    let h = &g * c + (b - a).relu() * &e;
    h.powf(3.0) + &g * (1.0 + h.powf(2.0)).powf(-1.0) + a
}
