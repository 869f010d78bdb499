// render.cpp: drawing masks (paper Fig. 1, Fig. 2) and heatmaps (paper Fig. 11).
// See render.h for the conventions: rows are queries, columns are keys.
//
// The one PNG encoder of the project is stb_image_write (Debian libstb-dev); its
// implementation is compiled here and nowhere else.
#include "app/render.h"
#include "app/safe_file.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <sstream>
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

// ---- PNG: pixels, hatch, text ---------------------------------------------------------

// Text in PNGs: stb_easy_font (Debian libstb-dev) draws ASCII as axis-aligned
// quads on a grid of "units" (a capital letter is about 5 x 7 units, a line 12);
// we paint each unit as scale x scale pixels.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "stb_easy_font.h"
#pragma GCC diagnostic pop

static const Rgb kHatchBg = {222, 222, 222};    // masked cell in a heatmap: light grey ...
static const Rgb kHatchLine = {150, 150, 150};  // ... with darker diagonal stripes
static const Rgb kBlank = {246, 238, 214};      // heatmap cell with nothing to show (pale sand)
static const Rgb kText = {34, 34, 34};
static const Rgb kTextGrey = {85, 85, 85};
static const Rgb kFamText = {179, 90, 18};      // FAM labels
static const Rgb kMarkText = {214, 39, 40};     // highlighted labels (e.g. the pass key)

// An RGB image in memory, [h, w, 3]. Drawing outside it is clipped.
// With `svg` set (slides), every fill, hatch, text, line and disc is also written
// there as an SVG element, so one layout gives the PNG and an identical SVG.
struct Image {
    int w = 0, h = 0;
    std::vector<uint8_t> px;
    std::string* svg = nullptr;  // record drawing as SVG elements (null: pixels only)
    int mute = 0;                // > 0: do not record (text draws its glyphs as fills)
    Image(int w_, int h_, Rgb bg) : w(w_), h(h_), px((size_t)w_ * h_ * 3) {
        for (size_t i = 0; i < (size_t)w * h; i++) {
            px[3 * i] = bg.r;
            px[3 * i + 1] = bg.g;
            px[3 * i + 2] = bg.b;
        }
    }
    void put(int x, int y, Rgb c) {
        if (x < 0 || y < 0 || x >= w || y >= h) return;
        uint8_t* p = &px[((size_t)y * w + x) * 3];
        p[0] = c.r;
        p[1] = c.g;
        p[2] = c.b;
    }
    void fill(int x, int y, int fw, int fh, Rgb c) {
        if (svg && !mute && fw > 0 && fh > 0) *svg += rect(x, y, fw, fh, c);
        for (int yy = std::max(0, y); yy < std::min(h, y + fh); yy++)
            for (int xx = std::max(0, x); xx < std::min(w, x + fw); xx++) put(xx, yy, c);
    }
    // Diagonal stripes in image coordinates, so that neighbouring masked cells form
    // one hatched area whatever the cell size (even 1-px cells).
    void hatch(int x, int y, int fw, int fh) {
        if (svg && !mute && fw > 0 && fh > 0)
            *svg += "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(fw) + "\" height=\"" + num(fh) +
                    "\" fill=\"url(#masked)\"/>\n";
        for (int yy = std::max(0, y); yy < std::min(h, y + fh); yy++)
            for (int xx = std::max(0, x); xx < std::min(w, x + fw); xx++)
                put(xx, yy, (xx + yy) % 5 == 0 ? kHatchLine : kHatchBg);
    }
    void frame(int x, int y, int fw, int fh, Rgb c) {
        fill(x, y, fw, 1, c);
        fill(x, y + fh - 1, fw, 1, c);
        fill(x, y, 1, fh, c);
        fill(x + fw - 1, y, 1, fh, c);
    }
    // A straight line `width` px thick (plots); dash > 0: dashes of `dash` px, gaps as long.
    void line(double x0, double y0, double x1, double y1, double width, Rgb c, double dash = 0) {
        if (svg && !mute)
            *svg += "<line x1=\"" + num(x0) + "\" y1=\"" + num(y0) + "\" x2=\"" + num(x1) + "\" y2=\"" + num(y1) +
                    "\" stroke=\"" + hex(c) + "\" stroke-width=\"" + num(width) + "\"" +
                    (dash > 0 ? " stroke-dasharray=\"" + num(dash) + "," + num(dash) + "\"" : std::string()) + "/>\n";
        const double dx = x1 - x0, dy = y1 - y0, len2 = std::max(1e-12, dx * dx + dy * dy), r = width / 2;
        for (int yy = (int)std::floor(std::min(y0, y1) - r); yy <= (int)std::ceil(std::max(y0, y1) + r); yy++)
            for (int xx = (int)std::floor(std::min(x0, x1) - r); xx <= (int)std::ceil(std::max(x0, x1) + r); xx++) {
                const double px_ = xx + 0.5, py_ = yy + 0.5;
                const double t = std::min(1.0, std::max(0.0, ((px_ - x0) * dx + (py_ - y0) * dy) / len2));
                const double ex = x0 + t * dx - px_, ey = y0 + t * dy - py_;
                if (ex * ex + ey * ey > r * r) continue;
                if (dash > 0 && std::fmod(t * std::sqrt(len2), 2 * dash) >= dash) continue;
                put(xx, yy, c);
            }
    }
    // A filled circle (plot markers).
    void disc(double cx, double cy, double r, Rgb c) {
        if (svg && !mute)
            *svg += "<circle cx=\"" + num(cx) + "\" cy=\"" + num(cy) + "\" r=\"" + num(r) + "\" fill=\"" + hex(c) + "\"/>\n";
        for (int yy = (int)std::floor(cy - r); yy <= (int)std::ceil(cy + r); yy++)
            for (int xx = (int)std::floor(cx - r); xx <= (int)std::ceil(cx + r); xx++)
                if ((xx + 0.5 - cx) * (xx + 0.5 - cx) + (yy + 0.5 - cy) * (yy + 0.5 - cy) <= r * r) put(xx, yy, c);
    }
};

// stb_easy_font knows ASCII 32..126 only.
static std::string printable(const std::string& s) {
    std::string o = s;
    for (char& ch : o)
        if (ch < 32 || ch > 126) ch = '?';
    return o;
}
static int text_w(const std::string& s, int scale) {
    std::string a = printable(s);
    return stb_easy_font_width(&a[0]) * scale;
}
static int text_h(int scale) { return 10 * scale; }  // one line: capitals, descenders, a unit of air

// Draws s with its top-left corner at (x, y); up = true rotates it a quarter turn
// counter-clockwise (read bottom to top), starting at (x, y) with the glyph tops at x.
// In an SVG recording the text is one <text> element whose capitals match the PNG's
// (stb_easy_font capitals are 7 units tall from the top: baseline at y + 7 units).
static void record_text(Image& im, int x, int y, const std::string& s, int scale, Rgb c, bool up, bool bold) {
    if (!im.svg || im.mute || s.empty()) return;
    const double base = 7.0 * scale;
    const std::string pos = up ? "x=\"0\" y=\"0\" transform=\"translate(" + num(x + base) + " " + num(y) + ") rotate(-90)\""
                               : "x=\"" + num(x) + "\" y=\"" + num(y + base) + "\"";
    *im.svg += "<text " + pos + " font-size=\"" + num(9.5 * scale) + "\" fill=\"" + hex(c) + "\"" +
               (bold ? " font-weight=\"bold\"" : "") + ">" + xml_escape(s) + "</text>\n";
}

