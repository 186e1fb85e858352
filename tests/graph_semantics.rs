//! What the graph promises, on the scalar backend: accumulation, shared sub-expressions,
//! no_grad, detach, constants, operators, errors, lifetimes and threads.

use ferrograd::{autograd, enable_grad, no_grad, Error, Variable};
use ferrograd_scalar::Scalar;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

type V = Variable<Scalar<f64>>;

fn leaf(x: f64) -> V {
    V::scalar(x).requires_grad()
}

fn grad_of(x: &V) -> f64 {
    x.grad().expect("a gradient").item()
}

#[test]
fn gradients_accumulate_across_backward_calls_until_zero_grad() {
    let x = leaf(3.0);
    let y = &x * &x; // dy/dx = 2x = 6
    y.backward();
    assert_eq!(grad_of(&x), 6.0);
    y.backward();
    assert_eq!(grad_of(&x), 12.0);
    x.zero_grad();
    assert!(x.grad().is_none());
    y.backward();
    assert_eq!(grad_of(&x), 6.0);
}

#[test]
fn diamonds_add_up() {
    // b = 2a, c = 3a, d = b·c = 6a², dd/da = 12a
    let a = leaf(1.5);
    let b = &a * 2.0;
    let c = &a * 3.0;
    let d = &b * &c;
    d.backward();
    assert_eq!(grad_of(&a), 18.0);
}

#[test]
fn a_value_used_many_times_gets_every_contribution() {
    // y = x + x + x·x, dy/dx = 2 + 2x
    let x = leaf(4.0);
    let y = &x + &x + &x * &x;
    y.backward();
    assert_eq!(grad_of(&x), 10.0);
}

#[test]
fn only_leaves_that_require_grad_receive_gradients() {
    let x = leaf(2.0);
    let c = V::scalar(5.0);
    let y = &x * &c;
    y.backward();
    assert_eq!(grad_of(&x), 5.0);
    assert!(c.grad().is_none());
    assert!(!c.is_tracked() && c.is_leaf());
    assert!(y.is_tracked() && !y.is_leaf());
    assert_eq!(y.op_name(), Some("mul"));
    // An intermediate keeps no gradient of its own.
    assert!(y.grad().is_none());
}

#[test]
fn no_grad_records_nothing_and_restores_the_mode() {
    let x = leaf(2.0);
    let y = no_grad(|| x.exp() * 2.0);
    assert!(!y.is_tracked());
    assert!(ferrograd::is_grad_enabled());
    let panicked = std::panic::catch_unwind(|| no_grad(|| panic!("inside no_grad")));
    assert!(panicked.is_err());
    assert!(
        ferrograd::is_grad_enabled(),
        "the mode is restored after a panic"
    );
    assert!((&x * 2.0).is_tracked());
}

#[test]
fn detach_cuts_the_gradient() {
    // y = x · stop(x): dy/dx = stop(x) = 3
    let x = leaf(3.0);
    let y = &x * x.detach();
    y.backward();
    assert_eq!(grad_of(&x), 3.0);
}

#[test]
fn operators_take_numbers_on_either_side() {
    let x = leaf(2.0);
    let mut y = 2.0 * &x + &x * 3.0 - 1.0 / &x + (1.0 - &x) / 4.0;
    y += &x;
    y -= 0.5;
    y *= 2.0;
    y /= 4.0;
    // y = (2x + 3x − 1/x + (1 − x)/4 + x − 0.5) / 2, dy/dx = (6 + 1/x² − 1/4) / 2
    y.backward();
    let x0: f64 = 2.0;
    let expected_y = (6.0 * x0 - 1.0 / x0 + (1.0 - x0) / 4.0 - 0.5) / 2.0;
    assert!((y.item() - expected_y).abs() < 1e-15);
    assert!((grad_of(&x) - (6.0 + 1.0 / (x0 * x0) - 0.25) / 2.0).abs() < 1e-15);
    let neg = -&x;
    assert_eq!(neg.item(), -2.0);
}

