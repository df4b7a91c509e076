#!/usr/bin/env bash
# The runs behind bench/results/ (from the repository root; ../shared must exist).
set -euo pipefail
D=../shared/data
ALL=hr,bicubic,lanczos,ddpm:10,20,50,100,ddim:20,csa,fixed:10,skipdiff:0,0.25,0.5,0.75,1

# faces 8x: the run (first 16 of faces/val), every method
node bin/daguerre.mjs bench --set $D/faces/val --scale 8 --n 16 --methods $ALL \
  --json bench/results/faces-x8.json --md bench/results/faces-x8.md --plot bench/results/faces-x8.png

# Set14 4x, standard protocol (full images); without a natural model only hr/bicubic/lanczos run
node bin/daguerre.mjs bench --set $D/natural/Set14 --scale 4 --methods hr,bicubic,lanczos \
  --json bench/results/set14-x4.json --md bench/results/set14-x4.md --plot bench/results/set14-x4.png

# Set14 4x with the natural model: centre crops <= 256^2 and a shorter method list, to fit the
# session's CPU time (a full Set14 image is ~25 tiles; every method on all 14 full images is > 1 h on 2 cores)
if [ -f models/natural-x4/card.json ]; then
  node bin/daguerre.mjs bench --set $D/natural/Set14 --scale 4 --crop 256 \
    --methods hr,bicubic,lanczos,ddim:20,csa,fixed:10,skipdiff:0,0.5,1 \
    --json bench/results/set14-x4-crop256.json --md bench/results/set14-x4-crop256.md --plot bench/results/set14-x4-crop256.png
fi
