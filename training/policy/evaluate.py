"""Evaluation with the Python reference sampler (per-lane FSR = the engine's): the greedy learned policy vs the
fixed-stride rule at the same mean number of fine calls (fixed:<F>, F = round(policy's mean fine calls)), vs the
default fixed:10, and optionally DDPM-K. Same images, same noise (KeyedNoise) for every method at a given knob.
Metrics on the raw x0 (no colour correction): NIQE (our small-block params), PSNR-Y vs HR (border = scale),
LR-consistency PSNR."""
from __future__ import annotations

import json
import time

import torch

from daguerre_train.degrade import bicubic_pipeline
from daguerre_train.export import round_params_fp16
from daguerre_train.sampling import coarse_indices_above, ddpm

from . import fsr, reward
from .common import DEFAULT_KNOB, Images, js_round, knob_to_n, load_denoiser
from .train import load_policy


def _metrics(x0, hr, lr, scale):
    rows = []
    for i in range(x0.shape[0]):
        img = reward.to_u8(x0[i])
        ref = reward.to_u8(hr[i])
        lru = lr[i].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()
        rows.append({"niqe": reward.niqe_u8(img), "psnr": reward.psnr_y(img, ref, scale),
                     "lrpsnr": reward.lr_psnr(img, lru, scale)})
    n = len(rows)
    return {k: sum(r[k] for r in rows) / n for k in rows[0]}, rows


def evaluate(a):
    torch.set_num_threads(a.threads)
    den, dinfo = load_denoiser(a.denoiser, a.ckpt)
    import os
    card = os.path.join(a.denoiser, "card.json")
    knob_pts = json.load(open(card))["sampler"]["knob"] if os.path.exists(card) else DEFAULT_KNOB
    policy, pmeta = load_policy(a.policy)
    round_params_fp16(policy).eval()  # exactly the weights policy.onnx stores
    im = Images(a.data, 128, crop=False)
    hr, lr, cond = bicubic_pipeline(im.fixed(a.n), a.scale)
    res = {"denoiser": dinfo, "policy": a.policy, "episodes": pmeta.get("episodes"), "images": a.data, "n": hr.shape[0],
           "scale": a.scale, "knobs": []}
    t_all = time.time()
    for k in [float(v) for v in a.knobs.split(",")]:
        N = knob_to_n(knob_pts, k)
        C = len(coarse_indices_above(10, 100, N))
        noise = fsr.KeyedNoise(a.seed * 1000 + N)
        csa = fsr.coarse_pass(den, cond, N, noise)
        t0 = time.time()
        st_p, actor = fsr.run_policy(den, cond, N, csa, noise, policy, mode="greedy")
        t_pol = time.time() - t0
        fine = [len(f) for f in st_p.fine_levels]
        mean_fine = sum(fine) / len(fine)
        F_eq = max(1, js_round(mean_fine))
        m_pol, rows_pol = _metrics(st_p.x0, hr, lr, a.scale)
        entry = {"knob": k, "N": N, "coarse_calls": C,
                 "policy": {**m_pol, "fine_calls_mean": mean_fine, "fine_calls": fine, "calls_mean": C + mean_fine,
                            "levels": st_p.fine_levels[:4], "seconds": round(t_pol, 1)}}
        for F_ in sorted({F_eq, 10}):
            st_f = fsr.run_fixed(den, cond, N, csa, noise, F_)
            m_f, rows_f = _metrics(st_f.x0, hr, lr, a.scale)
            fc = len(st_f.fine_levels[0])
            wins = sum(1 for rp, rf in zip(rows_pol, rows_f) if rp["niqe"] < rf["niqe"])
            entry[f"fixed:{F_}"] = {**m_f, "fine_calls_mean": fc, "calls_mean": C + fc,
                                    "policy_niqe_wins": f"{wins}/{len(rows_f)}"}
        entry["equal_calls_F"] = F_eq
        res["knobs"].append(entry)
        print(json.dumps({kk: (vv if not isinstance(vv, dict) else {a_: b_ for a_, b_ in vv.items()
                                                                      if a_ not in ("fine_calls", "levels")})
                          for kk, vv in entry.items()}), flush=True)
    if a.ddpm:
        g = torch.Generator().manual_seed(a.seed)
        t0 = time.time()
        x0, info = ddpm(den, cond, a.ddpm, generator=g)
        m, _ = _metrics(x0, hr, lr, a.scale)
        res[f"ddpm:{a.ddpm}"] = {**m, "calls_mean": info["calls"], "seconds": round(time.time() - t0, 1)}
        print(json.dumps({f"ddpm:{a.ddpm}": res[f"ddpm:{a.ddpm}"]}), flush=True)
    res["seconds"] = round(time.time() - t_all, 1)
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
    print(table(res))
    return res


def table(res) -> str:
    lines = ["| knob | N | method | calls (mean) | NIQE (own small) ↓ | PSNR-Y | LR-PSNR |", "|---|---|---|---|---|---|---|"]
    for e in res["knobs"]:
        for name in ["policy"] + sorted(k for k in e if k.startswith("fixed:")):
            m = e[name]
            label = "learned (greedy)" if name == "policy" else name + (" (equal calls)" if name == f"fixed:{e['equal_calls_F']}" else "")
            lines.append(f"| {e['knob']} | {e['N']} | {label} | {m['calls_mean']:.2f} | {m['niqe']:.3f} | {m['psnr']:.2f} | {m['lrpsnr']:.2f} |")
    for k, m in res.items():
        if k.startswith("ddpm:"):
            lines.append(f"| – | – | {k} | {m['calls_mean']} | {m['niqe']:.3f} | {m['psnr']:.2f} | {m['lrpsnr']:.2f} |")
    return "\n".join(lines)
