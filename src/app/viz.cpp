// viz.cpp: see viz.h. Paper Fig. 4 (attention over time, §B.3), Fig. 11 (attention
// maps with the FAM prepended) and the FAM as working memory over time (§2.2).
//
// Layout of this file: recording (the observer), analysis (plain arrays, the
// numbers every picture draws), then drawing: PNG through render.h's
// heatmap_png, SVG and HTML written here by hand (text, labels, a slider).
#include "app/viz.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "app/npy.h"
#include "app/render.h"

static const float kNaN = std::numeric_limits<float>::quiet_NaN();

// ---- recording --------------------------------------------------------------------------

BlockObserver VizRecorder::observer() {
    BlockObserver o;
    o.on_block = &VizRecorder::record;
    o.user = this;
    return o;
}

// Called by fam_layer_forward once per (layer, block), after the block's attention
// and FAM update: copy what the pictures need (the cache is reused afterwards).
void VizRecorder::record(void* user, int layer, const BlockCache& b, const Mask& mask) {
    VizRecorder* rec = static_cast<VizRecorder*>(user);
    const int H = rec->H, len = b.len, C = b.C, R = mask.rows;  // R = len (+ F if b.update)
    if (b.P.size() < (size_t)H * len * C)
        throw std::logic_error("VizRecorder: BlockCache::P holds " + std::to_string(b.P.size()) +
                               " floats, expected H*len*C = " + std::to_string((size_t)H * len * C) +
                               " (is VizRecorder::H the model's H?)");
    VizBlock v;
    v.layer = layer;
    v.tau = b.tau;
    v.len = len;
    v.update = b.update;
    v.R = R;
    v.C = C;
    // One picture of the block view: rows [len block rows; F FAM rows], columns
    // [M*B memory | F FAM | B block]. The block rows' weights are b.P [H, len, C];
    // the FAM rows' come from the FAM update, b.upd.P [H, F, F+B] over [F FAM | B
    // block], and are 0 on the memory columns they never see.
    v.P.assign((size_t)H * R * C, 0.0f);
    for (int h = 0; h < H; h++) {
        std::copy(b.P.begin() + (size_t)h * len * C, b.P.begin() + (size_t)(h + 1) * len * C,
                  v.P.begin() + (size_t)h * R * C);
        if (!b.update) continue;
        const int F = b.upd.F, W = F + b.upd.B, fam_col = C - W;
        for (int j = 0; j < F; j++)
            std::copy(b.upd.P.begin() + ((size_t)h * F + j) * W, b.upd.P.begin() + ((size_t)h * F + j + 1) * W,
                      v.P.begin() + ((size_t)h * R + len + j) * C + fam_col);
    }
    v.fam_next = b.fam_out;  // F_{tau+1}, the FAM leaving the block
    v.mask = mask;
    rec->blocks.push_back(std::move(v));
}

VizRun viz_run(const ModelWeights& w, const std::vector<int>& tokens, const std::vector<std::string>& words,
               const std::string& name) {
    const FamConfig& cfg = w.cfg;
    const int T = (int)tokens.size();
    if (T == 0) throw std::invalid_argument("viz_run: the token sequence is empty");
    if (!words.empty() && (int)words.size() != T)
        throw std::invalid_argument("viz_run: " + std::to_string(words.size()) + " words for " +
                                    std::to_string(T) + " tokens");
    VizRecorder rec(cfg.H);
    BlockObserver obs = rec.observer();
    ForwardOptions opt;
    opt.observer = &obs;
    ModelCache c;
    model_forward(c, w, tokens.data(), T, opt);

    VizRun r;
    r.cfg = cfg;
    r.name = name.empty() ? attention_name(cfg.attention) : name;
    r.T = T;
    r.N = cfg.N;
    r.H = cfg.H;
    r.D = cfg.D;
    r.B = c.plan.B;
    r.M = c.plan.M;
    r.F = c.plan.F;
    r.nblocks = c.plan.nblocks;
    r.ncomplete = T / r.B;
    r.tokens = tokens;
    r.words = words;
    if (r.words.empty())
        for (int t : tokens) r.words.push_back(std::to_string(t));
    r.logits = c.logits;
    r.fam_init = c.fam_init;
    r.blocks.assign(r.N, std::vector<VizBlock>(r.nblocks));
    std::vector<std::vector<int>> seen(r.N, std::vector<int>(r.nblocks, 0));
    for (VizBlock& b : rec.blocks) {
        if (b.layer < 0 || b.layer >= r.N || b.tau < 0 || b.tau >= r.nblocks)
            throw std::logic_error("viz_run: observer reported layer " + std::to_string(b.layer) + " block " +
                                   std::to_string(b.tau));
        seen[b.layer][b.tau]++;
        b.fam_next.resize((size_t)r.F * r.D);  // F_{tau+1}: [F, D] (the reused buffer never shrinks)
        r.blocks[b.layer][b.tau] = std::move(b);
    }
    for (int l = 0; l < r.N; l++)
        for (int tau = 0; tau < r.nblocks; tau++)
            if (seen[l][tau] != 1)
                throw std::logic_error("viz_run: layer " + std::to_string(l) + " block " + std::to_string(tau) +
                                       " was observed " + std::to_string(seen[l][tau]) + " times");
    return r;
}

// ---- the timeline -------------------------------------------------------------------------

Timeline make_timeline(int T, int B, int M, int F) {
    if (T < 1 || B < 1 || M < 0 || F < 0)
        throw std::invalid_argument("make_timeline: need T >= 1, B >= 1, M >= 0, F >= 0");
    Timeline tl;
    tl.T = T;
    tl.B = B;
    tl.M = M;
    tl.F = F;
    tl.nblocks = (T + B - 1) / B;
    tl.ncomplete = T / B;
    tl.fam_start.resize(tl.ncomplete + 1);
    tl.block_start.resize(tl.nblocks);
    // the same walk as fam_timeline_mask (src/masks.cpp): F_k, then block k
    int i = 0;
    for (int k = 0; k <= tl.nblocks; k++) {
        if (k <= tl.ncomplete) {
            tl.fam_start[k] = i;
            i += F;
        }
        if (k < tl.nblocks) {
            tl.block_start[k] = i;
            i += std::min(B, T - k * B);
        }
    }
    tl.n = i;
    return tl;
}

Timeline make_timeline(const VizRun& r) { return make_timeline(r.T, r.B, r.M, r.F); }

// Timeline index of row i of block tau's attention (block rows, then FAM rows).
static int row_index(const Timeline& tl, const VizBlock& b, int i) {
    return i < b.len ? tl.token_index(b.tau * tl.B + i) : tl.fam_index(b.tau + 1, i - b.len);
}
// Timeline index of key column c of block tau ([M*B memory | F FAM | B block]); -1 if absent.
static int col_index(const Timeline& tl, const VizBlock& b, int c) {
    const int B = tl.B, M = tl.M, F = tl.F;
    if (c < M * B) {
        int blk = b.tau - M + c / B;  // memory block in column group c / B
        return blk < 0 ? -1 : tl.token_index(blk * B + c % B);
    }
    if (c < M * B + F) return tl.fam_index(b.tau, c - M * B);
    int s = c - M * B - F;
    return s < b.len ? tl.token_index(b.tau * B + s) : -1;
}

// Weight of (row i, key c) of block b, one head or the mean of all heads.
static float weight(const VizBlock& b, int H, int head, int i, int c) {
    if (head >= 0) return b.P[((size_t)head * b.R + i) * b.C + c];
    double s = 0;
    for (int h = 0; h < H; h++) s += b.P[((size_t)h * b.R + i) * b.C + c];
    return (float)(s / H);
}

std::vector<float> timeline_attention(const VizRun& r, int layer, int head) {
    if (layer < 0 || layer >= r.N) throw std::invalid_argument("timeline_attention: no layer " + std::to_string(layer));
    if (head >= r.H) throw std::invalid_argument("timeline_attention: no head " + std::to_string(head));
    const Timeline tl = make_timeline(r);
    std::vector<float> out((size_t)tl.n * tl.n, 0.0f);
    for (const VizBlock& b : r.blocks[layer])
        for (int i = 0; i < b.R; i++) {
            const int row = row_index(tl, b, i);
            for (int c = 0; c < b.C; c++) {
                if (!b.mask.at(i, c)) continue;  // masked: weight 0, and the key may not exist
                const int col = col_index(tl, b, c);
                if (col >= 0) out[(size_t)row * tl.n + col] = weight(b, r.H, head, i, c);
            }
        }
    return out;
}

// ---- working memory --------------------------------------------------------------------------

std::vector<float> fam_states(const VizRun& r) {
    const size_t FD = (size_t)r.F * r.D;
    std::vector<float> s((size_t)r.N * (r.nblocks + 1) * FD, 0.0f);
    if (FD == 0) return s;  // no FAM (bswa, full)
    for (int l = 0; l < r.N; l++) {
        float* base = &s[(size_t)l * (r.nblocks + 1) * FD];
        std::copy(r.fam_init.begin() + l * FD, r.fam_init.begin() + (l + 1) * FD, base);
        for (int tau = 0; tau < r.nblocks; tau++)
            std::copy(r.blocks[l][tau].fam_next.begin(), r.blocks[l][tau].fam_next.end(), base + (tau + 1) * FD);
    }
    return s;
}

std::vector<float> fam_change(const VizRun& r) {
    const std::vector<float> s = fam_states(r);
    const int F = r.F, D = r.D;
    std::vector<float> d((size_t)r.N * r.nblocks * F, 0.0f);
    if (F == 0) return d;
    for (int l = 0; l < r.N; l++)
        for (int tau = 0; tau < r.nblocks; tau++)
            for (int j = 0; j < F; j++) {
                const float* a = &s[(((size_t)l * (r.nblocks + 1) + tau) * F + j) * D];
                const float* b = a + (size_t)F * D;  // the same row one block later
                double sum = 0;
                for (int k = 0; k < D; k++) sum += (double)(b[k] - a[k]) * (b[k] - a[k]);
                d[((size_t)l * r.nblocks + tau) * F + j] = (float)std::sqrt(sum);
            }
    return d;
}

