"""torch_common.py — what the PyTorch-side scripts share.

Imported by bench/torch_mlp.py, bench/torch_cnn.py, bench/torch_predict.py,
bench/torch_latency.py, scripts/torch_cnn_reference.py and
scripts/torch_check.py, so that each of them reads the data, trains,
counts and times the same way and prints the same lines:

  read_idx, idx_path       an IDX file of unsigned bytes (gzip-compressed
                           or not) as a uint8 tensor
  load_images, load_labels,
  load_split               a split (train or t10k) of an IDX directory as
                           float32 pixels / 255 and int64 labels
  add_train_options        the training scripts' --epochs, --batch, --lr,
                           --seed and --threads
  set_threads              PyTorch's thread pools
  Trainer, train           Adam and CrossEntropyLoss over reshuffled
                           batches, with `netc train`'s `Epoch:` and
                           `train:` lines
  accuracy, print_accuracy correct predictions in eval mode, and the
                           `Test accuracy:` line
  time_predict             model(x) on one large batch, with `netc
                           predict`'s `predict:` timing lines
  time_latency             batch-1 model(x), the `torch_us:` line
  blas_library, print_torch
                           the `torch:` line (version, threads, BLAS)

The module lives in bench/ next to the benchmark scripts, which import it
as a sibling (Python puts a script's own directory first on sys.path).
The scripts in scripts/ reach it by putting their own directory's sibling
bench/ on sys.path first, a path relative to the script, not to the
working directory:

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), "bench"))

bench/ rather than scripts/ because most of it (the timing, the BLAS
report) is the benchmark's, and the scripts in scripts/ need only its
loaders and the training loop.

Error messages name the running script (sys.argv[0]'s file name).
"""
import gzip
import os
import statistics
import struct
import sys
import time

import torch
from torch import nn


def prog():
    """The running script's file name, for error messages."""
    return os.path.basename(sys.argv[0])


# --- data -----------------------------------------------------------------

def read_idx(path):
    """An IDX file of unsigned bytes as a uint8 tensor of its dimensions."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08:
        sys.exit(f"{prog()}: {path}: not an IDX file of unsigned bytes")
    dims = struct.unpack(">" + "I" * ndim, raw[4 : 4 + 4 * ndim])
    data = torch.frombuffer(bytearray(raw[4 + 4 * ndim :]), dtype=torch.uint8)
    return data.reshape(dims)


def idx_path(directory, name):
    """DIRECTORY/NAME.gz, else DIRECTORY/NAME; exits when neither exists."""
    for candidate in (name + ".gz", name):
        path = os.path.join(directory, candidate)
        if os.path.exists(path):
            return path
    sys.exit(f"{prog()}: no {name}[.gz] in {directory}")


def load_images(directory, split, image=False, limit=None):
    """The split's first LIMIT (default all) images as contiguous float32
    pixels / 255: (N, 784) rows, or with IMAGE (N, 1, 28, 28), the layout
    of the specs' `input (1, 28, 28)`."""
    images = read_idx(idx_path(directory, f"{split}-images-idx3-ubyte"))
    if limit is not None:
        images = images[:limit]
    shape = (images.shape[0], 1) + tuple(images.shape[1:]) if image else (images.shape[0], -1)
    return images.reshape(shape).to(torch.float32).div_(255.0).contiguous()


def load_labels(directory, split):
    """The split's labels as an int64 tensor."""
    return read_idx(idx_path(directory, f"{split}-labels-idx1-ubyte")).to(torch.int64)


def load_split(directory, split, image=False):
    """load_images and load_labels of one split."""
    return load_images(directory, split, image), load_labels(directory, split)


# --- options, threads and the torch: line --------------------------------

def add_train_options(ap, epochs, batch, epochs_help=None, batch_help=None):
    """--epochs, --batch, --lr (0.001), --seed (1) and --threads (1) on the
    argparse parser AP, in that order."""
    ap.add_argument("--epochs", type=int, default=epochs, help=epochs_help)
    ap.add_argument("--batch", type=int, default=batch, help=batch_help)
    ap.add_argument("--lr", type=float, default=0.001)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)


def set_threads(n):
    """n threads for PyTorch's intra-op and inter-op pools (the latter can
    only be set before its first use; later calls are ignored)."""
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(n)
    except RuntimeError:
        pass


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


def print_torch(detail=None):
    """`torch: VERSION, T thread(s), DETAIL` on stderr; DETAIL defaults to
    `BLAS LIBRARY`."""
    if detail is None:
        detail = f"BLAS {blas_library()}"
    print(f"torch: {torch.__version__}, {torch.get_num_threads()} thread(s), {detail}",
          file=sys.stderr, flush=True)


