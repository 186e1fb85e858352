#!/usr/bin/env python3
"""The benchmark workloads W1-W6 (BENCHMARKS.md, from WORKLOADS spec) in PyTorch, CPU,
eager mode: the peer ferrograd's criterion benches are compared with.

    python benches/pytorch_workloads.py [--threads 2] [--only W3_4M,W4] [--seconds 2]

Needs torch (see BENCHMARKS.md for an install that works without a GPU) and numpy.
Prints, per workload, the check values (computed once on the initial state) and the
median time per step over samples of `inner` back-to-back steps, as the spec's timing
rules describe; `--json` prints the medians as JSON for benches/compare.py.
"""
import argparse
import json
import math
import statistics
import sys
import time

import numpy as np
import torch

MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def stream_u(s, n):
    """u_k for k = 0..n-1 of stream s, as float64 (exact), vectorised."""
    with np.errstate(over="ignore"):
        k = np.arange(1, n + 1, dtype=np.uint64)
        z = np.uint64(s) * np.uint64(0xD1B54A32D192ED03) + k * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(40)).astype(np.float64) / float(1 << 24)


def uniform(s, shape, lo, hi, dtype=torch.float32):
    n = int(np.prod(shape)) if shape else 1
    values = lo + (hi - lo) * stream_u(s, n)
    return torch.from_numpy(values.reshape(shape)).to(dtype)


def labels(s, n):
    return torch.from_numpy(np.minimum(np.floor(10 * stream_u(s, n)), 9).astype(np.int64))


def linear(s, fan_in, fan_out):
    bound = 1 / math.sqrt(fan_in)
    return uniform(s, (fan_in, fan_out), -bound, bound), uniform(s + 1, (fan_out,), -bound, bound)


def w1(batch, dims):
    x = uniform(101, (batch, dims[0]), 0.0, 1.0)
    y = labels(102, batch)
    params = []
    for l in range(3):
        w, b = linear(110 + 10 * l, dims[l], dims[l + 1])
        params += [w.requires_grad_(), b.requires_grad_()]

    def forward():
        h = x
        for l in range(3):
            h = h @ params[2 * l] + params[2 * l + 1]
            if l < 2:
                h = torch.relu(h)
        return torch.nn.functional.cross_entropy(h, y)

    def step():
        for p in params:
            p.grad = None
        loss = forward()
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= 0.01 * p.grad
        return loss

    def check():
        loss = forward()
        loss.backward()
        out = (loss.item(), params[0].grad.sum().item())
        for p in params:
            p.grad = None
        return out

    return step, check


def w2_forward(n):
    a, b = uniform(201, (n, n), -1.0, 1.0), uniform(202, (n, n), -1.0, 1.0)
    return (lambda: a @ b), (lambda: ((a @ b).sum().item(), None))


def w2_backward(n):
    a = uniform(201, (n, n), -1.0, 1.0).requires_grad_()
    b = uniform(202, (n, n), -1.0, 1.0).requires_grad_()

    def step():
        a.grad = None
        b.grad = None
        loss = (a @ b).sum()
        loss.backward()
        return loss

    def check():
        loss = step()
        return loss.item(), a.grad.sum().item()

    return step, check


def w3(n):
    x, w, b = (uniform(s, (n,), -1.0, 1.0).requires_grad_() for s in (301, 302, 303))

    def step():
        for t in (x, w, b):
            t.grad = None
        loss = torch.tanh(x * w + b).sum()
        loss.backward()
        return loss

    def check():
        loss = step()
        return loss.item(), b.grad.sum().item()

    return step, check


def w4():
    x = uniform(401, (16,), -1.0, 1.0).requires_grad_()
    a = uniform(402, (16,), -0.01, 0.01)
    m = uniform(403, (16,), 0.99, 1.01)

    def step():
        x.grad = None
        h = x
        for i in range(1000):
            r = i % 3
            h = h + a if r == 0 else (h * m if r == 1 else torch.tanh(h))
        loss = h.sum()
        loss.backward()
        return loss

    def check():
        loss = step()
        return loss.item(), x.grad.sum().item()

    return step, check


