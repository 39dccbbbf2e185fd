#!/usr/bin/env python3
"""Output shapes, parameter shapes and fans of the spatial layers, as torch
computes them, for tests/test_layers.c.

usage: gen_golden_layers.py GOLDEN_DIR   (writes GOLDEN_DIR/layers/shapes.txt)

One line per case:  input | call | output | tensors
  input    the per-sample input shape, e.g. 3,9,11
  call     the layer as a spec writes it (torch's constructor call with
           true/false for True/False)
  output   the per-sample output shape torch produces
  tensors  name:shape:fan_in:fan_out for every state_dict entry, space
           separated (fans from torch.nn.init._calculate_fan_in_and_fan_out,
           '-' for tensors of fewer than 2 dims), or '-' for none
"""
import os
import sys

import torch
from torch import nn

CASES = [
    ((1, 28, 28), "Conv2d(1, 6, kernel_size=5, padding=2)"),
    ((6, 14, 14), "Conv2d(6, 16, kernel_size=5)"),
    ((3, 9, 11), "Conv2d(3, 4, kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2))"),
    ((4, 8, 8), "Conv2d(4, 4, kernel_size=3, groups=4, padding=\"same\")"),
    ((4, 8, 7), "Conv2d(4, 8, kernel_size=4, padding=\"same\", dilation=2, groups=2, bias=False)"),
    ((2, 6, 6), "Conv2d(2, 3, kernel_size=3, padding=2, padding_mode=\"circular\")"),
    ((2, 6, 6), "Conv2d(2, 3, kernel_size=3, padding=\"valid\", padding_mode=\"reflect\")"),
    ((2, 6, 5), "Conv2d(2, 3, kernel_size=3, stride=3, padding=1, padding_mode=\"replicate\")"),
    ((3, 17), "Conv1d(3, 5, kernel_size=4, stride=2, padding=3, dilation=2)"),
    ((4, 10), "Conv1d(4, 4, kernel_size=3, padding=\"same\", groups=4)"),
    ((2, 5, 5), "ConvTranspose2d(2, 3, kernel_size=3, stride=2, padding=1, output_padding=1)"),
    ((4, 4, 6), "ConvTranspose2d(4, 2, kernel_size=(2, 3), stride=(1, 2), groups=2, dilation=(2, 1))"),
    ((3, 7), "ConvTranspose1d(3, 2, kernel_size=5, stride=3, padding=2, output_padding=2, bias=False)"),
    ((6, 28, 28), "MaxPool2d(2)"),
    ((3, 9, 9), "MaxPool2d(3, stride=2, padding=1, ceil_mode=True)"),
    ((2, 10, 11), "MaxPool2d(kernel_size=(2, 3), stride=(1, 2), dilation=(2, 1))"),
    ((2, 10), "MaxPool1d(3, stride=2, ceil_mode=True)"),
    ((3, 7, 7), "AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)"),
    ((3, 8, 8), "AvgPool2d(2, divisor_override=3)"),
    ((2, 9), "AvgPool1d(4, stride=3, padding=2)"),
    ((3, 10, 7), "AdaptiveAvgPool2d((3, 2))"),
    ((3, 5, 5), "AdaptiveMaxPool2d(7)"),
    ((2, 11), "AdaptiveAvgPool1d(4)"),
    ((2, 11), "AdaptiveMaxPool1d(3)"),
    ((16, 5, 5), "BatchNorm2d(16)"),
    ((16, 5, 5), "BatchNorm2d(16, affine=False, momentum=None)"),
    ((8,), "BatchNorm1d(8, track_running_stats=False)"),
    ((8, 12), "BatchNorm1d(8, eps=0.001)"),
    ((4, 6), "Dropout1d(0.3)"),
    ((4, 3, 3), "Dropout2d()"),
    ((5, 2, 3), "Softmax2d()"),
    ((24,), "Unflatten(1, (2, 3, 4))"),
    ((6, 4), "Unflatten(1, (3, -1))"),
]


def build(call):
    return eval("nn." + call, {"nn": nn})


def dims(shape):
    return ",".join(str(d) for d in shape)


def main():
    out_dir = os.path.join(sys.argv[1] if len(sys.argv) > 1 else "tests/golden", "layers")
    os.makedirs(out_dir, exist_ok=True)
    lines = []
    for shape, call in CASES:
        layer = build(call)
        layer.eval()
        with torch.no_grad():
            y = layer(torch.zeros((2,) + shape))
        tensors = []
        for name, t in layer.state_dict().items():
            if t.dim() >= 2:
                fi, fo = nn.init._calculate_fan_in_and_fan_out(t)
                fans = f"{fi}:{fo}"
            else:
                fans = "-:-"
            tensors.append(f"{name}:{dims(t.shape) if t.dim() else 'scalar'}:{fans}")
        spec_call = call.replace("True", "true").replace("False", "false")
        lines.append(f"{dims(shape)} | {spec_call} | {dims(y.shape[1:])} | {' '.join(tensors) or '-'}")
    with open(os.path.join(out_dir, "shapes.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
