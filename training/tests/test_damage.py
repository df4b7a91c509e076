"""Synthetic damage (damage.py) and the mask-conditioned denoiser (issue 17 item 2): each kind's masks (shape, range,
same output for the same seed), compositing, the onion-peel fill, damage_lr, the nearest resize to the conditioning
grid (the engine's rule), the degradation and worker paths with --mask-p, the zero-initialised mask input (with
mask = 0 the extended model computes what the model without the input did), --init into a mask model, export."""
import argparse
import json
import os
import tempfile
import unittest

import numpy as np
import onnx
import torch
import torch.nn.functional as F

import _common  # noqa: F401
from daguerre_train import checkpoint as ckpt
from daguerre_train.card import damage_entry, make_card
from daguerre_train.damage import (DEFAULT, KINDS, composite, damage_lr, draw_damage, kind_mask, mask_to_cond,
                                   onion_fill)
from daguerre_train.data import PatchData
from daguerre_train.degrade import degrade_batch
from daguerre_train.ema import EMA
from daguerre_train.export import denoiser_inputs, export_denoiser
from daguerre_train.model import PRESETS, Denoiser, state_dict_with_mask
from daguerre_train.trainer import add_args, gamma_tables, make_damage, make_feeder, sample_gamma, train

from test_workers import alive_workers, write_images


def gen(seed):
    return torch.Generator().manual_seed(seed)


