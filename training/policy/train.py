"""RL training loop of the skip policy on a frozen denoiser (see training/train_policy.py for the CLI)."""
from __future__ import annotations

import json
import os
import time

import torch

from daguerre_train.degrade import bicubic_pipeline
from daguerre_train.model import PolicyConfig, SkipPolicy, n_params
from daguerre_train.sampling import fixed_stride_levels

from . import fsr, ppo, reward
from .common import DEFAULT_KNOB, Images, knob_to_n, latest_ckpt_mtime, load_denoiser


def save_policy(policy, path, meta):
    tmp = path + ".tmp"
    torch.save({"config": policy.cfg.to_dict(), "state_dict": policy.state_dict(), "meta": meta}, tmp)
    os.replace(tmp, path)


def load_policy(path):
    d = torch.load(path, map_location="cpu")
    c = dict(d["config"])
    c["enc"] = tuple(c["enc"])
    p = SkipPolicy(PolicyConfig(**c))
    p.load_state_dict(d["state_dict"])
    return p, d.get("meta", {})


def cond_images_fn(images: Images, S: int):
    """x0-like inputs for the BC warm start: bicubic-up LR (the conditioning), downsized to S."""
    def fn(B):
        hr = images.batch(B)
        _, _, cond = bicubic_pipeline(hr, images.scale)
        return torch.nn.functional.interpolate(cond, size=(S, S), mode="bicubic", align_corners=False, antialias=True)
    return fn


