"""Blind face degradation (GFPGAN / CodeFormer manner) for the `face-blind` task, in torch, per sample.

HR is an aligned face at the model size S (256). Each sample draws its own chain
(the ranges of GFPGAN's `FFHQDegradationDataset` config, widened as issue 16 asks):

  1. grey (probability p_grey): HR *and* LQ become luminance (GFPGAN's gt_gray: the target is grey too,
     so the model never invents colour for a grey input; the engine greys grey inputs the same way);
  2. blur: a 41-tap Gaussian, isotropic or anisotropic (p 0.5 each; anisotropic: two sigmas and a random
     rotation), sigma U(0.1, 10) (GFPGAN blur_sigma [0.1, 10]);
  3. resize down by s, log-uniform in [0.8, 16] (GFPGAN [0.8, 8]; CodeFormer's hard stage goes to x30),
     to round(S/s) (bilinear, bicubic or area, chosen per sample);
  4. Gaussian noise sigma U(0, 20)/255 (GFPGAN noise_range [0, 20]), colour or grey noise;
  5. JPEG quality U(30, 100) via PIL (GFPGAN [60, 100]; CodeFormer [30, 90]);
  6. colour jitter (p 0.3): a per-channel shift U(-20, 20)/255 (GFPGAN color_jitter_shift 20);
  7. resize back to S (bilinear or bicubic), rounded to uint8 = what the app feeds, then to [-1, 1] = cond.

`min_scale` per sample lets a caller force s >= 2 for HR that was itself upsampled (UTKFace 128 -> 256):
the condition is then never sharper than the target.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass, asdict

import numpy as np
import torch
import torch.nn.functional as F


@dataclass
class FaceDegradeConfig:
    blur_p: float = 1.0
    blur_sigma: tuple = (0.1, 10.0)
    kernel_size: int = 41
    aniso_p: float = 0.5
    scale: tuple = (0.8, 16.0)
    noise: tuple = (0.0, 20.0)
    grey_noise_p: float = 0.3
    jpeg: tuple = (30, 100)
    jpeg_p: float = 1.0
    jitter_p: float = 0.3
    jitter_shift: float = 20.0
    grey_p: float = 0.1
    blur_impl: str = "conv"  # "fft": the same blur through rfft2 (within 1e-5; ~10x faster on a CPU core for 41 taps)

    def details(self) -> str:
        return ("blind face degradation (training/daguerre_train/degrade_face.py, GFPGAN/CodeFormer manner): "
                f"grey HR+LQ p {self.grey_p}; Gaussian blur {self.kernel_size} taps, iso/aniso "
                f"(aniso p {self.aniso_p}), sigma U{tuple(self.blur_sigma)}; down by s log-uniform "
                f"{tuple(self.scale)} (bilinear/bicubic/area); noise sigma U{tuple(self.noise)}/255 (grey p "
                f"{self.grey_noise_p}); JPEG q U{tuple(self.jpeg)} (PIL); colour shift +-{self.jitter_shift}/255 "
                f"p {self.jitter_p}; back to the model size (bilinear/bicubic), uint8, [-1,1]")

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


def gaussian_kernel(size: int, sx: float, sy: float, theta: float) -> torch.Tensor:
    """A normalised 2-D Gaussian [size, size]: sigmas sx, sy along axes rotated by theta (radians)."""
    r = (size - 1) / 2
    t = torch.arange(size, dtype=torch.float64) - r
    yy, xx = torch.meshgrid(t, t, indexing="ij")
    c, s = math.cos(theta), math.sin(theta)
    u = c * xx + s * yy
    v = -s * xx + c * yy
    k = torch.exp(-0.5 * ((u / sx) ** 2 + (v / sy) ** 2))
    return (k / k.sum()).float()


def blur(x: torch.Tensor, k: torch.Tensor, impl: str = "conv") -> torch.Tensor:
    """x [1,C,H,W], k [s,s]: depthwise convolution with reflect padding (same size). impl "fft": the same
    correlation computed with rfft2 on the padded image (no wrap-around reaches the kept part); equal to "conv"
    within float rounding (~2e-6), about 10x faster for the 41-tap kernels on one CPU core."""
    c = x.shape[1]
    r = (k.shape[-1] - 1) // 2
    h, w = x.shape[-2:]
    mode = "reflect" if r < min(h, w) else "replicate"
    xp = F.pad(x, (r, r, r, r), mode=mode)
    if impl == "fft":
        H, W = xp.shape[-2:]
        kf = torch.fft.rfft2(k.to(x.dtype).flip(-1, -2), s=(H, W))  # correlation = convolution with the flipped kernel
        return torch.fft.irfft2(torch.fft.rfft2(xp) * kf, s=(H, W))[..., 2 * r:, 2 * r:].contiguous()
    if impl != "conv":
        raise ValueError(f"blur: impl must be conv or fft, got {impl!r}")
    return F.conv2d(xp, k.to(x.dtype).view(1, 1, *k.shape).expand(c, 1, -1, -1), groups=c)


def resize(x: torch.Tensor, size: int, mode: str) -> torch.Tensor:
    if mode == "area":
        return F.interpolate(x, size=(size, size), mode="area")
    aa = size < x.shape[-1]
    return F.interpolate(x, size=(size, size), mode=mode, align_corners=False, antialias=aa)


# One JPEG round trip (PIL) for the natural and the face pipelines.
from .degrade_real import jpeg  # noqa: E402


def luminance(x: torch.Tensor) -> torch.Tensor:
    y = 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]
    return y.expand(-1, 3, -1, -1).contiguous()


def draw_params(cfg: FaceDegradeConfig, g: torch.Generator, min_scale: float = 0.0) -> dict:
    """One sample's degradation parameters from the CPU generator `g` (all host floats)."""
    r = torch.rand(14, generator=g, dtype=torch.float64).tolist()
    lo, hi = max(cfg.scale[0], min_scale), max(cfg.scale[1], min_scale)
    s = math.exp(math.log(lo) + r[0] * (math.log(hi) - math.log(lo)))
    sig = cfg.blur_sigma[0] + r[1] * (cfg.blur_sigma[1] - cfg.blur_sigma[0])
    aniso = r[2] < cfg.aniso_p
    sig2 = cfg.blur_sigma[0] + r[3] * (cfg.blur_sigma[1] - cfg.blur_sigma[0]) if aniso else sig
    return {
        "grey": r[4] < cfg.grey_p,
        "blur": r[5] < cfg.blur_p,
        "sigma": (sig, sig2),
        "theta": r[6] * math.pi if aniso else 0.0,
        "scale": s,
        "down": ("bilinear", "bicubic", "area")[min(2, int(r[7] * 3))],
        "noise": cfg.noise[0] + r[8] * (cfg.noise[1] - cfg.noise[0]),
        "grey_noise": r[9] < cfg.grey_noise_p,
        "jpeg": int(round(cfg.jpeg[0] + r[10] * (cfg.jpeg[1] - cfg.jpeg[0]))) if r[11] < cfg.jpeg_p else None,
        "jitter": r[12] < cfg.jitter_p,
        "up": "bilinear" if r[13] < 0.5 else "bicubic",
    }


