"""models/<id>/POLICY.md from the policy checkpoint's meta and eval.json (numbers), plus the fixed narrative.

  /usr/bin/python3 -m policy.doc <policy.pt> <eval.json> <out POLICY.md> <model id> [notes.md] [tail.md]   (from training/)
"""
import json
import sys

import torch

from .evaluate import table


def curve(history, chunks=6):
    if not history:
        return "(no history)"
    n = len(history)
    rows = ["| episodes | batches | mean reward | mean NIQE gain vs fixed:10 | fine calls policy / fixed |",
            "|---|---|---|---|---|"]
    for c in range(chunks):
        part = history[c * n // chunks:(c + 1) * n // chunks]
        if not part:
            continue
        m = lambda k: sum(h[k] for h in part) / len(part)  # noqa: E731
        rows.append(f"| {part[0]['episodes'] - 0}–{part[-1]['episodes']} | {len(part)} | {m('reward'):+.3f} | "
                    f"{m('gain'):+.3f} | {m('calls_policy'):.1f} / {m('calls_fixed'):.1f} |")
    return "\n".join(rows)


def main():
    pol_path, ev_path, out, mid = sys.argv[1:5]
    notes = open(sys.argv[5]).read() if len(sys.argv) > 5 else ""
    tail = open(sys.argv[6]).read() if len(sys.argv) > 6 else ""
    d = torch.load(pol_path, map_location="cpu")
    meta = d["meta"]
    ev = json.load(open(ev_path))
    runs = meta.get("runs", [])
    secs = sum(r.get("seconds", 0) for r in runs)
    lines = [f"# {mid}: learned skip policy (`policy.onnx`)", "",
             notes.strip(), "",
             "## Training runs", "",
             "| run | denoiser | seconds | threads | batch | price | lam |", "|---|---|---|---|---|---|---|"]
    for i, r in enumerate(runs):
        a = r["args"]
        den = r["denoiser"].get("ckpt") or r["denoiser"].get("source", "")
        lines.append(f"| {i + 1} | `{den.split('/work/main/')[-1]}` (step {r['denoiser'].get('step', '—')}) | "
                     f"{r['seconds']:.0f} | {a.get('threads')} | {a.get('batch')} | {a.get('price')} | {a.get('lam')} |")
    lines += ["", f"Total: {meta.get('episodes')} episodes, {secs / 60:.1f} min of CPU wall time.", "",
              "## Reward curve (all runs, in order; each row a sixth of the batches)", "", curve(meta.get("history", [])),
              "", f"## Evaluation ({ev['n']} images of `{ev['images'].split('/data/')[-1]}`, x{ev['scale']}, "
              "Python reference sampler, greedy policy, same noise for every method at a knob)", "",
              table(ev), "", tail.strip(), ""]
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote", out)


if __name__ == "__main__":
    main()
