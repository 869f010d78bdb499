#!/usr/bin/env python3
"""famio.py: read every file the fam programs write, with NumPy only.

docs/formats.md describes the files key by key; this module is its executable
form. Nothing here needs the `safetensors` package or PyTorch.

    import famio
    ck = famio.load_checkpoint("model.safetensors")      # model, training checkpoint or gradients
    ck.config.D, ck.tensors["layers.0.attn.wq"].shape     # (D, D)
    ck.train_config, ck.train_step, ck.vocab              # a `fam train` checkpoint's extras
    ck.optimizer_moments()                                # AdamW m, v split per parameter
    st = famio.load_state("s.safetensors")                # a `fam stream --state-out` file
    st.layers[0]["fam"], st.current_block_keys(0)
    logits = famio.load_npy("out/logits.npy")             # numpy.load, checked

    python3 python/famio.py info FILE                     # what a file holds

Every reader raises famio.FormatError naming the file and what is wrong.
"""

import json
import os
import struct
import sys

import numpy as np


class FormatError(ValueError):
    """A file that does not follow docs/formats.md."""


MODEL_FORMAT = "famlm-v1"     # __metadata__["format"] of every model, checkpoint, gradient and state file
STATE_FORMAT = "famstate-v1"  # __metadata__["state.format"] of a stream state
MAX_HEADER = 100_000_000      # the safetensors header cap the C++ reader uses too

# safetensors dtype names -> numpy (little-endian); the fam programs write only F32
_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
           "I8": "|i1", "U8": "|u1", "BOOL": "|b1"}


# ---- safetensors -------------------------------------------------------------------------