std::vector<float> fam_write(const VizRun& r) {
    std::vector<float> w((size_t)r.N * r.T, kNaN);
    const int MB = r.M * r.B, F = r.F;
    for (int l = 0; l < r.N; l++)
        for (const VizBlock& b : r.blocks[l]) {
            if (!b.update) continue;  // a partial block: no FAM update read its tokens
            for (int s = 0; s < b.len; s++) {
                double sum = 0;
                for (int j = 0; j < F; j++) sum += weight(b, r.H, -1, b.len + j, MB + F + s);
                w[(size_t)l * r.T + b.tau * r.B + s] = (float)(sum / F);
            }
        }
    return w;
}

std::vector<float> fam_read(const VizRun& r) {
    std::vector<float> rd((size_t)r.N * r.T, 0.0f);
    const int MB = r.M * r.B, F = r.F;
    for (int l = 0; l < r.N; l++)
        for (const VizBlock& b : r.blocks[l])
            for (int i = 0; i < b.len; i++) {
                double sum = 0;
                for (int j = 0; j < F; j++) sum += weight(b, r.H, -1, i, MB + j);
                rd[(size_t)l * r.T + b.tau * r.B + i] = (float)sum;
            }
    return rd;
}

std::vector<float> fam_keep(const VizRun& r) {
    std::vector<float> k((size_t)r.N * r.nblocks, kNaN);
    const int MB = r.M * r.B, F = r.F;
    for (int l = 0; l < r.N; l++)
        for (const VizBlock& b : r.blocks[l]) {
            if (!b.update) continue;
            double sum = 0;
            for (int j = 0; j < F; j++)
                for (int jj = 0; jj < F; jj++) sum += weight(b, r.H, -1, b.len + j, MB + jj);
            k[(size_t)l * r.nblocks + b.tau] = (float)(sum / F);
        }
    return k;
}

FocusStats focus_stats(const VizRun& r, int layer, const std::vector<int>& positions,
                       const std::vector<int>& queries) {
    if (layer < 0 || layer >= r.N) throw std::invalid_argument("focus_stats: no layer " + std::to_string(layer));
    const std::vector<float> w = fam_write(r), rd = fam_read(r);
    std::vector<char> on(r.T, 0), q(r.T, 0), blk(r.nblocks, 0);
    for (int p : positions)
        if (p >= 0 && p < r.T) on[p] = 1, blk[p / r.B] = 1;
    for (int p : queries)
        if (p >= 0 && p < r.T) q[p] = 1;
    FocusStats s;
    s.layer = layer;
    double a = 0, b = 0, c = 0, d = 0;
    int na = 0, nb = 0, nc = 0, nd = 0;
    for (int t = 0; t < r.T; t++) {
        float x = w[(size_t)layer * r.T + t];
        if (std::isfinite(x) && blk[t / r.B]) {
            if (on[t]) a += x, na++;
            else b += x, nb++;
        }
        float y = rd[(size_t)layer * r.T + t];
        if (q[t]) c += y, nc++;
        else d += y, nd++;
    }
    s.write_on = na ? (float)(a / na) : kNaN;
    s.write_off = nb ? (float)(b / nb) : kNaN;
    s.read_on = nc ? (float)(c / nc) : kNaN;
    s.read_off = nd ? (float)(d / nd) : kNaN;
    return s;
}

std::string memory_write_ascii(const VizRun& r, int layer, int top) {
    if (layer < 0 || layer >= r.N) throw std::invalid_argument("memory_write_ascii: no layer " + std::to_string(layer));
    const std::vector<float> w = fam_write(r), dF = fam_change(r), keep = fam_keep(r);
    std::string out;
    char buf[256];
    for (int tau = 0; tau < r.nblocks; tau++) {
        const VizBlock& b = r.blocks[layer][tau];
        double change = 0;
        for (int j = 0; j < r.F; j++) change += (double)dF[((size_t)layer * r.nblocks + tau) * r.F + j] * dF[((size_t)layer * r.nblocks + tau) * r.F + j];
        std::snprintf(buf, sizeof buf, "layer %d  block %2d (t %3d..%3d)", layer, tau, tau * r.B, tau * r.B + b.len - 1);
        out += buf;
        if (!b.update) {
            out += "  no FAM update (partial block or F = 0)\n";
            continue;
        }
        std::snprintf(buf, sizeof buf, "  |dF| %5.2f  kept %.2f  wrote:", std::sqrt(change),
                      keep[(size_t)layer * r.nblocks + tau]);
        out += buf;
        std::vector<int> idx(b.len);
        for (int s = 0; s < b.len; s++) idx[s] = s;
        const float* wl = &w[(size_t)layer * r.T + tau * r.B];
        std::stable_sort(idx.begin(), idx.end(), [&](int x, int y) { return wl[x] > wl[y]; });
        for (int i = 0; i < std::min(top, b.len); i++) {
            std::snprintf(buf, sizeof buf, "%s %s %.2f", i ? " |" : "", r.words[tau * r.B + idx[i]].c_str(), wl[idx[i]]);
            out += buf;
        }
        out += "\n";
    }
    return out;
}

// ---- small helpers: files, text, colours ---------------------------------------------------

void make_dirs(const std::string& dir) {
    if (dir.empty()) throw std::invalid_argument("make_dirs: empty directory name");
    std::string path;
    std::stringstream ss(dir);
    std::string part;
    if (dir[0] == '/') path = "/";
    while (std::getline(ss, part, '/')) {
        if (part.empty()) continue;
        path += part + "/";
        if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
            throw std::runtime_error(dir + ": cannot create directory");
    }
}

std::string base64(const std::string& in) {
    static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
        out += tbl[v >> 18 & 63];
        out += tbl[v >> 12 & 63];
        out += tbl[v >> 6 & 63];
        out += tbl[v & 63];
    }
    if (i + 1 == in.size()) {
        unsigned v = (unsigned char)in[i] << 16;
        out += tbl[v >> 18 & 63];
        out += tbl[v >> 12 & 63];
        out += "==";
    } else if (i + 2 == in.size()) {
        unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
        out += tbl[v >> 18 & 63];
        out += tbl[v >> 12 & 63];
        out += tbl[v >> 6 & 63];
        out += '=';
    }
    return out;
}

static std::string num(double v, int prec = 2) {
    char b[32];
    std::snprintf(b, sizeof b, "%.*f", prec, v);
    return b;
}

// The colour ramp of render.cpp's heatmaps: white -> light blue -> blue -> dark navy.
static std::string ramp_hex(double v) {
    static const double stop[4] = {0.0, 0.35, 0.7, 1.0};
    static const int col[4][3] = {{255, 255, 255}, {166, 199, 232}, {62, 118, 184}, {12, 39, 84}};
    if (!std::isfinite(v)) return "#bebebe";
    v = std::min(1.0, std::max(0.0, v));
    int i = v < stop[1] ? 0 : v < stop[2] ? 1 : 2;
    double a = (v - stop[i]) / (stop[i + 1] - stop[i]);
    char b[8];
    std::snprintf(b, sizeof b, "#%02x%02x%02x", (int)std::lround(col[i][0] + a * (col[i + 1][0] - col[i][0])),
                  (int)std::lround(col[i][1] + a * (col[i + 1][1] - col[i][1])),
                  (int)std::lround(col[i][2] + a * (col[i + 1][2] - col[i][2])));
    return b;
}

static const char* kFamColour = "#d9731c";   // FAM labels and bars (orange, as in src/render.cpp)
static const char* kMarkColour = "#d62728";  // highlighted tokens (e.g. the pass key)

// The hatch of masked cells (the same as render.cpp's): defined once per <svg>; a
// page with several inline SVGs gets identical copies, any of which serves.
static const char* kMaskedPattern =
    "<defs><pattern id=\"masked\" width=\"5\" height=\"5\" patternUnits=\"userSpaceOnUse\" "
    "patternTransform=\"rotate(45)\"><rect width=\"5\" height=\"5\" fill=\"#dedede\"/>"
    "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"5\" stroke=\"#969696\" stroke-width=\"1.4\"/></pattern></defs>\n";

static std::string svg_open(double w, double h, bool standalone) {
    std::string s = "<svg ";
    if (standalone) s += "xmlns=\"http://www.w3.org/2000/svg\" ";
    return s + "width=\"" + num(w, 0) + "\" height=\"" + num(h, 0) + "\" viewBox=\"0 0 " + num(w, 0) + " " +
           num(h, 0) + "\" font-family=\"Helvetica, Arial, sans-serif\">\n" + kMaskedPattern +
           "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
}
static std::string svg_text(double x, double y, const std::string& t, double size, const std::string& extra = "") {
    return "<text x=\"" + num(x, 1) + "\" y=\"" + num(y, 1) + "\" font-size=\"" + num(size, 1) + "\" " + extra + ">" +
           xml_escape(t) + "</text>\n";
}

// ---- a labelled heatmap panel (SVG) ----------------------------------------------------------

// One axis of a panel: labels, group (a line is drawn where it changes), FAM and
// highlight flags per entry.
struct Axis {
    std::vector<std::string> label;
    std::vector<int> group;
    std::vector<char> fam, mark;
    void push(const std::string& l, int g, bool f, bool m) {
        label.push_back(l);
        group.push_back(g);
        fam.push_back(f);
        mark.push_back(m);
    }
    bool boundary(int i) const { return i > 0 && (group[i] != group[i - 1] || fam[i] != fam[i - 1]); }
    size_t size() const { return label.size(); }
};

struct Panel {
    const float* v = nullptr;          // [rows, cols]
    const uint8_t* allowed = nullptr;  // [rows, cols] or null (all); 0 = masked (hatched)
    Axis row, col;
    double cell = 8;                   // cell height (and width unless cell_w > 0)
    double cell_w = 0;                 // cell width (0: cell)
    double hi = 0;                     // colour scale 0..hi (hi <= 0: the panel's max)
    bool labels = true;
    bool values = false;               // print the numbers inside cells
    std::string title;
};

