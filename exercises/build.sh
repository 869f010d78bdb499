#!/usr/bin/env bash
# build.sh K|all [SOLUTION]: build exercise K with the student's function linked into
# the real model in place of the reference one, and grade it (exercises/README.md).
#
#   bash exercises/build.sh 3        grades exercises/03_*/student.cpp
#   bash exercises/build.sh 3 1      grades exercises/solutions/03_*.cpp (must pass)
#   bash exercises/build.sh all 1    grades every solution (CI does this)
#   bash exercises/build.sh 3 "" F   grades the file F (tests/test_exercises.cpp uses it)
#
# How the swap works: everything is compiled at -O0 -fno-inline -fPIC into
# build-exercise/ (so no call is inlined away, and the compiler assumes nothing about
# a global function from its body, e.g. that it cannot throw), the object that
# defines the reference function gets that one symbol made weak (objcopy
# --weaken-symbol), and the student's strong definition wins at link time: every
# caller, in every file, now calls the student's.
set -u
cd "$(dirname "$0")/.."
K=${1:-}
SOLUTION=${2:-}
STUDENT_FILE=${3:-}
unset MAKEFLAGS MFLAGS MAKELEVEL  # when run from inside another make (make test)
BUILD=build-exercise
FLAGS="-O0 -g -fno-inline -fPIC"

# exercise number -> folder, source file of the reference, function name
declare -A DIR=([1]=01_block_mask [2]=02_receptive_field [3]=03_fam_positions [4]=04_fam_update
                [5]=05_ring_slot [6]=06_fam_update_backward [7]=07_rope_backward)
declare -A SRC=([1]=masks [2]=masks [3]=fam_update [4]=fam_update [5]=fam_state [6]=fam_update [7]=ops)
declare -A FN=([1]=fam_block_fill [2]=receptive_field_earliest_closed_form [3]=fam_positions [4]=fam_update
               [5]=ring_slot [6]=fam_update_backward [7]=rope_backward)

if [ -z "$K" ]; then echo "usage: make exercise N=K [SOLUTION=1]   (K = 1..${#DIR[@]}), or make exercises"; exit 2; fi
if [ "$K" = all ]; then
    fails=0
    for k in $(seq 1 ${#DIR[@]}); do bash "$0" "$k" "$SOLUTION" || fails=$((fails + 1)); done
    echo "exercises: $(( ${#DIR[@]} - fails )) passed, $fails failed"
    [ $fails -eq 0 ]
    exit
fi
[ -n "${DIR[$K]:-}" ] || { echo "exercise: no exercise $K (1..${#DIR[@]})"; exit 2; }

# the whole program at -O0, as a library of objects (make knows what is up to date;
# it does not know flags, so objects built with other flags are thrown away first)
mkdir -p $BUILD
[ "$(cat $BUILD/.flags 2>/dev/null)" = "$FLAGS" ] || { rm -rf $BUILD/obj; echo "$FLAGS" > $BUILD/.flags; }
make --no-print-directory BUILD=$BUILD CXXFLAGS="$FLAGS" $BUILD/fam >/dev/null || { echo "exercise: the build failed"; exit 2; }

if [ -n "$STUDENT_FILE" ]; then
    student=$STUDENT_FILE; who="given file"
elif [ -n "$SOLUTION" ] && [ "$SOLUTION" != 0 ]; then
    student=exercises/solutions/${DIR[$K]}.cpp; who="reference solution"
else
    student=exercises/${DIR[$K]}/student.cpp; who="your answer"
fi
out=$BUILD/exercise/$K${STUDENT_FILE:+-$$}
mkdir -p "$out"
echo "== exercise $K (${DIR[$K]}): ${FN[$K]} from $student ($who)"
CXX=${CXX:-g++}
CXXF="-std=c++17 -pthread -Wall -Wextra -Isrc -I/usr/include/stb $FLAGS"
$CXX $CXXF -c "$student" -o "$out/student.o" || { echo "exercise $K: 0 passed, 1 failed (does not compile)"; exit 1; }
$CXX $CXXF -c exercises/grade.cpp -o "$out/grade.o" || exit 2

# weaken the reference definition of the one function (its C++ symbol, found by name)
ref=$BUILD/obj/${SRC[$K]}.o
sym=$(nm "$ref" | awk '$2 == "T" {print $3}' | while read -r s; do
          [[ "$(echo "$s" | c++filt)" == "${FN[$K]}("* ]] && echo "$s"; done)
[ -n "$sym" ] || { echo "exercise: ${FN[$K]} not found in $ref"; exit 2; }
cp "$ref" "$out/reference.o"
objcopy --weaken-symbol="$sym" "$out/reference.o"
objs=$(ls $BUILD/obj/*.o $BUILD/obj/app/*.o | grep -v "/app/main.o$" | grep -v "^$ref$")
$CXX "$out/grade.o" "$out/student.o" "$out/reference.o" $objs -o "$out/grade" -lopenblas -lm -pthread || exit 2
"$out/grade" "$K"
rc=$?
[ -n "$STUDENT_FILE" ] && rm -rf "$out"
exit $rc
