import unittest

import numpy as np

import _common  # noqa: F401
from daguerre_train import schedule as S


class TestSchedule(unittest.TestCase):
    def test_handoff_check(self):
        ab100 = S.cosine_alpha_bars(100)
        ab10 = S.cosine_alpha_bars(10)
        self.assertAlmostEqual(ab100[9], 0.97209, places=5)
        self.assertAlmostEqual(ab100[9], ab10[0], places=12)

    def test_monotone_and_clip(self):
        for K in (10, 100, 1000):
            ab = S.cosine_alpha_bars(K)
            self.assertEqual(len(ab), K)
            self.assertTrue(np.all(np.diff(ab) < 0))
            self.assertGreater(ab[-1], 0)
            betas = 1 - ab / np.concatenate([[1.0], ab[:-1]])
            self.assertLessEqual(betas.max(), 0.999 + 1e-12)
        lin = S.linear_alpha_bars(1000)
        self.assertTrue(np.all(np.diff(lin) < 0))

    def test_grids_agree_on_shared_tau(self):
        ab1000 = S.cosine_alpha_bars(1000)
        ab100 = S.cosine_alpha_bars(100)
        np.testing.assert_allclose(ab1000[9::10][:-1], ab100[:-1], rtol=1e-10)

    def test_posterior(self):
        ab_a, ab_b = 0.3, 0.8
        c0, ca, var = S.posterior_coefs(ab_a, ab_b)
        # the posterior of a one-level jump between adjacent levels is DDPM's: var = beta (1-ab_prev)/(1-ab)
        beta = 1 - ab_a / ab_b
        self.assertAlmostEqual(var, beta * (1 - ab_b) / (1 - ab_a))
        # consistency: if x_a = sqrt(ab_a) x0 (no noise), the mean is sqrt(ab_b) x0
        self.assertAlmostEqual(c0 + ca * np.sqrt(ab_a), np.sqrt(ab_b))
        c0, ca, var = S.posterior_coefs(0.5, 1.0)
        self.assertAlmostEqual(c0, 1.0)
        self.assertAlmostEqual(ca, 0.0)
        self.assertAlmostEqual(var, 0.0)

    def test_ddim_exact_on_clean_trajectory(self):
        rng = np.random.RandomState(0)
        x0 = rng.uniform(-1, 1, 10)
        eps = rng.randn(10)
        ab_a, ab_b = 0.2, 0.7
        x_a = np.sqrt(ab_a) * x0 + np.sqrt(1 - ab_a) * eps
        x_b = S.ddim_step(x_a, x0, ab_a, ab_b)
        np.testing.assert_allclose(x_b, np.sqrt(ab_b) * x0 + np.sqrt(1 - ab_b) * eps, atol=1e-12)


if __name__ == "__main__":
    unittest.main()
