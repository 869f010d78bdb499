// render.cpp: drawing masks (paper Fig. 1, Fig. 2) and heatmaps (paper Fig. 11).
// See render.h for the conventions: rows are queries, columns are keys.
//
// The one PNG encoder of the project is stb_image_write (Debian libstb-dev); its
// implementation is compiled here and nowhere else.
#include "app/render.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <vector>

#include "app/npy.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC  // private to this file: no clash with another copy
#define STBI_WRITE_NO_STDIO     // we write bytes ourselves, atomically
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include "stb_image_write.h"
#pragma GCC diagnostic pop

// ---- colours (one palette for SVG and PNG) ---------------------------------------

struct Rgb {
    uint8_t r, g, b;
};
static const Rgb kToken = {70, 120, 190};     // query attends to a token key: blue
static const Rgb kFam = {232, 137, 58};       // a FAM query or a FAM key: orange
static const Rgb kFamTint = {253, 236, 218};  // masked cell in a FAM row/column
static const Rgb kEmpty = {255, 255, 255};    // masked cell
static const Rgb kGrid = {205, 210, 218};     // thin lines between cells
static const Rgb kBoundary = {34, 34, 34};    // block boundaries and the frame
static const Rgb kNan = {190, 190, 190};      // heatmap: not a finite number

static std::string hex(Rgb c) {
    char s[8];
    std::snprintf(s, sizeof s, "#%02x%02x%02x", c.r, c.g, c.b);
    return s;
}

// ---- mask checks and axis helpers ---------------------------------------------------

// A mask built by hand may come without labels: give it plain positions then.
static MaskAxis axis_or_default(const MaskAxis& a, int n, const char* fn, const char* which) {
    if (a.pos.empty() && a.fam.empty() && a.group.empty() && a.label.empty()) {
        MaskAxis d;
        for (int i = 0; i < n; i++) {
            d.pos.push_back(i);
            d.fam.push_back(-1);
            d.group.push_back(0);
            d.label.push_back(std::to_string(i));
        }
        return d;
    }
    if ((int)a.pos.size() != n || (int)a.fam.size() != n || (int)a.group.size() != n ||
        (int)a.label.size() != n)
        throw std::invalid_argument(std::string(fn) + ": " + which + " has " +
                                    std::to_string(a.label.size()) + " labels for " +
                                    std::to_string(n) + " entries");
    return a;
}

// A mask with its axes checked (or filled in), ready to draw.
struct Drawn {
    const Mask& mk;
    MaskAxis row, col;
    Drawn(const Mask& m, const char* fn) : mk(m) {
        if (m.rows < 1 || m.cols < 1 || m.m.size() != (size_t)m.rows * m.cols)
            throw std::invalid_argument(std::string(fn) + ": mask '" + m.title + "' is [" +
                                        std::to_string(m.rows) + ", " + std::to_string(m.cols) +
                                        "] with " + std::to_string(m.m.size()) + " cells");
        row = axis_or_default(m.row_axis, m.rows, fn, "row_axis");
        col = axis_or_default(m.col_axis, m.cols, fn, "col_axis");
    }
    static bool fam(const MaskAxis& a, int i) { return a.fam[i] >= 0; }
    // A boundary sits before entry i when the block changes or a FAM band starts/ends.
    static bool boundary(const MaskAxis& a, int i) {
        return i > 0 && (a.group[i] != a.group[i - 1] || fam(a, i) != fam(a, i - 1));
    }
    bool fam_cell(int r, int c) const { return fam(row, r) || fam(col, c); }
    bool has_fam() const {
        for (int i = 0; i < mk.rows; i++)
            if (fam(row, i)) return true;
        for (int i = 0; i < mk.cols; i++)
            if (fam(col, i)) return true;
        return false;
    }
    bool has_boundary() const {
        for (int i = 1; i < mk.rows; i++)
            if (boundary(row, i)) return true;
        for (int i = 1; i < mk.cols; i++)
            if (boundary(col, i)) return true;
        return false;
    }
};

static size_t max_label(const MaskAxis& a) {
    size_t n = 1;
    for (const std::string& s : a.label) n = std::max(n, s.size());
    return n;
}

