#!/usr/bin/env python3
"""Export a trained denoiser (EMA weights, fp16) to a model package: denoiser.onnx + card.json, and a parity fixture.

  /usr/bin/python3 training/export.py --ckpt training/runs/face-x8-cpu/ckpt --out models/face-x8 --id face-x8 \
      --task face --scale 8 --parity test/fixtures/parity/face-x8

--ckpt takes a checkpoint folder (uses its ema_fp16.pt and state.json) or an ema_fp16.pt file.
The card's training/architecture records come from state.json + run.json; extra JSON can be merged with --card-extra.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import torch  # noqa: E402

from daguerre_train.card import damage_entry, degradation_entry, make_card, write_card  # noqa: E402
from daguerre_train.checkpoint import load_ema_model  # noqa: E402
from daguerre_train.degrade_face import FaceDegradeConfig  # noqa: E402
from daguerre_train.export import export_denoiser  # noqa: E402
from daguerre_train.model import n_params  # noqa: E402
from daguerre_train.parity import denoiser_parity  # noqa: E402


def deep_merge(a, b):
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(a.get(k), dict):
            deep_merge(a[k], v)
        else:
            a[k] = v
    return a


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--out", required=True, help="package folder, e.g. models/face-x8")
    ap.add_argument("--id", required=True)
    ap.add_argument("--task", choices=["face", "natural", "face-blind"], required=True)
    ap.add_argument("--scale", type=int, required=True)
    ap.add_argument("--scales", default="", help="comma list (default: --scale)")
    ap.add_argument("--tile", type=int, default=128)
    ap.add_argument("--overlap", type=int, default=16)
    ap.add_argument("--trained-on", choices=["cpu", "gpu", "random"], default="cpu")
    ap.add_argument("--data-sets", default="UTKFace faces/train (4,300 aligned 128x128 faces)")
    ap.add_argument("--licence", default="UTKFace: non-commercial research only")
    ap.add_argument("--version", default="0.1.0")
    ap.add_argument("--fp32", action="store_true", help="store fp32 weights (default fp16 + Cast)")
    ap.add_argument("--parity", default="", help="write a parity fixture folder (repo-relative)")
    ap.add_argument("--card-extra", default="", help="JSON file merged into the card")
    a = ap.parse_args()
    torch.set_num_threads(1)

    model, e = load_ema_model(a.ckpt)
    ck_dir = a.ckpt if os.path.isdir(a.ckpt) else os.path.dirname(a.ckpt)
    state, run = {}, {}
    if os.path.exists(os.path.join(ck_dir, "state.json")):
        state = json.load(open(os.path.join(ck_dir, "state.json")))
    run_json = os.path.join(os.path.dirname(ck_dir.rstrip("/")), "run.json")
    if os.path.exists(run_json):
        run = json.load(open(run_json))
    targs = state.get("args", run.get("args", {}))
    os.makedirs(a.out, exist_ok=True)
    onnx_path = os.path.join(a.out, "denoiser.onnx")
    export_denoiser(model, onnx_path, fp16=not a.fp32)
    cfg = model.cfg
    scales = [int(s) for s in a.scales.split(",")] if a.scales else [a.scale]
    framing = {"kind": "aligned-face", "size": 128, "template": "utkface"} if a.task == "face" else \
        {"kind": "aligned-face", "size": 256, "template": "ffhq"} if a.task == "face-blind" else {"kind": "any"}
    training = {
        "samplesSeen": state.get("samples"), "steps": state.get("step"),
        "trainSeconds": round(state.get("train_seconds", 0.0), 1), "sessions": state.get("sessions", []),
        "emaUpdates": e.get("ema_updates"), "emaDecay": targs.get("ema"), "batch": targs.get("batch"),
        "lr": targs.get("lr"), "warmup": targs.get("warmup"), "loss": targs.get("loss"),
        "optimizer": run.get("optimizer"), "threads": targs.get("threads"), "device": run.get("device"),
        "torch": run.get("torch"), "seed": targs.get("seed"),
        "gammaSampling": "SR3: level k uniform in the T_train-step cosine grid, gamma uniform in "
                         "[sqrt(ab_k), sqrt(ab_{k-1})], ab_{-1} = 1; x_t = gamma x0 + sqrt(1-gamma^2) eps; eps-prediction",
        "augment": "horizontal flip" if a.task.startswith("face") else "random patches, flips, rot90",
        "command": "python3 training/train.py " + " ".join(
            (f"--{k.replace('_', '-')}" if v is True else f"--{k.replace('_', '-')} {v}") for k, v in targs.items()
            if v not in (None, False, "") and k != "resume"
            and not (targs.get("preset") and k in ("stem", "base", "mults", "blocks", "emb_dim"))),
    }
    degradation = ({"kind": "blind-face", "details": FaceDegradeConfig().details()} if a.task == "face-blind"
                   else degradation_entry(targs.get("degrade", "bicubic"), a.scale, targs.get("real_p", 0.8)))
    if cfg.mask_in:  # damage repair: the input `mask`, and what the model was trained to repair
        degradation["damage"] = damage_entry(float(targs.get("mask_p") or 0.0))
    card = make_card(
        id=a.id, task=a.task, scales=scales, primary=a.scale, framing=framing, multiple=cfg.multiple(),
        tile_size=a.tile, tile_overlap=a.overlap, train_steps=int(targs.get("train_steps", 1000)),
        trained_on=a.trained_on, data_sets=[a.data_sets], licence=a.licence,
        degradation=degradation, version=a.version, emb_scale=cfg.emb_scale, mask_input=cfg.mask_in,
        architecture={"kind": "unet-pixelunshuffle (SR3-style, conditional on concat(cond, x_t"
                              + (", mask" if cfg.mask_in else "") + "))",
                      "params": n_params(model), "config": cfg.to_dict(),
                      "weights": "fp32" if a.fp32 else "fp16 initializers + Cast, float32 I/O", "opset": 17},
        training=training, metrics={})
    if a.card_extra:
        deep_merge(card, json.load(open(a.card_extra)))
    write_card(card, os.path.join(a.out, "card.json"))
    print(f"wrote {onnx_path} ({os.path.getsize(onnx_path) / 1e6:.2f} MB) and card.json; params {n_params(model)}")
    if a.parity:
        rel = os.path.relpath(os.path.abspath(onnx_path), ROOT)
        denoiser_parity(model, os.path.join(ROOT, a.parity) if not os.path.isabs(a.parity) else a.parity, rel,
                        note=f"{a.id} EMA weights")
        print("parity fixture ->", a.parity)


if __name__ == "__main__":
    main()
