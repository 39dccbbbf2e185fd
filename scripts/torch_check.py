#!/usr/bin/env python3
"""Load a netc checkpoint into the equivalent torch nn.Sequential and check
that PyTorch predicts the same classes as `netc predict` on a test set.

usage: torch_check.py NETC SPEC CHECKPOINT IDX_DIR

The model built here is the 784-256-256-10 ReLU MLP of specs/mnist_mlp*.net;
the checkpoint's tensor names are nn.Sequential state_dict names, so
load_state_dict takes it as is.  Needs python3-torch; CI does not run it.
"""
import gzip
import json
import os
import struct
import subprocess
import sys
import tempfile

import torch
from torch import nn


def load_safetensors(path):
    """The few lines a PyTorch user needs to read a netc checkpoint: every
    tensor but the optimizer state ("optim.*"), which is netc's to resume
    training and not part of the model's state_dict."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__" or name.startswith("optim."):
            continue
        begin, end = info["data_offsets"]
        tensors[name] = torch.frombuffer(bytearray(data[begin:end]), dtype=torch.float32).reshape(info["shape"])
    return tensors


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    magic, count = struct.unpack(">II", raw[:8])
    if magic == 0x803:
        rows, cols = struct.unpack(">II", raw[8:16])
        return torch.frombuffer(bytearray(raw[16:]), dtype=torch.uint8).reshape(count, rows * cols)
    return torch.frombuffer(bytearray(raw[8:]), dtype=torch.uint8).long()


def find(directory, stem):
    for name in (stem, stem + ".gz"):
        if os.path.exists(os.path.join(directory, name)):
            return os.path.join(directory, name)
    sys.exit(f"{directory}: no {stem}[.gz]")


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    netc, spec, ckpt, data = sys.argv[1:]
    images = read_idx(find(data, "t10k-images-idx3-ubyte")).float() / 255.0
    labels = read_idx(find(data, "t10k-labels-idx1-ubyte"))

    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    model.load_state_dict(load_safetensors(ckpt))
    model.eval()
    with torch.no_grad():
        torch_logits = model(images)

    with tempfile.TemporaryDirectory() as tmp:
        inputs = os.path.join(tmp, "inputs.csv")
        outputs = os.path.join(tmp, "outputs.csv")
        with open(inputs, "w") as f:
            for row in images.tolist():
                f.write(",".join(repr(v) for v in row) + "\n")
        subprocess.run([netc, "predict", spec, "--weights", ckpt, "--input", inputs, "--output", outputs],
                       check=True)
        with open(outputs) as f:
            netc_logits = torch.tensor([[float(v) for v in line.split(",")] for line in f])

    same = (torch_logits.argmax(1) == netc_logits.argmax(1)).sum().item()
    diff = (torch_logits - netc_logits).abs().max().item()
    acc = (torch_logits.argmax(1) == labels).float().mean().item()
    print(f"{len(labels)} test images: PyTorch and netc predict the same class for {same}; "
          f"max |logit difference| {diff:.3g}; PyTorch accuracy {acc:.4f}")
    sys.exit(0 if same == len(labels) else 1)


if __name__ == "__main__":
    main()
