#!/usr/bin/env python3
"""Generate the ONNX fixtures of the import tests (tests/onnx.sh): models
torch.onnx.export writes for an nn.Sequential, with torch's outputs.

Usage: python3 scripts/gen_golden_onnx.py OUTDIR   (normally tests/golden;
the files go to OUTDIR/onnx)

For each model below this writes OUTDIR/onnx/<name>.onnx (opset 17, the
graph checked by onnx.checker with full_check), <name>.in.csv (inputs,
one sample per row, flattened) and <name>.out.csv (torch's outputs for
them, 9 significant digits), and the models that must be refused
(an op netc has no layer for, a branching graph) as <name>.onnx alone.

  torch_mlp      Linear-BatchNorm1d-ReLU-Linear-Tanh-Linear on 2-d input:
                 Gemm, BatchNormalization (torch folds a BatchNorm2d
                 into the Conv before it, so torch_cnn has none)
  torch_mlp3d    Linear on (N, 3, 5): MatMul + Add, then Flatten
  torch_cnn      Conv2d-BatchNorm2d-ReLU-MaxPool2d-Conv2d-ReLU-
                 AvgPool2d-Flatten-Dropout-Linear (eval mode)
  torch_acts     Linear then the activations torch exports as single ops
                 or netc's patterns (LeakyReLU, ELU, SELU, CELU, GELU,
                 Hardtanh, ReLU6, SiLU, Mish, Softplus, Hardswish,
                 Hardsigmoid, Softsign, Tanhshrink, LogSigmoid, Sigmoid),
                 then LogSoftmax
  bad_layernorm  nn.LayerNorm, which netc lacks
  bad_residual   x + Linear(x): not a chain

With a built ./netc given as the second argument (python3
scripts/gen_golden_onnx.py tests/golden ./netc) it also exports every
shipped spec (specs/*.net, weights from one short training run) and the
test specs (tests/onnx/specs/*.net) and checks each file with
onnx.checker (full_check) and onnx.shape_inference (strict): netc's own
files are valid ONNX, which CI, having no python3-onnx, cannot check.

Needs torch and python3-onnx.
"""

import os
import random
import subprocess
import sys
import tempfile

import onnx
import torch
import torch.nn as nn


def fmt(v):
    return "%.9g" % v


def write_csv(path, t):
    with open(path, "w") as f:
        for row in t.reshape(t.shape[0], -1).tolist():
            f.write(",".join(fmt(v) for v in row) + "\n")


def export(model, x, path):
    model.eval()
    torch.onnx.export(model, x, path, opset_version=17, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "N"}, "output": {0: "N"}})
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    return m


def fixture(out, name, model, x):
    path = os.path.join(out, name + ".onnx")
    export(model, x, path)
    with torch.no_grad():
        y = model(x)
    write_csv(os.path.join(out, name + ".in.csv"), x)
    write_csv(os.path.join(out, name + ".out.csv"), y)
    print("wrote", path)


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return x + self.fc(x)


def check_netc(netc):
    """Export the shipped and test specs with netc and check the files."""
    specs = sorted("specs/" + f for f in os.listdir("specs") if f.endswith(".net"))
    specs += sorted("tests/onnx/specs/" + f for f in os.listdir("tests/onnx/specs") if f.endswith(".net"))
    with tempfile.TemporaryDirectory() as tmp:
        for spec in specs:
            name = os.path.basename(spec)[:-4]
            w = os.path.join(tmp, name + ".safetensors")
            o = os.path.join(tmp, name + ".onnx")
            data = os.path.join(tmp, name + ".csv")
            # one training epoch on random data of the right width, as tests/onnx.sh trains
            subprocess.run(["sh", "-c", 'NETC="$0"; . tests/onnx/data.sh; make_data "$1" "$2" 32 1', netc, spec, data],
                           check=True)
            subprocess.run([netc, "train", spec, "--data", data, "--epochs", "1", "--batch", "8", "--save", w],
                           check=True, capture_output=True)
            subprocess.run([netc, "export", spec, "--weights", w, "-o", o], check=True, capture_output=True)
            m = onnx.load(o)
            onnx.checker.check_model(m, full_check=True)
            onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True)
            print("netc export of %s: onnx.checker and strict shape inference pass" % spec)


def main():
    out = os.path.join(sys.argv[1] if len(sys.argv) > 1 else "tests/golden", "onnx")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    random.seed(0)

    mlp = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3))
    with torch.no_grad():  # running statistics other than 0 and 1
        mlp[1].running_mean.uniform_(-0.5, 0.5)
        mlp[1].running_var.uniform_(0.5, 2.0)
    fixture(out, "torch_mlp", mlp, torch.randn(5, 6))

    mlp3d = nn.Sequential(nn.Linear(5, 4), nn.Sigmoid(), nn.Flatten(), nn.Linear(12, 2))
    fixture(out, "torch_mlp3d", mlp3d, torch.randn(4, 3, 5))

    cnn = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(4, 6, 3, stride=1, padding=1, groups=2), nn.ReLU(), nn.AvgPool2d(2),
                        nn.Flatten(), nn.Dropout(0.25), nn.Linear(6 * 3 * 3, 5))
    with torch.no_grad():  # running statistics other than 0 and 1
        cnn[1].running_mean.uniform_(-0.5, 0.5)
        cnn[1].running_var.uniform_(0.5, 2.0)
        cnn[1].weight.uniform_(0.5, 1.5)
        cnn[1].bias.uniform_(-0.2, 0.2)
    fixture(out, "torch_cnn", cnn, torch.randn(3, 1, 12, 12))

    acts = [nn.LeakyReLU(0.2), nn.ELU(0.5), nn.SELU(), nn.CELU(1.5), nn.GELU(), nn.Hardtanh(-0.5, 2.0),
            nn.ReLU6(), nn.SiLU(), nn.Mish(), nn.Softplus(), nn.Hardswish(), nn.Hardsigmoid(), nn.Softsign(),
            nn.Tanhshrink(), nn.LogSigmoid(), nn.Sigmoid()]
    layers = []
    for a in acts:
        layers += [nn.Linear(6, 6), a]
    fixture(out, "torch_acts", nn.Sequential(*layers, nn.Linear(6, 4), nn.LogSoftmax(dim=1)), torch.randn(6, 6))

    export(nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4)), torch.randn(2, 4), os.path.join(out, "bad_layernorm.onnx"))
    export(Residual(), torch.randn(2, 4), os.path.join(out, "bad_residual.onnx"))
    print("wrote the refused models")

    if len(sys.argv) > 2:
        check_netc(sys.argv[2])


if __name__ == "__main__":
    main()