/// Operators move operands taken by value into the graph instead of cloning them: the
/// values and gradients must be those of the same expression on references.
#[test]
fn operands_taken_by_value_match_borrowed_ones() {
    let (a, b) = (leaf(1.5), leaf(-0.75));
    let borrowed = {
        let mut y = &a * &b + &a - &b / &a;
        y += &b;
        y *= &a;
        y - &a * &a
    };
    let owned = {
        let mut y = a.clone() * b.clone() + a.clone() - b.clone() / a.clone();
        y += b.clone();
        y *= a.clone();
        y - a.clone() * a.clone()
    };
    assert_eq!(owned.item().to_bits(), borrowed.item().to_bits());
    assert_eq!(owned.node_count(), borrowed.node_count());
    let by_refs = autograd::grad(&borrowed, &[&a, &b], None, false);
    let by_values = autograd::grad(&owned, &[&a, &b], None, false);
    for (r, v) in by_refs.iter().zip(&by_values) {
        assert_eq!(v.item().to_bits(), r.item().to_bits());
    }
    // y = u·a − a² with u = ab + a − b/a + b, by hand at a = 1.5, b = −0.75:
    // ∂y/∂a = (b + 1 + b/a²)·a + u − 2a, ∂y/∂b = (a − 1/a + 1)·a.
    let (x, w) = (1.5_f64, -0.75_f64);
    let dy_da = (w + 1.0 + w / (x * x)) * x + (x * w + x - w / x + w) - 2.0 * x;
    let dy_db = (x - 1.0 / x + 1.0) * x;
    assert!((by_values[0].item() - dy_da).abs() < 1e-14);
    assert!((by_values[1].item() - dy_db).abs() < 1e-14);
    // Constants taken by value, and a plain number, on either side.
    let c = V::scalar(4.0);
    let z = c.clone() * a.clone() + 2.0 - (V::scalar(1.0) - c);
    assert_eq!(z.item(), 4.0 * 1.5 + 2.0 - (1.0 - 4.0));
    z.backward();
    assert_eq!(grad_of(&a), 4.0);
}

#[test]
fn sums_of_variables() {
    let xs: Vec<V> = (1..=4).map(|i| leaf(i as f64)).collect();
    let total: V = xs.iter().map(|x| x.square()).sum();
    assert_eq!(total.item(), 30.0);
    total.backward();
    for (i, x) in xs.iter().enumerate() {
        assert_eq!(grad_of(x), 2.0 * (i + 1) as f64);
    }
    let empty: V = Vec::<V>::new().into_iter().sum();
    assert_eq!(empty.item(), 0.0);
}

#[test]
fn backward_with_weights_the_output() {
    let x = leaf(2.0);
    let y = x.square();
    y.backward_with(&V::scalar(0.5)); // 0.5 · 2x
    assert_eq!(grad_of(&x), 2.0);
}

#[test]
#[should_panic(expected = "backward: the variable is a constant")]
fn backward_on_a_constant_panics() {
    V::scalar(1.0).exp().backward();
}

