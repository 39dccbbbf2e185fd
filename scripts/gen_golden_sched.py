#!/usr/bin/env python3
"""Generate the PyTorch golden vectors that tests/test_sched.c replays:
learning-rate schedules, gradient clipping, and a clipped, scheduled
training trajectory.

Usage: python3 scripts/gen_golden_sched.py OUTDIR   (normally tests/golden;
the files go to OUTDIR/sched)

schedules.txt
    For every case below, the lr torch 1.13 gives each of EPOCHS epochs:
    optimizer.param_groups[0]["lr"] read at the start of the epoch, then
    optimizer.step() and scheduler.step() (scheduler.step(metric) for
    ReduceLROnPlateau, with the case's fixed metric sequence) at its end,
    as a training loop steps a scheduler per epoch.  One block per case:

        case NAME
        lr BASE_LR                  the optimizer's lr (SGD)
        schedule CALL               the schedule in netc's spelling
        metrics M1 M2 ...           ReduceLROnPlateau only
        lrs LR1 LR2 ...             EPOCHS values
        end

    Numbers are Python's repr, so C's strtod reads back the exact double.

clip.safetensors
    grad/<name>       fixed gradients of an nn.Sequential (metadata
                      "layers" spells its chain in netc's language)
    <i>/<name>        the gradients after clipping call i, whose netc
                      spelling is metadata "clip.<i>" (grad_norm(...) is
                      clip_grad_norm_, grad_value(...) clip_grad_value_)
    <i>/total_norm    what clip_grad_norm_ returned (grad_norm calls only)

trajectory_<case>.safetensors (spec: trajectory_<case>.net, hand-written
next to it, standing for the same model, loss, optimizer, clip and
schedule; the full data set is one batch, so an epoch is one step)
    input, target     the data (class indices as floats)
    init/<name>       the parameters before training
    final/<name>      the parameters after EPOCHS_TRAJ epochs
    loss              the loss of every epoch, shape (EPOCHS_TRAJ,)
    lr                the lr of every epoch (float64 values stored as
                      float32 here; the exact lrs are in schedules.txt)

Only torch and the standard library are needed.
"""

import os
import sys

import torch
import torch.nn as nn
from torch.optim import lr_scheduler as S

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_golden import golden_dirs, write_safetensors  # noqa: E402

EPOCHS = 30
EPOCHS_TRAJ = 25

# Metric sequences for ReduceLROnPlateau: improvements, plateaus, noise.
FALLING_THEN_FLAT = [1.0, 0.8, 0.7, 0.69, 0.69, 0.69, 0.68, 0.6, 0.6, 0.6, 0.6, 0.6, 0.55, 0.55, 0.55,
                     0.55, 0.55, 0.55, 0.54, 0.54, 0.54, 0.54, 0.54, 0.54, 0.54, 0.54, 0.53, 0.53, 0.53, 0.53]
RISING = [0.1, 0.2, 0.25, 0.26, 0.24, 0.3, 0.31, 0.33, 0.33, 0.32, 0.4, 0.41, 0.405, 0.41, 0.5, 0.52,
          0.5, 0.5, 0.51, 0.6, 0.6, 0.59, 0.6, 0.61, 0.6, 0.6, 0.6, 0.7, 0.7, 0.7]
NOISY = [2.0, 1.5, 1.6, 1.4, 1.45, 1.41, 1.3999, 1.2, 1.3, 1.25, 1.19, 1.1901, 1.19, 1.0, 1.0, 1.0,
         0.99, 0.995, 0.98, 0.9, 0.91, 0.92, 0.93, 0.89, 0.895, 0.9, 0.88, 0.881, 0.8799, 0.85]

