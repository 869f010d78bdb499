// render.h: pictures of masks (paper Fig. 1 and Fig. 2) and of float heatmaps
// (attention weights, paper Fig. 11). One convention everywhere, as in the paper:
// rows are queries (top to bottom), columns are keys (left to right).
//
//   ASCII  for terminals, tests and docs: '#' attends, '.' masked
//   SVG    for docs: small masks with tick labels, block boundaries, FAM colour
//   PNG    for masks too large to read as SVG (a few pixels per cell), with title,
//          axis names, tick labels at block boundaries and a legend
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

// PNG, written atomically (PATH.tmp + rename). cell_px = 0: 1..32 px per cell so
// the grid is about 1000 px. Block boundaries are 1-px dark lines between cells;
// around the grid: the title, "key" / "query" axis names, tick labels (the label of
// the first entry of each block or FAM band, more where they fit), the legend.
void mask_png(const std::string& path, const Mask& mk, int cell_px = 0);
// The same picture as PNG file bytes (for tests and for callers that embed it).
std::string mask_png_bytes(const Mask& mk, int cell_px = 0);

// The 0/1 grid as .npy, dtype |u1, shape [rows, cols].
void mask_npy(const std::string& path, const Mask& mk);

// ---- labelled heatmaps (attention weights, FAM states; paper Fig. 4, Fig. 11) --------
//
// A figure: a title (wrapped, never cut), one or more panels side by side, each with
// its title, axis names, tick labels and block boundaries, then a legend (colour bar,
// the masked-cell hatch, label colours) and a few lines saying how to read it.
// Masked cells are hatched grey, a colour that is not on any colour scale, so that a
// masked cell never looks like a small weight.

// One axis of a panel. Each vector has one entry per row (column), or is empty.
struct HeatAxis {
    std::string name;                // e.g. "query (token position; F<k>.<j> = row j of F_k)"
    std::vector<std::string> label;  // tick labels, "" = none; drawn where they fit, block starts first
    std::vector<int> group;          // a boundary line where the group changes (empty: no lines)
    std::vector<uint8_t> fam;        // 1: a FAM row/key, its label orange
    std::vector<uint8_t> mark;       // 1: a highlighted entry (e.g. the pass key), its label red
};

// What one cell of a panel shows.
enum HeatCell : uint8_t {
    kCellMasked = 0,  // the query may not see the key: hatched grey
    kCellValue = 1,   // a value, coloured on the figure's scale
    kCellBlank = 2,   // nothing to show (e.g. not computed yet): the blank colour of the legend
};

struct HeatPanel {
    std::string title;
    int rows = 0, cols = 0;
    std::vector<float> v;       // [rows, cols]; a non-finite value is drawn as masked
    std::vector<uint8_t> cell;  // [rows, cols] HeatCell of each cell (empty: all kCellValue)
    HeatAxis row, col;
    std::vector<std::string> text;  // [rows, cols] text written inside each cell, "" = none (empty: none);
                                    // PNG and slides only, shortened with '~' to fit its cell
};

enum class Palette {
    Sequential,  // white (lo) -> light blue -> blue -> dark navy (hi): weights, magnitudes
    Diverging,   // blue (lo) -> white (0) -> red (hi): signed values such as FAM entries
};

struct HeatFigure {
    std::string title;               // wrapped to the figure's width
    std::vector<HeatPanel> panels;   // side by side, left to right
    int cell_px = 0;                 // cell width in pixels (0: the figure is about 1000 px wide)
    int row_px = 0;                  // cell height (0: the cell width)
    Palette palette = Palette::Sequential;
    double lo = 0, hi = 0;           // colour scale; lo >= hi: min(0, smallest value)..largest
                                     // (Diverging: symmetric around 0)
    std::string scale = "value";     // colour bar caption
    std::vector<double> tick_at;     // colour bar ticks on the scale ...
    std::vector<std::string> tick_label;  // ... and their text (empty: lo, middle, hi)
    std::string masked_caption = "masked: the query may not see this key";
    std::string blank_caption;       // legend entry for kCellBlank cells (empty: no entry)
    std::string boundary_caption = "block boundary";  // legend entry for the group lines
    std::vector<std::string> notes;  // lines under the legend, wrapped: how to read the picture
};

