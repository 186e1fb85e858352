//! Every optimizer makes its update in one pass per parameter (`Backend::zip_map`); three
//! steps of each must give what PyTorch's formulas give written op by op with `Variable`s,
//! to the bit. `NdArray<f32>` runs a parameter large enough for the parallel path, and each
//! case also runs on `NdArray<f64>` and on `Scalar<f64>`. (tests/optim_reference.rs holds
//! PyTorch's own trajectories, matched to 1e-12.)

use ferrograd::optim::{Adagrad, Adam, AdamW, Optimizer, RmsProp, Sgd};
use ferrograd::{Backend, Element, Variable};
use ferrograd_ndarray::NdArray;
use ferrograd_scalar::Scalar;

type V<B> = Variable<B>;

/// Runs `optimizer` (made for one parameter) for three steps with known gradients, and
/// after each compares the parameter with `formula(parameter, gradient)`, which keeps its
/// own buffers.
fn check<B: Backend, O: Optimizer<B>>(
    n: usize,
    shape: &[usize],
    what: &str,
    optimizer: impl Fn(V<B>) -> O,
    mut formula: impl FnMut(&V<B>, &V<B>) -> V<B>,
) {
    let values = |seed: f64| -> Vec<B::Elem> {
        (0..n)
            .map(|i| ((i as f64 + seed) * 0.731).sin() * 10f64.powi((i % 5) as i32 - 2))
            .map(B::Elem::from_f64)
            .collect()
    };
    let p = V::<B>::from_vec(values(1.0), shape)
        .unwrap()
        .requires_grad();
    let mut opt = optimizer(p.clone());
    let mut want = p.detach();
    for step in 0..3 {
        let g = V::<B>::from_vec(values(2.0 + step as f64), shape).unwrap();
        opt.zero_grad();
        (&p * &g).sum().backward(); // ∂/∂p = g
        opt.step();
        want = formula(&want, &g);
        let (got, expected) = (p.to_vec(), want.to_vec());
        let differ = (0..n).find(|&i| got[i].to_bits64() != expected[i].to_bits64());
        if let Some(i) = differ {
            panic!(
                "{what} on {} step {step}: element {i} is {:?}, the formulas give {:?}",
                B::name(),
                got[i],
                expected[i]
            );
        }
    }
}

/// PyTorch's L2 weight decay: `g + decay·p`, where it is on.
fn with_l2<B: Backend>(g: &V<B>, p: &V<B>, decay: f64) -> V<B> {
    if decay != 0.0 {
        g + p * decay
    } else {
        g.clone()
    }
}

/// Runs `case::<B>(n, shape)` on `NdArray<f32>` (a parameter large enough for the
/// parallel path), `NdArray<f64>` and `Scalar<f64>`.
macro_rules! each_backend {
    ($case:ident) => {
        $case::<NdArray<f32>>(100_003, &[100_003]);
        $case::<NdArray<f64>>(1_000, &[10, 100]);
        $case::<Scalar<f64>>(1, &[]);
    };
}

#[test]
fn sgd_plain_with_momentum_and_nesterov() {
    fn case<B: Backend>(n: usize, shape: &[usize]) {
        for (momentum, nesterov, dampening, decay) in [
            (0.0, false, 0.0, 0.0),
            (0.0, false, 0.0, 0.05),
            (0.9, false, 0.13, 0.0),
            (0.9, true, 0.0, 0.0),
            (0.9, false, 0.0, 0.05),
        ] {
            let lr = 0.0137;
            let mut buffer: Option<V<B>> = None;
            check(
                n,
                shape,
                &format!(
                    "SGD (momentum {momentum}, Nesterov {nesterov}, dampening {dampening}, \
                     decay {decay})"
                ),
                |p| {
                    Sgd::new(vec![p], lr)
                        .momentum(momentum)
                        .dampening(dampening)
                        .nesterov(nesterov)
                        .weight_decay(decay)
                },
                |p, g| {
                    let g = with_l2(g, p, decay);
                    if momentum == 0.0 {
                        return p - g * lr;
                    }
                    let b = match buffer.take() {
                        None => g.clone(),
                        Some(b) => b * momentum + &g * (1.0 - dampening),
                    };
                    let d = if nesterov {
                        &g + &b * momentum
                    } else {
                        b.clone()
                    };
                    buffer = Some(b);
                    p - d * lr
                },
            );
        }
    }
    each_backend!(case);
}