// A number short enough for a table cell: 3 significant digits, no exponent below 1000.
static std::string cell_num(double v) {
    char b[32];
    if (!std::isfinite(v)) return "-";
    if (std::fabs(v) >= 100) std::snprintf(b, sizeof b, "%.0f", v);
    else if (std::fabs(v) >= 10) std::snprintf(b, sizeof b, "%.1f", v);
    else std::snprintf(b, sizeof b, "%.2f", v);
    return b;
}
// The width a panel's cells need so that their numbers fit at font size fs.
static double value_cell_w(const float* v, size_t n, double fs) {
    size_t chars = 1;
    for (size_t i = 0; i < n; i++) chars = std::max(chars, cell_num(v[i]).size());
    return chars * fs * 0.62 + 8;
}

// Draws the panel with its top-left corner at (x, y); *w and *h receive its size.
static std::string panel_svg(const Panel& p, double x, double y, double* w, double* h) {
    const int rows = (int)p.row.size(), cols = (int)p.col.size();
    double hi = p.hi;
    if (hi <= 0)
        for (size_t i = 0; i < (size_t)rows * cols; i++)
            if (std::isfinite(p.v[i]) && (!p.allowed || p.allowed[i])) hi = std::max(hi, (double)p.v[i]);
    if (hi <= 0) hi = 1;
    const double cw = p.cell_w > 0 ? p.cell_w : p.cell, ch = p.cell;
    const bool labels = p.labels && ch >= 6;
    const double fs = std::min(11.0, ch * 0.85);
    size_t lr = 0, lc = 0;
    if (labels) {
        for (auto& s : p.row.label) lr = std::max(lr, s.size());
        for (auto& s : p.col.label) lc = std::max(lc, s.size());
    }
    const double title_h = p.title.empty() ? 0 : 16;
    const double lw = labels ? lr * fs * 0.62 + 6 : 0, lh = labels ? lc * fs * 0.62 + 6 : 0;
    const double gx = x + lw, gy = y + title_h + lh, gw = cols * cw, gh = rows * ch;
    std::string s;
    if (!p.title.empty()) s += svg_text(x, y + 12, p.title, 12, "font-weight=\"bold\"");
    // masked cells: the hatch under everything; allowed cells are painted over it, one
    // white rect per run of them in a row, then one rect per cell whose colour is not
    // (nearly) white; keeps large panels small
    s += "<rect x=\"" + num(gx, 1) + "\" y=\"" + num(gy, 1) + "\" width=\"" + num(gw, 1) + "\" height=\"" + num(gh, 1) +
         "\" fill=\"url(#masked)\"/>\n";
    auto ok = [&](size_t k) { return !p.allowed || p.allowed[k]; };
    for (int i = 0; i < rows; i++)
        for (int c = 0; c < cols;) {
            if (!ok((size_t)i * cols + c)) {
                c++;
                continue;
            }
            int e = c;
            while (e < cols && ok((size_t)i * cols + e)) e++;
            s += "<rect x=\"" + num(gx + c * cw, 1) + "\" y=\"" + num(gy + i * ch, 1) + "\" width=\"" +
                 num((e - c) * cw, 1) + "\" height=\"" + num(ch, 1) + "\" fill=\"#ffffff\"/>\n";
            c = e;
        }
    const double vfs = std::min(11.0, ch * 0.42);
    for (int i = 0; i < rows; i++)
        for (int c = 0; c < cols; c++) {
            const size_t k = (size_t)i * cols + c;
            if (!ok(k)) continue;
            const double val = p.v[k];
            if (std::isfinite(val) && val / hi < 0.01 && !p.values) continue;  // white already
            s += "<rect x=\"" + num(gx + c * cw, 1) + "\" y=\"" + num(gy + i * ch, 1) + "\" width=\"" +
                 num(cw, 1) + "\" height=\"" + num(ch, 1) + "\" fill=\"" +
                 (std::isfinite(val) ? ramp_hex(val / hi) : std::string("url(#masked)")) + "\"/>\n";
            if (p.values && ch >= 16)
                s += svg_text(gx + (c + 0.5) * cw, gy + (i + 0.5) * ch + vfs * 0.35, cell_num(val), vfs,
                              std::string("text-anchor=\"middle\" fill=\"") + (val / hi > 0.6 ? "#ffffff" : "#222222") + "\"");
        }
    for (int i = 1; i < rows; i++)
        if (p.row.boundary(i))
            s += "<line x1=\"" + num(gx, 1) + "\" y1=\"" + num(gy + i * ch, 1) + "\" x2=\"" + num(gx + gw, 1) +
                 "\" y2=\"" + num(gy + i * ch, 1) + "\" stroke=\"#333333\" stroke-width=\"1\"/>\n";
    for (int c = 1; c < cols; c++)
        if (p.col.boundary(c))
            s += "<line x1=\"" + num(gx + c * cw, 1) + "\" y1=\"" + num(gy, 1) + "\" x2=\"" + num(gx + c * cw, 1) +
                 "\" y2=\"" + num(gy + gh, 1) + "\" stroke=\"#333333\" stroke-width=\"1\"/>\n";
    s += "<rect x=\"" + num(gx, 1) + "\" y=\"" + num(gy, 1) + "\" width=\"" + num(gw, 1) + "\" height=\"" + num(gh, 1) +
         "\" fill=\"none\" stroke=\"#222222\"/>\n";
    if (labels) {
        auto colour = [](const Axis& a, int i) {
            return std::string("fill=\"") + (a.mark[i] ? kMarkColour : a.fam[i] ? kFamColour : "#333333") + "\"" +
                   (a.mark[i] ? " font-weight=\"bold\"" : "");
        };
        for (int i = 0; i < rows; i++)
            s += svg_text(gx - 3, gy + (i + 0.75) * ch, p.row.label[i], fs, "text-anchor=\"end\" " + colour(p.row, i));
        for (int c = 0; c < cols; c++) {
            double cx = gx + c * cw + cw / 2 + fs * 0.3, cy = gy - 3;
            s += svg_text(cx, cy, p.col.label[c], fs,
                          "transform=\"rotate(-90 " + num(cx, 1) + " " + num(cy, 1) + ")\" " + colour(p.col, c));
        }
    }
    *w = lw + gw;
    *h = title_h + lh + gh;
    return s;
}

// The legend under a panel picture: a colour bar from 0 to `hi` (labelled in the
// picture's own units; sqrt_scale: colour = sqrt(value / hi), ticks at weights), a
// hatched swatch captioned `masked` (empty: none), the label colours. Returns its height in *h.
static std::string legend_svg(double x, double y, double hi, const std::string& caption, bool sqrt_scale,
                              const std::string& masked, bool fam, bool marks, double* h) {
    std::string s = svg_text(x, y + 11, "colour: " + caption, 11);
    const double bw = 240, by = y + 16;
    s += "<defs><linearGradient id=\"rampbar\" x1=\"0\" y1=\"0\" x2=\"1\" y2=\"0\">";
    for (int i = 0; i <= 10; i++) s += "<stop offset=\"" + num(i / 10.0, 1) + "\" stop-color=\"" + ramp_hex(i / 10.0) + "\"/>";
    s += "</linearGradient></defs>\n<rect x=\"" + num(x, 1) + "\" y=\"" + num(by, 1) + "\" width=\"" + num(bw, 1) +
         "\" height=\"12\" fill=\"url(#rampbar)\" stroke=\"#888888\" stroke-width=\"0.8\"/>\n";
    std::vector<double> fr = sqrt_scale ? std::vector<double>{0, 0.1, 0.25, 0.5, 1} : std::vector<double>{0, 0.25, 0.5, 0.75, 1};
    for (double f : fr) {
        const double tx = x + (sqrt_scale ? std::sqrt(f) : f) * bw;
        s += "<line x1=\"" + num(tx, 1) + "\" y1=\"" + num(by + 12, 1) + "\" x2=\"" + num(tx, 1) + "\" y2=\"" +
             num(by + 16, 1) + "\" stroke=\"#222222\"/>\n";
        s += svg_text(tx, by + 26, cell_num(f * hi), 9, "text-anchor=\"middle\"");
    }
    double lx = x + bw + 24;
    auto item = [&](const std::string& swatch, const std::string& text) {
        s += swatch;
        s += svg_text(lx + 16, by + 10, text, 11);
        lx += 16 + text.size() * 6.2 + 16;
    };
    if (!masked.empty())
        item("<rect x=\"" + num(lx, 1) + "\" y=\"" + num(by, 1) +
                 "\" width=\"12\" height=\"12\" fill=\"url(#masked)\" stroke=\"#888888\" stroke-width=\"0.8\"/>\n",
             masked);
    if (fam) item(svg_text(lx + 2, by + 11, "F", 12, std::string("fill=\"") + kFamColour + "\" font-weight=\"bold\""), "FAM row or key");
    if (marks) item(svg_text(lx + 2, by + 11, "7", 12, std::string("fill=\"") + kMarkColour + "\" font-weight=\"bold\""), "highlighted token");
    *h = 46;
    return s;
}

// ---- axes of the pictures ---------------------------------------------------------------------

static bool marked(const VizOptions* opt, int t) {
    return opt && std::find(opt->highlight.begin(), opt->highlight.end(), t) != opt->highlight.end();
}

// The timeline's axis: row j of F_k is "F<k>.<j>" (fam_label), tokens by their word
// (or, for PNGs where only block starts get a label, by their position).
static Axis timeline_axis(const VizRun& r, const VizOptions* opt, bool words = true) {
    const Timeline tl = make_timeline(r);
    Axis a;
    a.label.resize(tl.n);
    a.group.resize(tl.n);
    a.fam.resize(tl.n);
    a.mark.resize(tl.n);
    for (int k = 0; k <= tl.ncomplete; k++)
        for (int j = 0; j < r.F; j++) {
            int i = tl.fam_index(k, j);
            a.label[i] = fam_label(k, j);
            a.group[i] = k;
            a.fam[i] = 1;
            a.mark[i] = 0;
        }
    for (int t = 0; t < r.T; t++) {
        int i = tl.token_index(t);
        a.label[i] = words ? r.words[t] : std::to_string(t);
        a.group[i] = t / r.B;
        a.fam[i] = 0;
        a.mark[i] = marked(opt, t);
    }
    return a;
}