def randomise(model, seed):
    """Every weight random (the zero-initialised output and residual convs would hide differences)."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, (1.0 / max(1, p[0].numel())) ** 0.5) if p.dim() > 1 else p.normal_(0, 0.05)
    return model


class TestKinds(unittest.TestCase):
    def test_each_kind_shape_range_seed(self):
        n, h, w = 16, 32, 24
        for kind in KINDS:
            with self.subTest(kind=kind):
                m = kind_mask(kind, n, h, w, gen(5))
                self.assertEqual(m.shape, (n, 1, h, w))
                self.assertEqual(m.dtype, torch.float32)
                self.assertTrue(bool(((m == 0) | (m == 1)).all()))
                cov = m.mean(dim=(1, 2, 3))
                self.assertGreaterEqual(int((cov > 0).sum()), n - 2, f"{kind}: most samples damaged: {cov.tolist()}")
                self.assertLess(float(cov.max()), 0.5, f"{kind}: no sample mostly damaged")
                self.assertTrue(torch.equal(m, kind_mask(kind, n, h, w, gen(5))), "same seed, same mask")
                self.assertFalse(torch.equal(m, kind_mask(kind, n, h, w, gen(6))), "another seed, another mask")

    def test_kinds_look_like_their_kind(self):
        """Lines are thin (most damaged pixels have an undamaged 4-neighbour); blotches are solid (most do not)."""
        def edge_fraction(m):
            inner = -F.max_pool2d(-m, 3, stride=1, padding=1)  # erosion
            return float(((m - inner) > 0).sum() / m.sum().clamp_min(1))
        thin = [edge_fraction(kind_mask(k, 32, 48, 48, gen(1))) for k in ("scratches", "cracks")]
        blob = edge_fraction(kind_mask("blotches", 32, 48, 48, gen(1)))
        for f in thin:
            self.assertGreater(f, 0.8)
        self.assertLess(blob, min(thin))

    def test_draw_damage_ranges(self):
        n, h, w = 12, 32, 32
        mask, colour, alpha = draw_damage(n, h, w, gen(2))
        self.assertEqual((mask.shape, colour.shape, alpha.shape), ((n, 1, h, w), (n, 3, h, w), (n, 1, h, w)))
        self.assertTrue(bool(((mask == 0) | (mask == 1)).all()))
        self.assertTrue(bool((colour >= 0).all() and (colour <= 1).all()))
        self.assertTrue(bool((alpha >= 0).all() and (alpha <= 1).all()))
        self.assertTrue(bool((alpha[mask > 0] >= DEFAULT.stain_opacity[0] - 1e-6).all()), "opaque inside the mask")
        ring = F.max_pool2d(mask, 3, stride=1, padding=1)
        self.assertTrue(bool((alpha[ring == 0] == 0).all()), "nothing beyond the 1-px halo ring")
        self.assertTrue(bool((alpha[(ring > 0) & (mask == 0)] <= DEFAULT.halo[1] + 1e-6).all()), "the halo is faint")
        for t, u in zip((mask, colour, alpha), draw_damage(n, h, w, gen(2))):
            self.assertTrue(torch.equal(t, u))


class TestCompositeFill(unittest.TestCase):
    def test_composite(self):
        g = gen(3)
        lr = torch.randint(0, 256, (6, 3, 16, 16), generator=g).float()
        mask, colour, alpha = draw_damage(6, 16, 16, g)
        out = composite(lr, colour, alpha)
        self.assertTrue(bool((out >= 0).all() and (out <= 255).all() and (out == out.round()).all()))
        self.assertTrue(torch.equal(out[(alpha == 0).expand_as(out)], lr[(alpha == 0).expand_as(lr)]))
        self.assertGreater(float((out - lr).abs()[(mask > 0).expand_as(out)].mean()), 10.0)
        grey = lr[:, :1].expand(-1, 3, -1, -1).clone()
        og = composite(grey, colour, alpha)
        self.assertTrue(torch.equal(og[:, 0], og[:, 1]) and torch.equal(og[:, 0], og[:, 2]), "grey stays grey")

    def test_onion_fill(self):
        g = gen(4)
        lr = torch.randint(0, 256, (4, 3, 20, 20), generator=g).float()
        mask = kind_mask("blotches", 4, 20, 20, g)
        out = onion_fill(lr, mask)
        keep = (mask == 0).expand_as(lr)
        self.assertTrue(torch.equal(out[keep], lr[keep]))
        self.assertTrue(bool((out >= lr.amin()).all() and (out <= lr.amax()).all() and (out == out.round()).all()))
        const = torch.full((1, 3, 12, 12), 77.0)
        m = torch.zeros(1, 1, 12, 12)
        m[..., 2:9, 3:11] = 1
        self.assertTrue(torch.equal(onion_fill(const * (1 - m) + 200 * m, m), const), "a flat picture fills flat")
        full = torch.ones(1, 1, 12, 12)
        self.assertTrue(torch.equal(onion_fill(const, full), const), "nothing known: left as it is")

    def test_damage_lr(self):
        lr = torch.randint(0, 256, (32, 3, 32, 32), generator=gen(5)).float()
        out, m = damage_lr(lr, 0.0, generator=gen(1))
        self.assertTrue(torch.equal(out, lr))
        self.assertEqual(float(m.abs().sum()), 0.0)
        out, m = damage_lr(lr, 1.0, generator=gen(1))
        self.assertEqual(m.shape, (32, 1, 32, 32))
        self.assertTrue(bool((m.sum(dim=(1, 2, 3)) > 0).all()), "p = 1: every sample damaged")
        near = F.max_pool2d(m, 3, stride=1, padding=1).expand_as(lr) > 0
        self.assertTrue(torch.equal(out[~near], lr[~near]), "changed only in the mask and its halo ring")
        self.assertTrue(bool((out >= 0).all() and (out <= 255).all() and (out == out.round()).all()))
        out2, m2 = damage_lr(lr, 1.0, generator=gen(1))
        self.assertTrue(torch.equal(out, out2) and torch.equal(m, m2), "same seed, same damage")
        _, m3 = damage_lr(lr, 0.3, generator=gen(2))
        frac = float((m3.sum(dim=(1, 2, 3)) > 0).float().mean())
        self.assertGreater(frac, 0.05)
        self.assertLess(frac, 0.65)

    def test_mask_to_cond_is_the_engines_nearest(self):
        m = (torch.rand(2, 1, 7, 5, generator=gen(6)) < 0.3).float()
        for H, W in ((28, 20), (13, 9), (7, 5)):
            want = torch.zeros(2, 1, H, W)
            for y in range(H):  # mask.ts resizeMaskNearest: floor((x + 0.5) * w / W)
                for x in range(W):
                    want[:, :, y, x] = m[:, :, min(6, int((y + 0.5) * 7 / H)), min(4, int((x + 0.5) * 5 / W))]
            self.assertTrue(torch.equal(mask_to_cond(m, (H, W)), want), (H, W))


class TestTrainingPaths(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        write_images(os.path.join(cls.tmp.name, "nat"), 5, lambda i: (64 + 8 * i, 72), seed=1)
        cls.nat = os.path.join(cls.tmp.name, "nat")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_degrade_batch_with_damage(self):
        x = torch.randint(0, 256, (8, 3, 32, 32), generator=gen(7), dtype=torch.uint8)
        hr0, cond0 = degrade_batch(x, 4)
        hr, cond, mask = degrade_batch(x, 4, damage=lambda lr: damage_lr(lr, 1.0, generator=gen(3)))
        self.assertTrue(torch.equal(hr, hr0))
        self.assertEqual(mask.shape, (8, 1, 32, 32))
        self.assertTrue(bool((mask.sum(dim=(1, 2, 3)) > 0).all()))
        # cond changes only where bicubic (2 LR taps either side) reaches from the mask and its halo ring
        near = F.max_pool2d(mask, 4 * 2 * 3 + 1, stride=1, padding=4 * 3).expand_as(cond) > 0
        self.assertTrue(torch.equal(cond[~near], cond0[~near]))
        self.assertFalse(torch.equal(cond, cond0))

    def test_workers_with_mask_equal_serial(self):
        """--data-workers with --mask-p: the batches (mask included) equal the serial path's (K = 0)."""
        data = PatchData(self.nat, patch=32)
        B, steps = 6, 3
        args = add_args(argparse.ArgumentParser()).parse_args(
            ["--task", "natural", "--degrade", "real", "--scale", "4", "--patch", "32", "--batch", str(B),
             "--data-workers", "2", "--prefetch", "2", "--mask-p", "0.5"])
        g_hi, g_lo = gamma_tables("cosine", 1000, "cpu")
        genr, cpu_gen = gen(0), gen(1)
        damage = make_damage(args, "cpu", 0)
        ref = []
        for _ in range(steps):  # the trainer's serial sequence
            x = data.batch(B, cpu_gen)
            hr, cond, mask = degrade_batch(x, 4, "real", generator=cpu_gen, real_p=0.8, damage=damage)
            gamma = sample_gamma(B, g_hi, g_lo, genr, "cpu")
            ref.append((hr, cond, mask, gamma, torch.randn(hr.shape, generator=genr)))
        self.assertTrue(any(float(r[2].sum()) > 0 for r in ref))
        genr, cpu_gen = gen(0), gen(1)
        feeder = make_feeder(args, data, genr, cpu_gen, g_hi, g_lo, torch.device("cpu"), make_damage(args, "cpu", 0))
        try:
            got = [feeder.next() for _ in range(steps)]
        finally:
            feeder.close()
            self.assertEqual(alive_workers(feeder.pool), [])
        for s, (a, b) in enumerate(zip(ref, got)):
            self.assertEqual(len(b), 5)
            for name, u, v in zip(("hr", "cond", "mask", "gamma", "noise"), a, b):
                self.assertTrue(torch.equal(u, v), f"step {s} {name}")

    def test_train_with_mask_and_init(self):
        """--mask-p with --init from a model without the mask input: lr 0 keeps the init's weights, the mask columns
        zero; the run logs the eps-L1 inside the masks; another architecture is still refused."""
        with tempfile.TemporaryDirectory() as d:
            src = randomise(Denoiser(PRESETS["tiny"]), 3)
            ckpt.save(os.path.join(d, "src"), model=src, ema=EMA(src, 0.9), opt=torch.optim.AdamW(src.parameters()),
                      state={"step": 0, "samples": 0}, model_cfg=src.cfg.to_dict())
            ap = add_args(argparse.ArgumentParser())
            base = ["--task", "natural", "--data", self.nat, "--scale", "4", "--patch", "32", "--batch", "4",
                    "--max-steps", "2", "--lr", "0", "--warmup", "1", "--clip", "0", "--threads", "1",
                    "--log-every", "1", "--mask-p", "1", "--init", os.path.join(d, "src")]
            train(ap.parse_args(base + ["--preset", "tiny", "--out", os.path.join(d, "ft")]))
            got, _ = ckpt.load_ema_model(os.path.join(d, "ft", "ckpt"))
            self.assertTrue(got.cfg.mask_in)
            src16, _ = ckpt.load_ema_model(os.path.join(d, "src"))  # the init as stored (fp16 EMA)
            want = state_dict_with_mask(src16.state_dict(), got.cfg)
            for k, v in got.state_dict().items():
                self.assertTrue(torch.equal(v, want[k].to(v.dtype)), k)
            with open(os.path.join(d, "ft", "metrics.jsonl")) as f:
                recs = [json.loads(l) for l in f if '"loss"' in l]
            self.assertEqual(len(recs), 2)
            self.assertTrue(all(r["mask_fraction"] > 0 and r["mask_eps_l1"] > 0 for r in recs))
            with self.assertRaisesRegex(ValueError, "differs"):
                train(ap.parse_args(base + ["--preset", "tiny-x0", "--out", os.path.join(d, "bad")]))
            with self.assertRaisesRegex(ValueError, "face-blind"):
                train(ap.parse_args(["--task", "face-blind", "--mask-p", "0.3", "--out", os.path.join(d, "fb")]))


