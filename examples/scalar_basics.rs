//! A first look at ferrograd on the scalar backend: the expression from micrograd's README,
//! its gradients, and a check against finite differences.
//!
//! Run with `cargo run --release --example scalar_basics`.

use ferrograd::gradcheck::gradcheck;
use ferrograd::Variable;
use ferrograd_scalar::Scalar;

type V = Variable<Scalar<f64>>;

/// micrograd's README example, written with ferrograd's operators.
fn micrograd_expression(a: &V, b: &V) -> V {
    let mut c = a + b;
    let mut d = a * b + b.powf(3.0);
    c = &c + &c + 1.0;
    c = &c + 1.0 + &c + (-a);
    d = &d + &d * 2.0 + (b + a).relu();
    d = &d + 3.0 * &d + (b - a).relu();
    let e = &c - &d;
    let f = e.square();
    let mut g = &f / 2.0;
    g = &g + 10.0 / &f;
    g
}

fn main() {
    let a = V::scalar(-4.0).requires_grad();
    let b = V::scalar(2.0).requires_grad();
    let g = micrograd_expression(&a, &b);
    g.backward();

    // micrograd (and PyTorch) print 24.7041, 138.8338 and 645.5773 for these.
    println!("g          = {:.4}", g.item());
    println!("dg/da      = {:.4}", a.grad().unwrap().item());
    println!("dg/db      = {:.4}", b.grad().unwrap().item());
    println!("graph size = {} nodes", g.node_count());

    let check = gradcheck(
        |x| micrograd_expression(&x[0], &x[1]),
        &[a.detach(), b.detach()],
    );
    println!("finite differences agree: {}", check.is_ok());
}
