//! PyTorch's optimizer trajectories, learning-rate schedules and gradient clipping
//! (tests/reference/optim.json), matched in f64 to 1e-12, on both backends where the
//! parameters fit (tensor parameters need the tensor backend; the scalar backend runs the
//! same updates element by element).

use ferrograd::optim::{
    clip_grad_norm, Adagrad, Adam, AdamW, CosineAnnealingLr, LinearLr, LrSchedule, Optimizer,
    RmsProp, Scheduler, Sgd, StepLr,
};
use ferrograd::{Backend, Variable};
use ferrograd_ndarray::NdArray;
use ferrograd_scalar::Scalar;
use serde_json::Value;

const TOL: f64 = 1e-12;

fn load() -> Vec<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/optim.json");
    let root: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(root["format"], "ferrograd-reference/1");
    root["cases"].as_array().unwrap().clone()
}

struct Tensor {
    shape: Vec<usize>,
    data: Vec<f64>,
}

fn tensor(v: &Value) -> Tensor {
    Tensor {
        shape: v["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect(),
        data: v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect(),
    }
}

#[track_caller]
fn assert_close(what: &str, got: &[f64], expected: &[f64]) {
    assert_eq!(got.len(), expected.len(), "{what}: length");
    for (i, (&g, &e)) in got.iter().zip(expected).enumerate() {
        assert!(
            (g - e).abs() <= TOL * e.abs().max(1.0),
            "{what}[{i}]: got {g:e}, expected {e:e}"
        );
    }
}

fn cfg(case: &Value, key: &str) -> Option<f64> {
    case["config"].get(key).map(|v| {
        v.as_f64()
            .unwrap_or_else(|| v.as_bool().map(f64::from).unwrap())
    })
}

/// The optimizer a case describes, over `params`.
fn optimizer<B: Backend>(case: &Value, params: Vec<Variable<B>>) -> Box<dyn Optimizer<B>> {
    let lr = cfg(case, "lr").unwrap();
    let flag = |key| cfg(case, key).is_some_and(|v| v != 0.0);
    let betas = case["config"]
        .get("betas")
        .map(|b| (b[0].as_f64().unwrap(), b[1].as_f64().unwrap()));
    match case["optimizer"].as_str().unwrap() {
        "sgd" => Box::new(
            Sgd::new(params, lr)
                .momentum(cfg(case, "momentum").unwrap_or(0.0))
                .dampening(cfg(case, "dampening").unwrap_or(0.0))
                .nesterov(flag("nesterov"))
                .weight_decay(cfg(case, "weight_decay").unwrap_or(0.0)),
        ),
        name @ ("adam" | "adamw") => {
            let mut opt = if name == "adam" {
                Adam::new(params, lr).weight_decay(cfg(case, "weight_decay").unwrap_or(0.0))
            } else {
                AdamW::new(params, lr).weight_decay(cfg(case, "weight_decay").unwrap_or(0.01))
            };
            if let Some((b1, b2)) = betas {
                opt = opt.betas(b1, b2);
            }
            if let Some(eps) = cfg(case, "eps") {
                opt = opt.eps(eps);
            }
            Box::new(opt.amsgrad(flag("amsgrad")))
        }
        "rmsprop" => Box::new(
            RmsProp::new(params, lr)
                .alpha(cfg(case, "alpha").unwrap_or(0.99))
                .momentum(cfg(case, "momentum").unwrap_or(0.0))
                .centered(flag("centered"))
                .weight_decay(cfg(case, "weight_decay").unwrap_or(0.0)),
        ),
        "adagrad" => Box::new(
            Adagrad::new(params, lr)
                .lr_decay(cfg(case, "lr_decay").unwrap_or(0.0))
                .weight_decay(cfg(case, "weight_decay").unwrap_or(0.0))
                .initial_accumulator_value(cfg(case, "initial_accumulator_value").unwrap_or(0.0)),
        ),
        other => panic!("unknown optimizer {other}"),
    }
}

/// Runs a trajectory on the tensor backend: one variable per parameter tensor.
fn trajectory_ndarray(case: &Value) {
    type T = Variable<NdArray<f64>>;
    let name = case["name"].as_str().unwrap();
    let params: Vec<T> = case["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let t = tensor(p);
            T::from_vec(t.data, &t.shape).unwrap().requires_grad()
        })
        .collect();
    let mut opt = optimizer(case, params.clone());
    for (k, (grads, after)) in steps(case).enumerate() {
        for (p, g) in params.iter().zip(grads) {
            let g = tensor(g);
            p.set_grad(Some(T::from_vec(g.data, &g.shape).unwrap()));
        }
        opt.step();
        for (i, (p, expected)) in params.iter().zip(after).enumerate() {
            assert_close(
                &format!("{name} step {k} param {i}"),
                &p.to_vec(),
                &tensor(expected).data,
            );
        }
    }
}

