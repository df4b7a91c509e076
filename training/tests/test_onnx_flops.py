"""bench/onnx_flops.py counts Conv/ConvTranspose/MatMul/Gemm MACs from inferred shapes (issue 19)."""
import os
import sys
import tempfile
import unittest

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'bench'))
import onnx_flops  # noqa: E402


def _init(name, shape):
    return numpy_helper.from_array(np.zeros(shape, np.float32), name)


class TestOnnxFlops(unittest.TestCase):
    def test_hand_counted_graph(self):
        # x: B x 3 x H x W (symbolic) -> Conv 3x3 3->8 stride 2 -> grouped Conv 3x3 8->8 (g=4)
        # -> ConvTranspose 2x2 s2 8->4 -> flatten-free MatMul over W (W x 5) ; v: B x 16 -> Gemm 16->10
        nodes = [
            helper.make_node('Conv', ['x', 'w1'], ['a'], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
            helper.make_node('Relu', ['a'], ['a2']),
            helper.make_node('Conv', ['a2', 'w2'], ['b'], kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=4),
            helper.make_node('ConvTranspose', ['b', 'w3'], ['c'], kernel_shape=[2, 2], strides=[2, 2]),
            helper.make_node('MatMul', ['c', 'm'], ['d']),
            helper.make_node('Gemm', ['v', 'g'], ['e'], transB=1),
        ]
        g = helper.make_graph(
            nodes, 't',
            [helper.make_tensor_value_info('x', TensorProto.FLOAT, ['B', 3, 'H', 'W']),
             helper.make_tensor_value_info('v', TensorProto.FLOAT, ['B', 16])],
            [helper.make_tensor_value_info('d', TensorProto.FLOAT, None),
             helper.make_tensor_value_info('e', TensorProto.FLOAT, None)],
            [_init('w1', (8, 3, 3, 3)), _init('w2', (8, 2, 3, 3)), _init('w3', (8, 4, 2, 2)),
             _init('m', (32, 5)), _init('g', (10, 16))])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)])
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, 't.onnx')
            onnx.save(m, p)
            r = onnx_flops.count(p, batch=2, size=32)
        B, S = 2, 32
        conv1 = B * 8 * 16 * 16 * 3 * 3 * 3          # out elems x Cin x k x k
        conv2 = B * 8 * 16 * 16 * 2 * 3 * 3          # grouped: Cin/g = 2
        convt = B * 8 * 16 * 16 * 4 * 2 * 2          # in elems x Cout/g x k x k -> out B x 4 x 32 x 32
        matmul = B * 4 * 32 * 5 * 32                 # out elems x K
        gemm = B * 10 * 16
        self.assertEqual(r['unknownShapes'], [])
        self.assertEqual(r['macs'], conv1 + conv2 + convt + matmul + gemm)
        self.assertAlmostEqual(r['gflops'], 2 * (conv1 + conv2 + convt + matmul + gemm) / 1e9, places=12)
        self.assertEqual(r['otherElems'], B * 8 * 16 * 16)  # the Relu
        self.assertEqual(S, 32)

    def test_cost_scales_with_pixels(self):
        p = os.path.join(ROOT, 'test', 'fixtures', 'models', 'tiny-x4', 'denoiser.onnx')
        if not os.path.isfile(p):
            self.skipTest('no tiny-x4 fixture')
        a = onnx_flops.count(p, 1, 64)
        b = onnx_flops.count(p, 1, 128)
        self.assertEqual(a['unknownShapes'], [])
        conv = lambda r: r['perOpGflops'].get('Conv', 0)  # noqa: E731
        self.assertGreater(conv(a), 0)
        self.assertAlmostEqual(conv(b) / conv(a), 4.0, places=6)


if __name__ == '__main__':
    unittest.main()
