#!/usr/bin/env python3
"""Runs ferrograd's criterion benches and the same workloads in PyTorch (and the raw sgemm
baseline, and optionally micrograd) in interleaved rounds, and prints one table of
medians and ratios. Absolute times on a shared machine drift by 5-10 %, so only figures
measured together, in rotating order, are compared.

    python3 benches/compare.py [--rounds 3] [--seconds 2] [--only W2,W3,W4] \\
        [--python /work/torchenv/bin/python] [--threads 2] [--micrograd]

Needs cargo, and a Python with torch and numpy for the PyTorch columns (see
BENCHMARKS.md). The ferrograd figures are criterion medians (one run per round, the
median over rounds); PyTorch's follow benches/pytorch_workloads.py's timing rules.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name, (bench target, criterion id), pytorch workload, flops per step (for GFLOP/s), unit
ROWS = [
    ("W1", ("w1_mlp", "w1/b128/step"), "W1", 128_909_312, "ms"),
    ("W1L", ("w1_mlp", "w1/b512/step"), "W1L", 4_896_849_920, "ms"),
    ("W1_scope", ("w1_mlp", "w1/b128/step_in_pool"), None, None, "ms"),
    ("W1_2shards", ("w1_mlp", "w1/b128/step_2shards"), None, None, "ms"),
    ("W1L_2shards", ("w1_mlp", "w1/b512/step_2shards"), None, None, "ms"),
    ("W2fwd_256", ("w2_matmul", "w2/n256/forward"), "W2fwd_256", 2 * 256**3, "GFLOP/s"),
    ("W2fwd_1024", ("w2_matmul", "w2/n1024/forward"), "W2fwd_1024", 2 * 1024**3, "GFLOP/s"),
    ("W2bwd_256", ("w2_matmul", "w2/n256/forward_backward"), "W2bwd_256", 6 * 256**3, "ms"),
    ("W2bwd_1024", ("w2_matmul", "w2/n1024/forward_backward"), "W2bwd_1024", 6 * 1024**3, "ms"),
    ("W3_4M", ("w3_elementwise", "w3/n4000000"), "W3_4M", None, "ms"),
    ("W3_1k", ("w3_elementwise", "w3/n1000"), "W3_1k", None, "us"),
    ("W4", ("w4_overhead", "w4/chain_1000_ops"), "W4", None, "us/op"),
    ("W5", ("w5_scalar_mlp", "w5/scalar_f64/step"), None, None, "ms"),
    ("W5_tensor", ("w5_tensor_mlp", "w5/ndarray_f32/step"), "W5_tensor", None, "ms"),
    ("W5t_mgcode", ("w5_tensor_mlp", "w5/ndarray_f32/micrograd_code"), None, None, "ms"),
    ("W5t_mg_2shards", ("w5_tensor_mlp", "w5/ndarray_f32/micrograd_code_2shards"), None, None, "ms"),
    ("W6", ("w6_conv", "w6/step"), "W6", None, "ms"),
    ("W6_2shards", ("w6_conv", "w6/step_2shards"), None, None, "ms"),
    # Not a DESIGN.md workload: layer normalisation, forward and backward.
    ("LN", ("layer_norm", "layer_norm/f32_512x1024/step"), "LN", None, "ms"),
]

# Variants of a workload, compared with PyTorch's figure for the workload itself: the W1
# step run wholly inside the rayon pool (rayon::scope), steps with the batch split into two
# data-parallel shards (ferrograd::data_parallel), and W5 written with micrograd's own
# model code (a neuron per op chain on 100-element columns) instead of matrix products.
TORCH_SAME_AS = {"W1_scope": "W1", "W1_2shards": "W1", "W1L_2shards": "W1L",
                 "W5t_mgcode": "W5_tensor", "W5t_mg_2shards": "W5_tensor", "W6_2shards": "W6"}

# Graph nodes of ferrograd's W5 step (Variable::node_count of the loss).
W5_NODES = 65_412

RAW_SGEMM = {"W2fwd_256": "sgemm_raw/threads{t}/n256/forward", "W2fwd_1024": "sgemm_raw/threads{t}/n1024/forward"}


def criterion_median(home, bench_id):
    """The median of a criterion run, in seconds. A benchmark in a group lives in
    <group with / as _>/<function>; a lone one in <id with / as _>."""
    parts = bench_id.split("/")
    candidates = [
        os.path.join(home, "_".join(parts[:-1]), parts[-1], "new", "estimates.json"),
        os.path.join(home, "_".join(parts), "new", "estimates.json"),
    ]
    for path in candidates:
        if os.path.exists(path):
            with open(path) as f:
                return json.load(f)["median"]["point_estimate"] * 1e-9
    raise FileNotFoundError(f"no criterion estimates for {bench_id} under {home}")


def run_criterion(target, bench_id, seconds, home, manifest=None, env=None):
    cmd = ["cargo", "bench", "-q"]
    if manifest:
        cmd += ["--manifest-path", manifest]
    cmd += ["--bench", target, "--", f"^{bench_id}$", "--warm-up-time", "0.5", "--measurement-time", str(seconds)]
    full_env = dict(os.environ, CRITERION_HOME=home, **(env or {}))
    subprocess.run(cmd, cwd=ROOT, env=full_env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return criterion_median(home, bench_id)


def run_torch(python, name, seconds, threads):
    out = subprocess.run(
        [python, os.path.join(ROOT, "benches", "pytorch_workloads.py"), "--json", "--only", name,
         "--seconds", str(seconds), "--threads", str(threads)],
        check=True, capture_output=True, text=True).stdout
    data = json.loads(out)
    return data["median_seconds"][name], data["torch"]


def run_micrograd(python, steps):
    """micrograd's W5 step (GC on, GC off) in milliseconds, and its graph size."""
    out = subprocess.run([python, os.path.join(ROOT, "benches", "micrograd_w5.py"), "--steps", str(steps)],
                         check=True, capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines():
        if line.startswith("graph:"):
            found["nodes"] = int(line.split()[1])
        elif "GC on" in line:
            found["gc_on"] = float(line.split("median")[1].split("ms")[0])
        elif "GC off" in line:
            found["gc_off"] = float(line.split("median")[1].split("ms")[0])
    return found


def show(seconds, unit, flops):
    if unit == "GFLOP/s":
        return f"{flops / seconds / 1e9:8.1f}"
    scale = {"ms": 1e3, "us": 1e6, "us/op": 1e3}[unit]
    return f"{seconds * scale:8.3f}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--only", default="")
    parser.add_argument("--python", default=os.environ.get("TORCH_PYTHON", "/work/torchenv/bin/python"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--micrograd", action="store_true")
    args = parser.parse_args()
    only = set(filter(None, args.only.split(",")))
    rows = [r for r in ROWS if not only or any(r[0] == o or r[0].startswith(o + "fwd") or r[0].startswith(o + "bwd") or r[0].startswith(o + "_") for o in only)]
    home = tempfile.mkdtemp(prefix="ferrograd-criterion-")
    raw_manifest = os.path.join(ROOT, "benches", "sgemm-raw", "Cargo.toml")
    results = {r[0]: {"ferrograd": [], "torch": [], "raw2": [], "raw1": []} for r in rows}
    torch_version = "?"
    env = {"RAYON_NUM_THREADS": str(args.threads)}
    for round_index in range(args.rounds):
        order = rows[round_index % len(rows):] + rows[:round_index % len(rows)]
        for name, (target, bench_id), torch_name, flops, unit in order:
            print(f"round {round_index + 1}: {name}", file=sys.stderr)
            results[name]["ferrograd"].append(run_criterion(target, bench_id, args.seconds, home, env=env))
            if torch_name:
                t, torch_version = run_torch(args.python, torch_name, args.seconds, args.threads)
                results[name]["torch"].append(t)
            if name in RAW_SGEMM:
                for t in (2, 1):
                    bid = RAW_SGEMM[name].format(t=t)
                    results[name][f"raw{t}"].append(run_criterion(
                        "sgemm", bid, args.seconds, home, manifest=raw_manifest,
                        env={"MATMUL_NUM_THREADS": str(t)}))
    print(f"\nferrograd vs PyTorch {torch_version} (eager, CPU, {args.threads} threads); "
          f"medians of {args.rounds} interleaved rounds")
    print(f"{'workload':14s} {'unit':8s} {'ferrograd':>10s} {'pytorch':>10s} {'ratio':>7s} {'sgemm 2t':>9s} {'sgemm 1t':>9s} {'of 2t':>9s}")
    for name, _, _, flops, unit in rows:
        r = results[name]
        f = statistics.median(r["ferrograd"])
        line = f"{name:14s} {unit:8s} {show(f, unit, flops):>10s}"
        torch_times = results.get(TORCH_SAME_AS.get(name, name), {}).get("torch")
        if torch_times:
            t = statistics.median(torch_times)
            # The median of the rounds' own ratios: each round times both engines within
            # seconds of each other, so the machine's drift between rounds cancels.
            ratio = statistics.median(a / b for a, b in zip(r["ferrograd"], torch_times))
            line += f" {show(t, unit, flops):>10s} {ratio:7.3f}"
        else:
            line += f" {'':>10s} {'':>7s}"
        for key in ("raw2", "raw1"):
            if r[key]:
                line += f" {show(statistics.median(r[key]), unit, flops):>9s}"
        if r["raw2"]:
            # ferrograd's speed as a fraction of raw sgemm's at 2 threads, paired by round.
            share = statistics.median(raw / own for own, raw in zip(r["ferrograd"], r["raw2"]))
            line += f" {share:9.3f}"
        print(line)
    print("ratio = median over rounds of ferrograd's time / PyTorch's time in that round "
          "(below 1: ferrograd is faster); of 2t = ferrograd's GFLOP/s / raw sgemm's at 2 threads, "
          "median over rounds")
    if args.micrograd and "W5" in results:
        m = run_micrograd(args.python, 9)
        w5 = statistics.median(results["W5"]["ferrograd"]) * 1e3
        print(f"\nW5 on the scalar engine: ferrograd {w5:.2f} ms/step, {w5 * 1e6 / W5_NODES:.0f} ns per node "
              f"({W5_NODES} nodes); micrograd {m['gc_on']:.1f} ms with its GC on ({m['gc_on'] / w5:.0f}x slower), "
              f"{m['gc_off']:.1f} ms with it off ({m['gc_off'] / w5:.0f}x), {m['nodes']} nodes")


if __name__ == "__main__":
    main()
