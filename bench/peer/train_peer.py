#!/usr/bin/env python3
"""train_peer.py: the PyTorch peer of bench/train_bench.cpp.

The model of docs/spec.md written plainly in PyTorch, the way a user would write
it (batch-first tensors, nn.Linear without bias, nn.LayerNorm, autograd, AdamW),
timed on the same four model shapes as build/bench/train_bench (the six rows of
issue 12's table: training and forward of FAM and BSWA at D = 64 and D = 512):

  - training step: forward, cross-entropy on every position, backward, AdamW
    (weight decay 0.1 on matrices), the whole batch at once;
  - forward: forward + loss under torch.no_grad().

Same shapes as the C++, so the same FLOPs: attention multiplies every key column
[M*B memory | F FAM | B block] of every block, memory blocks before block 0 being
zero rows that the mask hides (as src/fam_layer.cpp does). One difference: the
FAM prompt pass (App. B.1) runs once per batch here (every sequence starts from
the same initial FAM) and once per sequence in the C++. That pass is F rows
through N-1 layers: 1% of a sequence's FLOPs for the toy model (bs16: the peer
does ~0.9% less work) and 3.5% at D = 512 (bs2: ~1.8% less).

    python3 bench/peer/train_peer.py             # table, about 2 minutes on 2 cores
    python3 bench/peer/train_peer.py --json      # one JSON object per configuration
    python3 bench/peer/train_peer.py --quick     # half a second per measurement

Not bit-exact with the C++ (other summation orders), and not needed by any build
or test: `make bench-peer` (mk/bench_peer.mk) installs python3-torch and prints
it side by side with train_bench.
"""

import argparse
import json
import math
import os
import platform
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as Fn
except ImportError:
    sys.exit("train_peer.py: PyTorch not found; run: apt-get install -y python3-torch  (or: make bench-peer)")


# ---- the configurations (bench/train_bench.cpp, same names) ----------------------

class Cfg:
    def __init__(self, attention, D, H, N, Dff, B, M, F, T, batch, V=64, rope_base=10000.0):
        self.attention, self.D, self.H, self.N, self.Dff = attention, D, H, N, Dff
        self.B, self.M, self.F, self.T, self.batch, self.V = B, M, F, T, batch, V
        self.Dh = D // H
        self.rope_base = rope_base

    def name(self):
        fam = self.attention == "fam"
        return (("FAM" if fam else "BSWA") + f" D{self.D} H{self.H} N{self.N} Dff{self.Dff} B{self.B} M{self.M}"
                + (f" F{self.F}" if fam else "") + f" T{self.T} bs{self.batch}")


CONFIGS = [
    Cfg("fam", 64, 4, 2, 256, 16, 0, 8, 256, 16),        # the PassKey toy model of `fam train`
    Cfg("bswa", 64, 4, 2, 256, 16, 1, 0, 256, 16),       # its BSWA twin with one memory block
    Cfg("fam", 512, 8, 6, 2048, 256, 1, 64, 1024, 2),    # a wider, deeper FAM
    Cfg("bswa", 512, 8, 6, 2048, 256, 1, 0, 1024, 2),    # its BSWA twin
]


def forward_flops(c):
    """Matrix-product FLOPs of one sequence's forward, counted as train_bench counts them."""
    lin = lambda rows, i, o: 2.0 * rows * i * o
    att = lambda R, C: 4.0 * R * C * c.D
    out = lambda R: lin(R, c.D, c.D) + lin(R, c.D, c.Dff) + lin(R, c.Dff, c.D)
    nblocks = (c.T + c.B - 1) // c.B
    C = c.M * c.B + c.F + c.B
    layer = 3 * lin(c.T, c.D, c.D) + out(c.T)
    for tau in range(nblocks):
        ln = min(c.B, c.T - tau * c.B)
        layer += att(ln, C)
        if c.F > 0:
            layer += 3 * lin(c.F, c.D, c.D)
            if ln == c.B:
                layer += att(c.F, c.F + c.B) + out(c.F)
    total = c.N * layer + lin(c.T, c.D, c.V)
    if c.F > 0:
        total += (c.N - 1) * (3 * lin(c.F, c.D, c.D) + att(c.F, c.F) + out(c.F))
    return total


# ---- the model (docs/spec.md "One layer", "The FAM") ------------------------------