def train(a, log=print):
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    knob = DEFAULT_KNOB
    card_path = os.path.join(a.denoiser, "card.json") if os.path.isdir(a.denoiser) else ""
    if card_path and os.path.exists(card_path):
        knob = json.load(open(card_path))["sampler"]["knob"]
    den, dinfo = load_denoiser(a.denoiser, a.ckpt)
    d_mtime = latest_ckpt_mtime(a.denoiser)
    log(f"denoiser {dinfo}")
    images = Images(a.data, 128, crop=a.crop, seed=a.seed)
    images.scale = a.scale
    if a.init:
        policy, pmeta = load_policy(a.init)
        log(f"init from {a.init} ({pmeta.get('episodes', 0)} episodes before)")
    else:
        policy, pmeta = SkipPolicy(PolicyConfig()), {}
        # t_feat moves by 0.01 per level / per call: scale the first t_feat layer's init up so that one level or one
        # call is visible to the network from the start (same architecture, only the initial weights differ)
        with torch.no_grad():
            policy.tmlp[0].weight.mul_(a.tscale)
    log(f"policy params {n_params(policy)}")
    g = torch.Generator().manual_seed(a.seed + 1)
    t_start = time.time()
    if a.bc_steps and not a.init:
        t0 = time.time()
        ppo.bc_warmstart(policy, cond_images_fn(images, policy.cfg.image_size), lambda k: knob_to_n(knob, k),
                         steps=a.bc_steps, B=1, F_calls=a.fixed_calls, soft=a.bc_soft, lr=3e-3, log=log, generator=g)
        log(f"bc warm start {time.time() - t0:.1f}s")
    opt = torch.optim.Adam(policy.parameters(), lr=a.lr)
    logf = open(os.path.join(a.out, "log.jsonl"), "a")
    episodes0 = int(pmeta.get("episodes", 0))
    episodes, it = 0, 0
    history = list(pmeta.get("history", []))
    deadline = t_start + a.minutes * 60
    while time.time() < deadline and (not a.max_iters or it < a.max_iters):
        it += 1
        t0 = time.time()
        if a.reload_minutes and os.path.isdir(a.denoiser):
            mt = latest_ckpt_mtime(a.denoiser)
            if mt > d_mtime and time.time() - mt > 20:  # settled
                try:
                    den, dinfo = load_denoiser(a.denoiser, a.ckpt)
                    d_mtime = mt
                    log(f"reloaded denoiser step {dinfo.get('step')}")
                except Exception as e:  # noqa: BLE001
                    log(f"reload failed: {e}")
        k = float(torch.rand((), generator=g))
        N = knob_to_n(knob, k)
        if N < 2:
            continue
        hr, lr, cond = bicubic_pipeline(images.batch(a.batch), a.scale)
        noise = fsr.KeyedNoise(a.seed * 100003 + it)
        csa = fsr.coarse_pass(den, cond, N, noise)
        st_f = fsr.run_fixed(den, cond, N, csa, noise, a.fixed_calls)
        policy.eval()
        st_p, actor = fsr.run_policy(den, cond, N, csa, noise, policy, mode="sample", generator=g, record=True)
        t_roll = time.time() - t0
        sc_f = reward.scores(st_f.x0, lr, a.scale)
        sc_p = reward.scores(st_p.x0, lr, a.scale)
        qf = torch.tensor([reward.quality(n_, l_, a.lam) for n_, l_ in sc_f])
        qp = torch.tensor([reward.quality(n_, l_, a.lam) for n_, l_ in sc_p])
        calls_f = len(fixed_stride_levels(N, a.fixed_calls))
        calls_p = torch.tensor([len(f) for f in st_p.fine_levels], dtype=torch.float32)
        gain = qp - qf
        # total reward = gain - price * (calls_p - calls_f); per step -price*a_t, terminal gain + price*(calls_f - 1)
        terminal = gain + a.price * (calls_f - 1)
        xs, ts, act, logp, v = ppo.stack_steps(actor.steps, a.batch)
        G = ppo.returns(act, terminal, a.price)
        policy.train()
        stats = ppo.ppo_update(policy, opt, xs, ts, act, logp, G, v, epochs=a.epochs, clip=0.2, ent_coef=a.ent,
                               vf_coef=0.5)
        episodes += a.batch
        p_all = torch.stack([s["p"] for s in actor.steps])
        rec = {"it": it, "episodes": episodes0 + episodes, "N": N, "knob": round(k, 3),
               "reward": float((gain - a.price * (calls_p - calls_f)).mean()), "gain": float(gain.mean()),
               "niqe_fixed": float(sum(s[0] for s in sc_f) / len(sc_f)),
               "niqe_policy": float(sum(s[0] for s in sc_p) / len(sc_p)),
               "lrpsnr_fixed": float(sum(s[1] for s in sc_f) / len(sc_f)),
               "lrpsnr_policy": float(sum(s[1] for s in sc_p) / len(sc_p)),
               "calls_fixed": calls_f, "calls_policy": float(calls_p.mean()),
               "greedy_frac": float((p_all >= 0.5).float().mean()), "p_mean": float(p_all.mean()),
               "t_rollout": round(t_roll, 2), "t_iter": round(time.time() - t0, 2),
               "elapsed": round(time.time() - t_start, 1), **{k_: round(v_, 5) for k_, v_ in stats.items()}}
        logf.write(json.dumps(rec) + "\n")
        logf.flush()
        history.append({k_: rec[k_] for k_ in ("episodes", "N", "reward", "gain", "calls_fixed", "calls_policy")})
        log(f"it {it} ep {rec['episodes']} N={N} R={rec['reward']:+.3f} gain={rec['gain']:+.3f} "
            f"niqe f/p {rec['niqe_fixed']:.2f}/{rec['niqe_policy']:.2f} calls f/p {calls_f}/{rec['calls_policy']:.1f} "
            f"H={stats['entropy']:.3f} vl={stats['vloss']:.3f} {rec['t_iter']:.1f}s")
        if it % a.save_every == 0:
            save_policy(policy, os.path.join(a.out, "policy.pt"), _meta(a, dinfo, episodes0 + episodes, history,
                                                                          time.time() - t_start, pmeta))
    meta = _meta(a, dinfo, episodes0 + episodes, history, time.time() - t_start, pmeta)
    save_policy(policy, os.path.join(a.out, "policy.pt"), meta)
    log(f"done: {episodes} episodes this run ({episodes0 + episodes} total), {time.time() - t_start:.0f}s")
    return policy, meta


def _meta(a, dinfo, episodes, history, seconds, prev):
    runs = list(prev.get("runs", []))
    return {"episodes": episodes, "history": history[-2000:],
            "runs": runs + [{"denoiser": dinfo, "seconds": round(seconds, 1), "args": vars(a),
                             "episodes": episodes - int(prev.get("episodes", 0))}]}