def draw_extras(p: dict, S: int, g: torch.Generator) -> dict:
    """The rest of one sample's random draws (noise field, colour shift) from `g`, in the order degrade_one
    uses them; they depend on the parameters only, never on the image, so a caller can draw a whole batch in
    one process and apply it in another (trainer.py --data-workers) with the same result."""
    lr_size = max(1, int(round(S / p["scale"])))
    noise = torch.randn((1, 1 if p["grey_noise"] else 3, lr_size, lr_size), generator=g) if p["noise"] > 0 else None
    shift = (torch.rand(3, generator=g) * 2 - 1) if p["jitter"] else None
    return {"noise_field": noise, "shift": shift}


def apply_one(hr01: torch.Tensor, p: dict, extras: dict, cfg: FaceDegradeConfig):
    """hr01 [1,3,S,S] in [0,1] -> (hr01 (grey when p['grey']), lq01 [1,3,S,S] uint8 levels / 255). No randomness:
    everything random is in `p` (draw_params) and `extras` (draw_extras)."""
    S = hr01.shape[-1]
    if p["grey"]:
        hr01 = luminance(hr01)
    x = hr01
    if p["blur"]:
        x = blur(x, gaussian_kernel(cfg.kernel_size, p["sigma"][0], p["sigma"][1], p["theta"]).to(x.device),
                 cfg.blur_impl)
    lr_size = max(1, int(round(S / p["scale"])))
    x = resize(x, lr_size, p["down"])
    if p["noise"] > 0:
        x = x + extras["noise_field"].to(x.device) * (p["noise"] / 255.0)
    x = x.clamp(0, 1)
    if p["jpeg"] is not None:
        x = jpeg(x, p["jpeg"])
    if p["jitter"]:
        shift = extras["shift"] * (cfg.jitter_shift / 255.0)
        x = x + shift.view(1, 3, 1, 1).to(x.device)
    if p["grey"]:
        x = luminance(x)
    x = torch.round(x.clamp(0, 1) * 255.0) / 255.0  # the LR as an 8-bit image
    x = resize(x, S, p["up"]) if lr_size != S else x
    x = torch.round(x.clamp(0, 1) * 255.0) / 255.0  # the app feeds an 8-bit aligned crop
    return hr01, x


