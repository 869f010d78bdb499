#!/usr/bin/env python3
"""make_fixtures.py: the independent PyTorch reference for TransformerFAM.

Implements ../../docs/spec.md (the contract) the NAIVE way, in
float64, and writes golden fixtures that the C++ tests compare against.

    python3 tests/reference/make_fixtures.py --out tests/reference/fixtures
    python3 tests/reference/make_fixtures.py --self-check

"Naive" means: for every layer and every query row we build that row's
explicit list of allowed keys from the spec's table ("Which keys a token
sees") and run one softmax over exactly those keys; the FAM chain of each layer
is walked block by block [Alg.2]. There is no mask matrix and no
concatenated-rows trick here, so this file shares no code path with the C++
blockwise implementation. Gradients come from torch autograd (float64).

Paper: "TransformerFAM: Feedback attention is working memory",
arXiv 2404.09173v3. Alg. 1 = BSWA layer, Alg. 2 = FAM layer, App. B.1 =
initial FAM by prompt pass.
"""

import argparse
import json
import math
import os
import struct
import sys
import tempfile

try:
    import torch
except ImportError:
    # `python3` may be a pyenv/venv interpreter that does not see Debian's
    # python3-torch; retry once with the system interpreter.
    sysPy = "/usr/bin/python3"
    if (os.path.exists(sysPy) and not os.environ.get("FAM_FIXTURES_REEXEC")
            and os.path.realpath(sys.executable) != os.path.realpath(sysPy)):
        os.environ["FAM_FIXTURES_REEXEC"] = "1"
        os.execv(sysPy, [sysPy] + sys.argv)
    sys.exit("make_fixtures.py: PyTorch not found; run: apt-get install -y python3-torch python3-numpy")
import numpy as np

DT = torch.float64
torch.set_default_dtype(DT)


# ----------------------------------------------------------------------------
# Configuration: the symbols of the spec (V, D, H, N, Dff, B, M, F).
# ----------------------------------------------------------------------------