# name: (base lr, scheduler class, kwargs, metrics or None)
SCHEDULES = {
    "step_default": (0.1, S.StepLR, dict(step_size=3), None),
    "step_half": (0.05, S.StepLR, dict(step_size=5, gamma=0.5), None),
    "step_every": (1.0, S.StepLR, dict(step_size=1, gamma=0.9), None),
    "multistep_default": (0.1, S.MultiStepLR, dict(milestones=[5, 12, 20]), None),
    "multistep_repeated": (0.3, S.MultiStepLR, dict(milestones=[10, 3, 3], gamma=0.5), None),
    "multistep_zero": (0.2, S.MultiStepLR, dict(milestones=[0, 7], gamma=0.3), None),
    "exponential": (0.1, S.ExponentialLR, dict(gamma=0.9), None),
    "exponential_slow": (0.003, S.ExponentialLR, dict(gamma=0.99), None),
    "cosine_short": (0.1, S.CosineAnnealingLR, dict(T_max=10), None),
    "cosine_eta": (0.05, S.CosineAnnealingLR, dict(T_max=7, eta_min=0.001), None),
    "cosine_long": (1.0, S.CosineAnnealingLR, dict(T_max=30, eta_min=0.01), None),
    "linear_default": (0.1, S.LinearLR, dict(), None),
    "linear_warmup": (0.01, S.LinearLR, dict(start_factor=0.1, total_iters=10), None),
    "linear_decay": (0.2, S.LinearLR, dict(start_factor=0.5, end_factor=0.2, total_iters=8), None),
    "plateau_min": (0.1, S.ReduceLROnPlateau, dict(patience=2), FALLING_THEN_FLAT),
    "plateau_max_abs": (0.1, S.ReduceLROnPlateau,
                        dict(mode="max", factor=0.5, patience=1, threshold=0.05, threshold_mode="abs",
                             cooldown=2, min_lr=0.01), RISING),
    "plateau_min_lr_eps": (0.1, S.ReduceLROnPlateau,
                           dict(factor=0.5, patience=0, cooldown=1, min_lr=0.02, eps=0.004), NOISY),
    "plateau_rel_cooldown": (0.5, S.ReduceLROnPlateau,
                             dict(factor=0.3, patience=1, threshold=0.01, cooldown=3), NOISY),
}

CLIP_LAYERS = "Linear(6, 5) -> ReLU -> Linear(5, 4) -> Tanh -> Linear(4, 3)"
CLIPS = [
    ("grad_norm(max_norm=1.0)", lambda ps: nn.utils.clip_grad_norm_(ps, max_norm=1.0)),
    ("grad_norm(max_norm=0.5, norm_type=1)", lambda ps: nn.utils.clip_grad_norm_(ps, 0.5, norm_type=1)),
    ("grad_norm(max_norm=0.2, norm_type=inf)",
     lambda ps: nn.utils.clip_grad_norm_(ps, 0.2, norm_type=float("inf"))),
    ("grad_norm(max_norm=100.0)", lambda ps: nn.utils.clip_grad_norm_(ps, 100.0)),
    ("grad_norm(max_norm=0.7, norm_type=3)", lambda ps: nn.utils.clip_grad_norm_(ps, 0.7, norm_type=3)),
    ("grad_value(clip_value=0.25)", lambda ps: nn.utils.clip_grad_value_(ps, 0.25)),
]


def netc_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"%s"' % v
    if isinstance(v, (list, tuple)):
        return "(" + ", ".join(netc_value(x) for x in v) + (",)" if len(v) == 1 else ")")
    return repr(v)


def netc_call(cls, kwargs):
    return "%s(%s)" % (cls.__name__, ", ".join("%s=%s" % (k, netc_value(v)) for k, v in kwargs.items()))


def schedule_lrs(base_lr, cls, kwargs, metrics):
    param = nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=base_lr)
    sched = cls(opt, **kwargs)
    lrs = []
    for epoch in range(EPOCHS):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[epoch])
    return lrs


