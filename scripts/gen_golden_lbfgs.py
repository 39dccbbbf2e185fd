#!/usr/bin/env python3
"""Generate the PyTorch trajectories that tests/test_lbfgs.c replays:
torch.optim.LBFGS (without and with the strong-Wolfe line search),
torch.optim.SparseAdam, and Adam on an nn.Embedding (the dense gradient
path of a row-sparse layer).

Usage: python3 scripts/gen_golden_lbfgs.py OUTDIR   (normally tests/golden)

Writes OUTDIR/optim/LBFGS_<n>.safetensors, OUTDIR/optim/SparseAdam_<n>
.safetensors and OUTDIR/embedding/<case>.safetensors.  Each file is
self-contained: its "__metadata__" holds "spec", the netc spec of the same
model (one line), and "steps".  Tensors (float32):

    init/<name>       every parameter before the first step (state_dict names)
    input, target     the batch of every step (LBFGS: full batch, fixed data)
    step<s>/input     for the Embedding cases: step s's batch of indices
    step<s>/target    (stored as floats), and its targets
    step<s>/<name>    every parameter after optimizer step s (s = 1..25)
    step<s>/loss      the loss step s reported (LBFGS: the first closure's)
    step<s>/func_evals  LBFGS: state['func_evals'] after step s

Every step is torch's usual closure loop: opt.step(closure) with closure =
zero_grad, forward, loss, backward, return loss.  LBFGS calls the closure
several times per step on the same batch; SparseAdam and Adam once.  The
Embedding batches repeat rows within a batch and leave rows out (indices
are drawn from the first 16 of 20 rows), so SparseAdam's lazy updates of
untouched rows are exercised.  SparseAdam_4 and adam_embedding_padding
give the Embedding a padding_idx (row 2, which the batches use): its
gradient is zero, so SparseAdam never updates that row.

The models: LBFGS on nn.Sequential(Linear(6, 8), Tanh(), Linear(8, 4)) with
MSELoss on 16 samples from torch.rand; SparseAdam on
nn.Sequential(Embedding(20, 4, sparse=True), Tanh()) with MSELoss against
torch.rand targets of shape (5, 3, 4); Adam on
nn.Sequential(Embedding(20, 4), Flatten(), Linear(12, 3)).  One thread,
float32, torch.manual_seed(case seed) before the model is built.
"""

import json
import os
import sys

# LBFGS amplifies the last-bit differences between OpenBLAS kernel sets over
# 25 steps; tests/test_lbfgs.c replays under the same "Haswell" kernels
# (AVX2), so pin them here, before torch loads OpenBLAS.
os.environ["OPENBLAS_CORETYPE"] = "Haswell"

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_golden import golden_dirs, write_safetensors  # noqa: E402

STEPS = 25

MLP_SPEC = ("model {name} {{ input 6 layers Linear(6, 8, bias=false) -> ReLU -> Linear(8, 4) loss MSE "
            "optimizer LBFGS({args}) train epochs=1 batch=16 }}")

# (netc arguments, torch keyword arguments); each set differs in history,
# iterations, step size or tolerances.
LBFGS_CASES = [
    ("lr=0.2", dict(lr=0.2)),
    ("lr=0.8, max_iter=5, history_size=3, tolerance_change=1e-6",
     dict(lr=0.8, max_iter=5, history_size=3, tolerance_change=1e-6)),
    ("lr=0.3, max_iter=8, max_eval=6, history_size=5, tolerance_grad=1e-4",
     dict(lr=0.3, max_iter=8, max_eval=6, history_size=5, tolerance_grad=1e-4)),
    ('line_search_fn="strong_wolfe"', dict(line_search_fn="strong_wolfe")),
    ('max_iter=10, history_size=2, line_search_fn="strong_wolfe"',
     dict(max_iter=10, history_size=2, line_search_fn="strong_wolfe")),
    ('lr=0.5, max_iter=4, max_eval=8, tolerance_change=1e-7, line_search_fn="strong_wolfe"',
     dict(lr=0.5, max_iter=4, max_eval=8, tolerance_change=1e-7, line_search_fn="strong_wolfe")),
]

EMB_SPEC = ("model {name} {{ input 3 layers Embedding(20, 4{emb}) -> {rest} loss MSE "
            "optimizer {optim} train epochs=1 batch=5 }}")

SPARSE_ADAM_CASES = [
    ("SparseAdam()", dict()),
    ("SparseAdam(lr=0.05, betas=(0.8, 0.99), eps=1e-6)", dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6)),
    ("SparseAdam(lr=0.02, betas=(0.5, 0.9), eps=1e-4, maximize=true)",
     dict(lr=0.02, betas=(0.5, 0.9), eps=1e-4, maximize=True)),
]