#[test]
fn adam_amsgrad_and_adamw() {
    fn case<B: Backend>(n: usize, shape: &[usize]) {
        let (lr, (beta1, beta2), eps) = (0.0137, (0.9, 0.99), 1e-6);
        for (amsgrad, decay, decoupled) in [
            (false, 0.0, false),
            (true, 0.0, false),
            (false, 0.05, false),
            (true, 0.05, true),
        ] {
            let (mut mean, mut square, mut max) = (None::<V<B>>, None::<V<B>>, None::<V<B>>);
            let mut t = 0.0;
            check(
                n,
                shape,
                &format!("Adam (AMSGrad {amsgrad}, decay {decay}, decoupled {decoupled})"),
                |p| {
                    let adam = if decoupled {
                        AdamW::new(vec![p], lr)
                    } else {
                        Adam::new(vec![p], lr)
                    };
                    adam.betas(beta1, beta2)
                        .eps(eps)
                        .weight_decay(decay)
                        .amsgrad(amsgrad)
                },
                |p, g| {
                    t += 1.0;
                    let (p, g) = match (decay != 0.0, decoupled) {
                        (false, _) => (p.clone(), g.clone()),
                        (true, false) => (p.clone(), with_l2(g, p, decay)),
                        (true, true) => (p * (1.0 - lr * decay), g.clone()),
                    };
                    let m = mean.take().unwrap_or_else(|| g.zeros_like());
                    let v = square.take().unwrap_or_else(|| g.zeros_like());
                    let m = &m + (&g - &m) * (1.0 - beta1);
                    let v = v * beta2 + g.square() * (1.0 - beta2);
                    let second = if amsgrad {
                        let top = max.take().unwrap_or_else(|| g.zeros_like()).maximum(&v);
                        max = Some(top.clone());
                        top
                    } else {
                        v.clone()
                    };
                    let denom = second.sqrt() / (1.0 - f64::powf(beta2, t)).sqrt() + eps;
                    let p = p - (&m / denom) * (lr / (1.0 - f64::powf(beta1, t)));
                    (mean, square) = (Some(m), Some(v));
                    p
                },
            );
        }
    }
    each_backend!(case);
}

#[test]
fn rmsprop_plain_centred_and_with_momentum() {
    fn case<B: Backend>(n: usize, shape: &[usize]) {
        let (lr, alpha, eps) = (0.0137, 0.9, 1e-6);
        for (centered, momentum, decay) in [
            (false, 0.0, 0.0),
            (true, 0.0, 0.0),
            (false, 0.8, 0.0),
            (true, 0.8, 0.05),
        ] {
            let (mut square, mut mean, mut buffer) = (None::<V<B>>, None::<V<B>>, None::<V<B>>);
            check(
                n,
                shape,
                &format!("RMSprop (centred {centered}, momentum {momentum}, decay {decay})"),
                |p| {
                    RmsProp::new(vec![p], lr)
                        .alpha(alpha)
                        .eps(eps)
                        .centered(centered)
                        .momentum(momentum)
                        .weight_decay(decay)
                },
                |p, g| {
                    let g = with_l2(g, p, decay);
                    let v = square.take().unwrap_or_else(|| g.zeros_like());
                    let v = v * alpha + g.square() * (1.0 - alpha);
                    let avg = if centered {
                        let m = mean.take().unwrap_or_else(|| g.zeros_like());
                        let m = &m + (&g - &m) * (1.0 - alpha);
                        let avg = (&v - m.square()).sqrt();
                        mean = Some(m);
                        avg
                    } else {
                        v.sqrt()
                    } + eps;
                    square = Some(v);
                    let step = if momentum > 0.0 {
                        let b = buffer.take().unwrap_or_else(|| g.zeros_like());
                        let b = b * momentum + &g / &avg;
                        buffer = Some(b.clone());
                        b
                    } else {
                        &g / &avg
                    };
                    p - step * lr
                },
            );
        }
    }
    each_backend!(case);
}

#[test]
fn adagrad_with_decays() {
    fn case<B: Backend>(n: usize, shape: &[usize]) {
        let (lr, eps, initial) = (0.0137, 1e-6, 0.1);
        for (lr_decay, decay) in [(0.0, 0.0), (0.05, 0.02)] {
            let mut sum: Option<V<B>> = None;
            let mut t = 0.0;
            check(
                n,
                shape,
                &format!("Adagrad (lr decay {lr_decay}, weight decay {decay})"),
                |p| {
                    Adagrad::new(vec![p], lr)
                        .eps(eps)
                        .initial_accumulator_value(initial)
                        .lr_decay(lr_decay)
                        .weight_decay(decay)
                },
                |p, g| {
                    t += 1.0;
                    let g = with_l2(g, p, decay);
                    let s = sum
                        .take()
                        .unwrap_or_else(|| g.full_like(B::Elem::from_f64(initial)));
                    let s = s + g.square();
                    let clr = lr / (1.0 + (t - 1.0) * lr_decay);
                    let p = p - (&g / (s.sqrt() + eps)) * clr;
                    sum = Some(s);
                    p
                },
            );
        }
    }
    each_backend!(case);
}
