// Reference solution of exercise 2 (exercises/02_receptive_field/README.md).
#include "masks.h"

int receptive_field_earliest_closed_form(int B, int M, int depth, int t) {
    // token t is in block floor(t/B); each layer reaches M whole blocks further back
    long long e = ((long long)(t / B) - (long long)depth * M) * B;
    return e < 0 ? 0 : (int)e;
}
