//! Hand-written digit recognition: the example to start from.
//!
//! Trains an MLP on the UCI hand-written digits (8×8 images, shipped in `data/`) on the
//! tensor backend in `f32` with AdamW and a cosine learning-rate schedule, showing a progress bar with the loss and throughput,
//! then prints the test accuracy, draws the loss and accuracy curves, and saves a
//! checkpoint of the model and one of the optimizer's state (AdamW's moments). `--resume`
//! continues training from them, with a new cosine cycle (a warm restart).
//!
//! `--shards N` computes each batch's gradient data-parallel: the batch is cut into N
//! shards whose forward and backward passes run as separate rayon tasks, and the
//! gradients are summed in shard order (the same result whatever the number of threads).
//!
//!     cargo run --release --example digits [-- --epochs 60] [--resume] [--shards 2] [--out DIR]

#[path = "common/mod.rs"]
mod common;

use ferrograd::checkpoint;
use ferrograd::data_parallel::{backward_shards, shard_ranges};
use ferrograd::nn::functional::{cross_entropy, Reduction};
use ferrograd::nn::{Dropout, Forward, Linear, Module, Relu, Sequential};
use ferrograd::optim::{AdamW, CosineAnnealingLr, Optimizer, Scheduler};
use ferrograd::random::Rng;
use ferrograd::{no_grad, Indices, Variable};
use ferrograd_ndarray::NdArray;
use indicatif::{ProgressBar, ProgressStyle};
use plotters::prelude::*;
use std::io::Read;
use std::time::Instant;

type B = NdArray<f32>;
type T = Variable<B>;

const SEED: u64 = 42;
const BATCH: usize = 32;

/// The digits: 1,797 images of 64 pixels scaled to [0, 1], and their labels.
fn load_digits() -> (Vec<[f32; 64]>, Vec<usize>) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/digits.csv.gz");
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|line| {
            let fields: Vec<u8> = line
                .split(',')
                .map(|f| f.trim().parse().expect("an integer"))
                .collect();
            assert_eq!(fields.len(), 65, "{}: a row of 65 integers", path.display());
            let mut pixels = [0f32; 64];
            for (p, &v) in pixels.iter_mut().zip(&fields) {
                *p = v as f32 / 16.0;
            }
            (pixels, fields[64] as usize)
        })
        .unzip()
}

/// A stratified split: a fifth of each class for testing, chosen by the seed.
fn split(labels: &[usize], rng: &mut Rng) -> (Vec<usize>, Vec<usize>) {
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for class in 0..10 {
        let mut members: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        rng.shuffle(&mut members);
        let n_test = members.len() / 5;
        test.extend_from_slice(&members[..n_test]);
        train.extend_from_slice(&members[n_test..]);
    }
    (train, test)
}

fn batch(images: &[[f32; 64]], labels: &[usize], rows: &[usize]) -> (T, Indices) {
    let data: Vec<f32> = rows.iter().flat_map(|&i| images[i]).collect();
    let x = T::from_vec(data, &[rows.len(), 64]).expect("64 pixels per row");
    (
        x,
        Indices::vector(rows.iter().map(|&i| labels[i]).collect()),
    )
}

fn model(rng: &mut Rng) -> Sequential<B> {
    Sequential::new()
        .add(Linear::new(64, 256, true, rng))
        .add(Relu)
        .add(Dropout::new(0.2, SEED))
        .add(Linear::new(256, 128, true, rng))
        .add(Relu)
        .add(Dropout::new(0.2, SEED + 1))
        .add(Linear::new(128, 10, true, rng))
}

fn accuracy(
    model: &mut Sequential<B>,
    images: &[[f32; 64]],
    labels: &[usize],
    rows: &[usize],
) -> f64 {
    model.eval();
    let (x, _) = batch(images, labels, rows);
    let predicted = no_grad(|| model.forward(&x).argmax(1));
    model.train();
    let correct = predicted
        .data()
        .iter()
        .zip(rows)
        .filter(|(p, &i)| **p == labels[i])
        .count();
    correct as f64 / rows.len() as f64
}

