#!/usr/bin/env bash
# One device call (issues 15, 16 and 17 item 2): trains, side by side on one GPU (two processes),
#   natural    natural-real-x4: natural-x4's EMA fine-tuned with --degrade real (degrade_real.py) on natural/train +
#              natural/train-hr (longer side 512 px, JPEG q90), x4, 128² patches, s4-32, with the damage-mask input
#              (--mask-p 0.3: synthetic scratches, cracks, blotches and dust inside a random mask on 30 % of the
#              samples, damage.py; the mask input's weights start at zero, so at mask 0 it starts as natural-x4);
#   face-blind the blind face model: fb-32 at 256², FFHQ-256 + 1,000 UTKFace (upsampled), degrade_face.py,
# each with its host degradation in worker processes (--data-workers) and each degraded batch used for --echo steps
# at fresh noise levels, then puts what export needs in $OUT. Sequence, packing and export: training/gpu/README.md.
#
#   device run, carry ["training/runs/data"], timeout_s 600, command: OUT=$OUT bash training/gpu/train-all.sh
#   (MIN = minutes per job, default 8.3: both jobs end, save and are copied to $OUT within ~9 minutes)
#
# A job that fails with --compile is retried without it, resuming from its last checkpoint when one exists; the two
# jobs' minutes both end by MIN. Back in $OUT (<= 8 files, each <= 16 MiB): natural/ema_fp16.pt (7.3 MB),
# face-blind/ema_fp16.pt (12.1 MB), <job>/meta.tar (state.json, run.json, metrics.jsonl, log.txt), env.txt.
# Smoke test here: MIN=0.5 EXTRA="--device cpu --batch 2 --threads 1" COMPILE= bash training/gpu/train-all.sh
set -u
MIN=${MIN:-8.3}
OUT=${OUT:-training/runs/gpu-out}
PY=${PY:-python3}
EXTRA=${EXTRA:-}              # appended to both jobs, e.g. "--device cpu --batch 2 --threads 1" for a smoke test
COMPILE=${COMPILE---compile}   # COMPILE= (set, empty) turns it off
W=${W:-/tmp/daguerre-train}
D=${D:-training/runs/data}
NAT_WORKERS=${NAT_WORKERS:-8}   # 16 cores: 8 + 6 degradation workers + the two trainers' main processes
FACE_WORKERS=${FACE_WORKERS:-6}
NAT_ECHO=${NAT_ECHO:-4}
FACE_ECHO=${FACE_ECHO:-2}
MASK_P=${MASK_P:-0.3}           # natural: fraction of samples with synthetic damage + mask (issue 17 item 2; 0 = no mask input)
export PYTHONUNBUFFERED=1
T0=$(date +%s)
rm -rf "$W"; mkdir -p "$W" "$OUT"
{ date -u +%FT%TZ; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 || true
  $PY -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())'; echo "cores $(nproc)"
  ls -la "$D"; } >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

# natural-x4's EMA weights: recovered here with torch 1.13 and carried (init-natural-x4.pt), else from the package
INIT=$D/init-natural-x4.pt
if [ ! -f "$INIT" ]; then
  INIT=$W/init-natural-x4/ema_fp16.pt
  $PY training/onnx_to_ckpt.py models/natural-x4 "$INIT" 2>&1 | tail -3 | tee -a "$OUT/env.txt"
fi

job() { # <name> <train.py args...>
  local name=$1; shift
  local t0; t0=$(date +%s)
  $PY training/train.py "$@" $EXTRA $COMPILE --max-minutes "$MIN" --out "$W/$name" >"$W/$name.log" 2>&1 && return 0
  local used=$(( $(date +%s) - t0 ))
  local left; left=$($PY -c "print(round($MIN - $used / 60 - 0.15, 2))")
  if $PY -c "import sys; sys.exit(0 if $left >= 0.5 else 1)"; then
    echo "[driver] $name failed after $used s (see above); retrying without --compile for $left min" >>"$W/$name.log"
    $PY training/train.py "$@" $EXTRA --resume --max-minutes "$left" --out "$W/$name" >>"$W/$name.log" 2>&1
  else
    echo "[driver] $name failed after $used s (see above); no time left to retry" >>"$W/$name.log"; return 1
  fi
}

COMMON="--loss l1 --min-snr 5 --threads 1 --bf16 1 --ckpt-minutes 3 --log-every 100 --prefetch 3"
if [ -f "$INIT" ]; then
  job natural --task natural --degrade real --real-p 0.8 --mask-p "$MASK_P" --scale 4 --patch 128 --preset s4-32 \
    --data "$D/natural_train.npz,$D/natural_hr512.npz" --init "$INIT" \
    --batch 256 --echo "$NAT_ECHO" --lr 2e-4 --warmup 100 --ema 0.999 --data-workers "$NAT_WORKERS" $COMMON &
  P1=$!
else
  echo "[driver] natural: no init weights ($INIT)" | tee "$W/natural.log"; (exit 1) & P1=$!
fi
job face-blind --task face-blind --patch 256 --preset fb-32 --face-blur fft \
  --data "$D/ffhq_train256.npz" --small-data "$D/faces_train1000.npz" --small-p 0.25 \
  --val-data "$D/ffhq_train256.npz" --val-n 32 \
  --batch 64 --echo "$FACE_ECHO" --lr 4e-4 --warmup 300 --ema 0.998 --data-workers "$FACE_WORKERS" $COMMON &
P2=$!
while kill -0 $P1 2>/dev/null || kill -0 $P2 2>/dev/null; do
  sleep 30
  for n in natural face-blind; do echo "[$n] $(grep -E '^\[(train|val|ckpt|done|driver)\]' "$W/$n.log" 2>/dev/null | tail -1)"; done
done
wait $P1; R1=$?; wait $P2; R2=$?
for n in natural face-blind; do
  mkdir -p "$OUT/$n"
  cp "$W/$n.log" "$W/$n/log.txt" 2>/dev/null
  [ -f "$W/$n/ckpt/ema_fp16.pt" ] && cp "$W/$n/ckpt/ema_fp16.pt" "$OUT/$n/"
  (cd "$W/$n" 2>/dev/null && tar -cf "$OUT/$n/meta.tar" $(ls ckpt/state.json run.json metrics.jsonl log.txt 2>/dev/null))
  echo "=== $n (rc $([ $n = natural ] && echo $R1 || echo $R2))"
  grep -vE '^\[train\]' "$W/$n.log" | tail -12; grep -E '^\[train\]' "$W/$n.log" | tail -3
done
echo "[driver] $(( $(date +%s) - T0 )) s in all"
ls -la "$OUT" "$OUT"/*
[ $R1 = 0 ] && [ $R2 = 0 ]
