//! Data-parallel training: a batch split into shards, each shard's forward and backward
//! pass in its own rayon task over the same parameters, and the gradients summed in a
//! fixed order.
//!
//! Because each shard's gradient is computed independently and the shards are summed in
//! shard order (whichever thread ran which), the result is the same to the bit for any
//! number of threads. Dropout inside a shard draws from a stream fixed by the step and the
//! shard (see [`random::shard_stream`](crate::random::shard_stream)), not by which thread
//! got there first. Kernels inside the shards (a tensor backend's parallel matrix
//! products and elementwise loops) run in the same rayon pool: nested parallelism shares
//! the pool's threads instead of starting more.
//!
//! ```
//! use ferrograd::data_parallel::{backward_shards, shard_ranges};
//! use ferrograd::nn::functional::{mse_loss, Reduction};
//! use ferrograd::nn::{Forward, Linear, Module};
//! use ferrograd::random::Rng;
//! use ferrograd::Variable;
//! use ferrograd_ndarray::NdArray;
//!
//! type T = Variable<NdArray<f64>>;
//! let model = Linear::<NdArray<f64>>::new(3, 1, true, &mut Rng::new(0));
//! let x = T::from_vec((0..24).map(|v| v as f64 / 24.0).collect(), &[8, 3]).unwrap();
//! let y = T::from_vec(vec![1.0; 8], &[8, 1]).unwrap();
//! let ranges = shard_ranges(8, 4);
//! // Each shard's loss is its sum divided by the whole batch, so that the shards add up to
//! // the batch mean.
//! let loss = backward_shards(&model, ranges.len(), |i| {
//!     let r = &ranges[i];
//!     let (xs, ys) = (x.narrow(0, r.start, r.len()), y.narrow(0, r.start, r.len()));
//!     mse_loss(&model.forward(&xs), &ys, Reduction::Sum) / 8.0
//! });
//! assert!(loss.item() > 0.0);
//! assert!(model.weight.grad().is_some());
//! ```

use crate::autograd::grad;
use crate::backend::Backend;
use crate::grad_mode::{enable_grad, no_grad};
use crate::nn::Module;
use crate::random::shard_stream;
use crate::variable::Variable;
use rayon::prelude::*;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

/// `n` items cut into `shards` contiguous ranges as even as possible (the first ones one
/// longer), fixed by `n` and `shards` alone. Fewer ranges when `n < shards`.
pub fn shard_ranges(n: usize, shards: usize) -> Vec<Range<usize>> {
    let shards = shards.clamp(1, n.max(1));
    let (base, extra) = (n / shards, n % shards);
    let mut start = 0;
    (0..shards)
        .map(|i| {
            let len = base + usize::from(i < extra);
            let r = start..start + len;
            start += len;
            r
        })
        .filter(|r| !r.is_empty())
        .collect()
}

/// Runs `shard_loss(i)` for each shard `i` in `0..shards`, each one's forward and backward
/// pass in its own rayon task, then adds the gradients, summed in shard order, into the
/// gradients of `model`'s parameters (as `backward` would). Returns the sum of the shard
/// losses, as a constant.
///
/// `shard_loss` should compute shard `i`'s part of the batch loss, such as the sum of its
/// samples' losses divided by the batch size, so that the parts add up to the batch loss.
///
/// # Panics
/// If `shards` is 0, or a shard's loss has more than one element or does not depend on
/// the model (a constant).
#[track_caller]
pub fn backward_shards<B, M, F>(model: &M, shards: usize, shard_loss: F) -> Variable<B>
where
    B: Backend,
    M: Module<B> + ?Sized,
    F: Fn(usize) -> Variable<B> + Sync,
{
    assert!(shards > 0, "backward_shards: no shards");
    // An identity for this step, for stochastic layers (see `random::shard_stream`).
    static STEP: AtomicU64 = AtomicU64::new(0);
    let step = STEP.fetch_add(1, Ordering::Relaxed);
    let params = model.parameters();
    let refs: Vec<&Variable<B>> = params.iter().collect();
    let results: Vec<(Variable<B>, Vec<Variable<B>>)> = (0..shards)
        .into_par_iter()
        .map(|i| {
            shard_stream::within(step, i as u64, || {
                // Recording is per thread, and a pool thread waiting inside another
                // shard's backward pass (where it is off) may take this task up.
                let loss = enable_grad(|| shard_loss(i));
                let grads = grad(&loss, &refs, None, false);
                (loss.detach(), grads)
            })
        })
        .collect();
    no_grad(|| {
        let mut results = results.into_iter();
        let (mut total, mut sums) = results.next().expect("at least one shard");
        for (loss, grads) in results {
            total += loss;
            for (sum, g) in sums.iter_mut().zip(grads) {
                *sum = &*sum + g;
            }
        }
        for (p, g) in params.iter().zip(sums) {
            p.set_grad(Some(match p.grad() {
                None => g,
                Some(old) => old + g,
            }));
        }
        total
    })
}
