#!/bin/bash
# Final policy for one model: fine-tune the dev policy on the final denoiser checkpoint (<= MIN minutes), then wait
# for the exported package models/<id>/ (until DEADLINE, epoch seconds), evaluate (denoiser verified against the
# package's ONNX when it exists), export policy.onnx + parity fixture (+ card fields when the card exists).
#   training/policy/final.sh <id> <task> <scale> <train data> <eval data> <eval n> <init policy.pt> <ckpt> [--crop]
set -u
cd "$(dirname "$0")/../.."
ID=$1; TASK=$2; SCALE=$3; DATA=$4; EVAL=$5; NEV=$6; INIT=$7; CKPT=$8; CROP=${9:-}
MIN=${MIN:-10}; THREADS=${THREADS:-1}; PRICE=${PRICE:-0.02}; LAM=${LAM:-0}; KNOBS=${KNOBS:-0.25,0.5,0.75,1.0}
DEADLINE=${DEADLINE:-$(( $(date +%s) + 1800 ))}
OUT=training/runs/policy-$ID-final
mkdir -p $OUT
echo "start $(date -u +%T)" >> $OUT/log.txt
/usr/bin/python3 training/train_policy.py train --denoiser $CKPT --task $TASK --scale $SCALE \
  --data $DATA $CROP --out $OUT --init $INIT --minutes $MIN --batch 12 --price $PRICE --lam $LAM --ent ${ENT:--0.01} \
  --threads $THREADS --seed 7 >> $OUT/log.txt 2>&1 || exit 1
echo "trained $(date -u +%T)" >> $OUT/log.txt
until { [ -f models/$ID/denoiser.onnx ] && [ -f models/$ID/card.json ]; } || [ $(date +%s) -gt $DEADLINE ]; do sleep 10; done
DEN=$CKPT; XCKPT=""
if [ -f models/$ID/denoiser.onnx ] && [ -f models/$ID/card.json ]; then sleep 5; DEN=models/$ID; XCKPT="--ckpt $CKPT"; fi
echo "eval on $DEN $(date -u +%T)" >> $OUT/log.txt
/usr/bin/python3 training/train_policy.py eval --denoiser $DEN $XCKPT --policy $OUT/policy.pt --task $TASK \
  --scale $SCALE --data $EVAL --n $NEV --knobs $KNOBS --ddpm ${DDPM:-100} --threads $THREADS --out $OUT/eval.json \
  >> $OUT/log.txt 2>&1 || exit 1
echo "evaluated $(date -u +%T)" >> $OUT/log.txt
NOCARD=""; [ -f models/$ID/card.json ] || NOCARD="--no-card"
/usr/bin/python3 training/train_policy.py export --policy $OUT/policy.pt --package models/$ID $NOCARD \
  --parity test/fixtures/parity/policy-$ID --sample-images $EVAL --eval $OUT/eval.json >> $OUT/log.txt 2>&1 || exit 1
echo "exported $(date -u +%T)" >> $OUT/log.txt
