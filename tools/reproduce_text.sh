#!/usr/bin/env bash
# reproduce_text.sh: real text and the FAM retrofit at toy scale, run by
# `make reproduce-text` (the counterpart of the paper's long-context language
# modelling, Section 3 / PG-19, and of "TransformerFAM requires no additional
# weights", Section 2.2 and 3.1).
#
# Corpus: the King James Bible from the Debian package bible-kjv-text (public
# domain), printed by the package bible-kjv's `bible` program; never downloaded
# at run time (mk/text.mk installs the packages). One byte per token.
#
#   (1) BSWA and FAM trained from scratch, S steps each (same model, same data order)
#   (2) retrofit: the BSWA model continued S' more steps as BSWA, or converted to FAM
#       (fam convert: + fam_prompt only) and continued S' steps as FAM, both from the
#       same weights with the same windows
#   (3) every model: the loss by position inside long validation windows (how much
#       far context helps) and PassKey hidden in held-out Bible text
#
# Two trainings at a time, one thread each (the result does not depend on the thread
# count). 1.4 minutes of runs on 2 idle cores (AMD EPYC, Haswell kernel, with
# fast_exp; an earlier run on the Zen kernel took 4.5, and 7 for `make reproduce-text`
# from a fresh clone, build included); STEPS=2400 MORE_STEPS=1200 is
# about 4x that. Every number is seeded: a rerun gives
# the same tables (times aside). Checkpoints and logs: build/text/.
# Knobs (environment): STEPS (S), MORE_STEPS (S'), EVAL_WINDOWS, PK_SAMPLES, OUT, FAM.
set -euo pipefail
cd "$(dirname "$0")/.."
FAM=${FAM:-build/fam}
REPORT=${REPORT:-build/tools/text_report}
OUT=${OUT:-build/text}
RESULTS=${RESULTS:-docs/results}
mkdir -p "$OUT" "$RESULTS"
CORPUS="$OUT/kjv.txt"

STEPS=${STEPS:-600}          # S: from-scratch steps (and the BSWA base of the retrofit)
MORE_STEPS=${MORE_STEPS:-300}  # S': the continuation, as BSWA or as the converted FAM
EVAL_WINDOWS=${EVAL_WINDOWS:-48}
PK_SAMPLES=${PK_SAMPLES:-40}
PK_FILLERS=${PK_FILLERS:-0,32,128,512,2048}

# One toy size for every model: byte-level, D 64, 2 layers, blocks of 32 with one
# memory segment (BSWA sees 32-64 tokens back per layer, at most 96 in all); FAM adds
# F = 16 rows of memory per layer. Windows of 256 bytes, 16 per step.
MODEL="--d-model 64 --heads 4 --layers 2 --d-ff 256 --block 32 --mem 1"
TRAIN="--task text --data $CORPUS --window 256 --val-percent 5 --batch 16 --lr 3e-3 --warmup 100 --schedule cosine --log-every 200 --seed 1"
# RSP as in the paper's App. B.2.3 (p = 0.8): without it the paper's PG-19 drops markedly
FAM_OPTS="--rsp 0.8"

start_all=$(date +%s)
now() { echo $(( $(date +%s) - start_all )); }

echo "== corpus: the King James Bible (Debian bible-kjv-text, printed by bible-kjv's 'bible')"
bible -l80 "gen1:1-rev22:21" > "$CORPUS.tmp"
mv "$CORPUS.tmp" "$CORPUS"
sz=$(stat -c %s "$CORPUS")
if [ "$sz" -lt 4000000 ]; then echo "reproduce-text: $CORPUS has only $sz bytes; the bible program printed less than the whole text" >&2; exit 1; fi
sha=$(sha256sum "$CORPUS" | cut -c1-16)
pkg=$(dpkg-query -W -f='${Package} ${Version}' bible-kjv-text)
echo "   $CORPUS: $sz bytes, sha256 $sha..., $pkg"
$FAM --version > "$OUT/version.txt"

