"""Python reference sampler (DESIGN.md 1.3-1.5), same conventions as src/engine/diffusion/{plan,samplers}.ts:

  fine level n in 1..T_f is index n-1 of the T_f-step cosine grid (tau = n/T_f); level 0 is x_0 (alpha_bar = 1).
  coarse index k in 0..K_c-1 of the K_c-step grid (tau_k = (k+1)/K_c).
  CSA: a call at every coarse level with tau_k > tau_N ((k+1)*T_f > N*K_c), ancestral steps between them; the step
       out of the last coarse level is left pending and lands on the first fine level that runs.
  csa: CSA + a step to tau_N + one call there; result = that x0_hat.
  FSR: walk n = N..1; a run level takes the pending ancestral step from the previous run level, then calls the
       denoiser; skipped levels cost nothing. Level 1 always runs; level N runs when there is no estimate yet.
  fixed stride: levels N - round(i*(N-1)/(F-1)), i = 0..F-1 (all levels if F >= N, [1] if F = 1).
  ddpm:K / ddim:K: a call at each of the K grid levels (noisiest first), the last call's x0_hat is the result.

Works on torch tensors [B,3,H,W]; `model(x_t, cond, gamma)` -> eps. Returns (x0, info) with info the calls and the
fine levels that ran.
"""
from __future__ import annotations

import math
from typing import Callable, List, Optional, Sequence

import torch

from .schedule import cosine_alpha_bars, posterior_coefs


def x0_from_eps(x, eps, ab: float):
    return ((x - math.sqrt(1 - ab) * eps) / math.sqrt(ab)).clamp(-1, 1)


def ddpm_step(x, x0, ab_a: float, ab_b: float, generator=None):
    """Ancestral posterior step a -> b (ab_b > ab_a). ab_b = 1 returns x0."""
    if ab_b >= 1.0:
        return x0.clone()
    c0, ca, var = posterior_coefs(ab_a, ab_b)
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return c0 * x0 + ca * x + math.sqrt(var) * noise


def ddim_step(x, x0, ab_a: float, ab_b: float, eta: float = 0.0, generator=None):
    if ab_b >= 1.0:
        return x0.clone()
    eps = (x - math.sqrt(ab_a) * x0) / math.sqrt(1 - ab_a)
    _, _, var = posterior_coefs(ab_a, ab_b)
    sigma = eta * math.sqrt(var)
    out = math.sqrt(ab_b) * x0 + math.sqrt(max(1 - ab_b - sigma * sigma, 0.0)) * eps
    if sigma > 0:
        out = out + sigma * torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return out


def grid_levels(K: int) -> List[float]:
    """alpha_bar values of the K-step cosine grid, noisiest first, ending with 1 (x_0)."""
    ab = cosine_alpha_bars(K)
    return [float(v) for v in ab[::-1]] + [1.0]


def coarse_indices_above(coarse_steps: int, fine_steps: int, N: int) -> List[int]:
    return [k for k in range(coarse_steps - 1, -1, -1) if (k + 1) * fine_steps > N * coarse_steps]


def fixed_stride_levels(N: int, F: int) -> List[int]:
    if F >= N:
        return list(range(N, 0, -1))
    if F == 1:
        return [1]
    return [N - int(math.floor(i * (N - 1) / (F - 1) + 0.5)) for i in range(F)]  # Math.round semantics


class _Call:
    def __init__(self, model, cond):
        self.model, self.cond, self.calls = model, cond, 0

    @torch.no_grad()
    def __call__(self, x, ab):
        gamma = torch.full((x.shape[0],), math.sqrt(ab), dtype=torch.float32, device=x.device)
        self.calls += 1
        return x0_from_eps(x, self.model(x, self.cond, gamma), ab)


def sample_levels(model, cond, levels: Sequence[float], mode: str = "ddpm", eta: float = 0.0, generator=None,
                  x_init=None):
    """DDPM/DDIM over explicit levels (alpha_bar, noisiest first, ending with 1)."""
    assert levels[-1] == 1.0 and len(levels) >= 2
    f = _Call(model, cond)
    x = x_init if x_init is not None else torch.randn(cond.shape, generator=generator, device=cond.device)
    x0 = None
    for a, b in zip(levels[:-1], levels[1:]):
        x0 = f(x, a)
        x = ddpm_step(x, x0, a, b, generator) if mode == "ddpm" else ddim_step(x, x0, a, b, eta, generator)
    return x0, {"calls": f.calls}


def ddpm(model, cond, K: int, generator=None, x_init=None):
    return sample_levels(model, cond, grid_levels(K), "ddpm", generator=generator, x_init=x_init)


def ddim(model, cond, K: int, eta: float = 0.0, generator=None, x_init=None):
    return sample_levels(model, cond, grid_levels(K), "ddim", eta=eta, generator=generator, x_init=x_init)


Decider = Callable[[int, torch.Tensor, int], bool]  # (level, x0_hat, fine calls so far) -> run?


def skipdiff(model, cond, N: int, *, coarse_steps: int = 10, fine_steps: int = 100, decide: Optional[Decider] = None,
             fixed_calls: int = 10, csa_only: bool = False, generator=None, x_init=None):
    """CSA (+ FSR). decide=None uses the fixed-stride rule with fixed_calls. Whole batch takes one path."""
    assert 1 <= N <= fine_steps
    ab_c = cosine_alpha_bars(coarse_steps)
    ab_f = cosine_alpha_bars(fine_steps)
    f = _Call(model, cond)
    x = x_init if x_init is not None else torch.randn(cond.shape, generator=generator, device=cond.device)
    ab_x = None  # level x lives at; None = pure noise not yet evaluated
    x0 = None
    for k in coarse_indices_above(coarse_steps, fine_steps, N):
        a = float(ab_c[k])
        if x0 is not None:
            x = ddpm_step(x, x0, ab_x, a, generator)
        ab_x = a
        x0 = f(x, a)
    if csa_only:
        abN = float(ab_f[N - 1])
        if x0 is not None:
            x = ddpm_step(x, x0, ab_x, abN, generator)
        x0 = f(x, abN)
        return x0, {"calls": f.calls, "fine_levels": [], "N": N}
    if decide is None:
        run_set = set(fixed_stride_levels(N, fixed_calls))
        decide = lambda level, _x0, _c: level in run_set  # noqa: E731
    fine_levels: List[int] = []
    for n in range(N, 0, -1):
        ab = float(ab_f[n - 1])
        if not (n == 1 or x0 is None):
            if not decide(n, x0, len(fine_levels)):
                continue
        if x0 is not None:
            x = ddpm_step(x, x0, ab_x, ab, generator)
        if ab_x is None:
            ab_x = ab
        ab_x = ab
        x0 = f(x, ab)
        fine_levels.append(n)
    return x0, {"calls": f.calls, "fine_levels": fine_levels, "N": N}


def policy_decider(policy, N: int, fine_steps: int = 100, image_size: int = 64):
    """Greedy decider from a SkipPolicy module (same features as the engine's policyDecider)."""
    state = {"h": None}

    @torch.no_grad()
    def decide(level, x0, calls):
        B = x0.shape[0]
        if state["h"] is None:
            state["h"] = torch.zeros(B, policy.cfg.hidden)
        xs = torch.nn.functional.interpolate(x0, size=(image_size, image_size), mode="bicubic", align_corners=False,
                                             antialias=True)
        t = torch.tensor([[level / fine_steps, calls / fine_steps, N / fine_steps]] * B)
        p, _, state["h"] = policy(xs, t, state["h"])
        return bool((p >= 0.5).all())

    return decide
