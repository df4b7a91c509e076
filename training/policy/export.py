"""Export a trained SkipPolicy to <package>/policy.onnx (opset 17, dynamic batch, GRU state as explicit input
`h` and output `h_out`, fp16 weights + Cast, float32 I/O), write a parity fixture (one batched step, read by
test/unit/parity.test.ts too, plus a chained multi-step sequence read by test/unit/policy-parity.test.ts), and
record the policy in the package's card.json (files.policy, io.policy, training.policy; nothing else changes)."""
from __future__ import annotations

import json
import os

import torch
import torch.nn.functional as F

from daguerre_train.export import export_policy, round_params_fp16
from daguerre_train.parity import _write, write_parity

from .common import Images
from .reward import ROOT
from .train import load_policy

IO_POLICY_INPUTS = ["x0_hat", "t_feat", "h"]
IO_POLICY_OUTPUTS = ["p_denoise", "value", "h_out"]


def _rel(p):
    return os.path.relpath(os.path.abspath(p), ROOT)


def fixture_inputs(policy, sample_dir: str, B: int = 3, K: int = 6, seed: int = 4321):
    """Realistic inputs: downsized images in [-1,1] (or noise-like random ones), t_feat on the fine grid."""
    g = torch.Generator().manual_seed(seed)
    S = policy.cfg.image_size
    n = max(B, 2) * K
    if sample_dir:
        im = Images(sample_dir, 128, crop=False)
        hr = im.fixed(n).float() / 127.5 - 1
        x = F.interpolate(hr, size=(S, S), mode="bicubic", align_corners=False, antialias=True).clamp(-1, 1)
        x = x + 0.05 * torch.randn(x.shape, generator=g)  # an x0_hat is not a clean image
        x = x.clamp(-1, 1)
    else:
        x = torch.rand(n, 3, S, S, generator=g) * 2 - 1
    return x


def export(a):
    policy, meta = load_policy(a.policy)
    round_params_fp16(policy).eval()
    os.makedirs(a.package, exist_ok=True)
    onnx_path = os.path.join(a.package, "policy.onnx")
    export_policy(policy, onnx_path, fp16=True)
    H = policy.cfg.hidden
    xs = fixture_inputs(policy, a.sample_images)
    # one batched step (B=3): mid-episode features and a non-zero state from a first step
    with torch.no_grad():
        t0 = torch.tensor([[0.40, 0.0, 0.40], [0.10, 0.0, 0.10], [0.02, 0.0, 0.02]])
        _, _, h1 = policy(xs[:3], t0, torch.zeros(3, H))
        t1 = torch.tensor([[0.39, 0.01, 0.40], [0.09, 0.01, 0.10], [0.25, 0.03, 0.33]])
        p, v, h_out = policy(xs[3:6], t1, h1)
    out = os.path.join(ROOT, a.parity) if not os.path.isabs(a.parity) else a.parity
    m = write_parity(out, _rel(onnx_path), "policy", {"x0_hat": xs[3:6], "t_feat": t1, "h": h1},
                     {"p_denoise": p, "value": v, "h_out": h_out},
                     note=f"trained policy ({meta.get('episodes')} episodes), fp16 weights; sequence: see 'sequence'")
    # chained sequence: B=2 lanes, K steps, h fed back (what policyDecider does), N = 40 and 12
    B, K = 2, 6
    seq_x = xs[: B * K].reshape(K, B, 3, policy.cfg.image_size, policy.cfg.image_size)
    Ns = [40, 12]
    ts, ps, vs, hs = [], [], [], []
    h = torch.zeros(B, H)
    calls = [0, 0]
    with torch.no_grad():
        for k in range(K):
            t = torch.tensor([[(Ns[b] - k) / 100, calls[b] / 100, Ns[b] / 100] for b in range(B)])
            p_, v_, h = policy(seq_x[k], t, h)
            for b in range(B):
                calls[b] += int(p_[b] >= 0.5)
            ts.append(t), ps.append(p_), vs.append(v_), hs.append(h)
    seq = {"B": B, "K": K, "h0": "zeros", "files": {}}
    for name, tensor in (("seq_x0_hat", seq_x), ("seq_t_feat", torch.stack(ts)), ("seq_p_denoise", torch.stack(ps)),
                         ("seq_value", torch.stack(vs)), ("seq_h_out", torch.stack(hs))):
        _write(tensor, os.path.join(out, name + ".bin"))
        seq["files"][name] = {"file": name + ".bin", "shape": list(tensor.shape)}
    m["sequence"] = seq
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(m, f, indent=2)
        f.write("\n")
    print(f"wrote {onnx_path} ({os.path.getsize(onnx_path) / 1e3:.0f} kB), fixture {a.parity}")
    card_path = os.path.join(a.package, "card.json")
    if not a.no_card and os.path.exists(card_path):
        update_card(card_path, policy, meta, a.eval)
        print("updated", card_path)


