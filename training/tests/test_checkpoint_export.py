import argparse
import os
import tempfile
import unittest

import numpy as np
import onnx
import torch

import _common  # noqa: F401
from daguerre_train import checkpoint as ckpt
from daguerre_train.ema import EMA
from daguerre_train.export import export_denoiser, export_policy
from daguerre_train.model import PRESETS, Denoiser, PolicyConfig, SkipPolicy
from daguerre_train.trainer import add_args, train

# ../shared/data beside the repository (as on developer machines and in CI)
_SHARED = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data"))
FACES = os.path.join(_SHARED, "faces", "train")
NATURAL = os.path.join(_SHARED, "natural", "train")


class TestCheckpoint(unittest.TestCase):
    def test_save_load_roundtrip(self):
        torch.manual_seed(0)
        m = Denoiser(PRESETS["tiny"])
        opt = torch.optim.AdamW(m.parameters(), lr=1e-3)
        ema = EMA(m, 0.99)
        x = torch.randn(2, 3, 32, 32)
        for _ in range(2):
            loss = m(x, x, torch.rand(2)).square().mean() + sum(p.square().sum() for p in m.parameters()) * 1e-3
            opt.zero_grad()
            loss.backward()
            opt.step()
            ema.update()
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "ck")
            ckpt.save(path, model=m, ema=ema, opt=opt, state={"step": 2, "samples": 4}, model_cfg=m.cfg.to_dict())
            for fn in os.listdir(path):
                self.assertLessEqual(os.path.getsize(os.path.join(path, fn)), 16 * 1024 * 1024)
            m2 = Denoiser(PRESETS["tiny"])
            opt2 = torch.optim.AdamW(m2.parameters(), lr=1e-3)
            ema2 = EMA(m2, 0.99)
            st = ckpt.load(path, model=m2, ema=ema2, opt=opt2)
            self.assertEqual(st["step"], 2)
            for a, b in zip(m.parameters(), m2.parameters()):
                self.assertTrue(torch.equal(a, b))
            for a, b in zip(ema.shadow, ema2.shadow):
                self.assertTrue(torch.equal(a.half().float(), b))
            s1, s2 = opt.state_dict()["state"], opt2.state_dict()["state"]
            self.assertEqual(len(s1), len(s2))
            for k in s1:
                self.assertTrue(torch.equal(s1[k]["exp_avg"], s2[k]["exp_avg"]))
            em, _ = ckpt.load_ema_model(path)
            with torch.no_grad():
                self.assertEqual(em(x, x, torch.rand(2)).shape, x.shape)

    def test_sharding(self):
        big = {f"w{i}": torch.zeros(1024 * 1024) for i in range(10)}  # 40 MiB
        with tempfile.TemporaryDirectory() as d:
            names = ckpt._shard(big, "x", d)
            self.assertGreaterEqual(len(names), 3)
            for fn in names:
                self.assertLessEqual(os.path.getsize(os.path.join(d, fn)), 16 * 1024 * 1024)

    @unittest.skipUnless(os.path.isdir(FACES), "faces data not present")
    def test_train_resume(self):
        with tempfile.TemporaryDirectory() as d:
            ap = add_args(argparse.ArgumentParser())
            a = ap.parse_args(["--preset", "tiny", "--limit", "16", "--batch", "2", "--max-steps", "3",
                               "--log-every", "1", "--out", d, "--threads", "1"])
            st = train(a)
            self.assertEqual(st["step"], 3)
            a = ap.parse_args(["--preset", "tiny", "--limit", "16", "--batch", "2", "--max-steps", "5",
                               "--log-every", "1", "--out", d, "--threads", "1", "--resume"])
            st = train(a)
            self.assertEqual(st["step"], 5)
            self.assertEqual(st["samples"], 10)
            self.assertEqual(len(st["sessions"]), 2)


    @unittest.skipUnless(os.path.isdir(NATURAL), "natural data not present")
    def test_train_natural_patches(self):
        with tempfile.TemporaryDirectory() as d:
            ap = add_args(argparse.ArgumentParser())
            a = ap.parse_args(["--task", "natural", "--data", NATURAL, "--scale", "4", "--patch", "32",
                               "--preset", "tiny", "--limit", "8", "--batch", "2", "--max-steps", "2",
                               "--log-every", "1", "--out", d, "--threads", "1", "--degrade", "oldphoto"])
            self.assertEqual(train(a)["step"], 2)

    @unittest.skipUnless(os.path.isdir(NATURAL), "natural data not present")
    def test_train_init_from_ema(self):
        """--init starts a run from another run's EMA weights (fine-tuning) and refuses another architecture."""
        with tempfile.TemporaryDirectory() as d:
            torch.manual_seed(3)
            src = Denoiser(PRESETS["tiny"])
            ema = EMA(src, 0.9)
            ckpt.save(os.path.join(d, "src"), model=src, ema=ema, opt=torch.optim.AdamW(src.parameters()),
                      state={"step": 0, "samples": 0}, model_cfg=src.cfg.to_dict())
            ap = add_args(argparse.ArgumentParser())
            base = ["--task", "natural", "--data", NATURAL, "--scale", "4", "--patch", "32", "--limit", "4",
                    "--batch", "2", "--max-steps", "1", "--lr", "0", "--warmup", "1", "--clip", "0",
                    "--threads", "1", "--log-every", "1"]
            a = ap.parse_args(base + ["--preset", "tiny", "--init", os.path.join(d, "src"), "--out", os.path.join(d, "ft")])
            train(a)
            got, _ = ckpt.load_ema_model(os.path.join(d, "ft", "ckpt"))
            want, _ = ckpt.load_ema_model(os.path.join(d, "src"))
            for (k, x), (_, y) in zip(got.state_dict().items(), want.state_dict().items()):
                self.assertTrue(torch.equal(x, y), k)  # lr 0: the fine-tune's weights are the init's
            b = ap.parse_args(base + ["--preset", "s4-32", "--init", os.path.join(d, "src"), "--out", os.path.join(d, "bad")])
            with self.assertRaisesRegex(ValueError, "differs"):
                train(b)

    def test_patch_data(self):
        from daguerre_train.data import PatchData
        if not os.path.isdir(NATURAL):
            self.skipTest("natural data not present")
        pd = PatchData(NATURAL, patch=48, limit=4)
        b = pd.batch(5, torch.Generator().manual_seed(0))
        self.assertEqual(b.shape, (5, 3, 48, 48))
        self.assertEqual(b.dtype, torch.uint8)


