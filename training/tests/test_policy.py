"""The policy package: per-lane FSR mirrors the engine / reference sampler, PPO replay = stepwise forward, knob,
export + parity fixture round trip."""
import json
import os
import tempfile
import unittest

import torch

import _common  # noqa: F401
from daguerre_train import sampling as smp
from daguerre_train.model import PolicyConfig, SkipPolicy
from policy import fsr, ppo
from policy.common import DEFAULT_KNOB, knob_to_n


class Oracle(torch.nn.Module):
    def __init__(self, x0):
        super().__init__()
        self.x0 = x0

    def forward(self, x_t, cond, gamma):
        g = gamma.view(-1, 1, 1, 1)
        return (x_t - g * self.x0[: x_t.shape[0]]) / torch.sqrt(1 - g * g)


class Noisy(torch.nn.Module):
    """A deterministic non-oracle 'denoiser' (so x0_hat differs between levels)."""

    def forward(self, x_t, cond, gamma):
        return 0.5 * x_t + 0.3 * torch.tanh(cond * 3) * gamma.view(-1, 1, 1, 1)


def _policy(seed=0, bias=0.0):
    torch.manual_seed(seed)
    p = SkipPolicy(PolicyConfig())
    with torch.no_grad():
        p.actor.bias.add_(bias)
    return p.eval()


