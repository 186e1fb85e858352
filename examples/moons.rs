//! micrograd's classic demo: a small MLP separates two interleaved half moons.
//!
//! The data are generated from a seed; the model is `Mlp` 2-16-16-1 with micrograd's
//! SVM max-margin loss and L2 regularisation, trained by SGD with micrograd's decaying
//! learning rate on the scalar backend, one graph node per number. It prints the loss and
//! accuracy of every step, reaches 100 % training accuracy, and draws the decision
//! boundary.
//!
//! `--backend ndarray` trains the identical model (the same seed, so the same weights) on
//! the tensor backend, the whole batch at once with one column per feature, and prints the
//! same losses.
//!
//!     cargo run --release --example moons [-- --backend ndarray] [--out DIR]

#[path = "common/mod.rs"]
mod common;

use ferrograd::nn::functional::{hinge_loss, Reduction};
use ferrograd::nn::{Mlp, Module};
use ferrograd::optim::{Optimizer, Sgd};
use ferrograd::random::Rng;
use ferrograd::{no_grad, Backend, Element, Variable};
use ferrograd_ndarray::NdArray;
use ferrograd_scalar::Scalar;
use plotters::prelude::*;

const SEED: u64 = 1337;
const STEPS: usize = 100;

/// How a backend evaluates the model on many points: one at a time (scalar) or as
/// columns (tensor).
trait Feed: Backend<Elem = f64> {
    /// The score of each point.
    fn scores(model: &Mlp<Self>, points: &[[f64; 2]]) -> Vec<Variable<Self>>;
    /// The loss: mean hinge loss plus 1e-4 times the sum of squared parameters.
    fn loss(model: &Mlp<Self>, points: &[[f64; 2]], labels: &[f64]) -> Variable<Self>;
}

fn regulariser<B: Backend>(model: &Mlp<B>) -> Variable<B> {
    model
        .parameters()
        .iter()
        .map(|p| (p * p).sum())
        .sum::<Variable<B>>()
        * 1e-4
}

impl Feed for Scalar<f64> {
    fn scores(model: &Mlp<Self>, points: &[[f64; 2]]) -> Vec<Variable<Self>> {
        points
            .iter()
            .map(|p| {
                model
                    .forward(&[Variable::scalar(p[0]), Variable::scalar(p[1])])
                    .remove(0)
            })
            .collect()
    }

    fn loss(model: &Mlp<Self>, points: &[[f64; 2]], labels: &[f64]) -> Variable<Self> {
        let losses: Variable<Self> = Self::scores(model, points)
            .into_iter()
            .zip(labels)
            .map(|(s, &y)| (1.0 - s * y).relu())
            .sum();
        losses / points.len() as f64 + regulariser(model)
    }
}

impl Feed for NdArray<f64> {
    fn scores(model: &Mlp<Self>, points: &[[f64; 2]]) -> Vec<Variable<Self>> {
        let n = points.len();
        let column =
            |j: usize| Variable::from_vec(points.iter().map(|p| p[j]).collect(), &[n]).unwrap();
        vec![model.forward(&[column(0), column(1)]).remove(0)]
    }

    fn loss(model: &Mlp<Self>, points: &[[f64; 2]], labels: &[f64]) -> Variable<Self> {
        let scores = Self::scores(model, points).remove(0);
        let y = Variable::from_vec(labels.to_vec(), &[labels.len()]).unwrap();
        hinge_loss(&scores, &y, Reduction::Mean) + regulariser(model)
    }
}

/// The score of every point, as numbers.
fn predict<B: Feed>(model: &Mlp<B>, points: &[[f64; 2]]) -> Vec<f64> {
    no_grad(|| {
        B::scores(model, points)
            .iter()
            .flat_map(|s| s.to_vec())
            .map(Element::as_f64)
            .collect()
    })
}

fn train<B: Feed>(points: &[[f64; 2]], labels: &[f64]) -> Mlp<B> {
    let model = Mlp::<B>::new(2, &[16, 16, 1], &mut Rng::new(SEED));
    println!(
        "{} parameters, training on {} with SGD",
        model.num_parameters(),
        B::name()
    );
    let mut opt = Sgd::new(model.parameters(), 1.0);
    for step in 0..STEPS {
        // micrograd's schedule: from 1.0 down to 0.1.
        opt.set_learning_rate(1.0 - 0.9 * step as f64 / STEPS as f64);
        opt.zero_grad();
        let loss = B::loss(&model, points, labels);
        loss.backward();
        opt.step();
        let correct = predict(&model, points)
            .iter()
            .zip(labels)
            .filter(|(s, y)| (**s > 0.0) == (**y > 0.0))
            .count();
        println!(
            "step {step:3}  loss {:.10}  accuracy {:5.1}%",
            loss.item(),
            100.0 * correct as f64 / points.len() as f64
        );
    }
    model
}

fn main() {
    common::register_embedded_font();
    let (points, labels) = common::two_moons(100, 0.1, SEED);
    let file = common::out_dir().join("moons.png");
    match common::flag("--backend").as_deref() {
        None | Some("scalar") => {
            let model = train::<Scalar<f64>>(&points, &labels);
            draw(&model, &points, &labels, &file).expect("drawing");
        }
        Some("ndarray") => {
            let model = train::<NdArray<f64>>(&points, &labels);
            draw(&model, &points, &labels, &file).expect("drawing");
        }
        Some(other) => {
            eprintln!("unknown backend {other:?}: use scalar or ndarray");
            std::process::exit(2);
        }
    }
    println!("wrote {}", file.display());
}

/// The decision regions on a grid, and the data on top.
fn draw<B: Feed>(
    model: &Mlp<B>,
    points: &[[f64; 2]],
    labels: &[f64],
    file: &std::path::Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::new(file, (640, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let (x0, x1, y0, y1) = (-1.6, 2.6, -1.1, 1.6);
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "moons: decision boundary of a 2-16-16-1 MLP",
            ("sans-serif", 22),
        )
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(36)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .label_style(("sans-serif", 14))
        .draw()?;
    let n = 120;
    let (dx, dy) = ((x1 - x0) / n as f64, (y1 - y0) / n as f64);
    let grid: Vec<[f64; 2]> = (0..n * n)
        .map(|k| {
            [
                x0 + dx * ((k % n) as f64 + 0.5),
                y0 + dy * ((k / n) as f64 + 0.5),
            ]
        })
        .collect();
    let scores = predict(model, &grid);
    chart.draw_series(grid.iter().zip(&scores).map(|(p, &s)| {
        let color = if s > 0.0 {
            RGBColor(255, 214, 170)
        } else {
            RGBColor(176, 206, 255)
        };
        Rectangle::new(
            [
                (p[0] - dx / 2.0, p[1] - dy / 2.0),
                (p[0] + dx / 2.0, p[1] + dy / 2.0),
            ],
            color.filled(),
        )
    }))?;
    chart.draw_series(points.iter().zip(labels).map(|(p, &y)| {
        let color = if y > 0.0 {
            RGBColor(230, 85, 13)
        } else {
            RGBColor(49, 130, 189)
        };
        Circle::new((p[0], p[1]), 5, color.filled())
    }))?;
    root.present()?;
    Ok(())
}