def degrade_one(hr01: torch.Tensor, p: dict, cfg: FaceDegradeConfig, g: torch.Generator):
    """hr01 [1,3,S,S] in [0,1] -> (hr01 (grey when p['grey']), lq01 [1,3,S,S] uint8 levels / 255)."""
    return apply_one(hr01, p, draw_extras(p, hr01.shape[-1], g), cfg)


def draw_face_batch(B: int, S: int, cfg: FaceDegradeConfig, g: torch.Generator, min_scale=None):
    """Every random draw of degrade_face_batch for B samples of size S, in its order: [(params, extras)]."""
    out = []
    for ms in per_sample_min_scale(B, min_scale):
        p = draw_params(cfg, g, ms)
        out.append((p, draw_extras(p, S, g)))
    return out


def per_sample_min_scale(B: int, min_scale):
    return [0.0] * B if min_scale is None else ([float(min_scale)] * B if not isinstance(min_scale, (list, tuple))
                                                else [float(v) for v in min_scale])


def degrade_face_batch(hr_uint8: torch.Tensor, cfg: FaceDegradeConfig | None = None,
                       generator: torch.Generator | None = None, min_scale=None):
    """HR uint8 [B,3,S,S] -> (hr [-1,1], cond [-1,1], params list). `generator`: a CPU generator (seed it for
    determinism); `min_scale`: None, a float, or a per-sample list of minimum downscale factors."""
    if hr_uint8.dtype != torch.uint8 or hr_uint8.dim() != 4 or hr_uint8.shape[1] != 3:
        raise ValueError(f"degrade_face_batch: expected uint8 [B,3,S,S], got {hr_uint8.dtype} {tuple(hr_uint8.shape)}")
    if hr_uint8.shape[-1] != hr_uint8.shape[-2]:
        raise ValueError(f"degrade_face_batch: faces must be square, got {tuple(hr_uint8.shape[-2:])}")
    cfg = cfg or FaceDegradeConfig()
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    B = hr_uint8.shape[0]
    ms = per_sample_min_scale(B, min_scale)
    hr01 = hr_uint8.float() / 255.0
    hrs, lqs, params = [], [], []
    for i in range(B):
        p = draw_params(cfg, g, ms[i])
        h, l = degrade_one(hr01[i:i + 1], p, cfg, g)
        hrs.append(h)
        lqs.append(l)
        params.append(p)
    hr = torch.cat(hrs) * 2 - 1
    cond = torch.cat(lqs) * 2 - 1
    return hr, cond, params
