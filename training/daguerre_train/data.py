"""Image data held in memory as one uint8 tensor (faces) or a list of uint8 tensors (natural, variable size)."""
from __future__ import annotations

import io
import os

import numpy as np
import torch
from PIL import Image

EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def list_images(folder: str):
    return sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.lower().endswith(EXTS))


def _load(path_or_bytes) -> np.ndarray:
    src = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, (bytes, bytearray)) else path_or_bytes
    with Image.open(src) as im:
        return np.asarray(im.convert("RGB"))


def load_npy(path: str):
    """A pack written by training/pack_data.py: either decoded uint8 [N,H,W,3] (.npy) or JPEG bytes (.npz)."""
    if path.endswith(".npz"):
        z = np.load(path)
        blob, off = z["blob"], z["offsets"]
        return [_load(blob[off[i]:off[i + 1]].tobytes()) for i in range(len(off) - 1)]
    arr = np.load(path)
    return [a for a in arr]


def load_images(source: str, limit: int = 0):
    """A folder or a pack; several joined by commas are concatenated (limit applies to each)."""
    if "," in source:
        return [im for part in source.split(",") if part for im in load_images(part, limit)]
    if not os.path.exists(source):
        raise FileNotFoundError(f"{source}: no such folder or pack")
    if os.path.isdir(source):
        files = list_images(source)
        if limit:
            files = files[:limit]
        imgs = [_load(f) for f in files]
    else:
        imgs = load_npy(source)
        if limit:
            imgs = imgs[:limit]
    if not imgs:
        raise FileNotFoundError(f"no images in {source}")
    return imgs


class FaceData:
    """All images of one size in one uint8 tensor [N,3,H,W] (on `device`). Batches: random index + h-flip."""

    def __init__(self, source: str, device="cpu", limit: int = 0, size: int = 128):
        imgs = load_images(source, limit)
        imgs = [im for im in imgs if im.shape[0] == size and im.shape[1] == size]
        self.x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).contiguous().to(device)
        self.device = device

    def __len__(self):
        return self.x.shape[0]

    def batch(self, B: int, generator: torch.Generator) -> torch.Tensor:
        idx = torch.randint(0, len(self), (B,), generator=generator, device=self.device)
        x = self.x[idx]
        flip = torch.rand(B, generator=generator, device=self.device) < 0.5
        return torch.where(flip[:, None, None, None], x.flip(-1), x)


class PatchData:
    """Variable-size images; batches of random HR patches (size multiple of the scale) with flips and rot90."""

    def __init__(self, source: str, patch: int, device="cpu", limit: int = 0):
        imgs = load_images(source, limit)
        self.imgs = [torch.from_numpy(im.copy()).permute(2, 0, 1).contiguous().to(device) for im in imgs
                     if im.shape[0] >= patch and im.shape[1] >= patch]
        if not self.imgs:
            raise ValueError(f"no image >= {patch}px")
        self.patch = patch
        self.device = device

    def __len__(self):
        return len(self.imgs)

    def batch(self, B: int, generator: torch.Generator) -> torch.Tensor:
        """generator: a CPU generator (patch positions are host ints; images may live on the device)."""
        P = self.patch
        r = torch.randint(0, 1 << 30, (B, 5), generator=generator).tolist()
        out = []
        for i, y0, x0, fl, rot in r:
            im = self.imgs[i % len(self.imgs)]
            h, w = im.shape[-2:]
            y = y0 % (h - P + 1)
            x = x0 % (w - P + 1)
            p = im[:, y:y + P, x:x + P]
            if fl % 2:
                p = p.flip(-1)
            out.append(torch.rot90(p, rot % 4, dims=(1, 2)))
        return torch.stack(out)


class FaceBlindData:
    """face-blind data: aligned faces at the model size S (FFHQ 256) plus optional faces at S/2 (UTKFace 128),
    upsampled bicubic x2 per batch. Decision: UTKFace is used upsampled (its framing is the app's 128 template,
    tighter than FFHQ's, so the model sees both framings) but only for a fraction `small_p` of each batch, and
    `batch` returns a per-sample minimum downscale of 2 for those, so their condition is never sharper than
    their (upsampled, detail-less) target."""

    def __init__(self, source: str, small_source: str = "", device="cpu", size: int = 256, small_p: float = 0.25,
                 limit: int = 0):
        self.big = FaceData(source, device=device, limit=limit, size=size)
        self.small = FaceData(small_source, device=device, limit=limit, size=size // 2) if small_source else None
        if len(self.big) == 0:
            raise ValueError(f"{source}: no {size}x{size} images")
        self.size, self.small_p, self.device = size, small_p if self.small is not None else 0.0, device

    def __len__(self):
        return len(self.big) + (len(self.small) if self.small is not None else 0)

    def batch(self, B: int, generator: torch.Generator):
        """(uint8 [B,3,S,S], min_scale list)."""
        n_small = int((torch.rand(B, generator=generator, device=self.device) < self.small_p).sum()) if self.small_p else 0
        parts = [self.big.batch(B - n_small, generator)]
        if n_small:
            s = self.small.batch(n_small, generator).float()
            up = torch.nn.functional.interpolate(s, size=(self.size, self.size), mode="bicubic", align_corners=False)
            parts.append(up.round().clamp(0, 255).to(torch.uint8))
        return torch.cat(parts), [0.0] * (B - n_small) + [2.0] * n_small
