#!/usr/bin/env python3
"""Generate the PyTorch golden vectors that tests/test_parity.c replays.

Usage: python3 scripts/gen_golden.py OUTDIR [CASE...]   (normally
tests/golden; the cases go to OUTDIR/parity, next to their hand-written .net
specs)

For every case below (or only the CASEs named) this writes
OUTDIR/<case>.safetensors.  The matching spec, OUTDIR/<case>.net, is
written by hand in netc's language and is committed next to it; this script does not write it, but the table below
says, case by case, which torch model each spec stands for.

Contents of one golden file (all float32, little-endian):

    input            the batch, shape (N, *input shape), from torch.rand
    target           CrossEntropy: the class indices as floats, shape (N,)
                     MSE: the targets, shape (N, outputs), from torch.rand
    init/<name>      every parameter before training, named as the model's
                     state_dict() names it ("0.weight", "0.bias", ...),
                     then every buffer of the state_dict (below)
    output           the model's output (logits) for the batch, shape (N, outputs)
    loss             the loss, shape (1,)
    grad/<name>      every parameter's gradient after the first backward
    step<s>/<name>   every parameter after optimizer step s (s = 1, 2, 3)
    step<s>/loss     the loss of step s's forward pass, shape (1,)

A model with buffers in its state_dict (BatchNorm's running statistics)
also has, under the buffers' state_dict names, "<i>.running_mean" (C,),
"<i>.running_var" (C,) and "<i>.num_batches_tracked" (torch's int64
scalar, here one float of shape (1,)) for every BatchNorm at chain index i:

    init/<buffer>    the buffer as the model was built (torch's 0, 1 and 0)
    step<s>/<buffer> the buffer after step s: the training-mode forward of
                     step s updated it (num_batches_tracked = s)
    eval/output      the output in eval mode after step 3 (model.eval():
                     BatchNorm normalises with the running statistics of
                     step3/<buffer>, which the eval forward leaves as they are)
    eval/loss        the loss of that output, shape (1,)

Step s is: zero_grad, forward on the same batch, loss, backward,
optimizer.step().  So step1/loss equals loss, and grad/* are the gradients
step 1 used.  The "__metadata__" object holds "state_dict_keys", a JSON
list of the model's state_dict() keys in order (parameters and buffers),
plus the case name, the batch size and the torch version that produced
the file; a model with buffers adds "buffer_keys", the JSON list of the
buffers' names (state_dict order), which are not parameters: no grad/
tensor, and the optimizer does not update them.

How each torch model maps to its spec
-------------------------------------
Every model is an nn.Sequential, so its parameters are named
"<index>.weight" / "<index>.bias" with <index> the position in the
Sequential.  netc numbers its layers the same way: every item of the
`layers` chain, activations, Flatten and Softmax included, takes one index.
torch's class names and argument names are netc's (nn.Linear -> Linear,
nn.LeakyReLU(negative_slope=0.2) -> LeakyReLU(negative_slope=0.2), ...);
nn.CrossEntropyLoss / nn.MSELoss -> `loss CrossEntropy` / `loss MSE` with
the same `reduction`; torch.optim.SGD / Adam -> `optimizer SGD(...)` /
`optimizer Adam(...)` with the same keyword arguments (Python's True is
netc's `true`).  The `train` statement's batch equals the golden batch; its
seed is not used by the test (the weights come from the golden file).

  mlp_sgd_momentum      input 20
      torch: Linear(20,16), ReLU, Linear(16,16), ReLU, Linear(16,10)
             CrossEntropyLoss(), SGD(lr=0.1, momentum=0.9)
      spec:  layers Linear(20, 16) -> ReLU -> Linear(16, 16) -> ReLU -> Linear(16, 10)
             loss CrossEntropy, optimizer SGD(lr=0.1, momentum=0.9)
  mlp_sgd_nesterov_wd   same net and loss,
             SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)
  mlp_sgd_dampening     same net and loss, SGD(lr=0.1, momentum=0.5, dampening=0.3)
  mlp_adam              same net and loss, Adam(lr=0.01)
  mlp_adam_amsgrad_wd   same net and loss, Adam(lr=0.01, betas=(0.8, 0.99),
             eps=1e-6, weight_decay=0.05, amsgrad=True)
  acts_mse              input 12
      torch: Linear(12,10), Sigmoid, Linear(10,10), Tanh, Linear(10,8),
             LeakyReLU(negative_slope=0.2), Linear(8,6), Softmax(dim=1)
             MSELoss() against torch.rand targets, SGD(lr=0.5)
      spec:  the same chain; loss MSE; optimizer SGD(lr=0.5)
  logsoftmax_sum        input (2, 3, 4)
      torch: Flatten(), Linear(24,9), LogSoftmax(dim=1), Linear(9,5)
             CrossEntropyLoss(reduction="sum"), Adam(lr=0.02)
      spec:  input (2, 3, 4); Flatten -> Linear(24, 9) -> LogSoftmax(dim=1) -> Linear(9, 5)
             (parameters "1.*" and "3.*": Flatten is index 0)
  nobias_maximize       input 10
      torch: Linear(10,7,bias=False), Tanh, Identity, Linear(7,3)
             MSELoss(reduction="sum"), SGD(lr=0.01, momentum=0.9, maximize=True)
      spec:  Linear(10, 7, bias=false) -> Tanh -> Identity -> Linear(7, 3)
             (no "0.bias"; Identity takes index 2, so the last Linear is "3.")
  mnist_mlp_real        input 784, the first 16 images of
             data/mnist-10k/train-images-idx3-ubyte.gz (pixels / 255) and
             their labels
      torch: Linear(784,32), ReLU, Linear(32,32), ReLU, Linear(32,10)
             CrossEntropyLoss(), Adam(lr=0.001)

The convolutional cases (torch's default init for every layer: Conv and
ConvTranspose as nn.Linear, kaiming_uniform_(a=sqrt(5)) with fan_in =
in_channels/groups * kernel size, BatchNorm's weight 1 and bias 0):

  cnn_lenet_small       input (1, 12, 12), a LeNet in miniature
      torch: Conv2d(1,4,kernel_size=3,padding=1), ReLU, MaxPool2d(2),
             Conv2d(4,6,kernel_size=(3,2)), ReLU, MaxPool2d(2), Flatten,
             Linear(24,16), ReLU, Linear(16,10)
             CrossEntropyLoss(), Adam(lr=0.01)
      (the second pool floors 4x5 to 2x2: the last column is dropped)
  cnn_bn2d_maxpool      input (1, 12, 12), specs/fashion_cnn.net without
             the dropout (its masks cannot be torch's) and smaller
      torch: Conv2d(1,4,3,padding=1,bias=False), BatchNorm2d(4), ReLU,
             MaxPool2d(2), Conv2d(4,8,3,padding=1,bias=False),
             BatchNorm2d(8,eps=0.001,momentum=0.3), ReLU, MaxPool2d(2),
             Flatten, Linear(72,10)
             CrossEntropyLoss(), Adam(lr=0.01)
      buffers 1.running_mean, 1.running_var, 1.num_batches_tracked and
      the same for 5.
  cnn_conv1d_bn1d_avgpool  input (2, 16): 2 channels of length 16
      torch: Conv1d(2,4,kernel_size=3,padding=1,bias=False), BatchNorm1d(4),
             ReLU, AvgPool1d(2), Conv1d(4,6,kernel_size=3), ReLU,
             AvgPool1d(kernel_size=3,stride=2,padding=1), Flatten,
             Linear(18,8,bias=False), BatchNorm1d(8,momentum=None), ReLU,
             Linear(8,3)
             MSELoss() against torch.rand targets, SGD(lr=0.1, momentum=0.9)
      BatchNorm1d on (N, C, L) at index 1 and on (N, C) at index 9, the
      latter with momentum=None (the cumulative average); buffers 1.* and 9.*
  cnn_depthwise_same_reflect  input (3, 8, 8)
      torch: Conv2d(3,3,kernel_size=3,padding="same",padding_mode="reflect",
             groups=3), ReLU, Conv2d(3,6,kernel_size=1), ReLU, MaxPool2d(2),
             Flatten, Linear(96,4)
             CrossEntropyLoss(), SGD(lr=0.2, momentum=0.5)
      (a depthwise-separable block: one 3x3 filter per channel, then a
      pointwise mix)
  cnn_adaptive_convtranspose  input (2, 9, 9)
      torch: Conv2d(2,4,kernel_size=3,stride=2), ReLU,
             ConvTranspose2d(4,3,kernel_size=3,stride=2,padding=1,output_padding=1),
             Tanh, AdaptiveAvgPool2d((3,2)), Flatten, Linear(18,5)
             CrossEntropyLoss(), Adam(lr=0.01)
      (4x4 up to 8x8, then adaptive windows of 8 rows into 3, which
      overlap, and 8 columns into 2)

A conv that feeds a BatchNorm has bias=False: BatchNorm subtracts the
channel mean, so that bias's true gradient is zero and torch's is rounding
noise, which no other implementation reproduces (and Adam would turn into
full-size steps).

Determinism: one thread, float32, torch.manual_seed(case seed) right before
the model is built, then the weights (PyTorch's default nn.Linear init),
then the input, then the targets are drawn, in that order.  The optimizers
run torch's single-tensor implementations (foreach=False), the arithmetic
netc's runtime reproduces.  Convolutions run torch's own unfold + GEMM
code (oneDNN off), not oneDNN's kernels, which are chosen for the CPU.
OpenBLAS runs its "Haswell" (AVX2) kernels whatever the CPU, as when the
committed files were made: its other kernel sets round the GEMMs
differently in the last bits, and a rerun is meant to rewrite the
committed files byte for byte.

Only torch and the standard library are needed.
"""

