#!/usr/bin/env python3
"""Training throughput: naive loop vs the optimised one used by train.py. Meaningful on a GPU; on CPU it only
sanity-checks that both loops run (bf16/fused/compile are GPU features; the CPU gains are small).

  naive:     HR batches built on the host from a Python list and copied to the device each step, fp32, per-tensor
             Adam (foreach=False), per-tensor EMA loop, loss.item() every step (a host sync), --naive-batch.
  optimised: uint8 data resident on the device, degradation on the device, bf16 autocast (CUDA), fused AdamW
             (CUDA; foreach on CPU), fused EMA (torch._foreach_mul_/add_), no host sync inside the timed steps,
             --batch, optional torch.compile (--compile).

  python3 training/bench_throughput.py --data training/runs/data/faces_train.npz --preset s4-32 --batch 256 --compile
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

from daguerre_train.data import FaceData  # noqa: E402
from daguerre_train.degrade import degrade_batch  # noqa: E402
from daguerre_train.ema import EMA  # noqa: E402
from daguerre_train.model import PRESETS, Denoiser  # noqa: E402
from daguerre_train.trainer import gamma_tables, loss_fn, q_sample, sample_gamma  # noqa: E402


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()


def run(mode, data_cpu, args, dev):
    torch.manual_seed(0)
    model = Denoiser(PRESETS[args.preset]).to(dev)
    cuda = dev.type == "cuda"
    naive = mode == "naive"
    B = args.naive_batch if naive else args.batch
    if naive:
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, foreach=False)
    else:
        kw = {"fused": True} if cuda else {"foreach": True}
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, **kw)
    ema = EMA(model, 0.999)
    g_hi, g_lo = gamma_tables("cosine", 1000, dev)
    gen = torch.Generator(device=dev).manual_seed(0)
    host_list = [im for im in data_cpu.x]  # naive: python list of host tensors
    x_dev = data_cpu.x.to(dev)
    fwd = torch.compile(model) if (args.compile and not naive and hasattr(torch, "compile")) else model
    use_bf16 = cuda and not naive
    losses = []

    def step():
        if naive:
            idx = torch.randint(0, len(host_list), (B,)).tolist()
            x = torch.stack([host_list[i] for i in idx]).to(dev)
        else:
            x = x_dev[torch.randint(0, x_dev.shape[0], (B,), generator=gen, device=dev)]
        hr, cond = degrade_batch(x, args.scale)
        gamma = sample_gamma(B, g_hi, g_lo, gen, dev)
        noise = torch.randn(hr.shape, generator=gen, device=dev)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_bf16) if cuda else torch.autocast(
                "cpu", enabled=False):
            pred = fwd(q_sample(hr, gamma, noise), cond, gamma)
        loss = loss_fn(pred, noise, "l1")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if naive:
            ema.update_naive()
            losses.append(loss.item())
        else:
            ema.update()
            losses.append(loss.detach())

    for _ in range(args.warmup):
        step()
    sync(dev)
    t = time.perf_counter()
    for _ in range(args.steps):
        step()
    sync(dev)
    dt = time.perf_counter() - t
    out = {"mode": mode, "batch": B, "steps": args.steps, "seconds": dt, "samples_per_s": B * args.steps / dt,
           "ms_per_step": 1000 * dt / args.steps, "bf16": use_bf16, "compile": bool(args.compile and not naive)}
    if cuda:
        out["max_mem_GiB"] = torch.cuda.max_memory_allocated() / 2**30
        torch.cuda.reset_peak_memory_stats()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="/work/shared/data/faces/train")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--preset", default="s4-32")
    ap.add_argument("--scale", type=int, default=8)
    ap.add_argument("--batch", type=int, default=0, help="optimised batch (default 256 on CUDA, 16 on CPU)")
    ap.add_argument("--naive-batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=0)
    ap.add_argument("--warmup", type=int, default=0)
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--modes", default="naive,optimised")
    ap.add_argument("--json", default="", help="also write the results here")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    cuda = dev.type == "cuda"
    a.batch = a.batch or (256 if cuda else 16)
    a.steps = a.steps or (50 if cuda else 3)
    a.warmup = a.warmup or (10 if cuda else 1)
    if cuda:
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    data = FaceData(a.data, limit=a.limit)
    res = {"device": torch.cuda.get_device_name() if cuda else "cpu", "torch": torch.__version__,
           "threads": a.threads, "preset": a.preset, "results": []}
    for mode in a.modes.split(","):
        r = run(mode, data, a, dev)
        res["results"].append(r)
        print(f"{mode:10s} batch {r['batch']:4d}: {r['samples_per_s']:8.1f} samples/s ({r['ms_per_step']:.1f} ms/step)",
              flush=True)
    if len(res["results"]) == 2:
        res["speedup"] = res["results"][1]["samples_per_s"] / res["results"][0]["samples_per_s"]
        print(f"speedup x{res['speedup']:.2f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=2)


if __name__ == "__main__":
    main()