static void draw_text(Image& im, int x, int y, const std::string& s, int scale, Rgb c, bool up = false) {
    record_text(im, x, y, s, scale, c, up, false);
    im.mute++;  // the glyphs' quads are pixels only
    struct Unmute {
        Image& im;
        ~Unmute() { im.mute--; }
    } unmute{im};
    std::string a = printable(s);
    std::vector<char> buf(a.size() * 640 + 64);
    const int quads = stb_easy_font_print(0, 0, &a[0], nullptr, buf.data(), (int)buf.size());
    for (int q = 0; q < quads; q++) {
        const float* v0 = reinterpret_cast<const float*>(&buf[(size_t)q * 64]);       // (u0, v0)
        const float* v2 = reinterpret_cast<const float*>(&buf[(size_t)q * 64 + 32]);  // (u1, v1)
        const int u0 = (int)v0[0], t0 = (int)v0[1], u1 = (int)v2[0], t1 = (int)v2[1];
        if (!up) im.fill(x + u0 * scale, y + t0 * scale, (u1 - u0) * scale, (t1 - t0) * scale, c);
        else im.fill(x + t0 * scale, y - u1 * scale, (t1 - t0) * scale, (u1 - u0) * scale, c);
    }
}
// Bold: the same text twice, one pixel apart.
static void draw_bold(Image& im, int x, int y, const std::string& s, int scale, Rgb c) {
    record_text(im, x, y, s, scale, c, false, true);
    im.mute++;
    draw_text(im, x, y, s, scale, c);
    draw_text(im, x + 1, y, s, scale, c);
    if (scale >= 4) draw_text(im, x + 2, y, s, scale, c);  // large text needs a heavier stroke
    im.mute--;
}

// Greedy word wrap to max_w, measured by `width`; a word longer than a line stands
// alone on its line (the caller widens the picture to it: text is never cut).
template <class Width>
static std::vector<std::string> wrap(const std::string& s, double max_w, Width width) {
    std::vector<std::string> lines;
    std::string line, word;
    std::stringstream ss(s);
    while (ss >> word) {
        std::string cand = line.empty() ? word : line + " " + word;
        if (!line.empty() && width(cand) > max_w) {
            lines.push_back(line);
            line = word;
        } else {
            line = cand;
        }
    }
    if (!line.empty() || lines.empty()) lines.push_back(line);
    return lines;
}

// ---- PNG: one labelled grid ----------------------------------------------------------------

static bool axis_boundary(const HeatAxis& a, int i) {
    if (i <= 0) return false;
    bool g = !a.group.empty() && a.group[i] != a.group[i - 1];
    bool f = !a.fam.empty() && a.fam[i] != a.fam[i - 1];
    return g || f;
}
static bool axis_flag(const std::vector<uint8_t>& v, int i) { return !v.empty() && v[i]; }

// Pixel offset of each cell along an axis (from the grid's inner edge): a 1-px
// boundary line before every entry where the block or FAM band changes. [n + 1]
static std::vector<int> cell_starts(const HeatAxis& a, int n, int cell) {
    std::vector<int> s(n + 1);
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (axis_boundary(a, i)) x++;
        s[i] = x;
        x += cell;
    }
    s[n] = x;
    return s;
}

// Which entries get a tick label: the first entry of every block / FAM band, then
// highlighted entries, then all others (if cells are large enough), each only where
// its label (`extent` px across, centred on its cell) overlaps no label placed before it.
static std::vector<int> pick_ticks(const HeatAxis& a, const std::vector<int>& start, int cell, int extent) {
    const int n = (int)start.size() - 1;
    std::vector<std::pair<int, int>> taken;
    std::vector<int> out;
    auto try_place = [&](int i) {
        if (i >= (int)a.label.size() || a.label[i].empty()) return;
        for (int o : out)
            if (o == i) return;
        const int c = start[i] + cell / 2, lo = c - extent / 2, hi = lo + extent;
        for (auto& t : taken)
            if (lo < t.second + 1 && t.first < hi + 1) return;
        taken.push_back({lo, hi});
        out.push_back(i);
    };
    for (int i = 0; i < n; i++)
        if (i == 0 || axis_boundary(a, i)) try_place(i);
    for (int i = 0; i < n; i++)
        if (axis_flag(a.mark, i)) try_place(i);
    // the rest only when at least every other label can stand: a few stray numbers
    // between block starts read as boundaries that are not there
    if (2 * cell >= extent)
        for (int i = 0; i < n; i++) try_place(i);
    return out;
}

static Rgb label_colour(const HeatAxis& a, int i) {
    return axis_flag(a.mark, i) ? kMarkText : axis_flag(a.fam, i) ? kFamText : kText;
}

// One grid with its title, axis names and tick labels. measure() fixes the layout,
// draw() paints it with its top-left corner at (x, y); paint(im, r, c, x, y, w, h)
// colours one cell.
struct PngGrid {
    std::string title;
    HeatAxis row, col;
    int rows = 0, cols = 0, cw = 1, ch = 1;
    std::function<void(Image&, int, int, int, int, int, int)> paint;

    std::vector<int> xs, ys, rticks, cticks;
    int S = 2, rlab = 0, clab = 0, gw = 0, gh = 0, w = 0, h = 0;
    bool col_up = true;  // column labels read bottom to top (unless all fit across their cells)
    bool tight = false;  // slides: labels 8 units + 1 px apart (capitals are 7 units), not a 10-unit line + 2 px

    void measure(int scale) {
        S = scale;
        xs = cell_starts(col, cols, cw);
        ys = cell_starts(row, rows, ch);
        gw = xs[cols] + 2;  // + the frame
        gh = ys[rows] + 2;
        const int th = text_h(S), extent = tight ? 8 * S + 1 : th + 2;
        rticks = pick_ticks(row, ys, ch, extent);
        // column labels lie flat when each fits before the next label (sparse labels
        // such as "row 0" over groups of cells), else they stand up
        col_up = false;
        for (int c = 0, next; c < (int)col.label.size(); c = next) {
            next = c + 1;
            while (next < cols && col.label[next].empty()) next++;
            const int room = next < cols ? xs[next] - xs[c] : 1 << 20;  // the last may overhang the grid
            if (!col.label[c].empty() && text_w(col.label[c], S) + 4 > room) col_up = true;
        }
        cticks = pick_ticks(col, xs, cw, col_up ? extent : 1);
        rlab = clab = 0;
        for (int i : rticks) rlab = std::max(rlab, text_w(row.label[i], S) + 8);
        for (int c : cticks) clab = std::max(clab, col_up ? text_w(col.label[c], S) + 8 : th + 4);
        w = std::max(th + 6 + rlab + gw, std::max(text_w(title, S) + 2, th + 6 + rlab + text_w(col.name, S)));
        if (!col_up)
            for (int c : cticks) w = std::max(w, th + 6 + rlab + xs[c] + text_w(col.label[c], S) + 4);
        // the row axis name runs up the left side; the panel grows if it is longer than the grid
        h = (title.empty() ? 0 : th + 8) + th + 6 + clab + std::max(gh, text_w(row.name, S)) + 4;
    }
    void draw(Image& im, int x, int y) const {
        const int th = text_h(S);
        if (!title.empty()) {
            draw_bold(im, x, y, title, S, kText);
            y += th + 8;
        }
        const int gx = x + th + 6 + rlab, gy = y + th + 6 + clab;
        // axis names: "key" centred above the column labels, "query" up the left side
        const int kw = text_w(col.name, S);
        draw_text(im, std::max(gx, gx + (gw - kw) / 2), y, col.name, S, kTextGrey);
        const int qw = text_w(row.name, S);
        draw_text(im, x, gy + std::max(qw, (gh + qw) / 2), row.name, S, kTextGrey, true);
        // the frame and boundary lines: the grid area dark, the cells painted over it
        im.fill(gx, gy, gw, gh, kBoundary);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) paint(im, r, c, gx + 1 + xs[c], gy + 1 + ys[r], cw, ch);
        // highlighted entries: a red tick outside the frame, even where no label fits
        for (int r = 0; r < rows; r++)
            if (axis_flag(row.mark, r)) im.fill(gx - 4, gy + 1 + ys[r], 4, std::max(1, ch), kMarkText);
        for (int c = 0; c < cols; c++)
            if (axis_flag(col.mark, c)) im.fill(gx + 1 + xs[c], gy - 4, std::max(1, cw), 4, kMarkText);
        for (int r : rticks)
            draw_text(im, gx - 6 - text_w(row.label[r], S), gy + 1 + ys[r] + ch / 2 - th / 2 + S, row.label[r], S,
                      label_colour(row, r));
        for (int c : cticks) {
            if (col_up)
                draw_text(im, gx + 1 + xs[c] + cw / 2 - th / 2 + S, gy - 6, col.label[c], S, label_colour(col, c), true);
            else
                draw_text(im, gx + 1 + xs[c] + std::max(0, (cw - text_w(col.label[c], S)) / 2), gy - th - 2, col.label[c],
                          S, label_colour(col, c));
        }
    }
};

// ---- PNG: legend ------------------------------------------------------------------------------

