//! MNIST with a small convolutional network.
//!
//! Reads the standard MNIST files from a directory (plain or gzip-compressed IDX, as
//! distributed) and trains conv 3×3 → ReLU → max-pool → linear, with Adam, on the tensor
//! backend; prints the test accuracy after each epoch.
//!
//!     cargo run --release --example mnist -- DIR [--epochs 1]
//!
//! DIR must hold the four MNIST files (each may end in .gz):
//! train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
//! t10k-labels-idx1-ubyte. Nothing is downloaded.

#[path = "../common/mod.rs"]
mod common;
mod idx;

use ferrograd::nn::functional::{cross_entropy, Reduction};
use ferrograd::nn::{Conv2d, Flatten, Forward, Linear, MaxPool2d, Module, Relu, Sequential};
use ferrograd::optim::{Adam, Optimizer};
use ferrograd::random::Rng;
use ferrograd::{no_grad, Indices, Variable};
use ferrograd_ndarray::NdArray;
use std::path::{Path, PathBuf};
use std::time::Instant;

type B = NdArray<f32>;
type T = Variable<B>;

const FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// The path of `name` or `name.gz` in `dir`.
fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    [name.to_string(), format!("{name}.gz")]
        .into_iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

fn missing_files(dir: &Path) -> ! {
    eprintln!("MNIST files not found in {}.", dir.display());
    eprintln!("This example needs the four files of the MNIST database, plain or gzip-compressed:");
    for f in FILES {
        eprintln!("    {f}   (or {f}.gz)");
    }
    eprintln!("Put them in one directory and pass it:  cargo run --release --example mnist -- DIR");
    std::process::exit(2);
}

fn batch(set: &idx::Labelled, rows: &[usize]) -> (T, Indices) {
    let pixels = set.images.dims[1] * set.images.dims[2];
    let data: Vec<f32> = rows
        .iter()
        .flat_map(|&i| {
            set.images.data[i * pixels..(i + 1) * pixels]
                .iter()
                .map(|&p| p as f32 / 255.0)
        })
        .collect();
    let x = T::from_vec(
        data,
        &[rows.len(), 1, set.images.dims[1], set.images.dims[2]],
    )
    .expect("sizes agree");
    (
        x,
        Indices::vector(rows.iter().map(|&i| set.labels[i]).collect()),
    )
}

fn main() {
    let Some(dir) = std::env::args()
        .nth(1)
        .filter(|a| !a.starts_with("--"))
        .map(PathBuf::from)
    else {
        missing_files(Path::new("(no directory given)"));
    };
    let paths: Vec<PathBuf> = FILES
        .iter()
        .map(|f| find(&dir, f).unwrap_or_else(|| missing_files(&dir)))
        .collect();
    let load = |i: usize, l: usize| {
        idx::read_labelled(&paths[i], &paths[l]).unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(1);
        })
    };
    let (train, test) = (load(0, 1), load(2, 3));
    let (h, w) = (train.images.dims[1], train.images.dims[2]);
    println!(
        "MNIST: {} training and {} test images of {h}×{w}",
        train.labels.len(),
        test.labels.len()
    );

    let epochs: usize =
        common::flag("--epochs").map_or(1, |e| e.parse().expect("--epochs takes a number"));
    let mut rng = Rng::new(7);
    let net = Sequential::<B>::new()
        .add(Conv2d::new(1, 8, 3, 1, 0, true, &mut rng))
        .add(Relu)
        .add(MaxPool2d::new(2, 2))
        .add(Flatten::default())
        .add(Linear::new(
            8 * ((h - 2) / 2) * ((w - 2) / 2),
            10,
            true,
            &mut rng,
        ));
    println!(
        "{} parameters; Adam, batches of 64, {epochs} epoch(s)",
        net.num_parameters()
    );
    let mut opt = Adam::new(net.parameters(), 1e-3);
    let mut order: Vec<usize> = (0..train.labels.len()).collect();
    let started = Instant::now();
    for epoch in 1..=epochs {
        rng.shuffle(&mut order);
        for (step, rows) in order.chunks(64).enumerate() {
            let (x, y) = batch(&train, rows);
            opt.zero_grad();
            let loss = cross_entropy(&net.forward(&x), &y, 0.0, Reduction::Mean)
                .expect("labels are digits");
            loss.backward();
            opt.step();
            if step % 200 == 0 {
                println!(
                    "epoch {epoch} step {step:4}  loss {:.4}  {:.0} images/s",
                    loss.item(),
                    ((epoch - 1) * order.len() + step * 64) as f64
                        / started.elapsed().as_secs_f64().max(1e-9)
                );
            }
        }
        let correct: usize = (0..test.labels.len())
            .collect::<Vec<_>>()
            .chunks(1000)
            .map(|rows| {
                let (x, _) = batch(&test, rows);
                let predicted = no_grad(|| net.forward(&x).argmax(1));
                predicted
                    .data()
                    .iter()
                    .zip(rows)
                    .filter(|(p, &i)| **p == test.labels[i])
                    .count()
            })
            .sum();
        println!(
            "epoch {epoch}: test accuracy {:.2}% ({correct} of {}), {:.1} s",
            100.0 * correct as f64 / test.labels.len() as f64,
            test.labels.len(),
            started.elapsed().as_secs_f64()
        );
    }
}
