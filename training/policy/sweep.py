"""Price sweep by the fixed-stride rule's marginal quality per call: at fixed N, run fixed:<F> for several F on the
same images and noise, and report NIQE / LR-PSNR per F. The slope d(-NIQE)/d(calls) is the price at which an extra
call breaks even, so it brackets a sensible reward price.

  /usr/bin/python3 -m policy.sweep <denoiser> <image folder> <scale> <n images> [--crop] (run from training/)
"""
import json
import sys
import time

import torch

from daguerre_train.degrade import bicubic_pipeline

from . import fsr, reward
from .common import Images, load_denoiser


def main():
    den_path, folder, scale, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(1)
    den, info = load_denoiser(den_path)
    im = Images(folder, 128, crop="--crop" in sys.argv, seed=5)
    hr, lr, cond = bicubic_pipeline(im.fixed(n), scale)
    out = {"denoiser": info.get("step"), "rows": []}
    for N, Fs in ((10, (2, 3, 5, 10)), (40, (3, 5, 10, 20, 39))):
        noise = fsr.KeyedNoise(77)
        csa = fsr.coarse_pass(den, cond, N, noise)
        for F_ in Fs:
            t0 = time.time()
            st = fsr.run_fixed(den, cond, N, csa, noise, F_)
            sc = reward.scores(st.x0, lr, scale)
            row = {"N": N, "F": F_, "calls": len(st.fine_levels[0]), "niqe": sum(s[0] for s in sc) / n,
                   "lrpsnr": sum(s[1] for s in sc) / n, "s": round(time.time() - t0, 1)}
            out["rows"].append(row)
            print(json.dumps(row), flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