// Legend items laid out left to right, wrapping at the figure's width.
struct PngLegend {
    enum Kind { Box, Hatch, Line, TextSample };
    struct Item {
        Kind kind;
        Rgb colour;
        std::string caption;
        std::string sample;  // TextSample: the text drawn in `colour`
    };
    std::vector<Item> items;
    void add(Kind k, Rgb c, const std::string& cap, const std::string& sample = "F") { items.push_back({k, c, cap, sample}); }

    // Lays out (and, with im, draws) from (x, y) within width; returns the height used.
    int place(Image* im, int x0, int y, int width, int S) const {
        const int th = text_h(S), sw = th;  // swatch size
        int x = x0, rows = items.empty() ? 0 : 1, y0 = y;
        for (const Item& it : items) {
            const int iw = sw + 6 + text_w(it.caption, S) + 18;
            if (x > x0 && x + iw > x0 + width) {
                x = x0;
                y += th + 8;
                rows++;
            }
            if (im) {
                if (it.kind == Box) {
                    im->fill(x, y, sw, sw, it.colour);
                    im->frame(x, y, sw, sw, {136, 136, 136});
                } else if (it.kind == Hatch) {
                    im->hatch(x, y, sw, sw);
                    im->frame(x, y, sw, sw, {136, 136, 136});
                } else if (it.kind == Line) {
                    im->fill(x + sw / 2 - 1, y - 1, 2, sw + 2, it.colour);
                } else {
                    draw_text(*im, x, y, it.sample, S, it.colour);
                }
                draw_text(*im, x + sw + 6, y, it.caption, S, kText);
            }
            x += iw;
        }
        return rows ? y - y0 + th + 8 : 0;
    }
};

// ---- PNG: masks ---------------------------------------------------------------------------------

static HeatAxis heat_axis(const MaskAxis& a, const std::string& name) {
    HeatAxis h;
    h.name = name;
    h.label = a.label;
    h.group = a.group;
    for (int f : a.fam) h.fam.push_back(f >= 0);
    return h;
}

static bool any(const std::vector<uint8_t>& v) {
    for (uint8_t x : v)
        if (x) return true;
    return false;
}

static void check_picture_size(const char* fn, long long w, long long h) {
    if (w > 32768 || h > 32768)
        throw std::invalid_argument(std::string(fn) + ": a " + std::to_string(w) + " x " + std::to_string(h) +
                                    " pixel picture is too large (max 32768 per side); use a smaller cell_px "
                                    "or the .npy dump");
}

static void append_bytes(void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), (size_t)size);
}

static std::string png_encode(const Image& im, const char* fn) {
    std::string bytes;
    if (!stbi_write_png_to_func(append_bytes, &bytes, im.w, im.h, 3, im.px.data(), im.w * 3))
        throw std::runtime_error(std::string(fn) + ": PNG encoding failed");
    return bytes;
}

// Title lines, the grids side by side, the legend (and colour bar, drawn by the
// caller's `bar` into the space it asks for), then the notes: the one layout of
// every PNG figure.
struct PngFigure {
    std::string title;
    std::vector<PngGrid> grids;
    PngLegend legend;
    std::vector<std::string> notes;
    int bar_h = 0;                                     // height of the colour bar block (0: none)
    int bar_w = 0;                                     // width of its widest line (slides: the column must hold it)
    std::function<void(Image&, int, int, int)> bar;   // draws it at (x, y) within a width

    std::string encode(const char* fn) {
        const int S = 2, th = text_h(S), margin = 14, gap = 28;
        int gw = 0, gh = 0;
        for (size_t k = 0; k < grids.size(); k++) {
            grids[k].measure(S);
            gw += grids[k].w + (k ? gap : 0);
            gh = std::max(gh, grids[k].h);
        }
        int width = std::max(gw + 2 * margin, 620);
        auto measure = [&](const std::string& t) { return (double)text_w(t, S); };
        std::vector<std::string> tl = wrap(title, width - 2 * margin, measure), nl;
        for (const std::string& n : notes)
            for (const std::string& l : wrap(n, width - 2 * margin, measure)) nl.push_back(l);
        for (const std::string& l : tl) width = std::max(width, text_w(l, S) + 2 * margin);
        for (const std::string& l : nl) width = std::max(width, text_w(l, S) + 2 * margin);
        const int title_h = (int)tl.size() * (th + 6) + 8;
        const int legend_h = legend.place(nullptr, margin, 0, width - 2 * margin, S);
        const long long height = (long long)margin + title_h + gh + 10 + bar_h + legend_h + (int)nl.size() * (th + 6) + margin;
        check_picture_size(fn, width, height);

        Image im(width, (int)height, kEmpty);
        int y = margin;
        for (const std::string& l : tl) {
            draw_bold(im, margin, y, l, S, kText);
            y += th + 6;
        }
        y += 8;
        int x = margin;
        for (const PngGrid& g : grids) {
            g.draw(im, x, y);
            x += g.w + gap;
        }
        y += gh + 10;
        if (bar) bar(im, margin, y, width - 2 * margin);
        y += bar_h;
        legend.place(&im, margin, y, width - 2 * margin, S);
        y += legend_h;
        for (const std::string& l : nl) {
            draw_text(im, margin, y, l, S, kTextGrey);
            y += th + 6;
        }
        return png_encode(im, fn);
    }
};

// The mask as one grid with its legend and notes (`d` must outlive the figure: the
// grid's painter reads it). mask_png_bytes encodes it; mask_slide lays it on a slide.
static PngFigure mask_png_figure(const Drawn& d, int cell) {
    const Mask& mk = d.mk;
    const int R = mk.rows, C = mk.cols;
    const bool fam = d.has_fam();
    PngGrid g;
    g.row = heat_axis(d.row, "query");
    g.col = heat_axis(d.col, "key");
    g.rows = R;
    g.cols = C;
    g.cw = g.ch = cell;
    g.paint = [&d](Image& im, int r, int c, int x, int y, int w, int h) {
        const bool f = d.fam_cell(r, c);
        im.fill(x, y, w, h, d.mk.at(r, c) ? (f ? kFam : kToken) : (f ? kFamTint : kEmpty));
    };
    PngFigure fig;
    fig.title = mk.title;
    fig.grids.push_back(g);
    fig.legend.add(PngLegend::Box, kToken, "query attends to key");
    if (fam) fig.legend.add(PngLegend::Box, kFam, "attends, FAM query or FAM key");
    fig.legend.add(PngLegend::Box, kEmpty, "masked");
    if (fam) fig.legend.add(PngLegend::Box, kFamTint, "masked, FAM row/column");
    if (d.has_boundary()) fig.legend.add(PngLegend::Line, kBoundary, "block boundary");
    if (fam) fig.legend.add(PngLegend::TextSample, kFamText, "orange labels: FAM rows and keys");
    bool absent = false;
    for (const std::string& l : d.col.label) absent = absent || (!l.empty() && l[0] == 'm');
    fig.notes.push_back("rows are queries (top to bottom), columns are keys (left to right), labelled by token "
                        "position at each block start and wherever they fit");
    if (fam) fig.notes.push_back("F<k>.<j> = row j of F_k, the FAM after k completed blocks (F_0 enters block 0)");
    if (absent) fig.notes.push_back("m<i>: memory slot i of a block before block 0 (it does not exist, so it is masked)");
    return fig;
}

std::string mask_png_bytes(const Mask& mk, int cell_px) {
    Drawn d(mk, "mask_png");
    if (cell_px < 0) throw std::invalid_argument("mask_png: cell_px must be >= 0, got " + std::to_string(cell_px));
    const int R = mk.rows, C = mk.cols;
    const int cell = cell_px > 0 ? cell_px : std::max(1, std::min(32, 1000 / std::max(R, C)));
    check_picture_size("mask_png", (long long)C * cell, (long long)R * cell);
    return mask_png_figure(d, cell).encode("mask_png");
}

void mask_png(const std::string& path, const Mask& mk, int cell_px) {
    safe_write_file(path, mask_png_bytes(mk, cell_px));
}

void mask_npy(const std::string& path, const Mask& mk) {
    Drawn d(mk, "mask_npy");  // only for its shape check
    npy_save_u8(path, mk.m.data(), {mk.rows, mk.cols});
}

// ---- heatmaps: colour scales --------------------------------------------------------------------

