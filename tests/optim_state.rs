//! Optimizer state: saved and loaded (in memory and through a file), training resumes to
//! the bit where it stopped, for every optimizer and configuration; a state that does not
//! fit is refused with every problem named, the optimizer untouched.

use ferrograd::checkpoint::{self, CheckpointError, Problem};
use ferrograd::optim::{Adagrad, Adam, AdamW, Optimizer, RmsProp, Sgd};
use ferrograd::{Element, TensorOps, Variable};
use ferrograd_ndarray::NdArray;
use ferrograd_scalar::Scalar;

#[path = "common/scratch.rs"]
mod scratch;

use scratch::scratch;

type Make<B> = fn(Vec<Variable<B>>) -> Box<dyn Optimizer<B>>;

/// Every optimizer, in the configurations that keep different buffers.
fn configurations<B: TensorOps>() -> Vec<(&'static str, Make<B>)> {
    vec![
        ("sgd", |p| Box::new(Sgd::new(p, 0.05))),
        ("sgd momentum", |p| {
            Box::new(Sgd::new(p, 0.05).momentum(0.9).dampening(0.1))
        }),
        ("sgd nesterov", |p| {
            Box::new(Sgd::new(p, 0.05).momentum(0.9).nesterov(true))
        }),
        ("adam", |p| Box::new(Adam::new(p, 0.05))),
        ("adam amsgrad", |p| {
            Box::new(Adam::new(p, 0.05).amsgrad(true).weight_decay(0.01))
        }),
        ("adamw", |p| Box::new(AdamW::new(p, 0.05))),
        ("rmsprop", |p| Box::new(RmsProp::new(p, 0.01))),
        ("rmsprop centred momentum", |p| {
            Box::new(RmsProp::new(p, 0.01).centered(true).momentum(0.5))
        }),
        ("adagrad", |p| {
            Box::new(
                Adagrad::new(p, 0.1)
                    .lr_decay(0.01)
                    .initial_accumulator_value(0.1),
            )
        }),
    ]
}

/// Three parameters: a matrix and a vector that a loss uses, and one it never touches (so
/// it has no gradient and no optimizer state).
fn parameters<B: TensorOps>(values: &[Vec<f64>; 3]) -> Vec<Variable<B>> {
    let shapes: [&[usize]; 3] = [&[3, 2], &[2], &[4]];
    values
        .iter()
        .zip(shapes)
        .map(|(v, shape)| {
            let data = v.iter().map(|&x| B::Elem::from_f64(x)).collect();
            Variable::from_vec(data, shape).unwrap().requires_grad()
        })
        .collect()
}

fn initial_values() -> [Vec<f64>; 3] {
    [
        vec![0.5, -1.2, 0.3, 0.8, -0.7, 1.5],
        vec![0.1, -0.4],
        vec![1.0, 2.0, 3.0, 4.0],
    ]
}

fn values<B: TensorOps>(params: &[Variable<B>]) -> [Vec<f64>; 3] {
    [0, 1, 2].map(|i| params[i].to_vec().iter().map(|v| v.as_f64()).collect())
}

/// One step on a loss whose gradients change from step to step.
fn step<B: TensorOps>(opt: &mut dyn Optimizer<B>) {
    let p = opt.parameters().to_vec();
    opt.zero_grad();
    let x = Variable::<B>::from_vec(
        [0.3, -0.6, 0.9, 1.2, -0.1, 0.4]
            .map(B::Elem::from_f64)
            .to_vec(),
        &[2, 3],
    )
    .unwrap();
    let target =
        Variable::<B>::from_vec([1.0, -1.0].map(B::Elem::from_f64).to_vec(), &[2]).unwrap();
    let out = (x.matmul(&p[0]) + &p[1]).tanh().sum_dims(&[0], false);
    (out - target).square().sum().backward();
    opt.step();
}

fn bits(values: &[Vec<f64>; 3]) -> Vec<Vec<u64>> {
    values
        .iter()
        .map(|v| v.iter().map(|x| x.to_bits()).collect())
        .collect()
}

