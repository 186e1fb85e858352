//! Results do not depend on the number of threads: the same computations in rayon pools of
//! 1, 2 and 3 threads give the same bits. (Running in a pool of N threads is what
//! `RAYON_NUM_THREADS=N` does to the global pool.)

use ferrograd::nn::functional as f;
use ferrograd::random::Rng;
use ferrograd::{autograd, Indices, Variable};
use ferrograd_ndarray::NdArray;

type T = Variable<NdArray<f32>>;

fn random(shape: &[usize], seed: u64) -> T {
    let mut rng = Rng::new(seed);
    let n = shape.iter().product();
    T::from_vec(
        (0..n).map(|_| rng.uniform_in(-1.0, 1.0) as f32).collect(),
        shape,
    )
    .unwrap()
}

fn bits(v: &T) -> Vec<u32> {
    v.to_vec().into_iter().map(f32::to_bits).collect()
}

/// Large enough that every parallel kernel path runs: elementwise maps, long and wide
/// reductions, blocked matrix products, im2col, softmax.
fn workload() -> Vec<Vec<u32>> {
    let mut out = Vec::new();

    // W3-like: sum(tanh(x·w + b)) over a million elements.
    let (x, w, b) = (
        random(&[1 << 20], 1).requires_grad(),
        random(&[1 << 20], 2).requires_grad(),
        random(&[1 << 20], 3).requires_grad(),
    );
    let loss = (&x * &w + &b).tanh().sum();
    let g = autograd::grad(&loss, &[&x, &w, &b], None, false);
    out.push(bits(&loss));
    out.extend(g.iter().map(bits));

    // An MLP layer pair with a bias (leading-axis gradient sums) and cross-entropy.
    let input = random(&[512, 300], 4);
    let w1 = random(&[300, 400], 5).requires_grad();
    let b1 = random(&[400], 6).requires_grad();
    let w2 = random(&[400, 10], 7).requires_grad();
    let targets = Indices::vector((0..512).map(|i| (i * 7) % 10).collect());
    let logits = (input.matmul(&w1) + &b1).relu().matmul(&w2);
    let loss = f::cross_entropy(&logits, &targets, 0.1, f::Reduction::Mean).unwrap();
    let g = autograd::grad(&loss, &[&w1, &b1, &w2], None, false);
    out.push(bits(&loss));
    out.extend(g.iter().map(bits));

    // A large square product and its backward.
    let (a, c) = (
        random(&[384, 384], 8).requires_grad(),
        random(&[384, 384], 9).requires_grad(),
    );
    let loss = a.matmul(&c).sum();
    let g = autograd::grad(&loss, &[&a, &c], None, false);
    out.extend(g.iter().map(bits));

    // Convolution and pooling over a batch.
    let images = random(&[32, 3, 32, 32], 10);
    let kernel = random(&[8, 3, 3, 3], 11).requires_grad();
    let y = f::max_pool2d(&f::conv2d(&images, &kernel, None, 1, 1).relu(), 2, 2);
    let loss = y.softmax(1).square().sum();
    let g = autograd::grad(&loss, &[&kernel], None, false);
    out.push(bits(&loss));
    out.extend(g.iter().map(bits));
    out
}

fn in_pool(threads: usize) -> Vec<Vec<u32>> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(workload)
}

#[test]
fn the_same_bits_on_1_2_and_3_threads() {
    let one = in_pool(1);
    assert_eq!(one, in_pool(2), "1 vs 2 threads");
    assert_eq!(one, in_pool(3), "1 vs 3 threads");
}