import json
import os
import struct
import sys

# Before torch loads OpenBLAS (see Determinism above).  Scripts that import
# this module after torch keep the kernels they already have.
os.environ["OPENBLAS_CORETYPE"] = "Haswell"

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

# The IDX loaders of torch_common.py, which is bench/'s, beside this
# script's directory.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))
from torch_common import load_images, load_labels  # noqa: E402

STEPS = 3

# Where the real MNIST sample comes from, relative to the repository root
# (this script lives in scripts/).
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST_DIR = os.path.join(ROOT, "data", "mnist-10k")


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------

def mnist_batch(n):
    """The first n training images as an (n, 784) float tensor of pixel / 255
    and their labels as an (n,) int64 tensor (bench/torch_common.py's
    loaders)."""
    x = load_images(MNIST_DIR, "train", limit=n)
    y = load_labels(MNIST_DIR, "train")[:n]
    if x.shape[0] < n or x.shape[1] != 784 or y.shape[0] < n:
        raise ValueError("unexpected MNIST layout %r / %r" % (tuple(x.shape), tuple(y.shape)))
    return x, y


# --------------------------------------------------------------------------
# The cases
# --------------------------------------------------------------------------

def mlp():
    return nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(),
                         nn.Linear(16, 10))


def sgd(**kw):
    return lambda params: torch.optim.SGD(params, foreach=False, **kw)