class TestPolicy(unittest.TestCase):
    def setUp(self):
        g = torch.Generator().manual_seed(0)
        self.cond = torch.rand(3, 3, 16, 16, generator=g) * 2 - 1
        self.model = Noisy()

    def test_knob_matches_card_ts(self):
        self.assertEqual([knob_to_n(DEFAULT_KNOB, k) for k in (0, 0.25, 0.5, 0.75, 1, -1, 2)], [2, 6, 10, 25, 40, 2, 40])
        self.assertEqual(knob_to_n(DEFAULT_KNOB, 0.0625), 3)  # 2 + 0.125*8 = 3.0
        self.assertEqual(knob_to_n(DEFAULT_KNOB, 0.09375), 4)  # 3.5 rounds half up (Math.round)

    def test_fixed_matches_reference_sampler(self):
        for N in (2, 10, 17, 40):
            ref, info = smp.skipdiff(self.model, self.cond, N, generator=torch.Generator().manual_seed(3))
            noise = fsr.StreamNoise(torch.Generator().manual_seed(3))
            csa = fsr.coarse_pass(self.model, self.cond, N, noise)
            st = fsr.run_fixed(self.model, self.cond, N, csa, noise, 10)
            self.assertEqual(st.fine_levels[0], info["fine_levels"])
            self.assertEqual(st.calls[0], info["calls"])
            torch.testing.assert_close(st.x0, ref, atol=1e-5, rtol=0)

    def test_policy_matches_reference_decider_single_lane(self):
        pol = _policy(1, bias=0.3)
        for N in (5, 25):
            c = self.cond[:1]
            ref, info = smp.skipdiff(self.model, c, N, decide=smp.policy_decider(pol, N),
                                     generator=torch.Generator().manual_seed(4))
            noise = fsr.StreamNoise(torch.Generator().manual_seed(4))
            csa = fsr.coarse_pass(self.model, c, N, noise)
            st, actor = fsr.run_policy(self.model, c, N, csa, noise, pol, mode="greedy")
            self.assertEqual(st.fine_levels[0], info["fine_levels"])
            torch.testing.assert_close(st.x0, ref, atol=1e-5, rtol=0)
            # asked at every level N..2 (never at 1), t_feat = [n/T, fine calls so far/T, N/T]
            self.assertEqual([t[0] for t in actor.trace], list(range(N, 1, -1)))
            calls = 0
            for n, _, p, tf in actor.trace:
                self.assertAlmostEqual(tf[0], n / 100, places=6)
                self.assertAlmostEqual(tf[1], calls / 100, places=6)
                self.assertAlmostEqual(tf[2], N / 100, places=6)
                calls += int(p >= 0.5)

    def test_lanes_are_independent(self):
        """A lane's result does not depend on which other lanes share its batch (KeyedNoise, per-lane paths)."""
        pol = _policy(2, bias=0.2)
        N = 12
        noise = fsr.KeyedNoise(9)
        csa = fsr.coarse_pass(self.model, self.cond, N, noise)
        st, _ = fsr.run_policy(self.model, self.cond, N, csa, noise, pol, mode="sample",
                               generator=torch.Generator().manual_seed(0))
        st_f = fsr.run_fixed(self.model, self.cond, N, csa, noise, 10)
        paths = {tuple(f) for f in st.fine_levels}
        self.assertGreater(len(paths), 1)  # lanes took different paths
        # lane 2 alone, forced onto the path it took in the batch
        path = set(st.fine_levels[2])
        c1 = self.cond[2:3]
        noise1 = fsr.KeyedNoise(9)

        class Lane2(fsr.KeyedNoise):
            def init(self, shape):
                return super().init((3,) + tuple(shape[1:]))[2:3]

            def draw(self, lanes, key, shape):
                return super().draw([2 for _ in lanes], key, shape)

        n2 = Lane2(9)
        csa1 = fsr.coarse_pass(self.model, c1, N, n2)
        st1 = fsr.fsr_pass(self.model, c1, N, csa1, lambda n, ask, s: [n in path for _ in ask], n2)
        torch.testing.assert_close(st1.x0[0], st.x0[2], atol=1e-5, rtol=0)
        del noise1, st_f

    def test_replay_equals_stepwise_forward(self):
        pol = _policy(3)
        T, B = 5, 2
        xs = torch.rand(T, B, 3, 64, 64) * 2 - 1
        ts = torch.rand(T, B, 3)
        p_r, v_r = ppo.replay(pol, xs, ts)
        h = torch.zeros(B, 128)
        for t in range(T):
            p, v, h = pol(xs[t], ts[t], h)
            torch.testing.assert_close(p, p_r[t], atol=1e-5, rtol=0)
            torch.testing.assert_close(v, v_r[t], atol=1e-5, rtol=0)

    def test_returns(self):
        a = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        G = ppo.returns(a, torch.tensor([0.5, -0.5]), 0.1)
        torch.testing.assert_close(G, torch.tensor([[0.3, -0.7], [0.4, -0.7], [0.4, -0.6]]))

    def test_fixed_targets(self):
        ts, a = ppo.fixed_targets(40, 10)
        self.assertEqual(int(a.sum()) + 1, 10)
        self.assertEqual(ts.shape, (39, 3))

    def test_ppo_step_runs_and_export(self):
        from policy.export import export
        from policy.train import save_policy
        pol = _policy(4).train()
        opt = torch.optim.Adam(pol.parameters(), lr=3e-4)
        T, B = 4, 3
        xs, ts = torch.rand(T, B, 3, 64, 64) * 2 - 1, torch.rand(T, B, 3)
        with torch.no_grad():
            p, v = ppo.replay(pol, xs, ts)
        a = (torch.rand(T, B) < p).float()
        logp = a * torch.log(p) + (1 - a) * torch.log(1 - p)
        G = ppo.returns(a, torch.randn(B), 0.02)
        st = ppo.ppo_update(pol, opt, xs, ts, a, logp, G, v, epochs=2)
        self.assertTrue(all(map(lambda x: x == x, st.values())))
        with tempfile.TemporaryDirectory() as d:
            save_policy(pol, os.path.join(d, "policy.pt"), {"episodes": 3, "runs": []})
            json.dump({"id": "x", "files": {"denoiser": "denoiser.onnx"}, "io": {"denoiser": {}}, "training": {"a": 1}},
                      open(os.path.join(d, "card.json"), "w"))

            class A:
                policy = os.path.join(d, "policy.pt")
                package = d
                parity = os.path.join(d, "fx")
                sample_images = ""
                no_card = False
                eval = ""
            export(A)
            card = json.load(open(os.path.join(d, "card.json")))
            self.assertEqual(card["files"], {"denoiser": "denoiser.onnx", "policy": "policy.onnx"})
            self.assertEqual(card["io"]["policy"]["inputs"], ["x0_hat", "t_feat", "h"])
            self.assertEqual(card["io"]["policy"]["outputs"], ["p_denoise", "value", "h_out"])
            self.assertEqual(card["training"]["a"], 1)
            self.assertIn("policy", card["training"])
            meta = json.load(open(os.path.join(d, "fx", "meta.json")))
            self.assertEqual(set(meta["inputs"]), {"x0_hat", "t_feat", "h"})
            self.assertEqual(meta["sequence"]["files"]["seq_x0_hat"]["shape"], [6, 2, 3, 64, 64])
            import onnx
            m = onnx.load(os.path.join(d, "policy.onnx"))
            self.assertEqual(m.opset_import[0].version, 17)
            self.assertEqual([i.name for i in m.graph.input], ["x0_hat", "t_feat", "h"])


if __name__ == "__main__":
    unittest.main()