#[test]
fn bad_input_is_a_typed_error() {
    let err = V::from_vec(vec![1.0, 2.0], &[]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::LengthMismatch {
                expected: 1,
                got: 2,
                ..
            }
        ),
        "{err}"
    );
    let err = V::from_vec(vec![1.0, 2.0], &[2]).unwrap_err();
    assert!(matches!(err, Error::UnsupportedShape { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "the Scalar<f64> backend cannot hold shape [2]"
    );
}

#[test]
fn set_value_updates_a_leaf_in_place() {
    let w = leaf(1.0);
    let handle = w.clone();
    w.set_value(4.0);
    assert_eq!(handle.item(), 4.0);
    (&handle * 3.0).backward();
    assert_eq!(grad_of(&w), 3.0);
}

#[test]
#[should_panic(expected = "set_value: only a leaf")]
fn set_value_on_an_op_result_panics() {
    let y = leaf(1.0).exp();
    y.set_value(2.0);
}

#[test]
fn grad_returns_values_without_touching_leaves() {
    let (x, y) = (leaf(3.0), leaf(-2.0));
    let f = (&x * &y).sin(); // ∂f/∂x = y·cos(xy), ∂f/∂y = x·cos(xy)
    let unrelated = leaf(7.0);
    let g = autograd::grad(&f, &[&x, &y, &unrelated], None, false);
    let c = (3.0f64 * -2.0).cos();
    assert!((g[0].item() - -2.0 * c).abs() < 1e-15);
    assert!((g[1].item() - 3.0 * c).abs() < 1e-15);
    assert_eq!(g[2].item(), 0.0);
    assert!(x.grad().is_none() && y.grad().is_none());
    assert!(!g[0].is_tracked(), "no graph without create_graph");
}

#[test]
fn grad_serves_repeated_and_intermediate_targets() {
    let x = leaf(0.5);
    let h = x.exp(); // an intermediate result as a target: ∂f/∂h = 2h
    let f = &h * &h;
    let g = autograd::grad(&f, &[&x, &h, &x], None, false);
    let e = 0.5f64.exp();
    assert!((g[0].item() - 2.0 * e * e).abs() < 1e-14); // ∂(e^{2x})/∂x
    assert!((g[1].item() - 2.0 * e).abs() < 1e-14);
    assert_eq!(
        g[2].item(),
        g[0].item(),
        "a repeated target gets the same gradient"
    );
}

/// A gradient reaches an intermediate result in whatever shape its consumers gave it (the
/// derivative of a sum is a single broadcast number); the captured gradient is still
/// expanded to the target's shape, recorded or not.
#[test]
fn grad_of_an_intermediate_has_its_shape() {
    type T = Variable<ferrograd_ndarray::NdArray<f64>>;
    let x = T::from_vec(vec![0.5, -1.0, 2.0], &[3])
        .unwrap()
        .requires_grad();
    let h = x.tanh();
    let f = h.sum();
    for create_graph in [false, true] {
        let g = autograd::grad(&f, &[&h, &x], None, create_graph);
        assert_eq!(g[0].shape(), [3], "create_graph {create_graph}");
        assert_eq!(g[0].to_vec(), [1.0, 1.0, 1.0]);
        for (got, x) in g[1].to_vec().into_iter().zip([0.5f64, -1.0, 2.0]) {
            assert!((got - (1.0 - x.tanh().powi(2))).abs() < 1e-15);
        }
    }
}

/// Counts its drops: captured by a derivative, it shows when a graph node is freed.
struct Witness(&'static AtomicUsize);

impl Drop for Witness {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// The graph of a result lives exactly as long as its handles.
#[test]
fn dropping_the_result_frees_the_graph() {
    static DROPPED: AtomicUsize = AtomicUsize::new(0);
    let x = leaf(1.0);
    let witness = Arc::new(Witness(&DROPPED));
    let tagged = {
        let witness = Arc::clone(&witness);
        V::from_op("tag", x.item(), &[&x], move |_, _, _, g| {
            let _keep = &witness;
            g.clone()
        })
    };
    drop(witness);
    let loss = (&tagged * 2.0).exp();
    drop(tagged);
    assert_eq!(
        DROPPED.load(Ordering::SeqCst),
        0,
        "the loss still holds the graph"
    );
    loss.backward();
    drop(loss);
    assert_eq!(
        DROPPED.load(Ordering::SeqCst),
        1,
        "the graph was freed with the loss"
    );
    assert!(x.grad().is_some(), "the leaf keeps its gradient");
}

/// A graph node shared with another thread is freed by whichever thread lets go of it
/// last, with everything it holds (the drop's uniqueness check reads the reference count
/// without locking it).
#[test]
fn a_graph_shared_with_another_thread_is_freed_by_the_last_holder() {
    static DROPPED: AtomicUsize = AtomicUsize::new(0);
    let x = leaf(0.5);
    for round in 1..=50 {
        let witness = Witness(&DROPPED);
        let tagged = V::from_op("tag", x.item(), &[&x], move |_, _, _, g| {
            let _keep = &witness;
            g.clone()
        });
        // Owned operands: the chain holds `tagged` only through the graph.
        let chain = (0..100).fold(tagged, |acc, _| acc * 1.0 + x.clone());
        let shared = chain.clone();
        let other = std::thread::spawn(move || {
            let y = shared.tanh();
            y.item()
        });
        drop(chain);
        let y = other.join().expect("the other thread");
        assert!(y.is_finite());
        assert_eq!(DROPPED.load(Ordering::SeqCst), round, "round {round}");
    }
}

/// Threads build their own graphs over shared parameters and accumulate into them.
#[test]
fn threads_share_parameters() {
    let w = leaf(0.5);
    std::thread::scope(|s| {
        for t in 0..4 {
            let w = w.clone();
            s.spawn(move || {
                for _ in 0..100 {
                    let x = V::scalar(t as f64);
                    (&w * &x).backward(); // d/dw = x = t
                }
            });
        }
    });
    assert_eq!(grad_of(&w), 100.0 * (0.0 + 1.0 + 2.0 + 3.0));
}

/// A backward pass run inside another on the same thread (a derivative that runs one, or
/// a rayon task taken up while a pass waits in a parallel kernel) must not disturb the
/// outer pass's bookkeeping of the leaves both reach. Here the outer pass reaches `w`,
/// then runs the custom op's derivative, whose own pass reaches `w` too, then reaches `w`
/// again: its gradient must be the sum of both contributions.
#[test]
fn a_pass_inside_another_leaves_its_gradients_whole() {
    let w = V::scalar(2.0).requires_grad();
    let x = V::scalar(1.0).requires_grad();
    let inner_w = w.clone();
    // Made in this order, so visited in the reverse: w·7 (reaches w), the custom op (runs
    // the inner pass), w·3 (reaches w again).
    let first = &w * 3.0;
    let nested = V::from_op("runs_a_pass", 1.0, &[&x], move |_, _, _, g| {
        enable_grad(|| &inner_w * 5.0).backward();
        g.clone()
    });
    let last = &w * 7.0;
    let loss = first + nested + last;
    let grads = autograd::grad(&loss, &[&w, &x], None, false);
    assert_eq!(grads[0].item(), 10.0);
    assert_eq!(grads[1].item(), 1.0);
    // The inner pass accumulated into w's stored gradient, as backward does.
    assert_eq!(w.grad().unwrap().item(), 5.0);
}
