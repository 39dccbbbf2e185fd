#!/usr/bin/env python3
"""torch_cnn_reference.py — PyTorch's test accuracy for the two CNN specs.

Trains specs/lenet5.net's or specs/fashion_cnn.net's network in PyTorch,
as the spec describes it, and prints the test accuracy after every epoch:
the figure netc's run of the same spec should reach (docs/cnn-reference.md
records them).

usage: torch_cnn_reference.py {lenet5,fashion_cnn} DATA_DIR
           [--epochs N] [--batch N] [--lr X] [--seed N] [--threads N]

  lenet5       Conv2d(1, 6, 5, padding=2), ReLU, MaxPool2d(2),
               Conv2d(6, 16, 5), ReLU, MaxPool2d(2), Flatten,
               Linear(400, 120), ReLU, Linear(120, 84), ReLU, Linear(84, 10);
               10 epochs by default
  fashion_cnn  Conv2d(1, 32, 3, padding=1), BatchNorm2d(32), ReLU, MaxPool2d(2),
               Conv2d(32, 64, 3, padding=1), BatchNorm2d(64), ReLU, MaxPool2d(2),
               Flatten, Linear(3136, 128), ReLU, Dropout(0.25), Linear(128, 10);
               5 epochs by default

Both: CrossEntropyLoss, Adam(lr=0.001), batch 64, reshuffled every epoch,
seed 1, PyTorch's default initialisation, one thread, float32.  DATA_DIR is
an IDX directory (train-* and t10k-*, gzip-compressed or not), pixels / 255
as netc and torchvision's ToTensor scale them, with no normalisation or
augmentation, since the specs have none.

stdout, one line per epoch in netc's epoch-line format plus the accuracy:
    Epoch: 0001 cost = 0.512345678 test accuracy = 0.8512 (8512/10000)
where cost is the mean training loss over the epoch (the loss of each
batch weighted by its size, as netc averages it) and the accuracy is on
the whole t10k split in eval mode (BatchNorm on its running statistics,
Dropout off).  Then "Test accuracy: ..." as `netc train` prints it.
stderr: the seconds per epoch and a "torch:" line (version, threads).

The shuffle is torch.randperm with its own generator seeded by --seed, a
DataLoader(shuffle=True) without the loader; the weights come from
torch.manual_seed(--seed).  netc's generator is not torch's, so its
weights and order differ and its accuracies agree only statistically.
"""
import argparse
import os
import sys
import time

import torch
from torch import nn

# torch_common.py is bench/'s, beside this script's directory.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))
from torch_common import (Trainer, accuracy, accuracy_text, add_train_options,  # noqa: E402
                          epoch_line, load_split, print_accuracy, print_torch,
                          set_threads)


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )


def fashion_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(3136, 128), nn.ReLU(), nn.Dropout(0.25),
        nn.Linear(128, 10),
    )


# name: (builder, default epochs)
NETS = {"lenet5": (lenet5, 10), "fashion_cnn": (fashion_cnn, 5)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("net", choices=sorted(NETS))
    ap.add_argument("data")
    add_train_options(ap, epochs=None, batch=64, epochs_help="default: 10 for lenet5, 5 for fashion_cnn")
    a = ap.parse_args()
    build, default_epochs = NETS[a.net]
    epochs = default_epochs if a.epochs is None else a.epochs

    # One thread: the figures then do not depend on the machine's core count.
    set_threads(a.threads)
    torch.manual_seed(a.seed)

    x, y = load_split(a.data, "train", image=True)
    tx, ty = load_split(a.data, "t10k", image=True)

    model = build()
    model.train()
    trainer = Trainer(model, x, y, a.batch, a.lr, a.seed)

    correct = 0
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        cost = trainer.epoch()
        secs = time.perf_counter() - t0
        correct = accuracy(model, tx, ty)
        print(f"{epoch_line(epoch, cost)} test accuracy = {accuracy_text(correct, tx.shape[0])}", flush=True)
        print(f"epoch {epoch}: {secs:.1f} s", file=sys.stderr, flush=True)
    print_accuracy(correct, tx.shape[0])
    print_torch(f"{a.net}, {epochs} epochs, batch {a.batch}, lr {a.lr}, seed {a.seed}")


if __name__ == "__main__":
    main()