// Block tau's axes: rows [block tokens; FAM rows], cols [memory | FAM | block].
// As in fam_block_mask: the FAM key columns are the rows of F_tau ("F<tau>.<j>"), the
// FAM query rows are named by what their update writes, F_{tau+1} ("F<tau+1>.<j>").
static void block_axes(const VizRun& r, const VizBlock& b, const VizOptions* opt, Axis* row, Axis* col) {
    for (int i = 0; i < b.len; i++) row->push(r.words[b.tau * r.B + i], 1, false, marked(opt, b.tau * r.B + i));
    for (int j = 0; j < b.R - b.len; j++) row->push(fam_label(b.tau + 1, j), 1, true, false);
    for (int c = 0; c < b.C; c++) {
        if (c < r.M * r.B) {
            int blk = b.tau - r.M + c / r.B, t = blk * r.B + c % r.B;
            col->push(blk < 0 ? "-" : r.words[t], blk - 1000, false, blk >= 0 && marked(opt, t));
        } else if (c < r.M * r.B + r.F) {
            col->push(fam_label(b.tau, c - r.M * r.B), 0, true, false);
        } else {
            int s = c - r.M * r.B - r.F, t = b.tau * r.B + s;
            col->push(s < b.len ? r.words[t] : "-", 1, false, s < b.len && marked(opt, t));
        }
    }
}

std::string timeline_svg(const VizRun& r, int layer, int head, bool standalone, const VizOptions* opt) {
    const Timeline tl = make_timeline(r);
    std::vector<float> v = timeline_attention(r, layer, head);
    const Mask mk = fam_timeline_mask(r.T, r.B, r.M, r.F);
    float mx = 0;
    for (float x : v) mx = std::max(mx, x);
    for (float& x : v) x = std::sqrt(x / (mx > 0 ? mx : 1));  // the PNGs' scale: sqrt(weight / max)
    Panel p;
    p.v = v.data();
    p.hi = 1;
    p.allowed = mk.m.data();
    p.row = p.col = timeline_axis(r, opt);
    p.cell = std::max(2.0, std::min(16.0, 900.0 / tl.n));
    p.title = r.name + ": attention over time, layer " + std::to_string(layer) +
              (head < 0 ? ", mean of heads" : ", head " + std::to_string(head)) + " (paper Fig. 4)";
    double w, h, lh;
    std::string body = panel_svg(p, 14, 10, &w, &h);
    body += legend_svg(14, h + 20, mx, "attention weight, sqrt scale (colour = sqrt(weight / max))", true,
                       "masked (may not attend)", r.F > 0,
                       opt && !opt->highlight.empty(), &lh);
    body += svg_text(14, h + 20 + lh + 12, "rows: queries in time order, columns: keys; F<k>.<j> (orange) = row j of F_k, "
                                           "the FAM after k blocks: F_{k+1}'s rows (under block k) compress F_k and block k", 11,
                     "fill=\"#555555\"");
    body += svg_text(14, h + 20 + lh + 27, "F_0's rows are empty: the initial FAM comes from the prompt pass (App. B.1); "
                                           "lines = block boundaries", 11, "fill=\"#555555\"");
    return svg_open(std::max(w + 28, 760.0), h + 20 + lh + 40, standalone) + body + "</svg>\n";
}

std::string block_maps_svg(const VizRun& r, int tau, const VizOptions* opt, bool heads, bool standalone) {
    if (tau < 0 || tau >= r.nblocks) throw std::invalid_argument("block_maps_svg: no block " + std::to_string(tau));
    std::string body;
    double y = 34, width = 0, x_layer = 14, height = 0;
    const VizBlock& b0 = r.blocks[0][tau];
    body += svg_text(14, 20, r.name + ": attention maps of block " + std::to_string(tau) + " (tokens " +
                                 std::to_string(tau * r.B) + ".." + std::to_string(tau * r.B + b0.len - 1) +
                                 "), FAM prepended (paper Fig. 11)", 14, "font-weight=\"bold\"");
    for (int l = 0; l < r.N; l++) {
        const VizBlock& b = r.blocks[l][tau];
        Axis row, col;
        block_axes(r, b, opt, &row, &col);
        std::vector<float> mean((size_t)b.R * b.C);
        for (int i = 0; i < b.R; i++)
            for (int c = 0; c < b.C; c++) mean[(size_t)i * b.C + c] = weight(b, r.H, -1, i, c);
        Panel p;
        p.v = mean.data();
        p.allowed = b.mask.m.data();
        p.row = row;
        p.col = col;
        p.cell = heads ? 12 : 10;
        p.title = "layer " + std::to_string(l) + ", mean of heads";
        double w, h, x = x_layer;
        body += panel_svg(p, x, y, &w, &h);
        x += w + 24;
        for (int hd = 0; heads && hd < r.H; hd++) {
            Panel q = p;
            q.v = &b.P[(size_t)hd * b.R * b.C];
            q.cell = 5;
            q.labels = false;
            q.title = "head " + std::to_string(hd);
            double w2, h2;
            body += panel_svg(q, x, y + h - (b.R * 5 + 16), &w2, &h2);  // bottom-aligned with the mean panel
            x += w2 + 14;
        }
        width = std::max(width, x);
        height = std::max(height, y + h);
        if (heads) y += h + 22;   // one layer per line
        else x_layer = x + 10;    // layers side by side
    }
    y = height + 16;
    double lh;
    body += legend_svg(14, y, 1, "attention weight / the panel's largest weight (each panel scaled on its own)", false,
                       "masked (may not attend)", r.F > 0, opt && !opt->highlight.empty(), &lh);
    y += lh + 8;
    const std::string fin = fam_label(tau, 0).substr(0, fam_label(tau, 0).find('.'));
    const std::string fout = fam_label(tau + 1, 0).substr(0, fam_label(tau + 1, 0).find('.'));
    body += svg_text(14, y + 4, "rows: the block's queries" +
                                    (b0.update ? ", then the F FAM queries " + fout + ".<j> (their update writes F_" +
                                                     std::to_string(tau + 1) + ")"
                                               : std::string(r.F ? " (a partial block: no FAM update)" : "")),
                     11, "fill=\"#555555\"");
    body += svg_text(14, y + 19, "columns: memory blocks | FAM keys " +
                                     (r.F ? fin + ".<j> (F_" + std::to_string(tau) + ", the FAM entering the block)"
                                          : std::string("(none)")) + " | block keys",
                     11, "fill=\"#555555\"");
    body += svg_text(14, y + 34, "left edge: block rows reading the FAM; bottom rows: the FAM update compressing the block",
                     11, "fill=\"#555555\"");
    return svg_open(std::max(width, 760.0), y + 45, standalone) + body + "</svg>\n";
}

std::string memory_write_svg(const VizRun& r, int layer, const VizOptions& opt, bool standalone) {
    const std::vector<float> w = fam_write(r), rd = fam_read(r), dF = fam_change(r), keep = fam_keep(r);
    const float* wl = &w[(size_t)layer * r.T];
    const float* rl = &rd[(size_t)layer * r.T];
    double wmax = 0, rmax = 0;
    for (int t = 0; t < r.T; t++) {
        if (std::isfinite(wl[t])) wmax = std::max(wmax, (double)wl[t]);
        rmax = std::max(rmax, (double)rl[t]);
    }
    if (wmax <= 0) wmax = 1;
    if (rmax <= 0) rmax = 1;
    const int per = std::min(r.B, 24);  // tokens per line
    const double bw = 54, bh = 20, left = 166, lineh = bh + 10;
    std::string body;
    body += svg_text(10, 18, r.name + ", layer " + std::to_string(layer) + ": what the FAM wrote, block by block", 14,
                     "font-weight=\"bold\"");
    body += svg_text(10, 34, "box colour: attention mass the block's FAM update put on the token (mean over FAM rows "
                             "and heads; darkest = " + num(wmax, 3) + ")", 11, "fill=\"#444444\"");
    body += svg_text(10, 48, std::string("orange bar: the token's own attention mass on the FAM keys (reading the "
                                         "memory; full width = ") + num(rmax, 3) + ")" +
                                 (opt.highlight.empty() ? "" : "; red outline: highlighted tokens") +
                                 "; hatched: no FAM update read it",
                     11, "fill=\"#444444\"");
    double y = 60;
    for (int tau = 0; tau < r.nblocks; tau++) {
        const VizBlock& b = r.blocks[layer][tau];
        double change = 0;
        for (int j = 0; j < r.F; j++) change += std::pow(dF[((size_t)layer * r.nblocks + tau) * r.F + j], 2);
        body += "<g class=\"blk\" data-tau=\"" + std::to_string(tau) + "\">\n";
        const int lines = (b.len + per - 1) / per;
        body += "<rect class=\"frame\" x=\"4\" y=\"" + num(y - 3, 1) + "\" width=\"" + num(left + per * bw + 2, 1) +
                "\" height=\"" + num(lines * lineh + 2, 1) + "\" fill=\"none\" stroke=\"none\"/>\n";
        body += svg_text(10, y + 13, "block " + std::to_string(tau) + " (t " + std::to_string(tau * r.B) + ")", 11,
                         "font-weight=\"bold\"");
        body += svg_text(10, y + 26, b.update ? "F" + std::to_string(tau) + ">F" + std::to_string(tau + 1) + " |dF| " +
                                                     num(std::sqrt(change), 1) + " kept " +
                                                     num(keep[(size_t)layer * r.nblocks + tau], 2)
                                              : (r.F ? "no update (partial)" : "no FAM"),
                         10, "fill=\"#555555\"");
        for (int s = 0; s < b.len; s++) {
            const int t = tau * r.B + s;
            const double x = left + (s % per) * bw, yy = y + (s / per) * lineh;
            const double v = std::isfinite(wl[t]) ? wl[t] / wmax : 0;
            const bool mk = marked(&opt, t);
            body += "<rect class=\"box\" x=\"" + num(x, 1) + "\" y=\"" + num(yy, 1) + "\" width=\"" + num(bw - 2, 1) +
                    "\" height=\"" + num(bh, 1) + "\" fill=\"" + (std::isfinite(wl[t]) ? ramp_hex(v) : "url(#masked)") +
                    "\" stroke=\"" + (mk ? kMarkColour : "#cccccc") + "\" stroke-width=\"" + (mk ? "2" : "0.6") +
                    "\"><title>t=" + std::to_string(t) + " " + xml_escape(r.words[t]) + ": write " +
                    (std::isfinite(wl[t]) ? num(wl[t], 3) : "-") + ", read " + num(rl[t], 3) + "</title></rect>\n";
            std::string word = r.words[t].size() > 8 ? r.words[t].substr(0, 7) + "~" : r.words[t];
            body += svg_text(x + (bw - 2) / 2, yy + 14, word, 11,
                             std::string("text-anchor=\"middle\" fill=\"") + (v > 0.6 ? "#ffffff" : "#111111") + "\"" +
                                 (mk ? " font-weight=\"bold\"" : ""));
            body += "<rect x=\"" + num(x, 1) + "\" y=\"" + num(yy + bh + 1, 1) + "\" width=\"" +
                    num((bw - 2) * rl[t] / rmax, 1) + "\" height=\"4\" fill=\"" + kFamColour + "\"/>\n";
        }
        body += "</g>\n";
        y += lines * lineh + 6;
    }
    return svg_open(left + per * bw + 20, y + 10, standalone) + body + "</svg>\n";
}

