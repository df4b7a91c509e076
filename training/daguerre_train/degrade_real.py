"""Real-world degradation for training: a second-order pipeline in the manner of Real-ESRGAN (Wang et al. 2021)
plus what old prints and scans add. Written from the paper's description and its published ranges; our own code.

One sample at a time (each draws its own parameters from its own numpy Generator, so a seed fixes the output),
torch ops on [1,3,H,W] float images in [0,1]; JPEG through PIL. Order:

  1. stage 1: blur (random kernel) -> random resize (up / down / keep) -> noise (Gaussian or Poisson, colour or
     grey) -> JPEG
  2. old print (probability `oldprint_p`): colour map (fade, sepia, cast, grey), slight defocus, film grain,
     paper texture, halftone, dust specks
  3. stage 2 (probability `second_p`): the same operations with the `*2` ranges
  4. resize to H/scale x W/scale, then in random order [final sinc (prob `final_sinc_p`)] and [JPEG]

The colour map of step 2 is a per-pixel affine map (3x3 matrix + offset); with `colour_on_target` the HR target
gets the same map, so the model learns structure and is not asked to invent the colour of a grey or sepia print
(the engine's colour matching keeps the photo's own colours).

Entry points: `degrade_pair(hr_u8 [3,H,W], scale, rng, cfg) -> (target_u8, lr_u8)` and
`real_batch(hr_u8 [B,3,H,W], scale, seeds, cfg, p_real)`.
"""
from __future__ import annotations

import io
import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

# ---------------------------------------------------------------- the one config


@dataclass(frozen=True)
class RealConfig:
    # kernels (stage 1); names: iso, aniso, gen_iso, gen_aniso, plateau_iso, plateau_aniso
    kernel_list: tuple = ("iso", "aniso", "gen_iso", "gen_aniso", "plateau_iso", "plateau_aniso")
    kernel_prob: tuple = (0.45, 0.25, 0.12, 0.03, 0.12, 0.03)
    kernel_sizes: tuple = (7, 21)            # odd sizes in this range
    blur_sigma: tuple = (0.2, 3.0)
    betag: tuple = (0.5, 4.0)                # generalised Gaussian shape
    betap: tuple = (1.0, 2.0)                # plateau shape
    sinc_p: float = 0.1
    resize_prob: tuple = (0.2, 0.7, 0.1)     # up, down, keep
    resize_range: tuple = (0.15, 1.5)
    gauss_noise_p: float = 0.5               # else Poisson
    noise_sigma: tuple = (1.0, 30.0)         # /255
    poisson_scale: tuple = (0.05, 3.0)
    grey_noise_p: float = 0.4
    jpeg: tuple = (30, 95)
    # stage 2
    second_p: float = 1.0                    # Real-ESRGAN applies it always (its blur with prob 0.8)
    second_blur_p: float = 0.8
    blur_sigma2: tuple = (0.2, 1.5)
    sinc_p2: float = 0.1
    resize_prob2: tuple = (0.3, 0.4, 0.3)
    resize_range2: tuple = (0.3, 1.2)
    noise_sigma2: tuple = (1.0, 25.0)
    poisson_scale2: tuple = (0.05, 2.5)
    jpeg2: tuple = (30, 95)
    # final
    final_sinc_p: float = 0.8
    resize_modes: tuple = ("area", "bilinear", "bicubic")
    # old prints and scans
    oldprint_p: float = 0.5
    colour_on_target: bool = True
    grey_p: float = 0.3
    sepia_p: float = 0.3
    sepia_strength: tuple = (0.3, 1.0)
    cast_p: float = 0.4
    cast_range: float = 0.12                 # per-channel gain 1 +- this
    fade_p: float = 0.5
    fade: tuple = (0.05, 0.35)               # blend towards a paper tone
    paper_tone: tuple = (0.65, 0.95)
    defocus_p: float = 0.3
    defocus_radius: tuple = (0.5, 2.0)       # disc radius, px (at the working resolution)
    grain_p: float = 0.5
    grain_sigma: tuple = (0.01, 0.06)        # amplitude in [0,1] units, strongest in mid-tones
    grain_size: tuple = (0.4, 1.5)           # Gaussian blur sigma of the grain, px
    paper_p: float = 0.3
    paper_amp: tuple = (0.01, 0.06)
    paper_scale: tuple = (3.0, 12.0)         # blur sigma of the fibre noise, px
    halftone_p: float = 0.08
    halftone_period: tuple = (3.0, 6.0)      # px
    halftone_amount: tuple = (0.2, 0.6)
    dust_p: float = 0.3
    dust_count: tuple = (1, 12)
    dust_radius: tuple = (0.5, 2.0)

    def to_dict(self):
        return asdict(self)


