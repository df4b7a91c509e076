#!/usr/bin/env python3
"""Builds the CPU-peak microbenchmark models (bench/cpu-peak.ts) into a folder: one big MatMul and two
big 3x3 Convs, float32, weights as initializers. Prints a JSON line with each file and its FLOPs
(2 x multiply-accumulates). Usage: /usr/bin/python3 bench/cpu_peak_models.py <out-dir>"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def save(graph, path):
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, path)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(0)
    res = []
    # MatMul: (M x K) @ (K x N), weights constant.
    M = K = N = 1024
    w = numpy_helper.from_array((rng.standard_normal((K, N)) * 0.03).astype(np.float32), 'w')
    g = helper.make_graph([helper.make_node('MatMul', ['x', 'w'], ['y'])], 'matmul',
                          [helper.make_tensor_value_info('x', TensorProto.FLOAT, [M, K])],
                          [helper.make_tensor_value_info('y', TensorProto.FLOAT, [M, N])], [w])
    p = os.path.join(out, 'matmul.onnx')
    save(g, p)
    res.append({'name': f'MatMul {M}x{K} @ {K}x{N}', 'file': p, 'input': 'x', 'shape': [M, K], 'gflop': 2 * M * K * N / 1e9})
    # Conv: 1 x C x S x S, 3x3, C -> C, pad 1 (the denoiser's widest level is 128 channels; 256 as its concat inputs).
    for C, S in ((128, 64), (256, 32)):
        cw = numpy_helper.from_array((rng.standard_normal((C, C, 3, 3)) * 0.03).astype(np.float32), 'cw')
        cb = numpy_helper.from_array(np.zeros(C, np.float32), 'cb')
        g = helper.make_graph([helper.make_node('Conv', ['x', 'cw', 'cb'], ['y'], kernel_shape=[3, 3], pads=[1, 1, 1, 1])], 'conv',
                              [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, C, S, S])],
                              [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, C, S, S])], [cw, cb])
        p = os.path.join(out, f'conv{C}.onnx')
        save(g, p)
        res.append({'name': f'Conv 3x3 {C}->{C} at {S}x{S}', 'file': p, 'input': 'x', 'shape': [1, C, S, S], 'gflop': 2 * C * C * 9 * S * S / 1e9})
    print(json.dumps(res))


if __name__ == '__main__':
    main()
