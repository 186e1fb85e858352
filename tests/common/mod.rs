//! Shared test support: the PyTorch reference fixtures (tests/reference, see its README),
//! tolerance checks, and a runner that checks one case's output, gradients and
//! Hessian-vector products on any backend.

#![allow(dead_code)]

pub mod elementwise;
pub mod tensor;

use ferrograd::{autograd, Backend, Element, Variable};
use serde_json::Value;
use std::path::PathBuf;

/// A tensor as the fixtures store it: row-major `f64` data (integers for `i64` inputs).
#[derive(Clone, Debug)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
    pub is_int: bool,
}

impl Tensor {
    fn parse(v: &Value) -> Tensor {
        let shape = v["shape"]
            .as_array()
            .expect("shape")
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        let data = v["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        let is_int = v.get("dtype").and_then(Value::as_str) == Some("i64");
        Tensor {
            shape,
            data,
            is_int,
        }
    }

    fn parse_optional(v: &Value) -> Option<Tensor> {
        (!v.is_null()).then(|| Tensor::parse(v))
    }

    pub fn indices(&self) -> Vec<i64> {
        self.data.iter().map(|&x| x as i64).collect()
    }

    /// The tensor as a constant of backend `B` (the data are exact in `f32` too).
    pub fn variable<B: Backend>(&self) -> Variable<B> {
        let data = self.data.iter().map(|&x| B::Elem::from_f64(x)).collect();
        Variable::from_vec(data, &self.shape).expect("fixture tensor")
    }
}

/// One reference case.
#[derive(Clone, Debug)]
pub struct Case {
    pub name: String,
    pub op: String,
    pub attrs: Value,
    pub inputs: Vec<Tensor>,
    pub output: Tensor,
    pub upstream: Tensor,
    pub grads: Vec<Option<Tensor>>,
    pub tangents: Option<Vec<Option<Tensor>>>,
    pub hvp: Option<Vec<Option<Tensor>>>,
}

impl Case {
    pub fn is_rank0(&self) -> bool {
        self.inputs.iter().all(|t| t.shape.is_empty())
    }

    pub fn attr_f64(&self, key: &str) -> f64 {
        self.attrs[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{}: attribute {key}", self.name))
    }

    pub fn attr_i64(&self, key: &str) -> i64 {
        self.attrs[key]
            .as_i64()
            .unwrap_or_else(|| panic!("{}: attribute {key}", self.name))
    }

    pub fn attr_bool(&self, key: &str) -> bool {
        self.attrs[key]
            .as_bool()
            .unwrap_or_else(|| panic!("{}: attribute {key}", self.name))
    }

    pub fn attr_str(&self, key: &str) -> &str {
        self.attrs[key]
            .as_str()
            .unwrap_or_else(|| panic!("{}: attribute {key}", self.name))
    }

    pub fn attr_dims(&self, key: &str) -> Vec<isize> {
        self.attrs[key]
            .as_array()
            .unwrap_or_else(|| panic!("{}: attribute {key}", self.name))
            .iter()
            .map(|d| d.as_i64().unwrap() as isize)
            .collect()
    }
}

/// Loads `tests/reference/<file>`; checks the format tag.
pub fn load(file: &str) -> Vec<Case> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/reference")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let root: Value = serde_json::from_str(&text).expect("fixture JSON");
    assert_eq!(root["format"], "ferrograd-reference/1", "{file}: format");
    root["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| Case {
            name: c["name"].as_str().unwrap().to_string(),
            op: c["op"].as_str().unwrap().to_string(),
            attrs: c["attrs"].clone(),
            inputs: c["inputs"]
                .as_array()
                .unwrap()
                .iter()
                .map(Tensor::parse)
                .collect(),
            output: Tensor::parse(&c["output"]),
            upstream: Tensor::parse(&c["upstream"]),
            grads: c["grads"]
                .as_array()
                .unwrap()
                .iter()
                .map(Tensor::parse_optional)
                .collect(),
            tangents: c.get("tangents").map(|t| {
                t.as_array()
                    .unwrap()
                    .iter()
                    .map(Tensor::parse_optional)
                    .collect()
            }),
            hvp: c.get("hvp").map(|t| {
                t.as_array()
                    .unwrap()
                    .iter()
                    .map(Tensor::parse_optional)
                    .collect()
            }),
        })
        .collect()
}

