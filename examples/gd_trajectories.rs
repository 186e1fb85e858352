//! Optimizers racing on classic test functions.
//!
//! SGD, momentum, Nesterov, RMSprop, Adagrad and Adam start from the same point on the
//! Rosenbrock, Beale and Himmelblau functions, on the scalar backend: each run is a handful
//! of rank-0 variables. The example prints where each ends and how far that is from the
//! nearest minimum, and draws one picture per function (contours, one path per optimizer,
//! the minima marked).
//!
//! Then the very same objective functions, unchanged, run on the tensor backend over a grid
//! of 10,000 starting points at once: each coordinate is one `[10000]` tensor, the loss is
//! the sum over starts (so each start gets its own gradient) and the optimizers update
//! every start elementwise. It prints the fraction of starts each optimizer brings within
//! 1e-3 of a minimum.
//!
//!     cargo run --release --example gd_trajectories [-- --out DIR]

#[path = "common/mod.rs"]
mod common;

use ferrograd::optim::{Adagrad, Adam, Optimizer, RmsProp, Sgd};
use ferrograd::{no_grad, Backend, Variable};
use ferrograd_ndarray::NdArray;
use ferrograd_scalar::Scalar;
use plotters::prelude::*;

/// `(1 − x)² + 100 (y − x²)²`, minimum 0 at (1, 1).
fn rosenbrock<B: Backend>(x: &Variable<B>, y: &Variable<B>) -> Variable<B> {
    (1.0 - x).square() + 100.0 * (y - x.square()).square()
}

/// `(1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²`, minimum 0 at (3, 0.5).
fn beale<B: Backend>(x: &Variable<B>, y: &Variable<B>) -> Variable<B> {
    (1.5 - x + x * y).square()
        + (2.25 - x + x * y.square()).square()
        + (2.625 - x + x * y.powf(3.0)).square()
}

/// `(x² + y − 11)² + (x + y² − 7)²`, four minima of 0.
fn himmelblau<B: Backend>(x: &Variable<B>, y: &Variable<B>) -> Variable<B> {
    (x.square() + y - 11.0).square() + (x + y.square() - 7.0).square()
}

/// A test function of two variables on backend `B`.
type Objective<B> = fn(&Variable<B>, &Variable<B>) -> Variable<B>;

/// A test function, generic over the backend, and what to draw around it.
struct Problem {
    name: &'static str,
    f_scalar: Objective<Scalar<f64>>,
    f_tensor: Objective<NdArray<f64>>,
    x_range: (f64, f64),
    y_range: (f64, f64),
    start: (f64, f64),
    minima: &'static [(f64, f64)],
    /// Learning rates for SGD, momentum, Nesterov, RMSprop, Adagrad, Adam.
    lrs: [f64; 6],
    steps: usize,
}

fn problems() -> Vec<Problem> {
    vec![
        Problem {
            name: "rosenbrock",
            f_scalar: rosenbrock,
            f_tensor: rosenbrock,
            x_range: (-2.0, 2.0),
            y_range: (-1.0, 3.0),
            start: (-1.2, 1.0),
            minima: &[(1.0, 1.0)],
            lrs: [1.5e-3, 2e-4, 2e-4, 5e-3, 0.5, 0.05],
            steps: 3000,
        },
        Problem {
            name: "beale",
            f_scalar: beale,
            f_tensor: beale,
            x_range: (-4.5, 4.5),
            y_range: (-4.5, 4.5),
            start: (1.0, 1.5),
            minima: &[(3.0, 0.5)],
            lrs: [1e-2, 2e-3, 2e-3, 1e-2, 0.5, 0.05],
            steps: 3000,
        },
        Problem {
            name: "himmelblau",
            f_scalar: himmelblau,
            f_tensor: himmelblau,
            x_range: (-5.0, 5.0),
            y_range: (-5.0, 5.0),
            start: (0.0, 0.0),
            minima: &[
                (3.0, 2.0),
                (-2.805118, 3.131312),
                (-3.779310, -3.283186),
                (3.584428, -1.848126),
            ],
            lrs: [1e-2, 2e-3, 2e-3, 1e-2, 0.5, 0.05],
            steps: 3000,
        },
    ]
}

