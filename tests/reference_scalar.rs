//! PyTorch reference fixtures on the scalar backend, in f64 (tight) and f32 (loose).
//!
//! scalar.json runs whole; second_order.json and composite.json contribute their rank-0
//! cases (the tensor cases run on the tensor backend). Every test counts what it ran, so a
//! case can never be skipped silently.

mod common;

use common::{elementwise, load, run_case, Case, Tol};
use ferrograd::{Backend, Element};
use ferrograd_scalar::Scalar;

fn run_elementwise<B: Backend>(case: &Case) {
    let tol = Tol::for_elem::<B::Elem>();
    run_case::<B, _>(case, tol, |case, x| {
        elementwise::apply(case, x)
            .unwrap_or_else(|| panic!("{}: unknown op {}", case.name, case.op))
    });
}

fn scalar_json<T: Element>() {
    let cases = load("scalar.json");
    let mut ran = 0;
    for case in &cases {
        run_elementwise::<Scalar<T>>(case);
        ran += 1;
    }
    assert_eq!(ran, cases.len());
    assert_eq!(ran, 56, "scalar.json holds 56 cases (its README)");
}

#[test]
fn scalar_json_f64() {
    scalar_json::<f64>();
}

#[test]
fn scalar_json_f32() {
    scalar_json::<f32>();
}

/// The rank-0 cases of a file, after checking that the others are the tensor cases the
/// tensor backend's suite runs (so nothing falls between the two).
fn rank0_cases(file: &str, expected_rank0: usize) -> Vec<Case> {
    let cases = load(file);
    let (rank0, tensor): (Vec<Case>, Vec<Case>) = cases.into_iter().partition(Case::is_rank0);
    assert_eq!(rank0.len(), expected_rank0, "{file}: rank-0 cases");
    assert!(tensor
        .iter()
        .all(|c| !c.inputs.iter().all(|t| t.shape.is_empty())));
    rank0
}

fn second_order_rank0<T: Element>() {
    let cases = rank0_cases("second_order.json", 7);
    let mut ran = 0;
    for case in &cases {
        assert!(
            case.hvp.is_some(),
            "{}: second-order case without hvp",
            case.name
        );
        run_elementwise::<Scalar<T>>(case);
        ran += 1;
    }
    assert_eq!(ran, cases.len());
}

#[test]
fn second_order_rank0_f64() {
    second_order_rank0::<f64>();
}

#[test]
fn second_order_rank0_f32() {
    second_order_rank0::<f32>();
}

fn composite_rank0<T: Element>() {
    let cases = rank0_cases("composite.json", 4);
    let mut ran = 0;
    for case in &cases {
        run_elementwise::<Scalar<T>>(case);
        ran += 1;
    }
    assert_eq!(ran, cases.len());
}

#[test]
fn composite_rank0_f64() {
    composite_rank0::<f64>();
}

#[test]
fn composite_rank0_f32() {
    composite_rank0::<f32>();
}
