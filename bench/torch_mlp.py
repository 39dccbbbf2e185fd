#!/usr/bin/env python3
"""torch_mlp.py — the PyTorch twin of specs/mnist_mlp_default.net, for bench/run.sh.

784-256-256-10 ReLU MLP with PyTorch's default nn.Linear initialisation,
Adam(lr=0.001), CrossEntropyLoss, batch 100, shuffled, on one thread.

usage: torch_mlp.py DATA_DIR [--epochs N] [--batch N] [--lr X] [--seed N] [--threads N]

DATA_DIR holds the IDX files train-{images-idx3,labels-idx1}-ubyte and
t10k-{images-idx3,labels-idx1}-ubyte, gzip-compressed (.gz) or not.

Output mirrors `netc train`: `Epoch: NNNN cost = ...` lines and
`Test accuracy: ...` on stdout; on stderr the timing line
`train: N samples x E epochs in S s (R samples/s)` and a `torch:` line
naming the version, thread count and the BLAS library loaded.

The data set is decoded and converted to float32 tensors (pixels / 255)
before the clock starts, which is PyTorch's best case: each epoch draws one
permutation and gathers the shuffled copy once, and every batch is then a
slice (a view) of that copy.  The clock runs from the first epoch's shuffle
to the end of the last optimizer step; the test evaluation is not timed.
"""
import argparse
import gzip
import os
import struct
import sys
import time

import torch
from torch import nn


def read_idx(path):
    """An IDX file of unsigned bytes as a uint8 tensor of its dimensions."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08:
        sys.exit(f"torch_mlp.py: {path}: not an IDX file of unsigned bytes")
    dims = struct.unpack(">" + "I" * ndim, raw[4 : 4 + 4 * ndim])
    data = torch.frombuffer(bytearray(raw[4 + 4 * ndim :]), dtype=torch.uint8)
    return data.reshape(dims)


def idx_path(directory, name):
    for candidate in (name + ".gz", name):
        path = os.path.join(directory, candidate)
        if os.path.exists(path):
            return path
    sys.exit(f"torch_mlp.py: no {name}[.gz] in {directory}")


def load_split(directory, split):
    images = read_idx(idx_path(directory, f"{split}-images-idx3-ubyte"))
    labels = read_idx(idx_path(directory, f"{split}-labels-idx1-ubyte"))
    x = images.reshape(images.shape[0], -1).to(torch.float32).div_(255.0)
    return x.contiguous(), labels.to(torch.int64)


def blas_library():
    """The first BLAS-like shared library mapped into this process."""
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1]
                base = os.path.basename(path).lower()
                if "blas" in base or "mkl" in base:
                    return os.path.realpath(path)
    except OSError:
        pass
    return "unknown"


def set_threads(n):
    """n threads for PyTorch's intra-op and inter-op pools (the latter can
    only be set before its first use; later calls are ignored)."""
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(n)
    except RuntimeError:
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--lr", type=float, default=0.001)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()

    set_threads(a.threads)
    torch.manual_seed(a.seed)

    x, y = load_split(a.data, "train")
    tx, ty = load_split(a.data, "t10k")
    n = x.shape[0]

    model = nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(),
        nn.Linear(256, 256), nn.ReLU(),
        nn.Linear(256, 10),
    )
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(a.seed)

    t0 = time.perf_counter()
    for epoch in range(1, a.epochs + 1):
        perm = torch.randperm(n, generator=gen)
        xs, ys = x[perm], y[perm]
        total = 0.0
        for start in range(0, n, a.batch):
            xb = xs[start : start + a.batch]
            yb = ys[start : start + a.batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * xb.shape[0]
        print(f"Epoch: {epoch:04d} cost = {total / n:.9f}", flush=True)
    secs = time.perf_counter() - t0

    print(f"train: {n} samples x {a.epochs} epochs in {secs:.3f} s "
          f"({n * a.epochs / secs:.0f} samples/s)", file=sys.stderr, flush=True)

    with torch.no_grad():
        correct = int((model(tx).argmax(dim=1) == ty).sum())
    print(f"Test accuracy: {correct / tx.shape[0]:.4f} ({correct}/{tx.shape[0]})", flush=True)
    print(f"torch: {torch.__version__}, {torch.get_num_threads()} thread(s), BLAS {blas_library()}",
          file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
