// Exercise 2: the BSWA receptive field in closed form (exercises/02_receptive_field/README.md).
#include <stdexcept>

#include "masks.h"

int receptive_field_earliest_closed_form(int B, int M, int depth, int t) {
    // The earliest position that can influence token t after `depth` BSWA layers
    // of block size B and M memory segments.
    (void)B, (void)M, (void)depth, (void)t;
    throw std::logic_error("exercise 2: receptive_field_earliest_closed_form is not written yet");
}