DEFAULT = RealConfig()


def describe(cfg: RealConfig = DEFAULT, p_real: float = 1.0) -> str:
    """One line for card.json degradation.details."""
    c = cfg
    return (f"Real-ESRGAN-style second-order pipeline on a fraction {p_real:g} of each batch (rest: clean bicubic): "
            f"blur {list(c.kernel_list)} p {list(c.kernel_prob)} size {c.kernel_sizes} sigma {c.blur_sigma} "
            f"betag {c.betag} betap {c.betap}, sinc p {c.sinc_p}; resize up/down/keep {c.resize_prob} range "
            f"{c.resize_range}; Gaussian noise p {c.gauss_noise_p} sigma {c.noise_sigma}/255 else Poisson scale "
            f"{c.poisson_scale}, grey noise p {c.grey_noise_p}; JPEG {c.jpeg} (PIL); old-print stage p "
            f"{c.oldprint_p} (grey {c.grey_p}, sepia {c.sepia_p}, cast {c.cast_p}, fade {c.fade_p}, defocus "
            f"{c.defocus_p}, grain {c.grain_p}, paper {c.paper_p}, halftone {c.halftone_p}, dust {c.dust_p}; colour "
            f"map also on the target: {c.colour_on_target}); stage 2 p {c.second_p} (blur p {c.second_blur_p} sigma "
            f"{c.blur_sigma2}, resize {c.resize_prob2} {c.resize_range2}, noise {c.noise_sigma2}/255 / Poisson "
            f"{c.poisson_scale2}, JPEG {c.jpeg2}); final resize to 1/scale ({list(c.resize_modes)}) then "
            f"[sinc p {c.final_sinc_p}] and [JPEG {c.jpeg2}] in random order; uint8 LR")


# ---------------------------------------------------------------- kernels (numpy, [k,k] float32, sum 1)

def _grid(k: int):
    r = (k - 1) / 2.0
    t = np.arange(k, dtype=np.float64) - r
    return np.meshgrid(t, t, indexing="xy")


def _quad(k: int, sx: float, sy: float, theta: float):
    """x^T Sigma^-1 x on a k x k grid, Sigma = R diag(sx^2, sy^2) R^T."""
    xx, yy = _grid(k)
    c, s = math.cos(theta), math.sin(theta)
    u = c * xx + s * yy
    v = -s * xx + c * yy
    return (u / sx) ** 2 + (v / sy) ** 2


def _norm(k: np.ndarray) -> np.ndarray:
    return (k / k.sum()).astype(np.float32)


def gaussian_kernel(k: int, sx: float, sy: float, theta: float) -> np.ndarray:
    return _norm(np.exp(-0.5 * _quad(k, sx, sy, theta)))


def generalized_kernel(k: int, sx: float, sy: float, theta: float, beta: float) -> np.ndarray:
    return _norm(np.exp(-0.5 * np.power(_quad(k, sx, sy, theta), beta)))


def plateau_kernel(k: int, sx: float, sy: float, theta: float, beta: float) -> np.ndarray:
    return _norm(1.0 / (1.0 + np.power(_quad(k, sx, sy, theta), beta)))