def read_safetensors(path):
    """The tensors (name -> numpy array, read-only views of the file's bytes) and the
    __metadata__ dict (str -> str) of a safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise FormatError(f"{path}: shorter than 8 bytes; not a safetensors file")
    (n,) = struct.unpack("<Q", data[:8])
    if n == 0 or n > MAX_HEADER or n > len(data) - 8:
        raise FormatError(f"{path}: header length {n} is impossible for a {len(data)}-byte file")
    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            dup = next(k for k in keys if keys.count(k) > 1)
            raise FormatError(f"{path}: the header names '{dup}' twice")
        return dict(pairs)

    try:
        header = json.loads(data[8:8 + n].decode("utf-8"), object_pairs_hook=no_duplicates)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FormatError(f"{path}: header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise FormatError(f"{path}: header is not a JSON object")
    meta = header.pop("__metadata__", {}) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise FormatError(f"{path}: __metadata__ must map strings to strings")
    body = memoryview(data)[8 + n:]
    tensors, last = {}, 0
    for name, e in header.items():
        try:
            dtype = np.dtype(_DTYPES[e["dtype"]])
            shape = [int(d) for d in e["shape"]]
            b, end = (int(o) for o in e["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise FormatError(f"{path}: tensor '{name}' has a malformed entry {e!r}") from None
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if min(shape, default=0) < 0 or not 0 <= b <= end <= len(body) or end - b != count * dtype.itemsize:
            raise FormatError(f"{path}: tensor '{name}': shape {shape} and data_offsets [{b}, {end}] do not fit "
                              f"the {len(body)}-byte data section")
        tensors[name] = np.frombuffer(body[b:end], dtype=dtype).reshape(shape)
        last = max(last, end)
    if last != len(body):
        raise FormatError(f"{path}: {len(body) - last} bytes after the last tensor's data; damaged?")
    return tensors, meta


# ---- the model configuration --------------------------------------------------------------

class Config:
    """The symbols of docs/spec.md, read from __metadata__ (every value a string there)."""

    KEYS = ("format", "vocab_size", "d_model", "n_heads", "n_layers", "d_ff", "attention",
            "block_size", "mem_segments", "fam_len", "rope_base")

    def __init__(self, meta, source="<metadata>"):
        for k in self.KEYS:
            if k not in meta:
                raise FormatError(f"{source}: metadata key '{k}' missing")
        if meta["format"] != MODEL_FORMAT:
            raise FormatError(f"{source}: metadata 'format' is '{meta['format']}', expected '{MODEL_FORMAT}'")

        def integer(k):
            try:
                return int(meta[k])
            except ValueError:
                raise FormatError(f"{source}: metadata '{k}' must be an integer, got '{meta[k]}'") from None

        self.V, self.D, self.H = integer("vocab_size"), integer("d_model"), integer("n_heads")
        self.N, self.Dff = integer("n_layers"), integer("d_ff")
        self.attention = meta["attention"]
        self.B, self.M, self.F = integer("block_size"), integer("mem_segments"), integer("fam_len")
        try:
            self.rope_base = float(meta["rope_base"])
        except ValueError:
            raise FormatError(f"{source}: metadata 'rope_base' must be a number, got '{meta['rope_base']}'") from None
        if self.attention not in ("full", "bswa", "fam"):
            raise FormatError(f"{source}: metadata 'attention' must be full, bswa or fam, got '{self.attention}'")
        if self.attention == "full":
            self.F = 0  # full ignores B, M and F
        ok = (min(self.V, self.D, self.H, self.N, self.Dff) >= 1 and self.D % self.H == 0
              and (self.D // self.H) % 2 == 0 and self.rope_base > 0
              and (self.attention == "full" or (self.B >= 1 and self.M >= 0 and self.F >= 0))
              and (self.attention != "bswa" or self.F == 0))
        if not ok:
            raise FormatError(f"{source}: impossible config {self.describe()} (docs/spec.md, Symbols)")

    @property
    def Dh(self):
        return self.D // self.H

    @property
    def fam_len(self):
        """The FAM length in use: F for attention fam, 0 for bswa and full."""
        return self.F if self.attention == "fam" else 0

    @property
    def C(self):
        """Key rows per layer of a stream state: F + (M+1)*B (blocked attention only)."""
        return self.fam_len + (self.M + 1) * self.B

    def describe(self):
        s = f"{self.attention} V={self.V} D={self.D} H={self.H} N={self.N} Dff={self.Dff}"
        if self.attention != "full":
            s += f" B={self.B} M={self.M}"
        if self.attention == "fam":
            s += f" F={self.F}"
        return s + f" rope_base={self.rope_base:g}"


def parameter_list(cfg):
    """[(name, shape)] of every parameter, in the order of the C++ weight buffer
    (src/weights.cpp): the order of the flat optimizer tensors optim.m and optim.v."""
    D, V, Dff, F = cfg.D, cfg.V, cfg.Dff, cfg.fam_len
    out = [("tok_emb", (V, D))]
    if F > 0:
        out.append(("fam_prompt", (F, D)))
    for l in range(cfg.N):
        p = f"layers.{l}."
        out += [(p + "ln1.weight", (D,)), (p + "ln1.bias", (D,)),
                (p + "attn.wq", (D, D)), (p + "attn.wk", (D, D)), (p + "attn.wv", (D, D)), (p + "attn.wo", (D, D)),
                (p + "ln2.weight", (D,)), (p + "ln2.bias", (D,)),
                (p + "ffn.w1", (Dff, D)), (p + "ffn.w2", (D, Dff))]
    out += [("ln_f.weight", (D,)), ("ln_f.bias", (D,)), ("lm_head", (V, D))]
    return out


def weights_checksum(tensors, cfg):
    """The state.model_checksum a stream state stores (16 hex digits): FNV-1a
    (64 bit) over the float32 bytes of every parameter in buffer order, started
    from 1469598103934665603 as src/app/state_file.cpp does (the standard offset
    basis, 14695981039346656037, without its last digit). Pure Python, about a
    second per million parameters."""
    h = 1469598103934665603
    for name, shape in parameter_list(cfg):
        for byte in np.ascontiguousarray(tensors[name], dtype="<f4").tobytes():
            h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


# ---- checkpoints: model, training checkpoint, gradients ------------------------------------

class Checkpoint:
    """A model file. Attributes:
      config      Config
      tensors     every tensor in the file, name -> float32 array (parameters and extras)
      metadata    the raw __metadata__ (str -> str)
      kind        "model", "training checkpoint" or "gradients" (see docs/formats.md)
    and, when present: loss (gradients), task, vocab (list of words, id = index),
    key_digits, train_step, train_rng, train_config (dict), optim_step."""

    def __init__(self, path):
        self.path = path
        self.tensors, self.metadata = read_safetensors(path)
        if "state.format" in self.metadata:
            raise FormatError(f"{path}: a stream state, not a model (use famio.load_state)")
        self.config = cfg = Config(self.metadata, path)
        need = 10 * cfg.N + 4 + (cfg.fam_len > 0)  # tensors of parameter_list(cfg), counted before listing them
        if need > len(self.tensors):
            raise FormatError(f"{path}: metadata asks for {cfg.N} layers ({need} parameter tensors) but the file "
                              f"holds {len(self.tensors)} tensors")
        for name, shape in parameter_list(cfg):
            if name not in self.tensors:
                raise FormatError(f"{path}: tensor '{name}' missing")
            if tuple(self.tensors[name].shape) != shape or self.tensors[name].dtype != np.float32:
                raise FormatError(f"{path}: tensor '{name}' is {self.tensors[name].dtype} "
                                  f"{list(self.tensors[name].shape)}, expected float32 {list(shape)}")
            if "loss" not in self.metadata and not np.isfinite(self.tensors[name]).all():  # gradients may overflow
                raise FormatError(f"{path}: tensor '{name}' holds NaN or infinite values")
        m = self.metadata
        self.loss = float(m["loss"]) if "loss" in m else None
        self.task = m.get("task")
        self.vocab = m["task.vocab"].split() if "task.vocab" in m else None
        self.key_digits = int(m["task.key_digits"]) if "task.key_digits" in m else None
        self.train_step = int(m["train.step"]) if "train.step" in m else None
        self.train_rng = int(m["train.rng"]) if "train.rng" in m else None
        self.train_config = json.loads(m["train.config"]) if "train.config" in m else None
        self.optim_step = int(m["optim.step"]) if "optim.step" in m else None
        if min(self.train_step or 0, self.optim_step or 0) < 0:
            raise FormatError(f"{path}: negative train.step or optim.step")
        if self.loss is not None:
            self.kind = "gradients"
        elif self.train_step is not None:
            self.kind = "training checkpoint"
        else:
            self.kind = "model"

    def parameters(self):
        """name -> array of the model parameters only (no optimizer or training extras)."""
        return {name: self.tensors[name] for name, _ in parameter_list(self.config)}

    def optimizer_moments(self):
        """AdamW's first and second moments split per parameter: (m, v), each a dict
        name -> array shaped like the parameter; None when the file has none."""
        if "optim.m" not in self.tensors:
            return None
        out = []
        for flat in (self.tensors["optim.m"], self.tensors["optim.v"]):
            d, at = {}, 0
            for name, shape in parameter_list(self.config):
                n = int(np.prod(shape))
                d[name] = flat[at:at + n].reshape(shape)
                at += n
            if at != flat.size:
                raise FormatError(f"{self.path}: optimizer state has {flat.size} values, the model {at}")
            out.append(d)
        return tuple(out)

    def rsp_fam(self):
        """The RSP state [N, F, D] of a training checkpoint (None if absent)."""
        return self.tensors.get("train.rsp_fam")


def load_checkpoint(path):
    return Checkpoint(path)


# ---- stream states ------------------------------------------------------------------------------

class StreamState:
    """A `fam stream --state-out` file (src/app/state_file.cpp). Attributes:
      config      Config of the model the state belongs to
      pos         tokens consumed; ring_head, block_len, mem_blocks as in docs/formats.md
      fresh       [N] bools; model_checksum (16 hex digits)
      layers      [N] dicts: fam [F, D], fam_pos [F], q_fam [F, D], k [C, D], v [C, D]
      metadata, tensors: everything in the file (also the CLI's stream.* extras)."""

    def __init__(self, path):
        self.path = path
        self.tensors, self.metadata = read_safetensors(path)
        m = self.metadata
        if m.get("state.format") != STATE_FORMAT:
            raise FormatError(f"{path}: state.format is {m.get('state.format')!r}, expected '{STATE_FORMAT}'")
        self.config = cfg = Config(m, path)
        try:
            self.pos = int(m["state.pos"])
            self.ring_head = int(m["state.ring_head"])
            self.block_len = int(m["state.block_len"])
            self.mem_blocks = int(m["state.mem_blocks"])
            self.fresh = [f == "1" for f in m["state.fresh"].split(",")]
            self.model_checksum = m["state.model_checksum"]
        except (KeyError, ValueError) as e:
            raise FormatError(f"{path}: bad or missing state metadata ({e})") from None
        full = cfg.attention == "full"
        tau = 0 if full else self.pos // cfg.B
        want = (0, 0, 0) if full else (tau % (cfg.M + 1), self.pos % cfg.B, min(tau, cfg.M))
        if (self.ring_head, self.block_len, self.mem_blocks) != want:
            raise FormatError(f"{path}: ring fields contradict state.pos = {self.pos}")
        if len(self.fresh) != cfg.N:
            raise FormatError(f"{path}: state.fresh has {len(self.fresh)} flags, expected {cfg.N}")
        rows = self.pos if full else cfg.C
        F, D = cfg.fam_len, cfg.D
        self.layers = []
        for l in range(cfg.N):
            want_shapes = {"k": (rows, D), "v": (rows, D)}
            if F > 0:
                want_shapes.update(fam=(F, D), fam_pos=(F,), q_fam=(F, D))
            L = {}
            for what, shape in want_shapes.items():
                name = f"state.layers.{l}.{what}"
                if name not in self.tensors or tuple(self.tensors[name].shape) != shape:
                    raise FormatError(f"{path}: tensor '{name}' missing or not {list(shape)}")
                L[what] = self.tensors[name]
            self.layers.append(L)

    def _slot_rows(self, slot):
        F, B = self.config.fam_len, self.config.B
        return slice(F + slot * B, F + slot * B + B)

    def current_block_keys(self, l):
        """Keys and values [block_len, D] of the tokens of the block being filled
        (full attention: every key so far)."""
        L = self.layers[l]
        if self.config.attention == "full":
            return L["k"], L["v"]
        r = self._slot_rows(self.ring_head)
        return L["k"][r][: self.block_len], L["v"][r][: self.block_len]

    def memory_keys(self, l):
        """Keys and values [mem_blocks * B, D] of the memory blocks, oldest first
        (blocks tau - mem_blocks .. tau - 1; slot of block b = b mod (M+1))."""
        L, M = self.layers[l], self.config.M
        slots = [(self.ring_head - age) % (M + 1) for age in range(self.mem_blocks, 0, -1)]
        D = self.config.D
        if not slots:
            return np.zeros((0, D), np.float32), np.zeros((0, D), np.float32)
        return (np.concatenate([L["k"][self._slot_rows(s)] for s in slots]),
                np.concatenate([L["v"][self._slot_rows(s)] for s in slots]))

    def fam_keys(self, l):
        """K^F, V^F [F, D] of the FAM entering the current block (rows 0..F-1)."""
        F = self.config.fam_len
        return self.layers[l]["k"][:F], self.layers[l]["v"][:F]


def load_state(path):
    return StreamState(path)


# ---- .npy dumps -----------------------------------------------------------------------------

def load_npy(path, dtype=None, ndim=None):
    """numpy.load without pickles; optionally check the dtype (e.g. np.int32) and rank."""
    try:
        a = np.load(path, allow_pickle=False)
    except ValueError as e:
        raise FormatError(f"{path}: not a readable .npy ({e})") from None
    if dtype is not None and a.dtype != np.dtype(dtype):
        raise FormatError(f"{path}: dtype {a.dtype}, expected {np.dtype(dtype)}")
    if ndim is not None and a.ndim != ndim:
        raise FormatError(f"{path}: rank {a.ndim}, expected {ndim}")
    return a


# ---- what is in a file ------------------------------------------------------------------------

def describe_file(path):
    """A few lines saying what a file is and what it holds."""
    if path.endswith(".npy"):
        a = load_npy(path)
        return [f"{path}: .npy, dtype {a.dtype}, shape {list(a.shape)}"
                + (f", min {a.min():.6g}, max {a.max():.6g}" if a.size and a.dtype.kind in "fiu" else "")]
    tensors, meta = read_safetensors(path)
    if "state.format" in meta:
        st = StreamState(path)
        lines = [f"{path}: stream state ({STATE_FORMAT}) of {st.config.describe()}",
                 f"  position {st.pos}, ring head {st.ring_head}, block length {st.block_len}, "
                 f"memory blocks {st.mem_blocks}, fresh {''.join('1' if f else '0' for f in st.fresh)}, "
                 f"model checksum {st.model_checksum}"]
    else:
        ck = Checkpoint(path)
        lines = [f"{path}: {ck.kind} of {ck.config.describe()}, "
                 f"{sum(int(np.prod(s)) for _, s in parameter_list(ck.config))} parameters"]
        if ck.loss is not None:
            lines.append(f"  loss {ck.loss:g}")
        if ck.train_step is not None:
            lines.append(f"  trained {ck.train_step} steps on {ck.task}, optimizer step {ck.optim_step}, "
                         f"rng state {ck.train_rng}")
        if ck.train_config is not None:
            lines.append("  train.config " + json.dumps(ck.train_config, sort_keys=True))
        if ck.vocab is not None:
            lines.append(f"  vocabulary of {len(ck.vocab)} words: " + " ".join(ck.vocab[:16])
                         + (" ..." if len(ck.vocab) > 16 else ""))
    lines.append(f"  {len(tensors)} tensors:")
    for name in sorted(tensors):
        lines.append(f"    {name:32s} {str(tensors[name].dtype):8s} {list(tensors[name].shape)}")
    lines.append("  metadata: " + ", ".join(sorted(meta)))
    return lines


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    usage = ("usage: python3 python/famio.py info FILE...\n"
             "  Says what each file is (model, training checkpoint, gradients, stream state, .npy)\n"
             "  and lists its tensors, shapes and metadata keys (docs/formats.md).\n"
             "example: python3 python/famio.py info model.safetensors out/logits.npy")
    if not argv or argv[0] in ("-h", "--help"):
        print(usage)
        return 0 if argv else 2
    if argv[0] != "info" or len(argv) < 2:
        print(usage, file=sys.stderr)
        return 2
    for path in argv[1:]:
        try:
            print("\n".join(describe_file(path)))
        except (FormatError, OSError) as e:
            print(f"famio info: error: {e}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
