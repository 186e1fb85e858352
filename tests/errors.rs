//! Bad input gets a clear error: shape mismatches panic naming the op, both shapes and the
//! caller's line, as do invalid optimizer settings (naming the setting and the value); bad
//! data (wrong lengths, indices out of range) returns a typed error.

use ferrograd::nn::functional::{self as f, Reduction};
use ferrograd::optim::{
    Adagrad, Adam, CosineAnnealingLr, LinearLr, LrSchedule, Optimizer, RmsProp, Scheduler, Sgd,
    StepLr,
};
use ferrograd::{Error, Indices, Variable};
use ferrograd_ndarray::NdArray;
use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Mutex;

type T = Variable<NdArray<f64>>;

fn t(shape: &[usize]) -> T {
    let n = shape.iter().product();
    T::from_vec((0..n).map(|i| i as f64 * 0.1 + 0.1).collect(), shape).unwrap()
}

/// Runs `f`, which must panic; returns the message and the line the panic was reported at.
fn panic_of(f: impl FnOnce()) -> (String, u32) {
    static LOCATION: Mutex<Option<(String, u32)>> = Mutex::new(None);
    let previous = panic::take_hook();
    panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        let line = info.location().map_or(0, |l| l.line());
        *LOCATION.lock().unwrap() = Some((message, line));
    }));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    panic::set_hook(previous);
    assert!(result.is_err(), "expected a panic");
    LOCATION
        .lock()
        .unwrap()
        .take()
        .expect("the hook saw the panic")
}