// ---- ASCII ---------------------------------------------------------------------------

std::string mask_ascii(const Mask& mk) {
    Drawn d(mk, "mask_ascii");
    const size_t lw = max_label(d.row), H = max_label(d.col);
    std::string out = mk.title + "\n";
    out += "rows are queries, columns are keys: '#' attends, '.' masked; F = FAM row/key; "
           "'|' and '-' mark block boundaries\n";
    // Column labels stand vertically, bottom-aligned, so a FAM key shows 'F' on top.
    for (size_t h = 0; h < H; h++) {
        std::string line(lw + 1, ' ');
        for (int c = 0; c < mk.cols; c++) {
            if (Drawn::boundary(d.col, c)) line += ' ';
            const std::string& L = d.col.label[c];
            size_t lead = H - L.size();
            line += h >= lead ? L[h - lead] : ' ';
        }
        line.erase(line.find_last_not_of(' ') + 1);
        out += line + "\n";
    }
    for (int r = 0; r < mk.rows; r++) {
        if (Drawn::boundary(d.row, r)) {
            std::string sep(lw + 1, ' ');
            for (int c = 0; c < mk.cols; c++) {
                if (Drawn::boundary(d.col, c)) sep += '+';
                sep += '-';
            }
            out += sep + "\n";
        }
        const std::string& L = d.row.label[r];
        std::string line(lw - L.size(), ' ');
        line += L + ' ';
        for (int c = 0; c < mk.cols; c++) {
            if (Drawn::boundary(d.col, c)) line += '|';
            line += mk.at(r, c) ? '#' : '.';
        }
        out += line + "\n";
    }
    return out;
}

// ---- SVG ------------------------------------------------------------------------------

std::string xml_escape(const std::string& s) {
    std::string o;
    for (char ch : s) {
        if (ch == '&') o += "&amp;";
        else if (ch == '<') o += "&lt;";
        else if (ch == '>') o += "&gt;";
        else if (ch == '"') o += "&quot;";
        else o += ch;
    }
    return o;
}

static std::string num(double v) {
    char s[32];
    std::snprintf(s, sizeof s, "%.6g", v);
    return s;
}

static std::string rect(double x, double y, double w, double h, Rgb fill, const std::string& cls = "") {
    return "<rect" + (cls.empty() ? std::string() : " class=\"" + cls + "\"") + " x=\"" + num(x) +
           "\" y=\"" + num(y) + "\" width=\"" + num(w) + "\" height=\"" + num(h) + "\" fill=\"" +
           hex(fill) + "\"/>\n";
}

static std::string text(double x, double y, const std::string& s, double size,
                        const std::string& extra = "") {
    return "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" font-size=\"" + num(size) + "\"" +
           (extra.empty() ? "" : " " + extra) + ">" + xml_escape(s) + "</text>\n";
}

// A legend laid out left to right, wrapping at `width`. Each item: a swatch drawn
// by the caller's string (given its x, y) and a caption.
struct Legend {
    double x0, y, width, x;
    std::string svg;
    Legend(double x0_, double y_, double w) : x0(x0_), y(y_), width(w), x(x0_) {}
    void item(const std::string& swatch_kind, Rgb c, const std::string& caption) {
        double w = 18 + caption.size() * 5.9 + 18;
        if (x > x0 && x + w > x0 + width) {
            x = x0;
            y += 20;
        }
        if (swatch_kind == "box") {
            svg += "<rect x=\"" + num(x) + "\" y=\"" + num(y - 10) +
                   "\" width=\"12\" height=\"12\" fill=\"" + hex(c) +
                   "\" stroke=\"#888888\" stroke-width=\"0.8\"/>\n";
        } else {  // a thick line, as the block boundaries are drawn
            svg += "<line x1=\"" + num(x + 6) + "\" y1=\"" + num(y - 11) + "\" x2=\"" + num(x + 6) +
                   "\" y2=\"" + num(y + 3) + "\" stroke=\"" + hex(c) + "\" stroke-width=\"2.5\"/>\n";
        }
        svg += text(x + 18, y, caption, 11);
        x += w;
    }
};

