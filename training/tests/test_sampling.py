import unittest

import torch

import _common  # noqa: F401
from daguerre_train import sampling as smp
from daguerre_train.schedule import cosine_alpha_bars


class Oracle(torch.nn.Module):
    """eps from a known x0: the exact denoiser for a single target image."""

    def __init__(self, x0):
        super().__init__()
        self.x0 = x0

    def forward(self, x_t, cond, gamma):
        g = gamma.view(-1, 1, 1, 1)
        return (x_t - g * self.x0) / torch.sqrt(1 - g * g)


class TestSampling(unittest.TestCase):
    def setUp(self):
        g = torch.Generator().manual_seed(0)
        self.x0 = torch.rand(2, 3, 8, 8, generator=g) * 1.6 - 0.8
        self.model = Oracle(self.x0)
        self.cond = torch.zeros_like(self.x0)

    def test_plans_match_engine(self):
        self.assertEqual(smp.fixed_stride_levels(10, 10), list(range(10, 0, -1)))
        self.assertEqual(smp.fixed_stride_levels(40, 10), [40, 36, 31, 27, 23, 18, 14, 10, 5, 1])
        self.assertEqual(smp.fixed_stride_levels(2, 10), [2, 1])
        self.assertEqual(smp.fixed_stride_levels(5, 1), [1])
        self.assertEqual(smp.coarse_indices_above(10, 100, 10), list(range(9, 0, -1)))
        self.assertEqual(smp.coarse_indices_above(10, 100, 100), [])

    def test_samplers_recover_oracle(self):
        g = torch.Generator().manual_seed(1)
        for name, fn in (("ddpm", lambda: smp.ddpm(self.model, self.cond, 10, generator=g)),
                         ("ddim", lambda: smp.ddim(self.model, self.cond, 10)),
                         ("csa", lambda: smp.skipdiff(self.model, self.cond, 10, csa_only=True, generator=g)),
                         ("fixed", lambda: smp.skipdiff(self.model, self.cond, 40, generator=g))):
            out, info = fn()
            self.assertLess((out - self.x0).abs().max().item(), 1e-3, name)
        _, info = smp.skipdiff(self.model, self.cond, 10, generator=g)
        self.assertEqual(info["calls"], 9 + 10)
        self.assertEqual(info["fine_levels"], list(range(10, 0, -1)))
        _, info = smp.skipdiff(self.model, self.cond, 10, csa_only=True, generator=g)
        self.assertEqual(info["calls"], 10)
        _, info = smp.ddpm(self.model, self.cond, 7, generator=g)
        self.assertEqual(info["calls"], 7)

    def test_skip_all_but_forced(self):
        g = torch.Generator().manual_seed(2)
        out, info = smp.skipdiff(self.model, self.cond, 30, decide=lambda *_: False, generator=g)
        self.assertEqual(info["fine_levels"], [1])
        self.assertEqual(info["calls"], len(smp.coarse_indices_above(10, 100, 30)) + 1)
        out, info = smp.skipdiff(self.model, self.cond, 100, decide=lambda *_: False, generator=g)
        self.assertEqual(info["fine_levels"], [100, 1])
        self.assertLess((out - self.x0).abs().max().item(), 1e-3)

    def test_ddpm_step_statistics(self):
        """The posterior step from a to b of x_a ~ q(x_a|x0) gives x_b with the q(x_b|x0) marginal."""
        ab = cosine_alpha_bars(100)
        a, b = float(ab[60]), float(ab[20])
        x0 = torch.full((1, 1, 200, 200), 0.3)
        g = torch.Generator().manual_seed(3)
        x_a = a ** 0.5 * x0 + (1 - a) ** 0.5 * torch.randn(x0.shape, generator=g)
        x_b = smp.ddpm_step(x_a, x0, a, b, g)
        self.assertAlmostEqual(x_b.mean().item(), b ** 0.5 * 0.3, delta=0.01)
        self.assertAlmostEqual(x_b.std().item(), (1 - b) ** 0.5, delta=0.01)


if __name__ == "__main__":
    unittest.main()
