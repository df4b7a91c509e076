#!/usr/bin/env python3
"""Train a Daguerre denoiser. Examples (from the repo root):

  CPU (1 thread, stops after 80 min):
    /usr/bin/python3 training/train.py --task face --scale 8 --preset s4-48 --threads 1 --max-minutes 80 \
        --out training/runs/face-x8-cpu --val-data /work/shared/data/faces/val
  GPU: see training/README.md.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from daguerre_train.trainer import add_args, train  # noqa: E402

if __name__ == "__main__":
    import torch

    torch.set_num_interop_threads(1)  # must happen before any parallel work (aborts the process otherwise)
    ap = add_args(argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter))
    train(ap.parse_args())