def write_schedules(outdir):
    lines = ["# generated by scripts/gen_golden_sched.py with torch %s" % torch.__version__]
    for name, (base_lr, cls, kwargs, metrics) in SCHEDULES.items():
        lrs = schedule_lrs(base_lr, cls, kwargs, metrics)
        lines.append("case " + name)
        lines.append("lr " + repr(base_lr))
        lines.append("schedule " + netc_call(cls, kwargs))
        if metrics is not None:
            lines.append("metrics " + " ".join(repr(float(m)) for m in metrics))
        lines.append("lrs " + " ".join(repr(float(v)) for v in lrs))
        lines.append("end")
        print("%-22s %s: lr %r -> %r" % (name, netc_call(cls, kwargs), lrs[0], lrs[-1]))
    with open(os.path.join(outdir, "schedules.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def clip_model():
    return nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3))


def write_clip(outdir):
    torch.manual_seed(11)
    model = clip_model()
    named = list(model.named_parameters())
    grads = {n: torch.randn(p.shape) * 0.3 for n, p in named}
    grads["2.bias"][1] = 2.5  # one large entry, so the inf norm and clipping to a value have work
    tensors = [("grad/" + n, grads[n]) for n, _ in named]
    metadata = {"layers": CLIP_LAYERS, "torch_version": torch.__version__}
    for i, (call, clip) in enumerate(CLIPS):
        for n, p in named:
            p.grad = grads[n].clone()
        total = clip([p for _, p in named])
        tensors += [("%d/%s" % (i, n), p.grad.detach().clone()) for n, p in named]
        if total is not None:
            tensors.append(("%d/total_norm" % i, total.detach().reshape(1).clone()))
        metadata["clip.%d" % i] = call
    write_safetensors(os.path.join(outdir, "clip.safetensors"), tensors, metadata)
    print("clip: %d calls -> %s" % (len(CLIPS), os.path.join(outdir, "clip.safetensors")))


# name: (seed, samples, inputs, classes, model, optimizer, clip, scheduler)
TRAJECTORIES = {
    "sgd_norm_step": (
        21, 20, 6, 3,
        lambda: nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3)),
        lambda ps: torch.optim.SGD(ps, lr=0.5, momentum=0.5, foreach=False),
        lambda ps: nn.utils.clip_grad_norm_(ps, max_norm=0.2),
        lambda opt: S.StepLR(opt, step_size=5, gamma=0.5)),
    "adam_value_cosine": (
        22, 16, 5, 4,
        lambda: nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 4)),
        lambda ps: torch.optim.Adam(ps, lr=0.05, foreach=False),
        lambda ps: nn.utils.clip_grad_value_(ps, clip_value=0.05),
        lambda opt: S.CosineAnnealingLR(opt, T_max=8, eta_min=0.005)),
}


def write_trajectory(outdir, name, case):
    seed, n, inputs, classes, build, make_opt, clip, make_sched = case
    torch.manual_seed(seed)
    model = build()
    x = torch.rand(n, inputs)
    y = torch.randint(0, classes, (n,))
    named = list(model.named_parameters())
    tensors = [("input", x), ("target", y.to(torch.float32))]
    tensors += [("init/" + k, p.detach().clone()) for k, p in named]
    opt = make_opt(model.parameters())
    sched = make_sched(opt)
    loss_fn = nn.CrossEntropyLoss()
    losses, lrs = [], []
    for _ in range(EPOCHS_TRAJ):
        lrs.append(opt.param_groups[0]["lr"])
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        clip(model.parameters())
        opt.step()
        sched.step()
        losses.append(loss.item())
    tensors += [("final/" + k, p.detach().clone()) for k, p in named]
    tensors.append(("loss", torch.tensor(losses, dtype=torch.float32)))
    tensors.append(("lr", torch.tensor(lrs, dtype=torch.float32)))
    path = os.path.join(outdir, "trajectory_%s.safetensors" % name)
    write_safetensors(path, tensors, {"case": name, "epochs": str(EPOCHS_TRAJ),
                                      "torch_version": torch.__version__})
    print("trajectory %s: loss %.6f -> %.6f -> %s" % (name, losses[0], losses[-1], path))


def main(argv):
    dirs = golden_dirs(argv, "sched")
    if dirs is None:
        return 2
    outdir = dirs[0]
    write_schedules(outdir)
    write_clip(outdir)
    for name, case in TRAJECTORIES.items():
        write_trajectory(outdir, name, case)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
