#!/usr/bin/env python3
"""Sanity look at a trained denoiser: sample a few validation faces and save a grid PNG.

Columns: LR (nearest-neighbour up) | bicubic cond | <each sampler> | HR. Prints a rough PSNR (RGB, [0,255], no border
shave; not the bench's Y-channel protocol) per column.

  /usr/bin/python3 training/sample_grid.py --ckpt training/runs/face-x8-cpu/ckpt --out training/runs/face-x8-cpu/grid.png
"""
import argparse
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image  # noqa: E402

from daguerre_train import sampling as smp  # noqa: E402
from daguerre_train.checkpoint import load_ema_model  # noqa: E402
from daguerre_train.data import FaceData  # noqa: E402
from daguerre_train.degrade import bicubic_pipeline  # noqa: E402


def psnr(a, b):
    mse = ((a - b) * 127.5).square().mean().item()
    return 10 * math.log10(255 ** 2 / max(mse, 1e-10))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--val", default="/work/shared/data/faces/val")
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--scale", type=int, default=8)
    ap.add_argument("--samplers", default="ddim:10,fixed:10,csa:10")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model, _ = load_ema_model(a.ckpt)
    x = FaceData(a.val, limit=a.first + a.n).x[a.first:]
    hr, lr, cond = bicubic_pipeline(x, a.scale)
    lr_near = F.interpolate(lr / 127.5 - 1, size=hr.shape[-2:], mode="nearest")
    cols = [("LR", lr_near), ("bicubic", cond)]
    for s in a.samplers.split(","):
        kind, arg = s.split(":")
        g = torch.Generator().manual_seed(a.seed)
        t = time.time()
        if kind == "ddim":
            out, info = smp.ddim(model, cond, int(arg), generator=g)
        elif kind == "ddpm":
            out, info = smp.ddpm(model, cond, int(arg), generator=g)
        elif kind == "fixed":  # arg = N (fixed stride F = 10)
            out, info = smp.skipdiff(model, cond, int(arg), generator=g)
        elif kind == "csa":
            out, info = smp.skipdiff(model, cond, int(arg), csa_only=True, generator=g)
        else:
            raise ValueError(s)
        print(f"{s}: {info['calls']} calls, {time.time() - t:.1f}s", flush=True)
        cols.append((s, out))
    cols.append(("HR", hr))
    for name, im in cols:
        print(f"  {name:10s} PSNR vs HR {psnr(im, hr):6.2f} dB")
    grid = torch.cat([torch.cat([c[i] for _, c in cols], dim=-1) for i in range(hr.shape[0])], dim=-2)
    arr = ((grid.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    Image.fromarray(arr).save(a.out)
    print("columns:", " | ".join(n for n, _ in cols), "->", a.out)


if __name__ == "__main__":
    main()