static Rgb mix(Rgb p, Rgb q, double a) {
    auto m = [a](uint8_t x, uint8_t y) { return (uint8_t)std::lround(x + a * (y - x)); };
    return {m(p.r, q.r), m(p.g, q.g), m(p.b, q.b)};
}

// White -> light blue -> blue -> dark navy, piecewise linear in v in [0, 1].
static Rgb ramp(double v) {
    static const double stop[4] = {0.0, 0.35, 0.7, 1.0};
    static const Rgb col[4] = {{255, 255, 255}, {166, 199, 232}, {62, 118, 184}, {12, 39, 84}};
    v = std::min(1.0, std::max(0.0, v));
    int i = v < stop[1] ? 0 : v < stop[2] ? 1 : 2;
    return mix(col[i], col[i + 1], (v - stop[i]) / (stop[i + 1] - stop[i]));
}

// Blue (0) -> white (0.5) -> red (1), for signed values centred on 0.
static Rgb diverging(double v) {
    v = std::min(1.0, std::max(0.0, v));
    static const Rgb blue = {33, 102, 172}, white = {255, 255, 255}, red = {178, 24, 43};
    return v < 0.5 ? mix(blue, white, v / 0.5) : mix(white, red, (v - 0.5) / 0.5);
}

static Rgb palette_colour(Palette p, double v) { return p == Palette::Diverging ? diverging(v) : ramp(v); }

static void check_heatmap(const char* fn, const float* values, int rows, int cols, int cell_px) {
    if (!values) throw std::invalid_argument(std::string(fn) + ": values is null");
    if (rows < 1 || cols < 1)
        throw std::invalid_argument(std::string(fn) + ": shape must be at least [1, 1], got [" +
                                    std::to_string(rows) + ", " + std::to_string(cols) + "]");
    if (cell_px < 0) throw std::invalid_argument(std::string(fn) + ": cell_px must be >= 0, got " + std::to_string(cell_px));
}

// Everything both renderers need to know about a figure, checked once.
struct Scale {
    Palette palette;
    double lo, hi;
    std::vector<double> at;
    std::vector<std::string> label;
    double unit(double v) const { return (v - lo) / (hi - lo); }
};

static std::string short_num(double v) {
    char s[32];
    std::snprintf(s, sizeof s, "%.3g", v);
    return s;
}

static Scale figure_scale(const HeatFigure& f, const char* fn) {
    if (f.panels.empty()) throw std::invalid_argument(std::string(fn) + ": the figure has no panels");
    double lo = 1e300, hi = -1e300;
    for (size_t k = 0; k < f.panels.size(); k++) {
        const HeatPanel& p = f.panels[k];
        const std::string what = std::string(fn) + ": panel " + std::to_string(k) + " ('" + p.title + "')";
        if (p.rows < 1 || p.cols < 1 || p.v.size() != (size_t)p.rows * p.cols)
            throw std::invalid_argument(what + " is [" + std::to_string(p.rows) + ", " + std::to_string(p.cols) +
                                        "] with " + std::to_string(p.v.size()) + " values");
        if (!p.cell.empty() && p.cell.size() != p.v.size())
            throw std::invalid_argument(what + ": " + std::to_string(p.cell.size()) + " cell states for " +
                                        std::to_string(p.v.size()) + " values");
        for (const HeatAxis* a : {&p.row, &p.col}) {
            const size_t n = a == &p.row ? p.rows : p.cols;
            for (size_t m : {a->label.size(), a->group.size(), a->fam.size(), a->mark.size()})
                if (m != 0 && m != n)
                    throw std::invalid_argument(what + ": an axis vector has " + std::to_string(m) + " entries for " +
                                                std::to_string(n) + " " + (a == &p.row ? "rows" : "columns"));
        }
        for (size_t i = 0; i < p.v.size(); i++)
            if (std::isfinite(p.v[i]) && (p.cell.empty() || p.cell[i] == kCellValue)) {
                lo = std::min(lo, (double)p.v[i]);
                hi = std::max(hi, (double)p.v[i]);
            }
    }
    if (lo > hi) lo = 0, hi = 1;
    Scale s;
    s.palette = f.palette;
    if (f.lo < f.hi) {
        s.lo = f.lo;
        s.hi = f.hi;
    } else if (f.palette == Palette::Diverging) {
        double m = std::max(std::fabs(lo), std::fabs(hi));
        s.lo = -(m > 0 ? m : 1);
        s.hi = m > 0 ? m : 1;
    } else {
        s.lo = std::min(0.0, lo);  // weights and magnitudes: white is 0, not the smallest value
        s.hi = hi > s.lo ? hi : s.lo + 1;
    }
    if (!f.tick_at.empty()) {
        if (f.tick_label.size() != f.tick_at.size())
            throw std::invalid_argument(std::string(fn) + ": " + std::to_string(f.tick_label.size()) +
                                        " tick labels for " + std::to_string(f.tick_at.size()) + " ticks");
        s.at = f.tick_at;
        s.label = f.tick_label;
    } else {
        for (double v : {s.lo, (s.lo + s.hi) / 2, s.hi}) {
            s.at.push_back(v);
            s.label.push_back(short_num(v));
        }
    }
    return s;
}

static bool figure_has(const HeatFigure& f, uint8_t state) {
    for (const HeatPanel& p : f.panels) {
        for (size_t i = 0; i < p.v.size(); i++) {
            uint8_t c = p.cell.empty() ? (uint8_t)kCellValue : p.cell[i];
            if (c == kCellValue && !std::isfinite(p.v[i])) c = kCellMasked;
            if (c == state) return true;
        }
    }
    return false;
}
static bool figure_has_axis(const HeatFigure& f, bool fam) {
    for (const HeatPanel& p : f.panels)
        if (any(fam ? p.row.fam : p.row.mark) || any(fam ? p.col.fam : p.col.mark)) return true;
    return false;
}
static bool figure_has_boundary(const HeatFigure& f) {
    for (const HeatPanel& p : f.panels) {
        for (int i = 1; i < p.rows; i++)
            if (axis_boundary(p.row, i)) return true;
        for (int i = 1; i < p.cols; i++)
            if (axis_boundary(p.col, i)) return true;
    }
    return false;
}

// ---- heatmaps: PNG --------------------------------------------------------------------------------

// The figure's grids, colour bar, legend and notes with text at scale S (f and sc must
// outlive the result: its painters read them). heatmap_figure_png_bytes encodes it
// (S = 2); heatmap_figure_slide lays it on a slide.
static PngFigure heat_png_figure(const HeatFigure& f, const Scale& sc, int S, int cw, int ch) {
    PngFigure fig;
    fig.title = f.title;
    for (const HeatPanel& p : f.panels) {
        PngGrid g;
        g.title = p.title;
        g.row = p.row;
        g.col = p.col;
        g.rows = p.rows;
        g.cols = p.cols;
        g.cw = cw;
        g.ch = ch;
        const HeatPanel* pp = &p;
        g.paint = [pp, &sc, S](Image& im, int r, int c, int x, int y, int w, int h) {
            const size_t k = (size_t)r * pp->cols + c;
            const uint8_t st = pp->cell.empty() ? (uint8_t)kCellValue : pp->cell[k];
            double u = 0;
            if (st == kCellBlank) im.fill(x, y, w, h, kBlank);
            else if (st == (uint8_t)kCellMasked || !std::isfinite(pp->v[k])) im.hatch(x, y, w, h);
            else im.fill(x, y, w, h, palette_colour(sc.palette, u = sc.unit(pp->v[k])));
            if (pp->text.empty() || pp->text[k].empty()) return;
            // the cell's text, centred, shortened with '~' until it fits; white on dark cells
            std::string t = pp->text[k];
            while (t.size() > 1 && text_w(t, S) > w - 4) t = t.substr(0, t.size() - (t.back() == '~' ? 2 : 1)) + "~";
            const Rgb tc = (sc.palette == Palette::Sequential ? u > 0.55 : std::fabs(u - 0.5) > 0.3) ? kEmpty : kText;
            draw_text(im, x + (w - text_w(t, S)) / 2, y + (h - 7 * S) / 2, t, S, tc);
        };
        fig.grids.push_back(g);
    }
    // the colour bar: the caption, a 150*S-px gradient, tick marks and labels under it
    const int th = text_h(S), bar_w = 150 * S, bar_hh = 7 * S;
    fig.bar_h = th + 4 + bar_hh + 4 + th + 12;
    fig.bar_w = std::max(text_w("colour: " + f.scale, S), bar_w + 3 * th);
    fig.bar = [&sc, &f, th, bar_hh, bar_w, S](Image& im, int x, int y, int /*width*/) {
        draw_text(im, x, y, "colour: " + f.scale, S, kText);
        const int by = y + th + 4;
        for (int i = 0; i < bar_w; i++)
            im.fill(x + i, by, 1, bar_hh, palette_colour(sc.palette, i / (double)(bar_w - 1)));
        im.frame(x - 1, by - 1, bar_w + 2, bar_hh + 2, {136, 136, 136});
        int last_end = -1000;
        for (size_t i = 0; i < sc.at.size(); i++) {
            const int tx = x + (int)std::lround(std::min(1.0, std::max(0.0, sc.unit(sc.at[i]))) * (bar_w - 1));
            im.fill(tx, by + bar_hh, 1, 5, kText);
            const int lw = text_w(sc.label[i], S);
            const int lx = std::max(std::max(x - 4, last_end + 6), tx - lw / 2);
            draw_text(im, lx, by + bar_hh + 6, sc.label[i], S, kText);
            last_end = lx + lw;
        }
    };
    if (figure_has(f, kCellMasked)) fig.legend.add(PngLegend::Hatch, kHatchBg, f.masked_caption);
    if (figure_has(f, kCellBlank) && !f.blank_caption.empty()) fig.legend.add(PngLegend::Box, kBlank, f.blank_caption);
    if (figure_has_boundary(f)) fig.legend.add(PngLegend::Line, kBoundary, f.boundary_caption);
    if (figure_has_axis(f, true)) fig.legend.add(PngLegend::TextSample, kFamText, "orange label: FAM row or key");
    if (figure_has_axis(f, false))
        fig.legend.add(PngLegend::TextSample, kMarkText, "red label or tick: highlighted token", "7");
    fig.notes = f.notes;
    return fig;
}

