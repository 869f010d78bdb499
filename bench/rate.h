// rate.h: the timing loop the benchmark programs share (train_bench, rows_bench).
#pragma once

#include <chrono>
#include <functional>

// Calls per second of fn: `warmup` untimed calls (buffers reach their size), then
// calls until `budget` seconds have passed and at least `min_calls` were made (a
// D = 512 training step takes ~2 s: one call alone would be one noisy sample).
inline double rate(const std::function<void()>& fn, int warmup, double budget, int min_calls) {
    using clock = std::chrono::steady_clock;
    for (int i = 0; i < warmup; i++) fn();
    const clock::time_point t0 = clock::now();
    long n = 0;
    double t = 0;
    do {
        fn();
        n++;
        t = std::chrono::duration<double>(clock::now() - t0).count();
    } while (t < budget || n < min_calls);
    return n / t;
}