/// The number of colour bands (and contour levels) on a log scale.
const LEVELS: usize = 14;

const OPTIMIZERS: [&str; 6] = ["SGD", "momentum", "Nesterov", "RMSprop", "Adagrad", "Adam"];

/// The optimizer `which` (an index into `OPTIMIZERS`) over `params`.
fn optimizer<B: Backend>(which: usize, params: Vec<Variable<B>>, lr: f64) -> Box<dyn Optimizer<B>> {
    match which {
        0 => Box::new(Sgd::new(params, lr)),
        1 => Box::new(Sgd::new(params, lr).momentum(0.9)),
        2 => Box::new(Sgd::new(params, lr).momentum(0.9).nesterov(true)),
        3 => Box::new(RmsProp::new(params, lr)),
        4 => Box::new(Adagrad::new(params, lr)),
        _ => Box::new(Adam::new(params, lr)),
    }
}

/// Runs `steps` steps of `f` from `start` and returns every point visited.
fn trajectory<B: Backend>(
    f: Objective<B>,
    start: (Variable<B>, Variable<B>),
    which: usize,
    lr: f64,
    steps: usize,
    mut visit: impl FnMut(&Variable<B>, &Variable<B>),
) {
    let (x, y) = (start.0.requires_grad(), start.1.requires_grad());
    let mut opt = optimizer(which, vec![x.clone(), y.clone()], lr);
    visit(&x, &y);
    for _ in 0..steps {
        opt.zero_grad();
        f(&x, &y).sum().backward();
        opt.step();
        visit(&x, &y);
    }
}

fn distance_to_nearest(p: (f64, f64), minima: &[(f64, f64)]) -> f64 {
    minima
        .iter()
        .map(|m| ((p.0 - m.0).powi(2) + (p.1 - m.1).powi(2)).sqrt())
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    common::register_embedded_font();
    let out = common::out_dir();
    for problem in problems() {
        println!(
            "{} from ({}, {}), {} steps:",
            problem.name, problem.start.0, problem.start.1, problem.steps
        );
        let mut paths = Vec::new();
        for (which, name) in OPTIMIZERS.iter().enumerate() {
            let mut path = Vec::with_capacity(problem.steps + 1);
            let start = (
                Variable::scalar(problem.start.0),
                Variable::scalar(problem.start.1),
            );
            trajectory(
                problem.f_scalar,
                start,
                which,
                problem.lrs[which],
                problem.steps,
                |x, y| path.push((x.item(), y.item())),
            );
            let end = *path.last().unwrap();
            let d = distance_to_nearest(end, problem.minima);
            println!(
                "  {name:9} (lr {:<7}) ends at ({:>9.5}, {:>9.5}), {:.2e} from the nearest minimum",
                problem.lrs[which], end.0, end.1, d
            );
            paths.push(path);
        }
        let file = out.join(format!("gd_{}.png", problem.name));
        draw(&problem, &paths, &file).expect("drawing");
        println!("  wrote {}", file.display());

        // The same functions over a 100 × 100 grid of starts, all at once.
        let n = 100;
        let (xs, ys): (Vec<f64>, Vec<f64>) = (0..n * n)
            .map(|k| {
                let (i, j) = (k % n, k / n);
                let (x0, x1) = problem.x_range;
                let (y0, y1) = problem.y_range;
                (
                    x0 + (x1 - x0) * (i as f64 + 0.5) / n as f64,
                    y0 + (y1 - y0) * (j as f64 + 0.5) / n as f64,
                )
            })
            .unzip();
        print!("  from {} starts at once, within 1e-3 of a minimum:", n * n);
        for (which, name) in OPTIMIZERS.iter().enumerate() {
            let start = (
                Variable::<NdArray<f64>>::from_vec(xs.clone(), &[n * n]).unwrap(),
                Variable::from_vec(ys.clone(), &[n * n]).unwrap(),
            );
            let mut last = None;
            trajectory(
                problem.f_tensor,
                start,
                which,
                problem.lrs[which],
                problem.steps,
                |x, y| last = Some((x.clone(), y.clone())),
            );
            let (x, y) = last.unwrap();
            let near = no_grad(|| {
                x.to_vec()
                    .iter()
                    .zip(y.to_vec())
                    .filter(|(&a, b)| distance_to_nearest((a, *b), problem.minima) < 1e-3)
                    .count()
            });
            print!(" {name} {:.1}%", 100.0 * near as f64 / (n * n) as f64);
        }
        println!();
    }
}