def sinc_kernel(k: int, omega: float) -> np.ndarray:
    """Circular low-pass (ideal 2-D filter with cutoff omega in rad/px): omega J1(omega r) / (2 pi r)."""
    from scipy.special import j1

    xx, yy = _grid(k)
    r = np.sqrt(xx ** 2 + yy ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = omega * j1(omega * r) / (2 * np.pi * r)
    v[r == 0] = omega ** 2 / (4 * np.pi)
    return _norm(v)


def disc_kernel(radius: float) -> np.ndarray:
    """Defocus: a disc of the given radius, anti-aliased by 4x4 supersampling."""
    k = 2 * int(math.ceil(radius)) + 1
    s = (np.arange(4 * k) + 0.5) / 4.0 - k / 2.0
    xx, yy = np.meshgrid(s, s)
    inside = (xx ** 2 + yy ** 2 <= radius ** 2).astype(np.float64)
    return _norm(inside.reshape(k, 4, k, 4).mean(axis=(1, 3)) + 1e-12)


def random_kernel(rng: np.random.Generator, cfg: RealConfig, sigma_range, sinc_p: float) -> np.ndarray:
    lo, hi = cfg.kernel_sizes
    k = int(rng.choice(np.arange(lo, hi + 1, 2)))
    if rng.random() < sinc_p:
        omega = rng.uniform(np.pi / 3, np.pi) if k < 13 else rng.uniform(np.pi / 4, np.pi)
        return sinc_kernel(k, omega)
    kind = cfg.kernel_list[int(rng.choice(len(cfg.kernel_list), p=np.asarray(cfg.kernel_prob) / sum(cfg.kernel_prob)))]
    sx = rng.uniform(*sigma_range)
    if kind.endswith("iso") and not kind.endswith("aniso"):
        sy, theta = sx, 0.0
    else:
        sy, theta = rng.uniform(*sigma_range), rng.uniform(-np.pi, np.pi)
    if kind.startswith("gen"):
        b = rng.uniform(cfg.betag[0], 1.0) if rng.random() < 0.5 else rng.uniform(1.0, cfg.betag[1])
        return generalized_kernel(k, sx, sy, theta, b)
    if kind.startswith("plateau"):
        b = rng.uniform(cfg.betap[0], 1.0) if rng.random() < 0.5 else rng.uniform(1.0, cfg.betap[1])
        return plateau_kernel(k, sx, sy, theta, b)
    return gaussian_kernel(k, sx, sy, theta)


# ---------------------------------------------------------------- operations on x [1,3,H,W] float in [0,1]

def filter2d(x: torch.Tensor, kernel: np.ndarray) -> torch.Tensor:
    """Per-channel convolution with reflect padding (size kept); pads by replicate when the image is too small."""
    k = torch.from_numpy(np.ascontiguousarray(kernel, dtype=np.float32)).to(x.device)
    r = k.shape[-1] // 2
    mode = "reflect" if min(x.shape[-2:]) > r else "replicate"
    xp = F.pad(x, (r, r, r, r), mode=mode)
    c = x.shape[1]
    return F.conv2d(xp, k.view(1, 1, *k.shape).expand(c, 1, -1, -1), groups=c)


def resize(x: torch.Tensor, size, mode: str) -> torch.Tensor:
    size = (max(1, int(size[0])), max(1, int(size[1])))
    if mode == "area":
        return F.interpolate(x, size=size, mode="area")
    return F.interpolate(x, size=size, mode=mode, align_corners=False)


def random_resize(x, rng, probs, rng_range, modes):
    u = rng.choice(3, p=np.asarray(probs) / sum(probs))
    if u == 0:
        s = rng.uniform(1.0, rng_range[1])
    elif u == 1:
        s = rng.uniform(rng_range[0], 1.0)
    else:
        return x
    h, w = x.shape[-2:]
    return resize(x, (max(8, round(h * s)), max(8, round(w * s))), modes[int(rng.integers(len(modes)))])


def _luma(x):
    return 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]


def gaussian_noise(x, rng, sigma255: float, grey: bool):
    shape = (1, 1) + tuple(x.shape[-2:]) if grey else tuple(x.shape)
    n = torch.from_numpy(rng.standard_normal(shape).astype(np.float32)).to(x.device) * (sigma255 / 255.0)
    return x + n


def poisson_noise(x, rng, scale: float, grey: bool):
    """Shot noise: Poisson(v * 255) / 255 - v (8-bit photon count), times `scale`; grey = on the luma only."""
    v = (_luma(x) if grey else x).clamp(0, 1)
    vals = 255.0
    lam = (v * vals).double().cpu().numpy()
    n = torch.from_numpy((rng.poisson(lam) / vals - lam / vals).astype(np.float32)).to(x.device)
    return x + n * scale


def random_noise(x, rng, cfg, sigma_range, poisson_range):
    grey = rng.random() < cfg.grey_noise_p
    if rng.random() < cfg.gauss_noise_p:
        return gaussian_noise(x, rng, rng.uniform(*sigma_range), grey)
    return poisson_noise(x, rng, rng.uniform(*poisson_range), grey)


def jpeg(x: torch.Tensor, quality: int) -> torch.Tensor:
    """JPEG round trip through PIL (4:2:0, PIL's default) of a [1,3,H,W] image in [0,1]."""
    from PIL import Image

    arr = (x[0].clamp(0, 1) * 255).round().byte().permute(1, 2, 0).cpu().numpy()
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    with Image.open(buf) as im:
        out = np.asarray(im.convert("RGB"))
    return torch.from_numpy(out.copy()).permute(2, 0, 1).unsqueeze(0).float().div(255).to(x.device)


# ---------------------------------------------------------------- old prints and scans

SEPIA = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]], dtype=np.float64)
GREY = np.array([[0.299, 0.587, 0.114]] * 3, dtype=np.float64)


