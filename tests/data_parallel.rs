//! Data-parallel training: bitwise the same results on 1, 2 and 3 threads, the same
//! gradient as the whole batch at once (to rounding), on both backends.

use ferrograd::data_parallel::{backward_shards, shard_ranges};
use ferrograd::nn::functional::{cross_entropy, Reduction};
use ferrograd::nn::{Dropout, Forward, Linear, Mlp, Module, Relu, Sequential};
use ferrograd::random::Rng;
use ferrograd::{Backend, Element, Indices, Variable};
use ferrograd_ndarray::NdArray;
use ferrograd_scalar::Scalar;

fn mlp<B: ferrograd::TensorOps>() -> Sequential<B> {
    mlp_with(None)
}

/// The MLP, with a dropout layer before its head when `dropout` is given: dropout's masks
/// must not depend on which thread runs which shard.
fn mlp_with<B: ferrograd::TensorOps>(dropout: Option<Dropout>) -> Sequential<B> {
    let mut rng = Rng::new(3);
    let model = Sequential::new()
        .add(Linear::new(20, 64, true, &mut rng))
        .add(Relu);
    let model = match dropout {
        Some(d) => model.add(d),
        None => model,
    };
    model.add(Linear::new(64, 5, true, &mut rng))
}

/// `n` rows of `features` inputs in [-1, 1) and their labels among `classes`.
fn batch<B: Backend>(n: usize, features: usize, classes: u64) -> (Variable<B>, Indices) {
    let mut rng = Rng::new(11);
    let x = (0..n * features)
        .map(|_| B::Elem::from_f64(rng.uniform_in(-1.0, 1.0)))
        .collect();
    let y = (0..n).map(|_| rng.below(classes) as usize).collect();
    (
        Variable::from_vec(x, &[n, features]).unwrap(),
        Indices::vector(y),
    )
}

/// The loss and every parameter's gradient, as bits.
fn loss_and_gradient_bits<B: Backend>(loss: &Variable<B>, model: &impl Module<B>) -> Vec<Vec<u64>> {
    let bits = |v: &Variable<B>| {
        v.to_vec()
            .into_iter()
            .map(|e| e.as_f64().to_bits())
            .collect()
    };
    let mut out = vec![bits(loss)];
    out.extend(
        model
            .parameters()
            .iter()
            .map(|p| bits(&p.grad().expect("every parameter gets a gradient"))),
    );
    out
}

/// One data-parallel backward pass; the loss and every gradient, as bits.
fn run<B: ferrograd::TensorOps>(shards: usize) -> Vec<Vec<u64>> {
    run_model_ref(&mlp::<B>(), shards)
}

fn in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

#[test]
fn shards_give_the_same_bits_on_any_number_of_threads() {
    for shards in [2, 4, 7] {
        let one = in_pool(1, || run::<NdArray<f32>>(shards));
        assert_eq!(
            one,
            in_pool(2, || run::<NdArray<f32>>(shards)),
            "{shards} shards, 1 vs 2 threads"
        );
        assert_eq!(
            one,
            in_pool(3, || run::<NdArray<f32>>(shards)),
            "{shards} shards, 1 vs 3 threads"
        );
    }
}

#[test]
fn dropout_in_shards_is_independent_of_the_threads() {
    // Two steps each, so that the per-step draws are exercised too.
    let twice = |threads| {
        in_pool(threads, || {
            let model = mlp_with::<NdArray<f32>>(Some(Dropout::new(0.3, 9)));
            let first = run_model_ref(&model, 4);
            let second = run_model_ref(&model, 4);
            (first, second)
        })
    };
    let one = twice(1);
    assert_ne!(one.0, one.1, "each step draws new masks");
    assert_eq!(one, twice(2));
    assert_eq!(one, twice(3));
}

fn run_model_ref<B: ferrograd::TensorOps>(model: &Sequential<B>, shards: usize) -> Vec<Vec<u64>> {
    model.zero_grad();
    let (x, y) = batch::<B>(96, 20, 5);
    let ranges = shard_ranges(96, shards);
    let loss = backward_shards(model, ranges.len(), |i| {
        let r = &ranges[i];
        let labels = y.rows(r.clone());
        cross_entropy(
            &model.forward(&x.narrow(0, r.start, r.len())),
            &labels,
            0.0,
            Reduction::Sum,
        )
        .unwrap()
            / 96.0
    });
    loss_and_gradient_bits(&loss, model)
}

