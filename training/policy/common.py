"""Shared helpers: knob -> N (card.ts knobToN), denoiser loading (checkpoint or ONNX), image batches."""
from __future__ import annotations

import glob
import json
import math
import os
import random
from typing import List, Optional

import numpy as np
import torch
from PIL import Image

from daguerre_train.checkpoint import load_ema_model
from daguerre_train.model import Denoiser, UNetConfig

DEFAULT_KNOB = [[0.0, 2], [0.5, 10], [1.0, 40]]


def js_round(x: float) -> int:
    """Math.round (half up)."""
    return int(math.floor(x + 0.5))


def knob_to_n(knob_pts, k: float) -> int:
    """src/shared/card.ts knobToN: piecewise linear over the card points, Math.round."""
    pts = sorted(knob_pts, key=lambda p: p[0])
    k = min(1.0, max(0.0, k))
    if k <= pts[0][0]:
        return int(pts[0][1])
    for (k0, n0), (k1, n1) in zip(pts[:-1], pts[1:]):
        if k <= k1:
            t = 1.0 if k1 == k0 else (k - k0) / (k1 - k0)
            return js_round(n0 + t * (n1 - n0))
    return int(pts[-1][1])


def load_denoiser(src: str, ckpt: str = ""):
    """A frozen Denoiser from a checkpoint folder / ema_fp16.pt, or from a model package folder / denoiser.onnx
    (weights read back from the ONNX initializers, config from card.json's architecture.config)."""
    if src.endswith(".onnx") or os.path.exists(os.path.join(src, "card.json")):
        return _denoiser_from_onnx(src, ckpt)
    m, e = load_ema_model(src)
    info = {"source": os.path.abspath(src), "ema_updates": e.get("ema_updates"), "config": e["config"]}
    st = os.path.join(src if os.path.isdir(src) else os.path.dirname(src), "state.json")
    if os.path.exists(st):
        s = json.load(open(st))
        info.update({"step": s.get("step"), "samples": s.get("samples")})
    for p in m.parameters():
        p.requires_grad_(False)
    return m.eval(), info


def _onnx_named_inits(path: str):
    import onnx
    from onnx import numpy_helper
    om = onnx.load(path)
    out = {}
    for t in om.graph.initializer:
        name = t.name[:-6] if t.name.endswith("__fp16") else t.name
        out[name] = torch.from_numpy(numpy_helper.to_array(t).astype(np.float32))
    return out


def _denoiser_from_onnx(src: str, ckpt: str = ""):
    """The package's denoiser: weights from `ckpt` (a checkpoint folder / ema_fp16.pt), verified against every
    initializer of the ONNX file that kept its PyTorch name (convs, linears; GroupNorm affine params are renamed by
    the exporter), so the policy trains on exactly the shipped network."""
    d = src if os.path.isdir(src) else os.path.dirname(src)
    path = src if src.endswith(".onnx") else os.path.join(d, "denoiser.onnx")
    if not ckpt:
        raise RuntimeError(f"{path}: give the checkpoint it was exported from (--ckpt); ONNX initializer names "
                           "do not cover every parameter")
    m, e = load_ema_model(ckpt)
    inits = _onnx_named_inits(path)
    sd = m.state_dict()
    named = [k for k in sd if k in inits]
    bad = [k for k in named if inits[k].numel() != sd[k].numel() or
           float((inits[k].reshape(sd[k].shape) - sd[k]).abs().max()) > 1e-6]
    if len(named) < len(sd) // 2 or bad:
        raise RuntimeError(f"{ckpt} is not the checkpoint of {path}: {len(named)}/{len(sd)} named, mismatched {bad[:3]}")
    for p in m.parameters():
        p.requires_grad_(False)
    return m.eval(), {"source": os.path.abspath(path), "ckpt": os.path.abspath(ckpt), "verified_params":
                      f"{len(named)}/{len(sd)} ONNX initializers equal", "config": e["config"],
                      "ema_updates": e.get("ema_updates")}


def latest_ckpt_mtime(src: str) -> float:
    p = os.path.join(src, "ema_fp16.pt") if os.path.isdir(src) else src
    return os.path.getmtime(p) if os.path.exists(p) else 0.0


def _rgb(path) -> np.ndarray:
    im = Image.open(path)
    if im.mode != "RGB":
        im = im.convert("RGB")
    return np.asarray(im, dtype=np.uint8)


def list_images(folder: str) -> List[str]:
    out = []
    for ext in ("png", "jpg", "jpeg", "bmp"):
        out += glob.glob(os.path.join(folder, f"*.{ext}"))
    return sorted(out)


class Images:
    """HR uint8 batches [B,3,S,S]: whole images (faces, 128x128) or random S x S crops (natural), random flips."""

    def __init__(self, folder: str, size: int = 128, crop: bool = False, seed: int = 0, limit: int = 0,
                 preload: bool = True):
        self.files = list_images(folder)
        if limit:
            self.files = self.files[:limit]
        if not self.files:
            raise FileNotFoundError(f"no images in {folder}")
        self.size, self.crop = size, crop
        self.rng = random.Random(seed)
        self.cache = [None] * len(self.files) if preload else None

    def _get(self, i):
        if self.cache is not None:
            if self.cache[i] is None:
                self.cache[i] = _rgb(self.files[i])
            return self.cache[i]
        return _rgb(self.files[i])

    def _fit(self, a: np.ndarray, random_crop: bool) -> np.ndarray:
        S = self.size
        h, w = a.shape[:2]
        if h < S or w < S:
            a = np.asarray(Image.fromarray(a).resize((max(S, w), max(S, h)), Image.BICUBIC))
            h, w = a.shape[:2]
        if random_crop:
            y, x = self.rng.randint(0, h - S), self.rng.randint(0, w - S)
        else:
            y, x = (h - S) // 2, (w - S) // 2
        return a[y:y + S, x:x + S]

    def batch(self, B: int, flip: bool = True) -> torch.Tensor:
        out = []
        for _ in range(B):
            a = self._fit(self._get(self.rng.randrange(len(self.files))), self.crop)
            if flip and self.rng.random() < 0.5:
                a = a[:, ::-1]
            out.append(torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1))
        return torch.stack(out)

    def fixed(self, n: int) -> torch.Tensor:
        """The first n images, centre-cropped (evaluation)."""
        return torch.stack([torch.from_numpy(np.ascontiguousarray(self._fit(self._get(i), False))).permute(2, 0, 1)
                            for i in range(min(n, len(self.files)))])
