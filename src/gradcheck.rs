//! Gradient checking by central finite differences, in `f64`.
//!
//! [`gradcheck`] compares the gradients the engine computes for a function with central
//! differences `(f(x + ε) − f(x − ε)) / 2ε`, element by element. Use it on your own
//! functions and custom ops ([`Variable::from_op`]); ferrograd's test suite runs it on
//! every op. [`gradgradcheck`] does the same for second derivatives, through a backward
//! pass recorded as a graph.
//!
//! Finite differences need double precision: these functions take `f64` backends. Model
//! code generic over the backend can be checked on its `f64` instance.
//!
//! A non-scalar output `y` is reduced to `sum(y · w)` with fixed pseudo-random weights `w`,
//! so that every output element is checked and no two can cancel by symmetry.

use crate::autograd::grad;
use crate::backend::Backend;
use crate::random::Rng;
use crate::variable::Variable;
use std::fmt;

/// Tolerances and step of a gradient check. The defaults are PyTorch's.
#[derive(Clone, Copy, Debug)]
pub struct GradcheckOptions {
    /// The finite-difference step.
    pub eps: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance (relative to the numerical derivative).
    pub rtol: f64,
}

impl Default for GradcheckOptions {
    fn default() -> Self {
        GradcheckOptions {
            eps: 1e-6,
            atol: 1e-5,
            rtol: 1e-3,
        }
    }
}

/// A derivative that disagrees with finite differences.
#[derive(Clone, Debug, PartialEq)]
pub struct GradcheckError {
    /// Which input (index into the inputs given).
    pub input: usize,
    /// Which element of that input (row-major).
    pub element: usize,
    /// The derivative the engine computed.
    pub analytic: f64,
    /// The central-difference estimate.
    pub numeric: f64,
}

impl fmt::Display for GradcheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gradient mismatch at input {} element {}: analytic {} vs numeric {}",
            self.input, self.element, self.analytic, self.numeric
        )
    }
}

impl std::error::Error for GradcheckError {}

/// Checks the gradients of `f` at `inputs` against central differences with the default
/// options. `f` may return any shape.
///
/// ```
/// use ferrograd::gradcheck::gradcheck;
/// use ferrograd::Variable;
/// use ferrograd_scalar::Scalar;
///
/// type V = Variable<Scalar<f64>>;
/// let f = |x: &[V]| (&x[0] * &x[1]).tanh();
/// assert!(gradcheck(f, &[V::scalar(0.3), V::scalar(-1.2)]).is_ok());
/// ```
///
/// # Errors
/// The first element whose derivatives disagree beyond the tolerances.
pub fn gradcheck<B, F>(f: F, inputs: &[Variable<B>]) -> Result<(), GradcheckError>
where
    B: Backend<Elem = f64>,
    F: Fn(&[Variable<B>]) -> Variable<B>,
{
    gradcheck_with(f, inputs, GradcheckOptions::default())
}

/// [`gradcheck`] with explicit options.
///
/// # Errors
/// The first element whose derivatives disagree beyond the tolerances.
pub fn gradcheck_with<B, F>(
    f: F,
    inputs: &[Variable<B>],
    options: GradcheckOptions,
) -> Result<(), GradcheckError>
where
    B: Backend<Elem = f64>,
    F: Fn(&[Variable<B>]) -> Variable<B>,
{
    let points: Vec<(Vec<f64>, Vec<usize>)> =
        inputs.iter().map(|x| (x.to_vec(), x.shape())).collect();
    let leaves = make_leaves::<B>(&points);
    let output = f(&leaves);
    let weights = random_like(&output, 0x5eed);
    let objective = |xs: &[Variable<B>]| (f(xs) * &weights).sum().item();

    let analytic: Vec<Vec<f64>> = if output.is_tracked() {
        let refs: Vec<&Variable<B>> = leaves.iter().collect();
        grad(&output, &refs, Some(&weights), false)
            .iter()
            .map(Variable::to_vec)
            .collect()
    } else {
        points.iter().map(|(v, _)| vec![0.0; v.len()]).collect()
    };

    for (i, (values, _)) in points.iter().enumerate() {
        for j in 0..values.len() {
            let mut shifted = points.clone();
            shifted[i].0[j] = values[j] + options.eps;
            let plus = objective(&make_leaves::<B>(&shifted));
            shifted[i].0[j] = values[j] - options.eps;
            let minus = objective(&make_leaves::<B>(&shifted));
            let numeric = (plus - minus) / (2.0 * options.eps);
            let a = analytic[i][j];
            // Written so that a NaN on either side fails the check.
            let within = (a - numeric).abs() <= options.atol + options.rtol * numeric.abs();
            if !within {
                return Err(GradcheckError {
                    input: i,
                    element: j,
                    analytic: a,
                    numeric,
                });
            }
        }
    }
    Ok(())
}

/// Checks the second derivatives of `f` at `inputs`: [`gradcheck`] of the function
/// `x ↦ Σᵢ ∇ᵢ(sum(f(x) · w)) · vᵢ` (fixed pseudo-random `w` and `v`), whose gradient is a
/// Hessian-vector product computed through a recorded backward pass.
///
/// # Errors
/// The first element whose derivatives disagree beyond the tolerances.
pub fn gradgradcheck<B, F>(f: F, inputs: &[Variable<B>]) -> Result<(), GradcheckError>
where
    B: Backend<Elem = f64>,
    F: Fn(&[Variable<B>]) -> Variable<B>,
{
    let tangents: Vec<Variable<B>> = inputs
        .iter()
        .enumerate()
        .map(|(i, x)| random_like(x, 0x7a9 + i as u64))
        .collect();
    let first_order = |xs: &[Variable<B>]| {
        let output = f(xs);
        if !output.is_tracked() {
            return Variable::scalar(0.0);
        }
        let weights = random_like(&output, 0x5eed);
        let refs: Vec<&Variable<B>> = xs.iter().collect();
        let grads = grad(&output, &refs, Some(&weights), true);
        grads
            .iter()
            .zip(&tangents)
            .map(|(g, v)| (g * v).sum())
            .sum()
    };
    gradcheck(first_order, inputs)
}

fn make_leaves<B: Backend<Elem = f64>>(points: &[(Vec<f64>, Vec<usize>)]) -> Vec<Variable<B>> {
    points
        .iter()
        .map(|(data, shape)| {
            Variable::from_vec(data.clone(), shape)
                .expect("gradcheck: the backend rejected an input's shape")
                .requires_grad()
        })
        .collect()
}

/// Fixed weights in `[0.5, 1.5)` with `like`'s shape.
fn random_like<B: Backend<Elem = f64>>(like: &Variable<B>, seed: u64) -> Variable<B> {
    let mut rng = Rng::new(seed);
    let data = (0..like.numel())
        .map(|_| rng.uniform_in(0.5, 1.5))
        .collect();
    Variable::from_vec(data, &like.shape()).expect("gradcheck: a shape it read back")
}
