#!/usr/bin/env python3
"""A contact sheet of degraded training samples (issue 15 item 1): what the model is taught to undo.

Each cell: the HR patch (training target; colour-mapped when the old-print stage recoloured it) on the
left, its degraded LR nearest-upsampled to the same size on the right, exactly as `--degrade real` makes
them (degrade_real.real_batch, one seed per sample, p_real 1).

  /usr/bin/python3 training/contact_sheet.py --data ../shared/data/natural/train-hr --n 24 --scale 4 \
      --patch 128 --out training/results/degrade-real-sheet.jpg
"""
import argparse
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daguerre_train.data import PatchData  # noqa: E402
from daguerre_train.degrade_real import DEFAULT, real_batch  # noqa: E402


def sheet(data: str, n: int, scale: int, patch: int, cols: int, seed: int) -> Image.Image:
    d = PatchData(data, patch)
    g = torch.Generator().manual_seed(seed)
    hr = d.batch(n, g)
    tgt, lrs = real_batch(hr, scale, [seed * 1000 + i for i in range(n)], DEFAULT, 1.0)
    gap = 4
    cw, ch = 2 * patch + gap, patch
    rows = (n + cols - 1) // cols
    canvas = Image.new("RGB", (cols * (cw + 3 * gap) - 3 * gap, rows * (ch + gap) - gap), (34, 34, 34))
    for i in range(n):
        t = Image.fromarray(tgt[i].permute(1, 2, 0).numpy())
        lr = Image.fromarray(lrs[i].permute(1, 2, 0).numpy()).resize((patch, patch), Image.NEAREST)
        x = (i % cols) * (cw + 3 * gap)
        y = (i // cols) * (ch + gap)
        canvas.paste(t, (x, y))
        canvas.paste(lr, (x + patch + gap, y))
    return canvas


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/natural/train-hr")
    ap.add_argument("--n", type=int, default=24)
    ap.add_argument("--scale", type=int, default=4)
    ap.add_argument("--patch", type=int, default=128)
    ap.add_argument("--cols", type=int, default=4)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--out", default="training/results/degrade-real-sheet.jpg")
    a = ap.parse_args()
    torch.set_num_threads(1)
    im = sheet(a.data, a.n, a.scale, a.patch, a.cols, a.seed)
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    im.save(a.out, quality=90, optimize=True)
    print(f"wrote {a.out} ({im.width}x{im.height}, {a.n} samples)")
