// Reference solution of exercise 1 (exercises/01_block_mask/README.md).
#include "masks.h"

void fam_block_fill(Mask& mk, int B, int M, int F, int len) {
    auto allow = [&](int r, int c) { mk.m[(size_t)r * mk.cols + c] = 1; };
    const int fam0 = M * B, blk0 = M * B + F;  // first FAM column, first block column
    for (int i = 0; i < len; i++) {
        // [Alg.2 step 3] K^_t = Concat(K_mem, K^F, K_{tau,:t})
        for (int c = 0; c < M * B; c++)
            if (mk.col_axis.pos[c] >= 0) allow(i, c);  // memory blocks that exist, whole
        for (int j = 0; j < F; j++) allow(i, fam0 + j);
        for (int s = 0; s <= i; s++) allow(i, blk0 + s);  // causal, itself included
    }
    for (int r = len; r < mk.rows; r++) {
        // [Alg.2 step 6] K~ = Concat(K^F, K_tau): all FAM keys, the whole block, no memory
        for (int j = 0; j < F; j++) allow(r, fam0 + j);
        for (int s = 0; s < B; s++) allow(r, blk0 + s);
    }
}
