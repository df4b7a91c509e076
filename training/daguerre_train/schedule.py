"""Noise schedules and the one-step maths of DESIGN.md 1.1 and 1.3 (float64 numpy, no torch needed)."""
from __future__ import annotations

import math

import numpy as np

COSINE_S = 0.008


def cosine_alpha_bar_cont(tau, s: float = COSINE_S):
    """Continuous alpha_bar(tau) = f(tau)/f(0), f(tau) = cos(((tau+s)/(1+s)) * pi/2)^2."""
    tau = np.asarray(tau, dtype=np.float64)
    f = np.cos(((tau + s) / (1 + s)) * math.pi / 2) ** 2
    f0 = math.cos((s / (1 + s)) * math.pi / 2) ** 2
    return f / f0


def cosine_alpha_bars(K: int, s: float = COSINE_S, max_beta: float = 0.999) -> np.ndarray:
    """K-step cosine schedule: alpha_bar_k = prod_{i<=k} (1 - beta_i), tau_k = (k+1)/K, beta clipped at max_beta.

    Index k = 0..K-1 (0-based): alpha_bar[0] is the least noisy level, alpha_bar[K-1] ~ 0.
    """
    taus = np.arange(0, K + 1, dtype=np.float64) / K  # tau_{-1}=0, tau_0=1/K, ...
    ab = cosine_alpha_bar_cont(taus, s)
    betas = np.minimum(1.0 - ab[1:] / ab[:-1], max_beta)
    return np.cumprod(1.0 - betas)


def linear_alpha_bars(K: int, beta_start: float = 1e-4, beta_end: float = 2e-2) -> np.ndarray:
    """DDPM linear schedule (Ho et al. for K=1000; betas scaled by 1000/K so other K span the same range)."""
    scale = 1000.0 / K
    betas = np.linspace(beta_start * scale, min(beta_end * scale, 0.999), K, dtype=np.float64)
    return np.cumprod(1.0 - betas)


def alpha_bars(kind: str, K: int, s: float = COSINE_S) -> np.ndarray:
    if kind == "cosine":
        return cosine_alpha_bars(K, s)
    if kind == "linear":
        return linear_alpha_bars(K)
    raise ValueError(f"unknown schedule {kind}")


def posterior_coefs(ab_a: float, ab_b: float):
    """q(x_b | x_a, x0) for alpha_bar_b > alpha_bar_a (b less noisy). Returns (c_x0, c_xa, var).

    mean = c_x0 * x0 + c_xa * x_a
    c_x0 = sqrt(ab_b) * (1 - ab_a/ab_b) / (1 - ab_a)
    c_xa = sqrt(ab_a/ab_b) * (1 - ab_b) / (1 - ab_a)
    var  = (1 - ab_b)/(1 - ab_a) * (1 - ab_a/ab_b)
    """
    ratio = ab_a / ab_b
    c_x0 = math.sqrt(ab_b) * (1 - ratio) / (1 - ab_a)
    c_xa = math.sqrt(ratio) * (1 - ab_b) / (1 - ab_a)
    var = (1 - ab_b) / (1 - ab_a) * (1 - ratio)
    return c_x0, c_xa, var


def x0_from_eps(x_t, eps, ab: float, clip: bool = True):
    x0 = (x_t - math.sqrt(1 - ab) * eps) / math.sqrt(ab)
    if clip:
        x0 = x0.clip(-1, 1) if hasattr(x0, "clip") else x0
    return x0


def ddim_step(x_a, x0, ab_a: float, ab_b: float, eta: float = 0.0, noise=None):
    """DDIM from level a to b (ab_b > ab_a) given x0_hat. eps is re-derived from x0 so clipping is consistent.

    sigma = eta * sqrt(var_posterior); x_b = sqrt(ab_b) x0 + sqrt(1 - ab_b - sigma^2) eps + sigma z
    """
    eps = (x_a - math.sqrt(ab_a) * x0) / math.sqrt(1 - ab_a)
    _, _, var = posterior_coefs(ab_a, ab_b)
    sigma = eta * math.sqrt(var)
    out = math.sqrt(ab_b) * x0 + math.sqrt(max(1 - ab_b - sigma**2, 0.0)) * eps
    if sigma > 0:
        out = out + sigma * noise
    return out
