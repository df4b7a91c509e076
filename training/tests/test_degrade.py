import unittest

import torch

import _common  # noqa: F401
from daguerre_train.degrade import bicubic_pipeline, degrade_batch


class TestDegrade(unittest.TestCase):
    def setUp(self):
        g = torch.Generator().manual_seed(0)
        self.hr = torch.randint(0, 256, (3, 3, 32, 48), generator=g, dtype=torch.uint8)

    def test_bicubic_shapes_ranges(self):
        for s in (2, 4, 8):
            hr, lr, cond = bicubic_pipeline(self.hr, s)
            self.assertEqual(lr.shape, (3, 3, 32 // s, 48 // s))
            self.assertTrue(torch.equal(lr, lr.round()))
            self.assertGreaterEqual(lr.min().item(), 0)
            self.assertLessEqual(lr.max().item(), 255)
            self.assertEqual(cond.shape, hr.shape)
            self.assertGreaterEqual(cond.min().item(), -1)
            self.assertLessEqual(cond.max().item(), 1)
            self.assertGreaterEqual(hr.min().item(), -1)
            self.assertLessEqual(hr.max().item(), 1)

    def test_constant_image_is_preserved(self):
        hr = torch.full((1, 3, 16, 16), 200, dtype=torch.uint8)
        _, lr, cond = bicubic_pipeline(hr, 4)
        self.assertTrue(torch.all(lr == 200))
        self.assertTrue(torch.allclose(cond, torch.full_like(cond, 200 / 127.5 - 1), atol=1e-6))

    def test_oldphoto(self):
        g = torch.Generator().manual_seed(1)
        hr, cond = degrade_batch(self.hr, 4, "oldphoto", 1.0, generator=g)
        self.assertEqual(cond.shape, hr.shape)
        self.assertGreaterEqual(cond.min().item(), -1)
        self.assertLessEqual(cond.max().item(), 1)


if __name__ == "__main__":
    unittest.main()