def random_colour_map(rng: np.random.Generator, cfg: RealConfig):
    """(M [3,3], b [3]) of the old-print colour changes: grey or sepia, a colour cast, fading towards a paper
    tone. x' = M x + b per pixel (identity when none is drawn)."""
    M, b = np.eye(3), np.zeros(3)
    if rng.random() < cfg.grey_p:
        M = GREY @ M
    elif rng.random() < cfg.sepia_p:
        s = rng.uniform(*cfg.sepia_strength)
        sep = SEPIA / SEPIA.sum(axis=1, keepdims=True).max()  # keep white <= 1
        M = ((1 - s) * np.eye(3) + s * sep) @ M
    if rng.random() < cfg.cast_p:
        g = 1.0 + rng.uniform(-cfg.cast_range, cfg.cast_range, size=3)
        M = np.diag(g / g.max()) @ M
    if rng.random() < cfg.fade_p:
        f = rng.uniform(*cfg.fade)
        tone = rng.uniform(*cfg.paper_tone) * np.array([1.0, rng.uniform(0.92, 1.0), rng.uniform(0.8, 1.0)])
        M, b = (1 - f) * M, (1 - f) * b + f * tone
    return M.astype(np.float32), b.astype(np.float32)


def apply_colour_map(x: torch.Tensor, M: np.ndarray, b: np.ndarray) -> torch.Tensor:
    Mt = torch.from_numpy(M).to(x.device)
    bt = torch.from_numpy(b).to(x.device).view(1, 3, 1, 1)
    return torch.einsum("ij,bjhw->bihw", Mt, x) + bt


def film_grain(x, rng, amp: float, size: float):
    """Luma grain, blurred to `size` px, strongest in the mid-tones (4 v (1 - v))."""
    h, w = x.shape[-2:]
    n = torch.from_numpy(rng.standard_normal((1, 1, h, w)).astype(np.float32)).to(x.device)
    if size > 0.3:
        n = filter2d(n, gaussian_kernel(2 * int(math.ceil(2.5 * size)) + 1, size, size, 0.0))
        n = n / n.std().clamp_min(1e-6)
    v = _luma(x).clamp(0, 1)
    return x + amp * n * (4 * v * (1 - v) + 0.25)


def paper_texture(x, rng, amp: float, scale: float):
    """Multiplicative low-frequency fibre texture (blurred anisotropic noise)."""
    h, w = x.shape[-2:]
    n = torch.from_numpy(rng.standard_normal((1, 1, h, w)).astype(np.float32)).to(x.device)
    k = 2 * int(math.ceil(2 * scale)) + 1
    n = filter2d(n, gaussian_kernel(k, scale, scale * rng.uniform(0.3, 1.0), rng.uniform(-np.pi, np.pi)))
    n = n / n.std().clamp_min(1e-6)
    return x * (1 + amp * n)


def halftone(x, rng, period: float, amount: float):
    """A printed dot screen at a random angle: soft threshold of the luma against a cosine screen, blended."""
    h, w = x.shape[-2:]
    th = rng.uniform(0, np.pi / 2)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    u = (np.cos(th) * xx + np.sin(th) * yy) * (2 * np.pi / period)
    v = (-np.sin(th) * xx + np.cos(th) * yy) * (2 * np.pi / period)
    screen = torch.from_numpy((0.5 + 0.25 * (np.cos(u) + np.cos(v))).astype(np.float32)).to(x.device)
    lum = _luma(x)
    ink = torch.sigmoid((lum - screen) * 12.0)  # 1 = paper, 0 = ink
    return (1 - amount) * x + amount * x * (ink / lum.clamp_min(0.05)).clamp(0, 2)


def dust(x, rng, count: int, rmin: float, rmax: float):
    """Small bright or dark specks (soft discs)."""
    h, w = x.shape[-2:]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    out = x.clone()
    for _ in range(count):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        r = rng.uniform(rmin, rmax)
        m = np.clip(r + 0.5 - np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2), 0, 1).astype(np.float32)
        mt = torch.from_numpy(m).to(x.device)
        val = rng.uniform(0.85, 1.0) if rng.random() < 0.6 else rng.uniform(0.0, 0.15)
        out = out * (1 - mt) + val * mt
    return out


