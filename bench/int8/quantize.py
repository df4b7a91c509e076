#!/usr/bin/env python3
"""Static int8 quantisation of a denoiser, written with the onnx package (Python onnxruntime, whose
quantisation tool this replaces, is not installable here). Issue 19, item 2; never part of the product
unless it passes (bench/int8/README.md).

  /usr/bin/python3 bench/int8/quantize.py prepare <denoiser.onnx> <work-dir>
      -> <work-dir>/fp32.onnx  (fp16 initializers + Cast folded into fp32 initializers: the same network)
         <work-dir>/calib.onnx (fp32.onnx with every Conv's input and output as extra graph outputs)
         <work-dir>/tensors.json (those tensor names, per Conv)
  npx tsx bench/int8/calibrate.ts ...   (runs calib.onnx on real tiles -> <work-dir>/ranges.json)
  /usr/bin/python3 bench/int8/quantize.py build <work-dir> <out.onnx> [--skip-last] [--skip-first] [--keep REGEX] [--percentile]

The build writes a QDQ graph: for every Conv, QuantizeLinear/DequantizeLinear (uint8, asymmetric,
range from calibration) on its activation input and on its output, the weight as int8 per output
channel (symmetric, scale = max|w_c| / 127) behind a DequantizeLinear(axis 0), the bias as int32 with
scale s_x * s_w[c]. onnxruntime's graph optimiser fuses DQ -> Conv -> Q into QLinearConv (u8 x s8).
Everything else (normalisation, SiLU, adds, the embedding Gemms) stays float32.
--skip-last leaves the last Conv (the eps output) float; --skip-first the first (the x_t/cond input);
--keep REGEX every Conv whose node name matches (e.g. '^/(inp|out|up\.2\.)');
--percentile uses the calibration's 99.99th-percentile range instead of min/max.
"""
import json
import os
import re
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def fold_fp16_casts(model):
    init = {i.name: i for i in model.graph.initializer}
    uses = {}
    for n in model.graph.node:
        for x in n.input:
            uses[x] = uses.get(x, 0) + 1
    keep_nodes = []
    new_inits = []
    dropped = set()
    for n in model.graph.node:
        to = next((a.i for a in n.attribute if a.name == 'to'), None)
        if n.op_type == 'Cast' and n.input[0] in init and to == TensorProto.FLOAT:
            arr = numpy_helper.to_array(init[n.input[0]]).astype(np.float32)
            new_inits.append(numpy_helper.from_array(arr, n.output[0]))
            uses[n.input[0]] -= 1
            if uses[n.input[0]] == 0:
                dropped.add(n.input[0])
            continue
        keep_nodes.append(n)
    inits = [i for i in model.graph.initializer if i.name not in dropped] + new_inits
    del model.graph.node[:]
    model.graph.node.extend(keep_nodes)
    del model.graph.initializer[:]
    model.graph.initializer.extend(inits)
    return model


def convs(model):
    return [n for n in model.graph.node if n.op_type == 'Conv']


def prepare(src, work):
    os.makedirs(work, exist_ok=True)
    m = fold_fp16_casts(onnx.load(src))
    onnx.save(m, os.path.join(work, 'fp32.onnx'))
    names = []
    seen = set()
    outs = {o.name for o in m.graph.output}
    per = []
    for n in convs(m):
        per.append({'conv': n.name, 'input': n.input[0], 'output': n.output[0]})
        for t in (n.input[0], n.output[0]):
            if t not in seen and t not in outs:
                seen.add(t)
                names.append(t)
    for t in names:
        m.graph.output.append(helper.make_tensor_value_info(t, TensorProto.FLOAT, None))
    onnx.save(m, os.path.join(work, 'calib.onnx'))
    with open(os.path.join(work, 'tensors.json'), 'w') as f:
        json.dump({'tensors': names, 'convs': per}, f, indent=1)
    print(f'{len(per)} Conv nodes, {len(names)} tensors to calibrate -> {work}')


def _u8_params(lo, hi):
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    scale = (hi - lo) / 255.0 if hi > lo else 1.0
    zp = int(np.clip(round(-lo / scale), 0, 255))
    return np.float32(scale), np.uint8(zp)