/// Trains 3 steps, saves the optimizer (in memory and to a file), trains 4 more; then a
/// fresh optimizer (with another learning rate, which the state replaces) over parameters
/// holding the saved values loads the state and trains 4 steps: the results are equal to
/// the bit. Without the state, they differ (except for plain SGD, which keeps none).
fn resumes_exactly<B: TensorOps>(tag: &str) {
    let dir = scratch(tag);
    for (name, make) in configurations::<B>() {
        let path = dir.join(format!("{}.safetensors", name.replace(' ', "_")));
        let mut original = make(parameters::<B>(&initial_values()));
        for _ in 0..3 {
            step(original.as_mut());
        }
        let saved_values = values(original.parameters());
        let saved_state = original.state_dict();
        assert_eq!(saved_state.params.len(), 3, "{name}");
        assert!(
            saved_state.params[2].is_none(),
            "{name}: no gradient, no state"
        );
        checkpoint::save_optimizer(original.as_ref(), &path).unwrap();
        for _ in 0..4 {
            step(original.as_mut());
        }
        let expected = bits(&values(original.parameters()));

        let resume = |load: &dyn Fn(&mut dyn Optimizer<B>)| {
            let mut fresh = make(parameters::<B>(&saved_values));
            fresh.set_learning_rate(0.123);
            load(fresh.as_mut());
            for _ in 0..4 {
                step(fresh.as_mut());
            }
            bits(&values(fresh.parameters()))
        };
        let from_memory = resume(&|opt| opt.load_state_dict(saved_state.clone()).unwrap());
        let from_file = resume(&|opt| checkpoint::load_optimizer(opt, &path).unwrap());
        let without_state = resume(&|opt| opt.set_learning_rate(saved_state.learning_rate));
        assert_eq!(from_memory, expected, "{tag} {name}: resumed from memory");
        assert_eq!(from_file, expected, "{tag} {name}: resumed from the file");
        if name == "sgd" {
            assert!(saved_state.params.iter().all(Option::is_none));
            assert_eq!(without_state, expected, "{name}: plain SGD keeps no state");
        } else {
            assert_ne!(without_state, expected, "{tag} {name}: the state matters");
        }

        let mut reloaded = make(parameters::<B>(&saved_values));
        checkpoint::load_optimizer(reloaded.as_mut(), &path).unwrap();
        assert_eq!(
            reloaded.state_dict(),
            saved_state,
            "{name}: the file holds it all"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn training_resumes_to_the_bit_f64() {
    resumes_exactly::<NdArray<f64>>("f64");
}

#[test]
fn training_resumes_to_the_bit_f32() {
    resumes_exactly::<NdArray<f32>>("f32");
}

#[test]
fn scalar_parameters_resume_too() {
    let x = || Variable::<Scalar<f64>>::scalar(0.5).requires_grad();
    let run = |opt: &mut Adam<Scalar<f64>>, steps: usize| {
        for _ in 0..steps {
            opt.zero_grad();
            let p = &opt.parameters()[0];
            (p.tanh() - 0.9).square().backward();
            opt.step();
        }
    };
    let mut original = Adam::new(vec![x()], 0.1).amsgrad(true);
    run(&mut original, 3);
    let state = original.state_dict();
    let value = original.parameters()[0].item();
    run(&mut original, 4);

    let resumed_param = Variable::<Scalar<f64>>::scalar(value).requires_grad();
    let mut resumed = Adam::new(vec![resumed_param], 0.1).amsgrad(true);
    resumed.load_state_dict(state).unwrap();
    run(&mut resumed, 4);
    assert_eq!(
        resumed.parameters()[0].item().to_bits(),
        original.parameters()[0].item().to_bits()
    );
}

/// The optimizer's state before and after a refused load are the same.
fn refused<B: TensorOps>(
    opt: &mut dyn Optimizer<B>,
    load: impl FnOnce(&mut dyn Optimizer<B>) -> Vec<Problem>,
) -> Vec<Problem> {
    let before = opt.state_dict();
    let problems = load(opt);
    assert_eq!(opt.state_dict(), before, "a refused state changes nothing");
    problems
}

#[test]
fn a_state_that_does_not_fit_is_refused_naming_every_problem() {
    type B = NdArray<f64>;
    let trained = |opt: Box<dyn Optimizer<B>>| {
        let mut opt = opt;
        step(opt.as_mut());
        opt
    };
    let params = || parameters::<B>(&initial_values());
    let adam = trained(Box::new(Adam::new(params(), 0.05))).state_dict();
    let amsgrad = trained(Box::new(Adam::new(params(), 0.05).amsgrad(true))).state_dict();

    // Another optimizer's state.
    let mut sgd = trained(Box::new(Sgd::new(params(), 0.1).momentum(0.9)));
    let problems = refused(sgd.as_mut(), |o| {
        o.load_state_dict(adam.clone()).unwrap_err()
    });
    assert_eq!(
        problems,
        [Problem::Optimizer {
            expected: "sgd".into(),
            found: "adam".into()
        }]
    );
    let mut adamw = trained(Box::new(AdamW::new(params(), 0.05)));
    let problems = refused(adamw.as_mut(), |o| {
        o.load_state_dict(adam.clone()).unwrap_err()
    });
    assert!(matches!(&problems[..], [Problem::Optimizer { found, .. }] if found == "adam"));

    // Configured differently: AMSGrad's extra buffer is unexpected one way, missing the
    // other, for both parameters that have state.
    let mut plain = trained(Box::new(Adam::new(params(), 0.05)));
    let problems = refused(plain.as_mut(), |o| {
        o.load_state_dict(amsgrad.clone()).unwrap_err()
    });
    assert_eq!(
        problems,
        [
            Problem::Unexpected("state.0.max_exp_avg_sq".into()),
            Problem::Unexpected("state.1.max_exp_avg_sq".into())
        ]
    );
    let mut with_max = trained(Box::new(Adam::new(params(), 0.05).amsgrad(true)));
    let problems = refused(with_max.as_mut(), |o| {
        o.load_state_dict(adam.clone()).unwrap_err()
    });
    assert_eq!(
        problems,
        [
            Problem::Missing("state.0.max_exp_avg_sq".into()),
            Problem::Missing("state.1.max_exp_avg_sq".into())
        ]
    );

    // Parameters of other shapes, or another number of them.
    let mut other_shapes = Adam::new(
        vec![
            Variable::<B>::zeros(&[2, 3]).requires_grad(),
            Variable::<B>::zeros(&[2]).requires_grad(),
            Variable::<B>::zeros(&[4]).requires_grad(),
        ],
        0.05,
    );
    let problems = refused(&mut other_shapes, |o| {
        o.load_state_dict(adam.clone()).unwrap_err()
    });
    assert_eq!(
        problems,
        ["exp_avg", "exp_avg_sq"].map(|b| Problem::Shape {
            name: format!("state.0.{b}"),
            expected: vec![2, 3],
            found: vec![3, 2],
        })
    );
    let mut fewer = Adam::new(params()[..2].to_vec(), 0.05);
    let problems = refused(&mut fewer, |o| o.load_state_dict(adam.clone()).unwrap_err());
    assert_eq!(
        problems,
        [Problem::ParameterCount {
            expected: 2,
            found: 3
        }]
    );

    // A step count missing, a learning rate no optimizer takes.
    let mut broken = adam.clone();
    broken.params[1].as_mut().unwrap().step = None;
    broken.learning_rate = -1.0;
    let mut fresh = Adam::new(params(), 0.05);
    let problems = refused(&mut fresh, |o| o.load_state_dict(broken).unwrap_err());
    assert_eq!(
        problems,
        [
            Problem::Value {
                name: "learning_rate".into(),
                found: "-1".into()
            },
            Problem::Missing("state.1.step".into())
        ]
    );
    let message = problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    assert_eq!(
        message,
        "\"learning_rate\" has the invalid value -1; missing \"state.1.step\""
    );
}

/// The problems of a load that must fail with a mismatch.
fn mismatch(result: Result<(), CheckpointError>) -> Vec<Problem> {
    match result {
        Err(CheckpointError::Mismatch { problems, .. }) => problems,
        other => panic!("expected a mismatch, got {other:?}"),
    }
}

#[test]
fn files_that_do_not_fit_are_refused_with_the_optimizer_untouched() {
    let dir = scratch("refused");
    let params64 = || parameters::<NdArray<f64>>(&initial_values());

    // An f32 state into an f64 optimizer.
    let mut adam32 = Adam::new(parameters::<NdArray<f32>>(&initial_values()), 0.05);
    step(&mut adam32);
    let path32 = dir.join("adam32.safetensors");
    checkpoint::save_optimizer(&adam32, &path32).unwrap();
    let mut adam64 = Adam::new(params64(), 0.05);
    let problems = refused(&mut adam64, |o| {
        mismatch(checkpoint::load_optimizer(o, &path32))
    });
    assert_eq!(problems.len(), 4, "{problems:?}");
    assert!(problems
        .iter()
        .all(|p| matches!(p, Problem::Dtype { expected, found, .. } if expected == "f64" && found == "f32")));

    // A model checkpoint is not an optimizer state.
    let model = dir.join("model.safetensors");
    let layer =
        ferrograd::nn::Linear::<NdArray<f64>>::new(2, 2, true, &mut ferrograd::random::Rng::new(0));
    checkpoint::save(&layer, &model).unwrap();
    let error = checkpoint::load_optimizer(&mut adam64, &model).unwrap_err();
    assert!(
        matches!(&error, CheckpointError::Corrupt { reason, .. } if reason.contains("not an optimizer state")),
        "{error}"
    );

    // An optimizer header over tensors and step counts that name no parameter's buffer.
    let stray = dir.join("stray.safetensors");
    let header = [
        ("format", "ferrograd-optimizer/1"),
        ("optimizer", "adam"),
        ("learning_rate", "0.05"),
        ("parameters", "3"),
        ("state.7.step", "1"),
        ("state.x.step", "1"),
    ];
    checkpoint::save_with_metadata(&layer, &stray, &header).unwrap();
    let problems = refused(&mut adam64, |o| {
        mismatch(checkpoint::load_optimizer(o, &stray))
    });
    let mut tensors = problems[2..].to_vec();
    tensors.sort_by_key(|p| p.to_string());
    assert_eq!(
        problems[..2],
        ["state.7.step", "state.x.step"].map(|k| Problem::Unexpected(k.into()))
    );
    assert_eq!(
        tensors,
        ["bias", "weight"].map(|k| Problem::Unexpected(k.into()))
    );

    // Another number of parameters, from the file.
    let mut fewer = Adam::new(params64()[..1].to_vec(), 0.05);
    let error = checkpoint::load_optimizer(&mut fewer, &path32).unwrap_err();
    assert!(error
        .to_string()
        .contains("the state is for 3 parameters, the optimizer has 1"));

    // A missing file.
    let error = checkpoint::load_optimizer(&mut adam64, dir.join("absent")).unwrap_err();
    assert!(matches!(error, CheckpointError::Io { .. }));
    std::fs::remove_dir_all(&dir).unwrap();
}