/// Elementwise tolerance: `|actual − expected| ≤ atol + rtol·|expected|`.
#[derive(Clone, Copy, Debug)]
pub struct Tol {
    pub rtol: f64,
    pub atol: f64,
}

/// The fixtures' bound for an `f64` engine.
pub const F64_TOL: Tol = Tol {
    rtol: 1e-10,
    atol: 1e-12,
};
/// The fixtures' bound for an `f32` engine compared with `f64` references.
pub const F32_TOL: Tol = Tol {
    rtol: 1e-4,
    atol: 1e-5,
};

impl Tol {
    /// The tolerance for an element type: tight for `f64`, loose for `f32`.
    pub fn for_elem<T: Element>() -> Tol {
        match T::DTYPE {
            ferrograd::DType::F64 => F64_TOL,
            ferrograd::DType::F32 => F32_TOL,
        }
    }

    /// This tolerance, loosened to at least `other` (the fixtures' README loosens a few ops).
    pub fn at_least(self, other: Tol) -> Tol {
        Tol {
            rtol: self.rtol.max(other.rtol),
            atol: self.atol.max(other.atol),
        }
    }
}

/// Checks a variable against a reference tensor: same shape, values within `tol`.
#[track_caller]
pub fn assert_close<B: Backend>(what: &str, actual: &Variable<B>, expected: &Tensor, tol: Tol) {
    assert_eq!(actual.shape(), expected.shape, "{what}: shape");
    let got: Vec<f64> = actual.to_vec().into_iter().map(Element::as_f64).collect();
    assert_values_close(what, &got, &expected.data, tol);
}

/// Checks two slices elementwise within `tol` (relative to `expected`).
#[track_caller]
pub fn assert_values_close(what: &str, actual: &[f64], expected: &[f64], tol: Tol) {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let ok = (a - e).abs() <= tol.atol + tol.rtol * e.abs();
        assert!(
            ok,
            "{what}[{i}]: got {a:e}, expected {e:e} (rtol {}, atol {})",
            tol.rtol, tol.atol
        );
    }
}

/// Runs one case on backend `B`: builds the float inputs as leaves, applies the op with
/// `apply` (which also gets the integer inputs), and checks the output, the gradients of
/// `sum(output · upstream)` and, where the case has them, the Hessian-vector products.
pub fn run_case<B, F>(case: &Case, tol: Tol, apply: F)
where
    B: Backend,
    F: Fn(&Case, &[Variable<B>]) -> Variable<B>,
{
    // Integer inputs are handed to `apply` as constants too (it reads them from `case`);
    // only float inputs are differentiated.
    let inputs: Vec<Variable<B>> = case
        .inputs
        .iter()
        .map(|t| {
            let v = t.variable::<B>();
            if t.is_int {
                v
            } else {
                v.requires_grad()
            }
        })
        .collect();
    let output = apply(case, &inputs);
    let name = &case.name;
    assert_close(&format!("{name}: output"), &output, &case.output, tol);

    let float_inputs: Vec<&Variable<B>> = case
        .inputs
        .iter()
        .zip(&inputs)
        .filter(|(t, _)| !t.is_int)
        .map(|(_, v)| v)
        .collect();
    let upstream = case.upstream.variable::<B>();
    let second_order = case.hvp.is_some();
    let grads = autograd::grad(&output, &float_inputs, Some(&upstream), second_order);
    let expected: Vec<&Tensor> = case.grads.iter().flatten().collect();
    assert_eq!(grads.len(), expected.len(), "{name}: number of gradients");
    for (i, (g, e)) in grads.iter().zip(&expected).enumerate() {
        assert_close(&format!("{name}: grad {i}"), g, e, tol);
    }

    if let (Some(tangents), Some(hvp)) = (&case.tangents, &case.hvp) {
        let tangents: Vec<Variable<B>> = tangents.iter().flatten().map(Tensor::variable).collect();
        let objective = (&output * &upstream).sum();
        let computed = autograd::hvp(&objective, &float_inputs, &tangents);
        let expected: Vec<&Tensor> = hvp.iter().flatten().collect();
        for (i, (h, e)) in computed.iter().zip(&expected).enumerate() {
            assert_close(&format!("{name}: hvp {i}"), h, e, tol);
        }
    }
}
