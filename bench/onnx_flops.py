#!/usr/bin/env python3
"""FLOPs of one call of an ONNX graph, counted from its shapes (issue 19, item 2).

Usage: /usr/bin/python3 bench/onnx_flops.py <model.onnx> [--size 128] [--batch 1] [--json]
       /usr/bin/python3 bench/onnx_flops.py --cards [--models-dir models] [--write]

What is counted: multiply-accumulates of Conv, ConvTranspose, MatMul and Gemm, from the shapes that
onnx shape inference gives with the inputs fixed to batch x C x size x size (gamma: batch), and
FLOPs = 2 x MACs. Bias adds, normalisation, activations, resizes and other element-wise ops are not
counted (they are reported separately as `otherElems`, the output elements of all other nodes, as
an upper-bound hint of their size; for the 3.6 M denoiser they are < 1 % of the MACs).

--cards computes every models/<id>/card.json denoiser at the card's tile size and, with --write,
records `metrics.gflopsPerCall128` (GFLOP per 128x128 call, batch 1) and `metrics.gflopsCounted`.
"""
import argparse
import json
import os
import sys

import onnx
from onnx import shape_inference, numpy_helper


def _fix_inputs(model, batch, size):
    init = {i.name for i in model.graph.initializer}
    for inp in model.graph.input:
        if inp.name in init:
            continue
        dims = inp.type.tensor_type.shape.dim
        nd = len(dims)
        for k, d in enumerate(dims):
            if d.HasField('dim_value') and d.dim_value > 0:
                continue
            if k == 0:
                v = batch
            elif nd == 4 and k >= 2:
                v = size
            else:
                raise SystemExit(f'{inp.name}: cannot fix symbolic dim {k} ({d.dim_param!r})')
            d.Clear()
            d.dim_value = v


def _shapes(model):
    out = {}
    vis = list(model.graph.value_info) + list(model.graph.input) + list(model.graph.output)
    for v in vis:
        t = v.type.tensor_type
        if not t.HasField('shape'):
            continue
        dims = []
        for d in t.shape.dim:
            dims.append(d.dim_value if d.HasField('dim_value') else None)
        out[v.name] = dims
    for i in model.graph.initializer:
        out[i.name] = list(i.dims)
    # Constant nodes
    for n in model.graph.node:
        if n.op_type == 'Constant':
            for a in n.attribute:
                if a.name == 'value':
                    out[n.output[0]] = list(a.t.dims)
    return out


def _prod(xs):
    p = 1
    for x in xs:
        p *= x
    return p


def count(path, batch=1, size=128):
    model = onnx.load(path)
    _fix_inputs(model, batch, size)
    model = shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    sh = _shapes(model)
    per_op = {}
    other = 0
    unknown = []

    def add(op, macs):
        per_op[op] = per_op.get(op, 0) + macs

    for n in model.graph.node:
        op = n.op_type
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        if op in ('Conv', 'ConvTranspose', 'MatMul', 'Gemm'):
            ins = [sh.get(x) for x in n.input[:2]]
            o = sh.get(n.output[0])
            if any(s is None or None in s for s in ins) or o is None or None in o:
                unknown.append(n.name or op)
                continue
            x, w = ins
            if op == 'Conv':
                g = attrs.get('group', 1)
                # w: Cout x Cin/g x k...
                add(op, _prod(o) * _prod(w[1:]))
            elif op == 'ConvTranspose':
                g = attrs.get('group', 1)
                # w: Cin x Cout/g x k...; each input element meets Cout/g * k taps
                add(op, _prod(x) * _prod(w[1:]))
            elif op == 'MatMul':
                k = x[-1]
                add(op, _prod(o) * k)
            else:  # Gemm
                k = x[0] if attrs.get('transA', 0) else x[-1]
                add(op, _prod(o) * k)
        elif op not in ('Constant', 'Shape', 'Reshape', 'Unsqueeze', 'Squeeze', 'Cast', 'Identity'):
            o = sh.get(n.output[0]) if n.output else None
            if o is not None and None not in o:
                other += _prod(o)
    macs = sum(per_op.values())
    params = sum(_prod(i.dims) for i in model.graph.initializer)
    return {
        'model': path,
        'batch': batch,
        'size': size,
        'macs': macs,
        'gflops': 2 * macs / 1e9,
        'perOpGflops': {k: 2 * v / 1e9 for k, v in sorted(per_op.items())},
        'otherElems': other,
        'params': params,
        'unknownShapes': unknown,
    }


COUNTED = 'Conv/ConvTranspose/MatMul/Gemm multiply-accumulates x 2 at batch 1, 128x128 (onnx shape inference; bench/onnx_flops.py); element-wise ops not counted'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('model', nargs='?')
    ap.add_argument('--size', type=int, default=128)
    ap.add_argument('--batch', type=int, default=1)
    ap.add_argument('--json', action='store_true')
    ap.add_argument('--cards', action='store_true')
    ap.add_argument('--models-dir', default='models')
    ap.add_argument('--write', action='store_true')
    a = ap.parse_args()
    if a.cards:
        for d in sorted(os.listdir(a.models_dir)):
            cp = os.path.join(a.models_dir, d, 'card.json')
            if not os.path.isfile(cp):
                continue
            with open(cp) as f:
                card = json.load(f)
            den = os.path.join(a.models_dir, d, card.get('files', {}).get('denoiser', 'denoiser.onnx'))
            if not os.path.isfile(den):
                print(f'{d}: no denoiser file {den}', file=sys.stderr)
                continue
            r = count(den, 1, 128)
            if r['unknownShapes']:
                raise SystemExit(f'{den}: shapes unknown for {r["unknownShapes"]}')
            g = round(r['gflops'], 3)
            print(f'{d}: {g} GFLOP per 128x128 call ({", ".join(f"{k} {v:.3f}" for k, v in r["perOpGflops"].items())}; other elements {r["otherElems"] / 1e6:.1f} M)')
            if a.write:
                card.setdefault('metrics', {})
                card['metrics']['gflopsPerCall128'] = g
                card['metrics']['gflopsCounted'] = COUNTED
                with open(cp, 'w') as f:
                    json.dump(card, f, indent=2, ensure_ascii=False)
                    f.write('\n')
        return
    if not a.model:
        ap.error('a model path or --cards')
    if not os.path.isfile(a.model):
        raise SystemExit(f'{a.model}: no such file')
    r = count(a.model, a.batch, a.size)
    if a.json:
        print(json.dumps(r, indent=2))
    else:
        print(f'{a.model}: {r["gflops"]:.4f} GFLOP per call at batch {a.batch}, {a.size}x{a.size} ({r["params"] / 1e6:.2f} M params)')
        for k, v in r['perOpGflops'].items():
            print(f'  {k}: {v:.4f} GFLOP')
        print(f'  other ops (not counted): {r["otherElems"] / 1e6:.2f} M output elements')
        if r['unknownShapes']:
            print(f'  shapes unknown for: {r["unknownShapes"]}')


if __name__ == '__main__':
    main()
