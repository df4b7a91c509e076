import unittest

import torch

import _common  # noqa: F401
from daguerre_train.ema import EMA
from daguerre_train.model import PRESETS, Denoiser, PolicyConfig, SkipPolicy, UNetConfig, n_params


class TestModel(unittest.TestCase):
    def test_forward_any_size(self):
        cfg = PRESETS["tiny"]
        m = Denoiser(cfg).eval()
        mult = cfg.multiple()
        for B, H, W in ((1, mult, mult), (2, 3 * mult, 5 * mult), (3, 64, 32)):
            x = torch.randn(B, 3, H, W)
            with torch.no_grad():
                self.assertEqual(m(x, x, torch.rand(B)).shape, (B, 3, H, W))

    def test_x0res_parameterisation(self):
        """x0res: eps is computed from x0 = cond + residual, so x0 recovered from eps is cond + residual exactly, and
        a zero residual (the zero-initialised output conv) gives x0 = cond."""
        cfg = PRESETS["tiny-x0"]
        m = Denoiser(cfg).eval()
        x_t, cond = torch.randn(2, 3, 32, 32), torch.rand(2, 3, 32, 32) * 2 - 1
        g = torch.tensor([0.3, 0.9])
        with torch.no_grad():
            eps = m(x_t, cond, g)
        gg = g.view(-1, 1, 1, 1)
        x0 = (x_t - torch.sqrt(1 - gg * gg) * eps) / gg
        self.assertTrue(torch.allclose(x0, cond, atol=1e-5))
        for B, H, W in ((1, 4, 4), (3, 12, 20)):
            x = torch.randn(B, 3, H, W)
            with torch.no_grad():
                self.assertEqual(m(x, x, torch.rand(B)).shape, (B, 3, H, W))

    def test_old_config_dicts_load_as_eps(self):
        d = PRESETS["tiny"].to_dict()
        del d["param"], d["in_skip"]
        c = UNetConfig.from_dict(d)
        self.assertEqual((c.param, c.in_skip), ("eps", False))

    def test_presets_size(self):
        m = Denoiser(PRESETS["s4-32"])
        self.assertLess(n_params(m), 4_000_000)
        self.assertEqual(PRESETS["s4-32"].multiple(), 16)

    def test_attention_variant(self):
        cfg = UNetConfig(stem=2, base=16, mults=(1, 2), blocks=1, emb_dim=32, groups=4, attn_res=(32,))
        m = Denoiser(cfg).eval()
        x = torch.randn(1, 3, 64, 64)
        with torch.no_grad():
            self.assertEqual(m(x, x, torch.rand(1)).shape, x.shape)

    def test_policy(self):
        p = SkipPolicy(PolicyConfig()).eval()
        self.assertLess(n_params(p), 1_000_000)
        with torch.no_grad():
            pd, v, h = p(torch.randn(2, 3, 64, 64), torch.rand(2, 3), torch.zeros(2, 128))
        self.assertEqual(pd.shape, (2,))
        self.assertEqual(v.shape, (2,))
        self.assertEqual(h.shape, (2, 128))
        self.assertTrue(((pd > 0) & (pd < 1)).all())


class TestEMA(unittest.TestCase):
    def test_fused_matches_naive(self):
        torch.manual_seed(0)
        m = Denoiser(PRESETS["tiny"])
        e1, e2 = EMA(m, 0.9), EMA(m, 0.9)
        for _ in range(5):
            with torch.no_grad():
                for p in m.parameters():
                    p.add_(torch.randn_like(p) * 0.1)
            e1.update()
            e2.update_naive()
        for a, b in zip(e1.shadow, e2.shadow):
            self.assertTrue(torch.allclose(a, b, atol=1e-6))

    def test_ema_value(self):
        lin = torch.nn.Linear(1, 1, bias=False)
        with torch.no_grad():
            lin.weight.fill_(0.0)
        e = EMA(lin, 0.5, warmup=False)
        with torch.no_grad():
            lin.weight.fill_(1.0)
        e.update()
        e.update()
        self.assertAlmostEqual(e.shadow[0].item(), 0.75, places=6)


if __name__ == "__main__":
    unittest.main()
