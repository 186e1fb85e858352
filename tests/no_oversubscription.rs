//! Nested parallelism stays in the pool: data-parallel shards whose kernels are themselves
//! parallel (large matrix products, elementwise loops, reductions) start no thread of their
//! own. Alone in its file, so that no other test starts threads while this one counts.

use ferrograd::data_parallel::{backward_shards, shard_ranges};
use ferrograd::nn::functional::{cross_entropy, Reduction};
use ferrograd::nn::{Forward, Linear, Module, Relu, Sequential};
use ferrograd::random::Rng;
use ferrograd::{Indices, Variable};
use ferrograd_ndarray::NdArray;

type B = NdArray<f32>;

/// The threads of this process, from the kernel's own count.
fn threads_of_this_process() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .expect("a Threads line")
        .trim()
        .parse()
        .expect("a number")
}

#[test]
fn sharded_steps_with_parallel_kernels_use_only_the_pool_threads() {
    if !std::path::Path::new("/proc/self/status").exists() {
        eprintln!("no /proc on this system: thread count not checked");
        return;
    }
    // Large enough that every shard's products and elementwise kernels go parallel.
    let mut rng = Rng::new(5);
    let model: Sequential<B> = Sequential::new()
        .add(Linear::new(512, 1024, true, &mut rng))
        .add(Relu)
        .add(Linear::new(1024, 10, true, &mut rng));
    let n = 512;
    let x = Variable::<B>::from_vec(
        (0..n * 512)
            .map(|_| rng.uniform_in(-1.0, 1.0) as f32)
            .collect(),
        &[n, 512],
    )
    .unwrap();
    let y = Indices::vector((0..n).map(|_| rng.below(10) as usize).collect());

    let pool_threads = 3;
    let before = threads_of_this_process();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(pool_threads)
        .build()
        .unwrap();
    let during = pool.install(|| {
        let ranges = shard_ranges(n, 4);
        for _ in 0..3 {
            model.zero_grad();
            let loss = backward_shards(&model, ranges.len(), |i| {
                let r = &ranges[i];
                let labels = y.rows(r.clone());
                let logits = model.forward(&x.narrow(0, r.start, r.len()));
                cross_entropy(&logits, &labels, 0.0, Reduction::Sum).unwrap() / n as f64
            });
            assert!(loss.item().is_finite());
        }
        // A backward pass run from outside any pool goes to the global pool: counted
        // below, separately.
        threads_of_this_process()
    });
    assert_eq!(
        during,
        before + pool_threads,
        "sharded training started threads beyond its pool's {pool_threads}"
    );
    drop(pool);

    // The same work with the global pool, from the test thread: at most the global pool's
    // threads appear, whatever the kernels do.
    let global = rayon::current_num_threads();
    let loss = cross_entropy(&model.forward(&x), &y, 0.0, Reduction::Mean).unwrap();
    loss.backward();
    let after = threads_of_this_process();
    assert!(
        after <= before + pool_threads + global,
        "{after} threads, expected at most {before} + {pool_threads} (a dropped pool's threads may linger) + {global}"
    );
}
