"""--data-workers: batches degraded by worker processes equal the serial path's (K = 0) bit for bit, do not depend on
K, and the pool shuts down cleanly at the end, on a worker's exception, on the trainer's exception and when a worker
dies."""
import argparse
import json
import multiprocessing as mp
import os
import tempfile
import time
import unittest
from unittest import mock

import numpy as np
import torch
from PIL import Image

import _common  # noqa: F401
from daguerre_train import trainer
from daguerre_train import checkpoint as ckpt
from daguerre_train.data import FaceBlindData, PatchData
from daguerre_train.degrade import degrade_batch
from daguerre_train.degrade_face import FaceDegradeConfig, degrade_face_batch
from daguerre_train.trainer import add_args, gamma_tables, make_feeder, sample_gamma, train
from daguerre_train.workers import DegradePool, Feeder, Pending, chunks


def write_images(folder, n, size_fn, seed):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        h, w = size_fn(i)
        # smooth random images (blur, JPEG and noise then act like on photos)
        base = rng.integers(0, 256, (h // 8 + 1, w // 8 + 1, 3)).astype(np.uint8)
        im = Image.fromarray(base).resize((w, h), Image.BICUBIC)
        im.save(os.path.join(folder, f"im{i:02d}.png"))


def args_for(extra):
    return add_args(argparse.ArgumentParser()).parse_args(extra)


def alive_workers(pool):
    return [p for p in pool.procs if p.is_alive()]


class TestChunks(unittest.TestCase):
    def test_chunks_cover(self):
        for n, k in [(10, 3), (3, 8), (256, 7), (1, 1)]:
            sl = chunks(n, k)
            self.assertEqual([i for s in sl for i in range(n)[s]], list(range(n)))
            self.assertLessEqual(len(sl), min(n, k))


class TestBatchesDoNotDependOnK(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.tmp.name
        write_images(os.path.join(d, "nat"), 5, lambda i: (64 + 8 * i, 72), seed=1)
        write_images(os.path.join(d, "faces"), 6, lambda i: (64, 64), seed=2)
        write_images(os.path.join(d, "small"), 6, lambda i: (32, 32), seed=3)
        cls.d = d

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def serial_natural(self, data, steps, B, seed=0):
        """The trainer's K = 0 sequence (trainer.py loop, natural + --degrade real)."""
        gen = torch.Generator().manual_seed(seed)
        cpu_gen = torch.Generator().manual_seed(seed + 1)
        g_hi, g_lo = gamma_tables("cosine", 1000, "cpu")
        out = []
        for _ in range(steps):
            x = data.batch(B, cpu_gen)
            hr, cond = degrade_batch(x, 4, "real", generator=cpu_gen, real_p=0.8)
            gamma = sample_gamma(B, g_hi, g_lo, gen, "cpu")
            noise = torch.randn(hr.shape, generator=gen)
            out.append((hr, cond, gamma, noise))
        return out

    def fed(self, args, data, steps, seed=0):
        gen = torch.Generator().manual_seed(seed)
        cpu_gen = torch.Generator().manual_seed(seed + 1)
        g_hi, g_lo = gamma_tables("cosine", 1000, "cpu")
        feeder = make_feeder(args, data, gen, cpu_gen, g_hi, g_lo, torch.device("cpu"))
        self.assertIsNotNone(feeder)
        try:
            return [feeder.next() for _ in range(steps)]
        finally:
            feeder.close()
            self.assertEqual(alive_workers(feeder.pool), [])

    def assertSameBatches(self, a, b):
        self.assertEqual(len(a), len(b))
        for s, (ta, tb) in enumerate(zip(a, b)):
            for name, x, y in zip(("hr", "cond", "gamma", "noise"), ta, tb):
                self.assertEqual(x.shape, y.shape, f"step {s} {name}")
                self.assertTrue(torch.equal(x, y), f"step {s} {name}: max diff {(x - y).abs().max()}")

    def test_natural_real_k0_k1_k2(self):
        data = PatchData(os.path.join(self.d, "nat"), patch=32)
        B, steps = 6, 3
        ref = self.serial_natural(data, steps, B)
        self.assertTrue(any(not torch.equal(r[0], ref[0][0]) for r in ref[1:]))  # batches differ from step to step
        for K in (1, 2):
            args = args_for(["--task", "natural", "--degrade", "real", "--scale", "4", "--patch", "32", "--batch",
                             str(B), "--data-workers", str(K), "--prefetch", "2"])
            self.assertSameBatches(ref, self.fed(args, data, steps))

    def test_face_blind_k0_k2(self):
        data = FaceBlindData(os.path.join(self.d, "faces"), os.path.join(self.d, "small"), size=64, small_p=0.5)
        B, steps = 5, 3
        gen = torch.Generator().manual_seed(0)
        cpu_gen = torch.Generator().manual_seed(1)
        g_hi, g_lo = gamma_tables("cosine", 1000, "cpu")
        ref = []
        for _ in range(steps):  # the trainer's K = 0 face-blind sequence
            x, min_scale = data.batch(B, gen)
            hr, cond, _ = degrade_face_batch(x.cpu(), generator=cpu_gen, min_scale=min_scale)
            gamma = sample_gamma(B, g_hi, g_lo, gen, "cpu")
            ref.append((hr, cond, gamma, torch.randn(hr.shape, generator=gen)))
        args = args_for(["--task", "face-blind", "--patch", "64", "--batch", str(B), "--data-workers", "2"])
        self.assertSameBatches(ref, self.fed(args, data, steps))

    def test_face_blind_fft_k0_k1(self):
        data = FaceBlindData(os.path.join(self.d, "faces"), os.path.join(self.d, "small"), size=64, small_p=0.5)
        B = 4
        gen, cpu_gen = torch.Generator().manual_seed(0), torch.Generator().manual_seed(1)
        g_hi, g_lo = gamma_tables("cosine", 1000, "cpu")
        cfg = FaceDegradeConfig(blur_impl="fft")
        x, min_scale = data.batch(B, gen)
        hr, cond, _ = degrade_face_batch(x.cpu(), cfg, generator=cpu_gen, min_scale=min_scale)
        gamma = sample_gamma(B, g_hi, g_lo, gen, "cpu")
        ref = [(hr, cond, gamma, torch.randn(hr.shape, generator=gen))]
        args = args_for(["--task", "face-blind", "--patch", "64", "--batch", str(B), "--data-workers", "1",
                         "--face-blur", "fft"])
        self.assertSameBatches(ref, self.fed(args, data, 1))

    def test_train_k0_equals_k2(self):
        """Whole training runs: same losses and same weights with --data-workers 0 and 2, with and without --echo."""
        res = {}
        for K, echo in ((0, 1), (2, 1), (0, 2), (2, 2)):
            out = os.path.join(self.d, f"run{K}-{echo}")
            args = args_for(["--task", "natural", "--degrade", "real", "--scale", "4", "--patch", "32", "--preset",
                             "tiny", "--batch", "4", "--max-steps", "3", "--log-every", "1", "--ckpt-minutes", "0",
                             "--lr", "1e-3", "--warmup", "1", "--data", os.path.join(self.d, "nat"),
                             "--data-workers", str(K), "--echo", str(echo), "--out", out])
            train(args)
            with open(os.path.join(out, "metrics.jsonl")) as f:
                losses = [json.loads(l)["loss"] for l in f if '"loss"' in l]
            model, _ = ckpt.load_ema_model(os.path.join(out, "ckpt"))
            res[K, echo] = (losses, model.state_dict())
        for echo in (1, 2):
            self.assertEqual(len(res[0, echo][0]), 3)
            self.assertEqual(res[0, echo][0], res[2, echo][0])
            for k, v in res[0, echo][1].items():
                self.assertTrue(torch.equal(v, res[2, echo][1][k]), (echo, k))
        self.assertEqual(res[0, 1][0][0], res[0, 2][0][0])  # step 1: same batch, same noise
        self.assertNotEqual(res[0, 1][0][1], res[0, 2][0][1])  # step 2: echo 2 repeats batch 1 at a new noise level

    def test_ignored_for_device_degradation(self):
        data = PatchData(os.path.join(self.d, "nat"), patch=32)
        args = args_for(["--task", "natural", "--degrade", "bicubic", "--data-workers", "2"])
        g_hi, g_lo = gamma_tables("cosine", 1000, "cpu")
        self.assertIsNone(make_feeder(args, data, torch.Generator(), torch.Generator(), g_hi, g_lo, "cpu"))


class TestShutdown(unittest.TestCase):
    def test_close_at_end(self):
        pool = DegradePool(2)
        ids = [pool.submit("test", ("echo", i)) for i in range(5)]
        self.assertEqual([pool.result(i) for i in ids], list(range(5)))
        pool.close()
        self.assertEqual(alive_workers(pool), [])
        self.assertEqual([p.exitcode for p in pool.procs], [0, 0])  # they left on their own, not terminated

    def test_idle_workers_stay(self):
        with DegradePool(1) as pool:
            time.sleep(5)  # longer than the workers' 2 s queue poll
            self.assertEqual(pool.result(pool.submit("test", ("echo", 7))), 7)

    def test_close_with_work_in_flight(self):
        pool = DegradePool(2)
        self.assertEqual([pool.result(pool.submit("test", ("echo", i))) for i in range(2)], [0, 1])  # started
        for _ in range(12):
            pool.submit("test", ("sleep", 0.5))
        time.sleep(0.2)
        t0 = time.time()
        pool.close()
        self.assertLess(time.time() - t0, 2.5)  # the 12 queued tasks (3 s per worker) are dropped, not worked off
        self.assertEqual(alive_workers(pool), [])

    def test_worker_exception(self):
        with DegradePool(2) as pool:
            ok = pool.submit("test", ("echo", 1))
            bad = pool.submit("test", ("fail", "boom in a worker"))
            self.assertEqual(pool.result(ok), 1)
            with self.assertRaises(RuntimeError) as cm:
                pool.result(bad)
            self.assertIn("boom in a worker", str(cm.exception))
            self.assertIn("ValueError", str(cm.exception))
        self.assertEqual(alive_workers(pool), [])

    def test_dead_worker_is_an_error(self):
        pool = DegradePool(1)
        try:
            pool.procs[0].kill()
            pool.procs[0].join(5)
            tid = pool.submit("test", ("echo", 1))
            with self.assertRaises(RuntimeError) as cm:
                pool.result(tid)
            self.assertIn("died", str(cm.exception))
        finally:
            pool.close()
        self.assertEqual(alive_workers(pool), [])

    def test_feeder_produce_exception(self):
        pool = DegradePool(2)
        n = [0]

        def produce():
            n[0] += 1
            if n[0] > 3:
                raise KeyError("produce failed")
            return Pending([("test", ("echo", n[0]))], lambda r: r[0])

        feeder = Feeder(pool, produce, depth=2)
        try:
            self.assertEqual(feeder.next(), 1)
            with self.assertRaises(KeyError):
                feeder.next()
        finally:
            feeder.close()
        self.assertEqual(alive_workers(pool), [])

    def test_trainer_closes_workers_on_exception(self):
        with tempfile.TemporaryDirectory() as d:
            write_images(os.path.join(d, "nat"), 3, lambda i: (48, 48), seed=4)
            args = args_for(["--task", "natural", "--degrade", "real", "--scale", "4", "--patch", "32", "--preset",
                             "tiny", "--batch", "2", "--max-steps", "5", "--data", os.path.join(d, "nat"),
                             "--data-workers", "2", "--out", os.path.join(d, "run")])
            before = set(p.pid for p in mp.active_children())
            with mock.patch.object(trainer, "q_sample", side_effect=RuntimeError("step failed")):
                with self.assertRaises(RuntimeError):
                    train(args)
            left = [p for p in mp.active_children() if p.pid not in before]
            self.assertEqual(left, [])


if __name__ == "__main__":
    unittest.main()
