//! A training loop keeps its memory flat: each step's graph is freed with its loss (on the
//! scalar backend, into the thread's node pool, which the next step's graph reuses). (The
//! full-size check, 10,000 W1 steps, is `cargo bench --bench memory_w1`.)

use ferrograd::nn::functional::{cross_entropy, Reduction};
use ferrograd::nn::{Forward, Linear, Mlp, Module, Relu, Sequential};
use ferrograd::optim::{Optimizer, Sgd};
use ferrograd::random::Rng;
use ferrograd::{Indices, Variable};
use ferrograd_ndarray::NdArray;
use ferrograd_scalar::Scalar;

#[path = "../benches/workloads/resident.rs"]
mod resident;

use resident::resident_bytes;

/// Runs `step` `warm` times, then `steps` times more, and checks that the resident memory
/// grew by less than 8 MiB over the latter. Other tests run in parallel threads of this
/// process and allocate too, hence the slack.
fn assert_flat_memory(warm: usize, steps: usize, mut step: impl FnMut()) {
    let Some(_) = resident_bytes() else {
        eprintln!("/proc/self/status is not available: skipped");
        return;
    };
    for _ in 0..warm {
        step();
    }
    let before = resident_bytes().unwrap();
    for _ in 0..steps {
        step();
    }
    let after = resident_bytes().unwrap();
    assert!(
        after < before + (8 << 20),
        "resident memory grew from {before} to {after} bytes over {steps} steps"
    );
}

#[test]
fn two_thousand_steps_in_flat_memory() {
    type B = NdArray<f32>;
    let mut rng = Rng::new(0);
    let model = Sequential::<B>::new()
        .add(Linear::new(64, 128, true, &mut rng))
        .add(Relu)
        .add(Linear::new(128, 10, true, &mut rng));
    let x = Variable::<B>::from_vec(
        (0..32 * 64).map(|i| (i % 7) as f32 / 7.0).collect(),
        &[32, 64],
    )
    .unwrap();
    let y = Indices::vector((0..32).map(|i| i % 10).collect());
    let mut opt = Sgd::new(model.parameters(), 0.01);
    // A graph kept per step would be over 50 MiB here.
    assert_flat_memory(200, 2000, || {
        opt.zero_grad();
        let loss = cross_entropy(&model.forward(&x), &y, 0.0, Reduction::Mean).unwrap();
        loss.backward();
        opt.step();
    });
}

#[test]
fn scalar_training_reuses_its_graph_memory() {
    type B = Scalar<f64>;
    let model = Mlp::<B>::new(2, &[16, 16, 1], &mut Rng::new(0));
    let points: Vec<[f64; 2]> = (0..20)
        .map(|i| [(i as f64 * 0.3).sin(), (i as f64 * 0.7).cos()])
        .collect();
    let mut opt = Sgd::new(model.parameters(), 0.01);
    // 13,000 nodes, about 1.5 MiB, per step: a graph kept per step would be 450 MiB.
    assert_flat_memory(20, 300, || {
        opt.zero_grad();
        let loss: Variable<B> = points
            .iter()
            .map(|p| {
                let x = [Variable::scalar(p[0]), Variable::scalar(p[1])];
                model.forward(&x).remove(0).square()
            })
            .sum();
        loss.backward();
        opt.step();
    });
}
