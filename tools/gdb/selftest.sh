#!/usr/bin/env bash
# selftest.sh: do the gdb helpers (tools/gdb/tensor_printer.py, fam_commands.py) still
# work on the current sources? Runs gdb in batch mode on a walkthrough and on the fam
# CLI with a tiny model, and checks the output for the lines docs/debugging.md shows.
# Prints OK / NOT OK per check; exits non-zero if any check fails.
#
#   bash tools/gdb/selftest.sh [BUILD_DIR]     (default build-debug; any -g build works)
#
# Build first, e.g. `make debug all` (build-debug/) or
# `make BUILD=build-gdb CXXFLAGS="-O0 -g" all` and pass build-gdb.
set -u
cd "$(dirname "$0")/../.."
BUILD=${1:-build-debug}
for bin in "$BUILD/fam" "$BUILD/walkthroughs/01_tensors_matmul" "$BUILD/walkthroughs/04_fam_layer"; do
    [ -x "$bin" ] || { echo "selftest: $bin not found (build it: make debug all)"; exit 2; }
done
command -v gdb >/dev/null || { echo "selftest: gdb not installed (apt-get install -y gdb)"; exit 2; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$BUILD/fam" init --vocab 16 --d-model 8 --heads 2 --layers 1 --d-ff 16 --block 4 --mem 1 --fam 2 \
    --out "$TMP/tiny.safetensors" >/dev/null || exit 2
TOKENS=1,2,3,4,5,6,7,8,9
fails=0
passes=0

# run NAME GDB-COMMANDS -- PROGRAM ARGS...: gdb in batch mode, output in $TMP/NAME.out
run() {
    local name=$1 cmds=$2
    shift 3
    printf 'source tools/gdb/tensor_printer.py\n%s\n' "$cmds" > "$TMP/$name.gdb"
    gdb -q -batch -x "$TMP/$name.gdb" --args "$@" > "$TMP/$name.out" 2>&1
}
# check NAME WHAT PATTERN: the output of run NAME holds a line matching PATTERN (grep -E)
check() {
    if grep -qE -- "$3" "$TMP/$1.out"; then
        echo "OK      $1: $2"
        passes=$((passes + 1))
    else
        echo "NOT OK  $1: $2 (no line matches /$3/; output: $TMP/$1.out)"
        fails=$((fails + 1))
        trap - EXIT
    fi
}
# nocheck NAME WHAT PATTERN: no line matches (errors)
nocheck() {
    if grep -qE -- "$3" "$TMP/$1.out"; then
        echo "NOT OK  $1: $2 ($(grep -m1 -E -- "$3" "$TMP/$1.out"))"
        fails=$((fails + 1))
        trap - EXIT
    else
        echo "OK      $1: $2"
        passes=$((passes + 1))
    fi
}

run readable '
list-tags src/naive.cpp
break-tag "Alg.2 step 1" src/naive.cpp
condition 1 t0 == 4
run
fam-io
break fam_update
continue
p in.fresh
' -- "$BUILD/fam" forward --path naive --model "$TMP/tiny.safetensors" --tokens $TOKENS --out "$TMP/fwd"
check readable "list-tags lists step 8 of naive.cpp" 'src/naive.cpp:[0-9]+: // \[Alg.2 step 8\]'
check readable "break-tag stops in fam_block_readable" 'hit Breakpoint 1, fam_block_readable .*t0=4'
check readable "fam-io names F_1 in" '^F_1 in  \[F=2, D=8\]  \(fam_in.fam\)'
check readable "fam-io labels rows F1.j" '^ +F1\.1 '
check readable "block 1 reaches fam_update" 'hit Breakpoint 2, fam_update .*t0=4'
nocheck readable "no Python or gdb errors" 'Python Exception|Error in sourced|Error occurred'

run update '
break fam_update
run
fam-io
break-tag "Alg.2 step 8" src/fam_update.cpp
continue
next
next
fam-io
' -- "$BUILD/fam" forward --path naive --model "$TMP/tiny.safetensors" --tokens $TOKENS --out "$TMP/fwd"
check update "F_0 is fresh" 'F_0 in .*fresh: yes'
check update "F_1 out written after step 8" '^F_1 out \[F=2, D=8\]  \(fam_out\)'
check update "F_1 takes positions 2 3" '^ +positions 2 3$'
nocheck update "no Python or gdb errors" 'Python Exception|Error in sourced|Error occurred'

run blockwise '
break-tag "Observer hook" src/fam_layer.cpp
condition 1 tau == 1
run
fam-block b
fam-block b --mask
fam-io b
' -- "$BUILD/fam" forward --model "$TMP/tiny.safetensors" --tokens $TOKENS --out "$TMP/fwd"
"$BUILD/fam" mask --kind fam --block 4 --mem 1 --fam 2 --index 1 | tail -n +4 > "$TMP/mask.txt"
check blockwise "fam-block header" '^block tau=1: tokens 4..7; B=4 M=1 F=2'
check blockwise "column labels [memory | F_1 | block]" '^ +0 +1 +2 +3 \| +F1\.0 +F1\.1 \| +4 +5 +6 +7$'
check blockwise "FAM query rows are F2.j, masked on memory" '^F2\.0 +\. +\. +\. +\. \| [01]\.[0-9]{3}'
if grep -qF -f "$TMP/mask.txt" "$TMP/blockwise.out" &&
   [ "$(grep -cxF -f "$TMP/mask.txt" "$TMP/blockwise.out")" -ge "$(wc -l < "$TMP/mask.txt")" ]; then
    echo "OK      blockwise: fam-block --mask matches build/fam mask --kind fam --index 1"
    passes=$((passes + 1))
else
    echo "NOT OK  blockwise: fam-block --mask differs from build/fam mask ($TMP/mask.txt)"
    fails=$((fails + 1)); trap - EXIT
fi
check blockwise "fam-io F_2 out" '^F_2 out \[F=2, D=8\]  \(b.fam_out\)'
nocheck blockwise "no Python or gdb errors" 'Python Exception|Error in sourced|Error occurred'

run walkthrough '
break fam_layer_forward
run
finish
fam-block lc.blocks[1] plan --head 0
fam-io lc.blocks[1]
pmask plan.masks[1]
' -- "$BUILD/walkthroughs/04_fam_layer" --out "$TMP/w"
check walkthrough "fam-block on c.blocks[1] with a plan" '^block tau=1: tokens 2..3; B=2 M=1 F=2 \(from plan\), H=2'
check walkthrough "pmask with labels" '^F2\.1 \.\.\|##\|##$'
nocheck walkthrough "no Python or gdb errors" 'Python Exception|Error in sourced|Error occurred'

run tensor '
break matmul_forward
run
up
p x
ptensor x
' -- "$BUILD/walkthroughs/01_tensors_matmul" --out "$TMP/w"
check tensor "the Tensor pretty printer" '^\$1 = x \[2, 3\] = \{\{1, 2, 3\}, \{4, 5, 6\}\}'
check tensor "ptensor" '^ +1: +4\.000 +5\.000 +6\.000'
nocheck tensor "no Python or gdb errors" 'Python Exception|Error in sourced|Error occurred'

run backward '
break-tag "undo [Alg.2 step 8]"
run
continue
fam-io
up
fam-io
' -- "$BUILD/fam" grad --model "$TMP/tiny.safetensors" --tokens $TOKENS --targets 2,3,4,5,6,7,8,9,-1 --out "$TMP/g.safetensors"
check backward "break-tag undo stops in fam_update_backward" 'hit Breakpoint 1, fam_update_backward'
check backward "dfam_out is dL/dF_1 in block 0" '^dfam_out = dL/dF_1  \[F=2, D=8\]'
check backward "dF_in is dL/dF_0 in fam_layer_backward" '^dF_in = dL/dF_0  \[F=2, D=8\]'
nocheck backward "no Python or gdb errors" 'Python Exception|Error in sourced|Error occurred'

run stream '
break compress_block
run
fam-io
continue
fam-io
' -- "$BUILD/fam" forward --path stream --model "$TMP/tiny.safetensors" --tokens $TOKENS --out "$TMP/fwd"
check stream "compress_block reads F_0 from the state" '^F_0 in  \[F=2, D=8\]  \(L.fam\)'
check stream "the second block sits in ring slot 1" 'ring slot head=1'
nocheck stream "no Python or gdb errors" 'Python Exception|Error in sourced|Error occurred'

echo "gdb-check: $passes passed, $fails failed"
[ $fails -eq 0 ]
