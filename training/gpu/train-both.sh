#!/usr/bin/env bash
# One device call: trains face-x8 and natural-x4 side by side on one GPU (two processes; a 3.6 M-param U-Net
# leaves most of an H100 idle, so two runs share it at little cost to each), then puts what export needs in $OUT.
#
#   device run, carry ["training/runs/data"] (after the pack_data.py commands in models/*/MODEL.md),
#   command: bash training/gpu/train-both.sh        (MIN = minutes per run, default 6.3)
#
# A run that fails with --compile is retried without it, resuming from its last checkpoint when one exists.
# Back in $OUT (the device tool returns <= 8 files): <name>/ema_fp16.pt and <name>/meta.tar (state.json, run.json,
# metrics.jsonl, log.txt) for name in face, natural; env.txt. Then, here: training/export.py --ckpt <dir> (MODEL.md).
set -u
MIN=${MIN:-6.3}
OUT=${OUT:-training/runs/gpu-out}
PY=${PY:-python3}
EXTRA=${EXTRA:-}            # e.g. "--device cpu --batch 4" for a smoke test here
COMPILE=${COMPILE---compile}   # COMPILE= (set, empty) turns it off
W=${W:-/tmp/daguerre-train}
export PYTHONUNBUFFERED=1
rm -rf "$W"; mkdir -p "$W" "$OUT"
{ date -u +%FT%TZ; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 || true
  $PY -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())'; echo "cores $(nproc)"; } >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

job() { # <name> <train.py args...>
  local name=$1; shift
  local t0; t0=$(date +%s)
  $PY training/train.py "$@" $EXTRA $COMPILE --max-minutes "$MIN" --out "$W/$name" >"$W/$name.log" 2>&1 && return 0
  local used=$(( $(date +%s) - t0 ))
  local left; left=$($PY -c "print(round(max(0.5, $MIN - $used / 60 - 0.1), 2))")
  echo "[driver] $name failed after $used s (see above); retrying without --compile for $left min" >>"$W/$name.log"
  $PY training/train.py "$@" $EXTRA --resume --max-minutes "$left" --out "$W/$name" >>"$W/$name.log" 2>&1
}

COMMON="--preset s4-32 --batch 256 --lr 6e-4 --warmup 300 --loss l1 --min-snr 5 --ema 0.9995 --threads 6 --bf16 1 --ckpt-minutes 3 --log-every 200"
job face --task face --scale 8 --data training/runs/data/faces_train.npz --val-data training/runs/data/faces_val64.npz --val-n 64 $COMMON &
P1=$!
job natural --task natural --scale 4 --patch 128 --data training/runs/data/natural_train.npz $COMMON &
P2=$!
while kill -0 $P1 2>/dev/null || kill -0 $P2 2>/dev/null; do
  sleep 30; for n in face natural; do echo "[$n] $(grep -E '^\[(train|val|ckpt|done)\]' "$W/$n.log" 2>/dev/null | tail -1)"; done
done
wait $P1; R1=$?; wait $P2; R2=$?
for n in face natural; do
  mkdir -p "$OUT/$n"
  cp "$W/$n.log" "$W/$n/log.txt" 2>/dev/null
  [ -f "$W/$n/ckpt/ema_fp16.pt" ] && cp "$W/$n/ckpt/ema_fp16.pt" "$OUT/$n/"
  (cd "$W/$n" && tar -cf "$OUT/$n/meta.tar" $(ls ckpt/state.json run.json metrics.jsonl log.txt 2>/dev/null))
  echo "=== $n (rc $([ $n = face ] && echo $R1 || echo $R2))"; grep -vE '^\[train\]' "$W/$n.log" | tail -15; grep -E '^\[train\]' "$W/$n.log" | tail -3
done
ls -la "$OUT" "$OUT"/*
[ $R1 = 0 ] && [ $R2 = 0 ]
