#!/usr/bin/env bash
# transcript.sh: run a gdb command file in batch mode with the project's helpers and
# print the session as a transcript, each command after a "(gdb) " prompt. This is
# how the sessions in docs/debugging.md were made.
#
#   bash tools/gdb/transcript.sh CMDS.gdb PROGRAM [ARGS...]
#   e.g. bash tools/gdb/transcript.sh /tmp/cmds.gdb build-debug/fam forward --model m.safetensors ...
#
# gdb's `set trace-commands on` echoes every command as "+cmd"; this script turns the
# "+" into "(gdb) ", drops the commands a helper runs inside (traced as "++cmd") and
# gdb's thread notices ([New Thread ...], libthread_db).
set -eu
cd "$(dirname "$0")/../.."
cmds=$1
shift
gdb -q -batch -ex "source tools/gdb/tensor_printer.py" -ex "set trace-commands on" -x "$cmds" --args "$@" 2>&1 |
    sed -E -e '/^\[Thread debugging using libthread_db enabled\]$/d' \
        -e '/^Using host libthread_db library/d' \
        -e '/^\[New Thread 0x[0-9a-f]+ \(LWP [0-9]+\)\]$/d' \
        -e '/^\[Thread 0x[0-9a-f]+ \(LWP [0-9]+\) exited\]$/d' \
        -e '/^tensor_printer.py: /d' \
        -e '/^\+\+/d' \
        -e 's/^\+/(gdb) /'
