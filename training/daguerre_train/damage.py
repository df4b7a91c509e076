"""Synthetic print damage for training the mask-conditioned denoiser (issue 17 item 2; trainer --mask-p).

The engine repairs a photo with a damage mask at the photo's (= the LR's) resolution: white where the picture is
lost (src/engine/damage/). Here the same situation is made from clean training pairs: on a fraction p of each batch,
damage is drawn at LR resolution and composited over the *degraded* LR (uint8 levels), the LR mask goes to the
network nearest-upsampled to the conditioning grid (as src/engine/damage/mask.ts resizeMaskNearest does for the
pass's output-sized mask), and the target stays the clean HR, so the network learns to regenerate the masked pixels
from their context.

Kinds (as src/engine/damage/synth.ts synthesises them for the bench, sizes in LR pixels; every stroke is a union of
capsules = segments with a radius, rasterised by distance, so a batch is drawn in a few vectorised tensor ops on
the device, from one torch.Generator):

  scratches  1-4 long, nearly straight thin lines (radius 0.5-1.2 px: 1-2 px wide), mostly bright (lost emulsion)
  cracks     1-3 wandering random walks with up to one branch each (radius 0.5-1.0), mostly bright
  blotches   1-3 irregular blobs (5 overlapping discs each, blob radius 1-3.5 px): a stain colour, bright or dark
  dust       2-12 specks (radius 0.5-1.4 px), bright or dark

A damaged sample gets one kind drawn uniformly plus each other kind with probability `extra_kind_p`. Inside the mask
the picture is replaced with opacity 0.75-1 (stains 0.55-1) by the damage colour (+ a little per-pixel jitter); on a
grey LR the colour is grey. With probability `halo_p` a faint halo (opacity 0.1-0.35 of the damage) lies in the
1-px ring just outside the mask (the lighter streaks real scratches leave beside their labels); the mask does not
cover it, so the network learns to clean what the labels miss. With probability `fill_p` the masked pixels are then
pre-filled by an onion-peel mean fill (each ring of the hole gets the mean of its filled 3x3 neighbours, from the
outside in: close to the engine's Telea pre-fill on thin masks), so the network sees both what the engine feeds
(Telea-filled damage + mask) and raw damage + mask.

Entry points: `damage_lr(lr255, p, cfg, generator) -> (lr255', mask_lr [B,1,h,w])`, `mask_to_cond(mask_lr, scale)`;
per kind: `kind_mask(kind, n, h, w, generator)`.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

KINDS = ("scratches", "cracks", "blotches", "dust")


@dataclass(frozen=True)
class DamageConfig:
    extra_kind_p: float = 0.25          # each kind other than the drawn one, independently
    # scratches
    scratch_n: tuple = (1, 4)
    scratch_len: tuple = (0.5, 1.5)     # x the LR side
    scratch_r: tuple = (0.5, 1.2)
    scratch_bend: float = 0.0115        # heading std per px of length (synth.ts: uniform(-0.02, 0.02) per px)
    scratch_bright_p: float = 0.75
    # cracks
    crack_n: tuple = (1, 3)
    crack_len: tuple = (0.5, 1.5)
    crack_r: tuple = (0.5, 1.0)
    crack_bend: float = 0.144           # synth.ts: uniform(-0.25, 0.25) per px
    crack_branch_p: float = 0.5
    crack_bright_p: float = 0.75
    # blotches
    blotch_n: tuple = (1, 3)
    blotch_R: tuple = (1.0, 3.5)
    blotch_stain_p: float = 0.5         # else bright / dark, half each
    # dust
    dust_n: tuple = (2, 12)
    dust_r: tuple = (0.5, 1.4)
    dust_bright_p: float = 0.5
    # compositing
    opacity: tuple = (0.75, 1.0)
    stain_opacity: tuple = (0.55, 1.0)
    jitter: float = 0.02                # per-pixel std of the damage colour ([0,1] units)
    halo_p: float = 0.4
    halo: tuple = (0.1, 0.35)
    fill_p: float = 0.4

    def to_dict(self):
        return asdict(self)

    def details(self, p: float) -> str:
        c = self
        return (f"synthetic print damage on a fraction {p:g} of each batch, drawn at LR resolution over the degraded LR "
                f"(damage.py): one of scratches (n {c.scratch_n}, length {c.scratch_len} x side, radius {c.scratch_r} px, "
                f"bright p {c.scratch_bright_p}) / cracks (n {c.crack_n}, radius {c.crack_r}, branch p {c.crack_branch_p}) "
                f"/ blotches (n {c.blotch_n}, radius {c.blotch_R}, stain p {c.blotch_stain_p}) / dust (n {c.dust_n}, "
                f"radius {c.dust_r}), each other kind with p {c.extra_kind_p}; opacity {c.opacity} (stains "
                f"{c.stain_opacity}), halo outside the mask p {c.halo_p} at {c.halo}; masked pixels pre-filled "
                f"(onion-peel mean, like the engine's Telea) with p {c.fill_p}; mask = the damaged LR pixels, "
                f"nearest-upsampled to the conditioning grid; target: the clean HR; the rest of the batch: mask 0")


DEFAULT = DamageConfig()


# ---------------------------------------------------------------- random helpers (all draws from one generator)

def _u(g, shape, lo=0.0, hi=1.0):
    return lo + (hi - lo) * torch.rand(shape, generator=g, device=g.device)


def _n(g, shape):
    return torch.randn(shape, generator=g, device=g.device)


def _count(g, n, lo, hi, k):
    """[n, k] bool: the first c of k slots active, c uniform in lo..hi (inclusive)."""
    c = torch.randint(lo, hi + 1, (n, 1), generator=g, device=g.device)
    return torch.arange(k, device=g.device).view(1, k) < c


# ---------------------------------------------------------------- capsules: (a [n,S,2], b [n,S,2], r [n,S]); r < 0 = unused

def _walk(g, n, k, segs, start, heading, length, bend):
    """k random walks per sample of `segs` segments: start [n,k,2], heading [n,k], length [n,k] (px), bend = heading
    std per px. Returns (a, b) [n,k*segs,2] and the vertices [n,k,segs+1,2], headings [n,k,segs]."""
    step = (length / segs).unsqueeze(-1)                                   # [n,k,1]
    dth = _n(g, (n, k, segs)) * bend * step.sqrt()
    dth[..., 0] = 0
    th = heading.unsqueeze(-1) + torch.cumsum(dth, dim=-1)                 # [n,k,segs]
    d = torch.stack([torch.cos(th), torch.sin(th)], dim=-1) * step.unsqueeze(-1)
    pts = torch.cat([start.unsqueeze(2), start.unsqueeze(2) + torch.cumsum(d, dim=2)], dim=2)  # [n,k,segs+1,2]
    a = pts[:, :, :-1].reshape(n, k * segs, 2)
    b = pts[:, :, 1:].reshape(n, k * segs, 2)
    return a, b, pts, th


def _start(g, n, k, h, w):
    return torch.stack([_u(g, (n, k), 0, w), _u(g, (n, k), 0, h)], dim=-1)


def caps_scratches(g, n, h, w, c: DamageConfig = DEFAULT, segs=8):
    K = c.scratch_n[1]
    side = min(h, w)
    on = _count(g, n, c.scratch_n[0], K, K)
    a, b, _, _ = _walk(g, n, K, segs, _start(g, n, K, h, w), _u(g, (n, K), 0, 2 * math.pi),
                       _u(g, (n, K), *c.scratch_len) * side, c.scratch_bend)
    r = _u(g, (n, K), *c.scratch_r)
    r = torch.where(on, r, torch.full_like(r, -1.0)).repeat_interleave(segs, dim=1)
    return a, b, r


def caps_cracks(g, n, h, w, c: DamageConfig = DEFAULT, segs=12, bsegs=6):
    K = c.crack_n[1]
    side = min(h, w)
    on = _count(g, n, c.crack_n[0], K, K)
    length = _u(g, (n, K), *c.crack_len) * side
    a, b, pts, th = _walk(g, n, K, segs, _start(g, n, K, h, w), _u(g, (n, K), 0, 2 * math.pi), length, c.crack_bend)
    r = _u(g, (n, K), 0, 1) * (c.crack_r[1] - c.crack_r[0]) + c.crack_r[0]
    # one branch per walk, from a random vertex, turned by 0.6-1.4 rad either way, 0.3-0.7 of the length, thinner
    v = torch.randint(1, segs, (n, K), generator=g, device=g.device)
    bstart = torch.gather(pts, 2, v.view(n, K, 1, 1).expand(n, K, 1, 2)).squeeze(2)
    bhead = torch.gather(th, 2, v.view(n, K, 1)).squeeze(2) + torch.where(
        _u(g, (n, K)) < 0.5, -1.0, 1.0) * _u(g, (n, K), 0.6, 1.4)
    ba, bb, _, _ = _walk(g, n, K, bsegs, bstart, bhead, length * _u(g, (n, K), 0.3, 0.7), c.crack_bend * 1.5)
    bon = on & (_u(g, (n, K)) < c.crack_branch_p)
    rr = torch.where(on, r, torch.full_like(r, -1.0)).repeat_interleave(segs, dim=1)
    br = torch.where(bon, (r * 0.8).clamp_min(0.5), torch.full_like(r, -1.0)).repeat_interleave(bsegs, dim=1)
    return torch.cat([a, ba], 1), torch.cat([b, bb], 1), torch.cat([rr, br], 1)


def caps_blotches(g, n, h, w, c: DamageConfig = DEFAULT, discs=5):
    K = c.blotch_n[1]
    on = _count(g, n, c.blotch_n[0], K, K)
    centre = _start(g, n, K, h, w)
    R = _u(g, (n, K), *c.blotch_R)
    off = (_u(g, (n, K, discs, 2)) - 0.5) * R.view(n, K, 1, 1)
    p = (centre.unsqueeze(2) + off).reshape(n, K * discs, 2)
    r = (R.unsqueeze(-1) * _u(g, (n, K, discs), 0.4, 1.0))
    r = torch.where(on.unsqueeze(-1), r, torch.full_like(r, -1.0)).reshape(n, K * discs)
    return p, p.clone(), r


def caps_dust(g, n, h, w, c: DamageConfig = DEFAULT):
    K = c.dust_n[1]
    on = _count(g, n, c.dust_n[0], K, K)
    p = _start(g, n, K, h, w)
    r = _u(g, (n, K), *c.dust_r)
    return p, p.clone(), torch.where(on, r, torch.full_like(r, -1.0))


CAPS = {"scratches": caps_scratches, "cracks": caps_cracks, "blotches": caps_blotches, "dust": caps_dust}


def field(a, b, r, h, w):
    """Signed distance margin of the union of capsules at the pixel centres: min over capsules of (distance - r)
    [n,h,w] (<= 0: covered), and the index of the nearest capsule [n,h,w]."""
    n, S, _ = a.shape
    dev = a.device
    ys, xs = torch.meshgrid(torch.arange(h, device=dev, dtype=torch.float32) + 0.5,
                            torch.arange(w, device=dev, dtype=torch.float32) + 0.5, indexing="ij")
    P = torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=-1)              # [hw,2]
    ab = (b - a).unsqueeze(2)                                              # [n,S,1,2]
    ap = P.view(1, 1, -1, 2) - a.unsqueeze(2)                              # [n,S,hw,2]
    t = ((ap * ab).sum(-1) / (ab * ab).sum(-1).clamp_min(1e-12)).clamp(0, 1)
    d = (ap - t.unsqueeze(-1) * ab).norm(dim=-1) - r.unsqueeze(-1)
    d = torch.where(r.unsqueeze(-1) < 0, torch.full_like(d, 1e6), d)
    m, idx = d.min(dim=1)
    return m.view(n, h, w), idx.view(n, h, w)


def kind_mask(kind: str, n: int, h: int, w: int, generator: torch.Generator, cfg: DamageConfig = DEFAULT):
    """[n,1,h,w] float {0,1}: the pixels one kind of damage covers (seeded)."""
    a, b, r = CAPS[kind](generator, n, h, w, cfg)
    m, _ = field(a, b, r, h, w)
    return (m <= 0).float().unsqueeze(1)


# ---------------------------------------------------------------- colours and compositing

def _colours(g, n, kind: str, c: DamageConfig):
    """[n,3] damage colour in [0,1] and [n] opacity for one kind."""
    u = _u(g, (n,))
    bright = torch.stack([_u(g, (n,), 0.85, 1.0)] * 3, -1) * torch.stack(
        [torch.ones(n, device=g.device), _u(g, (n,), 0.95, 1.0), _u(g, (n,), 0.86, 1.0)], -1)
    dark = torch.stack([_u(g, (n,), 0.02, 0.2)] * 3, -1) * torch.stack(
        [torch.ones(n, device=g.device), _u(g, (n,), 0.85, 1.0), _u(g, (n,), 0.7, 1.0)], -1)
    stain = _u(g, (n, 1), 0.25, 0.75) * torch.stack(
        [torch.ones(n, device=g.device), _u(g, (n,), 0.72, 0.9), _u(g, (n,), 0.45, 0.7)], -1)
    op = _u(g, (n,), *c.opacity)
    if kind == "blotches":
        sp = u < c.blotch_stain_p
        col = torch.where(sp.unsqueeze(-1), stain, torch.where((u < (1 + c.blotch_stain_p) / 2).unsqueeze(-1), bright, dark))
        op = torch.where(sp, _u(g, (n,), *c.stain_opacity), op)
    else:
        p = {"scratches": c.scratch_bright_p, "cracks": c.crack_bright_p, "dust": c.dust_bright_p}[kind]
        col = torch.where((u < p).unsqueeze(-1), bright, dark)
    return col, op


def draw_damage(n: int, h: int, w: int, generator: torch.Generator, cfg: DamageConfig = DEFAULT):
    """Damage for n LR images of h x w: (mask [n,1,h,w] {0,1}, colour [n,3,h,w] in [0,1], alpha [n,1,h,w] in [0,1]).
    alpha is the opacity inside the mask, the halo's in the 1-px ring outside it (where drawn), 0 elsewhere."""
    g = generator
    dev = g.device
    first = torch.randint(0, len(KINDS), (n,), generator=g, device=dev)
    A, B, R, col_of, op_of = [], [], [], [], []
    for ki, kind in enumerate(KINDS):
        use = (first == ki) | (_u(g, (n,)) < cfg.extra_kind_p)
        a, b, r = CAPS[kind](g, n, h, w, cfg)
        r = torch.where(use.unsqueeze(-1), r, torch.full_like(r, -1.0))
        col, op = _colours(g, n, kind, cfg)
        A.append(a), B.append(b), R.append(r)
        col_of.append(col.unsqueeze(1).expand(n, r.shape[1], 3))
        op_of.append(op.unsqueeze(1).expand(n, r.shape[1]))
    a, b, r = torch.cat(A, 1), torch.cat(B, 1), torch.cat(R, 1)
    m, idx = field(a, b, r, h, w)
    mask = (m <= 0).float().unsqueeze(1)
    cols = torch.cat(col_of, 1)                                            # [n,S,3]
    ops = torch.cat(op_of, 1)                                              # [n,S]
    colour = torch.gather(cols, 1, idx.view(n, -1, 1).expand(n, h * w, 3)).view(n, h, w, 3).permute(0, 3, 1, 2)
    colour = (colour + _n(g, (n, 1, h, w)) * cfg.jitter).clamp(0, 1)
    op = torch.gather(ops, 1, idx.view(n, -1)).view(n, 1, h, w)
    ring = (F.max_pool2d(mask, 3, stride=1, padding=1) - mask).clamp(0, 1)
    halo = torch.where(_u(g, (n, 1, 1, 1)) < cfg.halo_p, _u(g, (n, 1, 1, 1), *cfg.halo), torch.zeros(n, 1, 1, 1, device=dev))
    alpha = op * (mask + ring * halo)
    return mask, colour.contiguous(), alpha


