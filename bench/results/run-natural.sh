#!/usr/bin/env bash
# The natural-model runs behind bench/results/{set14,b100}-*.md (from the repository root; ../shared must exist).
# Centre crops <= 256² (full images with every method are > 1 h on 2 cores). B100: its first 20 images.
set -euo pipefail
D=../shared/data
M=hr,bicubic,lanczos,ddpm:100,ddim:20,csa,fixed:10,skipdiff:0,0.5,0.75,1
node bin/daguerre.mjs bench --set $D/natural/Set14 --scale 4 --crop 256 --methods $M --quiet \
  --json bench/results/set14-x4-crop256.json --md bench/results/set14-x4-crop256.md --plot bench/results/set14-x4-crop256.png
node bin/daguerre.mjs bench --set $D/natural/B100 --n 20 --scale 4 --crop 256 --methods $M --quiet \
  --json bench/results/b100-x4-crop256.json --md bench/results/b100-x4-crop256.md --plot bench/results/b100-x4-crop256.png
for sc in 2 8; do
  node bin/daguerre.mjs bench --set $D/natural/Set14 --scale $sc --crop 256 --methods hr,bicubic,lanczos,skipdiff:0,0.5 --quiet \
    --json bench/results/set14-x$sc-crop256.json --md bench/results/set14-x$sc-crop256.md --plot bench/results/set14-x$sc-crop256.png
done