std::string mask_svg(const Mask& mk, int cell_px) {
    Drawn d(mk, "mask_svg");
    if (cell_px < 0) throw std::invalid_argument("mask_svg: cell_px must be >= 0, got " + std::to_string(cell_px));
    const int R = mk.rows, C = mk.cols;
    const double cell = cell_px > 0 ? cell_px : std::max(3, std::min(28, 420 / std::max(R, C)));
    // Tick labels only where they can be read.
    const bool ticks = cell >= 10 && R <= 80 && C <= 80;
    const double fs = std::min(12.0, std::max(7.0, cell * 0.5));
    const double cw = fs * 0.62;  // width of one character of the tick font
    const size_t row_chars = max_label(d.row), col_chars = max_label(d.col);
    const bool col_rotated = col_chars * cw > cell * 0.95;
    const double row_tick_w = ticks ? row_chars * cw + 8 : 0;
    const double col_tick_h = ticks ? (col_rotated ? col_chars * cw + 8 : fs + 6) : 0;
    const double pad = 16, title_h = 26, axis_h = 18;
    const double gx = pad + axis_h + row_tick_w, gy = pad + title_h + axis_h + col_tick_h;
    const double gw = C * cell, gh = R * cell;
    const double width = std::max(gx + gw + pad, 460.0);
    const bool fam = d.has_fam(), bnd = d.has_boundary();

    Legend lg(pad, gy + gh + 28, width - 2 * pad);
    lg.item("box", kToken, "query attends to key");
    if (fam) lg.item("box", kFam, "attends, FAM query or FAM key");
    lg.item("box", kEmpty, "masked");
    if (fam) lg.item("box", kFamTint, "masked, FAM row/column");
    if (bnd) lg.item("line", kBoundary, "block boundary");
    const double height = lg.y + 22 + 14;

    std::string s;
    s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(width) + "\" height=\"" + num(height) +
         "\" viewBox=\"0 0 " + num(width) + " " + num(height) +
         "\" font-family=\"Helvetica, Arial, sans-serif\" fill=\"#222222\">\n";
    s += "<title>" + xml_escape(mk.title) + "</title>\n";
    s += rect(0, 0, width, height, kEmpty);
    s += text(pad, pad + 14, mk.title, 15, "font-weight=\"bold\"");
    s += text(gx + gw / 2, pad + title_h + 12, "key", 13, "text-anchor=\"middle\" font-style=\"italic\"");
    s += text(pad + 12, gy + gh / 2, "query", 13,
              "text-anchor=\"middle\" font-style=\"italic\" transform=\"rotate(-90 " + num(pad + 12) + " " +
                  num(gy + gh / 2) + ")\"");

    // FAM rows and columns get a tint, so a masked FAM cell still reads as "FAM".
    for (int r = 0; r < R; r++)
        if (Drawn::fam(d.row, r)) s += rect(gx, gy + r * cell, gw, cell, kFamTint, "band");
    for (int c = 0; c < C; c++)
        if (Drawn::fam(d.col, c)) s += rect(gx + c * cell, gy, cell, gh, kFamTint, "band");

    // Attended cells; above 16384 cells merge runs of equal cells within a row.
    const bool merge = (long long)R * C > 16384;
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) {
            if (!mk.at(r, c)) continue;
            bool f = d.fam_cell(r, c);
            int n = 1;
            while (merge && c + n < C && mk.at(r, c + n) && d.fam_cell(r, c + n) == f) n++;
            s += rect(gx + c * cell, gy + r * cell, n * cell, cell, f ? kFam : kToken, f ? "on fam" : "on");
            c += n - 1;
        }

    // Thin grid lines between cells (when cells are big enough to show them).
    if (cell >= 6) {
        std::string p;
        for (int r = 1; r < R; r++) p += "M" + num(gx) + " " + num(gy + r * cell) + "h" + num(gw);
        for (int c = 1; c < C; c++) p += "M" + num(gx + c * cell) + " " + num(gy) + "v" + num(gh);
        if (!p.empty())
            s += "<path d=\"" + p + "\" stroke=\"" + hex(kGrid) + "\" stroke-width=\"0.6\" fill=\"none\"/>\n";
    }
    // Block boundaries: thick lines where the block changes or a FAM band starts/ends.
    {
        std::string p;
        for (int r = 1; r < R; r++)
            if (Drawn::boundary(d.row, r)) p += "M" + num(gx) + " " + num(gy + r * cell) + "h" + num(gw);
        for (int c = 1; c < C; c++)
            if (Drawn::boundary(d.col, c)) p += "M" + num(gx + c * cell) + " " + num(gy) + "v" + num(gh);
        if (!p.empty())
            s += "<path d=\"" + p + "\" stroke=\"" + hex(kBoundary) + "\" stroke-width=\"2\" fill=\"none\"/>\n";
    }
    s += "<rect x=\"" + num(gx) + "\" y=\"" + num(gy) + "\" width=\"" + num(gw) + "\" height=\"" + num(gh) +
         "\" fill=\"none\" stroke=\"" + hex(kBoundary) + "\" stroke-width=\"1.5\"/>\n";

    if (ticks) {
        for (int r = 0; r < R; r++)
            s += text(gx - 5, gy + (r + 0.5) * cell + fs * 0.35, d.row.label[r], fs,
                      "text-anchor=\"end\"" + std::string(Drawn::fam(d.row, r) ? " fill=\"#b35a12\"" : ""));
        for (int c = 0; c < C; c++) {
            double x = gx + (c + 0.5) * cell, y = gy - 5;
            std::string colour = Drawn::fam(d.col, c) ? " fill=\"#b35a12\"" : "";
            if (col_rotated)
                s += text(x + fs * 0.35, y, d.col.label[c], fs,
                          "text-anchor=\"start\" transform=\"rotate(-90 " + num(x + fs * 0.35) + " " + num(y) + ")\"" +
                              colour);
            else
                s += text(x, y, d.col.label[c], fs, "text-anchor=\"middle\"" + colour);
        }
    }
    s += lg.svg;
    s += text(pad, lg.y + 22, "rows are queries (top to bottom), columns are keys (left to right)", 11,
              "fill=\"#555555\"");
    s += "</svg>\n";
    return s;
}