def update_card(card_path, policy, meta, eval_path=""):
    card = json.load(open(card_path))
    card.setdefault("files", {})["policy"] = "policy.onnx"
    card.setdefault("io", {})["policy"] = {"inputs": IO_POLICY_INPUTS, "outputs": IO_POLICY_OUTPUTS,
                                           "imageSize": policy.cfg.image_size, "hidden": policy.cfg.hidden}
    runs = [dict(r) for r in meta.get("runs", [])]
    last = runs[-1]["args"] if runs else {}
    # per-run episode counts (older metas lack them): run i's count = (episodes after run i) - (before it), where
    # "before the last run" is the episode count stored in its --init policy file
    if runs and runs[-1].get("episodes") is None and last.get("init") and os.path.exists(last["init"]):
        before = int(torch.load(last["init"], map_location="cpu")["meta"].get("episodes", 0))
        runs[-1]["episodes"] = int(meta.get("episodes", 0)) - before
        if len(runs) == 2 and runs[0].get("episodes") is None:
            runs[0]["episodes"] = before
    entry = {
        "kind": "SkipPolicy (CNN encoder of x0_hat at 64x64 + t_feat MLP -> GRU -> P(denoise), value)",
        "params": sum(p.numel() for p in policy.parameters()), "config": policy.cfg.to_dict(),
        "algorithm": "PPO (clip 0.2, 4 epochs per batch, Adam 3e-4, value 0.5, gamma 1, entropy coefficient per run), "
                     "warm start by imitating the fixed-stride rule (sharp 0.95/0.05 targets); see POLICY.md",
        "reward": "(-NIQE_small(final) + lam*LRPSNR) - same for fixed:%d on the same noise, minus price*(fine calls - "
                  "fixed calls)" % last.get("fixed_calls", 10),
        "price": last.get("price"), "lam": last.get("lam"), "episodes": meta.get("episodes"),
        "trainSeconds": round(sum(r.get("seconds", 0) for r in runs), 1),
        "runs": [{"denoiser": r["denoiser"].get("source", "").split("/work/main/")[-1],
                  "denoiserStep": r["denoiser"].get("step"), "seconds": r.get("seconds"),
                  "threads": r["args"].get("threads"), "batch": r["args"].get("batch"),
                  "entropyCoef": r["args"].get("ent"), "episodes": r.get("episodes"),
                  "init": (os.path.relpath(r["args"]["init"]) if r["args"].get("init") else "fixed-stride imitation")}
                 for r in runs],
        "device": "cpu", "weights": "fp16 initializers + Cast, float32 I/O", "opset": 17,
    }
    if eval_path and os.path.exists(eval_path):
        ev = json.load(open(eval_path))
        entry["eval"] = [{"knob": e["knob"], "N": e["N"], "policyCalls": round(e["policy"]["calls_mean"], 2),
                          "policyNiqe": round(e["policy"]["niqe"], 3), "policyPsnr": round(e["policy"]["psnr"], 2),
                          "fixedF": e["equal_calls_F"],
                          "fixedNiqe": round(e[f"fixed:{e['equal_calls_F']}"]["niqe"], 3),
                          "fixedPsnr": round(e[f"fixed:{e['equal_calls_F']}"]["psnr"], 2)} for e in ev["knobs"]]
        entry["evalImages"] = f"{ev['n']} of {ev['images'].split('/data/')[-1]}"
    card.setdefault("training", {})["policy"] = entry
    with open(card_path, "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
