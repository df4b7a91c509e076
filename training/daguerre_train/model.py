"""SR3-style conditional U-Net with a pixel-unshuffle stem (sized for CPU inference) and the tiny skip policy."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class UNetConfig:
    stem: int = 4                 # pixel-unshuffle factor (1, 2 or 4); the net works at 1/stem resolution
    base: int = 64                # channels at the first level
    mults: tuple = (1, 2, 2)      # channel multipliers per level (len = number of levels)
    blocks: int = 2               # ResBlocks per level (encoder); decoder uses blocks+1
    emb_dim: int = 256            # gamma-embedding MLP width
    emb_scale: float = 1000.0     # sinusoidal embedding of emb_scale * gamma
    groups: int = 8               # GroupNorm groups
    attn_res: tuple = ()          # internal resolutions (in 128-px input terms: H/stem/2^level) with attention; () = none
    dropout: float = 0.0
    # Output parameterisation. 'eps': the U-Net output is eps. 'x0res': the U-Net predicts x0 as cond + residual and
    # eps = (x_t - gamma*x0)/sqrt(1-gamma^2) is computed in the graph. With a space-to-depth stem of r, eps (white
    # noise, 3r^2 values per cell) cannot pass a first level narrower than 3r^2 channels: the 'eps' net plateaus
    # (measured: L1 ~0.55 for s4-32). The analytic skip through x_t carries the noise instead.
    param: str = "x0res"
    in_skip: bool = True          # concatenate the unshuffled input to the last feature map (full-rank detail path)
    # Damage repair (issue 17 item 2): a fourth input, mask [B,1,H,W] (1 = damaged, its cond carries no
    # information), concatenated after (cond, x_t) before the stem, so the first conv takes 7*stem^2 channels;
    # the in_skip path stays (cond, x_t). A non-mask model's weights load with the mask's columns zero
    # (state_dict_with_mask): with mask = 0 it computes what it did.
    mask_in: bool = False

    def multiple(self) -> int:
        """H and W must be multiples of this."""
        return self.stem * 2 ** (len(self.mults) - 1)

    def to_dict(self):
        d = asdict(self)
        d["mults"] = list(self.mults)
        d["attn_res"] = list(self.attn_res)
        if not self.mask_in:
            del d["mask_in"]  # configs without the mask input serialise as before it existed
        return d

    @staticmethod
    def from_dict(d):
        d = dict(d)
        d.setdefault("param", "eps")       # checkpoints written before these fields existed
        d.setdefault("in_skip", False)
        d.setdefault("mask_in", False)
        d["mults"] = tuple(d["mults"])
        d["attn_res"] = tuple(d.get("attn_res", ()))
        return UNetConfig(**d)


PRESETS = {
    # tiny, random-weight test fixture (< 1 MB)
    "tiny": UNetConfig(stem=2, base=16, mults=(1, 2), blocks=1, emb_dim=32, groups=4, param="eps", in_skip=False),
    "tiny-x0": UNetConfig(stem=2, base=16, mults=(1, 2), blocks=1, emb_dim=32, groups=4),
    # CPU candidates for the face model
    "s4-64": UNetConfig(stem=4, base=64, mults=(1, 2, 2), blocks=2, emb_dim=256, groups=8),
    "s4-48": UNetConfig(stem=4, base=48, mults=(1, 2, 2), blocks=2, emb_dim=192, groups=8),
    "s2-48": UNetConfig(stem=2, base=48, mults=(1, 2, 2), blocks=2, emb_dim=192, groups=8),
    "s4-48b1": UNetConfig(stem=4, base=48, mults=(1, 2, 2), blocks=1, emb_dim=192, groups=8),
    "s4-32": UNetConfig(stem=4, base=32, mults=(1, 2, 4), blocks=2, emb_dim=128, groups=8),
    "s4-64x3": UNetConfig(stem=4, base=64, mults=(1, 2, 3), blocks=2, emb_dim=256, groups=8),
    # face-blind (256² input, blind degradations up to x16 and sigma-10 blur: 4 levels for a wider receptive field;
    # internal 64²/32²/16²/8²). ORT timings per 256² step: training/README.md "face-blind".
    "fb-32": UNetConfig(stem=4, base=32, mults=(1, 2, 4, 4), blocks=2, emb_dim=128, groups=8),
    "fb-48": UNetConfig(stem=4, base=48, mults=(1, 2, 3, 4), blocks=2, emb_dim=192, groups=8),
    # random-weight test fixture for the face-blind code path (< 1 MB)
    "tiny-fb": UNetConfig(stem=4, base=16, mults=(1, 2), blocks=1, emb_dim=32, groups=4, param="eps", in_skip=False),
}


def gamma_embedding(gamma: torch.Tensor, dim: int, scale: float) -> torch.Tensor:
    """Sinusoidal embedding of scale*gamma, [B] -> [B, dim] (sin half, cos half; log-spaced freqs as in DDPM)."""
    half = dim // 2
    freqs = torch.exp(torch.arange(half, dtype=torch.float32, device=gamma.device) * (-math.log(10000.0) / (half - 1)))
    args = (gamma.float() * scale).unsqueeze(1) * freqs.unsqueeze(0)
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, emb_dim, groups, dropout=0.0):
        super().__init__()
        self.n1 = nn.GroupNorm(groups, cin)
        self.c1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(emb_dim, cout)
        self.n2 = nn.GroupNorm(groups, cout)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        nn.init.zeros_(self.c2.weight)
        nn.init.zeros_(self.c2.bias)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, emb):
        h = self.c1(F.silu(self.n1(x)))
        h = h + self.emb(emb)[:, :, None, None]
        h = self.c2(self.drop(F.silu(self.n2(h))))
        return self.skip(x) + h


class Attn(nn.Module):
    def __init__(self, c, groups):
        super().__init__()
        self.n = nn.GroupNorm(groups, c)
        self.qkv = nn.Conv2d(c, 3 * c, 1)
        self.o = nn.Conv2d(c, c, 1)
        nn.init.zeros_(self.o.weight)
        nn.init.zeros_(self.o.bias)

    def forward(self, x):
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.n(x)).reshape(b, 3, c, h * w).unbind(1)
        a = torch.softmax(torch.bmm(q.transpose(1, 2), k) / math.sqrt(c), dim=-1)
        out = torch.bmm(v, a.transpose(1, 2)).reshape(b, c, h, w)
        return x + self.o(out)


class Denoiser(nn.Module):
    """eps = Denoiser(x_t, cond, gamma). x_t, cond: [B,3,H,W] in [-1,1]; gamma: [B] = sqrt(alpha_bar)."""

    def __init__(self, cfg: UNetConfig):
        super().__init__()
        self.cfg = cfg
        r, ch0, E, G = cfg.stem, cfg.base, cfg.emb_dim, cfg.groups
        self.emb = nn.Sequential(nn.Linear(E, E), nn.SiLU(), nn.Linear(E, E))
        self.inp = nn.Conv2d((7 if cfg.mask_in else 6) * r * r, ch0, 3, padding=1)
        chans = [ch0 * m for m in cfg.mults]
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        skips = [ch0]
        c = ch0
        res = 128 // r
        for li, co in enumerate(chans):
            blocks = nn.ModuleList()
            for _ in range(cfg.blocks):
                blocks.append(nn.ModuleList([ResBlock(c, co, E, G, cfg.dropout),
                                             Attn(co, G) if res in cfg.attn_res else nn.Identity()]))
                c = co
                skips.append(c)
            self.down.append(blocks)
            if li < len(chans) - 1:
                self.downsample.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
                skips.append(c)
                res //= 2
        self.mid1 = ResBlock(c, c, E, G)
        self.mid_attn = Attn(c, G) if res in cfg.attn_res else nn.Identity()
        self.mid2 = ResBlock(c, c, E, G)
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for li, co in reversed(list(enumerate(chans))):
            blocks = nn.ModuleList()
            for _ in range(cfg.blocks + 1):
                blocks.append(nn.ModuleList([ResBlock(c + skips.pop(), co, E, G, cfg.dropout),
                                             Attn(co, G) if res in cfg.attn_res else nn.Identity()]))
                c = co
            self.up.append(blocks)
            if li > 0:
                self.upsample.append(nn.Conv2d(c, c, 3, padding=1))
                res *= 2
        self.out_norm = nn.GroupNorm(G, c)
        self.out = nn.Conv2d(c + (6 * r * r if cfg.in_skip else 0), 3 * r * r, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x_t, cond, gamma, mask=None):
        cfg = self.cfg
        emb = self.emb(gamma_embedding(gamma, cfg.emb_dim, cfg.emb_scale))
        h = torch.cat([cond, x_t], dim=1)
        if cfg.stem > 1:
            h = F.pixel_unshuffle(h, cfg.stem)
        stem_in = h
        if cfg.mask_in:
            if mask is None:
                mask = torch.zeros_like(x_t[:, :1])
            m = mask.to(h.dtype)
            h = torch.cat([h, F.pixel_unshuffle(m, cfg.stem) if cfg.stem > 1 else m], dim=1)
        h = self.inp(h)
        hs = [h]
        for li, blocks in enumerate(self.down):
            for rb, at in blocks:
                h = at(rb(h, emb))
                hs.append(h)
            if li < len(self.downsample):
                h = self.downsample[li](h)
                hs.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, emb)), emb)
        for li, blocks in enumerate(self.up):
            for rb, at in blocks:
                h = at(rb(torch.cat([h, hs.pop()], dim=1), emb))
            if li < len(self.upsample):
                h = self.upsample[li](F.interpolate(h, scale_factor=2.0, mode="nearest"))
        h = F.silu(self.out_norm(h))
        if cfg.in_skip:
            h = torch.cat([h, stem_in], dim=1)
        h = self.out(h)
        if cfg.stem > 1:
            h = F.pixel_shuffle(h, cfg.stem)
        if cfg.param == "eps":
            return h
        x0 = cond + h
        g = gamma.float().view(-1, 1, 1, 1)
        sigma = torch.sqrt(torch.clamp(1.0 - g * g, min=1e-6))
        return (x_t - g * x0) / sigma


def state_dict_with_mask(sd: dict, cfg: UNetConfig) -> dict:
    """A non-mask Denoiser's state dict for the mask_in model of `cfg`: the first conv's weight gets cfg.stem^2 more
    input columns (the mask's, after pixel-unshuffle they come last), all zero; everything else as it is."""
    r2 = cfg.stem * cfg.stem
    out = dict(sd)
    w = sd["inp.weight"]
    if w.shape[1] != 6 * r2:
        raise ValueError(f"inp.weight has {w.shape[1]} input channels, expected {6 * r2} (a model without mask input)")
    out["inp.weight"] = torch.cat([w, torch.zeros(w.shape[0], r2, *w.shape[2:], dtype=w.dtype, device=w.device)], 1)
    return out


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


# ---------------------------------------------------------------- skip policy (random weights for now)

@dataclass
class PolicyConfig:
    image_size: int = 64
    hidden: int = 128
    enc: tuple = (16, 32, 64, 64)
    t_dim: int = 32

    def to_dict(self):
        d = asdict(self)
        d["enc"] = list(self.enc)
        return d


class SkipPolicy(nn.Module):
    """(x0_hat [B,3,S,S], t_feat [B,3], h [B,hidden]) -> (p_denoise [B], value [B], h_out [B,hidden]).

    CNN encoder (stride-2 convs, global mean) + MLP of t_feat -> GRU cell (written out, exports as plain ops) -> heads.
    """

    def __init__(self, cfg: PolicyConfig = PolicyConfig()):
        super().__init__()
        self.cfg = cfg
        layers, c = [], 3
        for co in cfg.enc:
            layers += [nn.Conv2d(c, co, 3, stride=2, padding=1), nn.SiLU()]
            c = co
        self.enc = nn.Sequential(*layers)
        self.tmlp = nn.Sequential(nn.Linear(3, cfg.t_dim), nn.SiLU(), nn.Linear(cfg.t_dim, cfg.t_dim))
        d_in = c + cfg.t_dim
        H = cfg.hidden
        self.wi = nn.Linear(d_in, 3 * H)
        self.wh = nn.Linear(H, 3 * H)
        self.actor = nn.Linear(H, 1)
        self.critic = nn.Linear(H, 1)

    def forward(self, x0_hat, t_feat, h):
        f = self.enc(x0_hat).mean(dim=(2, 3))
        s = torch.cat([f, self.tmlp(t_feat)], dim=1)
        gi = self.wi(s)
        gh = self.wh(h)
        H = self.cfg.hidden
        r = torch.sigmoid(gi[:, :H] + gh[:, :H])
        z = torch.sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
        n = torch.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
        h_out = (1 - z) * n + z * h
        p = torch.sigmoid(self.actor(h_out)).squeeze(1)
        v = self.critic(h_out).squeeze(1)
        return p, v, h_out
