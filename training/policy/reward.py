"""Quality of a final image: -NIQE (our small-block parameters, training/metrics_ref.py) + lam * LR-consistency PSNR."""
from __future__ import annotations

import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
TRAINING = os.path.dirname(HERE)
ROOT = os.path.dirname(TRAINING)
if TRAINING not in sys.path:
    sys.path.insert(0, TRAINING)

import metrics_ref as M  # noqa: E402  (owned by the metrics engineer; imported, not edited)

NIQE_SMALL = os.path.join(ROOT, "models", "niqe", "niqe-small-params.json")
_PARAMS = {}


def niqe_params(path: str = NIQE_SMALL):
    if path not in _PARAMS:
        _PARAMS[path] = M.load_params(path)
    return _PARAMS[path]


def to_u8(x: torch.Tensor) -> np.ndarray:
    """[-1,1] CHW tensor -> HWC uint8 (round, clamp) as the app writes it."""
    a = ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
    return a.permute(1, 2, 0).numpy()


def niqe_u8(img: np.ndarray) -> float:
    v = M.niqe(img, niqe_params())
    return float(v) if np.isfinite(v) else 20.0


def lr_psnr(img: np.ndarray, lr_u8: np.ndarray, scale: int) -> float:
    v = M.lr_psnr(img, lr_u8, scale)
    return float(min(v, 60.0))


def psnr_y(img: np.ndarray, ref: np.ndarray, border: int) -> float:
    return float(M.psnr_y(img, ref, border))


def scores(x0: torch.Tensor, lr255: torch.Tensor, scale: int):
    """Per image: (niqe, lr_psnr). x0 [B,3,H,W] in [-1,1]; lr255 float 0..255 [B,3,h,w]."""
    out = []
    for i in range(x0.shape[0]):
        img = to_u8(x0[i])
        lr = lr255[i].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()
        out.append((niqe_u8(img), lr_psnr(img, lr, scale)))
    return out


def quality(niqe: float, lrp: float, lam: float) -> float:
    return -niqe + lam * lrp
