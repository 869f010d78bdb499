// Reference solution of exercise 5 (exercises/05_ring_slot/README.md).
#include "fam_state.h"

int ring_slot(int head, int age, int M) {
    const int S = M + 1;               // slots: the current block and M memory blocks
    return ((head - age) % S + S) % S;  // % of a negative number is negative in C++
}
