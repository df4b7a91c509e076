#!/usr/bin/env python3
"""Pack an image folder into one file to carry to a GPU machine (the device tool moves <= 64 MiB in all).

  --format jpeg (default): .npz with `blob` (uint8, the original JPEG/PNG bytes concatenated) and `offsets`
                           (int64, N+1). faces/train (4,300 JPEGs) -> ~35 MB; decoded at load (a few seconds).
  --format raw:            .npy uint8 [N,H,W,3], decoded pixels (same-size images only). 128x128 faces are 49 KB
                           each: use --limit 1000 for ~49 MB.

  /usr/bin/python3 training/pack_data.py /work/shared/data/faces/train training/runs/data/faces_train.npz
  /usr/bin/python3 training/pack_data.py /work/shared/data/faces/val training/runs/data/faces_val.npz

train.py --data / --val-data accept the result directly.
"""
import argparse
import io
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daguerre_train.data import _load, list_images  # noqa: E402


def reencode(path: str, quality: int, max_side: int = 0) -> bytes:
    from PIL import Image
    im = Image.fromarray(_load(path))
    if max_side and max(im.size) > max_side:
        k = max_side / max(im.size)
        im = im.resize((round(im.width * k), round(im.height * k)), Image.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality, subsampling=0)
    return buf.getvalue()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--format", choices=["jpeg", "raw"], default="jpeg")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--requality", type=int, default=0,
                    help="jpeg format: re-encode every image as JPEG at this quality (4:4:4) to fit the 64 MiB carry; "
                         "0 keeps the original bytes. Re-encoding at q>=90 adds far less than the training degradation")
    ap.add_argument("--max-side", type=int, default=0,
                    help="with --requality: first shrink (Lanczos) images whose longer side exceeds this")
    a = ap.parse_args()
    files = list_images(a.src)
    if a.limit:
        files = files[: a.limit]
    os.makedirs(os.path.dirname(os.path.abspath(a.dst)), exist_ok=True)
    if a.format == "jpeg":
        parts = [reencode(f, a.requality, a.max_side) if a.requality else open(f, "rb").read() for f in files]
        offsets = np.zeros(len(parts) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(p) for p in parts])
        blob = np.frombuffer(b"".join(parts), dtype=np.uint8)
        assert a.dst.endswith(".npz")
        np.savez(a.dst, blob=blob, offsets=offsets)
    else:
        arr = np.stack([_load(f) for f in files]).astype(np.uint8)
        assert a.dst.endswith(".npy")
        np.save(a.dst, arr)
    print(f"{len(files)} images -> {a.dst} ({os.path.getsize(a.dst) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
