#!/bin/bash
# Final policies on the exported denoisers: fine-tune the dev policy (<= MIN minutes), evaluate, export.
#   training/policy/final.sh <id> <task> <scale> <train data> <eval data> <eval n> <init policy.pt> <ckpt> [crop] 
# Waits for models/<id>/denoiser.onnx + card.json. Logs to training/runs/policy-<id>-final/.
set -u
cd "$(dirname "$0")/../.."
ID=$1; TASK=$2; SCALE=$3; DATA=$4; EVAL=$5; NEV=$6; INIT=$7; CKPT=$8; CROP=${9:-}
MIN=${MIN:-11}; THREADS=${THREADS:-1}; PRICE=${PRICE:-0.02}; LAM=${LAM:-0}; KNOBS=${KNOBS:-0.25,0.5,0.75,1.0}
OUT=training/runs/policy-$ID-final
mkdir -p $OUT
while [ -n "${WAITPID:-}" ] && kill -0 $WAITPID 2>/dev/null; do sleep 10; done
until [ -f models/$ID/denoiser.onnx ] && [ -f models/$ID/card.json ]; do sleep 15; done
sleep 20
echo "start $(date -u +%T)" >> $OUT/log.txt
/usr/bin/python3 training/train_policy.py train --denoiser models/$ID --ckpt $CKPT --task $TASK --scale $SCALE \
  --data $DATA $CROP --out $OUT --init $INIT --minutes $MIN --batch 12 --price $PRICE --lam $LAM --ent ${ENT:--0.01} \
  --threads $THREADS --seed 7 >> $OUT/log.txt 2>&1 || exit 1
echo "trained $(date -u +%T)" >> $OUT/log.txt
/usr/bin/python3 training/train_policy.py eval --denoiser models/$ID --ckpt $CKPT --policy $OUT/policy.pt --task $TASK \
  --scale $SCALE --data $EVAL --n $NEV --knobs $KNOBS --ddpm ${DDPM:-100} --threads $THREADS --out $OUT/eval.json \
  >> $OUT/log.txt 2>&1 || exit 1
echo "evaluated $(date -u +%T)" >> $OUT/log.txt
/usr/bin/python3 training/train_policy.py export --policy $OUT/policy.pt --package models/$ID \
  --parity test/fixtures/parity/policy-$ID --sample-images $EVAL --eval $OUT/eval.json >> $OUT/log.txt 2>&1 || exit 1
echo "exported $(date -u +%T)" >> $OUT/log.txt