def params_of(model, prefix):
    return [(prefix + n, p.detach().clone()) for n, p in model.named_parameters()]


def run(model, opt, batches, loss_fn, lbfgs):
    """Take STEPS steps, batch s from batches(s); returns the tensors."""
    tensors = params_of(model, "init/")
    for s in range(1, STEPS + 1):
        x, y, stored = batches(s)
        tensors += stored

        def closure():
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            return loss

        loss = opt.step(closure)
        tensors += params_of(model, "step%d/" % s)
        tensors.append(("step%d/loss" % s, loss.detach().reshape(1).clone()))
        if lbfgs:
            evals = opt.state[opt._params[0]]["func_evals"]
            tensors.append(("step%d/func_evals" % s, torch.tensor([float(evals)])))
    return tensors


def lbfgs_case(i, args, kw):
    torch.manual_seed(100 + i)
    model = nn.Sequential(nn.Linear(6, 8, bias=False), nn.ReLU(), nn.Linear(8, 4))
    x = torch.rand(16, 6)
    y = torch.rand(16, 4)
    opt = torch.optim.LBFGS(model.parameters(), **kw)
    fixed = [("input", x), ("target", y)]
    tensors = fixed + run(model, opt, lambda s: (x, y, []), nn.MSELoss(), True)
    spec = MLP_SPEC.format(name="lbfgs_%d" % i, args=args)
    return tensors, spec


def embedding_batches(rest_width):
    """25 batches of 5 x 3 indices from rows 0..15 and their targets."""
    out = {}
    for s in range(1, STEPS + 1):
        idx = torch.randint(0, 16, (5, 3))
        y = torch.rand((5,) + rest_width)
        out[s] = (idx, y, [("step%d/input" % s, idx.to(torch.float32)),
                           ("step%d/target" % s, y.reshape(5, -1))])
    return lambda s: out[s]


def sparse_adam_case(i, args, kw, padding_idx=None):
    torch.manual_seed(200 + i)
    model = nn.Sequential(nn.Embedding(20, 4, padding_idx=padding_idx, sparse=True), nn.Tanh())
    batches = embedding_batches((3, 4))
    opt = torch.optim.SparseAdam(list(model.parameters()), **kw)
    tensors = run(model, opt, batches, nn.MSELoss(), False)
    emb = "" if padding_idx is None else ", padding_idx=%d" % padding_idx
    return tensors, EMB_SPEC.format(name="sparse_adam_%d" % i, emb=emb, rest="Tanh", optim=args)


def adam_embedding_case(name, seed, padding_idx=None):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Embedding(20, 4, padding_idx=padding_idx), nn.Flatten(), nn.Linear(12, 3))
    batches = embedding_batches((3,))
    opt = torch.optim.Adam(model.parameters(), lr=0.01, foreach=False)
    tensors = run(model, opt, batches, nn.MSELoss(), False)
    emb = "" if padding_idx is None else ", padding_idx=%d" % padding_idx
    return tensors, EMB_SPEC.format(name=name, emb=emb, rest="Flatten -> Linear(12, 3)", optim="Adam(lr=0.01)")


def save(path, tensors, spec):
    write_safetensors(path, tensors, {"spec": spec, "steps": str(STEPS),
                                      "torch_version": torch.__version__})
    last = [t for n, t in tensors if n.endswith("/loss")][-1].item()
    print("%-44s final loss %.6g" % (path, last))


def main(argv):
    dirs = golden_dirs(argv, "optim", "embedding")
    if dirs is None:
        return 2
    optim_dir, emb_dir = dirs
    for i, (args, kw) in enumerate(LBFGS_CASES, 1):
        save(os.path.join(optim_dir, "LBFGS_%d.safetensors" % i), *lbfgs_case(i, args, kw))
    for i, (args, kw) in enumerate(SPARSE_ADAM_CASES, 1):
        save(os.path.join(optim_dir, "SparseAdam_%d.safetensors" % i), *sparse_adam_case(i, args, kw))
    # padding_idx: a negative one (row 20 - 18 = 2) with the sparse
    # gradient, a positive one with the dense; the batches use row 2.
    i = len(SPARSE_ADAM_CASES) + 1
    save(os.path.join(optim_dir, "SparseAdam_%d.safetensors" % i),
         *sparse_adam_case(i, "SparseAdam(lr=0.05)", dict(lr=0.05), padding_idx=-18))
    save(os.path.join(emb_dir, "adam_embedding.safetensors"), *adam_embedding_case("adam_embedding", 300))
    save(os.path.join(emb_dir, "adam_embedding_padding.safetensors"),
         *adam_embedding_case("adam_embedding_padding", 301, padding_idx=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
