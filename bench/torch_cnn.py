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
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "scripts"))
from torch_cnn_reference import NETS  # noqa: E402
from torch_common import (accuracy, add_train_options, load_images, load_split,  # noqa: E402
                          print_accuracy, print_torch, set_threads, time_latency,
                          time_predict, train)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("net", choices=sorted(NETS))
    ap.add_argument("data", nargs="?")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--predict", action="store_true", help="time model(x) on the test images in eval mode")
    mode.add_argument("--latency", action="store_true", help="time batch-1 model(x) in eval mode")
    add_train_options(ap, epochs=1, batch=None, batch_help="default: 64 for training, 10000 for --predict")
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
        # Fewer calls per round than torch_latency.py's 2000: a batch-1 pass
        # of fashion_cnn takes about a millisecond, not tens of microseconds.
        time_latency(model, (1, 1, 28, 28), rounds=21, calls=500)
        return
    if a.predict:
        time_predict(model, load_images(a.data, "t10k", image=True, limit=a.batch), a.warmup, a.calls)
    else:
        x, y = load_split(a.data, "train", image=True)
        tx, ty = load_split(a.data, "t10k", image=True)
        train(model, x, y, a.epochs, a.batch, a.lr, a.seed)
        # Eval mode (BatchNorm's running statistics, no dropout), in chunks
        # that keep fashion_cnn's activations small; untimed.
        print_accuracy(accuracy(model, tx, ty), tx.shape[0])
    print_torch()


if __name__ == "__main__":
    main()
