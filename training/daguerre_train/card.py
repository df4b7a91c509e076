"""Model card (card.json) builder matching src/shared/card.ts (zod ModelCard)."""
from __future__ import annotations

import json

from .degrade import OLDPHOTO_DETAILS

# Knob -> N on the 100-level fine grid. 0 = faithful (N=2: two fine levels after the coarse pass),
# 0.5 -> N=10 (the paper's handoff, 100-step alpha_9 = 10-step alpha_0), 1 -> N=40 (long detailed fine path).
DEFAULT_KNOB = [[0.0, 2], [0.5, 10], [1.0, 40]]


def degradation_entry(kind: str, scale: int, p_real: float = 0.8):
    if kind == "bicubic":
        return {"kind": "bicubic", "details": f"HR -> LR x1/{scale} by antialiased bicubic (torch interpolate "
                "antialias=True), LR rounded to uint8, cond = bicubic up (a=-0.75, align_corners=False) in [-1,1], clamped"}
    if kind == "real":
        from .degrade_real import DEFAULT, describe
        return {"kind": "real", "details": describe(DEFAULT, p_real), "config": DEFAULT.to_dict(), "pReal": p_real}
    return {"kind": kind, "details": OLDPHOTO_DETAILS}


def damage_entry(p: float) -> dict:
    """degradation.damage of a mask-input model (trainer --mask-p p): what it was trained to repair."""
    from .damage import DEFAULT
    return {"pMask": p, "details": DEFAULT.details(p), "config": DEFAULT.to_dict()}


def make_card(*, id: str, task: str, scales, primary: int, framing: dict, multiple: int, tile_size: int,
              tile_overlap: int, train_steps: int, trained_on: str, data_sets, licence: str, degradation: dict,
              policy_cfg=None, architecture=None, training=None, metrics=None, version="0.1.0", emb_scale=1000.0,
              knob=None, has_policy: bool = False, mask_input: bool = False):
    card = {
        "id": id,
        "version": version,
        "task": task,
        "scales": list(scales),
        "primaryScale": primary,
        "framing": framing,
        "tile": {"size": tile_size, "overlap": tile_overlap, "multiple": multiple},
        "schedule": {"kind": "cosine", "s": 0.008, "trainSteps": train_steps},
        "gammaEmbedding": {"kind": "sinusoidal", "scale": emb_scale},
        "io": {"denoiser": {"inputs": ["x_t", "cond", "gamma"] + (["mask"] if mask_input else []), "outputs": ["eps"]}},
        "sampler": {"coarseSteps": 10, "fineSteps": 100, "fixedStrideCalls": 10, "knob": knob or DEFAULT_KNOB},
        "degradation": degradation,
        "data": {"sets": list(data_sets), "licence": licence},
        "trainedOn": trained_on,
        "training": training or {},
        "architecture": architecture or {},
        "metrics": metrics or {},
        "files": {"denoiser": "denoiser.onnx"},
    }
    if has_policy:
        card["io"]["policy"] = {"inputs": ["x0_hat", "t_feat", "h"], "outputs": ["p_denoise", "value", "h_out"],
                                "imageSize": policy_cfg.image_size, "hidden": policy_cfg.hidden}
        card["files"]["policy"] = "policy.onnx"
    return card


def write_card(card: dict, path: str):
    with open(path, "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
