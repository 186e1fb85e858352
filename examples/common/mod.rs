//! Helpers shared by the examples: where output goes, the embedded font, a colour scale
//! and contour lines for plots, and command-line flags. Not part of ferrograd itself.

#![allow(dead_code)]

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use std::path::PathBuf;

/// The value of `--name VALUE` on the command line, if given.
pub fn flag(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Whether `--name` is on the command line.
pub fn switch(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

/// The directory examples write their pictures and checkpoints to: `--out DIR`, or
/// `target/examples-output` (so that running an example never changes the repository).
pub fn out_dir() -> PathBuf {
    let dir = flag("--out").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join("examples-output")
    });
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// Registers the embedded Go font as plotters' "sans-serif", so that text needs no
/// system font library.
pub fn register_embedded_font() {
    static FONT: &[u8] = include_bytes!("../assets/Go-Regular.ttf");
    // Registering twice is harmless; a broken font file would be a packaging bug.
    register_font("sans-serif", FontStyle::Normal, FONT)
        .map_err(|_| "invalid font")
        .unwrap();
}

/// A colour for `t` in `[0, 1]` on a dark-blue-to-yellow scale (viridis-like).
pub fn scale_color(t: f64) -> RGBColor {
    const STOPS: [(f64, [f64; 3]); 5] = [
        (0.0, [68.0, 1.0, 84.0]),
        (0.25, [59.0, 82.0, 139.0]),
        (0.5, [33.0, 145.0, 140.0]),
        (0.75, [94.0, 201.0, 98.0]),
        (1.0, [253.0, 231.0, 37.0]),
    ];
    let t = t.clamp(0.0, 1.0);
    let i = STOPS
        .iter()
        .rposition(|(s, _)| *s <= t)
        .unwrap_or(0)
        .min(STOPS.len() - 2);
    let (s0, c0) = STOPS[i];
    let (s1, c1) = STOPS[i + 1];
    let u = (t - s0) / (s1 - s0);
    let mix = |k: usize| (c0[k] + (c1[k] - c0[k]) * u).round() as u8;
    RGBColor(mix(0), mix(1), mix(2))
}

/// Distinct colours for a handful of series.
pub const SERIES: [RGBColor; 6] = [
    RGBColor(230, 25, 75),
    RGBColor(255, 140, 0),
    RGBColor(0, 130, 200),
    RGBColor(145, 30, 180),
    RGBColor(70, 240, 240),
    RGBColor(240, 50, 230),
];

/// Line segments where the sampled function crosses `level` (marching squares). `values`
/// is `ny` rows of `nx` samples over `[x0, x1] × [y0, y1]`.
pub fn contour_segments(
    values: &[Vec<f64>],
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
    level: f64,
) -> Vec<[(f64, f64); 2]> {
    let ny = values.len();
    let nx = values[0].len();
    let px = |i: f64| x0 + (x1 - x0) * i / (nx - 1) as f64;
    let py = |j: f64| y0 + (y1 - y0) * j / (ny - 1) as f64;
    let mut segments = Vec::new();
    for j in 0..ny - 1 {
        for i in 0..nx - 1 {
            // Corners counter-clockwise from the bottom left, and where the level crosses
            // each edge (linear interpolation).
            let v = [
                values[j][i],
                values[j][i + 1],
                values[j + 1][i + 1],
                values[j + 1][i],
            ];
            let corners = [
                (i as f64, j as f64),
                (i as f64 + 1.0, j as f64),
                (i as f64 + 1.0, j as f64 + 1.0),
                (i as f64, j as f64 + 1.0),
            ];
            let mut crossings = Vec::with_capacity(4);
            for e in 0..4 {
                let (a, b) = (v[e], v[(e + 1) % 4]);
                if (a < level) != (b < level) {
                    let t = (level - a) / (b - a);
                    let (ca, cb) = (corners[e], corners[(e + 1) % 4]);
                    crossings.push((px(ca.0 + t * (cb.0 - ca.0)), py(ca.1 + t * (cb.1 - ca.1))));
                }
            }
            for pair in crossings.chunks_exact(2) {
                segments.push([pair[0], pair[1]]);
            }
        }
    }
    segments
}

/// Two interleaved half moons, `n` points, with noise: micrograd's demo data, generated
/// from a seed.
pub fn two_moons(n: usize, noise: f64, seed: u64) -> (Vec<[f64; 2]>, Vec<f64>) {
    let mut rng = ferrograd::random::Rng::new(seed);
    let half = n / 2;
    (0..n)
        .map(|k| {
            let upper = k < half;
            let i = if upper { k } else { k - half };
            let count = if upper { half } else { n - half };
            let t = std::f64::consts::PI * i as f64 / (count - 1).max(1) as f64;
            let (x, y) = if upper {
                (t.cos(), t.sin())
            } else {
                (1.0 - t.cos(), 0.5 - t.sin())
            };
            let p = [x + noise * rng.normal(), y + noise * rng.normal()];
            (p, if upper { -1.0 } else { 1.0 })
        })
        .unzip()
}