class TestExport(unittest.TestCase):
    def test_denoiser_export(self):
        m = Denoiser(PRESETS["tiny"]).eval()
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "den.onnx")
            export_denoiser(m, p, fp16=True)
            mo = onnx.load(p)
            onnx.checker.check_model(mo)
            self.assertEqual([i.name for i in mo.graph.input], ["x_t", "cond", "gamma"])
            self.assertEqual([o.name for o in mo.graph.output], ["eps"])
            self.assertEqual(mo.opset_import[0].version, 17)
            for i in mo.graph.input:
                self.assertEqual(i.type.tensor_type.elem_type, onnx.TensorProto.FLOAT)
            dims = [d.dim_param for d in mo.graph.input[0].type.tensor_type.shape.dim]
            self.assertEqual(dims[0], "B")
            self.assertEqual(dims[2:], ["H", "W"])
            self.assertTrue(any(init.data_type == onnx.TensorProto.FLOAT16 for init in mo.graph.initializer))

    def test_x0res_export(self):
        m = Denoiser(PRESETS["tiny-x0"]).eval()
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "den.onnx")
            export_denoiser(m, p, fp16=True)
            onnx.checker.check_model(onnx.load(p))

    def test_policy_export(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "pol.onnx")
            export_policy(SkipPolicy(PolicyConfig()), p)
            mo = onnx.load(p)
            onnx.checker.check_model(mo)
            self.assertEqual([i.name for i in mo.graph.input], ["x0_hat", "t_feat", "h"])
            self.assertEqual([o.name for o in mo.graph.output], ["p_denoise", "value", "h_out"])


if __name__ == "__main__":
    unittest.main()
