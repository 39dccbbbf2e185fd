#!/usr/bin/env python3
"""torch_cnn.py — the PyTorch twin of specs/lenet5.net and specs/fashion_cnn.net, for bench/run.sh.

The networks are scripts/torch_cnn_reference.py's (the specs' layers, with
PyTorch's default init), on one thread unless --threads says otherwise.
Three modes:

  torch_cnn.py NET DATA_DIR [--epochs N] [--batch N] [--lr X] [--seed N] [--threads N]
      trains NET (lenet5 or fashion_cnn) with CrossEntropyLoss and
      Adam(lr=0.001), batch 64, shuffled, as bench/torch_mlp.py trains
      the MLP. It prints the same lines: `Epoch: NNNN cost = ...` and
      `Test accuracy: ...` on stdout, and on stderr
      `train: N samples x E epochs in S s (R samples/s)` and a `torch:` line.
      As there, the data are float32 tensors before the clock starts. The
      clock runs from the first epoch's shuffle to the end of the last
      optimizer step.
  torch_cnn.py NET DATA_DIR --predict [--batch N] [--warmup N] [--calls N]
      model(x) in eval mode under torch.no_grad() on the test images as one
      batch (at most --batch, default 10000), as bench/torch_predict.py
      does for the MLP. It prints `predict: N samples in S s (R samples/s)`
      for the median of --calls calls after --warmup (fewer than the MLP's:
      one call of fashion_cnn at 10,000 takes seconds), then
      `predict first call: ...` and the `torch:` line, on stderr.
  torch_cnn.py NET --latency
      batch-1 model(x) on one (1, 1, 28, 28) input in eval mode under
      torch.no_grad(): the median over 21 rounds of the time per call, as
      bench/torch_latency.py measures it; prints `torch_us: X` on stdout.

DATA_DIR is an IDX directory (train-* and t10k-*, gzip-compressed or not).
"""
import argparse
import os
import statistics
import sys
import time

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "scripts"))
from torch_cnn_reference import NETS  # noqa: E402
from torch_common import blas_library, idx_path, read_idx, set_threads  # noqa: E402


def load_images(directory, split, limit=None):
    """The split's images as (N, 1, 28, 28) float32 pixels / 255, the layout
    of the specs' `input (1, 28, 28)`."""
    images = read_idx(idx_path(directory, f"{split}-images-idx3-ubyte"))
    if limit is not None:
        images = images[:limit]
    return images.reshape(images.shape[0], 1, images.shape[1], images.shape[2]).to(torch.float32).div_(255.0)


def train(model, a):
    x = load_images(a.data, "train").contiguous()
    y = read_idx(idx_path(a.data, "train-labels-idx1-ubyte")).to(torch.int64)
    tx = load_images(a.data, "t10k").contiguous()
    ty = read_idx(idx_path(a.data, "t10k-labels-idx1-ubyte")).to(torch.int64)
    n = x.shape[0]
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(a.seed)

    model.train()
    t0 = time.perf_counter()
    for epoch in range(1, a.epochs + 1):
        perm = torch.randperm(n, generator=gen)
        xs, ys = x[perm], y[perm]
        total = 0.0
        for start in range(0, n, a.batch):
            xb = xs[start:start + a.batch]
            yb = ys[start:start + a.batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * xb.shape[0]
        print(f"Epoch: {epoch:04d} cost = {total / n:.9f}", flush=True)
    secs = time.perf_counter() - t0
    print(f"train: {n} samples x {a.epochs} epochs in {secs:.3f} s "
          f"({n * a.epochs / secs:.0f} samples/s)", file=sys.stderr, flush=True)

    # Eval mode (BatchNorm's running statistics, no dropout), in chunks
    # that keep fashion_cnn's activations small; untimed.
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, tx.shape[0], 1000):
            correct += int((model(tx[start:start + 1000]).argmax(dim=1) == ty[start:start + 1000]).sum())
    print(f"Test accuracy: {correct / tx.shape[0]:.4f} ({correct}/{tx.shape[0]})", flush=True)


def predict(model, a):
    x = load_images(a.data, "t10k", a.batch).contiguous()
    n = x.shape[0]
    model.eval()
    times = []
    with torch.no_grad():
        for _ in range(1 + a.warmup + a.calls):
            t0 = time.perf_counter()
            y = model(x)
            times.append(time.perf_counter() - t0)
            del y
    first = times[0]
    steady = statistics.median(times[1 + a.warmup:])
    print(f"predict: {n} samples in {steady:.4f} s ({n / steady:.0f} samples/s)", file=sys.stderr)
    print(f"predict first call: {n} samples in {first:.4f} s ({n / first:.0f} samples/s)", file=sys.stderr)


def latency(model, rounds=21, calls=500):
    # Fewer calls per round than torch_latency.py's 2000: a batch-1 pass of
    # fashion_cnn takes about a millisecond, not tens of microseconds.
    model.eval()
    x = torch.rand(1, 1, 28, 28)
    with torch.no_grad():
        for _ in range(calls):
            model(x)
        us = []
        for _ in range(rounds):
            t = time.perf_counter()
            for _ in range(calls):
                model(x)
            us.append((time.perf_counter() - t) * 1e6 / calls)
    print("torch_us: %.3f" % statistics.median(us), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("net", choices=sorted(NETS))
    ap.add_argument("data", nargs="?")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--predict", action="store_true", help="time model(x) on the test images in eval mode")
    mode.add_argument("--latency", action="store_true", help="time batch-1 model(x) in eval mode")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=None, help="default: 64 for training, 10000 for --predict")
    ap.add_argument("--lr", type=float, default=0.001)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--calls", type=int, default=5)
    a = ap.parse_args()
    if a.data is None and not a.latency:
        ap.error("DATA_DIR is required except with --latency")
    if a.batch is None:
        a.batch = 10000 if a.predict else 64

    set_threads(a.threads)
    torch.manual_seed(a.seed)
    model = NETS[a.net][0]()
    if a.latency:
        latency(model)
        return
    if a.predict:
        predict(model, a)
    else:
        train(model, a)
    print(f"torch: {torch.__version__}, {torch.get_num_threads()} thread(s), BLAS {blas_library()}",
          file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
