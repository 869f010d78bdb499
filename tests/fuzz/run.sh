#!/usr/bin/env bash
# run.sh BUILD SECONDS TIMEOUT MALLOC_MB READER...: what `make fuzz` and
# `make fuzz-smoke` run (mk/fuzz.mk). For each reader: replay every committed
# seed of tests/fuzz/corpus/READER once (the regression inputs), then fuzz for
# SECONDS, growing a working corpus in BUILD/corpus/READER (the committed seeds
# are only read). Exits non-zero at the first finding; the input that caused it
# is BUILD/crash-READER-* (replay: BUILD/fuzz_READER FILE).
set -u
build=$1 seconds=$2 timeout=$3 malloc_mb=$4
shift 4
cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
echo "fuzz: $# reader(s), ${seconds} s each, timeout ${timeout} s per input, malloc limit ${malloc_mb} MB; CPU: ${cpu}"
for r in "$@"; do
  bin=$build/fuzz_$r
  seeds=tests/fuzz/corpus/$r
  work=$build/corpus/$r
  log=$build/fuzz_$r.log
  mkdir -p "$work"
  dict=()
  [ -f "tests/fuzz/$r.dict" ] && dict=(-dict="tests/fuzz/$r.dict")
  nseeds=$(ls "$seeds" | wc -l)
  # 1. the committed seeds, each once
  if ! "$bin" -runs=0 -timeout="$timeout" -malloc_limit_mb="$malloc_mb" -artifact_prefix="$build/crash-$r-" \
       "$seeds" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "fuzz: $r: FAILED on a committed seed (log: $log)" >&2
    exit 1
  fi
  # 2. new inputs for the given time
  if ! "$bin" -max_total_time="$seconds" -timeout="$timeout" -malloc_limit_mb="$malloc_mb" -rss_limit_mb=2048 \
       -artifact_prefix="$build/crash-$r-" -print_final_stats=1 "${dict[@]}" "$work" "$seeds" >>"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "fuzz: $r: FAILED (log: $log; input: $(ls -t "$build"/crash-"$r"-* 2>/dev/null | head -n 1))" >&2
    exit 1
  fi
  runs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
  echo "fuzz: $r: ${nseeds} seeds replayed, ${runs:-?} inputs in ${seconds} s, ${cov:-cov: ?} edges, corpus $(ls "$work" | wc -l) files: no failure"
done
