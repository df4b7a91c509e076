"""Per-lane CSA + FSR, written to mirror src/engine/diffusion/samplers.ts (sampleCoarse, sampleFsr, policyDecider).

Differences from daguerre_train/sampling.py (which it agrees with when every lane takes the same path): every lane
(image) has its own path through the fine grid, lanes that run at the same level share one batched denoiser call,
and the noise of each ancestral step comes from a pluggable source, so that two runs (the policy's and the
fixed-stride rule's) can share "the same noise": the step that lands on fine level n of lane m uses the same z in
both runs (`KeyedNoise`). `StreamNoise` reproduces daguerre_train.sampling's generator order instead (tests).

What the policy sees (samplers.ts policyDecider), before each fine level n = N .. 2 of a lane that has an estimate:
  x0_hat  the x_hat_0 of that lane's latest denoiser call (coarse or fine), clipped to [-1,1], resized to S x S with
          antialiased bicubic (PyTorch interpolate bicubic, align_corners=False, antialias=True = resizeFloat(.., true));
  t_feat  [n / T_f, fine calls used so far by the lane / T_f, N / T_f]  (coarse calls are not counted);
  h       the lane's GRU state: zeros at the start of the tile, then h_out of its previous decision.
Level 1 always runs and is never shown to the policy; level N runs without asking only when there is no estimate
yet (N = T_f). Greedy: run iff p_denoise >= 0.5.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence

import torch
import torch.nn.functional as F

from daguerre_train.schedule import cosine_alpha_bars, posterior_coefs
from daguerre_train.sampling import coarse_indices_above, fixed_stride_levels


# ---------------------------------------------------------------- noise sources

class StreamNoise:
    """One generator, drawn in call order: randn(len(lanes),3,H,W) per step (daguerre_train.sampling's order when
    all lanes move together)."""

    def __init__(self, generator: Optional[torch.Generator] = None):
        self.g = generator

    def init(self, shape):
        return torch.randn(shape, generator=self.g)

    def draw(self, lanes: Sequence[int], key, shape):
        return torch.randn((len(lanes),) + tuple(shape), generator=self.g)


class KeyedNoise:
    """z depends only on (seed, lane, key): two runs that both land on fine level n of lane m use the same z."""

    def __init__(self, seed: int):
        self.seed = int(seed)

    def _gen(self, lane: int, key) -> torch.Generator:
        kind, n = key
        s = (self.seed * 1000003 + lane * 7919 + (0 if kind == "c" else 1) * 104729 + int(n) * 131) % (2 ** 62)
        return torch.Generator().manual_seed(s)

    def init(self, shape):
        B = shape[0]
        return torch.stack([torch.randn(tuple(shape[1:]), generator=self._gen(m, ("i", 0))) for m in range(B)])

    def draw(self, lanes: Sequence[int], key, shape):
        return torch.stack([torch.randn(tuple(shape), generator=self._gen(m, key)) for m in lanes])


# ---------------------------------------------------------------- state

@dataclass
class LaneState:
    x: torch.Tensor                      # [B,3,H,W] current sample
    x0: torch.Tensor                     # [B,3,H,W] x0_hat of each lane's latest call
    ab: List[Optional[float]]            # alpha_bar each lane's x lives at (None: no call yet)
    has_x0: List[bool]
    calls: List[int]                     # denoiser calls per lane (coarse + fine)
    fine_levels: List[List[int]] = field(default_factory=list)

    def clone(self) -> "LaneState":
        return LaneState(self.x.clone(), self.x0.clone(), list(self.ab), list(self.has_x0), list(self.calls),
                         [list(f) for f in self.fine_levels])


def _x0_from_eps(x, eps, ab: float):
    return ((x - math.sqrt(1 - ab) * eps) / math.sqrt(ab)).clamp(-1, 1)


@torch.no_grad()
def _denoise(model, st: LaneState, cond, lanes: List[int], ab: float):
    idx = torch.tensor(lanes, dtype=torch.long)
    x = st.x.index_select(0, idx)
    gamma = torch.full((len(lanes),), math.sqrt(ab), dtype=torch.float32)
    eps = model(x, cond.index_select(0, idx), gamma)
    st.x0[idx] = _x0_from_eps(x, eps, ab)
    for m in lanes:
        st.has_x0[m] = True
        st.calls[m] += 1


def _move(st: LaneState, lanes: List[int], ab: float, noise, key):
    """Ancestral posterior step of `lanes` from their own level to ab (samplers.ts moveTo); lanes already there stay."""
    mv = [m for m in lanes if st.ab[m] != ab]
    if not mv:
        return
    for m in mv:
        if not st.has_x0[m]:
            raise RuntimeError("a lane cannot leave its level before a denoiser call")
    z = noise.draw(mv, key, st.x.shape[1:])
    for i, m in enumerate(mv):
        c0, ca, var = posterior_coefs(st.ab[m], ab)
        st.x[m] = c0 * st.x0[m] + ca * st.x[m] + math.sqrt(var) * z[i]
        st.ab[m] = ab


def coarse_pass(model, cond, N: int, noise, coarse_steps: int = 10, fine_steps: int = 100) -> LaneState:
    """CSA (samplers.ts sampleCoarse): a call at each coarse level strictly above tau_N; the step out of the last one
    is left pending. Lanes start as pure noise at the first coarse level (or at level N if there is none)."""
    B = cond.shape[0]
    ab_c = cosine_alpha_bars(coarse_steps)
    ab_f = cosine_alpha_bars(fine_steps)
    ks = coarse_indices_above(coarse_steps, fine_steps, N)
    start = float(ab_c[ks[0]]) if ks else float(ab_f[N - 1])
    st = LaneState(noise.init(cond.shape), torch.zeros_like(cond), [start] * B, [False] * B, [0] * B,
                   [[] for _ in range(B)])
    lanes = list(range(B))
    for k in ks:
        a = float(ab_c[k])
        _move(st, [m for m in lanes if st.has_x0[m]], a, noise, ("c", k))
        _denoise(model, st, cond, lanes, a)
    return st


Decider = Callable[[int, List[int], LaneState], List[bool]]


def fsr_pass(model, cond, N: int, st: LaneState, decide: Decider, noise, fine_steps: int = 100) -> LaneState:
    """FSR (samplers.ts sampleFsr) on `st` in place: walk n = N..1, ask `decide` for lanes not forced to run."""
    ab_f = cosine_alpha_bars(fine_steps)
    B = cond.shape[0]
    for n in range(N, 0, -1):
        ab = float(ab_f[n - 1])
        run, ask = [], []
        for m in range(B):
            (run if (n == 1 or not st.has_x0[m]) else ask).append(m)
        if ask:
            d = decide(n, ask, st)
            if len(d) != len(ask):
                raise RuntimeError("decider answered for the wrong number of lanes")
            run += [m for m, r in zip(ask, d) if r]
        if not run:
            continue
        run.sort()
        _move(st, run, ab, noise, ("f", n))
        _denoise(model, st, cond, run, ab)
        for m in run:
            st.fine_levels[m].append(n)
    return st


def fixed_decider(N: int, F: int) -> Decider:
    s = set(fixed_stride_levels(N, F))
    return lambda n, ask, st: [n in s for _ in ask]


def policy_inputs(st: LaneState, lanes: List[int], n: int, N: int, fine_steps: int = 100, image_size: int = 64):
    """(x0_hat [b,3,S,S], t_feat [b,3]) exactly as policyDecider builds them."""
    idx = torch.tensor(lanes, dtype=torch.long)
    x0 = st.x0.index_select(0, idx)
    if x0.shape[-1] == image_size and x0.shape[-2] == image_size:
        xs = x0.clone()
    else:
        xs = F.interpolate(x0, size=(image_size, image_size), mode="bicubic", align_corners=False, antialias=True)
    t = torch.tensor([[n / fine_steps, len(st.fine_levels[m]) / fine_steps, N / fine_steps] for m in lanes],
                     dtype=torch.float32)
    return xs, t


class PolicyActor:
    """Decider from a SkipPolicy. mode 'greedy' (p >= 0.5, the engine) or 'sample' (Bernoulli(p), training).
    Records every decision (lane, level, inputs, action, log-prob, value) for PPO."""

    def __init__(self, policy, N: int, B: int, mode: str = "greedy", fine_steps: int = 100,
                 generator: Optional[torch.Generator] = None, record: bool = False):
        self.policy, self.N, self.mode, self.T = policy, N, mode, fine_steps
        self.S = policy.cfg.image_size
        self.h = torch.zeros(B, policy.cfg.hidden)
        self.g = generator
        self.record = record
        self.steps = []  # dicts per decision batch
        self.trace = []  # (level, lane, p, t_feat)

    @torch.no_grad()
    def __call__(self, n: int, ask: List[int], st: LaneState) -> List[bool]:
        xs, t = policy_inputs(st, ask, n, self.N, self.T, self.S)
        idx = torch.tensor(ask, dtype=torch.long)
        p, v, h_out = self.policy(xs, t, self.h.index_select(0, idx))
        self.h[idx] = h_out
        if self.mode == "greedy":
            a = p >= 0.5
        else:
            a = torch.rand(p.shape, generator=self.g) < p
        for i, m in enumerate(ask):
            self.trace.append((n, m, float(p[i]), t[i].tolist()))
        if self.record:
            af = a.float()
            logp = af * torch.log(p.clamp_min(1e-6)) + (1 - af) * torch.log((1 - p).clamp_min(1e-6))
            self.steps.append({"n": n, "lanes": list(ask), "x": xs, "t": t, "a": af, "logp": logp, "v": v, "p": p})
        return a.tolist()


def run_fixed(model, cond, N, csa: LaneState, noise, F: int = 10, fine_steps: int = 100) -> LaneState:
    return fsr_pass(model, cond, N, csa.clone(), fixed_decider(N, F), noise, fine_steps)


def run_policy(model, cond, N, csa: LaneState, noise, policy, mode="greedy", fine_steps=100, generator=None,
               record=False):
    actor = PolicyActor(policy, N, cond.shape[0], mode, fine_steps, generator, record)
    st = fsr_pass(model, cond, N, csa.clone(), actor, noise, fine_steps)
    return st, actor