#[test]
fn shards_add_up_to_the_whole_batch() {
    type B = NdArray<f64>;
    let whole = mlp::<B>();
    let (x, y) = batch::<B>(96, 20, 5);
    let loss = cross_entropy(&whole.forward(&x), &y, 0.0, Reduction::Mean).unwrap();
    loss.backward();
    let sharded = run::<B>(4);
    assert!((f64::from_bits(sharded[0][0]) - loss.item()).abs() < 1e-12);
    for (p, bits) in whole.parameters().iter().zip(&sharded[1..]) {
        for (a, &b) in p.grad().unwrap().to_vec().iter().zip(bits) {
            assert!((a - f64::from_bits(b)).abs() < 1e-12 * a.abs().max(1.0));
        }
    }
}

/// The same API on the scalar backend, where a shard is a few samples, each its own graph.
#[test]
fn shards_on_the_scalar_backend() {
    type V = Variable<Scalar<f64>>;
    let model = Mlp::<Scalar<f64>>::new(2, &[8, 1], &mut Rng::new(5));
    let points: Vec<[f64; 2]> = (0..12)
        .map(|i| [i as f64 / 12.0, 1.0 - i as f64 / 6.0])
        .collect();
    let loss_of = |p: &[f64; 2]| {
        model
            .forward(&[V::scalar(p[0]), V::scalar(p[1])])
            .remove(0)
            .square()
    };
    let ranges = shard_ranges(points.len(), 3);
    let per_shard = |i: usize| points[ranges[i].clone()].iter().map(loss_of).sum::<V>();
    let on_threads = |threads: usize| {
        in_pool(threads, || {
            model.zero_grad();
            let loss = backward_shards(&model, ranges.len(), per_shard);
            (
                loss.item(),
                model
                    .parameters()
                    .iter()
                    .map(|p| p.grad().unwrap().item())
                    .collect::<Vec<_>>(),
            )
        })
    };
    let (one, two) = (on_threads(1), on_threads(2));
    assert_eq!(one.0.to_bits(), two.0.to_bits());
    assert_eq!(one.1, two.1);
    // And the sum of per-point gradients, computed directly.
    model.zero_grad();
    let direct: V = points.iter().map(loss_of).sum();
    direct.backward();
    for (p, g) in model.parameters().iter().zip(&one.1) {
        assert!((p.grad().unwrap().item() - g).abs() < 1e-12);
    }
}

#[test]
fn shard_ranges_cover_the_batch() {
    assert_eq!(shard_ranges(10, 3), [0..4, 4..7, 7..10]);
    assert_eq!(shard_ranges(2, 5), [0..1, 1..2]);
    assert_eq!(
        shard_ranges(6, 1),
        vec![std::ops::Range { start: 0, end: 6 }]
    );
}

/// One data-parallel step of an MLP large enough that its kernels run in parallel, with
/// many shards, the model made on a pool thread (so that the pool's threads own its
/// parameters), and its first layer applied twice (so that a backward pass reaches those
/// parameters twice, with parallel kernels in between); the loss and every gradient, as
/// bits.
fn steal_prone_step(threads: usize) -> Vec<Vec<u64>> {
    type B = NdArray<f32>;
    in_pool(threads, || {
        let mut rng = Rng::new(11);
        let shared = Linear::<B>::new(256, 256, true, &mut rng);
        let head = Linear::<B>::new(256, 10, true, &mut rng);
        let model = Sequential::new().add(shared.clone()).add(head.clone());
        let n = 512;
        let (x, y) = batch::<B>(n, 256, 10);
        let ranges = shard_ranges(n, 16);
        let loss = backward_shards(&model, ranges.len(), |i| {
            let r = &ranges[i];
            let h = shared.forward(&x.narrow(0, r.start, r.len())).relu();
            let logits = head.forward(&shared.forward(&h).relu());
            cross_entropy(&logits, &y.rows(r.clone()), 0.0, Reduction::Sum).unwrap() / n as f64
        });
        loss_and_gradient_bits(&loss, &model)
    })
}

/// A pool thread waiting inside one shard's backward pass may take up another shard, and
/// so run a second backward pass (and a forward pass) inside the first. The second must
/// record its graph although recording is off in the first (grad mode is per thread), and
/// must not disturb the first's bookkeeping of the parameters, which that thread owns.
/// Many shards with parallel kernels on three threads make such a steal likely; the
/// result must be the one-thread result, to the bit.
#[test]
fn a_shard_taken_up_inside_another_shards_backward_pass_changes_nothing() {
    let one = steal_prone_step(1);
    for _ in 0..6 {
        assert_eq!(steal_prone_step(3), one);
    }
}