def adam(**kw):
    return lambda params: torch.optim.Adam(params, foreach=False, **kw)


# name: (seed, batch, input shape, model builder, loss, target kind, optimizer)
# target kind: ("class", classes) -> torch.randint class indices,
#              "rand" -> torch.rand of the output's shape,
#              ("rand", scale) -> scale * torch.rand of the output's shape,
#              "probs" -> softmax over the outputs of 2 * torch.rand,
#              "mnist" -> the real images and labels (input ignored).
CASES = {
    "mlp_sgd_momentum": (
        1, 12, (20,), mlp, nn.CrossEntropyLoss(), ("class", 10),
        sgd(lr=0.1, momentum=0.9)),
    "mlp_sgd_nesterov_wd": (
        2, 12, (20,), mlp, nn.CrossEntropyLoss(), ("class", 10),
        sgd(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    "mlp_sgd_dampening": (
        3, 12, (20,), mlp, nn.CrossEntropyLoss(), ("class", 10),
        sgd(lr=0.1, momentum=0.5, dampening=0.3)),
    "mlp_adam": (
        4, 12, (20,), mlp, nn.CrossEntropyLoss(), ("class", 10),
        adam(lr=0.01)),
    "mlp_adam_amsgrad_wd": (
        5, 12, (20,), mlp, nn.CrossEntropyLoss(), ("class", 10),
        adam(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05, amsgrad=True)),
    "acts_mse": (
        6, 10, (12,),
        lambda: nn.Sequential(nn.Linear(12, 10), nn.Sigmoid(), nn.Linear(10, 10), nn.Tanh(),
                              nn.Linear(10, 8), nn.LeakyReLU(negative_slope=0.2),
                              nn.Linear(8, 6), nn.Softmax(dim=1)),
        nn.MSELoss(), "rand",
        sgd(lr=0.5)),
    "logsoftmax_sum": (
        7, 8, (2, 3, 4),
        lambda: nn.Sequential(nn.Flatten(), nn.Linear(24, 9), nn.LogSoftmax(dim=1),
                              nn.Linear(9, 5)),
        nn.CrossEntropyLoss(reduction="sum"), ("class", 5),
        adam(lr=0.02)),
    "nobias_maximize": (
        8, 9, (10,),
        lambda: nn.Sequential(nn.Linear(10, 7, bias=False), nn.Tanh(), nn.Identity(), nn.Linear(7, 3)),
        nn.MSELoss(reduction="sum"), "rand",
        sgd(lr=0.01, momentum=0.9, maximize=True)),
    "mnist_mlp_real": (
        9, 16, (784,),
        lambda: nn.Sequential(nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                              nn.Linear(32, 10)),
        nn.CrossEntropyLoss(), "mnist",
        adam(lr=0.001)),
    "loss_nll_ignore": (
        10, 12, (10,),
        lambda: nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 5), nn.LogSoftmax(dim=1)),
        nn.NLLLoss(ignore_index=2), ("class", 5),
        sgd(lr=0.1, momentum=0.9)),
    "loss_ce_smoothing": (
        11, 12, (20,), mlp,
        nn.CrossEntropyLoss(ignore_index=3, label_smoothing=0.15, reduction="sum"), ("class", 10),
        adam(lr=0.01)),
    "loss_bce_sigmoid": (
        12, 10, (12,),
        lambda: nn.Sequential(nn.Linear(12, 8), nn.Tanh(), nn.Linear(8, 6), nn.Sigmoid()),
        nn.BCELoss(), "rand",
        sgd(lr=0.5)),
    "loss_bce_logits": (
        13, 10, (12,),
        lambda: nn.Sequential(nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 6)),
        nn.BCEWithLogitsLoss(pos_weight=torch.tensor(3.0), reduction="sum"), "rand",
        adam(lr=0.01)),
    "loss_kl_div": (
        14, 9, (10,),
        lambda: nn.Sequential(nn.Linear(10, 7), nn.Tanh(), nn.Linear(7, 4), nn.LogSoftmax(dim=1)),
        nn.KLDivLoss(reduction="batchmean"), "probs",
        sgd(lr=0.3)),
    "loss_huber": (
        15, 11, (8,),
        lambda: nn.Sequential(nn.Linear(8, 6), nn.LeakyReLU(negative_slope=0.01), nn.Linear(6, 3)),
        nn.HuberLoss(delta=0.5), ("rand", 4.0),
        sgd(lr=0.1)),
    "loss_smooth_l1": (
        16, 11, (8,),
        lambda: nn.Sequential(nn.Linear(8, 6), nn.LeakyReLU(negative_slope=0.01), nn.Linear(6, 3)),
        nn.SmoothL1Loss(beta=0.3), ("rand", 4.0),
        adam(lr=0.02)),
    "loss_l1_sum": (
        17, 11, (8,),
        lambda: nn.Sequential(nn.Linear(8, 6), nn.LeakyReLU(negative_slope=0.01), nn.Linear(6, 3)),
        nn.L1Loss(reduction="sum"), ("rand", 4.0),
        sgd(lr=0.05, momentum=0.5)),
    "cnn_lenet_small": (
        31, 6, (1, 12, 12),
        lambda: nn.Sequential(nn.Conv2d(1, 4, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(4, 6, kernel_size=(3, 2)), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(24, 16), nn.ReLU(), nn.Linear(16, 10)),
        nn.CrossEntropyLoss(), ("class", 10),
        adam(lr=0.01)),
    "cnn_bn2d_maxpool": (
        32, 8, (1, 12, 12),
        lambda: nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                              nn.MaxPool2d(2),
                              nn.Conv2d(4, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8, eps=1e-3, momentum=0.3),
                              nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(72, 10)),
        nn.CrossEntropyLoss(), ("class", 10),
        adam(lr=0.01)),
    "cnn_conv1d_bn1d_avgpool": (
        33, 6, (2, 16),
        lambda: nn.Sequential(nn.Conv1d(2, 4, kernel_size=3, padding=1, bias=False), nn.BatchNorm1d(4), nn.ReLU(),
                              nn.AvgPool1d(2),
                              nn.Conv1d(4, 6, kernel_size=3), nn.ReLU(),
                              nn.AvgPool1d(kernel_size=3, stride=2, padding=1),
                              nn.Flatten(), nn.Linear(18, 8, bias=False), nn.BatchNorm1d(8, momentum=None),
                              nn.ReLU(), nn.Linear(8, 3)),
        nn.MSELoss(), "rand",
        sgd(lr=0.1, momentum=0.9)),
    "cnn_depthwise_same_reflect": (
        34, 4, (3, 8, 8),
        lambda: nn.Sequential(nn.Conv2d(3, 3, kernel_size=3, padding="same", padding_mode="reflect", groups=3),
                              nn.ReLU(), nn.Conv2d(3, 6, kernel_size=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(96, 4)),
        nn.CrossEntropyLoss(), ("class", 4),
        sgd(lr=0.2, momentum=0.5)),
    "cnn_adaptive_convtranspose": (
        35, 5, (2, 9, 9),
        lambda: nn.Sequential(nn.Conv2d(2, 4, kernel_size=3, stride=2), nn.ReLU(),
                              nn.ConvTranspose2d(4, 3, kernel_size=3, stride=2, padding=1, output_padding=1),
                              nn.Tanh(), nn.AdaptiveAvgPool2d((3, 2)),
                              nn.Flatten(), nn.Linear(18, 5)),
        nn.CrossEntropyLoss(), ("class", 5),
        adam(lr=0.01)),
}