def composite(lr255: torch.Tensor, colour: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """LR uint8 levels (float) with the damage painted in; grey LRs get grey damage. Rounded, clamped to 0..255."""
    grey = ((lr255.amax(1, keepdim=True) - lr255.amin(1, keepdim=True)).amax((2, 3), keepdim=True) <= 2.0)
    lum = 0.299 * colour[:, 0:1] + 0.587 * colour[:, 1:2] + 0.114 * colour[:, 2:3]
    colour = torch.where(grey, lum.expand_as(colour), colour)
    return torch.round(lr255 * (1 - alpha) + alpha * 255.0 * colour).clamp(0, 255)


def onion_fill(lr255: torch.Tensor, mask: torch.Tensor, rings: int = 12) -> torch.Tensor:
    """The masked pixels filled from the outside in: each pass, every hole pixel with a filled 3x3 neighbour gets the
    mean of those neighbours. Pixels outside the mask are unchanged; hole pixels more than `rings` pixels from any
    known pixel (none at damage.py's sizes: blotches reach ~5 px) and holes with no known pixel stay as they are.
    A fixed number of passes and no host sync (the trainer calls this between GPU steps)."""
    known = 1.0 - mask
    val = lr255 * known
    for _ in range(rings):
        num = F.avg_pool2d(val, 3, stride=1, padding=1, count_include_pad=False)
        den = F.avg_pool2d(known, 3, stride=1, padding=1, count_include_pad=False)
        new = (known == 0) & (den > 0)
        val = torch.where(new, num / den.clamp_min(1e-8), val)
        known = torch.where(new, torch.ones_like(known), known)
    return torch.where(known > 0, torch.round(val), lr255)


def damage_lr(lr255: torch.Tensor, p: float, cfg: DamageConfig = DEFAULT, generator: torch.Generator | None = None):
    """Damage a fraction p of a batch of LRs (uint8 levels as float, [B,3,h,w]): (lr255', mask_lr [B,1,h,w] {0,1}).
    Every draw comes from `generator` (on any device; results are moved to lr255's), in a fixed order for a batch
    size, so the same generator state gives the same damage."""
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    Bn, _, h, w = lr255.shape
    dev = lr255.device
    sel = (_u(g, (Bn,)) < p).to(dev)
    mask_lr = torch.zeros(Bn, 1, h, w, device=dev)
    idx = sel.nonzero().flatten()
    n = int(idx.numel())
    if n == 0:
        return lr255, mask_lr
    m, colour, alpha = (t.to(dev) for t in draw_damage(n, h, w, g, cfg))
    fill = (_u(g, (n, 1, 1, 1)) < cfg.fill_p).to(dev)
    sub = composite(lr255[idx], colour, alpha)
    sub = torch.where(fill, onion_fill(sub, m), sub)
    out = lr255.clone()
    out[idx] = sub
    mask_lr[idx] = m
    return out, mask_lr


def mask_to_cond(mask_lr: torch.Tensor, size) -> torch.Tensor:
    """LR mask [B,1,h,w] -> the conditioning grid (H, W) by nearest neighbour, as the engine's resizeMaskNearest
    (pixel centres; for an integer scale s: each LR pixel becomes an s x s block)."""
    H, W = size
    h, w = mask_lr.shape[-2:]
    if H % h == 0 and W % w == 0:
        return mask_lr.repeat_interleave(H // h, dim=2).repeat_interleave(W // w, dim=3)
    ys = ((torch.arange(H, device=mask_lr.device) + 0.5) * h / H).floor().long().clamp_max(h - 1)
    xs = ((torch.arange(W, device=mask_lr.device) + 0.5) * w / W).floor().long().clamp_max(w - 1)
    return mask_lr[:, :, ys][:, :, :, xs]
