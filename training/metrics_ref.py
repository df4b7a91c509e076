#!/usr/bin/env python3
"""Independent reference values for the TypeScript metrics (src/engine/metrics/).

Writes test/fixtures/metrics/reference.json (and two small synthetic PNGs) from numpy/scipy/torch:
  - PSNR / SSIM on MATLAB's Y channel with the border shaved (BasicSR's formulas, float64),
  - NIQE as BasicSR's basicsr/metrics/niqe.py (MSCN with scipy convolve mode='nearest', AGGD by the
    gamma lookup table, np.roll shifts, MATLAB imresize 0.5 ported to numpy, nanmean / cov / pinv),
    with the shared MATLAB parameters and with our own fitted ones (models/niqe/*.json),
  - LR-consistency: PSNR(Y) between round(torch AA-bicubic downsample of the output) and the LR,
  - the torch resamplers themselves (F.interpolate bicubic with and without antialias),
  - MS-SSIM (Wang et al. 2003, msssim.m) and GMSD (Xue et al. 2014, GMSD.m) on Y: blurred and hashed-noise
    images vs HR (`--perceptual-only` adds just these to the existing JSON, with numpy/scipy and no torch).

`--basicsr-float32` additionally reruns baboon's NIQE with BasicSR's float32 casts, to show that
the float64 value and BasicSR's value differ only by float32 noise.

Usage: /usr/bin/python3 training/metrics_ref.py [--shared ../shared] [--out test/fixtures/metrics] [--perceptual-only]
Nothing here is imported by the app or by training; numpy, scipy, PIL and torch only.
"""
from __future__ import annotations

import argparse
import json
import math
import os

import numpy as np
from PIL import Image
from scipy.ndimage import convolve
from scipy.special import gamma

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ---------------------------------------------------------------- colour / full-reference

def load_rgb(path):
    im = Image.open(path)
    if im.mode != "RGB":
        im = im.convert("RGB")
    return np.asarray(im, dtype=np.uint8)

def y_channel(rgb_u8, dtype=np.float64):
    x = rgb_u8.astype(dtype) / dtype(255.0)
    return 16.0 + 65.481 * x[..., 0] + 128.553 * x[..., 1] + 24.966 * x[..., 2]

def shave(a, b):
    return a[b:-b, b:-b] if b > 0 else a

def psnr_y(img, ref, border):
    a, b = shave(y_channel(img), border), shave(y_channel(ref), border)
    mse = np.mean((a - b) ** 2)
    return float("inf") if mse == 0 else float(10.0 * np.log10(255.0 ** 2 / mse))

def _gauss_win(size=11, sigma=1.5):
    c = (size - 1) / 2
    g = np.exp(-((np.arange(size) - c) ** 2) / (2 * sigma * sigma))
    g /= g.sum()
    return np.outer(g, g)

def _filter_valid(img, win):
    # cv2.filter2D(img, -1, win)[5:-5, 5:-5] == correlation restricted to the valid region
    from scipy.signal import correlate2d
    return correlate2d(img, win, mode="valid")