def rope(x, pos, base):
    """Rotate-half RoPE. x [..., R, H, Dh], pos [R] float positions."""
    Dh = x.shape[-1]
    half = Dh // 2
    theta = base ** (-2.0 * torch.arange(half, dtype=torch.float64) / Dh)          # [Dh/2]
    ang = pos.double()[:, None] * theta[None, :]                                    # [R, Dh/2]
    cos, sin = ang.cos().float()[:, None, :], ang.sin().float()[:, None, :]         # [R, 1, Dh/2]
    x0, x1 = x[..., :half], x[..., half:]
    return torch.cat([x0 * cos - x1 * sin, x0 * sin + x1 * cos], dim=-1)


def attend(q, k, v, mask=None):
    """q [bs, R, H, Dh], k/v [bs, C, H, Dh], mask [R, C] bool or None -> [bs, R, H*Dh]."""
    s = torch.einsum("brhd,bchd->bhrc", q, k) / math.sqrt(q.shape[-1])              # [bs, H, R, C]
    if mask is not None:
        s = s.masked_fill(~mask, float("-inf"))
    p = torch.softmax(s, dim=-1)
    o = torch.einsum("bhrc,bchd->brhd", p, v)                                       # [bs, R, H, Dh]
    return o.reshape(o.shape[0], o.shape[1], -1)


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        D = c.D
        self.ln1, self.ln2 = nn.LayerNorm(D, eps=1e-5), nn.LayerNorm(D, eps=1e-5)
        self.wq, self.wk, self.wv, self.wo = (nn.Linear(D, D, bias=False) for _ in range(4))
        self.w1, self.w2 = nn.Linear(D, c.Dff, bias=False), nn.Linear(c.Dff, D, bias=False)

    def qkv(self, x, pos):
        """x [bs, R, D] -> q, k (after RoPE), v, each [bs, R, H, Dh]."""
        bs, R, _ = x.shape
        h = self.ln1(x)
        split = lambda y: y.view(bs, R, self.c.H, self.c.Dh)
        q = rope(split(self.wq(h)), pos, self.c.rope_base)
        k = rope(split(self.wk(h)), pos, self.c.rope_base)
        return q, k, split(self.wv(h))

    def out(self, resid, att):
        """A = resid + att Wo^T; O = A + W2 gelu(W1 LN2(A)). resid None = zero residual."""
        a = self.wo(att) if resid is None else resid + self.wo(att)
        return a + self.w2(Fn.gelu(self.w1(self.ln2(a)), approximate="tanh"))

    def forward(self, x, fam, fresh):
        """One layer over the sequence, block by block. x [bs, T, D], fam [bs, F, D] or None."""
        c = self.c
        bs, T, D = x.shape
        B, M, F = c.B, c.M, c.F
        pos = torch.arange(T, dtype=torch.float32)
        q, k, v = self.qkv(x, pos)                                          # [Alg.2 step 1] all tokens
        # memory blocks before block 0 are zero rows, hidden by the mask
        zeros = torch.zeros(bs, M * B, c.H, c.Dh)
        kpad, vpad = torch.cat([zeros, k], 1), torch.cat([zeros, v], 1)     # [bs, M*B + T, H, Dh]
        fam_pos = torch.arange(-F, 0, dtype=torch.float32)
        atts = []
        for tau in range((T + B - 1) // B):
            t0, ln = tau * B, min(B, T - tau * B)
            keys = [kpad[:, t0:t0 + M * B]]                                 # [Alg.2 step 3] memory
            vals = [vpad[:, t0:t0 + M * B]]
            if F > 0:
                qF, kF, vF = self.qkv(fam, fam_pos)                         # [Alg.2 step 2]
                keys.append(kF)
                vals.append(vF)
            keys.append(k[:, t0:t0 + ln])
            vals.append(v[:, t0:t0 + ln])
            K, Vv = torch.cat(keys, 1), torch.cat(vals, 1)                  # [bs, M*B + F + ln, H, Dh]
            mask = torch.ones(ln, M * B + F + ln, dtype=torch.bool)
            mask[:, :M * B] = torch.arange(M * B) >= (M - min(tau, M)) * B  # absent memory blocks
            mask[:, M * B + F:] = torch.tril(torch.ones(ln, ln, dtype=torch.bool))  # causal block
            atts.append(attend(q[:, t0:t0 + ln], K, Vv, mask))              # [Alg.2 step 4]
            if F > 0 and ln == B:                                           # [Alg.2 steps 6-8]
                Kt = torch.cat([kF, k[:, t0:t0 + B]], 1)
                Vt = torch.cat([vF, v[:, t0:t0 + B]], 1)
                fam = self.out(None if fresh else fam, attend(qF, Kt, Vt))
                fam_pos = torch.arange(t0 + B - F, t0 + B, dtype=torch.float32)
                fresh = False
        return self.out(x, torch.cat(atts, 1)), fam                        # [Alg.2 steps 4b-5]


class Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.tok_emb = nn.Embedding(c.V, c.D)
        self.fam_prompt = nn.Parameter(torch.randn(c.F, c.D)) if c.F > 0 else None
        self.layers = nn.ModuleList(Layer(c) for _ in range(c.N))
        self.lnf = nn.LayerNorm(c.D, eps=1e-5)
        self.lm_head = nn.Linear(c.D, c.V, bias=False)

    def forward(self, tokens):
        c = self.c
        x = self.tok_emb(tokens)                                            # [bs, T, D]
        fams = [None] * c.N
        if c.F > 0:  # [App. B.1] prompt pass: P^(l+1) = Layer_l(P^l), bidirectional, positions -F..-1
            p = self.fam_prompt[None]
            pos = torch.arange(-c.F, 0, dtype=torch.float32)
            for l, layer in enumerate(self.layers):
                fams[l] = p.expand(tokens.shape[0], -1, -1)
                if l + 1 < c.N:
                    q, k, v = layer.qkv(p, pos)
                    p = layer.out(p, attend(q, k, v))
        for l, layer in enumerate(self.layers):
            x, _ = layer(x, fams[l], fresh=True)
        return self.lm_head(self.lnf(x))                                    # [bs, T, V]


# ---- timing ---------------------------------------------------------------------------

def rate(fn, warmup, budget, min_calls):
    """Calls per second: `warmup` untimed calls, then calls until `budget` seconds
    have passed and at least `min_calls` were made (as train_bench does)."""
    for _ in range(warmup):
        fn()
    t0, n = time.perf_counter(), 0
    while True:
        fn()
        n += 1
        t = time.perf_counter() - t0
        if t >= budget and n >= min_calls:
            return n / t


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    ap = argparse.ArgumentParser(description="PyTorch peer of bench/train_bench: training-step and forward "
                                 "tok/s of the spec's model on the same shapes")
    ap.add_argument("--quick", action="store_true", help="half a second per measurement, no warmup, no minimum number of calls")
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2)")
    ap.add_argument("--json", action="store_true", help="one JSON object per configuration")
    ap.add_argument("--only", default="", help="run only configurations whose name contains this text")
    a = ap.parse_args()
    if a.threads < 1:
        sys.exit(f"train_peer.py: --threads needs a positive integer, got {a.threads}")
    torch.set_num_threads(a.threads)
    torch.manual_seed(1234)
    budget, warmup, min_calls = (0.5, 0, 1) if a.quick else (3.0, 1, 3)
    if not a.json:
        print(f"train_peer: PyTorch {torch.__version__}, {a.threads} threads, CPU: {cpu_model()}")
        print(f"{'config':46s} {'train tok/s':>12s} {'fwd tok/s':>12s} {'GFLOP/s':>9s}", flush=True)
    for c in CONFIGS:
        if a.only and a.only not in c.name():
            continue
        model = Model(c)
        decay = [p for n, p in model.named_parameters() if p.dim() == 2 and "fam_prompt" not in n and "emb" not in n]
        other = [p for n, p in model.named_parameters() if not any(p is d for d in decay)]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}],
                                lr=1e-3)
        g = torch.Generator().manual_seed(99)
        seq = torch.randint(0, c.V, (c.batch, c.T + 1), generator=g)
        inp, tgt = seq[:, :-1], seq[:, 1:]

        def forward():
            with torch.no_grad():
                logits = model(inp)
                return Fn.cross_entropy(logits.reshape(-1, c.V), tgt.reshape(-1))

        def train_step():
            logits = model(inp)
            loss = Fn.cross_entropy(logits.reshape(-1, c.V), tgt.reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            return loss

        fwd = rate(forward, warmup, budget, min_calls)
        train = rate(train_step, warmup, budget, min_calls)
        if not math.isfinite(float(forward())):
            sys.exit(f"train_peer.py: {c.name()}: the loss is not finite")
        tokens = c.T * c.batch
        gflops = fwd * c.batch * forward_flops(c) / 1e9
        if a.json:
            print(json.dumps({"config": c.name(), "train_tok_s": round(train * tokens),
                              "forward_tok_s": round(fwd * tokens), "forward_gflops": round(gflops, 2),
                              "threads": a.threads, "quick": a.quick, "cpu": cpu_model(),
                              "torch": torch.__version__}), flush=True)
        else:
            print(f"{c.name():46s} {train * tokens:12.0f} {fwd * tokens:12.0f} {gflops:9.1f}", flush=True)


if __name__ == "__main__":
    main()
