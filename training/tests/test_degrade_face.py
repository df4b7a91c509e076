import unittest

import torch

import _common  # noqa: F401
from daguerre_train.degrade_face import (FaceDegradeConfig, blur, degrade_face_batch, draw_params, gaussian_kernel)


def smooth_faces(B=4, S=64, seed=0):
    """Smooth random images (a low-res random field upsampled) as uint8 [B,3,S,S]."""
    g = torch.Generator().manual_seed(seed)
    lo = torch.rand(B, 3, 8, 8, generator=g)
    return (torch.nn.functional.interpolate(lo, size=(S, S), mode="bilinear", align_corners=False) * 255).round().byte()


class TestDegradeFace(unittest.TestCase):
    def test_shape_range_and_quantisation(self):
        hr_u8 = smooth_faces()
        hr, cond, params = degrade_face_batch(hr_u8, generator=torch.Generator().manual_seed(1))
        self.assertEqual(hr.shape, hr_u8.shape)
        self.assertEqual(cond.shape, hr_u8.shape)
        self.assertEqual(len(params), 4)
        for t in (hr, cond):
            self.assertGreaterEqual(t.min().item(), -1.0)
            self.assertLessEqual(t.max().item(), 1.0)
        # cond is an 8-bit image mapped to [-1, 1]
        lv = (cond + 1) * 127.5
        self.assertLess((lv - lv.round()).abs().max().item(), 1e-3)

    def test_fft_blur_equals_conv(self):
        g = torch.Generator().manual_seed(0)
        for size, (sx, sy, th) in [(64, (0.1, 0.1, 0.0)), (64, (3.0, 7.5, 0.7)), (16, (10.0, 2.0, 2.1)), (256, (5.0, 5.0, 0.0))]:
            x = torch.rand(1, 3, size, size, generator=g)
            k = gaussian_kernel(41, sx, sy, th)
            a, b = blur(x, k, "conv"), blur(x, k, "fft")
            self.assertEqual(a.shape, b.shape)
            self.assertLess((a - b).abs().max().item(), 1e-5, (size, sx, sy, th))
        k = torch.zeros(5, 5)
        k[0, 1] = 1.0  # an asymmetric kernel: fft must still compute conv2d's correlation, not a convolution
        x = torch.rand(1, 3, 12, 12, generator=g)
        self.assertLess((blur(x, k, "conv") - blur(x, k, "fft")).abs().max().item(), 1e-5)
        with self.assertRaises(ValueError):
            blur(x, k, "fast")

    def test_fft_batch_close_to_conv(self):
        hr_u8 = smooth_faces(6, 64, seed=4)
        a = degrade_face_batch(hr_u8, FaceDegradeConfig(), torch.Generator().manual_seed(9))
        b = degrade_face_batch(hr_u8, FaceDegradeConfig(blur_impl="fft"), torch.Generator().manual_seed(9))
        self.assertTrue(torch.equal(a[0], b[0]))
        self.assertEqual(a[2], b[2])
        d = (a[1] - b[1]).abs() * 127.5  # in 8-bit levels
        self.assertGreater((d < 1e-3).float().mean().item(), 0.99)
        self.assertLess(d.mean().item(), 0.05)

    def test_seed_determinism(self):
        hr_u8 = smooth_faces()
        a = degrade_face_batch(hr_u8, generator=torch.Generator().manual_seed(5))
        b = degrade_face_batch(hr_u8, generator=torch.Generator().manual_seed(5))
        c = degrade_face_batch(hr_u8, generator=torch.Generator().manual_seed(6))
        self.assertTrue(torch.equal(a[1], b[1]))
        self.assertEqual(a[2], b[2])
        self.assertFalse(torch.equal(a[1], c[1]))

    def test_params_cover_ranges(self):
        cfg = FaceDegradeConfig()
        g = torch.Generator().manual_seed(0)
        ps = [draw_params(cfg, g) for _ in range(2000)]
        sc = [p["scale"] for p in ps]
        self.assertGreaterEqual(min(sc), 0.8)
        self.assertLessEqual(max(sc), 16.0)
        self.assertLess(min(sc), 1.0)
        self.assertGreater(max(sc), 14.0)
        sig = [p["sigma"][0] for p in ps]
        self.assertGreaterEqual(min(sig), 0.1)
        self.assertLessEqual(max(sig), 10.0)
        q = [p["jpeg"] for p in ps]
        self.assertGreaterEqual(min(q), 30)
        self.assertLessEqual(max(q), 100)
        self.assertTrue(0.05 < sum(p["grey"] for p in ps) / len(ps) < 0.15)
        self.assertTrue(0.25 < sum(p["jitter"] for p in ps) / len(ps) < 0.35)
        # min_scale lifts the lower end (UTKFace upsampled to the model size)
        g = torch.Generator().manual_seed(0)
        self.assertGreaterEqual(min(draw_params(cfg, g, 2.0)["scale"] for _ in range(500)), 2.0)

    def test_grey_sample_has_grey_target_and_cond(self):
        cfg = FaceDegradeConfig(grey_p=1.0, jitter_p=0.0)
        hr, cond, _ = degrade_face_batch(smooth_faces(2), cfg, torch.Generator().manual_seed(2))
        self.assertLess((hr[:, 0] - hr[:, 1]).abs().max().item(), 1e-6)
        self.assertLess((cond[:, 0] - cond[:, 2]).abs().max().item(), 1e-6)

    def test_identity_when_everything_is_off(self):
        cfg = FaceDegradeConfig(blur_p=0.0, scale=(1.0, 1.0), noise=(0.0, 0.0), jpeg_p=0.0, jitter_p=0.0, grey_p=0.0)
        hr_u8 = smooth_faces(2)
        hr, cond, _ = degrade_face_batch(hr_u8, cfg, torch.Generator().manual_seed(0))
        self.assertTrue(torch.allclose(cond, hr, atol=1e-6))

    def test_degradation_loses_detail(self):
        hr_u8 = smooth_faces(8)
        cfg = FaceDegradeConfig(scale=(8.0, 16.0), jpeg_p=0.0, noise=(0.0, 0.0), jitter_p=0.0, grey_p=0.0)
        hr, cond, _ = degrade_face_batch(hr_u8 | 1, cfg, torch.Generator().manual_seed(3))
        # high-pass energy (pixel differences) is lower in cond than in the HR
        d = lambda t: (t[..., 1:] - t[..., :-1]).abs().mean().item()  # noqa: E731
        self.assertLess(d(cond), d(hr))

    def test_kernel(self):
        k = gaussian_kernel(41, 3.0, 1.0, 0.7)
        self.assertAlmostEqual(k.sum().item(), 1.0, places=5)
        self.assertEqual(tuple(k.shape), (41, 41))
        self.assertFalse(torch.allclose(k, k.t()))  # anisotropic and rotated
        iso = gaussian_kernel(41, 2.0, 2.0, 0.0)
        self.assertTrue(torch.allclose(iso, iso.t(), atol=1e-7))

    def test_bad_input(self):
        with self.assertRaisesRegex(ValueError, "uint8"):
            degrade_face_batch(torch.zeros(1, 3, 8, 8))
        with self.assertRaisesRegex(ValueError, "square"):
            degrade_face_batch(torch.zeros(1, 3, 8, 16, dtype=torch.uint8))


if __name__ == "__main__":
    unittest.main()
