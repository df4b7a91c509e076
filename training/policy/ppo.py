"""PPO (clip 0.2) with a value baseline for the SkipPolicy over whole FSR episodes, and a behaviour-cloning warm
start that imitates the fixed-stride rule.

An episode batch has one N for all lanes (the engine runs all tiles of an image with the same N), and since CSA
always leaves an estimate (N < T_f), every lane is asked at every level N..2: the decisions form a [T = N-1, B]
grid and the GRU can be replayed exactly (BPTT over the whole episode) with the current weights.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def replay(policy, xs: torch.Tensor, ts: torch.Tensor):
    """xs [T,B,3,S,S], ts [T,B,3] -> p [T,B], v [T,B]; h starts at zeros. Same maths as SkipPolicy.forward, but the
    CNN encoder runs on all T*B images at once."""
    T, B = ts.shape[:2]
    H = policy.cfg.hidden
    f = policy.enc(xs.reshape((T * B,) + xs.shape[2:])).mean(dim=(2, 3)).reshape(T, B, -1)
    s = torch.cat([f, policy.tmlp(ts)], dim=2)
    gi_all = policy.wi(s)
    h = torch.zeros(B, H)
    ps, vs = [], []
    for t in range(T):
        gi = gi_all[t]
        gh = policy.wh(h)
        r = torch.sigmoid(gi[:, :H] + gh[:, :H])
        z = torch.sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
        n = torch.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
        h = (1 - z) * n + z * h
        ps.append(torch.sigmoid(policy.actor(h)).squeeze(1))
        vs.append(policy.critic(h).squeeze(1))
    return torch.stack(ps), torch.stack(vs)


def stack_steps(steps, B: int):
    """PolicyActor records -> tensors [T,B,...] (every step must cover all B lanes in order)."""
    for s in steps:
        assert s["lanes"] == list(range(B)), "unaligned episode (a lane was not asked at some level)"
    xs = torch.stack([s["x"] for s in steps])
    ts = torch.stack([s["t"] for s in steps])
    a = torch.stack([s["a"] for s in steps])
    logp = torch.stack([s["logp"] for s in steps])
    v = torch.stack([s["v"] for s in steps])
    return xs, ts, a, logp, v


def returns(a: torch.Tensor, terminal: torch.Tensor, price: float):
    """Per-step reward -price * a_t, terminal reward added at the last step; gamma = 1 -> G_t = sum_{k>=t} r_k."""
    r = -price * a
    r[-1] = r[-1] + terminal
    return torch.flip(torch.cumsum(torch.flip(r, [0]), 0), [0])


def ppo_update(policy, opt, xs, ts, a, logp_old, G, v_old, *, epochs=4, clip=0.2, ent_coef=0.01, vf_coef=0.5,
               max_grad=1.0):
    adv = G - v_old
    adv = (adv - adv.mean()) / (adv.std() + 1e-6)
    stats = {}
    for _ in range(epochs):
        p, v = replay(policy, xs, ts)
        p = p.clamp(1e-6, 1 - 1e-6)
        logp = a * torch.log(p) + (1 - a) * torch.log(1 - p)
        ratio = torch.exp(logp - logp_old)
        pg = -torch.min(ratio * adv, ratio.clamp(1 - clip, 1 + clip) * adv).mean()
        ent = -(p * torch.log(p) + (1 - p) * torch.log(1 - p)).mean()
        vl = F.mse_loss(v, G)
        loss = pg + vf_coef * vl - ent_coef * ent
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), max_grad)
        opt.step()
        with torch.no_grad():
            stats = {"pg": float(pg), "vloss": float(vl), "entropy": float(ent),
                     "clipfrac": float(((ratio - 1).abs() > clip).float().mean()),
                     "kl": float((logp_old - logp).mean())}
    return stats


def fixed_targets(N: int, F_calls: int, fine_steps: int = 100):
    """Fixed-stride decisions at levels N..2 and the t_feat the policy would see on that path: (ts [T,3], a [T])."""
    from daguerre_train.sampling import fixed_stride_levels
    s = set(fixed_stride_levels(N, F_calls))
    ts, acts, calls = [], [], 0
    for n in range(N, 1, -1):
        ts.append([n / fine_steps, calls / fine_steps, N / fine_steps])
        run = n in s
        acts.append(1.0 if run else 0.0)
        calls += int(run)
    return torch.tensor(ts, dtype=torch.float32), torch.tensor(acts)


def bc_warmstart(policy, images_fn, knob_to_n, steps=200, B=16, F_calls=10, soft=0.85, lr=1e-3, log=None,
                 generator=None):
    """Imitate the fixed-stride rule (soft targets soft / 1-soft, so that sampling still explores). images_fn(B) ->
    x0-like images [B,3,S,S] in [-1,1] (the conditioning inputs downsized: what x0_hat looks like early on)."""
    opt = torch.optim.Adam(policy.parameters(), lr=lr)
    for it in range(steps):
        k = float(torch.rand((), generator=generator))
        N = knob_to_n(k)
        if N < 2:
            continue
        ts1, a1 = fixed_targets(N, F_calls)
        T = ts1.shape[0]
        img = images_fn(B)
        xs = img.unsqueeze(0).expand(T, -1, -1, -1, -1)
        ts = ts1.unsqueeze(1).expand(T, B, 3)
        p, v = replay(policy, xs, ts)
        tgt = (a1 * soft + (1 - a1) * (1 - soft)).unsqueeze(1).expand(T, B)
        pos = float(a1.mean().clamp(0.05, 0.95))  # class balance: runs are rare for large N
        w = (a1 / pos + (1 - a1) / (1 - pos)).unsqueeze(1).expand(T, B) * 0.5
        loss = F.binary_cross_entropy(p.clamp(1e-6, 1 - 1e-6), tgt, weight=w) + 0.1 * (v ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if log and (it % 50 == 0 or it == steps - 1):
            with torch.no_grad():
                acc = ((p >= 0.5).float() == a1.unsqueeze(1)).float().mean()
            log(f"bc {it} N={N} loss={float(loss):.4f} greedy-acc={float(acc):.3f}")
    return policy
