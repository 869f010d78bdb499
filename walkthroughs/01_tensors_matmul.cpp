// 01_tensors_matmul.cpp: the two things everything else is made of.
//
//   a Tensor      a name, a shape and a row-major float buffer (src/tensor.h)
//   a matmul      y = x W^T through OpenBLAS, the product every layer uses
//                 (src/blas.h), and its backward dx = dy W, dW = dy^T x
//
// Numbers small enough to check by hand. Docs: docs/walkthroughs/01_tensors_matmul.md
// Run: build/walkthroughs/01_tensors_matmul [--out DIR] [--W w00,..,w12] [--dy d00,..,d11] [--seed S]
// (--help lists them; the defaults give the output shown in the docs)
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "blas.h"
#include "tensor.h"
#include "app/args.h"
#include "app/npy.h"
#include "app/render.h"
#include "app/viz.h"

// "1,0,-1" -> {1, 0, -1}, exactly n numbers, else UsageError naming the flag.
static std::vector<float> float_list(const ArgParser& args, const std::string& name, size_t n) {
    std::vector<float> v;
    const std::string s = args.str(name);
    size_t i = 0;
    while (i <= s.size()) {
        size_t j = s.find(',', i);
        if (j == std::string::npos) j = s.size();
        const std::string item = s.substr(i, j - i);
        char* end = nullptr;
        const double x = std::strtod(item.c_str(), &end);
        if (item.empty() || *end) throw UsageError(args.command() + ": --" + name + ": '" + item + "' is not a number");
        v.push_back((float)x);
        i = j + 1;
    }
    if (v.size() != n)
        throw UsageError(args.command() + ": --" + name + " needs " + std::to_string(n) + " numbers, got " +
                         std::to_string(v.size()));
    return v;
}

// "3*(-1)": a factor in parentheses when negative, as one writes it by hand.
static std::string factor(float x) {
    char b[32];
    std::snprintf(b, sizeof b, x < 0 ? "(%g)" : "%g", x);
    return b;
}

