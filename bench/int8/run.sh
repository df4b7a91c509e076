#!/usr/bin/env bash
# The int8 runs behind bench/results/int8-*.md and models/{natural-x4,face-x8}/denoiser-int8.onnx
# (from the repository root; ../shared must exist). Never a test: minutes of CPU.
set -euo pipefail
D=../shared/data
W=${W:-/tmp/daguerre-int8}
KEEP='^/(inp|out|up\.2\.|down\.0\.)'   # Convs left float32: stem, output, full-resolution encoder and decoder levels
PY=/usr/bin/python3

q() { # q <model-id> <calib-set> <scale> <crop> <images> <batches>
  local w=$W/$1
  $PY bench/int8/quantize.py prepare models/$1/denoiser.onnx $w
  npx tsx bench/int8/calibrate.ts --model models/$1 --work $w --set $2 --scale $3 --crop $4 --images $5 --batches $6
  $PY bench/int8/quantize.py build $w $w/int8-all.onnx
  $PY bench/int8/quantize.py build $w $w/int8-fp32-out.onnx --skip-last
  $PY bench/int8/quantize.py build $w $w/int8-A.onnx --keep '^/(inp|out|up\.2\.)'
  $PY bench/int8/quantize.py build $w $w/int8-B.onnx --keep "$KEEP"
}
q natural-x4 $D/natural/train-hr 4 256 4 40
q face-x8 $D/faces/train 8 0 36 48

R=bench/results/int8
mkdir -p $R
npx tsx bench/int8/compare.ts --set $D/natural/Set14 --scale 4 --crop 256 --base models/natural-x4 \
  --variant int8=$W/natural-x4/int8-all.onnx --variant int8-fp32-out=$W/natural-x4/int8-fp32-out.onnx \
  --md $R/set14-x4-crop256-all.md --json $R/set14-x4-crop256-all.json
npx tsx bench/int8/compare.ts --set $D/natural/Set14 --scale 4 --crop 256 --base models/natural-x4 \
  --variant int8-A=$W/natural-x4/int8-A.onnx --variant int8-B=$W/natural-x4/int8-B.onnx \
  --md $R/set14-x4-crop256-mixed.md --json $R/set14-x4-crop256-mixed.json
npx tsx bench/int8/compare.ts --set $D/faces/val --scale 8 --n 16 --base models/face-x8 \
  --variant int8-all=$W/face-x8/int8-all.onnx --variant int8-A=$W/face-x8/int8-A.onnx --variant int8-B=$W/face-x8/int8-B.onnx \
  --md $R/faces-x8.md --json $R/faces-x8.json
npx tsx bench/cpu-peak.ts --reps 7 --extra $W/natural-x4/int8-B.onnx --extra $W/natural-x4/int8-all.onnx \
  --md bench/results/cpu-peak.md --json bench/results/cpu-peak.json
# shipped: the B variant (passes both quality gates)
# cp $W/natural-x4/int8-B.onnx models/natural-x4/denoiser-int8.onnx; cp $W/face-x8/int8-B.onnx models/face-x8/denoiser-int8.onnx
