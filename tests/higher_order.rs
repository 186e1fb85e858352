//! Gradients of gradients: the backward pass recorded as a graph, Hessian-vector products
//! and higher derivatives, on the scalar backend.

use ferrograd::{autograd, Variable};
use ferrograd_scalar::Scalar;

type V = Variable<Scalar<f64>>;

fn leaf(x: f64) -> V {
    V::scalar(x).requires_grad()
}

#[test]
fn third_derivative_of_a_quartic() {
    // f = x⁴: f' = 4x³, f'' = 12x², f''' = 24x
    let x = leaf(1.5);
    let f = x.powf(4.0);
    let d1 = &autograd::grad(&f, &[&x], None, true)[0];
    let d2 = &autograd::grad(d1, &[&x], None, true)[0];
    let d3 = &autograd::grad(d2, &[&x], None, false)[0];
    assert!((d1.item() - 4.0 * 1.5f64.powi(3)).abs() < 1e-12);
    assert!((d2.item() - 12.0 * 1.5f64.powi(2)).abs() < 1e-12);
    assert!((d3.item() - 24.0 * 1.5).abs() < 1e-12);
}

#[test]
fn hessian_vector_product_of_rosenbrock() {
    // f = (1 − x)² + 100 (y − x²)²
    // H = [[2 − 400(y − x²) + 800x², −400x], [−400x, 200]]
    let (x0, y0) = (0.5, -0.25);
    let (x, y) = (leaf(x0), leaf(y0));
    let f = (1.0 - &x).square() + 100.0 * (&y - x.square()).square();
    let (vx, vy) = (0.3, -0.7);
    let hv = autograd::hvp(&f, &[&x, &y], &[V::scalar(vx), V::scalar(vy)]);
    let hxx = 2.0 - 400.0 * (y0 - x0 * x0) + 800.0 * x0 * x0;
    let hxy = -400.0 * x0;
    let hyy = 200.0;
    assert!((hv[0].item() - (hxx * vx + hxy * vy)).abs() < 1e-10);
    assert!((hv[1].item() - (hxy * vx + hyy * vy)).abs() < 1e-10);
}

#[test]
fn backward_create_graph_then_backward_again() {
    // A gradient penalty: L = f + (df/dx)², f = sin(x)·x
    // df/dx = cos(x)·x + sin(x); dL/dx = df/dx + 2·(df/dx)·d²f/dx²,
    // d²f/dx² = −sin(x)·x + 2cos(x)
    let x0: f64 = 0.8;
    let x = leaf(x0);
    let f = x.sin() * &x;
    f.backward_create_graph();
    let dfdx = x.grad().unwrap();
    assert!(dfdx.is_tracked());
    x.zero_grad();
    let penalty = &f + dfdx.square();
    penalty.backward();
    let d1 = x0.cos() * x0 + x0.sin();
    let d2 = -x0.sin() * x0 + 2.0 * x0.cos();
    assert!((x.grad().unwrap().item() - (d1 + 2.0 * d1 * d2)).abs() < 1e-12);
}

#[test]
fn hvp_of_a_function_linear_in_its_inputs_is_zero() {
    let (x, y) = (leaf(1.0), leaf(2.0));
    let f = 3.0 * &x - &y;
    let hv = autograd::hvp(&f, &[&x, &y], &[V::scalar(1.0), V::scalar(1.0)]);
    assert_eq!((hv[0].item(), hv[1].item()), (0.0, 0.0));
}