static int run(int argc, char** argv) {
    ArgParser args("01_tensors_matmul", "Tensors and matmul, by hand and through OpenBLAS.");
    args.option("out", "DIR", "where to write the pictures", "build/walkthroughs/out")
        .option("W", "w00,w01,w02,w10,w11,w12", "the weight W [2, 3] of [3/5], row by row", "1,0,-1,0.5,0.5,0.5")
        .option("dy", "d00,d01,d10,d11", "dL/dy [2, 2] of [4/5]: the loss is L = sum_ij dy[i][j] y[i][j]", "1,0,0,2")
        .option("seed", "S", "seed of the random a, b of [5/5]", "1");
    if (!args.parse(argc - 1, argv + 1)) return 0;
    const std::vector<float> wv = float_list(args, "W", 6), dyv = float_list(args, "dy", 4);
    const std::string out = args.str("out") + "/01";
    make_dirs(out);
    blas_set_threads(1);

    std::printf("[1/5] a Tensor is a name, a shape and one row-major float buffer\n");
    Tensor x("x", {2, 3});
    for (int i = 0; i < 6; i++) x.data[i] = (float)(i + 1);  // 1 2 3 / 4 5 6
    std::printf("%s", tensor_str(x, 6, 8, 1).c_str());
    std::printf("      x.at(1, 2) = %.0f is x.data[1*3 + 2] = x.data[5] = %.0f (row i starts at i * row_size)\n\n",
                x.at(1, 2), x.data[5]);

    std::printf("[2/5] a view shares the buffer: slice_rows(1, 1) is row 1, no copy\n");
    Tensor row1 = x.slice_rows(1, 1);
    row1.data[0] = 40.0f;  // write through the view
    std::printf("      row1.data == x.data + 3: %s; after row1.data[0] = 40, x.at(1, 0) = %.0f\n",
                row1.data == x.data + 3 ? "yes" : "no", x.at(1, 0));
    row1.data[0] = 4.0f;
    std::printf("      (set back to 4)\n\n");

    std::printf("[3/5] y = x W^T, the linear layer's product: y[i][j] = sum_k x[i][k] W[j][k]\n");
    Tensor W("W", {2, 3});
    for (int i = 0; i < 6; i++) W.data[i] = wv[i];
    std::printf("%s", tensor_str(W, 6, 8, 1).c_str());
    Tensor y("y = x W^T (OpenBLAS)", {2, 2}), y_hand("y by hand", {2, 2});
    matmul_forward(y.data, x.data, W.data, 2, 3, 2, Trans::BT);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            float s = 0;
            for (int k = 0; k < 3; k++) s += x.at(i, k) * W.at(j, k);
            y_hand.at(i, j) = s;
        }
    std::printf("%s", tensor_str(y, 6, 8, 1).c_str());
    // y[1][1] = (4+5+6)*w when row 1 of W is constant, else written out term by term
    const std::string y11 = W.at(1, 0) == W.at(1, 1) && W.at(1, 1) == W.at(1, 2)
                                ? "(4+5+6)*" + factor(W.at(1, 0))
                                : "4*" + factor(W.at(1, 0)) + " + 5*" + factor(W.at(1, 1)) + " + 6*" + factor(W.at(1, 2));
    std::printf("      by hand: y[0][0] = 1*%s + 2*%s + 3*%s = %g, y[1][1] = %s = %g\n", factor(W.at(0, 0)).c_str(),
                factor(W.at(0, 1)).c_str(), factor(W.at(0, 2)).c_str(), y_hand.at(0, 0), y11.c_str(), y_hand.at(1, 1));
    std::printf("      max |blas - by hand| = %.1e\n\n", max_abs_diff(y.data, y_hand.data, 4));

    std::printf("[4/5] its backward: given dy = dL/dy, dx = dy W and dW = dy^T x (accumulated)\n");
    Tensor dy("dy", {2, 2}), dx("dx = dy W", {2, 3}), dW("dW = dy^T x", {2, 3});
    for (int i = 0; i < 4; i++) dy.data[i] = dyv[i];  // default L = y[0][0] + 2 y[1][1]: dy = [[1, 0], [0, 2]]
    matmul_backward(dx.data, dW.data, dy.data, x.data, W.data, 2, 3, 2, Trans::BT);
    std::string L_text, fd_text;  // "y[0][0] + 2 y[1][1]" and the by-hand dL/dW[1][2] = sum_i dy[i][1] x[i][2]
    double fd_hand = 0;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            const float d = dy.at(i, j);
            if (d == 0) continue;
            char coef[32] = "";  // "2 " for 2, nothing for 1
            if (std::fabs(d) != 1) std::snprintf(coef, sizeof coef, "%g ", std::fabs(d));
            char term[64];
            std::snprintf(term, sizeof term, "%s%sy[%d][%d]",
                          L_text.empty() ? (d < 0 ? "-" : "") : (d < 0 ? " - " : " + "), coef, i, j);
            L_text += term;
        }
    for (int i = 0; i < 2; i++) {
        const float d = dy.at(i, 1);
        if (d == 0) continue;
        char term[64];
        if (d == 1) std::snprintf(term, sizeof term, "%sx[%d][2]", fd_text.empty() ? "" : " + ", i);
        else std::snprintf(term, sizeof term, "%s%s * x[%d][2]", fd_text.empty() ? "" : " + ", factor(d).c_str(), i);
        fd_text += term;
        fd_hand += (double)d * x.at(i, 2);
    }
    if (L_text.empty()) L_text = "0";
    if (fd_text.empty()) fd_text = "dy[0][1] x[0][2] + dy[1][1] x[1][2]";
    std::printf("      L = %s\n%s%s", L_text.c_str(), tensor_str(dx, 6, 8, 1).c_str(), tensor_str(dW, 6, 8, 1).c_str());
    // finite difference on one weight: dL/dW[1][2] = sum_i dy[i][1] x[i][2] (default 2 * x[1][2] = 12)
    auto loss = [&]() {
        Tensor t("t", {2, 2});
        matmul_forward(t.data, x.data, W.data, 2, 3, 2, Trans::BT);
        double s = 0;
        for (int i = 0; i < 4; i++) s += (double)dy.data[i] * t.data[i];
        return s;
    };
    const float h = 1e-2f;
    W.at(1, 2) += h;
    double up = loss();
    W.at(1, 2) -= 2 * h;
    double down = loss();
    W.at(1, 2) += h;
    std::printf("      check dW[1][2]: backward %.3f, finite difference (L(w+h) - L(w-h)) / 2h = %.3f, by hand %s = %g\n\n",
                dW.at(1, 2), (up - down) / (2 * h), fd_text.c_str(), fd_hand);

    std::printf("[5/5] a bigger product, seeded: OpenBLAS against the triple loop\n");
    Rng rng((uint64_t)args.integer("seed", 0));
    Tensor a("a", {64, 48}), b("b", {32, 48}), c("c = a b^T", {64, 32}), c_ref("c_naive", {64, 32});
    fill_normal(a, rng, 1.0f);
    fill_normal(b, rng, 1.0f);
    matmul_forward(c.data, a.data, b.data, 64, 48, 32, Trans::BT);
    gemm_naive(false, true, 64, 32, 48, 1.0f, a.data, 48, b.data, 48, 0.0f, c_ref.data, 32);
    std::printf("%s", tensor_str(c, 2, 6, 4).c_str());
    std::printf("      max |blas - naive| = %.1e over %zu entries (float rounding: the sums run in another order)\n",
                max_abs_diff(c.data, c_ref.data, c.size()), c.size());
    std::printf("      BLAS: %s\n\n", blas_name());

    npy_save_f32(out + "/a.npy", a.data, {64, 48});
    npy_save_f32(out + "/b.npy", b.data, {32, 48});
    npy_save_f32(out + "/c.npy", c.data, {64, 32});
    write_file_atomic(out + "/c.svg", heatmap_svg(c.data, 64, 32, 6, "c = a b^T, [64, 32]"));
    std::printf("wrote %s/{a,b,c}.npy and c.svg (in Python: np.allclose(c, a @ b.T, atol=1e-4))\n\n", out.c_str());

    std::printf("try next: predict y for another W in [3/5], then run\n"
                "            build/walkthroughs/01_tensors_matmul --W 0,1,0,1,1,1\n"
                "          predict dx and dW by hand for L = y[1][0] in [4/5] (dL/dy = [[0, 0], [1, 0]]), then run\n"
                "            build/walkthroughs/01_tensors_matmul --dy 0,0,1,0\n"
                "          another random a, b in [5/5]: build/walkthroughs/01_tensors_matmul --seed 2\n"
                "          read src/blas.cpp: matmul_forward is one cblas_sgemm.\n");
    std::printf("set a breakpoint at matmul_forward (src/blas.cpp) and look at its operands:\n"
                "          gdb -x tools/gdb/tensor_printer.py --args build/walkthroughs/01_tensors_matmul\n"
                "          (gdb) break matmul_forward\n          (gdb) run\n"
                "          (gdb) info args         (M = 2, K = 3, N = 2: the product of [3/5])\n"
                "          (gdb) p *a@6             (x: 1 2 3 4 5 6)\n"
                "          (gdb) up                 (back in main: x is a Tensor)\n"
                "          (gdb) p x                (the pretty-printer shows name, shape and values)\n");
    return 0;
}

int main(int argc, char** argv) { return run_program("01_tensors_matmul", argc, argv, run); }