# --------------------------------------------------------------------------
# A minimal safetensors writer
# --------------------------------------------------------------------------

def write_safetensors(path, tensors, metadata):
    """Write tensors (a list of (name, float32 tensor), kept in that order)
    and metadata (str -> str) as a safetensors file: an 8-byte little-endian
    header length, the JSON header (padded with spaces to a multiple of 8
    bytes so the data is aligned), then each tensor's raw little-endian
    float32 data back to back."""
    header = {"__metadata__": metadata}
    blobs = []
    offset = 0
    for name, t in tensors:
        t = t.detach().to(torch.float32).contiguous()
        values = t.reshape(-1).tolist()  # exact: float32 -> double -> float32
        blob = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    os.replace(tmp, path)


# --------------------------------------------------------------------------
# Running one case
# --------------------------------------------------------------------------

def run_case(name, case):
    """One case's golden tensors (a list of (name, tensor)) and metadata."""
    # torch's unfold + GEMM convolution instead of oneDNN's, whose kernels
    # (and so roundings) depend on the CPU; nothing else uses oneDNN here.
    with torch.backends.mkldnn.flags(enabled=False):
        return run_case_steps(name, case)


def run_case_steps(name, case):
    seed, batch, in_shape, build, loss_fn, target_kind, make_opt = case
    torch.manual_seed(seed)
    model = build()
    if target_kind == "mnist":
        x, y = mnist_batch(batch)
        target_store = y.to(torch.float32)
    else:
        x = torch.rand((batch,) + tuple(in_shape))
        is_class = isinstance(target_kind, tuple) and target_kind[0] == "class"
        if not is_class:
            with torch.no_grad():
                out_size = model(x).shape[1]
            if target_kind == "probs":
                y = torch.softmax(2 * torch.rand(batch, out_size), dim=1)
            elif isinstance(target_kind, tuple):
                y = target_kind[1] * torch.rand(batch, out_size)
            else:
                y = torch.rand(batch, out_size)
            target_store = y
        else:
            y = torch.randint(0, target_kind[1], (batch,))
            target_store = y.to(torch.float32)

    keys = list(model.state_dict().keys())
    named = list(model.named_parameters())
    buffers = [n for n, _ in model.named_buffers()]
    if [n for n, _ in named] != [k for k in keys if k not in buffers] or not set(buffers) <= set(keys):
        raise AssertionError("%s: parameters and buffers are not the state_dict" % name)
    # In state_dict order; num_batches_tracked (an int64 scalar) as one
    # float, since every golden tensor is float32 and netc keeps it so.
    buffer_keys = [k for k in keys if k in buffers]

    def buffer_values(prefix):
        state = model.state_dict()
        return [(prefix + k, state[k].detach().to(torch.float32).reshape(-1).clone()) for k in buffer_keys]

    tensors = [("input", x), ("target", target_store)]
    tensors += [("init/" + n, p.detach().clone()) for n, p in named]
    tensors += buffer_values("init/")

    opt = make_opt(model.parameters())
    for step in range(1, STEPS + 1):
        opt.zero_grad()
        out = model(x)
        loss = loss_fn(out, y)
        loss.backward()
        if step == 1:
            tensors.append(("output", out.detach().clone()))
            tensors.append(("loss", loss.detach().reshape(1).clone()))
            tensors += [("grad/" + n, p.grad.detach().clone()) for n, p in named]
        opt.step()
        tensors += [("step%d/%s" % (step, n), p.detach().clone()) for n, p in named]
        tensors += buffer_values("step%d/" % step)
        tensors.append(("step%d/loss" % step, loss.detach().reshape(1).clone()))

    metadata = {
        "case": name,
        "batch": str(batch),
        "state_dict_keys": json.dumps(keys),
        "torch_version": torch.__version__,
    }
    if buffer_keys:
        # Running statistics only act in eval mode: one eval forward shows
        # whether netc normalises with them.
        model.eval()
        with torch.no_grad():
            out = model(x)
            tensors.append(("eval/output", out.clone()))
            tensors.append(("eval/loss", loss_fn(out, y).reshape(1).clone()))
        model.train()
        metadata["buffer_keys"] = json.dumps(buffer_keys)
    return tensors, metadata