# --- training -------------------------------------------------------------

class Trainer:
    """Adam(lr) and CrossEntropyLoss on (x, y) in batches of BATCH, the
    order reshuffled every epoch by torch.randperm with its own generator
    seeded by SEED (a DataLoader(shuffle=True) without the loader).  Each
    epoch gathers the shuffled copy once; every batch is a slice (a view)
    of it."""

    def __init__(self, model, x, y, batch, lr, seed):
        self.model, self.x, self.y, self.batch = model, x, y, batch
        self.opt = torch.optim.Adam(model.parameters(), lr=lr)
        self.loss_fn = nn.CrossEntropyLoss()
        self.gen = torch.Generator().manual_seed(seed)

    def epoch(self):
        """One epoch; the mean training loss over it (each batch's loss
        weighted by its size, as netc averages it)."""
        n = self.x.shape[0]
        perm = torch.randperm(n, generator=self.gen)
        xs, ys = self.x[perm], self.y[perm]
        total = 0.0
        for start in range(0, n, self.batch):
            xb = xs[start : start + self.batch]
            yb = ys[start : start + self.batch]
            self.opt.zero_grad(set_to_none=True)
            loss = self.loss_fn(self.model(xb), yb)
            loss.backward()
            self.opt.step()
            total += loss.item() * xb.shape[0]
        return total / n


def epoch_line(epoch, cost):
    """`netc train`'s epoch line."""
    return f"Epoch: {epoch:04d} cost = {cost:.9f}"


def train(model, x, y, epochs, batch, lr, seed):
    """EPOCHS epochs of Trainer, printing an `Epoch: NNNN cost = ...` line
    after each on stdout and then, on stderr, `train: N samples x E epochs
    in S s (R samples/s)`.  The clock runs from the first epoch's shuffle
    to the end of the last optimizer step."""
    trainer = Trainer(model, x, y, batch, lr, seed)
    n = x.shape[0]
    model.train()
    t0 = time.perf_counter()
    for epoch in range(1, epochs + 1):
        print(epoch_line(epoch, trainer.epoch()), flush=True)
    secs = time.perf_counter() - t0
    print(f"train: {n} samples x {epochs} epochs in {secs:.3f} s "
          f"({n * epochs / secs:.0f} samples/s)", file=sys.stderr, flush=True)


def accuracy(model, x, y, chunk=1000):
    """Correct predictions on (x, y) in eval mode (BatchNorm on its running
    statistics, no dropout), in chunks that bound the memory of the
    activations and do not change the result; the model is left in
    training mode."""
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, x.shape[0], chunk):
            out = model(x[start : start + chunk])
            correct += int((out.argmax(dim=1) == y[start : start + chunk]).sum())
    model.train()
    return correct


def accuracy_text(correct, total):
    """`0.9512 (9512/10000)`."""
    return f"{correct / total:.4f} ({correct}/{total})"


def print_accuracy(correct, total):
    """`netc train`'s `Test accuracy: ...` line on stdout."""
    print(f"Test accuracy: {accuracy_text(correct, total)}", flush=True)


# --- timing ---------------------------------------------------------------

def time_predict(model, x, warmup, calls):
    """model(x) in eval mode under torch.no_grad(), 1 + WARMUP + CALLS
    times; prints on stderr, in the format of `netc predict`'s timing line,
    `predict: N samples in S s (R samples/s)` for the median of the last
    CALLS calls and `predict first call: ...` for the first."""
    n = x.shape[0]
    model.eval()
    times = []
    with torch.no_grad():
        for _ in range(1 + warmup + calls):
            t0 = time.perf_counter()
            y = model(x)
            times.append(time.perf_counter() - t0)
            del y
    first = times[0]
    steady = statistics.median(times[1 + warmup :])
    print(f"predict: {n} samples in {steady:.4f} s ({n / steady:.0f} samples/s)", file=sys.stderr)
    print(f"predict first call: {n} samples in {first:.4f} s ({n / first:.0f} samples/s)", file=sys.stderr)


def time_latency(model, shape, rounds, calls):
    """Batch-1 model(x) on one torch.rand(SHAPE) input in eval mode under
    torch.no_grad(): CALLS untimed calls, then ROUNDS rounds of CALLS
    calls; prints the median time per call in microseconds as
    `torch_us: X` on stdout."""
    model.eval()
    x = torch.rand(shape)
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
