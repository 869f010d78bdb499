// 01_tensors_matmul.cpp: the two things everything else is made of.
//
//   a Tensor      a name, a shape and a row-major float buffer (src/tensor.h)
//   a matmul      y = x W^T through OpenBLAS, the product every layer uses
//                 (src/blas.h), and its backward dx = dy W, dW = dy^T x
//
// Numbers small enough to check by hand. Docs: docs/walkthroughs/01_tensors_matmul.md
// Run: build/walkthroughs/01_tensors_matmul [--out DIR]
#include <cmath>
#include <cstdio>

#include "blas.h"
#include "tensor.h"
#include "app/args.h"
#include "app/npy.h"
#include "app/render.h"
#include "app/viz.h"

int main(int argc, char** argv) {
    ArgParser args("01_tensors_matmul", "Tensors and matmul, by hand and through OpenBLAS.");
    args.option("out", "DIR", "where to write the pictures", "build/walkthroughs/out");
    if (!args.parse(argc - 1, argv + 1)) return 0;
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
    const float wv[6] = {1, 0, -1, 0.5f, 0.5f, 0.5f};
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
    std::printf("      by hand: y[0][0] = 1*1 + 2*0 + 3*(-1) = %.0f, y[1][1] = (4+5+6)*0.5 = %.1f\n",
                y_hand.at(0, 0), y_hand.at(1, 1));
    std::printf("      max |blas - by hand| = %.1e\n\n", max_abs_diff(y.data, y_hand.data, 4));

    std::printf("[4/5] its backward: given dy = dL/dy, dx = dy W and dW = dy^T x (accumulated)\n");
    Tensor dy("dy", {2, 2}), dx("dx = dy W", {2, 3}), dW("dW = dy^T x", {2, 3});
    dy.at(0, 0) = 1;  // L = y[0][0] + 2 y[1][1], so dy = [[1, 0], [0, 2]]
    dy.at(1, 1) = 2;
    matmul_backward(dx.data, dW.data, dy.data, x.data, W.data, 2, 3, 2, Trans::BT);
    std::printf("      L = y[0][0] + 2 y[1][1]\n%s%s", tensor_str(dx, 6, 8, 1).c_str(), tensor_str(dW, 6, 8, 1).c_str());
    // finite difference on one weight: dL/dW[1][2] = 2 * x[1][2] = 12
    auto loss = [&]() {
        Tensor t("t", {2, 2});
        matmul_forward(t.data, x.data, W.data, 2, 3, 2, Trans::BT);
        return (double)t.at(0, 0) + 2.0 * t.at(1, 1);
    };
    const float h = 1e-2f;
    W.at(1, 2) += h;
    double up = loss();
    W.at(1, 2) -= 2 * h;
    double down = loss();
    W.at(1, 2) += h;
    std::printf("      check dW[1][2]: backward %.3f, finite difference (L(w+h) - L(w-h)) / 2h = %.3f, by hand 2 * x[1][2] = 12\n\n",
                dW.at(1, 2), (up - down) / (2 * h));

    std::printf("[5/5] a bigger product, seeded: OpenBLAS against the triple loop\n");
    Rng rng(1);
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

    std::printf("try next: change W in [3/5] and predict y before you run; change L in [4/5] to y[1][0]\n"
                "          and predict dx and dW by hand; read src/blas.cpp: matmul_forward is one cblas_sgemm.\n");
    std::printf("set a breakpoint at matmul_forward (src/blas.cpp) and look at its operands:\n"
                "          gdb -x tools/gdb/tensor_printer.py --args build/walkthroughs/01_tensors_matmul\n"
                "          (gdb) break matmul_forward\n          (gdb) run\n"
                "          (gdb) info args         (M = 2, K = 3, N = 2: the product of [3/5])\n"
                "          (gdb) p *a@6             (x: 1 2 3 4 5 6)\n"
                "          (gdb) up                 (back in main: x is a Tensor)\n"
                "          (gdb) p x                (the pretty-printer shows name, shape and values)\n");
    return 0;
}
