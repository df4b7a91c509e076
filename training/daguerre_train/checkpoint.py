"""Checkpoints split into files of <= 16 MiB:

  <dir>/ema_fp16.pt        EMA weights in fp16 + model config (what export uses; a 3.5 M model is ~7 MB)
  <dir>/model_fp32.NN.pt   training weights (fp32), sharded
  <dir>/optim.NN.pt        optimiser state (fp32), sharded
  <dir>/state.json         step, samples seen, wall time, EMA count, RNG seed, args, shard lists

Written to <dir>.tmp then renamed, so an interrupted save never corrupts the last good checkpoint.
"""
from __future__ import annotations

import json
import os
import shutil

import torch

MAX_BYTES = 16 * 1024 * 1024 - 64 * 1024  # leave room for pickle overhead


def _load(path, map_location):
    """torch.load of our own files (torch >= 2.6 defaults to weights_only=True; these hold configs and optimiser
    param groups too)."""
    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    except TypeError:  # very old torch
        return torch.load(path, map_location=map_location)


def _nbytes(v) -> int:
    if torch.is_tensor(v):
        return v.numel() * v.element_size()
    if isinstance(v, dict):
        return sum(_nbytes(x) for x in v.values())
    if isinstance(v, (list, tuple)):
        return sum(_nbytes(x) for x in v)
    return 64


def _shard(flat: dict, prefix: str, d: str):
    shards, cur, size = [], {}, 0
    for k, v in flat.items():
        b = _nbytes(v)
        if cur and size + b > MAX_BYTES:
            shards.append(cur)
            cur, size = {}, 0
        cur[k] = v
        size += b
    if cur:
        shards.append(cur)
    names = []
    for i, s in enumerate(shards):
        fn = f"{prefix}.{i:02d}.pt"
        torch.save(s, os.path.join(d, fn))
        names.append(fn)
    return names


def _cpu(v):
    if torch.is_tensor(v):
        return v.detach().cpu()
    if isinstance(v, dict):
        return {k: _cpu(x) for k, x in v.items()}
    return v


def save(d: str, *, model, ema, opt, state: dict, model_cfg: dict):
    tmp = d.rstrip("/") + ".tmp"
    if os.path.exists(tmp):
        shutil.rmtree(tmp)
    os.makedirs(tmp)
    torch.save({"config": model_cfg, "state_dict": ema.state_dict_for(model, torch.float16),
                "ema_updates": ema.num_updates}, os.path.join(tmp, "ema_fp16.pt"))
    msd = {k: v.detach().float().cpu() if v.is_floating_point() else v.cpu() for k, v in model.state_dict().items()}
    model_files = _shard(msd, "model_fp32", tmp)
    osd = opt.state_dict()
    flat = {"param_groups": osd["param_groups"]}
    for pid, st in osd["state"].items():
        flat[f"state.{pid}"] = _cpu(st)
    optim_files = _shard(flat, "optim", tmp)
    st = dict(state)
    st.update({"model_files": model_files, "optim_files": optim_files, "ema_file": "ema_fp16.pt",
               "ema_updates": ema.num_updates})
    with open(os.path.join(tmp, "state.json"), "w") as f:
        json.dump(st, f, indent=2)
    for fn in os.listdir(tmp):
        assert os.path.getsize(os.path.join(tmp, fn)) <= 16 * 1024 * 1024, fn
    if os.path.exists(d):
        old = d.rstrip("/") + ".old"
        if os.path.exists(old):
            shutil.rmtree(old)
        os.rename(d, old)
        os.rename(tmp, d)
        shutil.rmtree(old)
    else:
        os.rename(tmp, d)


def load(d: str, *, model, ema, opt, map_location="cpu") -> dict:
    with open(os.path.join(d, "state.json")) as f:
        st = json.load(f)
    msd = {}
    for fn in st["model_files"]:
        msd.update(_load(os.path.join(d, fn), map_location))
    model.load_state_dict(msd)
    e = _load(os.path.join(d, st["ema_file"]), map_location)
    ema.load_shadow(model, e["state_dict"])
    ema.num_updates = st["ema_updates"]
    flat = {}
    for fn in st["optim_files"]:
        flat.update(_load(os.path.join(d, fn), map_location))
    osd = {"param_groups": flat.pop("param_groups"), "state": {int(k.split(".", 1)[1]): v for k, v in flat.items()}}
    opt.load_state_dict(osd)
    return st


def load_ema_model(path: str, map_location="cpu"):
    """Build a Denoiser from an ema_fp16.pt (file or checkpoint dir), weights in fp32 (fp16-exact)."""
    from .model import Denoiser, UNetConfig

    if os.path.isdir(path):
        path = os.path.join(path, "ema_fp16.pt")
    e = _load(path, map_location)
    model = Denoiser(UNetConfig.from_dict(e["config"]))
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in e["state_dict"].items()})
    return model.eval(), e
