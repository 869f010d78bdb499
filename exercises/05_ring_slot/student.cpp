// Exercise 5: the ring-buffer slot of streaming (exercises/05_ring_slot/README.md).
#include <stdexcept>

#include "fam_state.h"

int ring_slot(int head, int age, int M) {
    // The slot (0..M) of the block `age` blocks before the current one, which is in slot `head`.
    (void)head, (void)age, (void)M;
    throw std::logic_error("exercise 5: ring_slot is not written yet");
}
