// Exercise 1: the block view mask (exercises/01_block_mask/README.md).
// Fill in the 1s; `make exercise N=1` grades it.
#include <stdexcept>

#include "masks.h"

void fam_block_fill(Mask& mk, int B, int M, int F, int len) {
    // mk: [mk.rows, mk.cols], all 0. Rows: len block rows, then (if the block is complete)
    // F FAM rows. Columns: M*B memory keys | F FAM keys | B block keys.
    // mk.col_axis.pos[c] < 0: memory column c belongs to a block before block 0.
    // Set cell (r, c) with mk.m[(size_t)r * mk.cols + c] = 1.
    (void)mk, (void)B, (void)M, (void)F, (void)len;
    throw std::logic_error("exercise 1: fam_block_fill is not written yet");
}
