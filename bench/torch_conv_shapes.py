#!/usr/bin/env python3
"""One-thread speed of torch's F.conv2d at batch 64 on the shapes of
bench/conv_shapes.c (which times netc's kernels), printed the same way:
one line per shape, "name fwd_ms bwd_ms total_ms", each the median over 9
rounds of the mean time of one call in a round of at least 0.2 s of the
calling thread's CPU time (which does all the work at one thread).

The forward runs with autograd recording (x, W and b require grad, as in
training); the backward is torch.autograd.grad of the output with a fixed
upstream gradient, computing dx, dW and db.  Set OPENBLAS_NUM_THREADS=1
and OMP_NUM_THREADS=1 in the environment (make bench-conv does); the script
also calls torch.set_num_threads(1).
"""

import statistics
import sys
import time

import torch
import torch.nn.functional as F

BATCH = 64
ROUNDS = 9
MIN_ROUND = 0.2

SHAPES = [
    ("lenet1", 1, 28, 6, 5, 2),
    ("lenet2", 6, 14, 16, 5, 0),
    ("c1_32", 1, 28, 32, 3, 1),
    ("c32_64", 32, 14, 64, 3, 1),
]


def time_ms(fn):
    fn()
    times = []
    for _ in range(ROUNDS):
        reps = 0
        t0 = time.thread_time()
        while True:
            fn()
            reps += 1
            t1 = time.thread_time()
            if t1 - t0 >= MIN_ROUND:
                break
        times.append((t1 - t0) / reps * 1e3)
    return statistics.median(times)


def main():
    torch.set_num_threads(1)
    only = sys.argv[1] if len(sys.argv) > 1 else None
    torch.manual_seed(0)
    for name, cin, hw, cout, k, pad in SHAPES:
        if only and name != only:
            continue
        x = torch.randn(BATCH, cin, hw, hw, requires_grad=True)
        w = torch.randn(cout, cin, k, k, requires_grad=True)
        b = torch.randn(cout, requires_grad=True)
        y = F.conv2d(x, w, b, padding=pad)
        dy = torch.randn_like(y)

        def forward():
            return F.conv2d(x, w, b, padding=pad)

        def backward():
            # The graph of one forward, outside the timed region, then its
            # backward alone.
            return torch.autograd.grad(state["y"], (x, w, b), dy, retain_graph=True)

        state = {"y": forward()}
        f = time_ms(forward)
        bw = time_ms(backward)
        print(f"{name:<8} {f:8.3f} {bw:8.3f} {f + bw:8.3f}", flush=True)


if __name__ == "__main__":
    main()
