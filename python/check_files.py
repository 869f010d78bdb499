#!/usr/bin/env python3
"""check_files.py DIR: hold famio.py and fam_numpy.py to files the C++ made.

tests/test_python.cpp writes DIR (models, `fam forward` dumps, gradients, a
training checkpoint, stream states, masks, token ids) and DIR/manifest.json
saying what each is, then runs this script. Every check prints one line,
"OK" or "NOT OK", with the largest difference and its tolerance; the exit
status is the number of failed checks (0 = all passed).

Tolerance: the C++ computes in float32, fam_numpy in float64, so the two differ
by float32 rounding, amplified a little by each layer. We require
max |a - b| <= 1e-5 * max(1, max |b|): 1e-5 relative to the largest value, or
absolute for values below 1. (Measured: logits within about 1e-6 of the
largest logit, FAM rows within about 3e-6 of their largest entry.)
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fam_numpy  # noqa: E402
import famio  # noqa: E402

TOL = 1e-5
failures = 0


def report(ok, what):
    global failures
    print(("OK     " if ok else "NOT OK ") + what)
    if not ok:
        failures += 1


def close(name, got, want, tol=TOL):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if got.shape != want.shape:
        report(False, f"{name}: shape {list(got.shape)}, expected {list(want.shape)}")
        return
    diff = float(np.abs(got - want).max()) if got.size else 0.0
    bound = tol * max(1.0, float(np.abs(want).max()) if want.size else 0.0)
    report(diff <= bound and np.isfinite(got).all(), f"{name}: max |diff| {diff:.3g} (tol {bound:.3g})")


def equal(name, got, want):
    report(got == want, f"{name}: {got!r}" + ("" if got == want else f", expected {want!r}"))


def check_forward(d, m):
    """fam_numpy reproduces `fam forward` (logits.npy, fam_final.npy)."""
    ck = famio.load_checkpoint(os.path.join(d, m["model"]))
    r = fam_numpy.forward(ck, m["tokens"])
    tag = f"forward {ck.config.describe()}"
    close(tag + ": logits vs logits.npy", r["logits"], famio.load_npy(os.path.join(d, m["out"], "logits.npy"),
                                                                      np.float32, 2))
    if ck.config.fam_len > 0:
        close(tag + ": FAM vs fam_final.npy", r["fam_final"],
              famio.load_npy(os.path.join(d, m["out"], "fam_final.npy"), np.float32, 3))
    return ck, r


def cross_entropy(logits, targets):
    """Mean -log softmax(logits)[target] over the positions with a target (>= 0)."""
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    idx = [t for t in range(len(targets)) if targets[t] >= 0]
    return -np.mean([logp[t, targets[t]] for t in idx])


def check_grad(d, g):
    """A `fam grad` file: its loss and a few gradient entries against central
    differences of fam_numpy's loss (float64, so the differences are accurate)."""
    model = famio.load_checkpoint(os.path.join(d, g["model"]))
    grad = famio.load_checkpoint(os.path.join(d, g["grad"]))
    equal("gradients: kind", grad.kind, "gradients")
    tokens, targets = g["tokens"], g["targets"]
    loss = cross_entropy(fam_numpy.forward(model, tokens)["logits"], targets)
    close("gradients: metadata loss vs fam_numpy's loss", grad.loss, loss)

    class Perturbed:  # the model with one entry moved
        config = model.config
        tensors = {n: np.array(a, np.float64) for n, a in model.parameters().items()}

    eps = 1e-4
    rng = np.random.default_rng(0)
    for name in g["check"]:
        shape = Perturbed.tensors[name].shape
        i = tuple(int(rng.integers(0, s)) for s in shape)
        keep = Perturbed.tensors[name][i]
        Perturbed.tensors[name][i] = keep + eps
        up = cross_entropy(fam_numpy.forward(Perturbed, tokens)["logits"], targets)
        Perturbed.tensors[name][i] = keep - eps
        down = cross_entropy(fam_numpy.forward(Perturbed, tokens)["logits"], targets)
        Perturbed.tensors[name][i] = keep
        fd = (up - down) / (2 * eps)
        got = float(grad.tensors[name][i])
        err = abs(got - fd)
        bound = 1e-3 * max(abs(fd), 1e-2)
        report(err <= bound, f"gradients: d loss / d {name}{list(i)} = {got:.6g}, finite difference {fd:.6g} "
                             f"(|diff| {err:.2g}, tol {bound:.2g})")


def check_train(d, t):
    """A checkpoint written by `fam train`: the training keys of docs/formats.md."""
    ck = famio.load_checkpoint(os.path.join(d, t["file"]))
    equal("training checkpoint: kind", ck.kind, "training checkpoint")
    equal("training checkpoint: train.step", ck.train_step, t["steps"])
    equal("training checkpoint: optim.step", ck.optim_step, t["steps"])
    equal("training checkpoint: train.config steps, batch, key_digits",
          (ck.train_config["steps"], ck.train_config["batch"], ck.train_config["key_digits"]),
          (t["steps"], t["batch"], t["digits"]))
    equal("training checkpoint: task, key digits", (ck.task, ck.key_digits), ("passkey", t["digits"]))
    equal("training checkpoint: vocabulary size = V", len(ck.vocab), ck.config.V)
    equal("training checkpoint: the vocabulary starts with the digits", ck.vocab[:10], [str(i) for i in range(10)])
    m, v = ck.optimizer_moments()
    equal("training checkpoint: one moment per parameter", sorted(m), sorted(ck.parameters()))
    report(all((v[n] >= 0).all() for n in v), "training checkpoint: optim.v (second moments) >= 0")
    rsp = ck.rsp_fam()
    equal("training checkpoint: train.rsp_fam shape", None if rsp is None else list(rsp.shape),
          [ck.config.N, ck.config.fam_len, ck.config.D])


