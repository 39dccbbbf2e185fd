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

import torch
from torch import nn

from torch_common import (accuracy, add_train_options, load_split, print_accuracy,
                          print_torch, set_threads, train)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    add_train_options(ap, epochs=1, batch=100)
    a = ap.parse_args()

    set_threads(a.threads)
    torch.manual_seed(a.seed)

    x, y = load_split(a.data, "train")
    tx, ty = load_split(a.data, "t10k")

    model = nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(),
        nn.Linear(256, 256), nn.ReLU(),
        nn.Linear(256, 10),
    )
    train(model, x, y, a.epochs, a.batch, a.lr, a.seed)

    # The whole test split as one batch; untimed.
    print_accuracy(accuracy(model, tx, ty, chunk=tx.shape[0]), tx.shape[0])
    print_torch()


if __name__ == "__main__":
    main()
