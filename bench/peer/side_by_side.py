#!/usr/bin/env python3
"""side_by_side.py CPP.jsonl PEER.jsonl [CPP2.jsonl PEER2.jsonl ...]: one table of
build/bench/train_bench --json next to bench/peer/train_peer.py --json, with the
ratios and the goals of issue 12.

Each pair of files is one round (the C++ run, then the PyTorch run right after it).
With several rounds, every figure is the median over the rounds, ratios are taken
within a round and then their median is shown with the range, and each goal says in
how many rounds it was met: on a 2-core machine one run of either program can move by
a third, so one round decides nothing near a threshold.
Plain Python (no torch); `make bench-peer` runs it (mk/bench_peer.mk)."""

import json
import re
import statistics
import sys


def load(path):
    with open(path) as f:
        return {j["config"]: j for j in (json.loads(line) for line in f if line.strip().startswith("{"))}


def spread(values, fmt):
    """'median' for one value, 'median (min-max)' for several."""
    m = statistics.median(values)
    if len(values) == 1:
        return fmt(m)
    return f"{fmt(m)} ({fmt(min(values))}-{fmt(max(values))})"


def tok(x):
    return f"{x:,.0f}"


def times(x):
    return f"{x:.1f}x"


def main():
    args = sys.argv[1:]
    if len(args) < 2 or len(args) % 2:
        sys.exit("usage: side_by_side.py TRAIN_BENCH.jsonl TRAIN_PEER.jsonl [more pairs, one per round]")
    rounds = [(load(args[i]), load(args[i + 1])) for i in range(0, len(args), 2)]
    for (cpp, _), path in zip(rounds, args[::2]):
        if not cpp:
            sys.exit(f"side_by_side.py: no configurations in {path}")
    cpp0, peer0 = rounds[0]
    first = next(iter(cpp0.values()))
    torch_v = next(iter(peer0.values()), {}).get("torch", "?")
    R = len(rounds)
    print(f"CPU: {first['cpu']}; OpenBLAS kernel: {first['blas_core']} ({first.get('blas_core_source', '?')}); "
          f"threads: {first['threads']}; PyTorch {torch_v}")
    peaks = [next(iter(c.values()))["sgemm_peak_gflops"] for c, _ in rounds]
    print(f"sgemm peak (n = 1024, same run): {spread(peaks, lambda x: f'{x:.1f}')} GFLOP/s"
          + ("   [--quick: rough numbers]" if first.get("quick") else ""))
    if R > 1:
        print(f"{R} rounds (C++ then PyTorch, alternating): medians, (min-max) over the rounds")
    print()

    def per_round(name, fn):
        """fn(cpp_row, peer_row or None) for every round that has the configuration."""
        return [fn(c[name], p.get(name)) for c, p in rounds if name in c]

    def ratio(key):
        return lambda c, p: c[key] / p[key] if p and p[key] else None

    print("| config | C++ train tok/s | PyTorch train tok/s | ratio | C++ fwd tok/s | PyTorch fwd tok/s | ratio "
          "| C++ fwd of peak | C++ train of peak |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in cpp0:
        cols = [name]
        for key in ("train_tok_s", "forward_tok_s"):
            cols.append(spread(per_round(name, lambda c, p: c[key]), tok))
            peer_vals = [v for v in per_round(name, lambda c, p: p[key] if p else None) if v]
            cols.append(spread(peer_vals, tok) if peer_vals else "-")
            ratios = [r for r in per_round(name, ratio(key)) if r]
            cols.append(spread(ratios, times) if ratios else "-")
        pct = lambda x: f"{100 * x:.0f}%"
        cols.append(spread(per_round(name, lambda c, p: c["share_of_peak"]), pct))
        train_share = per_round(name, lambda c, p: c.get("train_share_of_peak"))
        cols.append(spread(train_share, pct) if all(x is not None for x in train_share) else "-")
        print("| " + " | ".join(cols) + " |")

    # the goals of issue 12, on these numbers: judged on the median, counted per round
    print()
    goals = []

    def goal(text, values, ok):
        values = [v for v in values if v is not None]
        if not values:
            return
        met = sum(1 for v in values if ok(v))
        where = f"; met in {met} of {len(values)} rounds" if len(values) > 1 else ""
        goals.append((f"{text}: {spread(values, lambda x: f'{x:.3f}')}{where}", ok(statistics.median(values))))

    by = lambda kind, D: next((n for n in cpp0 if n.startswith(kind + " D" + str(D) + " ")), None)
    fam64, fam512, bswa512 = by("FAM", 64), by("FAM", 512), by("BSWA", 512)
    if fam64:
        goal("FAM toy training >= 10x PyTorch", per_round(fam64, ratio("train_tok_s")), lambda r: r >= 10)
    for n in (fam512, bswa512):
        if n:
            goal(f"{n.split(' ')[0]} D512 training >= 3x PyTorch", per_round(n, ratio("train_tok_s")),
                 lambda r: r >= 3)
    if fam512:
        goal("D512 FAM forward >= 60% of the sgemm peak (share)", per_round(fam512, lambda c, p: c["share_of_peak"]),
             lambda s: s >= 0.6)
    note = None
    if fam512 and bswa512:
        F = int(re.search(r" F(\d+)", fam512).group(1))
        B = int(re.search(r" B(\d+)", fam512).group(1))
        bound = 1 + F / B + 0.05
        for key, what in (("train_tok_s", "training"), ("forward_tok_s", "forward")):
            # time per token, FAM over BSWA, within each round
            r = [c[bswa512][key] / c[fam512][key] for c, _ in rounds if fam512 in c and bswa512 in c]
            goal(f"D512 {what}: FAM time <= BSWA time x (1 + F/B + 5%) = x{bound:.2f}", r, lambda x: x <= bound)
        fl = cpp0[fam512].get("forward_gflop_per_seq"), cpp0[bswa512].get("forward_gflop_per_seq")
        if all(fl):
            note = (f"(D512 matrix-product FLOPs per sequence, FAM / BSWA: {fl[0]:.3f} / {fl[1]:.3f} GFLOP "
                  f"= x{fl[0] / fl[1]:.3f}: the time ratio at equal speed per FLOP)")
    for text, ok in goals:
        print(f"{'met    ' if ok else 'NOT met'}  {text}")
    if note:
        print(note)


if __name__ == "__main__":
    main()
