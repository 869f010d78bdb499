#!/usr/bin/env bash
# reproduce_passkey.sh: the toy-scale PassKey experiment of the paper (Section 3.2,
# Figure 3a, Appendix D.1), run by `make reproduce-passkey`.
#
# Trains TransformerFAM (M = 0) with two training seeds, and BSWA with M = 0, 1, 2
# and M1_SG (stop-gradient on the memory segment), all at one toy size; evaluates
# each at filler lengths from below the BSWA receptive fields to far beyond them
# (FAM: out to 64x its longest training filler) with an evaluation seed fixed
# before any result was seen, the FAM models again with a second one; writes
# docs/results/passkey.{md,json,svg}. Checkpoints and logs stay in build/passkey/.
# The BSWA models train two at a time (one thread each, 1.5-3 min), then the two FAM
# models side by side (one thread each, 20-38 min), then everything is evaluated
# (3-6 min): 26-48 min with the build on 2 idle cores (two AMD EPYC machines, newer
# and older). Every number is seeded and training does not
# depend on the thread count: a rerun on the same BLAS kernel gives the same tables
# (times aside). SKIP_TRAIN=1 re-evaluates existing checkpoints.
set -euo pipefail
cd "$(dirname "$0")/.."
FAM=build/fam
OUT=build/passkey
mkdir -p "$OUT" docs/results

# One toy size for every model; only the attention differs.
MODEL="--d-model 64 --heads 4 --layers 2 --d-ff 256 --block 16"
COMMON="--batch 16 --lr 3e-3 --schedule cosine --warmup 100 --log-every 100"
# BSWA learns only from examples whose key lies inside its receptive field (at most
# 2*2*16 = 64 tokens here), so it trains on short fillers.
BSWA_TRAIN="--seed 1 --filler 0:48 --curriculum 500 --steps ${BSWA_STEPS:-2000}"
# FAM: the recipe (tools/passkey_notes.md says what each part did and what failed).
# Fillers up to 256, the penalty on FAM updates (weight 0.3) counted only on filler
# blocks, half the examples moved so that a block boundary cuts the answer.
FAM_TRAIN="${FAM_TRAIN:---filler 0:256 --curriculum 1000 --fam-l2 0.3 --penalty-blocks filler --answer-cut 0.5 --steps ${FAM_STEPS:-20000}}"
# Two FAM models, identical but for the training seed: a result must not hang on one seed.
FAM_SEEDS="${FAM_SEEDS:-1 2}"
# The evaluation seeds were fixed before any result with them was looked at (the recipe
# was developed with seed 7); CHECK_SEED re-evaluates the FAM models with other examples.
# (The previous recipe's report used 20261202 and 4242; this recipe has not seen them either,
#  but fresh ones leave no doubt.)
EVAL_SEED="${EVAL_SEED:-20261203}"
CHECK_SEED="${CHECK_SEED:-6007}"
# FAM: out to 64x its longest training filler; BSWA: far past its receptive field
FAM_FILLERS="${FAM_FILLERS:-0,16,32,64,128,256,512,1024,2048,4096,8192,16384}"
CHECK_FILLERS="${CHECK_FILLERS:-0,16,64,256,1024,2048,4096}"
BSWA_FILLERS="${BSWA_FILLERS:-0,16,32,64,128,256,512,1024,2048,4096}"
# examples per filler length: the FAM models are judged against a 95% bar, and with 100
# examples a 97% model reads 94% or less about one time in twelve, so they get 500 (standard
# error ~0.8 points); the BSWA models sit at 0 or 1, where 100 are plenty
SAMPLES="${SAMPLES:-100}"
FAM_SAMPLES="${FAM_SAMPLES:-500}"
FAM_NAMES=""
for s in $FAM_SEEDS; do FAM_NAMES="$FAM_NAMES fam_s$s"; done

start_all=$(date +%s)
now() { echo $(( $(date +%s) - start_all )); }

# train_one NAME THREADS ARGS...: one model in the foreground; log NAME.train.log,
# wall-clock seconds in NAME.seconds
train_one() {
    local name=$1 threads=$2
    shift 2
    local t0
    t0=$(date +%s%N)
    $FAM train $MODEL $COMMON --threads "$threads" "$@" --out "$OUT/$name.safetensors" > "$OUT/$name.train.log" 2>&1
    echo "$(( ($(date +%s%N) - t0) / 1000000 ))e-3" > "$OUT/$name.seconds"
}

# print the running trainings' latest progress line every 30 s until they end
watch_logs() {
    while [ -n "$(jobs -r)" ]; do
        sleep 30
        for log in "$@"; do
            local line
            line=$(tail -n 1 "$OUT/$log.train.log" 2>/dev/null) || continue
            case "$line" in step*) echo "[$(now)s] $log: $line" ;; esac  # running ones only
        done
    done
    wait
}

