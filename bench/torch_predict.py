#!/usr/bin/env python3
"""torch_predict.py — the PyTorch twin of `netc predict` at a large batch, for bench/run.sh.

The 784-256-256-10 ReLU MLP of specs/mnist_mlp_default.net (nn.Sequential,
default nn.Linear initialisation: the weights do not change the time) in
eval mode under torch.no_grad(), one thread, runs model(x) on the test
images of an IDX directory as one batch (at most --batch of them).

usage: torch_predict.py DATA_DIR [--batch N] [--threads N] [--warmup N] [--calls N]

DATA_DIR holds t10k-images-idx3-ubyte (gzip-compressed or not), read
with bench/torch_mlp.py's loader: pixels / 255 as float32, converted
before any clock starts.

Prints on stderr, in the format of `netc predict`'s timing line:
  predict: N samples in S s (R samples/s)
      the median of --calls timed calls after --warmup untimed ones:
      PyTorch's steady state, its best case (its allocator has by then
      stopped asking the kernel for fresh pages for each call's outputs);
  predict first call: N samples in S s (R samples/s)
      the first call of the process, as a one-batch run would see it;
  torch: VERSION, T thread(s), BLAS LIBRARY
"""
import argparse
import os
import statistics
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_common import blas_library, idx_path, read_idx, set_threads  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("--batch", type=int, default=10000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--calls", type=int, default=11)
    a = ap.parse_args()

    set_threads(a.threads)
    torch.manual_seed(1)

    images = read_idx(idx_path(a.data, "t10k-images-idx3-ubyte"))
    x = images.reshape(images.shape[0], -1)[: a.batch].to(torch.float32).div_(255.0).contiguous()
    n = x.shape[0]

    model = nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(),
        nn.Linear(256, 256), nn.ReLU(),
        nn.Linear(256, 10),
    ).eval()

    times = []
    with torch.no_grad():
        for i in range(1 + a.warmup + a.calls):
            t0 = time.perf_counter()
            y = model(x)
            times.append(time.perf_counter() - t0)
            del y
    first = times[0]
    steady = statistics.median(times[1 + a.warmup:])

    print(f"predict: {n} samples in {steady:.4f} s ({n / steady:.0f} samples/s)", file=sys.stderr)
    print(f"predict first call: {n} samples in {first:.4f} s ({n / first:.0f} samples/s)", file=sys.stderr)
    print(f"torch: {torch.__version__}, {torch.get_num_threads()} thread(s), BLAS {blas_library()}",
          file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