std::string heatmap_figure_png_bytes(const HeatFigure& f) {
    const char* fn = "heatmap_figure_png";
    const Scale sc = figure_scale(f, fn);
    if (f.cell_px < 0 || f.row_px < 0) throw std::invalid_argument(std::string(fn) + ": cell sizes must be >= 0");
    int total_cols = 0;
    for (const HeatPanel& p : f.panels) total_cols += p.cols;
    const int cw = f.cell_px > 0 ? f.cell_px : std::max(1, std::min(24, 1000 / std::max(1, total_cols)));
    const int ch = f.row_px > 0 ? f.row_px : cw;
    for (const HeatPanel& p : f.panels) check_picture_size(fn, (long long)p.cols * cw, (long long)p.rows * ch);
    PngFigure fig = heat_png_figure(f, sc, 2, cw, ch);
    return fig.encode(fn);
}

void heatmap_figure_png(const std::string& path, const HeatFigure& f) {
    safe_write_file(path, heatmap_figure_png_bytes(f));
}

// ---- heatmaps: SVG --------------------------------------------------------------------------------

static double svg_text_w(const std::string& s, double fs) { return s.size() * fs * 0.6; }

static const char* kHatchDefs =
    "<defs><pattern id=\"masked\" width=\"5\" height=\"5\" patternUnits=\"userSpaceOnUse\" "
    "patternTransform=\"rotate(45)\"><rect width=\"5\" height=\"5\" fill=\"#dedede\"/>"
    "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"5\" stroke=\"#969696\" stroke-width=\"1.4\"/></pattern></defs>\n";

std::string heatmap_figure_svg(const HeatFigure& f) {
    const char* fn = "heatmap_figure_svg";
    const Scale sc = figure_scale(f, fn);
    int total_cols = 0;
    for (const HeatPanel& p : f.panels) total_cols += p.cols;
    const double cw = f.cell_px > 0 ? f.cell_px : std::max(2, std::min(28, 560 / std::max(1, total_cols)));
    const double ch = f.row_px > 0 ? f.row_px : cw;
    const double fs = std::min(12.0, std::max(8.0, std::min(cw, ch) * 0.7)), pad = 16, gap = 30;
    const double th = fs + 4;

    // measure each panel: its tick labels (those that fit), label widths, size
    struct Lay {
        std::vector<int> xs, ys, rt, ct;
        double rlab = 0, clab = 0, w = 0, h = 0;
    };
    std::vector<Lay> lays;
    double panels_w = 0, panels_h = 0;
    for (const HeatPanel& p : f.panels) {
        Lay L;
        L.xs = cell_starts(p.col, p.cols, (int)cw);
        L.ys = cell_starts(p.row, p.rows, (int)ch);
        L.rt = pick_ticks(p.row, L.ys, (int)ch, (int)th);
        L.ct = pick_ticks(p.col, L.xs, (int)cw, (int)th);
        for (int i : L.rt) L.rlab = std::max(L.rlab, svg_text_w(p.row.label[i], fs) + 6);
        for (int c : L.ct) L.clab = std::max(L.clab, svg_text_w(p.col.label[c], fs) + 6);
        L.w = std::max(14 + 4 + L.rlab + L.xs[p.cols], svg_text_w(p.title, 13));
        L.h = (p.title.empty() ? 0 : 20) + 16 + L.clab + L.ys[p.rows];
        panels_w += L.w + (lays.empty() ? 0 : gap);
        panels_h = std::max(panels_h, L.h);
        lays.push_back(L);
    }
    double width = std::max(panels_w + 2 * pad, 480.0);
    auto m15 = [](const std::string& t) { return svg_text_w(t, 15); };
    auto m11 = [](const std::string& t) { return svg_text_w(t, 11); };
    std::vector<std::string> tl = wrap(f.title, width - 2 * pad, m15), nl;
    for (const std::string& n : f.notes)
        for (const std::string& l : wrap(n, width - 2 * pad, m11)) nl.push_back(l);
    for (const std::string& l : tl) width = std::max(width, m15(l) + 2 * pad);
    for (const std::string& l : nl) width = std::max(width, m11(l) + 2 * pad);

    std::string body;
    double y = pad;
    for (const std::string& l : tl) {
        body += text(pad, y + 14, l, 15, "font-weight=\"bold\"");
        y += 20;
    }
    y += 6;
    double x = pad;
    for (size_t k = 0; k < f.panels.size(); k++) {
        const HeatPanel& p = f.panels[k];
        const Lay& L = lays[k];
        double py = y;
        if (!p.title.empty()) {
            body += text(x, py + 13, p.title, 13, "font-weight=\"bold\"");
            py += 20;
        }
        const double gx = x + 18 + L.rlab, gy = py + 16 + L.clab, gw = L.xs[p.cols], gh = L.ys[p.rows];
        body += text(gx + gw / 2, py + 11, p.col.name, 12, "text-anchor=\"middle\" font-style=\"italic\" fill=\"#555555\"");
        body += text(x + 11, gy + gh / 2, p.row.name, 12,
                     "text-anchor=\"middle\" font-style=\"italic\" fill=\"#555555\" transform=\"rotate(-90 " +
                         num(x + 11) + " " + num(gy + gh / 2) + ")\"");
        body += rect(gx, gy, gw, gh, kBoundary);  // boundary lines show between the cells
        for (int r = 0; r < p.rows; r++)
            for (int c = 0; c < p.cols;) {
                // one rect per run of cells of the same colour
                auto colour = [&](int cc) -> std::string {
                    const size_t k2 = (size_t)r * p.cols + cc;
                    const uint8_t st = p.cell.empty() ? (uint8_t)kCellValue : p.cell[k2];
                    if (st == kCellBlank) return hex(kBlank);
                    if (st == (uint8_t)kCellMasked || !std::isfinite(p.v[k2])) return "url(#masked)";
                    return hex(palette_colour(sc.palette, sc.unit(p.v[k2])));
                };
                const std::string col = colour(c);
                int e = c + 1;
                while (e < p.cols && L.xs[e] == L.xs[e - 1] + (int)cw && colour(e) == col) e++;
                body += "<rect x=\"" + num(gx + L.xs[c]) + "\" y=\"" + num(gy + L.ys[r]) + "\" width=\"" +
                        num(L.xs[e - 1] + cw - L.xs[c]) + "\" height=\"" + num(ch) + "\" fill=\"" + col + "\"/>\n";
                c = e;
            }
        auto colour_attr = [](const HeatAxis& a, int i) {
            return axis_flag(a.mark, i) ? std::string(" fill=\"#d62728\" font-weight=\"bold\"")
                   : axis_flag(a.fam, i) ? std::string(" fill=\"#b35a12\"")
                                         : std::string();
        };
        for (int r : L.rt)
            body += text(gx - 4, gy + L.ys[r] + ch / 2 + fs * 0.35, p.row.label[r], fs,
                         "text-anchor=\"end\"" + colour_attr(p.row, r));
        for (int c : L.ct) {
            const double cx = gx + L.xs[c] + cw / 2 + fs * 0.35, cy = gy - 4;
            body += text(cx, cy, p.col.label[c], fs,
                         "transform=\"rotate(-90 " + num(cx) + " " + num(cy) + ")\"" + colour_attr(p.col, c));
        }
        x += L.w + gap;
    }
    y += panels_h + 16;

    // colour bar: caption, gradient, ticks
    body += "<defs><linearGradient id=\"scale\" x1=\"0\" y1=\"0\" x2=\"1\" y2=\"0\">";
    for (int i = 0; i <= 10; i++)
        body += "<stop offset=\"" + num(i / 10.0) + "\" stop-color=\"" + hex(palette_colour(sc.palette, i / 10.0)) + "\"/>";
    body += "</linearGradient></defs>\n";
    body += text(pad, y + 11, "colour: " + f.scale, 11);
    const double bw = 260, by = y + 16;
    body += "<rect x=\"" + num(pad) + "\" y=\"" + num(by) + "\" width=\"" + num(bw) +
            "\" height=\"12\" fill=\"url(#scale)\" stroke=\"#888888\" stroke-width=\"0.8\"/>\n";
    double last_end = -1e9;
    for (size_t i = 0; i < sc.at.size(); i++) {
        const double tx = pad + std::min(1.0, std::max(0.0, sc.unit(sc.at[i]))) * bw;
        body += "<line x1=\"" + num(tx) + "\" y1=\"" + num(by + 12) + "\" x2=\"" + num(tx) + "\" y2=\"" + num(by + 16) +
                "\" stroke=\"#222222\"/>\n";
        const double lw = svg_text_w(sc.label[i], 10), lx = std::max(std::max(pad - 4, last_end + 4), tx - lw / 2);
        body += text(lx, by + 26, sc.label[i], 10);
        last_end = lx + lw;
    }
    y = by + 40;
    Legend lg(pad, y, width - 2 * pad);
    std::string hatch_items;
    if (figure_has(f, kCellMasked)) {
        // the Legend helper draws plain boxes; draw the hatched swatch over its box
        hatch_items += "<rect x=\"" + num(lg.x) + "\" y=\"" + num(lg.y - 10) +
                       "\" width=\"12\" height=\"12\" fill=\"url(#masked)\" stroke=\"#888888\" stroke-width=\"0.8\"/>\n";
        lg.item("box", kHatchBg, f.masked_caption);
    }
    if (figure_has(f, kCellBlank) && !f.blank_caption.empty()) lg.item("box", kBlank, f.blank_caption);
    if (figure_has_boundary(f)) lg.item("line", kBoundary, f.boundary_caption);
    if (figure_has_axis(f, true)) lg.item("box", kFam, "orange label: FAM row or key");
    if (figure_has_axis(f, false)) lg.item("box", {214, 39, 40}, "red label: highlighted token");
    body += lg.svg + hatch_items;
    y = lg.y + (lg.svg.empty() ? 0 : 20);
    for (const std::string& l : nl) {
        body += text(pad, y + 4, l, 11, "fill=\"#555555\"");
        y += 16;
    }
    const double height = y + pad;
    return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(width) + "\" height=\"" + num(height) +
           "\" viewBox=\"0 0 " + num(width) + " " + num(height) +
           "\" font-family=\"Helvetica, Arial, sans-serif\" fill=\"#222222\">\n<title>" + xml_escape(f.title) +
           "</title>\n" + kHatchDefs + rect(0, 0, width, height, kEmpty) + body + "</svg>\n";
}

