#!/usr/bin/env python3
"""side_by_side.py CPP.jsonl PEER.jsonl: one table of build/bench/train_bench --json
next to bench/peer/train_peer.py --json, with the ratios and the goals of issue 12.
Plain Python (no torch); `make bench-peer` runs it (mk/bench_peer.mk)."""

import json
import re
import sys


def load(path):
    with open(path) as f:
        return {j["config"]: j for j in (json.loads(line) for line in f if line.strip().startswith("{"))}


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: side_by_side.py TRAIN_BENCH.jsonl TRAIN_PEER.jsonl")
    cpp, peer = load(sys.argv[1]), load(sys.argv[2])
    if not cpp:
        sys.exit(f"side_by_side.py: no configurations in {sys.argv[1]}")
    first = next(iter(cpp.values()))
    torch_v = next(iter(peer.values()), {}).get("torch", "?")
    print(f"CPU: {first['cpu']}; OpenBLAS kernel: {first['blas_core']} ({first.get('blas_core_source', '?')}); "
          f"threads: {first['threads']}; PyTorch {torch_v}")
    print(f"sgemm peak (n = 1024, same run): {first['sgemm_peak_gflops']:.1f} GFLOP/s"
          + ("   [--quick: rough numbers]" if first.get("quick") else ""))
    print()
    print("| config | C++ train tok/s | PyTorch train tok/s | ratio | C++ fwd tok/s | PyTorch fwd tok/s | ratio "
          "| C++ fwd GFLOP/s (of peak) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, c in cpp.items():
        p = peer.get(name)
        ratio = lambda a, b: f"{a / b:.1f}x" if b else "-"
        pt, pf = (p["train_tok_s"], p["forward_tok_s"]) if p else (0, 0)
        print(f"| {name} | {c['train_tok_s']:,} | {pt:,} | {ratio(c['train_tok_s'], pt)} | {c['forward_tok_s']:,} "
              f"| {pf:,} | {ratio(c['forward_tok_s'], pf)} | {c['forward_gflops']:.1f} ({100 * c['share_of_peak']:.0f}%) |")

    # the goals of issue 12, on these numbers
    print()
    goals = []
    by = lambda kind, D: next(((n, c) for n, c in cpp.items() if n.startswith(kind + " D" + str(D) + " ")), (None, None))
    fam64, bswa64 = by("FAM", 64), by("BSWA", 64)
    fam512, bswa512 = by("FAM", 512), by("BSWA", 512)
    if fam64[0] in peer:
        r = fam64[1]["train_tok_s"] / peer[fam64[0]]["train_tok_s"]
        goals.append((f"FAM toy training >= 10x PyTorch: {r:.1f}x", r >= 10))
    for n, c in (fam512, bswa512):
        if n in peer:
            r = c["train_tok_s"] / peer[n]["train_tok_s"]
            goals.append((f"{n.split(' ')[0]} D512 training >= 3x PyTorch: {r:.1f}x", r >= 3))
    if fam512[0]:
        s = fam512[1]["share_of_peak"]
        goals.append((f"D512 FAM forward >= 60% of the sgemm peak: {100 * s:.0f}%", s >= 0.6))
    if fam512[0] and bswa512[0]:
        F = int(re.search(r" F(\d+)", fam512[0]).group(1))
        B = int(re.search(r" B(\d+)", fam512[0]).group(1))
        bound = 1 + F / B + 0.05
        for key, what in (("train_tok_s", "training"), ("forward_tok_s", "forward")):
            r = bswa512[1][key] / fam512[1][key]  # time per token, FAM over BSWA
            goals.append((f"D512 {what}: FAM time <= BSWA time x (1 + F/B + 5%) = x{bound:.2f}: x{r:.2f}", r <= bound))
    for text, ok in goals:
        print(f"{'met    ' if ok else 'NOT met'}  {text}")


if __name__ == "__main__":
    main()