def old_print(x, rng, cfg: RealConfig, colour):
    """Step 2 of the pipeline on the working image (colour = the drawn (M, b), also applied to the target)."""
    if colour is not None:
        x = apply_colour_map(x, *colour)
    if rng.random() < cfg.defocus_p:
        x = filter2d(x, disc_kernel(rng.uniform(*cfg.defocus_radius)))
    if rng.random() < cfg.halftone_p:
        x = halftone(x, rng, rng.uniform(*cfg.halftone_period), rng.uniform(*cfg.halftone_amount))
    if rng.random() < cfg.paper_p:
        x = paper_texture(x, rng, rng.uniform(*cfg.paper_amp), rng.uniform(*cfg.paper_scale))
    if rng.random() < cfg.grain_p:
        x = film_grain(x, rng, rng.uniform(*cfg.grain_sigma), rng.uniform(*cfg.grain_size))
    if rng.random() < cfg.dust_p:
        x = dust(x, rng, int(rng.integers(cfg.dust_count[0], cfg.dust_count[1] + 1)), *cfg.dust_radius)
    return x.clamp(0, 1)


# ---------------------------------------------------------------- the pipeline

def _stage(x, rng, cfg, sigma, sinc_p, blur_p, rprobs, rrange, nsig, pois, jq):
    if rng.random() < blur_p:
        x = filter2d(x, random_kernel(rng, cfg, sigma, sinc_p))
    x = random_resize(x, rng, rprobs, rrange, cfg.resize_modes)
    x = random_noise(x, rng, cfg, nsig, pois).clamp(0, 1)
    return jpeg(x, int(rng.integers(jq[0], jq[1] + 1)))


def degrade_pair(hr_u8: torch.Tensor, scale: int, rng: np.random.Generator, cfg: RealConfig = DEFAULT):
    """HR uint8 [3,H,W] (H, W multiples of scale) -> (target uint8 [3,H,W], LR uint8 [3,H/scale,W/scale])."""
    if hr_u8.dim() != 3 or hr_u8.shape[0] != 3:
        raise ValueError(f"degrade_pair: expected [3,H,W] uint8, got {tuple(hr_u8.shape)}")
    H, W = hr_u8.shape[-2:]
    if H % scale or W % scale:
        raise ValueError(f"degrade_pair: {H}x{W} is not a multiple of the scale {scale}")
    hr = hr_u8.unsqueeze(0).float() / 255.0
    x = _stage(hr, rng, cfg, cfg.blur_sigma, cfg.sinc_p, 1.0, cfg.resize_prob, cfg.resize_range,
               cfg.noise_sigma, cfg.poisson_scale, cfg.jpeg)
    target = hr
    if rng.random() < cfg.oldprint_p:
        colour = random_colour_map(rng, cfg)
        x = old_print(x, rng, cfg, colour)
        if cfg.colour_on_target:
            target = apply_colour_map(hr, *colour).clamp(0, 1)
    if rng.random() < cfg.second_p:
        x = _stage(x, rng, cfg, cfg.blur_sigma2, cfg.sinc_p2, cfg.second_blur_p, cfg.resize_prob2,
                   cfg.resize_range2, cfg.noise_sigma2, cfg.poisson_scale2, cfg.jpeg2)
    mode = cfg.resize_modes[int(rng.integers(len(cfg.resize_modes)))]
    q = int(rng.integers(cfg.jpeg2[0], cfg.jpeg2[1] + 1))
    sinc = sinc_kernel(21, rng.uniform(np.pi / 3, np.pi)) if rng.random() < cfg.final_sinc_p else None
    lr_size = (H // scale, W // scale)
    if rng.random() < 0.5:
        x = resize(x, lr_size, mode)
        if sinc is not None:
            x = filter2d(x, sinc)
        x = jpeg(x, q)
    else:
        x = jpeg(x, q)
        x = resize(x, lr_size, mode)
        if sinc is not None:
            x = filter2d(x, sinc)
    lr = (x.clamp(0, 1) * 255).round().to(torch.uint8)[0]
    tgt = (target.clamp(0, 1) * 255).round().to(torch.uint8)[0]
    return tgt, lr


def real_batch(hr_u8: torch.Tensor, scale: int, seeds, cfg: RealConfig = DEFAULT, p_real: float = 1.0):
    """A batch [B,3,H,W] uint8 -> (target uint8 [B,3,H,W], LR uint8 [B,3,H/s,W/s] or None for a clean sample
    (the caller uses the bicubic protocol there)). seeds: B ints; sample i uses default_rng(seeds[i])."""
    tg, lrs = [], []
    dev = hr_u8.device
    for i, s in enumerate(seeds):
        rng = np.random.default_rng(int(s))
        if rng.random() >= p_real:
            tg.append(hr_u8[i].cpu())
            lrs.append(None)
            continue
        t, l = degrade_pair(hr_u8[i].cpu(), scale, rng, cfg)
        tg.append(t)
        lrs.append(l)
    return torch.stack(tg).to(dev), [l if l is None else l.to(dev) for l in lrs]