// ---- heatmaps: the quick forms ------------------------------------------------------------------

// A panel of raw values with index labels (or a mask's labels and masked cells).
static HeatFigure quick_figure(const float* values, int rows, int cols, int cell_px, const std::string& title,
                               const Mask* mask, const char* fn) {
    check_heatmap(fn, values, rows, cols, cell_px);
    HeatFigure f;
    f.title = title;
    f.cell_px = cell_px;
    HeatPanel p;
    p.rows = rows;
    p.cols = cols;
    p.v.assign(values, values + (size_t)rows * cols);
    if (mask) {
        Drawn d(*mask, fn);
        if (mask->rows != rows || mask->cols != cols)
            throw std::invalid_argument(std::string(fn) + ": the mask is [" + std::to_string(mask->rows) + ", " +
                                        std::to_string(mask->cols) + "], the values [" + std::to_string(rows) + ", " +
                                        std::to_string(cols) + "]");
        p.row = heat_axis(d.row, "query");
        p.col = heat_axis(d.col, "key");
        p.cell = mask->m;  // 1 = kCellValue, 0 = kCellMasked
        f.scale = "attention weight";
        f.notes.push_back("rows are queries, columns are keys; F<k>.<j> = row j of F_k, the FAM after k blocks");
        f.panels.push_back(p);
        return f;
    }
    p.row.name = "row";
    p.col.name = "column";
    for (int r = 0; r < rows; r++) p.row.label.push_back(std::to_string(r));
    for (int c = 0; c < cols; c++) p.col.label.push_back(std::to_string(c));
    // An attention map (every row in [0, 1] and summing to 1): exact zeros are masked keys.
    bool attention = true;
    for (int r = 0; r < rows && attention; r++) {
        double sum = 0;
        for (int c = 0; c < cols; c++) {
            const float v = values[(size_t)r * cols + c];
            if (!(v >= 0.0f && v <= 1.0f)) attention = false;
            sum += v;
        }
        attention = attention && std::fabs(sum - 1.0) < 1e-3;
    }
    if (attention) {
        p.row.name = "query (row)";
        p.col.name = "key (column)";
        p.cell.assign(p.v.size(), kCellValue);
        for (size_t i = 0; i < p.v.size(); i++)
            if (p.v[i] == 0.0f) p.cell[i] = kCellMasked;
        f.scale = "attention weight";
        f.masked_caption = "masked (weight exactly 0)";
        f.notes.push_back("[" + std::to_string(rows) + ", " + std::to_string(cols) +
                          "]: rows are queries, columns are keys; each row sums to 1");
    } else {
        f.masked_caption = "no value (NaN)";
        f.notes.push_back("[" + std::to_string(rows) + ", " + std::to_string(cols) + "] values");
    }
    f.panels.push_back(p);
    return f;
}

void heatmap_png(const std::string& path, const float* values, int rows, int cols, int cell_px,
                 const std::string& title) {
    HeatFigure f = quick_figure(values, rows, cols, cell_px, title, nullptr, "heatmap_png");
    safe_write_file(path, heatmap_figure_png_bytes(f));
}

std::string heatmap_svg(const float* values, int rows, int cols, int cell_px, const std::string& title,
                        const Mask* mask) {
    return heatmap_figure_svg(quick_figure(values, rows, cols, cell_px, title, mask, "heatmap_svg"));
}

// ---- slides ---------------------------------------------------------------------------------------

static void check_style(const SlideStyle& st, const char* fn) {
    if (st.width < 320 || st.height < 180 || st.width > 8192 || st.height > 8192 || st.title_scale < 1 ||
        st.text_scale < 1 || st.margin < 0 || st.max_cell < 2)
        throw std::invalid_argument(std::string(fn) + ": bad SlideStyle (canvas " + std::to_string(st.width) + " x " +
                                    std::to_string(st.height) + ", title_scale " + std::to_string(st.title_scale) +
                                    ", text_scale " + std::to_string(st.text_scale) + ", max_cell " +
                                    std::to_string(st.max_cell) + ")");
}

