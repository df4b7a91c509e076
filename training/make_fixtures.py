#!/usr/bin/env python3
"""Write the test fixtures the TypeScript side checks against (run from anywhere):

  test/fixtures/models/tiny-x4/        random tiny denoiser + random policy + card.json (natural, x4/x2)
  test/fixtures/models/tiny-face-x8/   random tiny denoiser + card.json (face, x8)
  test/fixtures/models/repair/tiny-mask-x4/   random tiny denoiser with the damage-mask input + card.json (x4/x2)
  test/fixtures/bicubic/cases.json     PyTorch bicubic up/down-sampling + the uint8 training pipeline
  test/fixtures/schedule/cosine.json   alpha_bar for cosine K=10/100/1000, linear, posterior + DDIM coefficients
  test/fixtures/parity/tiny-x4*/       fixed inputs and PyTorch outputs for ONNX parity (float32 LE .bin)

Deterministic (fixed seeds). Usage: /usr/bin/python3 training/make_fixtures.py [--only bicubic,schedule,models]
(--only faceblind / --only mask: just that fixture)
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from daguerre_train import schedule as S  # noqa: E402
from daguerre_train.card import degradation_entry, make_card, write_card  # noqa: E402
from daguerre_train.degrade import cond_from_lr, lr_from_hr  # noqa: E402
from daguerre_train.export import export_denoiser, export_policy, round_params_fp16  # noqa: E402
from daguerre_train.model import PRESETS, Denoiser, PolicyConfig, SkipPolicy, n_params  # noqa: E402
from daguerre_train.parity import denoiser_parity, policy_parity  # noqa: E402

FIX = os.path.join(ROOT, "test", "fixtures")


def rnd(t, nd=9):
    return [float(f"{v:.{nd}g}") for v in np.asarray(t, dtype=np.float64).ravel().tolist()]


def bicubic_cases():
    g = torch.Generator().manual_seed(7)
    shapes = [(3, 5, 7), (3, 6, 6), (3, 8, 12)]
    cases = []
    for shp in shapes:
        x = torch.rand(1, *shp, generator=g)
        c, h, w = shp
        ops = []
        for s in (2, 4, 8):
            y = F.interpolate(x, scale_factor=float(s), mode="bicubic", align_corners=False)
            ops.append({"op": "upsample", "scale": s, "antialias": False, "shape": list(y.shape[1:]), "data": rnd(y)})
        for s in (2, 4):
            if h % s == 0 and w % s == 0:
                y = F.interpolate(x, size=(h // s, w // s), mode="bicubic", antialias=True, align_corners=False)
                ops.append({"op": "downsample", "scale": s, "antialias": True, "shape": list(y.shape[1:]),
                            "data": rnd(y)})
        for size in ((h + 2, w + 3), (max(1, h - 2), max(1, w - 3))):
            for aa in (False, True):
                y = F.interpolate(x, size=size, mode="bicubic", antialias=aa, align_corners=False)
                ops.append({"op": "resize", "size": list(size), "antialias": aa, "shape": list(y.shape[1:]),
                            "data": rnd(y)})
        cases.append({"shape": list(shp), "input": rnd(x), "ops": ops})
    pipes = []
    for hw, s in (((16, 16), 4), ((32, 24), 8), ((12, 20), 2)):
        hr = torch.randint(0, 256, (1, 3, *hw), generator=g, dtype=torch.uint8)
        lr = lr_from_hr(hr.float() / 255.0, s)
        cond = cond_from_lr(lr, hw)
        pipes.append({"scale": s, "hr_shape": [3, *hw], "hr_uint8": hr.flatten().tolist(),
                      "lr_shape": list(lr.shape[1:]), "lr_uint8": [int(v) for v in lr.flatten().tolist()],
                      "cond_shape": list(cond.shape[1:]), "cond": rnd(cond)})
    doc = {
        "about": ("PyTorch %s reference values for bicubic resampling. Images are CHW float32, row-major "
                  "(index = (c*H + y)*W + x), values in [0,1], printed with 9 significant digits. "
                  "upsample: F.interpolate(x, scale_factor=s, mode='bicubic', align_corners=False) (a=-0.75, "
                  "border clamp); downsample: F.interpolate(x, size=(H//s, W//s), mode='bicubic', antialias=True, "
                  "align_corners=False); resize: the same to an explicit size with the given antialias flag. "
                  "pipelines: the training degradation: HR uint8 -> /255 -> antialiased bicubic down by scale -> "
                  "round(x*255) clamped to 0..255 = LR uint8 -> LR/127.5-1 -> bicubic up to HR size -> clamp "
                  "[-1,1] = cond (float32). Tolerance suggestion: 1e-5 for floats, exact for uint8 (may differ by "
                  "1 level where x*255 lands within float error of .5)." % torch.__version__),
        "cases": cases,
        "pipelines": pipes,
    }
    os.makedirs(os.path.join(FIX, "bicubic"), exist_ok=True)
    with open(os.path.join(FIX, "bicubic", "cases.json"), "w") as f:
        json.dump(doc, f)
        f.write("\n")


def schedule_fixture():
    out = {
        "about": ("Noise schedules of DESIGN.md 1.1 and one-step maths of 1.3, computed in float64 by "
                  "training/daguerre_train/schedule.py. alphaBar[k], k = 0..K-1 (0-based; k=0 least noisy), "
                  "tau_k = (k+1)/K, beta_k = min(1 - abar(tau_k)/abar(tau_{k-1}), 0.999), alphaBar_k = "
                  "prod_{i<=k}(1-beta_i). Level -1 means x_0 (alphaBar = 1). posterior: q(x_b|x_a,x0) mean = "
                  "cX0*x0 + cXa*x_a, variance var. ddim: eta=0 step from a to b given x_a and x0 (eps re-derived "
                  "from x0). x0FromEps: (x_t - sqrt(1-ab) eps)/sqrt(ab), clipped to [-1,1]."),
        "s": S.COSINE_S,
        "cosine": {str(K): rnd(S.cosine_alpha_bars(K), 12) for K in (10, 100, 1000)},
        "linear": {"about": "betas = linspace(1e-4*1000/K, min(0.02*1000/K, 0.999), K)",
                   **{str(K): rnd(S.linear_alpha_bars(K), 12) for K in (100, 1000)}},
        "check": {"cosine100_alphaBar9": float(S.cosine_alpha_bars(100)[9]),
                  "cosine10_alphaBar0": float(S.cosine_alpha_bars(10)[0])},
    }
    ab100 = S.cosine_alpha_bars(100)
    ab10 = S.cosine_alpha_bars(10)
    post = []
    for grid, ab, a, b in (("cosine100", ab100, 99, 89), ("cosine100", ab100, 50, 49), ("cosine100", ab100, 30, 9),
                           ("cosine100", ab100, 9, 5), ("cosine100", ab100, 3, -1), ("cosine10", ab10, 9, 8),
                           ("cosine10", ab10, 1, 0), ("cosine10", ab10, 0, -1)):
        aa = float(ab[a])
        bb = 1.0 if b < 0 else float(ab[b])
        c0, ca, var = S.posterior_coefs(aa, bb)
        post.append({"grid": grid, "a": a, "b": b, "alphaBarA": aa, "alphaBarB": bb, "cX0": c0, "cXa": ca,
                     "var": var})
    out["posterior"] = post
    rng = np.random.RandomState(3)
    x_a = rng.randn(6)
    eps = rng.randn(6)
    ddim = []
    for a, b in ((99, 89), (40, 20), (9, -1)):
        aa = float(ab100[a])
        bb = 1.0 if b < 0 else float(ab100[b])
        x0 = S.x0_from_eps(x_a, eps, aa, clip=True)
        ddim.append({"grid": "cosine100", "a": a, "b": b, "alphaBarA": aa, "alphaBarB": bb, "x_a": rnd(x_a, 12),
                     "eps": rnd(eps, 12), "x0": rnd(x0, 12), "x_b": rnd(S.ddim_step(x_a, x0, aa, bb), 12)})
    out["ddim"] = ddim
    os.makedirs(os.path.join(FIX, "schedule"), exist_ok=True)
    with open(os.path.join(FIX, "schedule", "cosine.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


def tiny_models():
    cfg = PRESETS["tiny"]
    for mid, task, scales, framing, with_policy, seed in (
            ("tiny-x4", "natural", [4, 2], {"kind": "any"}, True, 11),
            ("tiny-face-x8", "face", [8], {"kind": "aligned-face", "size": 128}, False, 12)):
        d = os.path.join(FIX, "models", mid)
        os.makedirs(d, exist_ok=True)
        torch.manual_seed(seed)
        model = Denoiser(cfg)
        # zero-initialised output/residual convs would make eps == 0: randomise everything for a real test
        with torch.no_grad():
            for p in model.parameters():
                if p.dim() > 1:
                    p.normal_(0, (1.0 / max(1, p[0].numel())) ** 0.5)
                else:
                    p.normal_(0, 0.05)
        round_params_fp16(model)
        export_denoiser(model, os.path.join(d, "denoiser.onnx"), fp16=True)
        pcfg = PolicyConfig()
        if with_policy:
            policy = round_params_fp16(SkipPolicy(pcfg))
            export_policy(policy, os.path.join(d, "policy.onnx"), fp16=True)
        card = make_card(
            id=mid, task=task, scales=scales, primary=scales[0], framing=framing, multiple=cfg.multiple(),
            tile_size=64, tile_overlap=16, train_steps=1000, trained_on="random",
            data_sets=[], licence="none (random weights, test fixture)",
            degradation=degradation_entry("bicubic", scales[0]), policy_cfg=pcfg, has_policy=with_policy,
            architecture={"kind": "unet-pixelunshuffle", "params": n_params(model), "config": cfg.to_dict(),
                          "weights": "fp16 initializers + Cast, float32 I/O",
                          **({"policy": {"params": n_params(SkipPolicy(pcfg)), "config": pcfg.to_dict()}}
                             if with_policy else {})},
            training={"note": "random weights (N(0,1/fan_in)), for engine tests only; eps is meaningless",
                      "seed": seed})
        write_card(card, os.path.join(d, "card.json"))
        denoiser_parity(model, os.path.join(FIX, "parity", mid), f"test/fixtures/models/{mid}/denoiser.onnx",
                        note="random tiny denoiser")
        if with_policy:
            policy_parity(policy, os.path.join(FIX, "parity", mid + "-policy"),
                          f"test/fixtures/models/{mid}/policy.onnx")


def tiny_face_blind():
    """test/fixtures/models/face-blind/tiny-face-blind: random tiny face-blind denoiser (256² aligned face in, 256² out, x1)."""
    cfg = PRESETS["tiny-fb"]
    mid = "tiny-face-blind"
    # one folder down, so that the engine tests that scan test/fixtures/models do not pick it up
    d = os.path.join(FIX, "models", "face-blind", mid)
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(13)
    model = Denoiser(cfg)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, (1.0 / max(1, p[0].numel())) ** 0.5) if p.dim() > 1 else p.normal_(0, 0.05)
    round_params_fp16(model)
    export_denoiser(model, os.path.join(d, "denoiser.onnx"), fp16=True)
    card = make_card(
        id=mid, task="face-blind", scales=[1], primary=1,
        framing={"kind": "aligned-face", "size": 256, "template": "utkface"}, multiple=cfg.multiple(),
        tile_size=256, tile_overlap=0, train_steps=1000, trained_on="random", data_sets=[],
        licence="none (random weights, test fixture)",
        degradation={"kind": "blind-face", "details": "random weights; the real package: degrade_face.py"},
        architecture={"kind": "unet-pixelunshuffle", "params": n_params(model), "config": cfg.to_dict(),
                      "weights": "fp16 initializers + Cast, float32 I/O"},
        training={"note": "random weights (N(0,1/fan_in)), for the portrait face-blind code path only", "seed": 13})
    write_card(card, os.path.join(d, "card.json"))


def tiny_mask():
    """test/fixtures/models/repair/tiny-mask-x4: random tiny natural x4 denoiser with the damage-mask input (issue 17
    item 2: inputs x_t, cond, gamma, mask), and its parity fixture test/fixtures/parity/tiny-mask-x4."""
    import dataclasses
    from daguerre_train.card import damage_entry
    cfg = dataclasses.replace(PRESETS["tiny"], mask_in=True)
    mid = "tiny-mask-x4"
    # one folder down, so that the engine tests that scan test/fixtures/models do not pick it up
    d = os.path.join(FIX, "models", "repair", mid)
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(14)
    model = Denoiser(cfg)
    with torch.no_grad():  # every weight random, the mask's first-conv columns too (so the mask changes eps)
        for p in model.parameters():
            p.normal_(0, (1.0 / max(1, p[0].numel())) ** 0.5) if p.dim() > 1 else p.normal_(0, 0.05)
    round_params_fp16(model)
    export_denoiser(model, os.path.join(d, "denoiser.onnx"), fp16=True)
    degradation = degradation_entry("bicubic", 4)
    degradation["damage"] = damage_entry(0.3)
    card = make_card(
        id=mid, task="natural", scales=[4, 2], primary=4, framing={"kind": "any"}, multiple=cfg.multiple(),
        tile_size=64, tile_overlap=16, train_steps=1000, trained_on="random", data_sets=[],
        licence="none (random weights, test fixture)", degradation=degradation, mask_input=True,
        architecture={"kind": "unet-pixelunshuffle", "params": n_params(model), "config": cfg.to_dict(),
                      "weights": "fp16 initializers + Cast, float32 I/O"},
        training={"note": "random weights (N(0,1/fan_in)), for the engine's mask-input code path only", "seed": 14})
    write_card(card, os.path.join(d, "card.json"))
    denoiser_parity(model, os.path.join(FIX, "parity", mid), f"test/fixtures/models/repair/{mid}/denoiser.onnx",
                    size=32, note="random tiny denoiser with the mask input")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="bicubic,schedule,models")
    a = ap.parse_args()
    torch.set_num_threads(1)
    parts = a.only.split(",")
    if "bicubic" in parts:
        bicubic_cases()
    if "schedule" in parts:
        schedule_fixture()
    if "models" in parts:
        tiny_models()
    if "models" in parts or "faceblind" in parts:
        tiny_face_blind()
    if "models" in parts or "mask" in parts:
        tiny_mask()
    print("fixtures written under", FIX)


if __name__ == "__main__":
    main()
