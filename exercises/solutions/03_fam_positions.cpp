// Reference solution of exercise 3 (exercises/03_fam_positions/README.md).
#include "fam_update.h"

void fam_positions(float* pos, int64_t t0, int B, int F, float pos_offset) {
    // the last F positions of the block t0..t0+B-1 (reaching back before it when F > B)
    for (int j = 0; j < F; j++) pos[j] = (float)(t0 + B - F + j) + pos_offset;
}