// A blank slide recording into *svg; the title (bold, wrapped) and the subtitle (grey,
// wrapped) drawn at the top. *y receives the first free row under them.
static Image slide_canvas(const SlideStyle& st, std::string* svg, const std::string& title, const std::string& subtitle,
                          int* y) {
    Image im(st.width, st.height, kEmpty);
    im.svg = svg;
    const int TS = st.title_scale, S = st.text_scale, M = st.margin, avail = st.width - 2 * M;
    auto wt = [TS](const std::string& t) { return (double)text_w(t, TS) + 2; };
    auto ws = [S](const std::string& t) { return (double)text_w(t, S); };
    int yy = M;
    for (const std::string& l : wrap(title, avail, wt)) {
        draw_bold(im, M, yy, l, TS, kText);
        yy += text_h(TS) + 8;
    }
    if (!subtitle.empty()) {
        yy += 4;
        for (const std::string& l : wrap(subtitle, avail, ws)) {
            draw_text(im, M, yy, l, S, kTextGrey);
            yy += text_h(S) + 6;
        }
    }
    im.fill(M, yy + 2, avail, 3, {200, 200, 200});  // a rule under the header
    *y = yy + 2 + 3 + 14;
    return im;
}

static Slide slide_finish(const Image& im, const std::string& body, const std::string& title, bool png,
                          const char* fn) {
    Slide s;
    s.svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(im.w) + "\" height=\"" + num(im.h) +
            "\" viewBox=\"0 0 " + num(im.w) + " " + num(im.h) +
            "\" font-family=\"Helvetica, Arial, sans-serif\">\n<title>" + xml_escape(title) + "</title>\n" + kHatchDefs +
            body + "</svg>\n";
    if (!png) return s;
    // A slide is 6 MB of mostly flat colour: stb's default (level 8, every filter tried
    // per line) spends ~0.3 s on it; level 2 with the "up" filter takes a fraction of
    // that for files a little larger. (stb's settings are globals: restored at once.)
    const int level = stbi_write_png_compression_level, filter = stbi_write_force_png_filter;
    stbi_write_png_compression_level = 2;
    stbi_write_force_png_filter = 2;
    try {
        s.png = png_encode(im, fn);
    } catch (...) {
        stbi_write_png_compression_level = level, stbi_write_force_png_filter = filter;
        throw;
    }
    stbi_write_png_compression_level = level, stbi_write_force_png_filter = filter;
    return s;
}

// The right-hand column: colour bar (if any), the legend one item per line, the notes
// wrapped to `width`. Draws when im is given; returns its height, *used its widest line.
static int slide_column(Image* im, const PngFigure& fig, int x, int y, int width, int S, int* used) {
    const int th = text_h(S);
    int h = 0, w = 0;
    if (fig.bar) {
        if (im) fig.bar(*im, x, y, width);
        h += fig.bar_h + 8;
        w = std::max(w, fig.bar_w);
    }
    for (const PngLegend::Item& it : fig.legend.items) w = std::max(w, th + 6 + text_w(it.caption, S));
    h += fig.legend.place(im, x, y + h, 1, S);  // width 1: one item per line
    if (!fig.notes.empty()) h += 10;
    auto ws = [S](const std::string& t) { return (double)text_w(t, S); };
    for (const std::string& n : fig.notes)
        for (const std::string& l : wrap(n, width, ws)) {
            if (im) draw_text(*im, x, y + h, l, S, kTextGrey);
            w = std::max(w, text_w(l, S));
            h += th + 6;
        }
    *used = w;
    return h;
}

// The legend block under the grids (the other layout): colour bar, the legend
// flowing left to right, the notes, all within `width`. Returns its height.
static int slide_bottom(Image* im, const PngFigure& fig, int x, int y, int width, int S) {
    const int th = text_h(S);
    int h = 0;
    if (fig.bar) {
        if (im) fig.bar(*im, x, y, width);
        h += fig.bar_h;
    }
    h += fig.legend.place(im, x, y + h, width, S);
    auto ws = [S](const std::string& t) { return (double)text_w(t, S); };
    for (const std::string& n : fig.notes)
        for (const std::string& l : wrap(n, width, ws)) {
            if (im) draw_text(*im, x, y + h, l, S, kTextGrey);
            h += th + 6;
        }
    return h;
}

// Lays fig's grids out on a slide at the largest cell height (<= max_cell, widths in
// the aspect cw0 : ch0) that fits, with the colour bar, legend and notes either in a
// column at the right (preferred: slides are wide) or under the grids, whichever
// allows the larger cells.
static Slide figure_slide(PngFigure& fig, const std::string& title, const std::string& subtitle, const SlideStyle& st,
                          int cw0, int ch0, const char* fn) {
    check_style(st, fn);
    std::string body;
    int y0 = 0;
    Image im = slide_canvas(st, &body, title, subtitle, &y0);
    const int S = st.text_scale, M = st.margin, gap = 14 * S, col_gap = 20 * S;
    const int avail_w = st.width - 2 * M, avail_h = st.height - M - y0;
    const double aspect = cw0 > 0 && ch0 > 0 ? (double)cw0 / ch0 : 1.0;
    int gw = 0, gh = 0;
    auto measure = [&](int ch) {
        const int cw = std::max(1, (int)std::lround(ch * aspect));
        gw = gh = 0;
        for (size_t k = 0; k < fig.grids.size(); k++) {
            PngGrid& g = fig.grids[k];
            g.cw = cw;
            g.ch = ch;
            g.tight = true;
            g.measure(S);
            gw += g.w + (k ? gap : 0);
            gh = std::max(gh, g.h);
        }
    };
    // does cell height ch fit with the legend at the right (side) or under the grids?
    auto fits = [&](int ch, bool side) {
        measure(ch);
        if (!side) return gw <= avail_w && fig.bar_w <= avail_w && gh + 20 + slide_bottom(nullptr, fig, 0, 0, avail_w, S) <= avail_h;
        const int col_w = avail_w - gw - col_gap;
        if (gh > avail_h || col_w < 12 * text_h(S)) return false;  // the column needs room for a few words per line
        int used = 0;
        return slide_column(nullptr, fig, 0, 0, col_w, S, &used) <= avail_h && used <= col_w;
    };
    int best_side = 0, best_below = 0;
    for (int ch = st.max_cell; ch >= 2 && !best_side; ch--)
        if (fits(ch, true)) best_side = ch;
    for (int ch = st.max_cell; ch > best_side && !best_below; ch--)
        if (fits(ch, false)) best_below = ch;
    if (!best_side && !best_below)
        throw std::invalid_argument(std::string(fn) + ": '" + title + "' does not fit on a " + std::to_string(st.width) +
                                    " x " + std::to_string(st.height) + " slide at text_scale " + std::to_string(S) +
                                    " even with 2-px cells");
    const bool side = best_side >= best_below;
    measure(side ? best_side : best_below);
    if (side) {
        // centre [grids | column] across, and the taller of the two in the space below the header
        const int col_w = avail_w - gw - col_gap;
        int used = 0;
        const int col_h = slide_column(nullptr, fig, 0, 0, col_w, S, &used);
        const int x = M + (avail_w - (gw + col_gap + used)) / 2, y = y0 + (avail_h - std::max(gh, col_h)) / 2;
        int gx = x;
        for (const PngGrid& g : fig.grids) {
            g.draw(im, gx, y);  // top-aligned: grids side by side compare row by row
            gx += g.w + gap;
        }
        slide_column(&im, fig, x + gw + col_gap, y + std::max(0, (gh - col_h) / 2), col_w, S, &used);
    } else {
        // grids centred across, the legend block under them, both centred in the height
        const int bh = slide_bottom(nullptr, fig, 0, 0, avail_w, S);
        const int y = y0 + (avail_h - (gh + 20 + bh)) / 2;
        int gx = M + (avail_w - gw) / 2;
        for (const PngGrid& g : fig.grids) {
            g.draw(im, gx, y);  // top-aligned: grids side by side compare row by row
            gx += g.w + gap;
        }
        slide_bottom(&im, fig, M, y + gh + 20, avail_w, S);
    }
    return slide_finish(im, body, title, st.png, fn);
}