/// One test, so that the panic hook is not shared between threads.
#[test]
fn misuse_panics_naming_the_op_the_values_and_the_callers_line() {
    // (op, what the message must name, code that panics after recording its line)
    type Case = (
        &'static str,
        &'static [&'static str],
        Box<dyn FnOnce(&Cell<u32>)>,
    );
    let cases: Vec<Case> = vec![
        (
            "add",
            &["add", "[3]", "[4]"],
            Box::new(|at| {
                at.set(line!() + 1);
                let _ = t(&[3]) + t(&[4]);
            }),
        ),
        (
            "mul",
            &["mul", "[2, 3]", "[3, 2]"],
            Box::new(|at| {
                at.set(line!() + 1);
                let _ = t(&[2, 3]).mul(&t(&[3, 2]));
            }),
        ),
        (
            "Indices::rows",
            &["Indices::rows", "2..5", "[4]"],
            Box::new(|at| {
                at.set(line!() + 1);
                let _ = Indices::vector(vec![0, 1, 2, 3]).rows(2..5);
            }),
        ),
        (
            "matmul",
            &["matmul", "[2, 3]", "[4, 5]"],
            Box::new(|at| {
                at.set(line!() + 1);
                let _ = t(&[2, 3]).matmul(&t(&[4, 5]));
            }),
        ),
        (
            "reshape",
            &["reshape", "[2, 3]", "[4, 2]"],
            Box::new(|at| {
                at.set(line!() + 1);
                let _ = t(&[2, 3]).reshape(&[4, 2]);
            }),
        ),
        (
            "cat",
            &["cat", "[2, 3]", "[2, 4]"],
            Box::new(|at| {
                at.set(line!() + 1);
                let _ = T::cat(&[&t(&[2, 3]), &t(&[2, 4])], 0);
            }),
        ),
        (
            "conv2d",
            &["conv2d", "[1, 2, 5, 5]", "[3, 1, 3, 3]"],
            Box::new(|at| {
                at.set(line!() + 1);
                let _ = f::conv2d(&t(&[1, 2, 5, 5]), &t(&[3, 1, 3, 3]), None, 1, 0);
            }),
        ),
        (
            "mse_loss",
            &["mse_loss", "[3]", "[3, 1]"],
            Box::new(|at| {
                at.set(line!() + 1);
                let _ = f::mse_loss(&t(&[3]), &t(&[3, 1]), Reduction::Mean);
            }),
        ),
        (
            "sum_dims",
            &["sum_dims", "dimension 2", "rank 2"],
            Box::new(|at| {
                at.set(line!() + 1);
                let _ = t(&[2, 3]).sum_dims(&[2], false);
            }),
        ),
        (
            "backward_with",
            &["backward_with", "[3]", "[2]"],
            Box::new(|at| {
                let x = t(&[2]).requires_grad();
                at.set(line!() + 1);
                x.exp().backward_with(&t(&[3]));
            }),
        ),
        (
            "backward",
            &["backward", "[2]", "single element"],
            Box::new(|at| {
                let x = t(&[2]).requires_grad();
                at.set(line!() + 1);
                x.exp().backward();
            }),
        ),
    ];
    let params = || vec![t(&[2]).requires_grad()];
    // Every optimizer setting PyTorch rejects, rejected here too (NaN included).
    let settings: Vec<Case> = vec![
        (
            "Sgd::new",
            &["invalid learning rate: -0.1"],
            Box::new(move |at| {
                at.set(line!() + 1);
                let _ = Sgd::new(params(), -0.1);
            }),
        ),
        (
            "Sgd::momentum",
            &["invalid momentum: -0.5"],
            Box::new(move |at| {
                at.set(line!() + 1);
                let _ = Sgd::new(params(), 0.1).momentum(-0.5);
            }),
        ),
        (
            "Adam::betas",
            &["invalid beta2: 1"],
            Box::new(move |at| {
                at.set(line!() + 1);
                let _ = Adam::new(params(), 0.1).betas(0.9, 1.0);
            }),
        ),
        (
            "Adam::eps",
            &["invalid eps: -0.00000001"],
            Box::new(move |at| {
                at.set(line!() + 1);
                let _ = Adam::new(params(), 0.1).eps(-1e-8);
            }),
        ),
        (
            "RmsProp::alpha",
            &["invalid alpha: -0.5"],
            Box::new(move |at| {
                at.set(line!() + 1);
                let _ = RmsProp::new(params(), 0.1).alpha(-0.5);
            }),
        ),
        (
            "RmsProp::eps",
            &["invalid eps: -0.5"],
            Box::new(move |at| {
                at.set(line!() + 1);
                let _ = RmsProp::new(params(), 0.1).eps(-0.5);
            }),
        ),
        (
            "RmsProp::weight_decay",
            &["invalid weight decay: -0.5"],
            Box::new(move |at| {
                at.set(line!() + 1);
                let _ = RmsProp::new(params(), 0.1).weight_decay(-0.5);
            }),
        ),
        (
            "RmsProp::momentum",
            &["invalid momentum: -0.5"],
            Box::new(move |at| {
                at.set(line!() + 1);
                let _ = RmsProp::new(params(), 0.1).momentum(-0.5);
            }),
        ),
        (
            "Adagrad::lr_decay",
            &["invalid learning-rate decay: -0.5"],
            Box::new(move |at| {
                at.set(line!() + 1);
                let _ = Adagrad::new(params(), 0.1).lr_decay(-0.5);
            }),
        ),
        (
            "Adagrad::weight_decay",
            &["invalid weight decay: -0.5"],
            Box::new(move |at| {
                at.set(line!() + 1);
                let _ = Adagrad::new(params(), 0.1).weight_decay(-0.5);
            }),
        ),
        (
            "Adagrad::initial_accumulator_value",
            &["invalid initial accumulator value: -0.5"],
            Box::new(move |at| {
                at.set(line!() + 1);
                let _ = Adagrad::new(params(), 0.1).initial_accumulator_value(-0.5);
            }),
        ),
        (
            "Adagrad::eps",
            &["invalid eps: -0.5"],
            Box::new(move |at| {
                at.set(line!() + 1);
                let _ = Adagrad::new(params(), 0.1).eps(-0.5);
            }),
        ),
        (
            "set_learning_rate",
            &["invalid learning rate: NaN"],
            Box::new(move |at| {
                let mut opt = Adam::new(params(), 0.1);
                at.set(line!() + 1);
                opt.set_learning_rate(f64::NAN);
            }),
        ),
        (
            "Scheduler::new",
            &["Scheduler: CosineAnnealingLr needs a t_max of at least 1"],
            Box::new(move |at| {
                let mut opt = Sgd::new(params(), 0.1);
                let no_period = CosineAnnealingLr {
                    t_max: 0,
                    eta_min: 0.0,
                };
                at.set(line!() + 1);
                let _ = Scheduler::new(no_period, &mut opt);
            }),
        ),
        (
            "Scheduler::resume",
            &["Scheduler: LinearLr needs 0 < start_factor ≤ 1, got 0"],
            Box::new(move |at| {
                let mut opt = Sgd::new(params(), 0.1);
                let from_zero = LinearLr {
                    start_factor: 0.0,
                    end_factor: 1.0,
                    total_iters: 5,
                };
                at.set(line!() + 1);
                let _ = Scheduler::resume(from_zero, 0.1, 2, &mut opt);
            }),
        ),
        (
            "LrSchedule::lr_at",
            &["StepLr needs a step_size of at least 1"],
            Box::new(move |at| {
                // Used without a Scheduler: refused rather than divided by zero.
                let never = StepLr {
                    step_size: 0,
                    gamma: 0.5,
                };
                at.set(line!() + 1);
                let _ = never.lr_at(3, 0.1);
            }),
        ),
        (
            "Scheduler::step",
            &["invalid learning rate: -0.1"],
            Box::new(move |at| {
                // A schedule no check can foresee: the rate itself is refused.
                let mut opt = Sgd::new(params(), 0.1);
                let flips = StepLr {
                    step_size: 1,
                    gamma: -1.0,
                };
                let mut scheduler = Scheduler::new(flips, &mut opt);
                at.set(line!() + 1);
                scheduler.step(&mut opt);
            }),
        ),
    ];
    for (op, needles, run) in cases.into_iter().chain(settings) {
        let at = Cell::new(0);
        let (message, line) = panic_of(|| run(&at));
        let expected_line = at.get();
        for needle in needles {
            assert!(
                message.contains(needle),
                "{op}: message {message:?} lacks {needle:?}"
            );
        }
        assert_eq!(
            line, expected_line,
            "{op}: the panic points at the caller's line ({message})"
        );
    }
}