/// Runs a trajectory on the scalar backend: one rank-0 variable per parameter element.
fn trajectory_scalar(case: &Value) {
    type V = Variable<Scalar<f64>>;
    let name = case["name"].as_str().unwrap();
    let params: Vec<V> = flatten(case["params"].as_array().unwrap())
        .into_iter()
        .map(|x| V::scalar(x).requires_grad())
        .collect();
    let mut opt = optimizer(case, params.clone());
    for (k, (grads, after)) in steps(case).enumerate() {
        for (p, g) in params.iter().zip(flatten(grads)) {
            p.set_grad(Some(V::scalar(g)));
        }
        opt.step();
        let got: Vec<f64> = params.iter().map(|p| p.item()).collect();
        assert_close(&format!("{name} (scalar) step {k}"), &got, &flatten(after));
    }
}

/// A trajectory's steps: the gradients given at each step and the parameters expected
/// after it, one tensor per parameter.
fn steps(case: &Value) -> impl Iterator<Item = (&Vec<Value>, &Vec<Value>)> {
    let grads = case["grads"].as_array().unwrap();
    let after = case["after_each_step"].as_array().unwrap();
    assert_eq!(grads.len(), after.len(), "one expectation per step");
    grads
        .iter()
        .map(|g| g.as_array().unwrap())
        .zip(after.iter().map(|a| a.as_array().unwrap()))
}

/// Every element of a list of tensors, in order.
fn flatten(tensors: &[Value]) -> Vec<f64> {
    tensors.iter().flat_map(|t| tensor(t).data).collect()
}

/// A schedule's rate per epoch matches PyTorch's, both as a function and as applied to an
/// optimizer by a `Scheduler` (from the start, and resumed halfway).
fn schedule(case: &Value) {
    let c = &case["config"];
    let make = || -> Box<dyn LrSchedule> {
        match case["schedule"].as_str().unwrap() {
            "steplr" => Box::new(StepLr {
                step_size: c["step_size"].as_u64().unwrap() as usize,
                gamma: c["gamma"].as_f64().unwrap(),
            }),
            "cosineannealinglr" => Box::new(CosineAnnealingLr {
                t_max: c["T_max"].as_u64().unwrap() as usize,
                eta_min: c["eta_min"].as_f64().unwrap(),
            }),
            "linearlr" => Box::new(LinearLr {
                start_factor: c["start_factor"].as_f64().unwrap(),
                end_factor: c["end_factor"].as_f64().unwrap(),
                total_iters: c["total_iters"].as_u64().unwrap() as usize,
            }),
            other => panic!("unknown schedule {other}"),
        }
    };
    let name = case["name"].as_str().unwrap();
    let base = case["base_lr"].as_f64().unwrap();
    let expected: Vec<f64> = case["lr_per_epoch"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    let got: Vec<f64> = (0..expected.len()).map(|e| make().lr_at(e, base)).collect();
    assert_close(name, &got, &expected);

    let optimizer = || {
        Sgd::new(
            vec![Variable::<Scalar<f64>>::scalar(0.0).requires_grad()],
            base,
        )
    };
    let applied = |opt: &mut Sgd<Scalar<f64>>, scheduler: &mut Scheduler<_>, epochs: usize| {
        (0..epochs)
            .map(|_| {
                let lr = opt.learning_rate();
                scheduler.step(opt);
                lr
            })
            .collect::<Vec<f64>>()
    };
    let mut opt = optimizer();
    let mut scheduler = Scheduler::new(make(), &mut opt);
    let from_start = applied(&mut opt, &mut scheduler, expected.len());
    assert_close(&format!("{name}, applied"), &from_start, &expected);
    let half = expected.len() / 2;
    let mut opt = optimizer();
    let mut scheduler = Scheduler::resume(make(), base, half, &mut opt);
    let resumed = applied(&mut opt, &mut scheduler, expected.len() - half);
    assert_close(&format!("{name}, resumed"), &resumed, &expected[half..]);
}

fn clipping(case: &Value) {
    type T = Variable<NdArray<f64>>;
    let name = case["name"].as_str().unwrap();
    let max_norm = case["config"]["max_norm"].as_f64().unwrap();
    let norm_type = match &case["config"]["norm_type"] {
        Value::String(s) if s == "inf" => f64::INFINITY,
        v => v.as_f64().unwrap(),
    };
    let params: Vec<T> = case["grads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let g = tensor(g);
            let p = T::zeros(&g.shape).requires_grad();
            p.set_grad(Some(T::from_vec(g.data, &g.shape).unwrap()));
            p
        })
        .collect();
    let total = clip_grad_norm(&params, max_norm, norm_type);
    assert_close(
        &format!("{name} total norm"),
        &[total],
        &[case["total_norm"].as_f64().unwrap()],
    );
    for (i, (p, expected)) in params
        .iter()
        .zip(case["clipped"].as_array().unwrap())
        .enumerate()
    {
        assert_close(
            &format!("{name} grad {i}"),
            &p.grad().unwrap().to_vec(),
            &tensor(expected).data,
        );
    }
}

#[test]
fn every_optim_case_matches_pytorch() {
    let cases = load();
    let mut ran = 0;
    for case in &cases {
        match case["kind"].as_str().unwrap() {
            "optimizer" => {
                trajectory_ndarray(case);
                trajectory_scalar(case);
            }
            "schedule" => schedule(case),
            "clip_grad_norm" => clipping(case),
            other => panic!("{}: unknown kind {other}", case["name"]),
        }
        ran += 1;
    }
    assert_eq!(ran, cases.len());
    assert_eq!(ran, 23, "optim.json holds 23 cases (its README)");
}
