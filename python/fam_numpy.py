#!/usr/bin/env python3
"""fam_numpy.py: the TransformerFAM model of docs/spec.md in plain NumPy (float64).

A third, independent reading of the contract, for Python users: it takes a
checkpoint loaded by famio.py and returns the same next-token logits as
`fam forward` (and the same final FAM), to about 1e-6 relative to the largest
logit (float64 here, float32 in the C++; tests/test_python.cpp holds it to 1e-5).

    python3 python/fam_numpy.py MODEL.safetensors --tokens 3,1,4,1,5 [--out logits.npy]

It walks the blocks the way the paper's Algorithm 2 does (one block of one
layer at a time, the FAM carried from block to block), with explicit key lists
rather than masks. Paper: Hwang et al., "TransformerFAM: Feedback attention is
working memory", arXiv 2404.09173. Tags such as [Alg.2 step 3] name the step.

Shapes are in comments: T tokens, D width, H heads of width Dh, F FAM rows,
B block size, M memory segments, V vocabulary, Dff feed-forward width.
"""

import argparse
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import famio  # noqa: E402  (the readers; numpy only)

LN_EPS = 1e-5  # docs/spec.md, "One layer"


# ---- the pieces of one layer (docs/spec.md, "One layer") ---------------------------

def layernorm(x, g, b):
    """x [R, D] -> [R, D]: per row, (x - mean) / sqrt(biased var + 1e-5) * g + b."""
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + LN_EPS) * g + b


def gelu(u):
    """The tanh form of GELU (not the erf form)."""
    return 0.5 * u * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (u + 0.044715 * u ** 3)))


def rope(x, pos, H, base):
    """x [R, D] (H heads of Dh), pos [R] -> [R, D]: rotate coordinate i with i + Dh/2
    ("rotate half") by the angle pos * base^(-2i/Dh), each head alike."""
    R, D = x.shape
    Dh = D // H
    half = Dh // 2
    theta = base ** (-2.0 * np.arange(half) / Dh)           # [Dh/2]
    ang = np.asarray(pos, dtype=np.float64)[:, None] * theta  # [R, Dh/2]
    cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    xh = x.reshape(R, H, Dh)
    a, b = xh[..., :half], xh[..., half:]
    return np.concatenate([a * cos - b * sin, a * sin + b * cos], axis=-1).reshape(R, D)


def project(L, x, pos, H, base):
    """LN1, then q, k, v = LN1(x) W^T with RoPE on q and k. x [R, D] -> 3 x [R, D]."""
    h = layernorm(x, L["ln1.weight"], L["ln1.bias"])
    q = rope(h @ L["attn.wq"].T, pos, H, base)
    k = rope(h @ L["attn.wk"].T, pos, H, base)
    v = h @ L["attn.wv"].T
    return q, k, v


def attend(q, k, v, H):
    """One query row q [D] over its own keys k, v [n, D]: per head, one softmax over
    all n keys together, q . k / sqrt(Dh). Returns the concatenated heads [D]."""
    D = q.shape[0]
    Dh = D // H
    out = np.empty(D)
    for h in range(H):
        s = slice(h * Dh, (h + 1) * Dh)
        scores = k[:, s] @ q[s] / math.sqrt(Dh)  # [n]
        p = np.exp(scores - scores.max())
        out[s] = (p / p.sum()) @ v[:, s]
    return out


def ffn_residual(L, a):
    """O = A + W2 gelu(W1 LN2(A)). a [R, D] -> [R, D]."""
    h = layernorm(a, L["ln2.weight"], L["ln2.bias"])
    return a + gelu(h @ L["ffn.w1"].T) @ L["ffn.w2"].T


# ---- the model (docs/spec.md, "The FAM", "The block step") ---------------------------

def prompt_pass(cfg, layers, fam_prompt, offset=0.0):
    """[App. B.1] The initial FAM of each layer: fam_prompt [F, D] goes through the
    layers by itself, its rows seeing each other (no mask) at positions -F..-1.
    Returns P^0..P^(N-1): the prompt rows as they enter each layer, [N][F, D]."""
    F, H = cfg.F, cfg.H
    pos = np.arange(-F, 0, dtype=np.float64) + offset
    P = [fam_prompt]
    for L in layers[:-1]:  # P^N is never used
        x = P[-1]
        q, k, v = project(L, x, pos, H, cfg.rope_base)
        att = np.stack([attend(q[i], k, v, H) for i in range(F)])
        P.append(ffn_residual(L, x + att @ L["attn.wo"].T))
    return P