// The FAM change per row and block of every layer, with the numbers in the cells:
// column tau is code block tau's update, F_tau -> F_{tau+1}; a block that wrote no
// FAM (the partial last block) is hatched.
static std::string fam_change_svg(const VizRun& r) {
    const std::vector<float> d = fam_change(r);
    std::string body;
    body += svg_text(14, 20, r.name + ": how far each FAM row moved in each block, |F_{tau+1}.j - F_tau.j| (L2 norm)", 14,
                     "font-weight=\"bold\"");
    double y = 34, width = 0;
    for (int l = 0; l < r.N; l++) {
        std::vector<float> v((size_t)r.F * r.nblocks);  // [F, nblocks]: rows = FAM rows, cols = time
        std::vector<uint8_t> allowed((size_t)r.F * r.nblocks);
        Panel p;
        for (int j = 0; j < r.F; j++) {
            p.row.push("row " + std::to_string(j), 0, true, false);
            for (int tau = 0; tau < r.nblocks; tau++) {
                v[(size_t)j * r.nblocks + tau] = d[((size_t)l * r.nblocks + tau) * r.F + j];
                allowed[(size_t)j * r.nblocks + tau] = r.blocks[l][tau].update;
            }
        }
        for (int tau = 0; tau < r.nblocks; tau++)
            p.col.push(r.blocks[l][tau].update ? "F" + std::to_string(tau) + ">F" + std::to_string(tau + 1)
                                               : "blk " + std::to_string(tau),
                       0, false, false);
        p.v = v.data();
        p.allowed = allowed.data();
        p.cell = r.nblocks <= 30 ? 24 : 10;
        p.cell_w = r.nblocks <= 30 ? value_cell_w(v.data(), v.size(), std::min(11.0, p.cell * 0.42)) : 0;
        p.values = r.nblocks <= 30;
        p.title = "layer " + std::to_string(l) + ": rows j of the FAM (rows), block tau's update F_tau -> F_{tau+1} (columns)";
        double w, h;
        body += panel_svg(p, 14, y, &w, &h);
        width = std::max(width, w + 28);
        y += h + 20;
    }
    double lh;
    body += legend_svg(14, y, 1, "change / the layer's largest change (numbers: the change itself)", false,
                       "partial block: no FAM written", false, false, &lh);
    y += lh + 4;
    body += svg_text(14, y + 4, "F_k = the FAM after k blocks (F_0: from the prompt pass); hatched: a partial block, "
                                "which writes no FAM", 11, "fill=\"#555555\"");
    return svg_open(std::max(width, 720.0), y + 20, true) + body + "</svg>\n";
}

// ---- PNG pictures (render.h's labelled heatmap figures) ---------------------------------------

static HeatAxis heat_axis(const Axis& a, const std::string& name) {
    HeatAxis h;
    h.name = name;
    h.label = a.label;
    h.group = a.group;
    h.fam.assign(a.fam.begin(), a.fam.end());
    h.mark.assign(a.mark.begin(), a.mark.end());
    return h;
}

// Cell size in pixels for a picture `n` cells wide to be about `target` pixels (1..8).
static int auto_cell(int n, int target) { return std::max(1, std::min(8, target / std::max(1, n))); }

// A sqrt colour scale (colour = sqrt(weight / mx), so that small weights stay visible)
// with its colour bar ticks labelled in weights: 0, 10 %, 25 %, 50 % of mx and mx.
static void sqrt_scale(HeatFigure& f, float mx) {
    f.lo = 0;
    f.hi = 1;
    f.scale = "attention weight (sqrt scale: colour = sqrt(weight / " + num(mx, 3) + "))";
    for (double a : {0.0, 0.1, 0.25, 0.5, 1.0}) {
        f.tick_at.push_back(std::sqrt(a));
        char b[32];
        std::snprintf(b, sizeof b, "%.2g", a * mx);
        f.tick_label.push_back(b);
    }
}

static float max_of(const std::vector<float>& v) {
    float mx = 0;
    for (float x : v)
        if (std::isfinite(x)) mx = std::max(mx, x);
    return mx > 0 ? mx : 1;
}

// One layer's timeline as a panel: sqrt(weight / mx) where the mask allows, hatched
// where it does not; F_0's rows blank (the prompt pass made F_0, no weights recorded);
// rows from rows_shown on blank too (an animation frame: not computed yet); rows before
// fade_before scaled by `fade` (a frame's earlier blocks).
static HeatPanel timeline_panel(const VizRun& r, const std::vector<float>& w, float mx, const Mask& mk,
                                const VizOptions* opt, const std::string& title, int rows_shown = -1,
                                int fade_before = 0, float fade = 1.0f) {
    const Timeline tl = make_timeline(r);
    const int n = tl.n;
    HeatPanel p;
    p.title = title;
    p.rows = p.cols = n;
    p.v.assign((size_t)n * n, 0.0f);
    p.cell.assign((size_t)n * n, kCellValue);
    for (int i = 0; i < n; i++)
        for (int c = 0; c < n; c++) {
            const size_t k = (size_t)i * n + c;
            const bool f0 = i < r.F;  // F_0 sits first
            if (f0 || (rows_shown >= 0 && i >= rows_shown)) p.cell[k] = kCellBlank;
            else if (!mk.m[k]) p.cell[k] = kCellMasked;
            else p.v[k] = std::sqrt(std::max(0.0f, w[k]) / mx) * (i < fade_before ? fade : 1.0f);
        }
    const Axis a = timeline_axis(r, opt, false);
    p.row = heat_axis(a, "query (time order)");
    p.col = heat_axis(a, "key");
    return p;
}

static const char* kTimelineNote =
    "rows: queries in time order; columns: keys; labels: token positions at block starts, F<k>.<j> = row j of F_k "
    "(the FAM after k blocks, orange), which sits before block k: F_{k+1}'s rows, under block k, compress F_k and "
    "block k (Alg. 2 step 7)";

static HeatFigure timeline_figure(const VizRun& r, int layer, int head, const std::vector<float>& w, const Mask& mk,
                                  const VizOptions* opt, int cell) {
    HeatFigure f;
    f.title = r.name + ": attention over time, layer " + std::to_string(layer) +
              (head < 0 ? ", mean of heads" : ", head " + std::to_string(head)) + " (paper Fig. 4)";
    const float mx = max_of(w);
    f.panels.push_back(timeline_panel(r, w, mx, mk, opt, ""));
    f.cell_px = cell;
    sqrt_scale(f, mx);
    f.masked_caption = "masked: the query may not see this key";
    f.blank_caption = "F_0 rows: no weights (F_0 comes from the prompt pass, App. B.1)";
    f.notes.push_back(kTimelineNote);
    return f;
}

// Long sequences: one cell per pool x pool cells (the largest value; masked only if all
// are masked), so that a frame stays about 400 pixels per layer.
static HeatPanel pool_panel(const HeatPanel& p, int pool) {
    if (pool <= 1) return p;
    const int m = (p.rows + pool - 1) / pool;
    HeatPanel q;
    q.title = p.title;
    q.rows = q.cols = m;
    q.v.assign((size_t)m * m, 0.0f);
    q.cell.assign((size_t)m * m, kCellMasked);
    for (int i = 0; i < p.rows; i++)
        for (int c = 0; c < p.cols; c++) {
            const size_t k = (size_t)i * p.cols + c, kk = (size_t)(i / pool) * m + c / pool;
            if (p.cell[k] == kCellValue) {
                q.cell[kk] = kCellValue;
                q.v[kk] = std::max(q.v[kk], p.v[k]);
            } else if (p.cell[k] == kCellBlank && q.cell[kk] == kCellMasked) {
                q.cell[kk] = kCellBlank;
            }
        }
    for (const HeatAxis* a : {&p.row, &p.col}) {
        HeatAxis b;
        b.name = a->name;
        for (int i = 0; i < p.rows; i += pool) {
            std::string label;  // the first block start inside the pooled cell, if any
            for (int k = i; k < std::min(p.rows, i + pool) && label.empty(); k++)
                if (k == 0 || a->group[k] != a->group[k - 1] || a->fam[k] != a->fam[k - 1]) label = a->label[k];
            b.label.push_back(label);
            b.group.push_back(a->group[i]);
            b.fam.push_back(a->fam[i]);
            uint8_t mk = 0;
            for (int k = i; k < std::min(p.rows, i + pool); k++) mk |= a->mark[k];
            b.mark.push_back(mk);
        }
        (a == &p.row ? q.row : q.col) = b;
    }
    return q;
}

