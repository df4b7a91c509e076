#!/usr/bin/env python3
"""Samples/s of the host degradation alone (no model), serial (K = 0) and with --data-workers K, for the trainer's
two host-degraded paths. The same draws as the trainer (trainer.make_feeder), on the CPU.

  /usr/bin/python3 training/bench_degrade.py --task natural --data training/runs/data/natural_train.npz,training/runs/data/natural_hr640.npz --k 0,1,2
  /usr/bin/python3 training/bench_degrade.py --task face-blind --data training/runs/data/ffhq_train256.npz \
      --small-data training/runs/data/faces_train1000.npz --patch 256 --batch 16 --k 0,1,2
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

from daguerre_train.data import FaceBlindData, PatchData  # noqa: E402
from daguerre_train.degrade import degrade_batch  # noqa: E402
from daguerre_train.degrade_face import FaceDegradeConfig, degrade_face_batch  # noqa: E402
from daguerre_train.trainer import add_args, gamma_tables, make_feeder  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", choices=["natural", "face-blind"], default="natural")
    ap.add_argument("--data", required=True)
    ap.add_argument("--small-data", default="")
    ap.add_argument("--patch", type=int, default=128)
    ap.add_argument("--scale", type=int, default=4)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--batches", type=int, default=6, help="timed batches per K (after one warm-up batch)")
    ap.add_argument("--k", default="0,1,2")
    ap.add_argument("--prefetch", type=int, default=3)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--face-blur", choices=["conv", "fft"], default="conv")
    ap.add_argument("--json", default="")
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.task == "natural":
        data = PatchData(a.data, patch=a.patch, limit=a.limit)
    else:
        data = FaceBlindData(a.data, a.small_data, size=a.patch, limit=a.limit)
    g_hi, g_lo = gamma_tables("cosine", 1000, "cpu")
    rows = []
    for K in [int(k) for k in a.k.split(",")]:
        gen, cpu_gen = torch.Generator().manual_seed(0), torch.Generator().manual_seed(1)
        targs = ["--task", a.task, "--patch", str(a.patch), "--scale", str(a.scale), "--batch", str(a.batch),
                 "--data-workers", str(K), "--prefetch", str(a.prefetch), "--face-blur", a.face_blur] + (["--degrade", "real"] if a.task == "natural" else [])
        args = add_args(argparse.ArgumentParser()).parse_args(targs)
        feeder = make_feeder(args, data, gen, cpu_gen, g_hi, g_lo, torch.device("cpu")) if K else None

        def one():
            if feeder is not None:
                return feeder.next()
            if a.task == "natural":
                return degrade_batch(data.batch(a.batch, cpu_gen), a.scale, "real", generator=cpu_gen, real_p=0.8)
            x, ms = data.batch(a.batch, gen)
            return degrade_face_batch(x, FaceDegradeConfig(blur_impl=a.face_blur), generator=cpu_gen, min_scale=ms)

        try:
            one()  # warm-up (and, with workers, the first batches in flight)
            t0 = time.time()
            for _ in range(a.batches):
                one()
            dt = time.time() - t0
        finally:
            if feeder is not None:
                feeder.close()
        sps = a.batches * a.batch / dt
        rows.append({"task": a.task, "face_blur": a.face_blur, "K": K, "batch": a.batch, "batches": a.batches, "seconds": round(dt, 2),
                     "samples_per_s": round(sps, 1)})
        print(f"[bench] {a.task}{' ' + a.face_blur if a.task == 'face-blind' else ''} K={K}: {a.batches} x {a.batch} samples in {dt:.1f} s = {sps:.1f} samples/s "
              f"(load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores)", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