Slide mask_slide(const std::vector<Mask>& masks, const std::string& title, const std::string& subtitle,
                 const SlideStyle& st) {
    const char* fn = "mask_slide";
    if (masks.empty()) throw std::invalid_argument(std::string(fn) + ": no masks");
    std::vector<std::unique_ptr<Drawn>> drawn;  // the grids' painters read them
    PngFigure fig;
    for (const Mask& mk : masks) {
        drawn.emplace_back(new Drawn(mk, fn));
        PngFigure one = mask_png_figure(*drawn.back(), 1);
        PngGrid g = one.grids[0];
        if (masks.size() > 1) g.title = mk.title;
        fig.grids.push_back(g);
        // the legend and notes of all masks, each entry once
        for (const PngLegend::Item& it : one.legend.items) {
            bool seen = false;
            for (const PngLegend::Item& o : fig.legend.items) seen = seen || o.caption == it.caption;
            if (!seen) fig.legend.items.push_back(it);
        }
        for (const std::string& n : one.notes)
            if (std::find(fig.notes.begin(), fig.notes.end(), n) == fig.notes.end()) fig.notes.push_back(n);
    }
    return figure_slide(fig, title, masks.size() == 1 && subtitle.empty() ? masks[0].title : subtitle, st, 1, 1, fn);
}

Slide heatmap_figure_slide(const HeatFigure& f, const std::string& title, const SlideStyle& st) {
    const char* fn = "heatmap_figure_slide";
    const Scale sc = figure_scale(f, fn);
    PngFigure fig = heat_png_figure(f, sc, st.text_scale, 1, 1);
    const int cw0 = f.cell_px > 0 ? f.cell_px : 1, ch0 = f.row_px > 0 ? f.row_px : cw0;
    return figure_slide(fig, title, f.title, st, cw0, ch0, fn);
}

// Dark2 (colorbrewer), the palette of tools/passkey_report's plot.
static const Rgb kSeries[] = {{217, 95, 2},   {27, 158, 119}, {117, 112, 179}, {231, 41, 138},
                              {102, 166, 30}, {230, 171, 2},  {166, 118, 29}};

Slide line_plot_slide(const LinePlot& p, const SlideStyle& st) {
    const char* fn = "line_plot_slide";
    check_style(st, fn);
    if (p.series.empty()) throw std::invalid_argument(std::string(fn) + ": '" + p.title + "' has no series");
    double xlo = p.x_lo, xhi = p.x_hi;
    auto tx = [&p](double x) { return p.log2_x ? std::log2(std::max(1.0, x)) : x; };
    if (xlo >= xhi) {
        xlo = 1e300, xhi = -1e300;
        for (const PlotSeries& s : p.series) {
            if (s.x.size() != s.y.size())
                throw std::invalid_argument(std::string(fn) + ": series '" + s.name + "' has " +
                                            std::to_string(s.x.size()) + " x and " + std::to_string(s.y.size()) + " y");
            for (double x : s.x) xlo = std::min(xlo, x), xhi = std::max(xhi, x);
        }
        if (xlo >= xhi) xhi = xlo + 1;
    }
    const double ux0 = tx(xlo), ux1 = tx(xhi) > tx(xlo) ? tx(xhi) : tx(xlo) + 1;
    if (!(p.y_hi > p.y_lo)) throw std::invalid_argument(std::string(fn) + ": y range must have y_lo < y_hi");

    std::string body;
    int y0 = 0;
    Image im = slide_canvas(st, &body, p.title, p.subtitle, &y0);
    const int S = st.text_scale, M = st.margin, th = text_h(S);
    auto fmt = [](double v) {
        char b[32];
        std::snprintf(b, sizeof b, "%g", v);
        return std::string(b);
    };
    // the legend column: one line per series, then the notes
    int col_w = 0;
    for (const PlotSeries& s : p.series) col_w = std::max(col_w, 16 * S + 10 + text_w(s.name, S));
    for (const PlotMarker& m : p.markers) col_w = std::max(col_w, 16 * S + 10 + text_w(m.label, S));
    col_w = std::max(col_w, st.width / 4);
    auto ws = [S](const std::string& t) { return (double)text_w(t, S); };
    std::vector<std::string> notes;
    for (const std::string& n : p.notes)
        for (const std::string& l : wrap(n, col_w, ws)) notes.push_back(l);
    for (const std::string& l : notes) col_w = std::max(col_w, text_w(l, S));
    // the plot box: room for the y name and tick labels at its left, x ticks and name under it
    int ylab = 0;
    for (size_t i = 0; i < p.y_ticks.size(); i++)
        ylab = std::max(ylab, text_w(i < p.y_tick_labels.size() ? p.y_tick_labels[i] : fmt(p.y_ticks[i]), S));
    const int bx = M + th + 12 + ylab + 10, by = y0 + 10;
    const int bw = st.width - M - col_w - 20 * S - bx, bh = st.height - M - 2 * (th + 12) - by;
    if (bw < 200 || bh < 150) throw std::invalid_argument(std::string(fn) + ": '" + p.title + "' leaves no room for the plot");
    auto X = [&](double x) { return bx + (tx(x) - ux0) / (ux1 - ux0) * bw; };
    auto Y = [&](double y) { return by + (1 - (y - p.y_lo) / (p.y_hi - p.y_lo)) * bh; };
    const Rgb grid = {221, 221, 221};
    for (size_t i = 0; i < p.y_ticks.size(); i++) {
        const double yy = Y(p.y_ticks[i]);
        im.line(bx, yy, bx + bw, yy, 1, grid);
        const std::string l = i < p.y_tick_labels.size() ? p.y_tick_labels[i] : fmt(p.y_ticks[i]);
        draw_text(im, bx - 10 - text_w(l, S), (int)std::lround(yy) - 7 * S / 2, l, S, kText);
    }
    int last_end = -(1 << 20);
    for (size_t i = 0; i < p.x_ticks.size(); i++) {
        const double xx = X(p.x_ticks[i]);
        im.line(xx, by, xx, by + bh, 1, grid);
        const std::string l = i < p.x_tick_labels.size() ? p.x_tick_labels[i] : fmt(p.x_ticks[i]);
        const int lw = text_w(l, S), lx = (int)std::lround(xx) - lw / 2;
        if (lx <= last_end + 2 * S) continue;  // no overlapping tick labels
        draw_text(im, lx, by + bh + 10, l, S, kText);
        last_end = lx + lw;
    }
    draw_text(im, bx + (bw - text_w(p.x_name, S)) / 2, by + bh + th + 22, p.x_name, S, kTextGrey);
    draw_text(im, M, by + (bh + text_w(p.y_name, S)) / 2, p.y_name, S, kTextGrey, true);
    im.frame(bx, by, bw + 1, bh + 1, kText);
    for (size_t k = 0; k < p.markers.size(); k++) {
        const PlotMarker& m = p.markers[k];
        const Rgb c = kSeries[(size_t)std::max(0, m.series) % 7];
        const double xx = X(m.x);
        im.line(xx, by, xx, by + bh, 2, c, 8);  // its label goes in the legend column
    }
    for (size_t k = 0; k < p.series.size(); k++) {
        const PlotSeries& s = p.series[k];
        const Rgb c = kSeries[k % 7];
        for (size_t i = 1; i < s.x.size(); i++) im.line(X(s.x[i - 1]), Y(s.y[i - 1]), X(s.x[i]), Y(s.y[i]), s.width, c);
        for (size_t i = 0; i < s.x.size(); i++) im.disc(X(s.x[i]), Y(s.y[i]), s.width + 2, c);
    }
    // the legend column
    const int cx = st.width - M - col_w;
    int cy = by;
    for (size_t k = 0; k < p.series.size(); k++) {
        const Rgb c = kSeries[k % 7];
        im.line(cx, cy + 7 * S / 2, cx + 16 * S, cy + 7 * S / 2, p.series[k].width, c);
        im.disc(cx + 8 * S, cy + 7 * S / 2, p.series[k].width + 2, c);
        draw_text(im, cx + 16 * S + 10, cy, p.series[k].name, S, kText);
        cy += th + 10;
    }
    for (const PlotMarker& m : p.markers) {
        const Rgb c = kSeries[(size_t)std::max(0, m.series) % 7];
        im.line(cx + 8 * S, cy - 2, cx + 8 * S, cy + th - 4, 2, c, 6);
        draw_text(im, cx + 16 * S + 10, cy, m.label, S, c);
        cy += th + 10;
    }
    cy += 10;
    for (const std::string& l : notes) {
        draw_text(im, cx, cy, l, S, kTextGrey);
        cy += th + 6;
    }
    if (cy > st.height - M / 2)
        throw std::invalid_argument(std::string(fn) + ": the legend and notes of '" + p.title + "' do not fit");
    return slide_finish(im, body, p.title, st.png, fn);
}