// ---- PNG --------------------------------------------------------------------------------

// An RGB image in memory, [h, w, 3].
struct Image {
    int w = 0, h = 0;
    std::vector<uint8_t> px;
    Image(int w_, int h_, Rgb bg) : w(w_), h(h_), px((size_t)w_ * h_ * 3) {
        for (size_t i = 0; i < (size_t)w * h; i++) {
            px[3 * i] = bg.r;
            px[3 * i + 1] = bg.g;
            px[3 * i + 2] = bg.b;
        }
    }
    void fill(int x, int y, int fw, int fh, Rgb c) {
        for (int yy = y; yy < y + fh; yy++)
            for (int xx = x; xx < x + fw; xx++) {
                uint8_t* p = &px[((size_t)yy * w + xx) * 3];
                p[0] = c.r;
                p[1] = c.g;
                p[2] = c.b;
            }
    }
};

static void append_bytes(void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), (size_t)size);
}

static std::string png_encode(const Image& im, const char* fn) {
    std::string bytes;
    if (!stbi_write_png_to_func(append_bytes, &bytes, im.w, im.h, 3, im.px.data(), im.w * 3))
        throw std::runtime_error(std::string(fn) + ": PNG encoding failed");
    return bytes;
}

static void check_picture_size(const char* fn, long long w, long long h) {
    if (w > 32768 || h > 32768)
        throw std::invalid_argument(std::string(fn) + ": a " + std::to_string(w) + " x " + std::to_string(h) +
                                    " pixel picture is too large (max 32768 per side); use a smaller cell_px "
                                    "or the .npy dump");
}