def check_optimizer_order(d, o):
    """A checkpoint whose optim.m holds 0, 1, 2, ... and optim.v holds 0, -1, -2, ...:
    parameter_list() must cut the flat buffer exactly where the C++ layout does."""
    ck = famio.load_checkpoint(os.path.join(d, o["file"]))
    m, v = ck.optimizer_moments()
    at, ok = 0, True
    for name, shape in famio.parameter_list(ck.config):
        n = int(np.prod(shape))
        ok = ok and np.array_equal(m[name].ravel(), np.arange(at, at + n)) and \
            np.array_equal(v[name].ravel(), -np.arange(at, at + n))
        at += n
    report(ok, f"optimizer order: optim.m / optim.v split into {len(m)} parameters in buffer order")


def check_state(d, s):
    """A `fam stream --state-out` file after the first T tokens, against fam_numpy
    on the same T tokens: F_tau, its positions, the ring's keys and values."""
    model = famio.load_checkpoint(os.path.join(d, s["model"]))
    st = famio.load_state(os.path.join(d, s["state"]))
    cfg, T = st.config, len(s["tokens"])
    tag = f"stream state {cfg.describe()}"
    r = fam_numpy.forward(model, s["tokens"])
    equal(tag + ": state.pos", st.pos, T)
    equal(tag + ": state.model_checksum = FNV-1a of the weights", st.model_checksum,
          famio.weights_checksum(model.tensors, model.config))
    close(tag + ": stream.last_logits vs the last row of the logits", st.tensors["stream.last_logits"],
          r["logits"][-1])
    F = cfg.fam_len
    for l in range(cfg.N):
        k, v = r["keys"][l], r["values"][l]
        if cfg.attention == "full":
            ck_, cv_ = st.current_block_keys(l)
            close(tag + f": layer {l} keys and values, all {T}", np.stack([ck_, cv_]), np.stack([k, v]))
            continue
        B, tau = cfg.B, T // cfg.B
        ck_, cv_ = st.current_block_keys(l)
        close(tag + f": layer {l} current block (tokens {tau * B}..{T - 1}) keys, values",
              np.concatenate([ck_, cv_]), np.concatenate([k[tau * B:T], v[tau * B:T]]))
        mk, mv = st.memory_keys(l)
        first = (tau - st.mem_blocks) * B
        close(tag + f": layer {l} memory blocks (tokens {first}..{tau * B - 1}) keys, values",
              np.concatenate([mk, mv]), np.concatenate([k[first:tau * B], v[first:tau * B]]))
        if F > 0:
            close(tag + f": layer {l} FAM F_{tau}", st.layers[l]["fam"], r["fam_final"][l])
            want_pos = np.arange(-F, 0) if tau == 0 else tau * B - F + np.arange(F)
            equal(tag + f": layer {l} FAM positions", st.layers[l]["fam_pos"].tolist(), want_pos.astype(float).tolist())
            equal(tag + f": layer {l} fresh flag", st.fresh[l], tau == 0)


def check_npy(d, n):
    """Dumps: token ids as int32; a mask as uint8 against the rule of docs/spec.md."""
    tok = famio.load_npy(os.path.join(d, n["tokens_npy"]))
    equal("tokens.npy: dtype", str(tok.dtype), "int32")
    equal("tokens.npy: the ids", tok.tolist(), n["tokens"])
    mask = famio.load_npy(os.path.join(d, n["mask"]), np.uint8, 2)
    T, B, M = n["mask_T"], n["mask_B"], n["mask_M"]
    want = np.zeros((T, T), np.uint8)
    for t in range(T):  # bswa: blocks max(0, tau-M)..tau-1 whole, then tau*B..t
        tau = t // B
        want[t, max(0, tau - M) * B: t + 1] = 1
    equal("bswa mask .npy (uint8) = the spec's key table", mask.tolist(), want.tolist())


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: python3 python/check_files.py DIR (DIR/manifest.json lists the files)")
    d = sys.argv[1]
    with open(os.path.join(d, "manifest.json")) as f:
        man = json.load(f)
    print(f"numpy {np.__version__}, python {sys.version.split()[0]}")
    for m in man["forward"]:
        check_forward(d, m)
    check_grad(d, man["grad"])
    check_train(d, man["train"])
    check_optimizer_order(d, man["optimizer_order"])
    for s in man["states"]:
        check_state(d, s)
    check_npy(d, man["npy"])
    # hostile files (tests/fuzz/corpus/checkpoint/hostile_*) are refused with a FormatError
    for path in man.get("refuse", []):
        try:
            famio.load_checkpoint(path)
            report(False, f"refuses {os.path.basename(path)}: it loaded")
        except famio.FormatError as e:
            report(True, f"refuses {os.path.basename(path)}: {str(e).split(': ', 1)[-1]}")
    # `famio.py info` opens every kind of file
    for name in man["info"]:
        try:
            famio.describe_file(os.path.join(d, name))
            report(True, f"famio info {name}")
        except Exception as e:  # noqa: BLE001 -- any failure is a NOT OK line
            report(False, f"famio info {name}: {e}")
    print(f"{failures} failed")
    return min(failures, 100)


if __name__ == "__main__":
    sys.exit(main())
