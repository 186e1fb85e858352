//! Vectorisable `exp`, `tanh` and `sigmoid` for `f32`.
//!
//! libm's `expf` and `tanhf` are accurate but scalar, with branches: about 10 to 20 ns an
//! element, which made `tanh` over a few million elements the whole cost of W3. These
//! versions use only arithmetic, comparisons and bit operations that the compiler turns
//! into SIMD code, at under 1 ns an element, with at most a few ulps of error (tested below
//! against `f64`). `f64` keeps the standard functions: its fixtures ask for 1e-10, and f64
//! models are for accuracy, not speed.

/// Element types with fast elementwise transcendental kernels.
pub trait FastMath: Copy {
    /// `eˣ`
    fn fast_exp(self) -> Self;
    /// `tanh x`
    fn fast_tanh(self) -> Self;
    /// `1 / (1 + e⁻ˣ)`
    fn fast_sigmoid(self) -> Self;
}

impl FastMath for f64 {
    #[inline]
    fn fast_exp(self) -> f64 {
        self.exp()
    }

    #[inline]
    fn fast_tanh(self) -> f64 {
        self.tanh()
    }

    #[inline]
    fn fast_sigmoid(self) -> f64 {
        ferrograd::backend::UnaryOp::Sigmoid.apply(self)
    }
}

impl FastMath for f32 {
    #[inline]
    fn fast_exp(self) -> f32 {
        exp_f32(self)
    }

    #[inline]
    fn fast_tanh(self) -> f32 {
        tanh_f32(self)
    }

    #[inline]
    fn fast_sigmoid(self) -> f32 {
        // exp of a non-positive argument never overflows; the two halves mirror each other.
        let e = exp_f32(-self.abs());
        let s = 1.0 / (1.0 + e);
        if self >= 0.0 {
            s
        } else {
            e * s
        }
    }
}

/// `eˣ` by Cody–Waite range reduction, `x = k·ln 2 + r` with `|r| ≤ ln 2 / 2`, a degree-6
/// Taylor polynomial for `eʳ` (truncation error under 2⁻²⁴ relative) and `2ᵏ` built in the
/// exponent bits. Below −87.3 the result is flushed to 0 (the true value is subnormal);
/// above 88.72, +∞.
#[inline]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split so that k·LN2_HI is exact for |k| < 2⁸.
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // 1.5·2²³: adding and subtracting it rounds to the nearest integer.
    const ROUND: f32 = 12_582_912.0;
    let clamped = x.clamp(-87.0, 88.0);
    let shifted = clamped * LOG2_E + ROUND;
    let k = shifted - ROUND;
    let r = (clamped - k * LN2_HI) - k * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    // `shifted` holds k in its low mantissa bits (|k| ≤ 127 ≪ 2²²); moving k + 127 into the
    // exponent field with integer arithmetic keeps the whole function vectorisable (a
    // float-to-int `as` cast saturates, which compiles to scalar code).
    let k_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits());
    let scale = f32::from_bits(k_bits.wrapping_add(127) << 23);
    let y = p * scale;
    if x < -87.3 {
        0.0
    } else if x > 88.72 {
        f32::INFINITY
    } else if x.is_nan() {
        x
    } else {
        y
    }
}

/// `tanh x`: the odd Taylor polynomial to `x¹⁹` for `|x| < 0.55` (truncation error below
/// 10⁻⁹ relative; the series converges for `|x| < π/2`), and `1 − 2 / (e^{2|x|} + 1)` with
/// the sign restored above, where the subtraction no longer cancels much. The argument is
/// clamped to 10, past which tanh rounds to exactly ±1 in `f32`.
#[inline]
pub fn tanh_f32(x: f32) -> f32 {
    // tanh x = Σ 2²ⁿ(2²ⁿ − 1) B₂ₙ x²ⁿ⁻¹ / (2n)!, n = 1..10.
    const C3: f32 = (-1.0 / 3.0) as f32;
    const C5: f32 = (2.0 / 15.0) as f32;
    const C7: f32 = (-17.0 / 315.0) as f32;
    const C9: f32 = (62.0 / 2835.0) as f32;
    const C11: f32 = (-1382.0 / 155_925.0) as f32;
    const C13: f32 = (21_844.0 / 6_081_075.0) as f32;
    const C15: f32 = (-929_569.0 / 638_512_875.0) as f32;
    const C17: f32 = (6_404_582.0 / 10_854_718_875.0) as f32;
    const C19: f32 = (-443_861_162.0 / 1_856_156_927_625.0) as f32;
    let a = x.abs().min(10.0);
    let large = 1.0 - 2.0 / (exp_f32(2.0 * a) + 1.0);
    let x2 = x * x;
    let tail = C13 + x2 * (C15 + x2 * (C17 + x2 * C19));
    let small = x + x * x2 * (C3 + x2 * (C5 + x2 * (C7 + x2 * (C9 + x2 * (C11 + x2 * tail)))));
    if a < 0.55 {
        small
    } else if x.is_nan() {
        x
    } else {
        large.copysign(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place between an `f32` and the exact value (f64).
    fn ulps(got: f32, exact: f64) -> f64 {
        let rounded = exact as f32;
        let ulp = (f32::from_bits(rounded.abs().to_bits() + 1) - rounded.abs()) as f64;
        ((got as f64) - exact).abs() / ulp
    }

    fn sweep(lo: f32, hi: f32, n: usize) -> impl Iterator<Item = f32> {
        (0..=n).map(move |i| lo + (hi - lo) * i as f32 / n as f32)
    }

    #[test]
    fn exp_within_three_ulps() {
        let worst = sweep(-87.0, 88.0, 2_000_000)
            .map(|x| ulps(exp_f32(x), (x as f64).exp()))
            .fold(0.0, f64::max);
        assert!(worst <= 3.0, "worst error {worst} ulps");
        assert_eq!(exp_f32(-1000.0), 0.0);
        assert_eq!(exp_f32(1000.0), f32::INFINITY);
        assert!(exp_f32(f32::NAN).is_nan());
        assert_eq!(exp_f32(0.0), 1.0);
    }

    #[test]
    fn tanh_within_four_ulps() {
        let (worst, at) = sweep(-12.0, 12.0, 2_000_000)
            .chain(sweep(-1e-3, 1e-3, 100_000))
            .map(|x| (ulps(tanh_f32(x), (x as f64).tanh()), x))
            .fold((0.0, 0.0), |a, b| if b.0 > a.0 { b } else { a });
        assert!(worst <= 4.0, "worst error {worst} ulps at {at}");
        assert_eq!(tanh_f32(0.0), 0.0);
        assert_eq!(tanh_f32(50.0), 1.0);
        assert_eq!(tanh_f32(-50.0), -1.0);
        assert!(tanh_f32(f32::NAN).is_nan());
    }

    #[test]
    fn sigmoid_within_four_ulps() {
        let exact = |x: f64| 1.0 / (1.0 + (-x).exp());
        let worst = sweep(-80.0, 30.0, 1_000_000)
            .map(|x| ulps(x.fast_sigmoid(), exact(x as f64)))
            .fold(0.0, f64::max);
        assert!(worst <= 4.0, "worst error {worst} ulps");
    }
}