class TestMaskModel(unittest.TestCase):
    def test_zero_init_equivalence(self):
        """A trained-like model without the mask input, loaded into the mask model with zero mask columns: the same
        eps with mask = 0 (and, while those columns are zero, with any mask)."""
        for preset in ("tiny-x0", "s4-32"):
            with self.subTest(preset=preset):
                src = randomise(Denoiser(PRESETS[preset]), 1).eval()
                cfg = PRESETS[preset].__class__(**{**PRESETS[preset].__dict__, "mask_in": True})
                dst = Denoiser(cfg).eval()
                dst.load_state_dict(state_dict_with_mask(src.state_dict(), cfg))
                g = gen(2)
                x, c = torch.randn(2, 3, 32, 48, generator=g), torch.rand(2, 3, 32, 48, generator=g) * 2 - 1
                gam = torch.tensor([0.3, 0.9])
                m = (torch.rand(2, 1, 32, 48, generator=g) < 0.2).float()
                with torch.no_grad():
                    want = src(x, c, gam)
                    got0 = dst(x, c, gam, torch.zeros_like(m))
                    got_none = dst(x, c, gam)
                    got_m = dst(x, c, gam, m)
                    self.assertLess(float((got0 - want).abs().max()), 1e-5)
                    self.assertTrue(torch.equal(got0, got_none), "no mask given = mask 0")
                    self.assertLess(float((got_m - want).abs().max()), 1e-5)
                    dst.inp.weight[:, -cfg.stem ** 2:].normal_(0, 0.1)  # once trained, the mask matters ...
                    self.assertGreater(float((dst(x, c, gam, m) - want).abs().max()), 1e-3)
                    self.assertLess(float((dst(x, c, gam, torch.zeros_like(m)) - want).abs().max()), 1e-5)  # ... not at 0

    def test_state_dict_with_mask_refuses_a_mask_model(self):
        cfg = PRESETS["tiny"].__class__(**{**PRESETS["tiny"].__dict__, "mask_in": True})
        with self.assertRaisesRegex(ValueError, "input channels"):
            state_dict_with_mask(Denoiser(cfg).state_dict(), cfg)

    def test_config_round_trip(self):
        cfg = PRESETS["tiny"].__class__(**{**PRESETS["tiny"].__dict__, "mask_in": True})
        self.assertTrue(cfg.to_dict()["mask_in"])
        self.assertNotIn("mask_in", PRESETS["tiny"].to_dict())  # configs without it serialise as before
        self.assertEqual(cfg.__class__.from_dict(cfg.to_dict()), cfg)
        self.assertFalse(cfg.__class__.from_dict(PRESETS["tiny"].to_dict()).mask_in)

    def test_export_and_card(self):
        cfg = PRESETS["tiny"].__class__(**{**PRESETS["tiny"].__dict__, "mask_in": True})
        m = Denoiser(cfg).eval()
        self.assertEqual(denoiser_inputs(m), ["x_t", "cond", "gamma", "mask"])
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "den.onnx")
            export_denoiser(m, p, fp16=True)
            mo = onnx.load(p)
            onnx.checker.check_model(mo)
            self.assertEqual([i.name for i in mo.graph.input], ["x_t", "cond", "gamma", "mask"])
            dims = [(d.dim_param or d.dim_value) for d in mo.graph.input[3].type.tensor_type.shape.dim]
            self.assertEqual(dims, ["B", 1, "H", "W"])
        card = make_card(id="t", task="natural", scales=[4], primary=4, framing={"kind": "any"}, multiple=4,
                         tile_size=64, tile_overlap=16, train_steps=1000, trained_on="random", data_sets=[],
                         licence="none", degradation={"kind": "bicubic", "damage": damage_entry(0.3)}, mask_input=True)
        self.assertEqual(card["io"]["denoiser"]["inputs"], ["x_t", "cond", "gamma", "mask"])
        self.assertEqual(card["degradation"]["damage"]["pMask"], 0.3)
        plain = make_card(id="t", task="natural", scales=[4], primary=4, framing={"kind": "any"}, multiple=4,
                          tile_size=64, tile_overlap=16, train_steps=1000, trained_on="random", data_sets=[],
                          licence="none", degradation={"kind": "bicubic"})
        self.assertEqual(plain["io"]["denoiser"]["inputs"], ["x_t", "cond", "gamma"])


