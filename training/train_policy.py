#!/usr/bin/env python3
"""Learned skip policy (SPN) for a Daguerre model: train (PPO on a frozen denoiser), evaluate, export.

  # train (or fine-tune with --init) on a denoiser checkpoint folder or a model package (models/<id>/)
  /usr/bin/python3 training/train_policy.py train --denoiser training/runs/face-x8-cpu/ckpt --task face --scale 8 \
      --data /work/shared/data/faces/train --out training/runs/policy-face --minutes 10 --threads 1
  # evaluate greedy policy vs fixed:<F> at equal calls (and fixed:10, ddpm:100)
  /usr/bin/python3 training/train_policy.py eval --denoiser models/face-x8 --policy training/runs/policy-face/policy.pt \
      --task face --scale 8 --data /work/shared/data/faces/val --n 16 --out training/runs/policy-face/eval.json
  # export policy.onnx + parity fixture (+ card fields when the package has a card.json)
  /usr/bin/python3 training/train_policy.py export --policy training/runs/policy-face/policy.pt --package models/face-x8 \
      --parity test/fixtures/parity/policy-face-x8
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--denoiser", required=True, help="checkpoint folder, ema_fp16.pt, or model package folder")
    t.add_argument("--ckpt", default="", help="with a package --denoiser: the checkpoint it was exported from "
                   "(verified against the ONNX initializers)")
    t.add_argument("--task", choices=["face", "natural"], required=True)
    t.add_argument("--scale", type=int, required=True)
    t.add_argument("--data", required=True)
    t.add_argument("--crop", action="store_true", help="random 128x128 crops (natural)")
    t.add_argument("--out", required=True)
    t.add_argument("--init", default="", help="warm start from a policy.pt")
    t.add_argument("--bc-steps", type=int, default=150, help="fixed-stride imitation steps before RL (no --init)")
    t.add_argument("--bc-soft", type=float, default=0.95, help="BC targets soft / 1-soft")
    t.add_argument("--tscale", type=float, default=30.0, help="init scale of the t_feat MLP's first layer")
    t.add_argument("--batch", type=int, default=12)
    t.add_argument("--minutes", type=float, default=10)
    t.add_argument("--max-iters", type=int, default=0)
    t.add_argument("--price", type=float, default=0.02, help="reward price per fine denoiser call")
    t.add_argument("--lam", type=float, default=0.0, help="weight of LR-consistency PSNR (dB) in the quality")
    t.add_argument("--fixed-calls", type=int, default=10)
    t.add_argument("--epochs", type=int, default=4)
    t.add_argument("--lr", type=float, default=3e-4)
    t.add_argument("--ent", type=float, default=0.0, help="entropy bonus (0: keep the policy sharp, so that the "
                   "stochastic training policy and the greedy engine policy agree)")
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--save-every", type=int, default=5)
    t.add_argument("--reload-minutes", type=float, default=0, help="reload a newer denoiser checkpoint (dev runs)")
    e = sub.add_parser("eval")
    e.add_argument("--denoiser", required=True)
    e.add_argument("--ckpt", default="")
    e.add_argument("--policy", required=True)
    e.add_argument("--task", choices=["face", "natural"], required=True)
    e.add_argument("--scale", type=int, required=True)
    e.add_argument("--data", required=True)
    e.add_argument("--n", type=int, default=16)
    e.add_argument("--knobs", default="0.25,0.5,0.75,1.0")
    e.add_argument("--ddpm", type=int, default=0, help="also DDPM-K (0 = skip)")
    e.add_argument("--threads", type=int, default=1)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--out", required=True)
    x = sub.add_parser("export")
    x.add_argument("--policy", required=True)
    x.add_argument("--package", required=True, help="models/<id>: writes policy.onnx, updates card.json if present")
    x.add_argument("--parity", required=True, help="fixture folder, e.g. test/fixtures/parity/policy-face-x8")
    x.add_argument("--sample-images", default="", help="folder of images for realistic fixture inputs")
    x.add_argument("--no-card", action="store_true")
    x.add_argument("--eval", default="", help="eval.json to record in the card's training.policy entry")
    a = ap.parse_args()
    if a.cmd == "train":
        from policy.train import train
        train(a, log=lambda s: print(s, flush=True))
    elif a.cmd == "eval":
        from policy.evaluate import evaluate
        evaluate(a)
    else:
        from policy.export import export
        export(a)


if __name__ == "__main__":
    main()