// PNG (text drawn with stb_easy_font), written atomically; and its bytes.
void heatmap_figure_png(const std::string& path, const HeatFigure& f);
std::string heatmap_figure_png_bytes(const HeatFigure& f);
// The same figure as a self-contained SVG.
std::string heatmap_figure_svg(const HeatFigure& f);

// A quick heatmap of values [rows, cols] (row-major), rows and columns labelled by
// their index, colours from white (smallest) to dark navy (largest), a colour bar;
// non-finite cells are hatched ("no value"). `title` is wrapped, never cut.
void heatmap_png(const std::string& path, const float* values, int rows, int cols, int cell_px,
                 const std::string& title);
// The same as SVG. With `mask` ([rows, cols], e.g. the fam_block_mask the weights
// were computed under) the axes take its labels and block boundaries and its 0 cells
// are hatched as masked. Without it, a map whose every row sums to 1 (attention
// weights) has its exact zeros hatched as masked: softmax gives exactly 0 only to
// a key that was masked out (a -inf score).
std::string heatmap_svg(const float* values, int rows, int cols, int cell_px, const std::string& title,
                        const Mask* mask = nullptr);

// Text made safe for XML/HTML text and attributes (& < > ").
std::string xml_escape(const std::string& s);

// ---- slides: 16:9 canvases for a lecture room ----------------------------------------------
//
// A slide is a fixed canvas (1920 x 1080 by default) with a big bold title at the top,
// an optional subtitle line (e.g. the figure's parameters), the figure at the left at
// the largest cell size that fits, and a column at the right with its colour bar,
// legend and notes (how to read it), all at text_scale. The figure is centred. One
// layout gives both files: the PNG and an SVG of the same shapes with real <text>.
// Text sizes: stb_easy_font capitals are 7 units tall, one line 10 units, drawn at
// `scale` px per unit (the SVG uses font-size 9.5 * scale, capitals of the same height).
struct SlideStyle {
    int width = 1920, height = 1080;  // the canvas (SVG: its viewBox), pixels
    int title_scale = 6;              // slide title: capitals 42 px, lines 60 px (font-size 57 in the SVG)
    int text_scale = 3;               // all other text: capitals 21 px, lines 30 px (font-size 28.5)
    int margin = 40;                  // around the canvas, pixels
    int max_cell = 96;                // largest cell tried (pixels, the cell height); the largest that fits is used
    bool png = true;                  // encode the PNG (false: Slide::png stays empty; encoding is most of the time)
};

struct Slide {
    std::string png;  // PNG file bytes, width x height pixels
    std::string svg;  // the same slide as a self-contained SVG (viewBox 0 0 width height, <title>)
};

// Masks side by side (e.g. paper Fig. 2a and 2b), each grid titled by its Mask::title,
// at the same cell size; labels F<k>.<j> as in mask_png.
Slide mask_slide(const std::vector<Mask>& masks, const std::string& title, const std::string& subtitle = "",
                 const SlideStyle& st = SlideStyle());
// A labelled heatmap figure on a slide; its title becomes the subtitle. Cells keep the
// figure's aspect (row_px : cell_px, both 0: square); its cell sizes are otherwise ignored.
Slide heatmap_figure_slide(const HeatFigure& f, const std::string& title, const SlideStyle& st = SlideStyle());

// A line plot (e.g. PassKey accuracy against filler length, paper Fig. 3a).
struct PlotSeries {
    std::string name;
    std::vector<double> x, y;  // points, drawn in this order
    double width = 4;          // line width, pixels
};
struct PlotMarker {  // a dashed vertical line in the colour of `series`, its label in the legend column
    double x = 0;
    int series = 0;
    std::string label;
};
struct LinePlot {
    std::string title, subtitle, x_name, y_name;
    bool log2_x = false;  // x on a log2 axis (values below 1 are drawn at 1)
    double x_lo = 0, x_hi = 0, y_lo = 0, y_hi = 1;  // axis ranges (x_lo >= x_hi: the data's range)
    std::vector<double> x_ticks, y_ticks;
    std::vector<std::string> x_tick_labels, y_tick_labels;  // empty: the numbers
    std::vector<PlotSeries> series;                         // colours: the Dark2 palette in order
    std::vector<PlotMarker> markers;
    std::vector<std::string> notes;  // in the legend column, under the series
};
Slide line_plot_slide(const LinePlot& p, const SlideStyle& st = SlideStyle());
