"""ONNX export (opset 17) of the denoiser and the skip policy; optional fp16 weight storage with Cast nodes."""
from __future__ import annotations

import inspect
import io

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

from .model import Denoiser, SkipPolicy

OPSET = 17


def _export(module, args, input_names, output_names, dynamic_axes) -> onnx.ModelProto:
    buf = io.BytesIO()
    # torch >= 2.9 defaults to the dynamo exporter, whose initializer names differ from the TorchScript exporter's
    # that every shipped package (and onnx_to_ckpt's name matching) was made with: ask for the latter where it exists
    kw = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    with torch.no_grad():
        torch.onnx.export(module, args, buf, opset_version=OPSET, input_names=input_names,
                          output_names=output_names, dynamic_axes=dynamic_axes, do_constant_folding=True, **kw)
    return onnx.load_from_string(buf.getvalue())


def weights_to_fp16(model: onnx.ModelProto, min_elems: int = 16) -> onnx.ModelProto:
    """Store float32 initializers with >= min_elems elements as fp16 + a Cast back to float32 (lossless when the
    weights are already fp16-representable, e.g. loaded from the fp16 EMA checkpoint). Inputs/outputs stay float32."""
    g = model.graph
    new_inits, casts = [], []
    for init in g.initializer:
        arr = numpy_helper.to_array(init)
        if init.data_type == TensorProto.FLOAT and arr.size >= min_elems:
            name16 = init.name + "__fp16"
            new_inits.append(numpy_helper.from_array(arr.astype(np.float16), name16))
            casts.append(helper.make_node("Cast", [name16], [init.name], to=TensorProto.FLOAT,
                                          name=init.name + "__cast"))
        else:
            new_inits.append(init)
    del g.initializer[:]
    g.initializer.extend(new_inits)
    nodes = list(g.node)
    del g.node[:]
    g.node.extend(casts + nodes)
    return model


def round_params_fp16(module: torch.nn.Module):
    """Make the fp32 weights exactly fp16-representable (so fp16 storage is lossless and parity is exact)."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(p.half().float())
    return module


def denoiser_inputs(model: Denoiser) -> list:
    """The ONNX input names (the card's io.denoiser.inputs): x_t, cond, gamma, and mask for a mask_in model."""
    return ["x_t", "cond", "gamma"] + (["mask"] if model.cfg.mask_in else [])


def export_denoiser(model: Denoiser, path: str, fp16: bool = True, size: int = 64) -> onnx.ModelProto:
    model = model.eval().float().cpu()
    x = torch.randn(1, 3, size, size)
    g = torch.full((1,), 0.5)
    dyn = {"x_t": {0: "B", 2: "H", 3: "W"}, "cond": {0: "B", 2: "H", 3: "W"}, "gamma": {0: "B"},
           "eps": {0: "B", 2: "H", 3: "W"}}
    args = (x, x.clone(), g)
    if model.cfg.mask_in:
        dyn["mask"] = {0: "B", 2: "H", 3: "W"}
        args = args + ((torch.rand(1, 1, size, size) < 0.1).float(),)
    m = _export(model, args, denoiser_inputs(model), ["eps"], dyn)
    if fp16:
        m = weights_to_fp16(m)
    m.doc_string = ("Daguerre SkipDiff denoiser: eps = f(x_t, cond, gamma" + (", mask" if model.cfg.mask_in else "")
                    + "); see card.json")
    onnx.checker.check_model(m)
    onnx.save(m, path)
    return m


def export_policy(policy: SkipPolicy, path: str, fp16: bool = True) -> onnx.ModelProto:
    policy = policy.eval().float().cpu()
    S, H = policy.cfg.image_size, policy.cfg.hidden
    args = (torch.randn(1, 3, S, S), torch.rand(1, 3), torch.zeros(1, H))
    dyn = {"x0_hat": {0: "B"}, "t_feat": {0: "B"}, "h": {0: "B"}, "p_denoise": {0: "B"}, "value": {0: "B"},
           "h_out": {0: "B"}}
    m = _export(policy, args, ["x0_hat", "t_feat", "h"], ["p_denoise", "value", "h_out"], dyn)
    if fp16:
        m = weights_to_fp16(m)
    m.doc_string = "Daguerre SkipDiff skip policy: (x0_hat, t_feat, h) -> (p_denoise, value, h_out)"
    onnx.checker.check_model(m)
    onnx.save(m, path)
    return m
