// render.h: pictures of masks (paper Fig. 1 and Fig. 2) and of float heatmaps
// (attention weights, paper Fig. 11). One convention everywhere, as in the paper:
// rows are queries (top to bottom), columns are keys (left to right).
//
//   ASCII  for terminals, tests and docs: '#' attends, '.' masked
//   SVG    for docs: small masks with tick labels, block boundaries, FAM colour
//   PNG    for masks too large to read as SVG (a few pixels per cell)
//   .npy   for Python: the raw 0/1 grid, |u1 [rows, cols]
//
// Colours: token cells blue, cells of a FAM row or FAM key orange, FAM rows and
// columns tinted; a thick line wherever the block (MaskAxis::group) changes or a
// FAM band starts or ends.
#pragma once

#include <string>

#include "masks.h"

// ASCII picture: the title, a legend line ("rows are queries, columns are keys"),
// column labels written vertically (so FAM columns show an 'F' on top), then one
// line per row: its label and one character per key. '|' separates column groups,
// a line of '-' (with '+' at crossings) separates row groups.
std::string mask_ascii(const Mask& mk);

// Self-contained SVG (no external resources) in the style of the paper's Fig. 1.
// cell_px = 0 picks a size that makes the grid about 420 px wide (3..28 px per cell).
// Every attended cell is one <rect class="on"> (token) or <rect class="on fam">
// (FAM row or key); above 16384 cells, horizontal runs of equal cells are merged
// into one rect so that the file stays small.
std::string mask_svg(const Mask& mk, int cell_px = 0);

// PNG, written atomically (PATH.tmp + rename). cell_px = 0: 1..8 px per cell so
// the picture is about 1024 px. Block boundaries are 1-px dark lines between cells.
void mask_png(const std::string& path, const Mask& mk, int cell_px = 0);
// The same picture as PNG file bytes (for tests and for callers that embed it).
std::string mask_png_bytes(const Mask& mk, int cell_px = 0);

// The 0/1 grid as .npy, dtype |u1, shape [rows, cols].
void mask_npy(const std::string& path, const Mask& mk);

// Float heatmap of values [rows, cols] (row-major), e.g. attention weights with
// queries as rows. Colours run from white (the smallest value) to dark blue (the
// largest); NaN/inf cells are grey. The PNG has no text, so `title` is unused there.
void heatmap_png(const std::string& path, const float* values, int rows, int cols, int cell_px,
                 const std::string& title);
std::string heatmap_svg(const float* values, int rows, int cols, int cell_px, const std::string& title);

// Text made safe for XML/HTML text and attributes (& < > ").
std::string xml_escape(const std::string& s);
