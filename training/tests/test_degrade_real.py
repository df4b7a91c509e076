"""degrade_real: every operation keeps shape/dtype/range and is a pure function of its seed."""
import unittest

import _common  # noqa: F401
import numpy as np
import torch

from daguerre_train import degrade_real as D


def img(seed=0, h=64, w=48):
    g = torch.Generator().manual_seed(seed)
    return torch.rand((1, 3, h, w), generator=g)


class TestKernels(unittest.TestCase):
    def test_kernels_sum_to_one_and_are_finite(self):
        ks = [D.gaussian_kernel(21, 2.0, 0.7, 0.4), D.generalized_kernel(15, 1.5, 1.5, 0, 0.5),
              D.plateau_kernel(13, 1.0, 2.0, 1.0, 2.0), D.sinc_kernel(21, np.pi / 3), D.disc_kernel(1.5)]
        for k in ks:
            self.assertEqual(k.dtype, np.float32)
            self.assertEqual(k.shape[0], k.shape[1])
            self.assertTrue(np.isfinite(k).all())
            self.assertAlmostEqual(float(k.sum()), 1.0, places=5)
        iso = D.gaussian_kernel(21, 2.0, 2.0, 0.0)
        self.assertTrue(np.allclose(iso, iso.T, atol=1e-7))
        aniso = D.gaussian_kernel(21, 3.0, 0.5, 0.0)  # wide along x
        self.assertGreater(aniso[10, 14], aniso[14, 10] * 10)

    def test_random_kernel_seeded(self):
        a = D.random_kernel(np.random.default_rng(3), D.DEFAULT, D.DEFAULT.blur_sigma, 0.5)
        b = D.random_kernel(np.random.default_rng(3), D.DEFAULT, D.DEFAULT.blur_sigma, 0.5)
        self.assertTrue(np.array_equal(a, b))
        self.assertIn(a.shape[0], range(7, 22, 2))


class TestOps(unittest.TestCase):
    def check(self, fn, *, same_size=True, tol=0.0):
        x = img()
        a, b = fn(x, np.random.default_rng(5)), fn(x, np.random.default_rng(5))
        self.assertTrue(torch.equal(a, b), "same seed, same output")
        self.assertEqual(a.dtype, torch.float32)
        self.assertEqual(a.shape[:2], x.shape[:2])
        if same_size:
            self.assertEqual(a.shape, x.shape)
        self.assertGreaterEqual(float(a.min()), -tol)
        self.assertLessEqual(float(a.max()), 1 + tol)
        self.assertFalse(torch.equal(a, x), "the operation changes the image")
        return a

    def test_blur_filter(self):
        a = self.check(lambda x, r: D.filter2d(x, D.gaussian_kernel(11, 2.0, 2.0, 0)))
        self.assertLess(float(a.std()), float(img().std()))

    def test_resize(self):
        a = self.check(lambda x, r: D.random_resize(x, r, (0, 1, 0), (0.5, 1.0), ("bicubic",)).clamp(0, 1),
                       same_size=False)
        self.assertLess(a.shape[-1], 48)

    def test_noise(self):
        x = img()
        a = D.gaussian_noise(x, np.random.default_rng(1), 10.0, grey=False)
        self.assertAlmostEqual(float((a - x).std()) * 255, 10.0, delta=0.5)
        g = D.gaussian_noise(x, np.random.default_rng(1), 10.0, grey=True) - x
        self.assertTrue(torch.allclose(g[:, 0], g[:, 1], atol=1e-6))
        p = D.poisson_noise(x, np.random.default_rng(1), 1.0, grey=False) - x
        self.assertGreater(float(p.std()), 0.01)
        self.check(lambda x, r: D.random_noise(x, r, D.DEFAULT, (5, 20), (0.5, 2)).clamp(0, 1))

    def test_jpeg(self):
        a = self.check(lambda x, r: D.jpeg(x, 30))
        self.assertEqual(len(torch.unique(a * 255 - torch.round(a * 255))), 1)  # 8-bit levels

    def test_colour_map(self):
        cfg = D.RealConfig(grey_p=1.0)
        M, b = D.random_colour_map(np.random.default_rng(0), cfg)
        a = D.apply_colour_map(img(), M, b)
        self.assertTrue(torch.allclose(a[:, 0] - a[:, 1], (b[0] - b[1]) * torch.ones_like(a[:, 0]), atol=1e-5)
                        or not np.allclose(M[0], M[1]))
        sep = D.RealConfig(grey_p=0.0, sepia_p=1.0, sepia_strength=(1.0, 1.0), cast_p=0, fade_p=0)
        M, b = D.random_colour_map(np.random.default_rng(0), sep)
        white = D.apply_colour_map(torch.ones(1, 3, 2, 2), M, b)
        self.assertLessEqual(float(white.max()), 1.0 + 1e-6)
        self.assertGreater(float(white[0, 0, 0, 0]), float(white[0, 2, 0, 0]))  # warm tone

    def test_old_print_ops(self):
        self.check(lambda x, r: D.film_grain(x, r, 0.05, 1.0).clamp(0, 1))
        self.check(lambda x, r: D.paper_texture(x, r, 0.05, 4.0).clamp(0, 1))
        self.check(lambda x, r: D.halftone(x, r, 4.0, 0.5).clamp(0, 1))
        a = self.check(lambda x, r: D.dust(x, r, 5, 1.0, 2.0))
        self.assertGreater(int((a != img()).any(1).sum()), 5)
        self.check(lambda x, r: D.old_print(x, r, D.RealConfig(grain_p=1, dust_p=1), D.random_colour_map(r, D.DEFAULT)))


class TestPipeline(unittest.TestCase):
    def test_degrade_pair(self):
        hr = (torch.rand(3, 64, 96, generator=torch.Generator().manual_seed(0)) * 255).to(torch.uint8)
        for seed in range(6):
            t, lr = D.degrade_pair(hr, 4, np.random.default_rng(seed))
            t2, lr2 = D.degrade_pair(hr, 4, np.random.default_rng(seed))
            self.assertTrue(torch.equal(lr, lr2) and torch.equal(t, t2))
            self.assertEqual((t.dtype, lr.dtype), (torch.uint8, torch.uint8))
            self.assertEqual(tuple(t.shape), (3, 64, 96))
            self.assertEqual(tuple(lr.shape), (3, 16, 24))
        with self.assertRaises(ValueError):
            D.degrade_pair(hr[:, :63], 4, np.random.default_rng(0))

    def test_batch_mix(self):
        from daguerre_train.degrade import degrade_batch
        hr = (torch.rand(8, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 255).to(torch.uint8)
        a = degrade_batch(hr, 4, "real", generator=torch.Generator().manual_seed(1), real_p=0.5)
        b = degrade_batch(hr, 4, "real", generator=torch.Generator().manual_seed(1), real_p=0.5)
        self.assertTrue(torch.equal(a[1], b[1]) and torch.equal(a[0], b[0]))
        self.assertEqual(a[1].shape, (8, 3, 32, 32))
        self.assertLessEqual(float(a[1].abs().max()), 1.0)
        self.assertIn("second-order", D.describe())


if __name__ == "__main__":
    unittest.main()
