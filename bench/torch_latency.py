"""Batch-1 latency of PyTorch's model(x) for the MLP of specs/mnist_mlp_default.net.

One 784-float input through nn.Sequential(Linear(784, 256), ReLU, Linear(256, 256),
ReLU, Linear(256, 10)) in eval mode under torch.no_grad(), one thread: ROUNDS
rounds of CALLS calls after a warm-up; prints the median time per call in
microseconds as "torch_us: X" (bench/run.sh reads it).
"""
import sys

import torch
from torch import nn

from torch_common import time_latency

ROUNDS, CALLS = 21, 2000


def main():
    torch.set_num_threads(1)
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    time_latency(model, (1, 784), ROUNDS, CALLS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
