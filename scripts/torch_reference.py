#!/usr/bin/env python3
"""The wavenet model (its equations: docs/checkpoints.md) in plain PyTorch ops, as an independent reference for the
engine's CUDA trainer: the same parameter layout (native/include/wavenet.h), the same initial weights
and the same crops, read from the files scripts/cuda-loss-curve.ts writes.

  python3 scripts/torch_reference.py curve DIR   200 Adam steps on DIR's crops (eager, float32, TF32 off);
                                                 compares the loss of every step with DIR/engine.json
  python3 scripts/torch_reference.py bench DIR   training throughput (samples/s of predicted audio) of
                                                 eager and torch.compile, plus the card's measured fp32
                                                 matmul and copy-bandwidth ceilings
  python3 scripts/torch_reference.py check DIR   forward loss of step 0's crops only (a quick parity check)

Options: --device cuda|cpu (default cuda when available), --steps N (bench: timed steps, default 20),
--full (bench/curve: compute every position like a textbook WaveNet instead of only the positions that
reach the loss, as the engine does; the loss is the same), --tf32 (allow TF32 in matmuls/convolutions),
--json FILE (write the result there too).

The model: x0 = bias + E1[c_t] + E0[c_{t-1}]; per layer fg = Wg [x(t-d); x(t)] + bg,
z = tanh(f) sigmoid(g), skip += Ws z + bs, x += Wr z + br; head logits = W2 relu(W1 relu(skip) + b1) + b2;
loss = mean cross-entropy of the last W positions' next class. Adam as torch.optim.Adam (the same
expression as the engine's: lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)).
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def load(dirname, device):
    with open(os.path.join(dirname, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(dirname, "params.f32"), "rb") as f:
        flat = torch.frombuffer(bytearray(f.read()), dtype=torch.float32)  # little-endian hosts
    assert flat.numel() == sum(t["size"] for t in cfg["layout"]), "params.f32 does not match config.json"
    params = {}
    for t in cfg["layout"]:
        params[t["name"]] = flat[t["offset"]:t["offset"] + t["size"]].clone().reshape(t["shape"]).to(device)
    N = cfg["receptiveField"] + cfg["window"]
    with open(os.path.join(dirname, "crops.u8"), "rb") as f:
        raw = f.read()
    crops = torch.frombuffer(bytearray(raw), dtype=torch.uint8).reshape(-1, cfg["batch"], N).to(device)
    return cfg, params, crops


class WaveNet:
    def __init__(self, cfg, params, full=False):
        self.cfg = cfg
        self.full = full
        self.L = len(cfg["dilations"])
        self.p = {k: v.clone().requires_grad_(True) for k, v in params.items()}

    def parameters(self):
        return list(self.p.values())

    def loss(self, c):
        """c: [B, N] uint8 classes -> mean cross-entropy (nats) of the last W positions."""
        cfg, p = self.cfg, self.p
        W, rf = cfg["window"], cfg["receptiveField"]
        B, N = c.shape
        T = N - 1
        c = c.long()
        E = p["input.embed"]  # [2, Q, R]
        if self.full:
            # every position 0..T-1; positions before the start read zeros (left padding)
            x = p["input.bias"] + E[1][c[:, :T]]
            x = x + F.pad(E[0][c[:, :T - 1]], (0, 0, 1, 0))
        else:
            # only positions that reach the loss: x_l covers [start_l, T), start_0 = 1
            x = p["input.bias"] + E[1][c[:, 1:T]] + E[0][c[:, 0:T - 1]]
        skip = None
        for l, d in enumerate(cfg["dilations"]):
            pre = "layers.%d." % l
            if self.full:
                past = F.pad(x, (0, 0, d, 0))[:, :x.shape[1]]
                cur = x
            else:
                past = x[:, :x.shape[1] - d]
                cur = x[:, d:]
            fg = torch.cat([past, cur], dim=-1) @ p[pre + "gate.weight"].t() + p[pre + "gate.bias"]
            f, g = fg.chunk(2, dim=-1)
            z = torch.tanh(f) * torch.sigmoid(g)
            s = z[:, -W:] @ p[pre + "skip.weight"].t() + p[pre + "skip.bias"]
            skip = s if skip is None else skip + s
            if l < self.L - 1:
                x = cur + z @ p[pre + "res.weight"].t() + p[pre + "res.bias"]
        h = F.relu(skip)
        h = F.relu(h @ p["head.1.weight"].t() + p["head.1.bias"])
        logits = h @ p["head.2.weight"].t() + p["head.2.bias"]  # [B, W, Q]
        target = c[:, rf:N]
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))


def make_step(model, opt):
    def step(c):
        opt.zero_grad(set_to_none=True)
        loss = model.loss(c)
        loss.backward()
        opt.step()
        return loss
    return step


def sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def ceilings(device):
    """Measured fp32 matmul TFLOP/s (TF32 off) and device copy bandwidth (GB/s, read + write)."""
    if not device.startswith("cuda"):
        return {}
    out = {}
    n = 8192
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    for _ in range(2):
        a @ b
    sync(device)
    reps = 5
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    sync(device)
    out["fp32MatmulTflops"] = 2 * n ** 3 * reps / (time.perf_counter() - t0) / 1e12
    src = torch.empty(256 * 2 ** 20, device=device)  # 1 GiB
    dst = torch.empty_like(src)
    dst.copy_(src)
    sync(device)
    t0 = time.perf_counter()
    for _ in range(reps):
        dst.copy_(src)
    sync(device)
    out["copyGBps"] = 2 * src.numel() * 4 * reps / (time.perf_counter() - t0) / 1e9
    return out


def cmd_curve(a, device):
    cfg, params, crops = load(a.dir, device)
    model = WaveNet(cfg, params, full=a.full)
    ad = cfg["adam"]
    opt = torch.optim.Adam(model.parameters(), lr=ad["lr"], betas=(ad["beta1"], ad["beta2"]), eps=ad["eps"])
    step = make_step(model, opt)
    steps = min(cfg["steps"], crops.shape[0])
    losses = []
    for s in range(steps):
        losses.append(float(step(crops[s])))
    res = {"mode": "curve", "device": device, "steps": steps, "losses": losses}
    eng_path = os.path.join(a.dir, "engine.json")
    if os.path.exists(eng_path):
        with open(eng_path) as f:
            eng = json.load(f)["losses"][:steps]
        rel = [abs(e - t) / abs(t) for e, t in zip(eng, losses)]
        res["engineLosses"] = eng
        res["maxRelDiff"] = max(rel)
        res["meanRelDiff"] = sum(rel) / len(rel)
        res["within1pct"] = max(rel) <= 0.01
        print("loss curve: torch %.4f -> %.4f, engine %.4f -> %.4f nats; max relative difference %.3g%% (%s 1%%)" % (
            losses[0], losses[-1], eng[0], eng[-1], 100 * res["maxRelDiff"], "within" if res["within1pct"] else "NOT within"))
    else:
        print("loss curve: torch %.4f -> %.4f nats (no engine.json to compare with)" % (losses[0], losses[-1]))
    return res


def time_steps(step, crops, steps, device, warmup):
    for s in range(warmup):
        step(crops[s % crops.shape[0]])
    sync(device)
    ms = []
    for s in range(steps):
        t0 = time.perf_counter()
        step(crops[s % crops.shape[0]])
        sync(device)
        ms.append((time.perf_counter() - t0) * 1000)
    return statistics.median(ms), ms


def cmd_bench(a, device):
    cfg, params, crops = load(a.dir, device)
    B, W = cfg["batch"], cfg["window"]
    ad = cfg["adam"]
    res = {"mode": "bench", "device": device, "gpu": torch.cuda.get_device_name() if device.startswith("cuda") else "cpu",
           "torch": torch.__version__, "tf32": a.tf32, "full": a.full, "batch": B, "window": W}
    for name in ("eager", "compiled"):
        model = WaveNet(cfg, params, full=a.full)
        opt = torch.optim.Adam(model.parameters(), lr=ad["lr"], betas=(ad["beta1"], ad["beta2"]), eps=ad["eps"])
        step = make_step(model, opt)
        if name == "compiled":
            if not hasattr(torch, "compile"):
                res[name] = {"error": "torch.compile is not available in torch %s" % torch.__version__}
                continue
            try:
                step = torch.compile(step)
            except Exception as e:  # noqa: BLE001
                res[name] = {"error": str(e).splitlines()[0]}
                continue
        try:
            med, ms = time_steps(step, crops, a.steps, device, warmup=3 if name == "eager" else 5)
        except Exception as e:  # noqa: BLE001
            res[name] = {"error": str(e).splitlines()[0]}
            continue
        res[name] = {"medianStepMs": med, "samplesPerSec": B * W / (med / 1000), "stepMs": ms}
        print("torch %-8s median step %.2f ms, %.0f samples/s" % (name, med, B * W / (med / 1000)))
    res["ceilings"] = ceilings(device)
    if res["ceilings"]:
        print("card ceilings: fp32 matmul %.1f TFLOP/s, copy %.0f GB/s" % (res["ceilings"]["fp32MatmulTflops"], res["ceilings"]["copyGBps"]))
    return res


def cmd_check(a, device):
    cfg, params, crops = load(a.dir, device)
    with torch.no_grad():
        loss = float(WaveNet(cfg, params, full=a.full).loss(crops[0]))
    print("forward loss of step 0's crops: %.6f nats" % loss)
    return {"mode": "check", "loss": loss}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["curve", "bench", "check"])
    ap.add_argument("dir")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--tf32", action="store_true")
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = a.tf32
    torch.backends.cudnn.allow_tf32 = a.tf32
    torch.manual_seed(0)
    res = {"curve": cmd_curve, "bench": cmd_bench, "check": cmd_check}[a.mode](a, a.device)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
