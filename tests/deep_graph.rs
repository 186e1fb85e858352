//! Graph traversal and drop use no recursion: a chain of a million nodes is built,
//! differentiated and dropped on the default test-thread stack.

use ferrograd::{autograd, Variable};
use ferrograd_scalar::Scalar;

type V = Variable<Scalar<f64>>;

#[test]
fn a_million_node_chain_backward_and_drop() {
    const N: usize = 1_000_000;
    const C: f64 = 1.000_001;
    let x = V::scalar(1.0).requires_grad();
    let mut y = x.clone();
    for _ in 0..N {
        y = &y * C;
    }
    assert_eq!(y.node_count(), N + 1);
    y.backward();
    // y = x·Cᴺ, dy/dx = Cᴺ (the products round the same way in both)
    let expected = (0..N).fold(1.0, |acc, _| acc * C);
    assert_eq!(x.grad().unwrap().item(), expected);
    drop(y);
    // The leaf survives its graph.
    assert_eq!(x.item(), 1.0);
}

#[test]
fn a_deep_recorded_backward_pass() {
    // The backward pass of a long chain, recorded as a graph, is itself a long chain: it
    // must also be traversed and dropped without recursion.
    const N: usize = 200_000;
    let x = V::scalar(0.3).requires_grad();
    let mut y = x.clone();
    for _ in 0..N {
        y = (&y * 0.999_99).sin() + &y * 0.0; // a chain whose derivative depends on x
    }
    let g = autograd::grad(&y, &[&x], None, true);
    assert!(g[0].is_tracked());
    let second = autograd::grad(&g[0], &[&x], None, false);
    assert!(second[0].item().is_finite());
    drop((y, g));
}
