#!/usr/bin/env python3
"""Recover an ema_fp16.pt (train.py --init / export.py --ckpt) from a shipped model package when its training
checkpoint is gone (training/runs/ is git-ignored and not kept between sessions).

  /usr/bin/python3 training/onnx_to_ckpt.py models/natural-x4 training/runs/init-natural-x4/ema_fp16.pt

Named initializers (convs, linears) map by name. The exporter renames GroupNorm affine parameters
(onnx::Mul_N / onnx::Add_N), so each parameter of a fresh Denoiser (card.json architecture.config) is filled
with a distinct constant, exported the same way, and each anonymous initializer is matched to its parameter by
that constant. Verified: the recovered model, re-exported with fp16 weights, has exactly the package's
initializers (same names, bit-identical values); any mismatch is an error naming the tensor.
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daguerre_train.export import _export, weights_to_fp16  # noqa: E402
from daguerre_train.model import Denoiser, UNetConfig  # noqa: E402

DYN = {"x_t": {0: "B", 2: "H", 3: "W"}, "cond": {0: "B", 2: "H", 3: "W"}, "gamma": {0: "B"},
       "eps": {0: "B", 2: "H", 3: "W"}}


def export_inits(model, fp16: bool):
    from onnx import numpy_helper
    x = torch.zeros(1, 3, 64, 64)
    m = _export(model.eval(), (x, x.clone(), torch.full((1,), 0.5)), ["x_t", "cond", "gamma"], ["eps"], DYN)
    if fp16:
        m = weights_to_fp16(m)
    return {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}


def recover(pkg: str):
    from onnx import load, numpy_helper
    card_path = os.path.join(pkg, "card.json")
    onnx_path = os.path.join(pkg, "denoiser.onnx")
    for p in (card_path, onnx_path):
        if not os.path.exists(p):
            raise SystemExit(f"{p}: missing (need a model package folder with card.json and denoiser.onnx)")
    cfg = json.load(open(card_path))["architecture"]["config"]
    shipped = {t.name: numpy_helper.to_array(t) for t in load(onnx_path).graph.initializer}
    model = Denoiser(UNetConfig.from_dict(cfg))
    names = [k for k, _ in model.named_parameters()]
    with torch.no_grad():
        for j, (k, p) in enumerate(model.named_parameters()):
            p.fill_(float(j + 1))
    probe = export_inits(model, fp16=False)
    sd = {}
    for iname, arr in probe.items():
        vals = np.unique(arr)
        if len(vals) != 1 or not float(vals[0]).is_integer() or not 1 <= vals[0] <= len(names):
            continue  # a constant of the graph, not a parameter
        k = names[int(vals[0]) - 1]
        src = shipped.get(iname + "__fp16", shipped.get(iname))
        if src is None:
            raise SystemExit(f"{onnx_path}: initializer {iname} (parameter {k}) not in the package")
        ref = dict(model.named_parameters())[k]
        if src.size != ref.numel():
            raise SystemExit(f"{onnx_path}: {iname} has {src.size} values, parameter {k} has {ref.numel()}")
        sd[k] = torch.from_numpy(src.astype(np.float32).reshape(tuple(ref.shape)))
    missing = [k for k in names if k not in sd]
    if missing:
        raise SystemExit(f"{onnx_path}: no initializer found for {missing[:5]} ({len(missing)} parameters)")
    full = model.state_dict()
    full.update(sd)
    model.load_state_dict(full)
    again = export_inits(model, fp16=True)
    bad = [n for n in shipped if n not in again or again[n].shape != shipped[n].shape
           or not np.array_equal(again[n], shipped[n])]
    if bad or len(again) != len(shipped):
        raise SystemExit(f"{onnx_path}: re-export differs in {bad[:5]} ({len(bad)} tensors; {len(again)} vs "
                         f"{len(shipped)} initializers)")
    return model, cfg, len(shipped)


def main():
    if len(sys.argv) != 3:
        raise SystemExit("usage: onnx_to_ckpt.py <model package folder> <out ema_fp16.pt>")
    pkg, out = sys.argv[1:]
    torch.set_num_threads(1)
    model, cfg, n = recover(pkg)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    torch.save({"config": cfg, "state_dict": {k: v.half() if v.is_floating_point() else v
                                              for k, v in model.state_dict().items()},
                "ema_updates": None, "recoveredFrom": os.path.abspath(os.path.join(pkg, "denoiser.onnx"))}, out)
    print(f"{pkg}: {n} initializers re-exported bit-identically -> {out}")


if __name__ == "__main__":
    main()