def w5_tensor():
    """micrograd's W5 model, batched in f32 tensors: the [100, 2] batch through three
    matrix products."""
    t = np.pi * np.arange(50) / 49
    pts = np.concatenate([np.stack([np.cos(t), np.sin(t)], 1), np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1)])
    pts = (pts + 0.2 * stream_u(501, 200).reshape(100, 2) - 0.1).astype(np.float32)
    X = torch.from_numpy(pts)
    y = torch.cat([-torch.ones(50), torch.ones(50)])
    sizes = [2, 16, 16, 1]
    params = []
    for l in range(3):
        nin, nout = sizes[l], sizes[l + 1]
        W = torch.from_numpy((2 * stream_u(510 + 10 * l, nout * nin) - 1).reshape(nout, nin).astype(np.float32))
        params += [W.requires_grad_(), torch.zeros(nout, requires_grad=True)]

    def forward():
        h = X
        for l in range(3):
            h = h @ params[2 * l].T + params[2 * l + 1]
            if l < 2:
                h = torch.relu(h)
        data_loss = torch.relu(1 - y * h[:, 0]).mean()
        return data_loss + 1e-4 * sum((p * p).sum() for p in params)

    def step():
        for p in params:
            p.grad = None
        loss = forward()
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= 0.05 * p.grad
        return loss

    def check():
        loss = forward()
        loss.backward()
        out = (loss.item(), params[0].grad.sum().item())
        for p in params:
            p.grad = None
        return out

    return step, check


def w6():
    x = uniform(601, (64, 1, 28, 28), 0.0, 1.0)
    y = labels(602, 64)
    k = uniform(610, (8, 1, 3, 3), -1 / 3, 1 / 3).requires_grad_()
    kb = uniform(611, (8,), -1 / 3, 1 / 3).requires_grad_()
    w, b = linear(620, 1352, 10)
    w.requires_grad_()
    b.requires_grad_()
    F = torch.nn.functional

    def step():
        for p in (k, kb, w, b):
            p.grad = None
        h = F.max_pool2d(torch.relu(F.conv2d(x, k, kb)), 2, 2).reshape(64, -1)
        loss = F.cross_entropy(h @ w + b, y)
        loss.backward()
        return loss

    def check():
        loss = step()
        return loss.item(), k.grad.sum().item()

    return step, check


def layer_norm():
    """Not a DESIGN.md workload: benches/layer_norm.rs's step."""
    rows, n = 512, 1024
    x = uniform(701, (rows, n), -1.0, 1.0).requires_grad_()
    w = uniform(702, (n,), 0.5, 1.5).requires_grad_()
    b = uniform(703, (n,), -0.5, 0.5).requires_grad_()
    r = uniform(704, (rows, n), -1.0, 1.0)

    def step():
        for t in (x, w, b):
            t.grad = None
        loss = (torch.nn.functional.layer_norm(x, (n,), w, b, 1e-5) * r).sum()
        loss.backward()
        return loss

    def check():
        loss = step()
        return loss.item(), (x.grad.sum().item(), w.grad.sum().item())

    return step, check


WORKLOADS = {
    "W1": lambda: w1(128, [784, 256, 128, 10]),
    "W1L": lambda: w1(512, [784, 1024, 1024, 10]),
    "W2fwd_256": lambda: w2_forward(256),
    "W2fwd_1024": lambda: w2_forward(1024),
    "W2bwd_256": lambda: w2_backward(256),
    "W2bwd_1024": lambda: w2_backward(1024),
    "W3_4M": lambda: w3(4_000_000),
    "W3_1k": lambda: w3(1_000),
    "W4": w4,
    "W5_tensor": w5_tensor,
    "W6": w6,
    "LN": layer_norm,
}


def measure(step, seconds):
    """Median seconds per step: warm up (≥ 3 steps and ≥ 0.3 s), pick `inner` so a sample
    lasts about 1 ms, then take samples of `inner` back-to-back steps for `seconds`."""
    t0 = time.perf_counter()
    n = 0
    while n < 3 or time.perf_counter() - t0 < 0.3:
        step()
        n += 1
    per_step = (time.perf_counter() - t0) / n
    inner = min(1000, max(1, round(1e-3 / per_step)))
    samples = []
    deadline = time.perf_counter() + seconds
    while len(samples) < 10 or time.perf_counter() < deadline:
        s = time.perf_counter()
        for _ in range(inner):
            step()
        samples.append((time.perf_counter() - s) / inner)
    return statistics.median(samples), min(samples), max(samples)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", default="")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    names = [n for n in WORKLOADS if not args.only or n in args.only.split(",")]
    results = {}
    for name in names:
        step, check = WORKLOADS[name]()
        loss, grad = check()
        med, lo, hi = measure(step, args.seconds)
        results[name] = med
        if not args.json:
            print(f"{name:11s} median {med * 1e6:12.2f} us (min {lo * 1e6:.2f}, max {hi * 1e6:.2f})"
                  f"  check: {loss!r}, {grad!r}")
    if args.json:
        json.dump({"torch": torch.__version__, "threads": args.threads, "median_seconds": results}, sys.stdout)
        print()


if __name__ == "__main__":
    main()