# train NAME THREADS ARGS...: log NAME.train.log, wall-clock seconds in NAME.seconds
train() {
    local name=$1 threads=$2
    shift 2
    local t0
    t0=$(date +%s%N)
    echo "[$(now)s] start $name: fam train $* --threads $threads --out $OUT/$name.safetensors" | tee -a "$OUT/commands.txt"
    $FAM train "$@" --threads "$threads" --out "$OUT/$name.safetensors" > "$OUT/$name.train.log" 2>&1 ||
        { echo "reproduce-text: training $name failed:" >&2; tail -n 5 "$OUT/$name.train.log" >&2; exit 1; }
    echo "$(( ($(date +%s%N) - t0) / 1000000 ))e-3" > "$OUT/$name.seconds"
    echo "[$(now)s] done  $name: $(grep '^step' "$OUT/$name.train.log" | tail -n 1 | cut -c1-90)"
}

: > "$OUT/commands.txt"
if [ "${SKIP_TRAIN:-0}" = 1 ]; then
    echo "== SKIP_TRAIN=1: evaluating the checkpoints already in $OUT"
else
    echo "== training: (1) BSWA and FAM from scratch, $STEPS steps; (2) the BSWA model + $MORE_STEPS steps as BSWA or converted to FAM"
    # lane 1: the BSWA base, then its FAM retrofit; lane 2: FAM from scratch, then BSWA continued
    ( train bswa 1 $TRAIN $MODEL --attention bswa --steps "$STEPS"
      echo "[$(now)s] fam convert --model $OUT/bswa.safetensors --attention fam --fam 16 --seed 1 --out $OUT/bswa_to_fam.safetensors" | tee -a "$OUT/commands.txt"
      $FAM convert --model "$OUT/bswa.safetensors" --attention fam --fam 16 --seed 1 --out "$OUT/bswa_to_fam.safetensors" > "$OUT/convert.log"
      cat "$OUT/convert.log"
      train bswa_then_fam 1 $TRAIN $FAM_OPTS --init "$OUT/bswa_to_fam.safetensors" --steps "$MORE_STEPS" ) &
    lane1=$!
    ( train fam 1 $TRAIN $MODEL --attention fam --fam 16 $FAM_OPTS --steps "$STEPS"
      while [ ! -f "$OUT/bswa.seconds" ]; do sleep 5; done  # the BSWA base first
      train bswa_then_bswa 1 $TRAIN --init "$OUT/bswa.safetensors" --steps "$MORE_STEPS" ) &
    lane2=$!
    wait $lane1
    wait $lane2
    echo "[$(now)s] all four models trained"
fi

MODELS="bswa fam bswa_then_bswa bswa_then_fam"
echo "== evaluation: $EVAL_WINDOWS validation windows of 1024 bytes, PassKey in held-out text at fillers $PK_FILLERS ($PK_SAMPLES each)"
for m in $MODELS; do
    echo "fam eval --task text --model $OUT/$m.safetensors --data $CORPUS --window 1024 --windows $EVAL_WINDOWS --bucket 32 --passkey-filler $PK_FILLERS --passkey-samples $PK_SAMPLES --seed 1 --threads 2 --json" >> "$OUT/commands.txt"
    $FAM eval --task text --model "$OUT/$m.safetensors" --data "$CORPUS" --window 1024 --windows "$EVAL_WINDOWS" \
        --bucket 32 --passkey-filler "$PK_FILLERS" --passkey-samples "$PK_SAMPLES" --seed 1 --threads 2 --json > "$OUT/$m.eval.json"
    echo "[$(now)s] evaluated $m"
done
for m in $MODELS; do
    $FAM generate --model "$OUT/$m.safetensors" --prompt "And God said, " --max-new 160 --temperature 0.8 --top-k 20 --seed 1 \
        > "$OUT/$m.sample.txt" 2> /dev/null
done

$REPORT --dir "$OUT" --models "$(echo $MODELS | tr ' ' ',')" --corpus-info "$pkg, $sz bytes, sha256 $sha..." \
    --steps "$STEPS" --more-steps "$MORE_STEPS" --total-seconds "$(now)" \
    --json "$RESULTS/text.json" --md "$RESULTS/text.md" --svg "$RESULTS/text.svg"
echo "[$(now)s] reproduce-text: done"