// Frame k of the animation: every layer's timeline side by side, rows up to block k
// and the FAM it writes, F_{k+1}, shown; earlier blocks faded to 40 % so that the
// current block stands out; later rows blank (not computed yet).
static HeatFigure frame_figure(const VizRun& r, const std::vector<std::vector<float>>& tls, const Mask& mk, int k,
                               const VizOptions& opt) {
    const Timeline tl = make_timeline(r);
    const int end = k + 1 < r.nblocks ? tl.block_start[k + 1] : tl.n;  // F_{k+1} sits just before block k+1
    const int pool = (tl.n + 399) / 400;
    HeatFigure f;
    const VizBlock& b = r.blocks[0][k];
    f.title = r.name + ", block " + std::to_string(k) + " of " + std::to_string(r.nblocks - 1) + " (tokens " +
              std::to_string(k * r.B) + ".." + std::to_string(k * r.B + b.len - 1) + "): attention over time up to " +
              (b.update ? "F_" + std::to_string(k + 1) + ", the FAM this block writes" : std::string("this block"));
    float mx = 0;
    for (const auto& w : tls) mx = std::max(mx, max_of(w));
    for (int l = 0; l < r.N; l++)
        f.panels.push_back(pool_panel(timeline_panel(r, tls[l], mx, mk, &opt, "layer " + std::to_string(l) + ", mean of heads",
                                                     end, tl.block_start[k], 0.4f),
                                      pool));
    f.cell_px = std::max(2, auto_cell(f.panels[0].cols * r.N, 1100));
    sqrt_scale(f, mx);
    f.blank_caption = "no weights: later blocks (not computed yet) and F_0 (prompt pass)";
    f.notes.push_back(kTimelineNote);
    f.notes.push_back("the current block and the FAM it writes at full strength, earlier blocks faded to 40 %" +
                      std::string(pool > 1 ? "; one cell per " + std::to_string(pool) + " x " + std::to_string(pool) +
                                                 " timeline cells (their largest weight)"
                                           : ""));
    return f;
}

// A Fig. 11 map of one block and layer as a PNG (values: one head or the mean).
static HeatFigure block_figure(const VizRun& r, const VizBlock& b, const VizOptions& opt, const std::vector<float>& v,
                               const std::string& what) {
    Axis row, col;
    block_axes(r, b, &opt, &row, &col);
    HeatFigure f;
    f.title = r.name + ": block " + std::to_string(b.tau) + " (tokens " + std::to_string(b.tau * r.B) + ".." +
              std::to_string(b.tau * r.B + b.len - 1) + "), layer " + std::to_string(b.layer) + ", " + what +
              ", FAM prepended (paper Fig. 11)";
    HeatPanel p;
    p.rows = b.R;
    p.cols = b.C;
    p.v = v;
    p.cell = b.mask.m;  // 1 = kCellValue, 0 = kCellMasked
    p.row = heat_axis(row, "query");
    p.col = heat_axis(col, "key: memory | FAM | block");
    f.panels.push_back(p);
    f.cell_px = 16;
    f.scale = "attention weight";
    if (r.F > 0)
        f.notes.push_back("FAM key columns F" + std::to_string(b.tau) + ".<j>: F_" + std::to_string(b.tau) +
                          ", the FAM entering the block" +
                          (b.update ? "; FAM query rows F" + std::to_string(b.tau + 1) + ".<j>: the update writing F_" +
                                          std::to_string(b.tau + 1)
                                    : std::string("; a partial block writes no FAM")));
    return f;
}

// ---- HTML ---------------------------------------------------------------------------------------

static const char* kCss =
    "body{font-family:Helvetica,Arial,sans-serif;margin:18px;color:#222;max-width:1400px}"
    "h1{font-size:20px}h2{font-size:17px;margin-top:26px;border-bottom:1px solid #ccc}"
    "img{border:1px solid #ddd;max-width:100%}pre{background:#f6f6f6;padding:8px;font-size:12px;overflow-x:auto}"
    ".cap{color:#555;font-size:13px;max-width:1100px}.row{display:flex;gap:16px;flex-wrap:wrap;align-items:flex-start}"
    ".tok{display:inline-block;padding:1px 3px;margin:1px;border-radius:3px;font-size:13px}"
    ".mark{outline:2px solid #d62728}";

static std::string data_png(const std::string& path) { return "data:image/png;base64," + base64(read_file(path)); }

// The tokens as text, highlighted ones in red.
static std::string words_html(const VizRun& r, const VizOptions& opt) {
    std::string s = "<p style=\"font-size:13px;line-height:1.7\">";
    for (int t = 0; t < r.T; t++) {
        if (t % r.B == 0) s += "<b style=\"color:#999\">|" + std::to_string(t / r.B) + "</b> ";
        s += marked(&opt, t) ? "<b style=\"color:#d62728\">" + xml_escape(r.words[t]) + "</b> " : xml_escape(r.words[t]) + " ";
    }
    return s + "</p>\n";
}

std::string write_animation(const std::string& dir, const VizRun& r, const VizOptions& opt) {
    make_dirs(dir + "/frames");
    std::vector<std::vector<float>> tls;
    for (int l = 0; l < r.N; l++) tls.push_back(timeline_attention(r, l, -1));
    const Mask mk = fam_timeline_mask(r.T, r.B, r.M, r.F);
    const std::vector<float> w = fam_write(r), dF = fam_change(r);
    std::string frames;
    for (int k = 0; k < r.nblocks; k++) {
        char name[64];
        std::snprintf(name, sizeof name, "frames/frame_%03d.png", k);
        heatmap_figure_png(dir + "/" + name, frame_figure(r, tls, mk, k, opt));
        const VizBlock& b = r.blocks[0][k];
        std::string cap = "<b>block " + std::to_string(k) + "</b> (tokens " + std::to_string(k * r.B) + ".." +
                          std::to_string(k * r.B + b.len - 1) + "): ";
        for (int s = 0; s < b.len; s++) cap += (marked(&opt, k * r.B + s) ? "<b style=\"color:#d62728\">" + xml_escape(r.words[k * r.B + s]) + "</b>" : xml_escape(r.words[k * r.B + s])) + " ";
        cap += "<br>";
        for (int l = 0; l < r.N; l++) {
            const VizBlock& bl = r.blocks[l][k];
            cap += "layer " + std::to_string(l) + ": ";
            if (!bl.update) {
                cap += r.F ? "no FAM update (partial block). " : "no FAM (BSWA). ";
                continue;
            }
            double ch = 0;
            for (int j = 0; j < r.F; j++) ch += std::pow(dF[((size_t)l * r.nblocks + k) * r.F + j], 2);
            int best = 0;
            for (int s = 1; s < bl.len; s++)
                if (w[(size_t)l * r.T + k * r.B + s] > w[(size_t)l * r.T + k * r.B + best]) best = s;
            cap += "|dF| = " + num(std::sqrt(ch), 2) + ", the update wrote most <b>" + xml_escape(r.words[k * r.B + best]) +
                   "</b> (t " + std::to_string(k * r.B + best) + ", mass " + num(w[(size_t)l * r.T + k * r.B + best], 3) + "). ";
        }
        std::string layers = "<p class=\"cap\">";
        for (int l = 0; l < r.N; l++) layers += (l ? " | " : "") + std::string("layer ") + std::to_string(l);
        layers += " (left to right), the timeline up to this block:</p>";
        frames += "<div class=\"frame\" id=\"f" + std::to_string(k) + "\" style=\"display:none\"><p class=\"cap\">" + cap +
                  "</p>" + layers + "<img alt=\"frame " + std::to_string(k) + "\" src=\"" + data_png(dir + "/" + name) +
                  "\"><p class=\"cap\">zoom on this block (paper Fig. 11 view):</p>" +
                  block_maps_svg(r, k, &opt, false, false) + "</div>\n";
    }
    std::string html = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + xml_escape(r.name) +
                       ": attention and memory over time</title><style>" + kCss +
                       "g.blk.cur rect.frame{stroke:#d62728;stroke-width:2}</style></head><body>\n";
    html += "<h1>" + xml_escape(opt.title.empty() ? r.name + ": attention and memory over time" : opt.title) + "</h1>\n";
    html += "<p class=\"cap\">" + xml_escape(r.cfg.describe()) + ", T = " + std::to_string(r.T) + " tokens, " +
            std::to_string(r.nblocks) + " blocks. One frame per block (paper Fig. 4, §B.3: self-attention during "
            "inference over time, top to bottom). Each picture is one layer's attention on the timeline (layers left "
            "to right): rows are queries in time order, columns keys; FAM rows and keys sit between the blocks as in "
            "<code>fam_timeline_mask</code>. Cells a query may see are tinted; colour = sqrt(weight / max). The current block and the FAM "
            "it writes are at full strength, earlier blocks faded, later ones not computed yet.</p>\n";
    html += "<div><button id=\"prev\">&#9664;</button> <input type=\"range\" id=\"slider\" min=\"0\" max=\"" +
            std::to_string(r.nblocks - 1) + "\" value=\"0\" style=\"width:480px;vertical-align:middle\"> "
            "<button id=\"next\">&#9654;</button> <button id=\"play\">play</button> <span id=\"lbl\"></span></div>\n";
    html += frames;
    if (r.F > 0) {
        html += "<h2>What the memory wrote (the current block is outlined in red)</h2>\n<div class=\"row\">";
        for (int l = 0; l < r.N; l++) html += "<div>" + memory_write_svg(r, l, opt, false) + "</div>";
        html += "</div>\n";
    }
    if (!opt.notes.empty()) html += "<pre>" + xml_escape(opt.notes) + "</pre>\n";
    html += "<script>\n(function(){var n=" + std::to_string(r.nblocks) +
            ",s=document.getElementById('slider'),lbl=document.getElementById('lbl'),timer=null;\n"
            "function show(k){k=Math.max(0,Math.min(n-1,k|0));s.value=k;\n"
            " for(var i=0;i<n;i++)document.getElementById('f'+i).style.display=(i==k?'block':'none');\n"
            " var g=document.querySelectorAll('g.blk');for(var i=0;i<g.length;i++){var t=+g[i].getAttribute('data-tau');\n"
            "  g[i].style.opacity=(t<=k?1:0.15);if(t==k)g[i].classList.add('cur');else g[i].classList.remove('cur');}\n"
            " lbl.textContent='block '+k+' of '+(n-1);}\n"
            "s.oninput=function(){show(+s.value);};\n"
            "document.getElementById('prev').onclick=function(){show(+s.value-1);};\n"
            "document.getElementById('next').onclick=function(){show(+s.value+1);};\n"
            "document.getElementById('play').onclick=function(){if(timer){clearInterval(timer);timer=null;return;}\n"
            " timer=setInterval(function(){if(+s.value>=n-1){clearInterval(timer);timer=null;}else show(+s.value+1);},700);};\n"
            "document.onkeydown=function(e){if(e.key=='ArrowLeft')show(+s.value-1);if(e.key=='ArrowRight')show(+s.value+1);};\n"
            "var h=parseInt((location.hash||'#0').slice(1),10);show(isNaN(h)?0:h);})();\n</script>\n";
    html += "</body></html>\n";
    write_file_atomic(dir + "/animation.html", html);
    return html;
}

