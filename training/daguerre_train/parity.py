"""Parity fixtures: fixed inputs + PyTorch outputs as raw float32 little-endian .bin + meta.json."""
from __future__ import annotations

import json
import os

import numpy as np
import torch


def _write(arr: torch.Tensor, path: str):
    np.ascontiguousarray(arr.detach().cpu().numpy().astype("<f4")).tofile(path)


def write_parity(outdir: str, onnx_rel: str, kind: str, inputs: dict, outputs: dict, tol: float = 1e-3,
                 note: str = ""):
    """inputs/outputs: name -> tensor. onnx_rel: model path relative to the repo root."""
    os.makedirs(outdir, exist_ok=True)
    meta = {"model": onnx_rel, "kind": kind, "tolerance": tol, "dtype": "float32-le", "layout": "row-major (NCHW)",
            "note": note, "inputs": {}, "outputs": {}}
    for group, d in (("inputs", inputs), ("outputs", outputs)):
        for name, t in d.items():
            fn = f"{name}.bin"
            _write(t, os.path.join(outdir, fn))
            meta[group][name] = {"file": fn, "shape": list(t.shape)}
    with open(os.path.join(outdir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    return meta


def denoiser_parity(model, outdir, onnx_rel, seed=1234, B=2, size=64, note=""):
    g = torch.Generator().manual_seed(seed)
    x_t = torch.randn(B, 3, size, size, generator=g)
    cond = (torch.rand(B, 3, size, size, generator=g) * 2 - 1)
    gamma = torch.tensor([0.3, 0.9][:B] + [0.5] * max(0, B - 2), dtype=torch.float32)
    inputs = {"x_t": x_t, "cond": cond, "gamma": gamma}
    if model.cfg.mask_in:  # a damage mask: a few blocks of ones (drawn after the other inputs: same x_t, cond)
        inputs["mask"] = (torch.rand(B, 1, size // 8, size // 8, generator=g) < 0.2).float() \
            .repeat_interleave(8, 2).repeat_interleave(8, 3)
    with torch.no_grad():
        eps = model.eval()(*inputs.values())
    return write_parity(outdir, onnx_rel, "denoiser", inputs, {"eps": eps}, note=note)


def policy_parity(policy, outdir, onnx_rel, seed=4321, B=2):
    g = torch.Generator().manual_seed(seed)
    S, H = policy.cfg.image_size, policy.cfg.hidden
    x0 = torch.rand(B, 3, S, S, generator=g) * 2 - 1
    t_feat = torch.rand(B, 3, generator=g)
    h = torch.randn(B, H, generator=g) * 0.5
    with torch.no_grad():
        p, v, h_out = policy.eval()(x0, t_feat, h)
    return write_parity(outdir, onnx_rel, "policy", {"x0_hat": x0, "t_feat": t_feat, "h": h},
                        {"p_denoise": p, "value": v, "h_out": h_out})
