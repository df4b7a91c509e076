#!/usr/bin/env python3
"""Merge a freshly exported card (training/export.py) into a package's existing card.

Keeps everything the old card knows that export does not write (policy section, metrics, augment, data, licence,
knob table), takes the new training record, trainedOn, architecture and the denoiser's io (the exported ONNX's
inputs: a mask-input model has four), and the new degradation's `damage` record (or drops the old one when the new
model has no mask input); replaces the failure modes when given.

  training/gpu/merge_card.py <old card.json> <new card.json> <out card.json> [--failure-modes modes.json]
"""
import argparse
import json


def merge(old: dict, new: dict, failure_modes=None) -> dict:
    out = json.loads(json.dumps(old))
    out["trainedOn"] = new.get("trainedOn", out.get("trainedOn"))
    keep = {k: out.get("training", {}).get(k) for k in ("policy", "augment") if k in out.get("training", {})}
    training = dict(new.get("training", {}))
    training.update(keep)
    training.pop("gpuRunOwed", None)
    if failure_modes is not None:
        training["knownFailureModes"] = failure_modes
    elif "knownFailureModes" in old.get("training", {}):
        training["knownFailureModes"] = old["training"]["knownFailureModes"]
    out["training"] = training
    for k in ("architecture",):
        if k in new:
            out[k] = new[k]
    if "io" in new:  # what the exported ONNX takes (x_t, cond, gamma[, mask]); the old card's policy io is kept
        out.setdefault("io", {})["denoiser"] = new["io"]["denoiser"]
    deg = out.setdefault("degradation", {})
    if "damage" in new.get("degradation", {}):
        deg["damage"] = new["degradation"]["damage"]
    else:
        deg.pop("damage", None)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("out")
    ap.add_argument("--failure-modes", default="")
    a = ap.parse_args()
    fm = json.load(open(a.failure_modes)) if a.failure_modes else None
    merged = merge(json.load(open(a.old)), json.load(open(a.new)), fm)
    with open(a.out, "w") as f:
        json.dump(merged, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