class Config:
    def __init__(self, V, D, H, N, Dff, attention, B=0, M=0, F=0, rope_base=10000.0):
        assert attention in ("full", "bswa", "fam"), attention
        assert D % H == 0 and (D // H) % 2 == 0, "D % H == 0 and Dh even"
        if attention != "full":
            assert B >= 1 and M >= 0
        if attention != "fam":
            assert F == 0, "fam_len only exists for attention=fam"
        self.V, self.D, self.H, self.N, self.Dff = V, D, H, N, Dff
        self.Dh = D // H
        self.attention = attention
        self.B, self.M, self.F = B, M, F
        self.rope_base = float(rope_base)

    def replace(self, **kw):
        d = dict(V=self.V, D=self.D, H=self.H, N=self.N, Dff=self.Dff,
                 attention=self.attention, B=self.B, M=self.M, F=self.F,
                 rope_base=self.rope_base)
        d.update(kw)
        return Config(**d)

    def rope_base_str(self):
        rb = self.rope_base
        return str(int(rb)) if rb == int(rb) else repr(rb)

    def metadata(self):
        """docs/spec.md ("Checkpoint: safetensors") `__metadata__`: every value a string."""
        return {
            "format": "famlm-v1",
            "vocab_size": str(self.V), "d_model": str(self.D), "n_heads": str(self.H),
            "n_layers": str(self.N), "d_ff": str(self.Dff),
            "attention": self.attention,
            "block_size": str(self.B), "mem_segments": str(self.M), "fam_len": str(self.F),
            "rope_base": self.rope_base_str(),
        }

    def json_config(self):
        """The same keys, numbers as numbers (for case.json)."""
        rb = self.rope_base
        return {
            "format": "famlm-v1",
            "vocab_size": self.V, "d_model": self.D, "n_heads": self.H,
            "n_layers": self.N, "d_ff": self.Dff,
            "attention": self.attention,
            "block_size": self.B, "mem_segments": self.M, "fam_len": self.F,
            "rope_base": int(rb) if rb == int(rb) else rb,
        }


def param_shapes(cfg):
    """docs/spec.md ("Checkpoint: safetensors") tensor table, in that order. Linear weights are [out, in]."""
    V, D, Dff = cfg.V, cfg.D, cfg.Dff
    shapes = [("tok_emb", [V, D])]
    if cfg.F > 0:
        shapes.append(("fam_prompt", [cfg.F, D]))
    for l in range(cfg.N):
        p = "layers.%d." % l
        shapes += [(p + "ln1.weight", [D]), (p + "ln1.bias", [D]),
                   (p + "attn.wq", [D, D]), (p + "attn.wk", [D, D]),
                   (p + "attn.wv", [D, D]), (p + "attn.wo", [D, D]),
                   (p + "ln2.weight", [D]), (p + "ln2.bias", [D]),
                   (p + "ffn.w1", [Dff, D]), (p + "ffn.w2", [D, Dff])]
    shapes += [("ln_f.weight", [D]), ("ln_f.bias", [D]), ("lm_head", [V, D])]
    return shapes


def random_params_f32(cfg, rng):
    """Deterministic, non-degenerate weights, rounded to float32 (what is saved).

    matrices ~ N(0, 0.3^2), LN gains 1 + 0.1 N(0,1), LN biases 0.1 N(0,1),
    tok_emb and fam_prompt ~ N(0, 1).
    """
    out = {}
    for name, shape in param_shapes(cfg):
        if name in ("tok_emb", "fam_prompt"):
            a = rng.standard_normal(shape)
        elif name.endswith("ln1.weight") or name.endswith("ln2.weight") or name == "ln_f.weight":
            a = 1.0 + 0.1 * rng.standard_normal(shape)
        elif name.endswith(".bias"):
            a = 0.1 * rng.standard_normal(shape)
        else:
            a = 0.3 * rng.standard_normal(shape)
        out[name] = a.astype(np.float32)
    return out


def to_torch_params(params_f32):
    """float32 arrays -> float64 leaf tensors holding exactly the float32 values."""
    return {k: torch.tensor(v.astype(np.float64), dtype=DT, requires_grad=True)
            for k, v in params_f32.items()}


# ----------------------------------------------------------------------------
# The pieces of one layer (spec "One layer (PreLN, paper Section 2.1)").
# ----------------------------------------------------------------------------

def layer_norm(x, g, b):
    # x [R, D]; LN(x) = (x - mean) / sqrt(var + 1e-5) * g + b, biased variance, per row
    mu = x.mean(dim=-1, keepdim=True)
    var = ((x - mu) ** 2).mean(dim=-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + 1e-5) * g + b


def gelu_tanh(x):
    # gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def rope(x, pos, base):
    """Rotate-half RoPE. x [R, H, Dh], pos [R] float positions -> [R, H, Dh].

    theta_i = base^(-2i/Dh), i in [0, Dh/2):
      y_i        = x_i cos(p theta_i) - x_{i+Dh/2} sin(p theta_i)
      y_{i+Dh/2} = x_i sin(p theta_i) + x_{i+Dh/2} cos(p theta_i)
    """
    Dh = x.shape[-1]
    half = Dh // 2
    i = torch.arange(half, dtype=DT)
    theta = base ** (-2.0 * i / Dh)                      # [Dh/2]
    ang = pos.to(DT)[:, None] * theta[None, :]           # [R, Dh/2]
    cos = torch.cos(ang).to(x.dtype)[:, None, :]         # [R, 1, Dh/2]
    sin = torch.sin(ang).to(x.dtype)[:, None, :]
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


def layer_weights(P, l):
    p = "layers.%d." % l
    return {k[len(p):]: v for k, v in P.items() if k.startswith(p)}


def qkv(W, X, pos, cfg):
    """[Alg.1/2 step 1-2] q, k, v = LN1(X) Wq^T, ... ; RoPE on q, k.

    X [R, D], pos [R] -> q, k, v each [R, H, Dh]."""
    R = X.shape[0]
    xn = layer_norm(X, W["ln1.weight"], W["ln1.bias"])          # [R, D]
    q = (xn @ W["attn.wq"].T).reshape(R, cfg.H, cfg.Dh)         # [R, H, Dh]
    k = (xn @ W["attn.wk"].T).reshape(R, cfg.H, cfg.Dh)
    v = (xn @ W["attn.wv"].T).reshape(R, cfg.H, cfg.Dh)
    return rope(q, pos, cfg.rope_base), rope(k, pos, cfg.rope_base), v


def attend_one_row(q_i, K, Vv):
    """One query row against ITS OWN explicit key list, one softmax per head.

    q_i [H, Dh], K [J, H, Dh], Vv [J, H, Dh] -> concat_heads(a_i) [H*Dh]."""
    Dh = q_i.shape[-1]
    scores = torch.einsum("hd,jhd->hj", q_i, K) / math.sqrt(Dh)  # [H, J]
    p = torch.softmax(scores, dim=-1)                             # over the J keys
    return torch.einsum("hj,jhd->hd", p, Vv).reshape(-1)          # [H*Dh]


def ffn_residual(W, A):
    """O = A + W2 gelu(W1 LN2(A)). A [R, D] -> [R, D]."""
    h = layer_norm(A, W["ln2.weight"], W["ln2.bias"]) @ W["ffn.w1"].T   # [R, Dff]
    return A + gelu_tanh(h) @ W["ffn.w2"].T


# ----------------------------------------------------------------------------
# Which keys a token sees (spec table), as explicit index lists.
# ----------------------------------------------------------------------------

def token_keys_of_row(cfg, t):
    """The TOKEN keys row t may see (same layer), as (memory, current) index lists.

    full:     memory = none, current = 0..t
    bswa/fam: memory = every key of blocks max(0, tau-M)..tau-1 (whole, no mask),
              current = tau*B..t (causal); absent blocks (tau < M) are simply absent
    (fam adds the F keys of the FAM that entered block tau: see layer_forward.)
    """
    if cfg.attention == "full":
        return [], list(range(0, t + 1))
    B, M = cfg.B, cfg.M
    tau = t // B
    memory = list(range(max(0, tau - M) * B, tau * B))
    current = list(range(tau * B, t + 1))
    return memory, current


# ----------------------------------------------------------------------------
# The initial FAM: prompt pass (App. B.1).
# ----------------------------------------------------------------------------

def fam_prompt_pass(P, cfg, pos_offset=0.0):
    """P^0 = fam_prompt; P^(l+1) = Layer_l(P^l) with full bidirectional attention
    among the F prompt rows (no token keys), positions -F..-1.
    Returns [P^0, ..., P^(N-1)]: the initial FAM of each layer, each [F, D]."""
    F = cfg.F
    pos = torch.arange(-F, 0, dtype=DT) + pos_offset             # [F]: -F..-1
    Ps = []
    x = P["fam_prompt"]                                           # [F, D]
    for l in range(cfg.N):
        Ps.append(x)
        W = layer_weights(P, l)
        q, k, v = qkv(W, x, pos, cfg)                             # [F, H, Dh]
        rows = []
        for i in range(F):                                        # every prompt row sees all F prompt keys
            a = attend_one_row(q[i], k, v)                        # [D]
            rows.append(x[i] + a @ W["attn.wo"].T)
        A = torch.stack(rows)                                     # [F, D]
        x = ffn_residual(W, A)
    return Ps


# ----------------------------------------------------------------------------
# One layer over the whole sequence, the naive way.
# ----------------------------------------------------------------------------

def layer_forward(W, X, cfg, pos_offset=0.0, fam_init=None):
    """Layer l on the token rows X [T, D] (layer input).

    For attention=fam, also walks this layer's FAM chain block by block, starting
    from fam_init [F, D] (the initial FAM P^l of a fresh sequence).
    Returns (O [T, D], fam_final [F, D] or None)."""
    T = X.shape[0]
    pos = torch.arange(T, dtype=DT) + pos_offset                  # token positions t
    q, k, v = qkv(W, X, pos, cfg)                                 # [T, H, Dh]

    # --- the FAM chain of this layer [Alg.2 steps 2, 6-8] --------------------
    # fam_kv_entering[tau] = (kF, vF) of the FAM that entered block tau.
    fam_kv_entering = []
    fam_final = None
    if cfg.attention == "fam" and cfg.F > 0:
        F, B = cfg.F, cfg.B
        Fin = fam_init                                            # [F, D]
        fam_pos = torch.arange(-F, 0, dtype=DT) + pos_offset      # initial FAM: -F..-1
        fresh = True                                              # Fin is the initial FAM of a fresh sequence
        n_blocks = (T + B - 1) // B
        for tau in range(n_blocks):
            qF, kF, vF = qkv(W, Fin, fam_pos, cfg)                # [Alg.2 step 2] [F, H, Dh]
            fam_kv_entering.append((kF, vF))
            block = list(range(tau * B, min(T, tau * B + B)))
            if len(block) < B:
                break                                             # a partial block updates no FAM
            # [Alg.2 step 6-7] each FAM row attends to [kF (all F), block keys (all B)]
            Kt = torch.cat([kF, k[block]], dim=0)                 # [F+B, H, Dh]
            Vt = torch.cat([vF, v[block]], dim=0)
            R = torch.zeros_like(Fin) if fresh else Fin           # zero residual on the first update (App. B.1)
            rows = []
            for j in range(F):
                a = attend_one_row(qF[j], Kt, Vt)
                rows.append(R[j] + a @ W["attn.wo"].T)
            AF = torch.stack(rows)                                # [F, D]
            Fin = ffn_residual(W, AF)                             # [Alg.2 step 8] Fout enters block tau+1
            # positions of the last F tokens of the block: tau*B + B - F + j (Table 7).
            # Literal even when F > B: then the first F - B positions lie before the block.
            fam_pos = (tau * B + B - F + torch.arange(F, dtype=DT)) + pos_offset
            fresh = False
        fam_final = Fin
    elif cfg.attention == "fam":
        fam_final = torch.zeros(0, cfg.D, dtype=X.dtype)

    # --- the token rows [Alg.1/2 steps 3-5] -----------------------------------
    rows = []
    for t in range(T):
        mem_idx, cur_idx = token_keys_of_row(cfg, t)
        tau = t // cfg.B if cfg.attention != "full" else 0
        Ks, Vs = [k[mem_idx]], [v[mem_idx]]                       # memory keys
        if fam_kv_entering:
            kF, vF = fam_kv_entering[tau]                         # FAM that entered block tau
            Ks.append(kF)
            Vs.append(vF)
        Ks.append(k[cur_idx])                                     # causal prefix of the block
        Vs.append(v[cur_idx])
        K = torch.cat(Ks, dim=0)                                  # [J, H, Dh]: [mem, FAM, block 0..i]
        Vv = torch.cat(Vs, dim=0)
        a = attend_one_row(q[t], K, Vv)
        rows.append(X[t] + a @ W["attn.wo"].T)                    # A = x + attn Wo^T
    A = torch.stack(rows)                                         # [T, D]
    return ffn_residual(W, A), fam_final


def model_forward(P, cfg, tokens, pos_offset=0.0):
    """Returns (logits [T, V], fam_final [N, F, D] or None)."""
    tok = torch.tensor(tokens, dtype=torch.long)
    h = P["tok_emb"][tok]                                         # [T, D], no scaling, no pos. embedding
    fam_inits = fam_prompt_pass(P, cfg, pos_offset) if (cfg.attention == "fam" and cfg.F > 0) else None
    fam_finals = []
    for l in range(cfg.N):
        W = layer_weights(P, l)
        h, ff = layer_forward(W, h, cfg, pos_offset, fam_inits[l] if fam_inits else None)
        fam_finals.append(ff)
    logits = layer_norm(h, P["ln_f.weight"], P["ln_f.bias"]) @ P["lm_head"].T   # token rows only
    fam_final = torch.stack(fam_finals) if (cfg.attention == "fam" and cfg.F > 0) else None
    return logits, fam_final


def loss_fn(logits, targets):
    """Weighted mean CE over positions with a target (w_i = 1, target -1 = none)."""
    terms = []
    for t, y in enumerate(targets):
        if y < 0:
            continue
        terms.append(torch.logsumexp(logits[t], dim=0) - logits[t, y])
    return torch.stack(terms).sum() / len(terms)


def run(P, cfg, tokens, targets, pos_offset=0.0, grads=True):
    """Forward (+ backward). Returns dict of logits, fam_final, loss, grads."""
    for p in P.values():
        p.grad = None
    logits, fam_final = model_forward(P, cfg, tokens, pos_offset)
    loss = loss_fn(logits, targets)
    g = None
    if grads:
        loss.backward()
        g = {k: (p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p))
             for k, p in P.items()}
    return {"logits": logits.detach(), "fam_final": None if fam_final is None else fam_final.detach(),
            "loss": loss.item(), "grads": g}