std::string mask_png_bytes(const Mask& mk, int cell_px) {
    Drawn d(mk, "mask_png");
    if (cell_px < 0) throw std::invalid_argument("mask_png: cell_px must be >= 0, got " + std::to_string(cell_px));
    const int R = mk.rows, C = mk.cols;
    const int cell = cell_px > 0 ? cell_px : std::max(1, std::min(8, 1024 / std::max(R, C)));
    // Boundaries are 1-px lines *between* cells, so even 1-px cells stay intact:
    // x0[c] = left edge of column c after the margin, the frame and earlier lines.
    const int margin = 2, frame = 1;
    std::vector<int> x0(C + 1), y0(R + 1);
    int x = margin + frame;
    for (int c = 0; c < C; c++) {
        if (Drawn::boundary(d.col, c)) x++;
        x0[c] = x;
        x += cell;
    }
    x0[C] = x;
    int y = margin + frame;
    for (int r = 0; r < R; r++) {
        if (Drawn::boundary(d.row, r)) y++;
        y0[r] = y;
        y += cell;
    }
    y0[R] = y;
    const long long W = (long long)x0[C] + frame + margin, H = (long long)y0[R] + frame + margin;
    check_picture_size("mask_png", W, H);

    Image im((int)W, (int)H, kEmpty);
    // frame and boundary lines: paint the whole grid area dark, then the cells over it
    im.fill(margin, margin, (int)W - 2 * margin, (int)H - 2 * margin, kBoundary);
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) {
            Rgb col = kEmpty;
            bool f = d.fam_cell(r, c);
            if (mk.at(r, c)) col = f ? kFam : kToken;
            else if (f) col = kFamTint;
            im.fill(x0[c], y0[r], cell, cell, col);
        }
    // x0/y0 skip a pixel only at boundaries, so what stays dark is exactly the
    // frame and the boundary lines
    return png_encode(im, "mask_png");
}

void mask_png(const std::string& path, const Mask& mk, int cell_px) {
    write_file_atomic(path, mask_png_bytes(mk, cell_px));
}

void mask_npy(const std::string& path, const Mask& mk) {
    Drawn d(mk, "mask_npy");  // only for its shape check
    npy_save_u8(path, mk.m.data(), {mk.rows, mk.cols});
}

// ---- float heatmaps -----------------------------------------------------------------------

// White -> light blue -> blue -> dark navy, piecewise linear in v in [0, 1].
static Rgb ramp(double v) {
    static const double stop[4] = {0.0, 0.35, 0.7, 1.0};
    static const Rgb col[4] = {{255, 255, 255}, {166, 199, 232}, {62, 118, 184}, {12, 39, 84}};
    v = std::min(1.0, std::max(0.0, v));
    int i = v < stop[1] ? 0 : v < stop[2] ? 1 : 2;
    double a = (v - stop[i]) / (stop[i + 1] - stop[i]);
    auto mix = [a](uint8_t p, uint8_t q) { return (uint8_t)std::lround(p + a * (q - p)); };
    return {mix(col[i].r, col[i + 1].r), mix(col[i].g, col[i + 1].g), mix(col[i].b, col[i + 1].b)};
}

// The value range of the finite entries; a constant map gets a unit range (drawn white).
static void value_range(const float* v, size_t n, double* lo, double* hi) {
    *lo = 1e300;
    *hi = -1e300;
    for (size_t i = 0; i < n; i++)
        if (std::isfinite(v[i])) {
            *lo = std::min(*lo, (double)v[i]);
            *hi = std::max(*hi, (double)v[i]);
        }
    if (*lo > *hi) *lo = 0, *hi = 1;  // nothing finite
    if (*hi == *lo) *hi = *lo + 1;
}

static Rgb heat(float v, double lo, double hi) {
    return std::isfinite(v) ? ramp((v - lo) / (hi - lo)) : kNan;
}

static void check_heatmap(const char* fn, const float* values, int rows, int cols, int cell_px) {
    if (!values) throw std::invalid_argument(std::string(fn) + ": values is null");
    if (rows < 1 || cols < 1)
        throw std::invalid_argument(std::string(fn) + ": shape must be at least [1, 1], got [" +
                                    std::to_string(rows) + ", " + std::to_string(cols) + "]");
    if (cell_px < 0) throw std::invalid_argument(std::string(fn) + ": cell_px must be >= 0, got " + std::to_string(cell_px));
}

