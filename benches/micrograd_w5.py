#!/usr/bin/env python3
"""W5 in micrograd (pip install micrograd): the reference point for ferrograd's scalar
engine. The same data, initialisation and step as benches/workloads/w5.rs (WORKLOADS spec):
MLP(2, [16, 16, 1]) over 100 two-moons points, SVM max-margin loss with L2, SGD 0.05.

    python3 benches/micrograd_w5.py [--steps N]

Prints the check values (loss and sum of dloss/dW0 at initialisation), the graph size and
the median time per step, with Python's cyclic garbage collector on (micrograd as installed
and run plainly) and off during the step.
"""
import argparse
import gc
import math
import statistics
import struct
import time

from micrograd.engine import Value
from micrograd.nn import MLP

MASK = (1 << 64) - 1


def stream_u(s, k):
    z = (s * 0xD1B54A32D192ED03 + (k + 1) * 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    z ^= z >> 31
    return (z >> 40) / float(1 << 24)


def to_f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def data():
    points, labels = [], []
    for k in range(50):
        t = math.pi * k / 49
        points.append([math.cos(t), math.sin(t)])
        labels.append(-1.0)
    for k in range(50):
        t = math.pi * k / 49
        points.append([1 - math.cos(t), 0.5 - math.sin(t)])
        labels.append(1.0)
    for i, p in enumerate(points):
        for j in range(2):
            p[j] = to_f32(p[j] + 0.2 * stream_u(501, 2 * i + j) - 0.1)
    return points, labels


def model():
    m = MLP(2, [16, 16, 1])
    for l, layer in enumerate(m.layers):
        for j, neuron in enumerate(layer.neurons):
            nin = len(neuron.w)
            for i, w in enumerate(neuron.w):
                w.data = 2 * stream_u(510 + 10 * l, j * nin + i) - 1
            neuron.b.data = 0.0
    return m


def loss_of(m, points, labels):
    inputs = [list(map(Value, p)) for p in points]
    scores = list(map(m, inputs))
    losses = [(1 + -y * s).relu() for y, s in zip(labels, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum((p * p for p in m.parameters()))
    return data_loss + reg_loss


def step(m, points, labels):
    total = loss_of(m, points, labels)
    m.zero_grad()
    total.backward()
    for p in m.parameters():
        p.data -= 0.05 * p.grad
    return total


def count_nodes(root):
    seen, stack = set(), [root]
    while stack:
        v = stack.pop()
        if id(v) not in seen:
            seen.add(id(v))
            stack.extend(v._prev)
    return len(seen)


def median_ms(m, points, labels, steps, gc_on):
    times = []
    for _ in range(steps):
        if not gc_on:
            gc.disable()
        t0 = time.perf_counter()
        total = step(m, points, labels)
        del total
        t1 = time.perf_counter()
        if not gc_on:
            gc.enable()
            gc.collect()
        times.append((t1 - t0) * 1e3)
    return statistics.median(times), min(times), max(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=15)
    args = parser.parse_args()
    points, labels = data()

    m = model()
    total = loss_of(m, points, labels)
    m.zero_grad()
    total.backward()
    grad_w0 = sum(w.grad for n in m.layers[0].neurons for w in n.w)
    nodes = count_nodes(total)
    print(f"check: loss {total.data!r} (reference 1.0676771047661007), "
          f"sum dW0 {grad_w0!r} (reference 0.22058971723749748)")
    print(f"graph: {nodes} nodes per step")
    del total

    m = model()
    for _ in range(3):
        step(m, points, labels)
    for gc_on in (True, False):
        med, lo, hi = median_ms(m, points, labels, args.steps, gc_on)
        label = "GC on " if gc_on else "GC off"
        print(f"micrograd W5 step, {label}: median {med:.1f} ms (min {lo:.1f}, max {hi:.1f}), "
              f"{med * 1e6 / nodes:.0f} ns per node")


if __name__ == "__main__":
    main()