def _local_stats(a, b):
    """SSIM's constants and local Gaussian statistics (shared by SSIM and MS-SSIM's contrast-structure)."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    w = _gauss_win()
    mu1, mu2 = _filter_valid(a, w), _filter_valid(b, w)
    s11 = _filter_valid(a * a, w) - mu1 ** 2
    s22 = _filter_valid(b * b, w) - mu2 ** 2
    s12 = _filter_valid(a * b, w) - mu1 * mu2
    return c1, c2, mu1, mu2, s11, s22, s12

def ssim_y(img, ref, border):
    a, b = shave(y_channel(img), border), shave(y_channel(ref), border)
    c1, c2, mu1, mu2, s11, s22, s12 = _local_stats(a, b)
    m = ((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1 ** 2 + mu2 ** 2 + c1) * (s11 + s22 + c2))
    return float(m.mean())

# ---------------------------------------------------------------- MS-SSIM / GMSD (from the papers' MATLAB code)

MSSSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)

def _ssim_cs(a, b):
    c1, c2, mu1, mu2, s11, s22, s12 = _local_stats(a, b)
    cs = (2 * s12 + c2) / (s11 + s22 + c2)
    lum = (2 * mu1 * mu2 + c1) / (mu1 ** 2 + mu2 ** 2 + c1)
    return float(np.mean(lum * cs)), float(np.mean(cs))

def _down2(img, mode):
    # MATLAB: imfilter(img, ones(2)/4, 'symmetric', 'same') (msssim.m) or conv2(img, ones(2)/4, 'same')
    # (GMSD.m), then img(1:2:end, 1:2:end). Both put the 2x2 window at (i, i+1).
    from scipy.signal import convolve2d
    h, w = img.shape
    if mode == "symmetric":
        padded = np.pad(img, ((0, 1), (0, 1)), mode="symmetric")
        f = convolve2d(padded, np.ones((2, 2)) / 4, mode="valid")
    else:
        f = convolve2d(img, np.ones((2, 2)) / 4, mode="full")[1:h + 1, 1:w + 1]
    return f[0::2, 0::2]

def msssim_planes(a, b):
    """Wang, Simoncelli, Bovik 2003 via msssim.m: prod(mcs(1:4).^w(1:4)) * mssim(5)^w(5); negatives -> 0."""
    out = 1.0
    for j, wt in enumerate(MSSSIM_WEIGHTS):
        s, cs = _ssim_cs(a, b)
        last = j == len(MSSSIM_WEIGHTS) - 1
        out *= max(0.0, s if last else cs) ** wt
        if not last:
            a, b = _down2(a, "symmetric"), _down2(b, "symmetric")
    return out

def gmsd_planes(a, b, c=170.0):
    """Xue et al. 2014 via GMSD.m: 2x2 average + decimation, Prewitt (conv2 'same'), std2 of the GMS map."""
    from scipy.signal import convolve2d
    dx = np.array([[1, 0, -1]] * 3, dtype=np.float64) / 3
    dy = dx.T

    def mag(x):
        x = _down2(x, "zero")
        h, w = x.shape
        gx = convolve2d(x, dx, mode="full")[1:h + 1, 1:w + 1]
        gy = convolve2d(x, dy, mode="full")[1:h + 1, 1:w + 1]
        return np.sqrt(gx ** 2 + gy ** 2)

    m1, m2 = mag(a), mag(b)
    gms = (2 * m1 * m2 + c) / (m1 ** 2 + m2 ** 2 + c)
    return float(np.std(gms, ddof=1))

def msssim_y(img, ref, border):
    return msssim_planes(shave(y_channel(img), border), shave(y_channel(ref), border))

def gmsd_y(img, ref, border):
    return gmsd_planes(shave(y_channel(img), border), shave(y_channel(ref), border))

def hashed_noise(img_u8, amp):
    """Deterministic integer noise (a hash of position and channel) the TypeScript test reproduces exactly."""
    h, w, ch = img_u8.shape
    yy, xx, cc = np.mgrid[0:h, 0:w, 0:ch].astype(np.int64)
    n = ((xx * 7919 + yy * 104729 + cc * 15485863) % 2003) / 2002.0 * 2 - 1
    return np.clip(img_u8.astype(np.int64) + np.round(n * amp).astype(np.int64), 0, 255).astype(np.uint8)

def perceptual_fields(hr, blurred, scale):
    """MS-SSIM (where the image has 161 px a side) and GMSD: blurred vs HR, and hashed noise (±12, ±24) vs HR."""
    c = {"gmsd": gmsd_y(blurred, hr, scale), "gmsdShave0": gmsd_y(blurred, hr, 0)}
    if min(hr.shape[:2]) - 2 * scale >= 161:
        c["msssim"] = msssim_y(blurred, hr, scale)
        c["msssimShave0"] = msssim_y(blurred, hr, 0)
    for amp in (12, 24):
        noisy = hashed_noise(hr, amp)
        c[f"gmsdNoise{amp}"] = gmsd_y(noisy, hr, 0)
        if min(hr.shape[:2]) >= 161:
            c[f"msssimNoise{amp}"] = msssim_y(noisy, hr, 0)
    return c

# ---------------------------------------------------------------- degradation (torch)

def _torch():
    # imported only where needed, so `--perceptual-only` runs on numpy/scipy/PIL alone
    import torch
    import torch.nn.functional as F
    return torch, F

def torch_down_aa(rgb_u8, scale):
    torch, F = _torch()
    """HR uint8 -> float [0,1] AA-bicubic to floor(size/scale) (degrade.py downsample_aa), HWC float64."""
    x = torch.from_numpy(rgb_u8.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
    h, w = x.shape[-2:]
    y = F.interpolate(x, size=(h // scale, w // scale), mode="bicubic", antialias=True, align_corners=False)
    return y[0].permute(1, 2, 0).double().numpy()

def torch_up_bicubic(rgb01, size):
    torch, F = _torch()
    x = torch.from_numpy(rgb01.astype(np.float32)).permute(2, 0, 1)[None]
    y = F.interpolate(x, size=size, mode="bicubic", align_corners=False)
    return y[0].permute(1, 2, 0).double().numpy()

def quantize(x01):
    return np.clip(np.round(x01 * 255.0), 0, 255).astype(np.uint8)

def lr_psnr(out_u8, lr_u8, scale):
    return psnr_y(quantize(torch_down_aa(out_u8, scale)), lr_u8, 0)

def blur5(img_u8):
    """Exact integer [1 4 6 4 1]/16 separable blur, edge replicated, rounded half up (TS test does the same)."""
    k = [1, 4, 6, 4, 1]
    a = img_u8.astype(np.int64)
    p = np.pad(a, ((0, 0), (2, 2), (0, 0)), mode="edge")
    h = sum(k[i] * p[:, i:i + a.shape[1]] for i in range(5))
    p = np.pad(h, ((2, 2), (0, 0), (0, 0)), mode="edge")
    v = sum(k[i] * p[i:i + a.shape[0]] for i in range(5))
    return ((v + 128) // 256).astype(np.uint8)

# ---------------------------------------------------------------- NIQE (BasicSR niqe.py, numpy)

def _cubic(x):
    ax = np.abs(x)
    ax2, ax3 = ax ** 2, ax ** 3
    return (1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1) + (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2))

def _weights_indices(in_len, out_len, scale, antialiasing, dtype):
    kw = 4.0
    if scale < 1 and antialiasing:
        kw = kw / scale
    x = np.linspace(1, out_len, out_len).astype(dtype)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - kw / 2)
    p = math.ceil(kw) + 2
    ind = left[:, None] + np.arange(p)[None, :]
    d = u[:, None] - ind
    w = scale * _cubic(d * scale) if (scale < 1 and antialiasing) else _cubic(d)
    w = (w / w.sum(1, keepdims=True)).astype(dtype)
    ind = ind.astype(np.int64) - 1  # 0-based
    # symmetric padding
    ind = np.where(ind < 0, -ind - 1, ind)
    ind = np.where(ind >= in_len, 2 * in_len - 1 - ind, ind)
    return w, ind

def imresize(img, scale, dtype=np.float64):
    """MATLAB imresize bicubic with antialiasing, as BasicSR matlab_functions.imresize (2-D array)."""
    img = img.astype(dtype)
    h, w = img.shape
    oh, ow = math.ceil(h * scale), math.ceil(w * scale)
    wh, ih = _weights_indices(h, oh, scale, True, dtype)
    out1 = np.einsum("ok,okw->ow", wh, img[ih]).astype(dtype)
    ww, iw = _weights_indices(w, ow, scale, True, dtype)
    out2 = np.einsum("ok,hok->ho", ww, out1[:, iw]).astype(dtype)
    return out2

GAM = np.arange(0.2, 10.001, 0.001)
_GR = np.reciprocal(GAM)
R_GAM = np.square(gamma(_GR * 2)) / (gamma(_GR) * gamma(_GR * 3))

def estimate_aggd_param(block):
    block = block.flatten()
    left_std = np.sqrt(np.mean(block[block < 0] ** 2))
    right_std = np.sqrt(np.mean(block[block > 0] ** 2))
    gammahat = left_std / right_std
    rhat = (np.mean(np.abs(block))) ** 2 / np.mean(block ** 2)
    rhatnorm = (rhat * (gammahat ** 3 + 1) * (gammahat + 1)) / ((gammahat ** 2 + 1) ** 2)
    pos = np.argmin((R_GAM - rhatnorm) ** 2)
    alpha = GAM[pos]
    beta_l = left_std * np.sqrt(gamma(1 / alpha) / gamma(3 / alpha))
    beta_r = right_std * np.sqrt(gamma(1 / alpha) / gamma(3 / alpha))
    return alpha, beta_l, beta_r

def compute_feature(block):
    alpha, bl, br = estimate_aggd_param(block)
    feat = [alpha, (bl + br) / 2]
    for sh in [[0, 1], [1, 0], [1, 1], [1, -1]]:
        shifted = np.roll(block, sh, axis=(0, 1))
        alpha, bl, br = estimate_aggd_param(block * shifted)
        mean = (br - bl) * (gamma(2 / alpha) / gamma(1 / alpha))
        feat.extend([alpha, mean, bl, br])
    return feat

def niqe_features(img, window, bs, dtype=np.float64):
    h, w = img.shape
    nbh, nbw = h // bs, w // bs
    img = img[: nbh * bs, : nbw * bs].astype(dtype)
    dist = []
    for scale in (1, 2):
        mu = convolve(img, window, mode="nearest")
        sigma = np.sqrt(np.abs(convolve(np.square(img), window, mode="nearest") - np.square(mu)))
        norm = (img - mu) / (sigma + 1)
        feat = []
        for iw in range(nbw):
            for ih in range(nbh):
                b = norm[ih * bs // scale:(ih + 1) * bs // scale, iw * bs // scale:(iw + 1) * bs // scale]
                feat.append(compute_feature(b))
        dist.append(np.array(feat))
        if scale == 1:
            img = (imresize(img / 255.0, 0.5, dtype) * 255.0).astype(dtype)
    return np.concatenate(dist, axis=1)

def niqe_score(dist, mu_p, cov_p):
    mu_d = np.nanmean(dist, axis=0)
    ok = dist[~np.isnan(dist).any(axis=1)]
    cov_d = np.cov(ok, rowvar=False)
    inv = np.linalg.pinv((cov_p + cov_d) / 2)
    q = (mu_p - mu_d) @ inv @ (mu_p - mu_d).T
    return float(np.sqrt(np.squeeze(q)))

def load_params(path):
    d = json.load(open(path))
    return (np.array(d["mu_pris_param"], dtype=np.float64).reshape(1, 36), np.array(d["cov_pris_param"]),
            np.array(d["gaussian_window"]), int(d.get("block_size", 96)))

def niqe(rgb_u8, params, dtype=np.float64):
    mu, cov, win, bs = params
    y = np.round(y_channel(rgb_u8, dtype))
    return niqe_score(niqe_features(y, win, bs, dtype), mu, cov)

# ---------------------------------------------------------------- main

def synthetic(w, h, seed):
    """Deterministic test picture: gradients, rings, a checkerboard and hashed noise."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    r = np.sqrt((xx - w * 0.4) ** 2 + (yy - h * 0.55) ** 2)
    noise = ((xx * 7919 + yy * 104729 + seed * 31) % 97) / 97.0
    rch = 0.5 + 0.35 * np.sin(r / 3.0) * np.exp(-r / 120) + 0.1 * (noise - 0.5)
    gch = xx / w * 0.8 + 0.1 + 0.05 * ((xx // 8 + yy // 8) % 2)
    bch = yy / h * 0.6 + 0.2 + 0.15 * np.sin(xx / 5.0 + yy / 7.0)
    return quantize(np.clip(np.stack([rch, gch, bch], -1), 0, 1))

def add_perceptual(ref, args):
    """MS-SSIM / GMSD fields on every case, and a 256x208 synthetic case (MS-SSIM needs 161 px a side)."""
    for c in ref["cases"]:
        path = os.path.join(args.shared, c["file"]) if c["source"] == "shared" else os.path.join(args.out, c["file"])
        hr = load_rgb(path)
        hr = hr[: hr.shape[0] // c["scale"] * c["scale"], : hr.shape[1] // c["scale"] * c["scale"]]
        c.update(perceptual_fields(hr, blur5(hr), c["scale"]))
        print(c["name"], {k: c[k] for k in c if k.startswith(("msssim", "gmsd"))})
    syn = synthetic(256, 208, 2)
    Image.fromarray(syn).save(os.path.join(args.out, "synthetic-ms.png"))
    p = {"name": "synthetic-ms", "file": "synthetic-ms.png", "scale": 4, "width": 256, "height": 208}
    p.update(perceptual_fields(syn, blur5(syn), 4))
    # published-formula sanity values: a constant offset (luminance only) and a contrast stretch
    y = y_channel(syn)
    p["msssimOffset10"] = msssim_planes(y + 10.0, y)
    p["gmsdContrast"] = gmsd_planes((y - 128.0) * 0.5 + 128.0, y)
    ref["perceptualCases"] = [p]
    print(p)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared"))
    ap.add_argument("--out", default=os.path.join(ROOT, "test", "fixtures", "metrics"))
    ap.add_argument("--basicsr-float32", action="store_true")
    ap.add_argument("--perceptual-only", action="store_true",
                    help="only (re)write the MS-SSIM / GMSD fields into the existing reference.json (numpy/scipy, no torch)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    data = os.path.join(args.shared, "data")
    if args.perceptual_only:
        with open(os.path.join(args.out, "reference.json")) as f:
            ref = json.load(f)
        add_perceptual(ref, args)
        with open(os.path.join(args.out, "reference.json"), "w") as f:
            json.dump(ref, f, indent=1)
        return
    shared_params = load_params(os.path.join(data, "metrics", "niqe_pris_params.json"))
    own = {}
    for k, f in (("own", "niqe-params.json"), ("ownSmall", "niqe-small-params.json")):
        p = os.path.join(ROOT, "models", "niqe", f)
        if os.path.exists(p):
            own[k] = load_params(p)

    ref = {"generator": "training/metrics_ref.py", "numpy": np.__version__, "torch": _torch()[0].__version__, "cases": []}

    # baboon NIQE (the published reference 5.7296)
    bab = load_rgb(os.path.join(data, "metrics", "baboon.png"))
    ref["baboonNiqe"] = niqe(bab, shared_params)
    if args.basicsr_float32:
        ref["baboonNiqeFloat32"] = niqe(bab, shared_params, np.float32)

    syn = synthetic(200, 160, 1)
    Image.fromarray(syn).save(os.path.join(args.out, "synthetic.png"))
    cases = [
        ("synthetic", os.path.join(args.out, "synthetic.png"), 4, None),
        ("set14-baboon", os.path.join(data, "natural", "Set14", "baboon.png"), 4, "shared"),
        ("set14-comic", os.path.join(data, "natural", "Set14", "comic.png"), 4, "shared"),
        ("face-00000", os.path.join(data, "faces", "val", "00000.png"), 8, "shared"),
        ("face-00007", os.path.join(data, "faces", "val", "00007.png"), 8, "shared"),
    ]
    for name, path, scale, src in cases:
        hr = load_rgb(path)
        hr = hr[: hr.shape[0] // scale * scale, : hr.shape[1] // scale * scale]
        blurred = blur5(hr)
        lr = quantize(torch_down_aa(hr, scale))
        c = {
            "name": name, "file": os.path.relpath(path, args.shared) if src else os.path.basename(path),
            "source": src or "fixture", "scale": scale, "width": int(hr.shape[1]), "height": int(hr.shape[0]),
            "psnr": psnr_y(blurred, hr, scale), "ssim": ssim_y(blurred, hr, scale),
            "psnrShave0": psnr_y(blurred, hr, 0), "ssimShave0": ssim_y(blurred, hr, 0),
            "lrPsnr": lr_psnr(blurred, lr, scale),
            "lrSum": int(lr.astype(np.int64).sum()),
            "lrHead": lr.reshape(-1)[:48].tolist(),
        }
        def nblocks(bs):
            return (hr.shape[0] // bs) * (hr.shape[1] // bs)
        for label, im in (("hr", hr), ("blurred", blurred)):
            if nblocks(96) >= 2:  # a covariance needs two blocks at least
                c[f"niqeShared_{label}"] = niqe(im, shared_params)
            for k, p in own.items():
                if nblocks(p[3]) >= 2:
                    c[f"niqe_{k}_{label}"] = niqe(im, p)
        ref["cases"].append(c)
        print(name, {k: v for k, v in c.items() if k not in ("lrHead",)})

    # resamplers: AA down of the synthetic image (float values), and plain bicubic up of a tiny image
    down = torch_down_aa(syn, 4)
    ref["resizeAA"] = {"input": "synthetic.png", "scale": 4, "width": down.shape[1], "height": down.shape[0],
                       "values": np.round(down.reshape(-1), 7).tolist()}
    tiny = syn[40:48, 60:70].astype(np.float64) / 255.0
    up = torch_up_bicubic(tiny, (32, 40))
    ref["resizeUp"] = {"crop": [60, 40, 10, 8], "width": 40, "height": 32,
                       "values": np.round(up.reshape(-1), 7).tolist()}
    down3 = torch_down_aa(syn, 3)  # non-integer ratio (200/3 -> 66, 160/3 -> 53)
    ref["resizeAA3"] = {"scale": 3, "width": down3.shape[1], "height": down3.shape[0],
                        "values": np.round(down3.reshape(-1), 7).tolist()}
    half = imresize(y_channel(syn).round() / 255.0, 0.5) * 255.0
    ref["imresizeHalf"] = {"width": half.shape[1], "height": half.shape[0], "sum": float(half.sum()),
                           "head": half.reshape(-1)[:64].tolist()}

    add_perceptual(ref, args)
    with open(os.path.join(args.out, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1)
    print("baboon NIQE", ref["baboonNiqe"], ref.get("baboonNiqeFloat32"))

if __name__ == "__main__":
    main()