// The FAM of one layer after every block, one row per F_k, [nblocks + 1, F * D]: each
// value's distance from its own mean over time, |F_k[j][d] - mean_k F_k[j][d]|, so that
// what changes shows (a few large constant dimensions would drown everything else).
static HeatFigure fam_state_figure(const VizRun& r, const std::vector<float>& st, int l) {
    const int rows = r.nblocks + 1, cols = r.F * r.D;
    const float* sl = &st[(size_t)l * rows * cols];
    std::vector<double> mean(cols, 0.0);
    for (int i = 0; i < rows; i++)
        for (int c = 0; c < cols; c++) mean[c] += sl[(size_t)i * cols + c] / rows;
    HeatPanel p;
    p.rows = rows;
    p.cols = cols;
    p.v.resize((size_t)rows * cols);
    for (int i = 0; i < rows; i++)
        for (int c = 0; c < cols; c++) p.v[(size_t)i * cols + c] = (float)std::fabs(sl[(size_t)i * cols + c] - mean[c]);
    p.row.name = "F_k";
    for (int k = 0; k < rows; k++) {
        // a partial last block writes nothing: its entry repeats F_ncomplete
        p.row.label.push_back(k <= r.ncomplete ? "F" + std::to_string(k) : "(same)");
        p.row.group.push_back(k);
    }
    p.col.name = "FAM row j (D = " + std::to_string(r.D) + " values each)";
    for (int c = 0; c < cols; c++) {
        p.col.label.push_back(c % r.D == 0 ? "row " + std::to_string(c / r.D) : "");
        p.col.group.push_back(c / r.D);
        p.col.fam.push_back(1);
    }
    HeatFigure f;
    f.title = r.name + ", layer " + std::to_string(l) + ": the FAM after each block, F_0 (top, from the prompt pass) to F_" +
              std::to_string(r.ncomplete) + " (bottom)";
    f.panels.push_back(p);
    f.cell_px = std::max(1, auto_cell(cols, 1100));
    f.row_px = std::max(24, 300 / rows);  // room for every row's label
    f.scale = "|value - its mean over time| (white: at its mean)";
    f.boundary_caption = "lines between FAM rows and between the F_k";
    f.notes.push_back("raw values in fam_states.npy [N, nblocks + 1, F, D]" +
                      std::string(rows - 1 > r.ncomplete ? "; (same): the partial last block writes no FAM, its entry "
                                                           "repeats F_" + std::to_string(r.ncomplete)
                                                         : ""));
    return f;
}

// ---- everything -------------------------------------------------------------------------------

static std::string shape_str(const std::vector<int>& s) {
    std::string o = "[";
    for (size_t i = 0; i < s.size(); i++) o += (i ? ", " : "") + std::to_string(s[i]);
    return o + "]";
}

// [n, n] per layer and head, and one frame per block: 1200 rows is ~50 MB of floats
// and a few seconds; beyond that the pictures stop being readable anyway.
static const int kMaxTimeline = 1200;

std::vector<std::string> viz_write_all(const std::string& dir, const VizRun& r, const VizRun* cmp,
                                       const VizOptions& opt) {
    make_dirs(dir);
    std::vector<std::string> files;
    std::vector<std::pair<std::string, std::string>> npys;  // name, shape + meaning
    auto npy = [&](const std::string& name, const std::vector<float>& v, const std::vector<int>& shape,
                   const std::string& what) {
        npy_save_f32(dir + "/" + name, v.data(), shape);
        files.push_back(name);
        npys.push_back({name, shape_str(shape) + " " + what});
    };
    auto text = [&](const std::string& name, const std::string& s) {
        write_file_atomic(dir + "/" + name, s);
        files.push_back(name);
    };
    const Timeline tl = make_timeline(r);
    const int n = tl.n, N = r.N, H = r.H;
    if (n > kMaxTimeline)
        throw std::invalid_argument("viz: the timeline has " + std::to_string(n) + " rows (T = " + std::to_string(r.T) +
                                    " tokens + F = " + std::to_string(r.F) + " per complete block); pictures of [n, n] "
                                    "per layer, head and block stop at n = " + std::to_string(kMaxTimeline) +
                                    ": use a shorter sequence");

    // the inputs
    std::vector<int32_t> tok(r.tokens.begin(), r.tokens.end());
    npy_save_i32(dir + "/tokens.npy", tok.data(), {r.T});  // ids stay integers (int32), not float32
    files.push_back("tokens.npy");
    npys.push_back({"tokens.npy", shape_str({r.T}) + " int32 token ids"});
    npy("logits.npy", r.logits, {r.T, r.cfg.V}, "next-token logits");

    // paper Fig. 4 analog: attention over time, per layer, mean of heads and per head
    const Mask mk = fam_timeline_mask(r.T, r.B, r.M, r.F);
    mask_npy(dir + "/timeline_mask.npy", mk);
    files.push_back("timeline_mask.npy");
    npys.push_back({"timeline_mask.npy", shape_str({n, n}) + " uint8, fam_timeline_mask: 1 = the query may see the key"});
    mask_png(dir + "/timeline_mask.png", mk);
    files.push_back("timeline_mask.png");
    std::vector<float> all((size_t)N * H * n * n), means((size_t)N * n * n);
    for (int l = 0; l < N; l++) {
        std::vector<float> m = timeline_attention(r, l, -1);
        std::copy(m.begin(), m.end(), means.begin() + (size_t)l * n * n);
        heatmap_figure_png(dir + "/timeline_L" + std::to_string(l) + "_mean.png",
                           timeline_figure(r, l, -1, m, mk, &opt, std::max(2, auto_cell(n, 1000))));
        files.push_back("timeline_L" + std::to_string(l) + "_mean.png");
        for (int h = 0; h < H; h++) {
            std::vector<float> v = timeline_attention(r, l, h);
            std::copy(v.begin(), v.end(), all.begin() + ((size_t)l * H + h) * n * n);
            std::string name = "timeline_L" + std::to_string(l) + "_h" + std::to_string(h) + ".png";
            heatmap_figure_png(dir + "/" + name, timeline_figure(r, l, h, v, mk, &opt, std::max(1, auto_cell(n, 600))));
            files.push_back(name);
        }
        if (n <= opt.svg_max) text("timeline_L" + std::to_string(l) + "_mean.svg", timeline_svg(r, l, -1, true, &opt));
    }
    npy("attention_timeline.npy", all, {N, H, n, n}, "attention weights on the timeline per layer and head");
    npy("attention_timeline_mean.npy", means, {N, n, n}, "the same, mean of heads");

    // paper Fig. 11 analog: chosen blocks, FAM prepended
    std::vector<int> blocks = opt.blocks;
    if (blocks.empty()) blocks = {0, r.nblocks - 1};
    std::sort(blocks.begin(), blocks.end());
    blocks.erase(std::unique(blocks.begin(), blocks.end()), blocks.end());
    for (int tau : blocks) {
        if (tau < 0 || tau >= r.nblocks)
            throw std::invalid_argument("viz: block " + std::to_string(tau) + " does not exist (the sequence has " +
                                        std::to_string(r.nblocks) + " blocks)");
        const std::string tb = "block" + std::to_string(tau);
        text("fig11_" + tb + ".svg", block_maps_svg(r, tau, &opt, true, true));
        const VizBlock& b0 = r.blocks[0][tau];
        std::vector<float> P((size_t)N * H * b0.R * b0.C);
        for (int l = 0; l < N; l++) {
            const VizBlock& b = r.blocks[l][tau];
            std::copy(b.P.begin(), b.P.end(), P.begin() + (size_t)l * H * b.R * b.C);
            std::vector<float> mean((size_t)b.R * b.C);
            for (int i = 0; i < b.R; i++)
                for (int c = 0; c < b.C; c++) mean[(size_t)i * b.C + c] = weight(b, H, -1, i, c);
            heatmap_figure_png(dir + "/fig11_" + tb + "_L" + std::to_string(l) + "_mean.png",
                               block_figure(r, b, opt, mean, "mean of heads"));
            files.push_back("fig11_" + tb + "_L" + std::to_string(l) + "_mean.png");
            for (int h = 0; h < H; h++) {
                std::vector<float> v(b.P.begin() + (size_t)h * b.R * b.C, b.P.begin() + (size_t)(h + 1) * b.R * b.C);
                std::string name = "fig11_" + tb + "_L" + std::to_string(l) + "_h" + std::to_string(h) + ".png";
                heatmap_figure_png(dir + "/" + name, block_figure(r, b, opt, v, "head " + std::to_string(h)));
                files.push_back(name);
            }
        }
        npy(tb + "_P.npy", P, {N, H, b0.R, b0.C}, "block " + std::to_string(tau) + ": weights of [block rows; FAM rows] over [memory | FAM | block]");
    }

    // the FAM as working memory
    if (r.F > 0) {
        const std::vector<float> st = fam_states(r), ch = fam_change(r), wr = fam_write(r), rd = fam_read(r),
                                 kp = fam_keep(r);
        npy("fam_states.npy", st, {N, r.nblocks + 1, r.F, r.D}, "the FAM of each layer after each block (index 0: initial)");
        npy("fam_change.npy", ch, {N, r.nblocks, r.F}, "|F_{tau+1}[j] - F_tau[j]| per layer, code block tau, FAM row j");
        npy("fam_write.npy", wr, {N, r.T}, "mass the FAM update of a token's block put on it (NaN: no update)");
        npy("fam_read.npy", rd, {N, r.T}, "a token row's attention mass on the FAM keys");
        npy("fam_keep.npy", kp, {N, r.nblocks}, "the FAM update's mass on the FAM keys (NaN: no update)");
        if (r.ncomplete > 0) {
            const int W = r.F + r.B;  // the FAM rows' keys [FAM | block]
            std::vector<float> up((size_t)N * r.ncomplete * H * r.F * W);
            for (int l = 0; l < N; l++)
                for (int tau = 0; tau < r.ncomplete; tau++) {
                    const VizBlock& b = r.blocks[l][tau];
                    for (int h = 0; h < H; h++)
                        for (int j = 0; j < r.F; j++)
                            for (int c = 0; c < W; c++)
                                up[((((size_t)l * r.ncomplete + tau) * H + h) * r.F + j) * W + c] =
                                    b.P[((size_t)h * b.R + b.len + j) * b.C + r.M * r.B + c];
                }
            npy("fam_update_attention.npy", up, {N, r.ncomplete, H, r.F, W}, "the FAM rows' weights over [FAM | block] per update");
        }
        for (int l = 0; l < N; l++) {
            heatmap_figure_png(dir + "/fam_state_L" + std::to_string(l) + ".png", fam_state_figure(r, st, l));
            files.push_back("fam_state_L" + std::to_string(l) + ".png");
            text("memory_write_L" + std::to_string(l) + ".svg", memory_write_svg(r, l, opt, true));
        }
        text("fam_change.svg", fam_change_svg(r));
    }

    // the animation (frames/*.png inlined into one page)
    write_animation(dir, r, opt);
    files.push_back("animation.html");
    for (int k = 0; k < r.nblocks; k++) {
        char name[64];
        std::snprintf(name, sizeof name, "frames/frame_%03d.png", k);
        files.push_back(name);
    }

    // the comparison model (e.g. BSWA next to FAM) on the same tokens
    if (cmp) {
        VizOptions o2 = opt;
        o2.notes.clear();
        std::vector<std::string> sub = viz_write_all(dir + "/compare", *cmp, nullptr, o2);
        for (auto& f : sub) files.push_back("compare/" + f);
        std::string html = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + xml_escape(r.name) + " vs " +
                           xml_escape(cmp->name) + "</title><style>" + kCss + "</style></head><body>\n";
        html += "<h1>" + xml_escape(r.name) + " vs " + xml_escape(cmp->name) + ": attention over time on the same tokens</h1>\n";
        html += "<p class=\"cap\">left: " + xml_escape(r.cfg.describe()) + "<br>right: " + xml_escape(cmp->cfg.describe()) +
                "<br>Paper Fig. 4: (A) BSWA, (B) the same with FAM. Rows are queries in time order, columns keys; FAM "
                "rows and keys (if any) sit between the blocks (F<k>.<j> = row j of F_k, the FAM after k blocks). "
                "Colour = sqrt(weight / max); hatched grey = masked.</p>\n";
        html += words_html(r, opt);
        for (int l = 0; l < std::max(r.N, cmp->N); l++) {
            html += "<h2>layer " + std::to_string(l) + "</h2>\n<div class=\"row\">";
            for (const auto& pr : {std::make_pair(&r, dir), std::make_pair(cmp, dir + "/compare")}) {
                html += "<div style=\"flex:1;min-width:300px\"><p><b>" + xml_escape(pr.first->name) + "</b></p>";
                if (l < pr.first->N)
                    html += "<img style=\"width:100%\" alt=\"timeline\" src=\"" +
                            data_png(pr.second + "/timeline_L" + std::to_string(l) + "_mean.png") + "\">";
                html += "</div>";
            }
            html += "</div>\n";
        }
        if (!opt.notes.empty()) html += "<pre>" + xml_escape(opt.notes) + "</pre>\n";
        html += "</body></html>\n";
        text("compare.html", html);
    }

    // the overview page (pictures referenced relatively, next to it)
    std::string h = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + xml_escape(r.name) +
                    ": seeing it work</title><style>" + kCss + "</style></head><body>\n";
    h += "<h1>" + xml_escape(opt.title.empty() ? r.name + ": attention and memory" : opt.title) + "</h1>\n";
    h += "<p class=\"cap\">" + xml_escape(r.cfg.describe()) + ", T = " + std::to_string(r.T) + ", " + std::to_string(r.nblocks) +
         " blocks (" + std::to_string(r.ncomplete) + " complete), timeline " + std::to_string(n) + " rows. " +
         "<a href=\"animation.html\">animation (one frame per block)</a>" +
         (cmp ? " | <a href=\"compare.html\">side by side with " + xml_escape(cmp->name) + "</a>" : std::string()) + "</p>\n";
    h += words_html(r, opt);
    if (!opt.notes.empty()) h += "<pre>" + xml_escape(opt.notes) + "</pre>\n";
    h += "<h2>Attention over time (paper Fig. 4)</h2><p class=\"cap\">Rows: queries in time order; columns: keys. "
         "F_k's rows and keys (F<k>.<j>) sit before block k: F_k is the FAM after k blocks, written by block k-1. "
         "Colour = sqrt(weight / max); hatched grey = masked (timeline_mask.png). Raw weights: attention_timeline*.npy.</p>\n<div class=\"row\">";
    for (int l = 0; l < N; l++)
        h += "<div><p>layer " + std::to_string(l) + ", mean of heads</p><img src=\"timeline_L" + std::to_string(l) +
             "_mean.png\" style=\"width:560px\"></div>";
    h += "<div><p>the mask</p><img src=\"timeline_mask.png\" style=\"width:300px\"></div></div>\n<div class=\"row\">";
    for (int l = 0; l < N; l++)
        for (int hd = 0; hd < H; hd++)
            h += "<div><p>layer " + std::to_string(l) + " head " + std::to_string(hd) + "</p><img src=\"timeline_L" +
                 std::to_string(l) + "_h" + std::to_string(hd) + ".png\" style=\"width:260px\"></div>";
    h += "</div>\n<h2>Attention maps with the FAM prepended (paper Fig. 11)</h2>\n";
    for (int tau : blocks) h += "<p><img src=\"fig11_block" + std::to_string(tau) + ".svg\"></p>\n";
    if (r.F > 0) {
        h += "<h2>The FAM as working memory</h2><p class=\"cap\">What each block's FAM update attended to (box colour) "
             "and how much each token read the FAM (orange bar).</p>\n<div class=\"row\">";
        for (int l = 0; l < N; l++) h += "<img src=\"memory_write_L" + std::to_string(l) + ".svg\">";
        h += "</div>\n<p><img src=\"fam_change.svg\"></p>\n<p class=\"cap\">The FAM state after each block (rows: "
             "F_0, the initial FAM, then F_1 after block 0, F_2 after block 1, ...; columns: F rows of D values). Colour: "
             "each value's distance from its own mean over time (white = at its mean); raw values in fam_states.npy.</p>\n";
        for (int l = 0; l < N; l++)
            h += "<p>layer " + std::to_string(l) + "<br><img src=\"fam_state_L" + std::to_string(l) + ".png\"></p>\n";
    }
    h += "<h2>Files</h2><pre>";
    for (auto& f : npys) h += xml_escape(f.first + "  " + f.second) + "\n";
    h += "</pre>\n</body></html>\n";
    text("index.html", h);
    return files;
}

