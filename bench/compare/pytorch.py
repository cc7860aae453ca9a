# SPDX-License-Identifier: MIT
"""The PyTorch peer of bench/compare: one full-batch training step of the case
written by `compare-nnfast --dump FILE` (its data and nnfast's initial
parameters), as a PyTorch user writes it: nn.Linear layers, the loss on the
logits (BCEWithLogitsLoss, CrossEntropyLoss: the output sigmoid / softmax is
fused into the loss), torch.optim.SGD / Adam with nnfast's constants.

Prints the same lines as the C peers:
  result peer=pytorch case=... threads=... reps=... med_ms=... min_ms=... max_ms=...
         loss0=... loss10=...
"""
import argparse
import math
import os
import statistics
import struct
import sys
import time

MIN_REPS, MAX_REPS, CHECK_STEPS = 5, 2000, 10
ACT_LINEAR, ACT_SIGMOID, ACT_TANH, ACT_RELU, ACT_SOFTMAX = 0, 1, 2, 3, 5
LOSS_BCE, LOSS_CE = 0, 2
OPT_SGD, OPT_ADAM = 0, 2


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--problem", required=True, help="the file compare-nnfast --dump wrote")
    p.add_argument("--case", required=True, help="the case's name, for the result line")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--reps", type=int, default=0, help="timed steps (0: enough for --target-s)")
    p.add_argument("--target-s", type=float, default=1.0)
    a = p.parse_args()
    if a.threads < 1 or a.reps < 0 or a.target_s < 0:
        p.error("--threads must be >= 1, --reps and --target-s >= 0")
    return a


def read_problem(path, np):
    """The layout common.c's cmp_problem_dump() writes, in host byte order."""
    with open(path, "rb") as f:
        buf = f.read()
    if buf[:8] != b"NNFCMP1\0":
        sys.exit(f"pytorch: {path}: not a problem file of compare-nnfast --dump")
    off = 8

    def u32(k):
        nonlocal off
        v = struct.unpack_from(f"={k}I", buf, off)
        off += 4 * k
        return v

    def f64(k):
        nonlocal off
        v = struct.unpack_from(f"={k}d", buf, off)
        off += 8 * k
        return v

    def floats(k, shape):
        nonlocal off
        v = np.frombuffer(buf, dtype=np.float32, count=k, offset=off).reshape(shape)
        off += 4 * k
        return v

    L, m = u32(2)
    n = u32(L + 1)
    hidden, output, loss, opt = u32(4)
    lr, beta1, beta2, eps = f64(4)
    x = floats(m * n[0], (m, n[0]))
    y = floats(m * n[L], (m, n[L]))
    params = [(floats(n[l] * n[l - 1], (n[l], n[l - 1])), floats(n[l], (n[l],)))
              for l in range(1, L + 1)]
    if off != len(buf):
        sys.exit(f"pytorch: {path}: {len(buf) - off} bytes left over")
    return dict(L=L, m=m, n=n, hidden=hidden, output=output, loss=loss, opt=opt, lr=lr,
                beta1=beta1, beta2=beta2, eps=eps, x=x, y=y, params=params)


def main():
    a = parse_args()
    # PyTorch's matrix products go to the BLAS (Debian: OpenBLAS, pthreads),
    # whose pool torch.set_num_threads() does not size: set it before torch
    # loads it, so that T threads in all compute.
    os.environ["OPENBLAS_NUM_THREADS"] = str(a.threads)
    import numpy as np
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(a.threads)
    pb = read_problem(a.problem, np)
    L, m, n = pb["L"], pb["m"], pb["n"]
    hidden = {ACT_RELU: torch.nn.ReLU, ACT_TANH: torch.nn.Tanh, ACT_SIGMOID: torch.nn.Sigmoid,
              ACT_LINEAR: torch.nn.Identity}.get(pb["hidden"])
    if hidden is None:
        sys.exit(f"pytorch: hidden activation {pb['hidden']} not implemented")

    layers = []
    for l in range(1, L + 1):
        lin = torch.nn.Linear(n[l - 1], n[l])
        w, b = pb["params"][l - 1]
        with torch.no_grad():
            # nnfast's w[n_l][n_{l-1}] is nn.Linear.weight's layout
            lin.weight.copy_(torch.from_numpy(w.copy()))
            lin.bias.copy_(torch.from_numpy(b.copy()))
        layers.append(lin)
        if l < L:
            layers.append(hidden())
    model = torch.nn.Sequential(*layers)
    x = torch.from_numpy(pb["x"].copy())
    y = torch.from_numpy(pb["y"].copy())

    if pb["output"] == ACT_SIGMOID and pb["loss"] == LOSS_BCE:
        target, loss_name = y, "BCEWithLogitsLoss"
        # nnfast's J sums over output units and averages over samples: the
        # mean over all elements when there is one output unit
        train_loss = (torch.nn.BCEWithLogitsLoss() if n[L] == 1 else
                      lambda z, t: F.binary_cross_entropy_with_logits(z, t, reduction="sum") / m)

        def cost64(z):
            return F.binary_cross_entropy_with_logits(z.double(), y.double(), reduction="sum") / m
    elif pb["output"] == ACT_SOFTMAX and pb["loss"] == LOSS_CE:
        target = y.argmax(dim=1)  # one-hot rows: the class indices
        loss_name = "CrossEntropyLoss"
        train_loss = torch.nn.CrossEntropyLoss()

        def cost64(z):
            return F.cross_entropy(z.double(), target, reduction="sum") / m
    else:
        sys.exit(f"pytorch: output {pb['output']} with loss {pb['loss']} not implemented")

    if pb["opt"] == OPT_SGD:
        opt = torch.optim.SGD(model.parameters(), lr=pb["lr"])
    elif pb["opt"] == OPT_ADAM:
        opt = torch.optim.Adam(model.parameters(), lr=pb["lr"], betas=(pb["beta1"], pb["beta2"]),
                               eps=pb["eps"])
    else:
        sys.exit(f"pytorch: optimizer {pb['opt']} not implemented")

    def step():
        opt.zero_grad(set_to_none=True)
        loss = train_loss(model(x), target)
        loss.backward()
        opt.step()

    def cost():
        # J from the logits in float64, as the C peers compute it
        with torch.no_grad():
            return cost64(model(x)).item()

    print(f"info peer=pytorch case={a.case} torch {torch.__version__}, "
          f"set_num_threads({a.threads}) -> {torch.get_num_threads()}, "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, "
          f"{loss_name}, {type(opt).__name__}", file=sys.stderr)

    loss0 = cost()
    t_check = []
    for _ in range(CHECK_STEPS):
        t0 = time.perf_counter()
        step()
        t_check.append(time.perf_counter() - t0)
    loss10 = cost()
    reps = a.reps
    if reps == 0:
        est = max(statistics.median(t_check), 1e-9)
        reps = min(max(math.ceil(a.target_s / est), MIN_REPS), MAX_REPS)
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        t.append(time.perf_counter() - t0)
    med = statistics.median(t)
    print(f"result peer=pytorch case={a.case} threads={a.threads} reps={reps} "
          f"med_ms={med * 1e3:.6g} min_ms={min(t) * 1e3:.6g} max_ms={max(t) * 1e3:.6g} "
          f"loss0={loss0:.9g} loss10={loss10:.9g}", flush=True)


if __name__ == "__main__":
    main()
