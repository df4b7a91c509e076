"""HR -> LR -> cond degradation (the paper's protocol, DESIGN.md 1.7), in torch, batched.

All images here are float tensors [B,3,H,W]. uint8 HR in, cond in [-1,1] out.
"""
from __future__ import annotations

import io
import math

import torch
import torch.nn.functional as F


def to_unit(x_uint8: torch.Tensor) -> torch.Tensor:
    return x_uint8.float() / 255.0


def downsample_aa(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Antialiased bicubic downsampling by an integer scale ([0,1] floats in, floats out, not clamped)."""
    h, w = x.shape[-2:]
    return F.interpolate(x, size=(h // scale, w // scale), mode="bicubic", antialias=True, align_corners=False)


def upsample_bicubic(x: torch.Tensor, size) -> torch.Tensor:
    return F.interpolate(x, size=tuple(size), mode="bicubic", align_corners=False)


def quantize_uint8(x01: torch.Tensor) -> torch.Tensor:
    """[0,1] floats -> uint8 levels (as float 0..255): round, clamp."""
    return torch.round(x01 * 255.0).clamp(0, 255)


def lr_from_hr(hr01: torch.Tensor, scale: int) -> torch.Tensor:
    """HR [0,1] -> LR uint8 levels (float tensor of 0..255 integers)."""
    return quantize_uint8(downsample_aa(hr01, scale))


def cond_from_lr(lr255: torch.Tensor, size) -> torch.Tensor:
    """LR uint8 levels -> cond in [-1,1]: bicubic upsample (a=-0.75) of LR in [-1,1], clamped to [-1,1]."""
    lr = lr255 / 127.5 - 1.0
    return upsample_bicubic(lr, size).clamp(-1.0, 1.0)


def bicubic_pipeline(hr_uint8: torch.Tensor, scale: int):
    """The training pipeline: HR uint8 [B,3,H,W] -> (hr in [-1,1], lr uint8 levels, cond in [-1,1])."""
    hr01 = to_unit(hr_uint8)
    lr = lr_from_hr(hr01, scale)
    cond = cond_from_lr(lr, hr01.shape[-2:])
    return hr01 * 2.0 - 1.0, lr, cond


# ---------------------------------------------------------------- old-photo mix (optional)

def _gauss_kernel(sigma: float, device):
    r = max(1, int(math.ceil(3 * sigma)))
    t = torch.arange(-r, r + 1, device=device, dtype=torch.float32)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    return k / k.sum()


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    if sigma <= 0.05:
        return x
    k = _gauss_kernel(sigma, x.device)
    c = x.shape[1]
    r = (k.numel() - 1) // 2
    x = F.pad(x, (r, r, r, r), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    x = F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
    return x


def _jpeg_pil(x01: torch.Tensor, quality: int) -> torch.Tensor:
    from PIL import Image
    import numpy as np

    arr = (x01.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).cpu().numpy()
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    out = np.asarray(Image.open(buf).convert("RGB"))
    return torch.from_numpy(out.copy()).permute(2, 0, 1).float().div(255).to(x01.device)


OLDPHOTO_DETAILS = (
    "bicubic protocol on a fraction p of the batch replaced by: gaussian blur sigma U(0,1.5) on HR, "
    "antialiased bicubic down, gaussian noise sigma U(0,8)/255 on LR, JPEG q U(30,90) via PIL (CPU), "
    "grey with prob 0.3, colour fade towards sepia with strength U(0,0.3); then uint8 quantisation and bicubic up"
)


def oldphoto_lr(hr01: torch.Tensor, scale: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Old-photo degradation of a batch, per sample. Returns LR uint8 levels (float)."""
    outs = []
    dev = hr01.device
    for i in range(hr01.shape[0]):
        r = torch.rand(6, generator=generator).tolist()
        x = _blur(hr01[i : i + 1], 1.5 * r[0])
        x = downsample_aa(x, scale)
        x = x + torch.randn(x.shape, generator=generator).to(dev) * (8.0 * r[1] / 255.0)
        x = x.clamp(0, 1)
        if r[3] < 0.3:
            g = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])
            x = g.expand(-1, 3, -1, -1)
        fade = 0.3 * r[4]
        sepia = torch.tensor([1.0, 0.85, 0.65], device=dev).view(1, 3, 1, 1)
        lum = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])
        x = (1 - fade) * x + fade * lum * sepia
        x = _jpeg_pil(x[0], 30 + 60 * r[2]).unsqueeze(0)
        outs.append(quantize_uint8(x))
    return torch.cat(outs, 0)


def real_lr(hr_uint8: torch.Tensor, scale: int, p_real: float, generator: torch.Generator | None = None):
    """degrade_real's pipeline on a fraction p_real of the batch, the bicubic protocol on the rest.
    Returns (target [0,1], LR uint8 levels (float)); per-sample seeds come from `generator` (CPU)."""
    from .degrade_real import real_batch

    seeds = torch.randint(0, 2 ** 31 - 1, (hr_uint8.shape[0],), generator=generator).tolist()
    target, lrs = real_batch(hr_uint8, scale, seeds, p_real=p_real)
    hr01 = to_unit(target)
    lr = lr_from_hr(hr01, scale)
    for i, l in enumerate(lrs):
        if l is not None:
            lr[i] = l.float()
    return hr01, lr


def cond_and_mask(lr: torch.Tensor, size, damage=None):
    """cond from LR uint8 levels, with `damage` (lr -> (damaged lr, LR mask), damage.damage_lr) first when given:
    (cond,) or (cond, mask on the conditioning grid)."""
    if damage is None:
        return (cond_from_lr(lr, size),)
    from .damage import mask_to_cond
    lr, mask_lr = damage(lr)
    return cond_from_lr(lr, size), mask_to_cond(mask_lr, size)


def degrade_batch(hr_uint8: torch.Tensor, scale: int, kind: str = "bicubic", oldphoto_p: float = 0.5,
                  generator: torch.Generator | None = None, real_p: float = 0.8, damage=None):
    """Returns (hr in [-1,1], cond in [-1,1]), and the damage mask [B,1,H,W] third when `damage` is given (see
    cond_and_mask). kind: bicubic | oldphoto (oldphoto_p) | real (real_p)."""
    if kind == "real":
        hr01, lr = real_lr(hr_uint8, scale, real_p, generator)
        return (hr01 * 2.0 - 1.0,) + cond_and_mask(lr, hr01.shape[-2:], damage)
    hr01 = to_unit(hr_uint8)
    lr = lr_from_hr(hr01, scale)
    if kind == "oldphoto":
        mask = torch.rand(hr01.shape[0], generator=generator) < oldphoto_p
        if mask.any():
            idx = mask.nonzero().flatten().to(hr01.device)
            lr[idx] = oldphoto_lr(hr01[idx], scale, generator)
    elif kind != "bicubic":
        raise ValueError(kind)
    return (hr01 * 2.0 - 1.0,) + cond_and_mask(lr, hr01.shape[-2:], damage)