/// Contours of the function, the optimizers' paths, the start and the minima.
fn draw(
    problem: &Problem,
    paths: &[Vec<(f64, f64)>],
    file: &std::path::Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::new(file, (820, 720)).into_drawing_area();
    root.fill(&WHITE)?;
    let (x0, x1) = problem.x_range;
    let (y0, y1) = problem.y_range;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{}: six optimizers from the same start", problem.name),
            ("sans-serif", 24),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(44)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("x")
        .y_desc("y")
        .label_style(("sans-serif", 15))
        .draw()?;

    // The function on a grid, on a log scale: filled cells and contour lines.
    let (nx, ny) = (220, 200);
    let values: Vec<Vec<f64>> = (0..ny)
        .map(|j| {
            (0..nx)
                .map(|i| {
                    let x = Variable::<Scalar<f64>>::scalar(
                        x0 + (x1 - x0) * i as f64 / (nx - 1) as f64,
                    );
                    let y = Variable::scalar(y0 + (y1 - y0) * j as f64 / (ny - 1) as f64);
                    (problem.f_scalar)(&x, &y).item().ln_1p()
                })
                .collect()
        })
        .collect();
    let top = values.iter().flatten().cloned().fold(0.0, f64::max);
    let (dx, dy) = ((x1 - x0) / (nx - 1) as f64, (y1 - y0) / (ny - 1) as f64);
    chart.draw_series(values.iter().enumerate().flat_map(|(j, row)| {
        row.iter().enumerate().map(move |(i, &v)| {
            let (cx, cy) = (x0 + dx * i as f64, y0 + dy * j as f64);
            // Banded like a filled contour plot (which also keeps the PNG small).
            let band = (v / top * LEVELS as f64).floor().min(LEVELS as f64 - 1.0);
            let color = common::scale_color(band / (LEVELS - 1) as f64);
            Rectangle::new(
                [
                    (cx - dx / 2.0, cy - dy / 2.0),
                    (cx + dx / 2.0, cy + dy / 2.0),
                ],
                color.filled(),
            )
        })
    }))?;
    for k in 1..LEVELS {
        let level = top * k as f64 / LEVELS as f64;
        let segments = common::contour_segments(&values, (x0, x1), (y0, y1), level);
        chart.draw_series(
            segments
                .into_iter()
                .map(|s| PathElement::new(s.to_vec(), WHITE.mix(0.5))),
        )?;
    }

    for (which, path) in paths.iter().enumerate() {
        let color = common::SERIES[which];
        let inside: Vec<(f64, f64)> = path
            .iter()
            .cloned()
            .take_while(|p| p.0.is_finite() && p.1.is_finite())
            .map(|(x, y)| (x.clamp(x0, x1), y.clamp(y0, y1)))
            .collect();
        chart
            .draw_series(LineSeries::new(inside, color.stroke_width(2)))?
            .label(OPTIMIZERS[which])
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3))
            });
    }
    chart.draw_series(
        problem
            .minima
            .iter()
            .map(|&m| Cross::new(m, 9, RED.stroke_width(3))),
    )?;
    chart.draw_series(std::iter::once(Circle::new(
        problem.start,
        6,
        BLACK.filled(),
    )))?;
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 15))
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    root.present()?;
    Ok(())
}