#[test]
fn wrong_length_data_is_a_typed_error() {
    let err = T::from_vec(vec![1.0; 5], &[2, 3]).unwrap_err();
    assert_eq!(
        err,
        Error::LengthMismatch {
            op: "from_vec",
            shape: vec![2, 3],
            expected: 6,
            got: 5
        }
    );
    assert_eq!(
        err.to_string(),
        "from_vec: shape [2, 3] holds 6 elements but 5 were given"
    );
    assert!(matches!(
        Indices::new(vec![0, 1], &[3]),
        Err(Error::LengthMismatch { .. })
    ));
    assert!(matches!(
        Indices::from_i64(&[0, -1], &[2]),
        Err(Error::IndexOutOfRange { index: -1, .. })
    ));
}

#[test]
fn indices_out_of_range_are_typed_errors() {
    let x = t(&[4, 3]);
    let out_of_range =
        |op: &'static str, index: i64, size: usize| Error::IndexOutOfRange { op, index, size };
    assert_eq!(
        x.index_select(0, &Indices::vector(vec![1, 4])).unwrap_err(),
        out_of_range("index_select", 4, 4)
    );
    assert_eq!(
        x.gather(1, &Indices::new(vec![0, 3, 1, 2], &[4, 1]).unwrap())
            .unwrap_err(),
        out_of_range("gather", 3, 3)
    );
    assert_eq!(
        f::embedding(&x, &Indices::vector(vec![7])).unwrap_err(),
        out_of_range("index_select", 7, 4)
    );
    let err =
        f::cross_entropy(&x, &Indices::vector(vec![0, 1, 2, 3]), 0.0, Reduction::Mean).unwrap_err();
    assert_eq!(err, out_of_range("cross_entropy", 3, 3));
    assert_eq!(
        err.to_string(),
        "cross_entropy: index 3 is out of range for a dimension of size 3"
    );
    assert!(f::nll_loss(&x, &Indices::vector(vec![0, 0, 0, 5]), Reduction::Mean).is_err());
}