void heatmap_png(const std::string& path, const float* values, int rows, int cols, int cell_px,
                 const std::string& /*title: a PNG carries no text here*/) {
    check_heatmap("heatmap_png", values, rows, cols, cell_px);
    const int cell = cell_px > 0 ? cell_px : std::max(1, std::min(8, 1024 / std::max(rows, cols)));
    const long long W = (long long)cols * cell, H = (long long)rows * cell;
    check_picture_size("heatmap_png", W, H);
    double lo, hi;
    value_range(values, (size_t)rows * cols, &lo, &hi);
    Image im((int)W, (int)H, kEmpty);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) im.fill(c * cell, r * cell, cell, cell, heat(values[(size_t)r * cols + c], lo, hi));
    write_file_atomic(path, png_encode(im, "heatmap_png"));
}

std::string heatmap_svg(const float* values, int rows, int cols, int cell_px, const std::string& title) {
    check_heatmap("heatmap_svg", values, rows, cols, cell_px);
    const double cell = cell_px > 0 ? cell_px : std::max(2, std::min(24, 420 / std::max(rows, cols)));
    double lo, hi;
    value_range(values, (size_t)rows * cols, &lo, &hi);
    const double pad = 16, title_h = 26, axis_h = 18;
    const double gx = pad + axis_h, gy = pad + title_h + axis_h, gw = cols * cell, gh = rows * cell;
    const double bar_x = gx + gw + 18, bar_w = 14, bar_h = std::max(60.0, std::min(gh, 240.0));
    const double bottom = gy + std::max(gh, bar_h);
    const double width = std::max(bar_x + bar_w + 70, 320.0), height = bottom + pad + 18;

    std::string s;
    s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(width) + "\" height=\"" + num(height) +
         "\" viewBox=\"0 0 " + num(width) + " " + num(height) +
         "\" font-family=\"Helvetica, Arial, sans-serif\" fill=\"#222222\">\n";
    s += "<title>" + xml_escape(title) + "</title>\n";
    s += rect(0, 0, width, height, kEmpty);
    s += text(pad, pad + 14, title, 15, "font-weight=\"bold\"");
    s += text(gx + gw / 2, pad + title_h + 12, "key", 13, "text-anchor=\"middle\" font-style=\"italic\"");
    s += text(pad + 12, gy + gh / 2, "query", 13,
              "text-anchor=\"middle\" font-style=\"italic\" transform=\"rotate(-90 " + num(pad + 12) + " " +
                  num(gy + gh / 2) + ")\"");
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            s += rect(gx + c * cell, gy + r * cell, cell, cell, heat(values[(size_t)r * cols + c], lo, hi));
    s += "<rect x=\"" + num(gx) + "\" y=\"" + num(gy) + "\" width=\"" + num(gw) + "\" height=\"" + num(gh) +
         "\" fill=\"none\" stroke=\"#222222\" stroke-width=\"1\"/>\n";
    // colour bar: the ramp's stops as a vertical gradient, largest value on top
    s += "<defs><linearGradient id=\"ramp\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">";
    for (double v : {0.0, 0.35, 0.7, 1.0}) s += "<stop offset=\"" + num(v) + "\" stop-color=\"" + hex(ramp(v)) + "\"/>";
    s += "</linearGradient></defs>\n";
    s += "<rect x=\"" + num(bar_x) + "\" y=\"" + num(gy) + "\" width=\"" + num(bar_w) + "\" height=\"" + num(bar_h) +
         "\" fill=\"url(#ramp)\" stroke=\"#888888\" stroke-width=\"0.8\"/>\n";
    s += text(bar_x + bar_w + 4, gy + 9, num(hi), 10);
    s += text(bar_x + bar_w + 4, gy + bar_h, num(lo), 10);
    s += text(pad, bottom + pad + 6,
              "[" + std::to_string(rows) + ", " + std::to_string(cols) + "]: rows are queries, columns are keys", 11,
              "fill=\"#555555\"");
    s += "</svg>\n";
    return s;
}
