//! Memory over a long training loop: 10,000 W1 steps (MLP 784-256-128-10, batch 128,
//! forward, backward, SGD) with the resident set size read from /proc every 1,000 steps.
//! Each step's graph is freed when its loss is dropped, so the resident size stays flat
//! after warm-up; the run fails if it grows by more than 4 MiB.
//!
//! `cargo bench --bench memory_w1` (Linux; prints the samples).

#[path = "workloads/mod.rs"]
mod workloads;

use ferrograd::nn::Module;
use ferrograd::optim::Sgd;
use workloads::resident::resident_bytes;
use workloads::w1;

fn main() {
    // `cargo bench` passes `--bench`; anything else is ignored.
    let Some(start) = resident_bytes() else {
        eprintln!("memory_w1: /proc/self/status is not available on this system; nothing measured");
        return;
    };
    let problem = w1::mlp(128, [784, 256, 128, 10]);
    let mut opt = Sgd::new(problem.model.parameters(), 0.01);
    let mut samples = Vec::new();
    for step in 1..=10_000 {
        let loss = problem.step(&mut opt);
        drop(loss);
        if step % 1000 == 0 {
            let rss = resident_bytes().unwrap();
            samples.push(rss);
            println!(
                "step {step:6}: resident {:7.2} MiB",
                rss as f64 / (1 << 20) as f64
            );
        }
    }
    let warm = samples[0];
    let peak = *samples.iter().max().unwrap();
    let growth = peak.saturating_sub(warm);
    println!(
        "resident at start {:.2} MiB, after 1,000 steps {:.2} MiB, largest later {:.2} MiB: growth {:.2} MiB over 9,000 steps",
        start as f64 / (1 << 20) as f64,
        warm as f64 / (1 << 20) as f64,
        peak as f64 / (1 << 20) as f64,
        growth as f64 / (1 << 20) as f64
    );
    assert!(
        growth <= 4 << 20,
        "resident memory grew by {growth} bytes: a graph is being kept alive"
    );
}
