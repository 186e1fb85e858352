//! A small, seeded random number generator.
//!
//! ferrograd draws every random number (initialisation, dropout, shuffling, gradient-check
//! weights) from an explicit seed through this generator, so that the same seed gives the
//! same numbers on every backend, platform and ferrograd version. It is SplitMix64
//! (Steele, Lea and Flood, 2014): tiny, fast and statistically sound for this use; it is
//! not for cryptography.

/// A seeded SplitMix64 generator.
///
/// ```
/// use ferrograd::random::Rng;
/// let mut a = Rng::new(42);
/// let mut b = Rng::new(42);
/// assert_eq!(a.uniform(), b.uniform());
/// ```
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform number in `[0, 1)`, with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform number in `[lo, hi)`.
    pub fn uniform_in(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// A standard normal number (Box–Muller; one pair of uniforms per draw, so that the
    /// sequence does not depend on how many draws were taken before).
    pub fn normal(&mut self) -> f64 {
        // 1 − u lies in (0, 1], so the logarithm is finite.
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// A uniform integer in `0..n`, without modulo bias.
    ///
    /// # Panics
    /// If `n` is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "Rng::below: the range is empty");
        // Lemire's multiply-and-reject.
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = (self.next_u64() as u128) * (n as u128);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// Shuffles `items` in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

/// Random streams for code running inside data-parallel shards.
///
/// Stochastic layers (dropout) normally draw from their own generator, in call order. Inside
/// [`backward_shards`](crate::data_parallel::backward_shards) the shards run in parallel, so
/// call order depends on thread scheduling. There, a layer takes one value from its own
/// generator per data-parallel step (whichever shard asks first gets the same value) and
/// derives each mask from it, the shard and the call count within the shard: results then
/// do not depend on the number of threads.
pub mod shard_stream {
    use std::cell::Cell;

    /// Where a draw happens: the data-parallel step (an identity, unique per call of
    /// `backward_shards`), the shard, and the number of earlier draws in this shard.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Position {
        /// The data-parallel step.
        pub step: u64,
        /// The shard.
        pub shard: u64,
        /// Draws already made in this shard during this step.
        pub call: u64,
    }

    thread_local! {
        static CURRENT: Cell<Option<Position>> = const { Cell::new(None) };
    }

    /// Runs `f` as shard `shard` of data-parallel step `step` on this thread (restoring the
    /// previous state afterwards, also on panic).
    pub(crate) fn within<R>(step: u64, shard: u64, f: impl FnOnce() -> R) -> R {
        struct Restore(Option<Position>);
        impl Drop for Restore {
            fn drop(&mut self) {
                CURRENT.with(|s| s.set(self.0));
            }
        }
        let start = Position {
            step,
            shard,
            call: 0,
        };
        let _restore = Restore(CURRENT.with(|s| s.replace(Some(start))));
        f()
    }

    /// Inside a shard, the position of the next draw (and counts it); outside, `None`.
    pub fn next() -> Option<Position> {
        CURRENT.with(|s| {
            let p = s.get()?;
            s.set(Some(Position {
                call: p.call + 1,
                ..p
            }));
            Some(p)
        })
    }

    /// A seed for a draw at `position` from a layer's per-step `base` value.
    pub fn seed(base: u64, position: Position) -> u64 {
        let mut rng = super::Rng::new(base ^ position.shard.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut mixed = rng.next_u64() ^ position.call.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = super::Rng::new(mixed).next_u64();
        mixed
    }
}