// ---- figures for slides -------------------------------------------------------------------------

HeatFigure block_map_figure(const VizRun& r, int tau, int layer, int head, const VizOptions* opt) {
    if (tau < 0 || tau >= r.nblocks) throw std::invalid_argument("block_map_figure: no block " + std::to_string(tau));
    if (layer < 0 || layer >= r.N) throw std::invalid_argument("block_map_figure: no layer " + std::to_string(layer));
    if (head >= r.H) throw std::invalid_argument("block_map_figure: no head " + std::to_string(head));
    const VizBlock& b = r.blocks[layer][tau];
    std::vector<float> v((size_t)b.R * b.C);
    for (int i = 0; i < b.R; i++)
        for (int c = 0; c < b.C; c++) v[(size_t)i * b.C + c] = weight(b, r.H, head, i, c);
    const VizOptions none;
    return block_figure(r, b, opt ? *opt : none, v, head < 0 ? "mean of heads" : "head " + std::to_string(head));
}

HeatFigure memory_write_figure(const VizRun& r, int layer, const VizOptions& opt) {
    if (layer < 0 || layer >= r.N) throw std::invalid_argument("memory_write_figure: no layer " + std::to_string(layer));
    if (r.F == 0) throw std::invalid_argument("memory_write_figure: the model has no FAM (F = 0)");
    const std::vector<float> w = fam_write(r);
    HeatFigure f;
    f.title = r.name + ", layer " + std::to_string(layer) + ": what each block's FAM update wrote (Alg. 2 step 7)";
    HeatPanel p;
    p.rows = r.B;
    p.cols = r.nblocks;
    p.v.assign((size_t)p.rows * p.cols, 0.0f);
    p.cell.assign(p.v.size(), kCellBlank);
    p.text.assign(p.v.size(), "");
    p.row.name = "position in the block";
    p.col.name = "block tau (its update writes F_{tau+1})";
    for (int s = 0; s < r.B; s++) p.row.label.push_back(std::to_string(s));
    for (int tau = 0; tau < r.nblocks; tau++) {
        bool mark = false;
        for (int s = 0; s < r.B && tau * r.B + s < r.T; s++) {
            const int t = tau * r.B + s;
            const size_t k = (size_t)s * p.cols + tau;
            p.text[k] = r.words[t];
            const float x = w[(size_t)layer * r.T + t];
            if (std::isfinite(x)) p.v[k] = x, p.cell[k] = kCellValue;
            mark = mark || marked(&opt, t);
        }
        p.col.label.push_back(std::to_string(tau));
        p.col.mark.push_back(mark);
    }
    f.panels.push_back(p);
    f.cell_px = 25;  // cells wider than tall: room for a word
    f.row_px = 10;
    f.scale = "the FAM update's mass";
    f.blank_caption = "partial block: no FAM update";
    f.notes.push_back("each column is one block, read top to bottom; colour: the attention mass its FAM update put "
                      "on the token (mean over FAM rows and heads)");
    if (!opt.highlight.empty()) {
        const FocusStats fs = focus_stats(r, layer, opt.highlight, opt.queries);
        f.notes.push_back("highlighted tokens: " + num(fs.write_on, 3) + " per token, other tokens of their blocks " +
                          num(fs.write_off, 3) + " (x" + num(fs.write_on / std::max(1e-9f, fs.write_off), 1) + ")");
        if (!opt.queries.empty())
            f.notes.push_back("the answer rows read the FAM with " + num(fs.read_on, 2) + " of their attention, other rows " +
                              num(fs.read_off, 2));
    }
    return f;
}