def build(work, out, skip_last=False, skip_first=False, percentile=False, keep=None):
    m = onnx.load(os.path.join(work, 'fp32.onnx'))
    with open(os.path.join(work, 'ranges.json')) as f:
        ranges = json.load(f)['ranges']
    init = {i.name: i for i in m.graph.initializer}
    nodes = list(m.graph.node)
    cv = [n for n in nodes if n.op_type == 'Conv']
    skip = set()
    if skip_last:
        skip.add(cv[-1].name)
    if skip_first:
        skip.add(cv[0].name)
    if keep:
        skip |= {n.name for n in cv if re.search(keep, n.name)}
    new_inits = []
    dq_of = {}  # fp32 tensor -> its DQ'd name (already quantised)
    act = {}  # tensor -> (scale, zp)
    pre = {}  # node name -> nodes to insert before it
    post = {}  # node name -> nodes to insert after it

    def rng(t):
        r = ranges[t]
        return (r['p_lo'], r['p_hi']) if percentile else (r['min'], r['max'])

    def qdq(t, tag, where):
        s, z = _u8_params(*rng(t))
        act[t] = (s, z)
        sn, zn = f'{t}__s', f'{t}__z'
        new_inits.append(numpy_helper.from_array(np.array(s, np.float32), sn))
        new_inits.append(numpy_helper.from_array(np.array(z, np.uint8), zn))
        return s, sn, zn

    count = 0
    for n in cv:
        if n.name in skip:
            continue
        count += 1
        x = n.input[0]
        # activation input
        if x in dq_of:
            n.input[0] = dq_of[x]
            sx = act[x][0]
        else:
            sx, sn, zn = qdq(x, 'in', 'pre')
            q, d = f'{x}__q', f'{x}__dq'
            pre.setdefault(n.name, []).extend([
                helper.make_node('QuantizeLinear', [x, sn, zn], [q], name=f'{x}/Q'),
                helper.make_node('DequantizeLinear', [q, sn, zn], [d], name=f'{x}/DQ'),
            ])
            dq_of[x] = d
            n.input[0] = d
        # weight: int8 per output channel, symmetric
        w = numpy_helper.to_array(init[n.input[1]]).astype(np.float32)
        amax = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
        sw = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
        wq = np.clip(np.round(w / sw.reshape(-1, *([1] * (w.ndim - 1)))), -127, 127).astype(np.int8)
        wn = n.input[1]
        new_inits += [numpy_helper.from_array(wq, f'{wn}__q'), numpy_helper.from_array(sw, f'{wn}__s'),
                      numpy_helper.from_array(np.zeros_like(sw, dtype=np.int8), f'{wn}__z')]
        pre.setdefault(n.name, []).append(
            helper.make_node('DequantizeLinear', [f'{wn}__q', f'{wn}__s', f'{wn}__z'], [f'{wn}__dq'], name=f'{wn}/DQ', axis=0))
        n.input[1] = f'{wn}__dq'
        # bias: int32, scale sx * sw
        if len(n.input) > 2 and n.input[2]:
            bn = n.input[2]
            b = numpy_helper.to_array(init[bn]).astype(np.float64)
            sb = (np.float64(sx) * sw.astype(np.float64)).astype(np.float32)
            bq = np.clip(np.round(b / sb), -2**31, 2**31 - 1).astype(np.int32)
            new_inits += [numpy_helper.from_array(bq, f'{bn}__q'), numpy_helper.from_array(sb, f'{bn}__s'),
                          numpy_helper.from_array(np.zeros_like(bq), f'{bn}__z')]
            pre.setdefault(n.name, []).append(
                helper.make_node('DequantizeLinear', [f'{bn}__q', f'{bn}__s', f'{bn}__z'], [f'{bn}__dq'], name=f'{bn}/DQ', axis=0))
            n.input[2] = f'{bn}__dq'
        # output: Q -> DQ back to the original name, so every consumer is unchanged
        y = n.output[0]
        s, sn, zn = qdq(y, 'out', 'post')
        n.output[0] = f'{y}__pre'
        post.setdefault(n.name, []).extend([
            helper.make_node('QuantizeLinear', [f'{y}__pre', sn, zn], [f'{y}__q'], name=f'{y}/Q'),
            helper.make_node('DequantizeLinear', [f'{y}__q', sn, zn], [y], name=f'{y}/DQ'),
        ])
        dq_of[y] = y  # already a DQ output: a following Conv reads it directly
    order = []
    for n in nodes:
        order += pre.get(n.name, [])
        order.append(n)
        order += post.get(n.name, [])
    used = {x for n in order for x in n.input}
    inits = [i for i in m.graph.initializer if i.name in used] + [i for i in new_inits if i.name in used]
    del m.graph.node[:]
    m.graph.node.extend(order)
    del m.graph.initializer[:]
    m.graph.initializer.extend(inits)
    onnx.checker.check_model(m)
    onnx.save(m, out)
    print(f'{count} of {len(cv)} Conv nodes quantised (skipped: {sorted(skip) or "none"}; ranges: {"p99.99" if percentile else "min/max"}) -> {out}')


def main():
    a = sys.argv[1:]
    if len(a) >= 3 and a[0] == 'prepare':
        if not os.path.isfile(a[1]):
            raise SystemExit(f'{a[1]}: no such file')
        prepare(a[1], a[2])
    elif len(a) >= 3 and a[0] == 'build':
        if not os.path.isfile(os.path.join(a[1], 'ranges.json')):
            raise SystemExit(f'{a[1]}/ranges.json: not found (run bench/int8/calibrate.ts first)')
        keep = a[a.index('--keep') + 1] if '--keep' in a else None
        build(a[1], a[2], skip_last='--skip-last' in a, skip_first='--skip-first' in a, percentile='--percentile' in a, keep=keep)
    else:
        raise SystemExit(__doc__)


if __name__ == '__main__':
    main()
