//! The benchmark data generator reproduces the test vectors WORKLOADS.md publishes, and
//! W5 on the scalar backend reproduces its check values, so the benches measure the same
//! workloads as the peers they are compared with.

#[path = "../benches/workloads/mod.rs"]
mod workloads;

use ferrograd::nn::Module;
use ferrograd_ndarray::NdArray;
use ferrograd_scalar::Scalar;
use workloads::*;

#[test]
fn generator_test_vectors() {
    let u: Vec<f64> = (0..4).map(|k| stream_u(101, k)).collect();
    assert_eq!(
        u,
        [
            0.9572558999061584,
            0.6948336958885193,
            0.9360692501068115,
            0.4064738154411316
        ]
    );
    let v: Vec<f64> = uniform_f32(201, 3, -1.0, 1.0)
        .into_iter()
        .map(f64::from)
        .collect();
    assert_eq!(
        v,
        [
            -0.7497130632400513,
            0.03630805015563965,
            -0.39589452743530273
        ]
    );
    assert_eq!(labels(102, 8), [8, 5, 1, 5, 6, 5, 3, 7]);
    let (w, b) = linear(110, 784, 256);
    let w: Vec<f64> = w[..3].iter().map(|&x| x as f32 as f64).collect();
    let b: Vec<f64> = b[..2].iter().map(|&x| x as f32 as f64).collect();
    assert_eq!(
        w,
        [
            0.010889551602303982,
            -0.023446010425686836,
            -0.0026795181911438704
        ]
    );
    assert_eq!(b, [0.006639855448156595, 0.024647517129778862]);
}

/// Asserts the W5 check values within WORKLOADS.md's tolerance for comparing with
/// PyTorch's float64 run (what an f32 engine must meet).
fn assert_w5_check_values(loss: f64, grad_w0: f64) {
    assert!(
        (loss - w5::CHECK_LOSS).abs() <= 1e-3 * w5::CHECK_LOSS.abs() + 1e-6,
        "loss {loss}"
    );
    assert!(
        (grad_w0 - w5::CHECK_GRAD_W0).abs() <= 1e-3 * w5::CHECK_GRAD_W0.abs() + 1e-4,
        "sum of dW0 {grad_w0}"
    );
}

/// Asserts the W5 check values to rounding: what an f64 evaluation of the f32 data meets.
fn assert_w5_check_values_to_rounding(loss: f64, grad_w0: f64) {
    assert!((loss - w5::CHECK_LOSS).abs() < 1e-12, "loss {loss}");
    assert!(
        (grad_w0 - w5::CHECK_GRAD_W0).abs() < 1e-12,
        "sum of dW0 {grad_w0}"
    );
}

#[test]
fn w5_check_values_on_the_scalar_backend() {
    let (points, labels) = w5::data();
    let model = w5::model::<Scalar<f64>>();
    assert_eq!(model.parameters().len(), 337);
    let loss = w5::loss_per_point(&model, &points, &labels);
    loss.backward();
    let grad_w0: f64 = model.layers[0]
        .neurons
        .iter()
        .flat_map(|n| &n.weights)
        .map(|w| w.grad().unwrap().item())
        .sum();
    assert_w5_check_values_to_rounding(loss.item(), grad_w0);
}

#[test]
fn w5_check_values_on_the_tensor_backend() {
    let (points, labels) = w5::data();
    let model = w5::model::<NdArray<f32>>();
    let (x, y) = w5::columns(&points, &labels);
    let loss = w5::loss_batched(&model, &x, &y);
    loss.backward();
    let grad_w0: f64 = model.layers[0]
        .neurons
        .iter()
        .flat_map(|n| &n.weights)
        .map(|w| w.grad().unwrap().item() as f64)
        .sum();
    assert_w5_check_values(loss.item() as f64, grad_w0);
}

#[test]
fn w5_check_values_as_matrix_products() {
    let (points, labels) = w5::data();
    let model = w5::matrix_model::<NdArray<f64>>();
    assert_eq!(model.num_parameters(), 337);
    let (x, y) = w5::rows(&points, &labels);
    let loss = w5::loss_matrix(&model, &x, &y);
    loss.backward();
    let grad_w0 = model.parameters()[0].grad().unwrap().sum().item();
    assert_w5_check_values_to_rounding(loss.item(), grad_w0);
}

#[test]
fn w5_matrix_products_in_f32_agree_with_the_check_values() {
    let (points, labels) = w5::data();
    let model = w5::matrix_model::<NdArray<f32>>();
    let (x, y) = w5::rows(&points, &labels);
    let loss = w5::loss_matrix(&model, &x, &y);
    loss.backward();
    let grad_w0 = model.parameters()[0].grad().unwrap().sum().item() as f64;
    assert_w5_check_values(loss.item() as f64, grad_w0);
}

/// Asserts a loss and a gradient sum against PyTorch's float64 values with the benchmark
/// harness's tolerances (WORKLOADS.md).
fn assert_check_values(name: &str, (loss, grad): (f64, f64), (want_loss, want_grad): (f64, f64)) {
    assert!(
        (loss - want_loss).abs() <= 1e-3 * want_loss.abs() + 1e-6,
        "{name} loss {loss}, reference {want_loss}"
    );
    assert!(
        (grad - want_grad).abs() <= 1e-3 * want_grad.abs() + 1e-4,
        "{name} gradient sum {grad}, reference {want_grad}"
    );
}

#[test]
fn w1_check_values() {
    let problem = w1::mlp(128, [784, 256, 128, 10]);
    assert_check_values("W1", problem.check(), w1::W1_CHECK);
}

/// W6 runs its convolution through the unpacked small-product loops (`[8, 9] · [9, 676]`
/// per image, and `[8, 676] · [676, 9]` for the kernel gradient), its bias gradient
/// through the in-place reduction over several axes, and its pooling through gather and
/// scatter along the last axis.
#[test]
fn w6_check_values() {
    let problem = w1::conv();
    let loss = problem.step().item() as f64;
    let grad = grad_sum(&problem.kernel);
    assert_check_values("W6", (loss, grad), w1::W6_CHECK);
}