def golden_dirs(argv, *subdirs):
    """The start of every gen_golden*.py: argv must be [script, OUTDIR];
    makes OUTDIR/<subdir> for each subdir and returns their paths (None,
    after a usage message, when argv is wrong).  Runs torch single-threaded
    in float32, so its reductions have one order."""
    if len(argv) != 2:
        sys.stderr.write("usage: %s OUTDIR\n" % argv[0])
        return None
    dirs = [os.path.join(argv[1], d) for d in subdirs]
    for d in dirs:
        os.makedirs(d, exist_ok=True)
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float32)
    return dirs


def main(argv):
    dirs = golden_dirs(argv[:2], "parity")
    if dirs is None:
        return 2
    outdir = dirs[0]
    unknown = [n for n in argv[2:] if n not in CASES]
    if unknown:
        sys.stderr.write("%s: no case %s; the cases are %s\n" % (argv[0], ", ".join(unknown), ", ".join(CASES)))
        return 2
    for name, case in CASES.items():
        if len(argv) > 2 and name not in argv[2:]:
            continue
        tensors, metadata = run_case(name, case)
        path = os.path.join(outdir, name + ".safetensors")
        write_safetensors(path, tensors, metadata)
        loss = dict(tensors)["loss"].item()
        print("%-27s batch %-3s loss %.6f -> %s" % (name, metadata["batch"], loss, path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
