// stb_image.cpp: the implementation of stb_image (Debian's libstb-dev, header-only),
// compiled once for the tests that decode the PNGs the renderers write
// (test_masks.cpp, test_slides.cpp).
#define STB_IMAGE_IMPLEMENTATION
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#include "stb_image.h"
#pragma GCC diagnostic pop