def layer_forward(cfg, L, x, fam0, offset=0.0):
    """One layer over all T token rows x [T, D], block by block [Alg.2].
    fam0 [F, D] is F_0 of this layer (None without FAM). Returns the output rows
    [T, D], the FAM after the last complete block [F, D], and the token keys and
    values after RoPE [T, D] (what a stream state keeps)."""
    T, D = x.shape
    H, base = cfg.H, cfg.rope_base
    tpos = np.arange(T, dtype=np.float64) + offset
    # [Alg.2 step 1] project every token row at its position t
    q, k, v = project(L, x, tpos, H, base)
    att = np.zeros((T, D))
    if cfg.attention == "full":
        for t in range(T):  # keys 0..t
            att[t] = attend(q[t], k[: t + 1], v[: t + 1], H)
        fam = None
    else:
        B, M, F = cfg.B, cfg.M, cfg.fam_len
        fam = fam0
        fam_pos = np.arange(-F, 0, dtype=np.float64) + offset  # F_0 sits at -F..-1
        fresh = True
        for tau in range((T + B - 1) // B):
            s, e = tau * B, min(T, tau * B + B)  # this block's tokens s..e-1
            if F > 0:  # [Alg.2 step 2] project the FAM F_tau at its own positions
                qf, kf, vf = project(L, fam, fam_pos, H, base)
            else:
                qf, kf, vf = (np.zeros((0, D)),) * 3
            m0 = max(0, tau - M) * B  # memory blocks max(0, tau-M)..tau-1, seen whole
            for t in range(s, e):
                # [Alg.2 step 3] keys of a block row: [memory | FAM | block tokens s..t]
                keys = np.concatenate([k[m0:s], kf, k[s: t + 1]])
                vals = np.concatenate([v[m0:s], vf, v[s: t + 1]])
                # [Alg.2 step 4a] one softmax over all of them
                att[t] = attend(q[t], keys, vals, H)
            if F > 0 and e - s == B:
                # [Alg.2 step 6] a complete block: the FAM queries see all of [K^F; block], no mask
                keys, vals = np.concatenate([kf, k[s:e]]), np.concatenate([vf, v[s:e]])
                upd = np.stack([attend(qf[j], keys, vals, H) for j in range(F)])
                # [Alg.2 step 7] compression; the fresh FAM's first update has a zero residual
                a_fam = (0.0 if fresh else fam) + upd @ L["attn.wo"].T
                # [Alg.2 step 8] F_{tau+1} = A^F + FFN(LN2(A^F)), at the block's last F positions
                fam = ffn_residual(L, a_fam)
                fam_pos = tau * B + B - F + np.arange(F, dtype=np.float64) + offset
                fresh = False
    # [Alg.2 steps 4b, 5] A = I + attention Wo^T;  O = A + FFN(LN2(A)), every row alike
    out = ffn_residual(L, x + att @ L["attn.wo"].T)
    return out, fam, k, v


def forward(model, tokens, offset=0.0):
    """model: famio.Checkpoint (or anything with .config and .tensors); tokens [T] ids.
    Returns a dict: logits [T, V]; fam_final [N, F, D] (None without FAM), each
    layer's FAM after the last complete block; keys, values [N][T, D] after RoPE."""
    cfg = model.config
    W = {n: np.asarray(a, dtype=np.float64) for n, a in model.tensors.items()}
    layers = [{name[len(f"layers.{l}."):]: a for name, a in W.items() if name.startswith(f"layers.{l}.")}
              for l in range(cfg.N)]
    tokens = np.asarray(tokens, dtype=np.int64)
    if tokens.ndim != 1 or tokens.size == 0 or tokens.min() < 0 or tokens.max() >= cfg.V:
        raise ValueError(f"tokens must be a non-empty list of ids in [0, {cfg.V})")
    F = cfg.fam_len
    P = prompt_pass(cfg, layers, W["fam_prompt"], offset) if F > 0 else [None] * cfg.N
    x = W["tok_emb"][tokens]  # [T, D]; no scaling, no positional embedding (RoPE only)
    fams, keys, values = [], [], []
    for l, L in enumerate(layers):
        x, fam, k, v = layer_forward(cfg, L, x, P[l], offset)
        fams.append(fam)
        keys.append(k)
        values.append(v)
    logits = layernorm(x, W["ln_f.weight"], W["ln_f.bias"]) @ W["lm_head"].T  # [T, V]
    return {"logits": logits, "fam_final": np.stack(fams) if F > 0 else None, "keys": keys, "values": values}


def main(argv=None):
    ap = argparse.ArgumentParser(description="NumPy forward of a TransformerFAM checkpoint (docs/spec.md); "
                                             "prints the arg-max next token per position.",
                                 epilog="example: python3 python/fam_numpy.py model.safetensors --tokens 3,1,4 "
                                        "--out logits.npy")
    ap.add_argument("model", help="a checkpoint written by fam init / fam train / fam export")
    ap.add_argument("--tokens", required=True, help="comma-separated token ids, e.g. 3,1,4,1,5")
    ap.add_argument("--out", help="write the logits [T, V] here as float32 .npy")
    a = ap.parse_args(argv)
    try:
        model = famio.load_checkpoint(a.model)
        tokens = [int(t) for t in a.tokens.split(",") if t.strip()]
        r = forward(model, tokens)
    except (famio.FormatError, ValueError, OSError) as e:
        sys.exit(f"fam_numpy: error: {e}")
    if a.out:
        np.save(a.out, r["logits"].astype(np.float32))
    print(f"{a.model}: {model.config.describe()}, T={len(tokens)}")
    print("arg-max next tokens:", ",".join(str(int(i)) for i in r["logits"].argmax(axis=1)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