class TestMergeCard(unittest.TestCase):
    def test_merge_takes_the_new_io_and_damage(self):
        """training/gpu/merge_card.py: the exported card's denoiser io and damage record win over the CPU card's."""
        import sys
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "gpu"))
        from merge_card import merge
        kw = dict(id="t", task="natural", scales=[4], primary=4, framing={"kind": "any"}, multiple=16, tile_size=128,
                  tile_overlap=16, train_steps=1000, trained_on="cpu", data_sets=["d"], licence="l")
        old = make_card(**kw, degradation={"kind": "real", "pReal": 0.8}, metrics={"m": 1})
        new = make_card(**dict(kw, trained_on="gpu"), degradation={"kind": "real", "damage": damage_entry(0.3)},
                        mask_input=True)
        m = merge(old, new)
        self.assertEqual(m["io"]["denoiser"]["inputs"], ["x_t", "cond", "gamma", "mask"])
        self.assertEqual(m["degradation"]["damage"]["pMask"], 0.3)
        self.assertEqual((m["degradation"]["pReal"], m["metrics"], m["trainedOn"]), (0.8, {"m": 1}, "gpu"))
        back = merge(m, old)  # a model without the input: three inputs, no damage record
        self.assertEqual(back["io"]["denoiser"]["inputs"], ["x_t", "cond", "gamma"])
        self.assertNotIn("damage", back["degradation"])


if __name__ == "__main__":
    unittest.main()
