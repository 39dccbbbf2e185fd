#!/usr/bin/env python3
"""Load a netc checkpoint into the equivalent torch nn.Sequential and check
that PyTorch predicts what `netc predict` does on a test set: the same
class for every image and every output within 1e-4.

usage: torch_check.py NETC SPEC CHECKPOINT IDX_DIR
       torch_check.py --from-torch NETC SPEC IDX_DIR

With --from-torch the other way round: torch's nn.Sequential, trained a
few steps so that BatchNorm's running statistics move, is saved as
safetensors with its own dtypes (num_batches_tracked is int64), and netc
must load it and predict what torch does.

The nn.Sequential is built from the spec's `layers` chain, each call read
as torch's constructor (true/false as True/False), and its input shape
from the spec's `input`; `repeat` blocks, `let` constants and per-layer
init= are not read (the check says so).  The checkpoint is exactly the
nn.Sequential's state_dict (netc keeps the training state in a companion
file), so safetensors.torch.load_file + load_state_dict(strict=True) takes
it as is; without the safetensors package, a reader of the same few lines
stands in for load_file.  Needs python3-torch; CI does not run it.
"""
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

import torch
from torch import nn

# torch_common.py is bench/'s, beside this script's directory.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))
from torch_common import load_images, load_labels  # noqa: E402


def _load_file(path):
    """safetensors.torch.load_file for machines without the safetensors
    package: every tensor of the file in its own dtype, nothing left out."""
    dtypes = {"F32": torch.float32, "I64": torch.int64}
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        tensors[name] = torch.frombuffer(bytearray(data[begin:end]), dtype=dtypes[info["dtype"]]).reshape(info["shape"])
    return tensors


try:
    from safetensors.torch import load_file
except ImportError:
    load_file = _load_file


STATEMENTS = r"(?:input|layers|loss|optimizer|init|train|data|schedule|clip|let)\b"


def spec_model(path):
    """The spec's chain as an nn.Sequential, and its per-sample input shape."""
    with open(path) as f:
        text = "\n".join(line.split("#", 1)[0] for line in f)
    chain = re.search(r"\blayers\b(.*?)(?=^\s*" + STATEMENTS + r"|\})", text, re.S | re.M)
    shape = re.search(r"\binput\s+(\([^)]*\)|\w+)", text)
    if not chain or not shape:
        sys.exit(f"{path}: no layers or input statement found")
    body = chain.group(1)
    if re.search(r"\brepeat\b|\binit\s*=", body):
        sys.exit(f"{path}: repeat blocks and init= are not read by this check")
    # The spec's constants, in order (a let may use the ones before it).
    names = {"nn": nn, "None": None}
    for name, value in re.findall(r"^\s*let\s+(\w+)\s*=\s*(.+?)\s*$", text, re.M):
        names[name] = eval(re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", value)), dict(names))
    layers = []
    for call in (c.strip() for c in body.split("->")):
        call = re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", call))
        if "(" not in call:
            call += "()"
        layers.append(eval("nn." + call, dict(names)))
    dims = eval(shape.group(1), dict(names))
    return nn.Sequential(*layers), (dims,) if isinstance(dims, int) else tuple(dims)


def save_safetensors(path, state):
    """torch's state_dict as safetensors, each tensor in its own dtype."""
    dtypes = {torch.float32: "F32", torch.int64: "I64"}
    header, blobs, offset = {}, [], 0
    for name, t in state.items():
        raw = t.detach().contiguous().numpy().tobytes()
        header[name] = {"dtype": dtypes[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def from_torch(netc, spec, data):
    model, shape = spec_model(spec)
    images = load_images(data, "train", limit=256)
    labels = load_labels(data, "train")[:256]
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    model.train()
    for i in range(0, 256, 64):
        opt.zero_grad()
        nn.functional.cross_entropy(model(images[i:i + 64].reshape((-1,) + shape)), labels[i:i + 64]).backward()
        opt.step()
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = os.path.join(tmp, "torch.safetensors")
        save_safetensors(ckpt, model.state_dict())
        return main_compare(netc, spec, ckpt, data, model, shape)


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--from-torch":
        netc, spec, data = sys.argv[2:]
        sys.exit(from_torch(netc, spec, data))
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    netc, spec, ckpt, data = sys.argv[1:]
    model, shape = spec_model(spec)
    # The file --save names is the model's state_dict and nothing else (the
    # training state is in its companion file), so this is all it takes.
    print(model.load_state_dict(load_file(ckpt), strict=True))
    sys.exit(main_compare(netc, spec, ckpt, data, model, shape))


def main_compare(netc, spec, ckpt, data, model, shape):
    """0 when netc's predictions on the test split equal torch's (the same
    classes, outputs within 1e-4), else 1."""
    images = load_images(data, "t10k")
    labels = load_labels(data, "t10k")
    model.eval()
    with torch.no_grad():
        torch_logits = model(images.reshape((-1,) + shape))

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
    return 0 if same == len(labels) and diff <= 1e-4 else 1


if __name__ == "__main__":
    main()