# ----------------------------------------------------------------------------
# File formats: safetensors (json + struct, written by hand) and .npy.
# ----------------------------------------------------------------------------

def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, np.ndarray). 8-byte LE header length, JSON header
    (space-padded to a multiple of 8), then raw little-endian float32 data."""
    header = {"__metadata__": dict(metadata)}
    blobs, off = [], 0
    for name, arr in tensors:
        a = np.ascontiguousarray(arr, dtype="<f4")
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((-len(hb)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """Returns (dict name -> np.float32 array, metadata dict)."""
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", name
        b, e = info["data_offsets"]
        out[name] = np.frombuffer(data[b:e], dtype="<f4").reshape(info["shape"]).copy()
    return out, meta


# ----------------------------------------------------------------------------
# The fixture cases.
# ----------------------------------------------------------------------------

SMALL = dict(V=11, D=8, H=2, N=2, Dff=16)

CASES = [
    # name, config, T, description
    ("full_T7", Config(attention="full", **SMALL), 7,
     "full causal attention"),
    ("bswa_B3M1_T10", Config(attention="bswa", B=3, M=1, **SMALL), 10,
     "BSWA, B=3, M=1, partial last block (len 1)"),
    ("fam_B3M1F2_T10", Config(attention="fam", B=3, M=1, F=2, **SMALL), 10,
     "FAM, B=3, M=1, F=2, 3 FAM updates, partial last block"),
    ("fam_B2M0F3_T7_N3H1", Config(V=11, D=6, H=1, N=3, Dff=12, attention="fam", B=2, M=0, F=3), 7,
     "FAM with F > B (FAM positions reach into the previous block), M=0, one head, 3 layers"),
    ("fam_B4M2F2_T11_base500", Config(attention="fam", B=4, M=2, F=2, rope_base=500, **SMALL), 11,
     "FAM, B=4, M=2, F=2, rope_base=500, partial last block (len 3)"),
    ("fam_B4M1F2_T3", Config(attention="fam", B=4, M=1, F=2, **SMALL), 3,
     "FAM with T < B: no FAM update at all, fam_final = initial FAM (prompt pass)"),
    # extra case: T a multiple of B, so the last FAM update has no consumer
    # (it shows in fam_final only; it receives no gradient)
    ("fam_B3M1F2_T9", Config(attention="fam", B=3, M=1, F=2, **SMALL), 9,
     "FAM, T = 3B: every block complete, last FAM update feeds nothing"),
]


def case_data(ci, cfg, T):
    """Seeded weights, tokens and targets of case number ci."""
    rng = np.random.default_rng(20240409 + ci)
    params = random_params_f32(cfg, rng)
    tokens = [int(x) for x in rng.integers(0, cfg.V, size=T)]
    # next-token targets; -1 (no target) at position 1 and at the last position
    targets = [tokens[t + 1] if t + 1 < T else -1 for t in range(T)]
    if T >= 3:
        targets[1] = -1
    return params, tokens, targets


def write_case(outdir, name, cfg, T, desc, ci):
    params, tokens, targets = case_data(ci, cfg, T)
    P = to_torch_params(params)
    r = run(P, cfg, tokens, targets)
    d = os.path.join(outdir, name)
    os.makedirs(d, exist_ok=True)
    order = [n for n, _ in param_shapes(cfg)]
    write_safetensors(os.path.join(d, "model.safetensors"),
                      [(n, params[n]) for n in order], cfg.metadata())
    gmeta = {"loss": repr(r["loss"])}
    gmeta.update(cfg.metadata())
    write_safetensors(os.path.join(d, "grads.safetensors"),
                      [(n, r["grads"][n].numpy().astype(np.float32)) for n in order], gmeta)
    np.save(os.path.join(d, "logits.npy"), r["logits"].numpy().astype("<f4"))
    if cfg.attention == "fam" and cfg.F > 0:
        np.save(os.path.join(d, "fam_final.npy"), r["fam_final"].numpy().astype("<f4"))
    case = {"description": desc, "seed": 20240409 + ci,
            "tokens": tokens, "targets": targets, "loss": r["loss"],
            "config": cfg.json_config()}
    with open(os.path.join(d, "case.json"), "w") as f:
        f.write("{\n" + ",\n".join(" %s: %s" % (json.dumps(k), json.dumps(v)) for k, v in case.items()) + "\n}\n")

    # read back what was written: the files must say what we computed
    p2, m2 = read_safetensors(os.path.join(d, "model.safetensors"))
    assert m2 == cfg.metadata() and list(p2) == order
    assert all(np.array_equal(p2[n], params[n]) for n in order)
    g2, gm2 = read_safetensors(os.path.join(d, "grads.safetensors"))
    assert float(gm2["loss"]) == r["loss"] and list(g2) == order
    lg = np.load(os.path.join(d, "logits.npy"))
    assert lg.dtype == np.dtype("<f4") and lg.shape == (T, cfg.V)
    print("wrote %-26s T=%-2d loss=%.10f  %s" % (name, T, r["loss"], desc))


# ----------------------------------------------------------------------------
# Self-check: the spec's equivalences, on this reference itself.
# ----------------------------------------------------------------------------

class Checker:
    def __init__(self):
        self.failed = 0

    def close(self, name, a, b, tol):
        a = a if isinstance(a, torch.Tensor) else torch.tensor(a)
        b = b if isinstance(b, torch.Tensor) else torch.tensor(b)
        diff = (a - b).abs().max().item() if a.numel() else 0.0
        ok = a.shape == b.shape and diff <= tol
        self._report(ok, name, "max|diff| = %.3g (tol %.0e)" % (diff, tol))

    def true(self, name, ok, detail=""):
        self._report(bool(ok), name, detail)

    def _report(self, ok, name, detail):
        print("%-6s %-62s %s" % ("OK" if ok else "NOT OK", name, detail))
        if not ok:
            self.failed += 1


def grads_close(c, name, ga, gb, tol, names=None):
    names = names or sorted(set(ga) & set(gb))
    diff = max((ga[n] - gb[n]).abs().max().item() for n in names)
    c.true(name, diff <= tol, "max|diff| = %.3g over %d tensors (tol %.0e)" % (diff, len(names), tol))


def self_check():
    c = Checker()
    rng = np.random.default_rng(7)
    base = Config(attention="full", **SMALL)

    def fresh(cfg, T, seed):
        params, tokens, targets = case_data(seed, cfg, T)
        return params, tokens, targets

    # 0. RoPE: rotate-half pairing, and q.k depends only on the position difference
    x = torch.zeros(1, 1, 4)
    x[0, 0, 0] = 1.0
    y = rope(x, torch.tensor([2.0]), 10000.0)
    c.close("rope: e_0 -> (cos p, 0, sin p, 0) at theta_0 = 1", y[0, 0],
            torch.tensor([math.cos(2.0), 0.0, math.sin(2.0), 0.0]), 1e-15)
    y = rope(torch.eye(4)[None, 1:2, :].reshape(1, 1, 4), torch.tensor([3.0]), 100.0)
    th = 100.0 ** (-2.0 / 4)
    c.close("rope: e_1 -> (0, cos p th_1, 0, sin p th_1), th_1 = base^(-2/Dh)", y[0, 0],
            torch.tensor([0.0, math.cos(3 * th), 0.0, math.sin(3 * th)]), 1e-15)
    qa, kb = torch.randn(1, 1, 8), torch.randn(1, 1, 8)
    s1 = (rope(qa, torch.tensor([5.0]), 10000.) * rope(kb, torch.tensor([2.0]), 10000.)).sum()
    s2 = (rope(qa, torch.tensor([105.5]), 10000.) * rope(kb, torch.tensor([102.5]), 10000.)).sum()
    c.close("rope: q(p).k(p') depends on p - p' only", s1, s2, 1e-12)

    # 1. fam with F = 0 is exactly bswa
    for B, M, T in [(3, 1, 10), (2, 0, 7), (4, 2, 11)]:
        cb = base.replace(attention="bswa", B=B, M=M)
        params, tokens, targets = fresh(cb, T, 100 + B)
        rb = run(to_torch_params(params), cb, tokens, targets)
        rf = run(to_torch_params(params), base.replace(attention="fam", B=B, M=M, F=0), tokens, targets)
        c.close("fam F=0 == bswa (B=%d M=%d T=%d): logits" % (B, M, T), rf["logits"], rb["logits"], 1e-13)
        c.close("fam F=0 == bswa (B=%d M=%d T=%d): loss" % (B, M, T), rf["loss"], rb["loss"], 1e-13)
        grads_close(c, "fam F=0 == bswa (B=%d M=%d T=%d): grads" % (B, M, T), rf["grads"], rb["grads"], 1e-13)

    # 2. bswa with M >= T/B is exactly full; so is bswa with one block (B >= T)
    for B, M, T in [(3, 4, 10), (2, 4, 7), (4, 3, 11), (12, 0, 11)]:
        cb = base.replace(attention="bswa", B=B, M=M)
        params, tokens, targets = fresh(base, T, 200 + B)
        rb = run(to_torch_params(params), cb, tokens, targets)
        rfull = run(to_torch_params(params), base, tokens, targets)
        c.close("bswa M>=T/B == full (B=%d M=%d T=%d): logits" % (B, M, T), rb["logits"], rfull["logits"], 1e-13)
        grads_close(c, "bswa M>=T/B == full (B=%d M=%d T=%d): grads" % (B, M, T), rb["grads"], rfull["grads"], 1e-13)

    # 2b. and with M < T/B it is NOT full (the window really cuts)
    cb = base.replace(attention="bswa", B=3, M=1)
    params, tokens, targets = fresh(base, 10, 300)
    d = (run(to_torch_params(params), cb, tokens, targets, grads=False)["logits"]
         - run(to_torch_params(params), base, tokens, targets, grads=False)["logits"]).abs()
    c.true("bswa B=3 M=1 != full from block 2 on (rows 0..5 equal)",
           d[:6].max().item() < 1e-13 and d[6:].max(dim=1).values.min().item() > 1e-6,
           "rows 0..5 max %.2g, rows 6..9 min-of-max %.2g" % (d[:6].max().item(), d[6:].max(dim=1).values.min().item()))

    # 3. causality: changing token s changes no logits at t < s (and does change some at t >= s)
    for name, cfg, T in [(n, cf, T) for n, cf, T, _ in CASES]:
        params, tokens, _ = case_data(0, cfg, T)
        P = to_torch_params(params)
        with torch.no_grad():
            ref, _ = model_forward(P, cfg, tokens)
            worst_before, min_after = 0.0, float("inf")
            for s in range(T):
                t2 = list(tokens)
                t2[s] = (t2[s] + 1 + rng.integers(0, cfg.V - 1)) % cfg.V
                lg, _ = model_forward(P, cfg, t2)
                dd = (lg - ref).abs().max(dim=1).values
                if s > 0:
                    worst_before = max(worst_before, dd[:s].max().item())
                min_after = min(min_after, dd[s].item())
        c.true("causality %-26s (T=%d)" % (name, T), worst_before == 0.0 and min_after > 1e-8,
               "max change before s = %.2g, min change at s = %.2g" % (worst_before, min_after))

    # 4. a prefix run gives the same logits (streaming == batch) and, for fam, the
    #    FAM only changes on complete blocks: fam_final(T) == fam_final(floor(T/B)*B)
    for name, cfg, T, _ in CASES:
        params, tokens, _ = case_data(1, cfg, T)
        P = to_torch_params(params)
        with torch.no_grad():
            ref, ff = model_forward(P, cfg, tokens)
            worst = 0.0
            for t in range(1, T + 1):
                lg, _ = model_forward(P, cfg, tokens[:t])
                worst = max(worst, (lg - ref[:t]).abs().max().item())
            c.true("prefix runs == full run %-26s" % name, worst <= 1e-13, "max|diff| = %.2g" % worst)
            if cfg.attention == "fam":
                Tc = (T // cfg.B) * cfg.B
                if Tc > 0 and Tc < T:
                    _, ff2 = model_forward(P, cfg, tokens[:Tc])
                    c.close("partial block updates no FAM %-22s (T=%d vs %d)" % (name, T, Tc), ff, ff2, 1e-13)
                if Tc == 0:
                    P0 = torch.stack(fam_prompt_pass(P, cfg))
                    c.close("T < B: fam_final == initial FAM P^l %-16s" % name, ff, P0, 0.0)

    # 5. receptive field: one bswa layer (N=1) cannot see past its window; the FAM can
    cfg1 = base.replace(N=1, attention="bswa", B=2, M=1)
    cfgF = cfg1.replace(attention="fam", F=2)
    for cfg, expect_change in [(cfg1, False), (cfgF, True)]:
        params, tokens, _ = case_data(2, cfg, 9)
        P = to_torch_params(params)
        with torch.no_grad():
            ref, _ = model_forward(P, cfg, tokens)
            t2 = list(tokens)
            t2[0] = (t2[0] + 3) % cfg.V                             # block 0
            lg, _ = model_forward(P, cfg, t2)
        d = (lg - ref).abs().max(dim=1).values                      # row 4.. is block >= 2: outside the window
        if expect_change:
            c.true("N=1 fam B=2 M=1: token 0 reaches rows 4..8 via the FAM", d[4:].min().item() > 1e-8,
                   "min change %.2g" % d[4:].min().item())
        else:
            c.true("N=1 bswa B=2 M=1: token 0 invisible to rows 4..8", d[4:].max().item() == 0.0,
                   "max change %.2g" % d[4:].max().item())

    # 6. RoPE is relative: adding one offset to every position (tokens, FAM,
    #    prompt; RPO) changes nothing but rounding
    for name, cfg, T, _ in CASES:
        params, tokens, targets = case_data(3, cfg, T)
        P = to_torch_params(params)
        with torch.no_grad():
            a, fa = model_forward(P, cfg, tokens)
            b, fb = model_forward(P, cfg, tokens, pos_offset=1234.5)
        tol = 1e-9
        ok = (a - b).abs().max().item()
        if fa is not None:
            ok = max(ok, (fa - fb).abs().max().item())
        c.true("position offset 1234.5 invariance %-24s" % name, ok <= tol, "max|diff| = %.2g (tol %.0e)" % (ok, tol))

    # 7. the FAM keys are really attended: F=2 differs from F=0 on the same weights
    cfg = CASES[2][1]
    params, tokens, targets = case_data(4, cfg, 10)
    a = run(to_torch_params(params), cfg, tokens, targets, grads=False)["logits"]
    params0 = {k: v for k, v in params.items() if k != "fam_prompt"}
    b = run(to_torch_params(params0), cfg.replace(F=0), tokens, targets, grads=False)["logits"]
    c.true("fam F=2 differs from F=0 (FAM keys are really attended)", (a - b).abs().max().item() > 1e-6,
           "max|diff| = %.2g" % (a - b).abs().max().item())

    # 8. autograd vs central finite differences (float64), all cases
    for ci, (name, cfg, T, _) in enumerate(CASES):
        params, tokens, targets = case_data(ci, cfg, T)
        P = to_torch_params(params)
        g = run(P, cfg, tokens, targets)["grads"]
        worst = 0.0
        eps = 1e-6
        frng = np.random.default_rng(ci)
        for n, shape in param_shapes(cfg):
            for _ in range(2):
                flat = int(frng.integers(0, int(np.prod(shape))))
                Pp = {k: v.detach().clone() for k, v in P.items()}
                Pm = {k: v.detach().clone() for k, v in P.items()}
                Pp[n].view(-1)[flat] += eps
                Pm[n].view(-1)[flat] -= eps
                with torch.no_grad():
                    lp = loss_fn(model_forward(Pp, cfg, tokens)[0], targets).item()
                    lm = loss_fn(model_forward(Pm, cfg, tokens)[0], targets).item()
                fd = (lp - lm) / (2 * eps)
                an = g[n].view(-1)[flat].item()
                worst = max(worst, abs(fd - an) / max(1e-3, abs(fd) + abs(an)))
        c.true("autograd == finite differences %-24s" % name, worst < 1e-6, "max rel err %.2g" % worst)

    # 9. what a float32 implementation of the same naive code gets against float64
    #    (guidance for the C++ tolerances; float32 rounding only, no bug possible)
    for ci, (name, cfg, T, _) in enumerate(CASES):
        params, tokens, targets = case_data(ci, cfg, T)
        r64 = run(to_torch_params(params), cfg, tokens, targets)
        P32 = {k: torch.tensor(v, dtype=torch.float32, requires_grad=True) for k, v in params.items()}
        r32 = run(P32, cfg, tokens, targets)
        el = ((r32["logits"].double() - r64["logits"]).abs().max() / r64["logits"].abs().max()).item()
        eg = max(((r32["grads"][n].double() - r64["grads"][n]).abs().max()
                  / r64["grads"][n].abs().max().clamp_min(1e-30)).item() for n in r64["grads"])
        ef = 0.0
        if r64["fam_final"] is not None:
            ef = ((r32["fam_final"].double() - r64["fam_final"]).abs().max() / r64["fam_final"].abs().max()).item()
        c.true("float32 run vs float64 (info) %-25s" % name, el < 1e-5 and eg < 1e-4 and ef < 1e-5,
               "logits %.1e, fam %.1e, grads %.1e (max|diff|/max|ref| per tensor)" % (el, ef, eg))

    # 10. safetensors round trip and header alignment
    with tempfile.TemporaryDirectory() as td:
        pth = os.path.join(td, "x.safetensors")
        arrs = [("a", np.arange(6, dtype=np.float32).reshape(2, 3)), ("b", np.array([1.5], np.float32))]
        write_safetensors(pth, arrs, {"format": "famlm-v1"})
        back, meta = read_safetensors(pth)
        with open(pth, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
        c.true("safetensors round trip, header length % 8 == 0",
               n % 8 == 0 and meta == {"format": "famlm-v1"} and all(np.array_equal(back[k], v) for k, v in arrs),
               "header %d bytes" % n)

    print("self-check: %s (%d failed)" % ("ALL OK" if c.failed == 0 else "FAILED", c.failed))
    return c.failed == 0


def main():
    ap = argparse.ArgumentParser(description="TransformerFAM float64 PyTorch reference: golden fixtures.")
    ap.add_argument("--out", help="write the fixture cases under this directory")
    ap.add_argument("--self-check", action="store_true", help="verify the spec's equivalences on the reference")
    args = ap.parse_args()
    if not args.out and not args.self_check:
        ap.error("give --out DIR and/or --self-check")
    ok = True
    if args.self_check:
        ok = self_check()
    if args.out:
        for ci, (name, cfg, T, desc) in enumerate(CASES):
            write_case(args.out, name, cfg, T, desc, ci)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