# eval_one NAME FILLERS SAMPLES SEED SUFFIX: `fam eval --json` into NAME.SUFFIX.json, table in .log
eval_one() {
    $FAM eval --model "$OUT/$1.safetensors" --filler "$2" --samples "$3" --seed "$4" --threads 1 --json \
        > "$OUT/$1.$5.json" 2> "$OUT/$1.$5.log"
}

$FAM --version > "$OUT/machine.txt"
echo "== $(tr '\n' ' ' < "$OUT/machine.txt")"
if [ "${SKIP_TRAIN:-0}" = 1 ]; then
    echo "== SKIP_TRAIN=1: evaluating the checkpoints already in $OUT"
else
    echo "== PassKey reproduction, training 1/2: the four BSWA models, two at a time (one thread each)"
    ( train_one bswa_m0 1 --attention bswa --mem 0 $BSWA_TRAIN
      train_one bswa_m1 1 --attention bswa --mem 1 $BSWA_TRAIN ) &
    ( train_one bswa_m2 1 --attention bswa --mem 2 $BSWA_TRAIN
      train_one bswa_m1_sg 1 --attention bswa --mem 1 --mem-stop-grad $BSWA_TRAIN ) &
    watch_logs bswa_m0 bswa_m1 bswa_m2 bswa_m1_sg
    echo "[$(now)s] BSWA models trained"
    echo "== training 2/2: TransformerFAM, training seeds $FAM_SEEDS, side by side (one thread each;"
    echo "   the result does not depend on the thread count)"
    for s in $FAM_SEEDS; do
        train_one "fam_s$s" 1 --attention fam --mem 0 --seed "$s" $FAM_TRAIN &
    done
    watch_logs $FAM_NAMES
    echo "[$(now)s] FAM models trained"
fi

echo "== evaluation, seed $EVAL_SEED: FAM at $FAM_FILLERS ($FAM_SAMPLES examples each), BSWA at $BSWA_FILLERS ($SAMPLES)"
# two evaluations at a time, one thread each
for name in $FAM_NAMES; do eval_one "$name" "$FAM_FILLERS" "$FAM_SAMPLES" "$EVAL_SEED" eval & done
wait
for name in $FAM_NAMES; do cat "$OUT/$name.eval.log"; done
( eval_one bswa_m0 "$BSWA_FILLERS" "$SAMPLES" "$EVAL_SEED" eval; eval_one bswa_m1 "$BSWA_FILLERS" "$SAMPLES" "$EVAL_SEED" eval ) &
( eval_one bswa_m2 "$BSWA_FILLERS" "$SAMPLES" "$EVAL_SEED" eval; eval_one bswa_m1_sg "$BSWA_FILLERS" "$SAMPLES" "$EVAL_SEED" eval ) &
wait
for name in bswa_m0 bswa_m1 bswa_m2 bswa_m1_sg; do cat "$OUT/$name.eval.log"; done
echo "[$(now)s] the FAM models again with evaluation seed $CHECK_SEED at $CHECK_FILLERS ($FAM_SAMPLES examples each)"
for name in $FAM_NAMES; do eval_one "$name" "$CHECK_FILLERS" "$FAM_SAMPLES" "$CHECK_SEED" check & done
wait
for name in $FAM_NAMES; do cat "$OUT/$name.check.log"; done
# where the block boundary falls in the answer: each FAM model at B = 16 consecutive lengths
PHASE_FROM="${PHASE_FROM:-1024}"
echo "[$(now)s] the FAM models at fillers $PHASE_FROM..$((PHASE_FROM + 15)) (every place a block boundary can cut the answer)"
for name in $FAM_NAMES; do eval_one "$name" "$(seq -s, "$PHASE_FROM" $((PHASE_FROM + 15)))" "$SAMPLES" "$EVAL_SEED" phases & done
wait
for name in $FAM_NAMES; do cat "$OUT/$name.phases.log"; done

FAM_LIST=$(echo $FAM_NAMES | tr ' ' ',')
build/tools/passkey_report --dir "$OUT" --models "$FAM_LIST,bswa_m0,bswa_m1,bswa_m2,bswa_m1_sg" \
    --phases "$FAM_LIST" --machine "$OUT/machine.txt" --eval-seed "$EVAL_SEED" --check-seed "$CHECK_SEED" --notes tools/passkey_notes.md --json docs/results/passkey.json --md docs/results/passkey.md \
    --svg docs/results/passkey.svg
echo "[$(now)s] done"