fn main() {
    common::register_embedded_font();
    let out = common::out_dir();
    let epochs: usize =
        common::flag("--epochs").map_or(60, |e| e.parse().expect("--epochs takes a number"));
    let shards: usize =
        common::flag("--shards").map_or(1, |s| s.parse().expect("--shards takes a number"));
    let checkpoint_path = out.join("digits.safetensors");
    let optimizer_path = out.join("digits-optimizer.safetensors");

    let (images, labels) = load_digits();
    let mut rng = Rng::new(SEED);
    let (train, test) = split(&labels, &mut rng);
    println!(
        "UCI digits: {} training and {} test images of 8×8 pixels",
        train.len(),
        test.len()
    );

    let mut net = model(&mut rng);
    let mut first_epoch = 0;
    let resume = common::switch("--resume");
    if resume {
        let header = checkpoint::load_with_metadata(&net, &checkpoint_path).unwrap_or_else(|e| {
            eprintln!("cannot resume: {e}");
            std::process::exit(1);
        });
        first_epoch = header
            .get("epoch")
            .and_then(|e| e.parse().ok())
            .unwrap_or(0);
        println!(
            "resumed from {} after epoch {first_epoch}: test accuracy {:.2}%",
            checkpoint_path.display(),
            100.0 * accuracy(&mut net, &images, &labels, &test)
        );
        // A different shuffle from the first run's, so the continuation is not a replay.
        rng = Rng::new(SEED + first_epoch as u64);
    }
    println!(
        "{} parameters; AdamW with cosine annealing, batches of {BATCH}, {epochs} epochs",
        net.num_parameters()
    );
    if shards > 1 {
        println!("data-parallel: {shards} shards per batch");
    }

    let base_lr = 2e-3;
    let mut opt = AdamW::new(net.parameters(), base_lr).weight_decay(1e-2);
    if resume {
        match checkpoint::load_optimizer(&mut opt, &optimizer_path) {
            // The moments carry on; the learning rate starts a new cycle.
            Ok(()) => opt.set_learning_rate(base_lr),
            Err(e) => println!("no optimizer state ({e}): AdamW starts afresh"),
        }
    }
    let mut schedule = Scheduler::new(
        CosineAnnealingLr {
            t_max: epochs,
            eta_min: 1e-5,
        },
        &mut opt,
    );
    let steps_per_epoch = train.len().div_ceil(BATCH);
    let bar = ProgressBar::new((epochs * steps_per_epoch) as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:32} {pos}/{len} steps  {msg}")
            .expect("a valid template"),
    );
    let (mut losses, mut accuracies) = (Vec::new(), Vec::new());
    let started = Instant::now();
    let mut order = train.clone();
    for epoch in first_epoch..first_epoch + epochs {
        rng.shuffle(&mut order);
        let mut total = 0.0;
        for rows in order.chunks(BATCH) {
            opt.zero_grad();
            let loss = if shards > 1 {
                // Each shard's summed loss over the batch size: the shards add up to the mean.
                let ranges = shard_ranges(rows.len(), shards);
                backward_shards(&net, ranges.len(), |i| {
                    let (x, y) = batch(&images, &labels, &rows[ranges[i].clone()]);
                    cross_entropy(&net.forward(&x), &y, 0.0, Reduction::Sum)
                        .expect("labels are 0..10")
                        / rows.len() as f64
                })
            } else {
                let (x, y) = batch(&images, &labels, rows);
                let loss = cross_entropy(&net.forward(&x), &y, 0.0, Reduction::Mean)
                    .expect("labels are 0..10");
                loss.backward();
                loss
            };
            opt.step();
            total += loss.item() as f64 * rows.len() as f64;
            bar.inc(1);
            let seen = (bar.position() as usize).min(epochs * steps_per_epoch) * BATCH;
            bar.set_message(format!(
                "epoch {:2}  loss {:.4}  {:.0} images/s",
                epoch + 1,
                loss.item(),
                seen as f64 / started.elapsed().as_secs_f64()
            ));
        }
        let loss = total / train.len() as f64;
        let acc = accuracy(&mut net, &images, &labels, &test);
        bar.suspend(|| {
            println!(
                "epoch {:3}  loss {loss:.4}  test accuracy {:.2}%",
                epoch + 1,
                100.0 * acc
            )
        });
        losses.push(loss);
        accuracies.push(acc);
        schedule.step(&mut opt);
    }
    bar.finish_and_clear();

    let acc = accuracies.last().copied().unwrap_or(0.0);
    println!(
        "test accuracy {:.2}% ({} of {} test images) after {} epochs, {:.1} s",
        100.0 * acc,
        (acc * test.len() as f64).round(),
        test.len(),
        first_epoch + epochs,
        started.elapsed().as_secs_f64()
    );
    let last = (first_epoch + epochs).to_string();
    checkpoint::save_with_metadata(&net, &checkpoint_path, &[("epoch", &last)])
        .expect("saving the checkpoint");
    println!("wrote {}", checkpoint_path.display());
    checkpoint::save_optimizer(&opt, &optimizer_path).expect("saving the optimizer");
    println!("wrote {}", optimizer_path.display());
    let curves = out.join("digits_curves.png");
    draw(first_epoch, &losses, &accuracies, &curves).expect("drawing");
    println!("wrote {}", curves.display());
}

/// Training loss and test accuracy per epoch, side by side.
fn draw(
    first: usize,
    losses: &[f64],
    accuracies: &[f64],
    file: &std::path::Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::new(file, (900, 380)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(450);
    let top = losses.iter().cloned().fold(0.0, f64::max) * 1.05;
    curve(
        &left,
        "training loss",
        first,
        losses,
        0.0..top,
        common::SERIES[2],
    )?;
    let percent: Vec<f64> = accuracies.iter().map(|a| 100.0 * a).collect();
    let low = accuracies.iter().cloned().fold(1.0, f64::min).min(0.9) * 100.0;
    curve(
        &right,
        "test accuracy (%)",
        first,
        &percent,
        low..100.0,
        common::SERIES[0],
    )?;
    root.present()?;
    Ok(())
}

/// One value per epoch (epochs `first + 1` on) as a line in `area`, over `range`.
fn curve(
    area: &DrawingArea<BitMapBackend, plotters::coord::Shift>,
    caption: &str,
    first: usize,
    values: &[f64],
    range: std::ops::Range<f64>,
    colour: RGBColor,
) -> Result<(), Box<dyn std::error::Error>> {
    let epochs = (first + 1) as f64..(first + values.len()) as f64 + 0.01;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(46)
        .build_cartesian_2d(epochs, range)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("epoch")
        .label_style(("sans-serif", 13))
        .draw()?;
    chart.draw_series(LineSeries::new(
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| ((first + i + 1) as f64, v)),
        colour.stroke_width(2),
    ))?;
    Ok(())
}
