# fam_commands.py: gdb commands for stepping through Algorithm 2 (docs/debugging.md).
# Loaded by tools/gdb/tensor_printer.py (gdb -x tools/gdb/tensor_printer.py ...);
# it can also be sourced by itself.
#
#   break-tag TAG [FILE...]    a breakpoint under every comment that carries TAG, e.g.
#                              break-tag "Alg.2 step 7"           (forward tags)
#                              break-tag "undo [Alg.2 step 8]"    (backward tags)
#                              break-tag "Alg.2 step 1" src/naive.cpp
#                              without FILE it searches the files of TAG_FILES below
#   list-tags [FILE...]        every tag line, file:line and the tag comment, in file order
#   fam-block BLOCK [PLAN] [--head H] [--mask]
#                              a BlockCache (src/fam_layer.h) as the block view of
#                              fam_block_mask: rows [block tokens | F<tau+1>.j FAM queries],
#                              columns [memory | F<tau>.j FAM keys | block], the attention
#                              weights of every head (or head H), '.' where the key is masked.
#                              --mask: '#' where any head's weight is non-zero, laid out like
#                              `build/fam mask --kind fam ...`.
#                              B, M, F come from PLAN if given, else from a variable `plan`
#                              visible in the selected frame, else from b.upd (F, B) and b.C.
#                              H comes from `cfg` in the selected frame or a caller's frame.
#   fam-io [BLOCK]             F_tau (the FAM entering block tau) and F_{tau+1} (the FAM it
#                              writes), labelled F<k>.<j>, with shapes and positions. Without
#                              BLOCK it reads the selected frame: fam_layer_forward,
#                              fam_block_readable, fam_update, compress_block; in
#                              fam_layer_backward / fam_update_backward it prints the
#                              gradients dL/dF_{tau+1} and dL/dF_tau instead.
#
# FAM index convention (docs/spec.md): F_0 enters block 0; code block tau reads F_tau
# and, when complete, writes F_{tau+1}. Label F<k>.<j> is row j of F_k.
import os
import re
import struct

import gdb

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The files break-tag searches when no FILE is named: the algorithm, not the pictures.
TAG_FILES = ["src/naive.cpp", "src/fam_update.cpp", "src/fam_layer.cpp", "src/fam_state.cpp",
             "src/model.cpp"]


# ---- reading values --------------------------------------------------------------------

def _deref(v):
    t = v.type.strip_typedefs()
    if t.code == gdb.TYPE_CODE_REF or t.code == gdb.TYPE_CODE_RVALUE_REF:
        return v.referenced_value()
    if t.code == gdb.TYPE_CODE_PTR and t.target().strip_typedefs().code == gdb.TYPE_CODE_STRUCT:
        return v.dereference()
    return v


def _eval(expr):
    return _deref(gdb.parse_and_eval(expr))


def _try_eval(expr):
    try:
        return _eval(expr)
    except gdb.error:
        return None


def _type_name(v):
    return str(v.type.strip_typedefs().unqualified())


def _vec(v):
    """(address, length) of a std::vector<float>; (address, None) of a float*."""
    v = _deref(v)
    t = v.type.strip_typedefs()
    if t.code == gdb.TYPE_CODE_PTR:
        return int(v), None
    name = _type_name(v)
    if name.startswith("std::vector<"):
        start, finish = v["_M_impl"]["_M_start"], v["_M_impl"]["_M_finish"]
        return int(start), int(finish - start)
    raise gdb.GdbError("not a float buffer: %s" % name)


def _floats(v, n, first=0):
    """n floats of a std::vector<float> or float*, from element `first` (one memory read)."""
    addr, length = _vec(v)
    if addr == 0:
        raise gdb.GdbError("null buffer")
    if length is not None and first + n > length:
        raise gdb.GdbError("buffer holds %d floats, %d..%d wanted" % (length, first, first + n))
    if n == 0:
        return []
    raw = gdb.selected_inferior().read_memory(addr + 4 * first, 4 * n)
    return list(struct.unpack("%df" % n, bytes(raw)))


def _frame_var(name, max_up=8):
    """`name` in the selected frame or, failing that, in one of its callers."""
    f = gdb.selected_frame()
    for _ in range(max_up):
        if f is None:
            return None
        try:
            return _deref(f.read_var(name))
        except (ValueError, gdb.error):
            f = f.older()
    return None


def _cfg_int(field):
    cfg = _frame_var("cfg")
    if cfg is None:
        st = _frame_var("st")
        cfg = st["cfg"] if st is not None else None
    if cfg is None:
        return None
    return int(cfg[field])


def _fam_len_of_cfg():
    cfg = _frame_var("cfg")
    if cfg is None:
        return None
    kind = str(cfg["attention"])
    return int(cfg["F"]) if kind.endswith("Fam") else 0


# ---- source tags -----------------------------------------------------------------------

def _read(path):
    full = path if os.path.isabs(path) else os.path.join(ROOT, path)
    try:
        with open(full) as f:
            return f.read().split("\n")
    except OSError as e:
        raise gdb.GdbError("cannot read %s: %s" % (full, e))


def _tag_regex(tag):
    """A regex for the comment line that carries TAG.

    "Alg.2 step 7" (or "[Alg.2 step 7]") matches a comment that starts with bracketed
    tags one of which is [Alg.2 step 7]: not [Alg.2 step 7-8], not an "undo" line, not
    a tag mentioned in the middle of a sentence. "undo [Alg.2 step 8]" matches a comment
    starting "undo [Alg.2 step 8]" or "undo the residual of [Alg.2 step 8]". A TAG that
    is not an [Alg.* ...] / [App.* ...] tag is matched as plain text inside a // comment
    (e.g. "Observer hook")."""
    m = re.fullmatch(r"\s*(undo\s+)?\[?((?:Alg|App)\.[^\[\]]+?)\]?\s*", tag)
    if not m:
        return re.compile(r"//.*" + re.escape(tag))
    undo, body = m.group(1), m.group(2).strip()
    tags = r"(?:\[[^\]]*\]\s*)*\[" + re.escape(body) + r"\]"
    if undo:
        return re.compile(r"//\s*undo\s+(?:the [\w ]+? of\s+)?" + tags)
    return re.compile(r"//\s*" + tags)


def _find_tag(tag, files):
    rx = _tag_regex(tag)
    hits = []
    for path in files:
        for i, line in enumerate(_read(path)):
            if rx.search(line):
                hits.append((path, i + 1, line.strip()))
    return hits


def _stmt_end(path, line):
    """The last line of the statement that starts at or after `line` (1-based): where it ends with ';'."""
    lines = _read(path)
    i = line - 1
    while i < len(lines) and (lines[i].strip().startswith("//") or not lines[i].strip()):
        i += 1
    while i < len(lines) and not lines[i].split("//")[0].rstrip().endswith(";"):
        i += 1
    return i + 1


def _indent(s):
    return len(s) - len(s.lstrip())


def _code_end(path, line):
    """The last line of the code under the tag comment at `line` (1-based): the lines that
    follow it up to a blank line, a comment at the code's own indentation, or a line
    indented less (the end of the enclosing block)."""
    lines = _read(path)
    i = line - 1
    while i < len(lines) and (lines[i].strip().startswith("//") or not lines[i].strip()):
        i += 1
    ind, last = _indent(lines[i]) if i < len(lines) else 0, i
    while i < len(lines):
        t = lines[i].strip()
        if not t or _indent(lines[i]) < ind or (t.startswith("//") and _indent(lines[i]) == ind):
            break
        last = i
        i += 1
    return last + 1


def _done(path, tag, func):
    """Whether the statement under TAG in `func` has run in the selected frame: gdb
    stops before a line runs, so it has run when the frame's line is past its end.
    None when the frame is not in `func`."""
    f = gdb.selected_frame()
    if f.name() is None or f.name().split("(")[0] != func:
        return None
    hits = _find_tag(tag, [path])
    sal = f.find_sal()
    for _, line, _ in hits:
        end = _code_end(path, line)
        if sal.line > end:
            return True
        if sal.line >= line:
            return False
    return False


class BreakTag(gdb.Command):
    """break-tag TAG [FILE...]: a breakpoint under each comment that carries TAG.

    break-tag "Alg.2 step 7"              forward tag: lines whose comment starts with [Alg.2 step 7]
    break-tag "undo [Alg.2 step 8]"       backward tag
    break-tag "Alg.2 step 1" src/naive.cpp   only in that file
    break-tag "App. B.1" src/model.cpp

    Without FILE it searches src/naive.cpp, src/fam_update.cpp, src/fam_layer.cpp,
    src/fam_state.cpp and src/model.cpp, and sets one breakpoint per matching line
    (gdb moves each to the next line with code). Paths are relative to the repository
    root, wherever gdb runs. Docs quote tags, never line numbers. `list-tags` lists them."""

    def __init__(self):
        super().__init__("break-tag", gdb.COMMAND_BREAKPOINTS)

    def invoke(self, arg, from_tty):
        argv = gdb.string_to_argv(arg)
        if not argv:
            raise gdb.GdbError('usage: break-tag "TAG" [FILE...]')
        tag, files = argv[0], argv[1:] or TAG_FILES
        hits = _find_tag(tag, files)
        if not hits:
            raise gdb.GdbError("break-tag: no comment in %s carries %r (list-tags shows them)"
                               % (", ".join(files), tag))
        for path, line, text in hits:
            print("break-tag: %s:%d: %s" % (path, line, text))
            gdb.execute("break %s:%d" % (path, line))


class ListTags(gdb.Command):
    """list-tags [FILE...]: every [Alg.1/2 ...] / [App. ...] tag comment with file:line, in file order
    (default files: those of break-tag)."""

    def __init__(self):
        super().__init__("list-tags", gdb.COMMAND_SUPPORT)

    def invoke(self, arg, from_tty):
        files = gdb.string_to_argv(arg) or TAG_FILES
        rx = re.compile(r"//\s*(undo\s+(?:the [\w ]+? of\s+)?)?\[(Alg\.|App\.)")
        for path in files:
            for i, line in enumerate(_read(path)):
                if rx.search(line):
                    print("%s:%d: %s" % (path, i + 1, line.strip()))


# ---- the block view ----------------------------------------------------------------------

def _geometry(b, plan_expr):
    """B, M, F, H and where they came from, for BlockCache b."""
    plan, source = None, None
    if plan_expr:
        plan, source = _eval(plan_expr), plan_expr
    else:
        p = _try_eval("plan")
        if p is not None and _type_name(p) == "BlockPlan":
            plan, source = p, "`plan` in this frame"
    if plan is not None:
        B, M, F = int(plan["B"]), int(plan["M"]), int(plan["F"])
    elif bool(b["update"]):
        F, B = int(b["upd"]["F"]), int(b["upd"]["B"])
        M = (int(b["C"]) - F - B) // B
        source = "b.upd.F, b.upd.B, b.C"
    else:
        B, F = _cfg_int("B"), _fam_len_of_cfg()
        if B is None or F is None:
            raise gdb.GdbError("fam-block: a block without an update; name its plan: fam-block EXPR PLAN")
        M = (int(b["C"]) - F - B) // B
        source = "cfg.B, cfg.F, b.C"
    if M * B + F + B != int(b["C"]):
        raise gdb.GdbError("fam-block: B=%d M=%d F=%d give %d key columns, the block has C=%d"
                           % (B, M, F, M * B + F + B, int(b["C"])))
    H = _cfg_int("H")
    if H is None:
        raise gdb.GdbError("fam-block: no `cfg` in this frame or its callers to read H from")
    return B, M, F, H, source


def _axes(tau, len_, update, B, M, F):
    """Row and column labels/groups of fam_block_mask(B, M, F, tau, len) (src/masks.cpp)."""
    rows = [(str(tau * B + i), tau, False) for i in range(len_)]
    if update:
        rows += [("F%d.%d" % (tau + 1, j), tau, True) for j in range(F)]
    cols = []
    for c in range(M * B):
        blk = tau - M + c // B
        cols.append((str((tau - M) * B + c) if blk >= 0 else "m%d" % c, blk, False))
    cols += [("F%d.%d" % (tau, j), tau, True) for j in range(F)]
    cols += [(str(tau * B + i), tau, False) for i in range(B)]
    return rows, cols


def _boundary(axis, i):
    return i > 0 and (axis[i][1] != axis[i - 1][1] or axis[i][2] != axis[i - 1][2])


def _allowed(r, c, tau, len_, B, M, F):
    """The block view mask (docs/spec.md, "Which keys a token sees")."""
    fam0, blk0 = M * B, M * B + F
    if r < len_:  # a block row: existing memory, every FAM key, its causal prefix
        if c < fam0:
            return tau - M + c // B >= 0
        if c < blk0:
            return True
        return c - blk0 <= r
    return c >= fam0  # a FAM row: the FAM keys and the whole block, no memory


def _weights(b, h, tau, len_, update, B, M, F, H):
    """[rows][C] weights of head h: block rows from b.P, FAM rows from b.upd.P."""
    C = M * B + F + B
    grid = []
    P = _floats(b["P"], len_ * C, h * len_ * C)
    for r in range(len_):
        grid.append(P[r * C:(r + 1) * C])
    if update:
        Pf = _floats(b["upd"]["P"], F * (F + B), h * F * (F + B))
        for j in range(F):
            grid.append([0.0] * (M * B) + Pf[j * (F + B):(j + 1) * (F + B)])
    return grid


class FamBlock(gdb.Command):
    """fam-block BLOCK [PLAN] [--head H] [--mask]: a BlockCache as the block view of its mask.

    fam-block b                 in fam_layer_forward (B, M, F from `plan` there)
    fam-block c.blocks[1] plan  any BlockCache, B, M, F from a BlockPlan
    fam-block b --head 1        one head
    fam-block b --mask          '#' where a weight is non-zero, like `build/fam mask --kind fam`

    Rows are queries: the block's tokens (their positions), then, when the block is
    complete, the FAM queries F<tau+1>.j that write F_{tau+1}. Columns are keys:
    [memory positions | F<tau>.j, the rows of F_tau | the block's positions].
    Block rows come from b.P [H, len, C], FAM rows from b.upd.P [H, F, F+B] placed at
    the FAM and block columns; '.' marks a key the row may not see (the spec's mask).
    A non-zero weight under a masked key is printed with a '!'."""

    def __init__(self):
        super().__init__("fam-block", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        argv = gdb.string_to_argv(arg)
        head, as_mask, pos = None, False, []
        i = 0
        while i < len(argv):
            if argv[i] == "--head":
                head = int(gdb.parse_and_eval(argv[i + 1]))
                i += 2
            elif argv[i] == "--mask":
                as_mask = True
                i += 1
            else:
                pos.append(argv[i])
                i += 1
        if not pos or len(pos) > 2:
            raise gdb.GdbError("usage: fam-block BLOCK [PLAN] [--head H] [--mask]")
        b = _eval(pos[0])
        if _type_name(b) != "BlockCache":
            raise gdb.GdbError("fam-block: %s is a %s, not a BlockCache" % (pos[0], _type_name(b)))
        B, M, F, H, source = _geometry(b, pos[1] if len(pos) > 1 else None)
        tau, len_, update, C = int(b["tau"]), int(b["len"]), bool(b["update"]), int(b["C"])
        rows, cols = _axes(tau, len_, update, B, M, F)

        first, last = tau * B, tau * B + len_ - 1
        print("block tau=%d: tokens %d..%d%s; B=%d M=%d F=%d (from %s), H=%d"
              % (tau, first, last, "" if len_ == B else " (partial, len=%d)" % len_, B, M, F, source, H))
        mem = ("memory %d (block%s %s)" % (M * B, "s" if M > 1 else "",
                                           ", ".join(str(tau - M + i) if tau - M + i >= 0 else
                                                     "%d absent" % (tau - M + i) for i in range(M)))
               ) if M else "no memory"
        print("  keys  [%s | F_%d %d | block %d], C=%d" % (mem, tau, F, B, C))
        print("  b.P     [H=%d, len=%d, C=%d]  block rows %d..%d  (Alg.2 step 4)" % (H, len_, C, first, last))
        if update:
            print("  b.upd.P [H=%d, F=%d, F+B=%d]  FAM rows F%d.0..F%d.%d writing F_%d  (Alg.2 step 7)"
                  % (H, F, F + B, tau + 1, tau + 1, F - 1, tau + 1))
        elif F:
            print("  no FAM rows: %s" % ("a partial block updates no FAM" if len_ < B else "no update"))
        done = _done("src/fam_layer.cpp", "Alg.2 step 4", "fam_layer_forward")
        if done is False and _try_eval("tau") is not None and int(_eval("tau")) == tau:
            print("  stopped before the end of [Alg.2 step 4] in this block: b.P is not written yet"
                  " (`next` over attention_forward)")
            return
        done = _done("src/fam_layer.cpp", "Alg.2 steps 6-8", "fam_layer_forward")
        if update and done is False and _try_eval("tau") is not None and int(_eval("tau")) == tau:
            print("  stopped before the end of [Alg.2 steps 6-8] in this block: b.upd.P is not written yet;"
                  " the FAM rows show what the buffer holds")

        heads = [head] if head is not None else list(range(H))
        need = [("b.P", b["P"], H * len_ * C)] + ([("b.upd.P", b["upd"]["P"], H * F * (F + B))] if update else [])
        for name, v, n in need:
            addr, have = _vec(v)
            if addr == 0 or (have is not None and have < n):
                print("%s holds %d floats, [H, rows, cols] needs %d: nothing to show yet" % (name, have or 0, n))
                return
        if as_mask:
            nz = [[False] * C for _ in rows]
            for h in range(H):
                g = _weights(b, h, tau, len_, update, B, M, F, H)
                for r in range(len(rows)):
                    for c in range(C):
                        nz[r][c] = nz[r][c] or g[r][c] != 0.0
            self._ascii(rows, cols, nz)
            return
        print("rows are queries, columns are keys; '.' masked; each row sums to 1 over its keys")
        for h in heads:
            g = _weights(b, h, tau, len_, update, B, M, F, H)
            print("head %d" % h)
            self._grid(rows, cols, g, tau, len_, B, M, F)

    @staticmethod
    def _grid(rows, cols, g, tau, len_, B, M, F):
        lw = max(len(r[0]) for r in rows)
        line = " " * (lw + 1)
        for c, (lab, _, _) in enumerate(cols):
            line += (" |" if _boundary(cols, c) else "") + " %5s" % lab
        print(line)
        for r, (lab, _, _) in enumerate(rows):
            if _boundary(rows, r):
                sep = " " * (lw + 1)
                for c in range(len(cols)):
                    sep += (" +" if _boundary(cols, c) else "") + "------"
                print(sep)
            line = "%*s " % (lw, lab)
            for c in range(len(cols)):
                if _boundary(cols, c):
                    line += " |"
                v = g[r][c]
                if _allowed(r, c, tau, len_, B, M, F):
                    line += " %5.3f" % v
                else:
                    line += "     ." if v == 0.0 else " %5.3f!" % v
            print(line)

    @staticmethod
    def _ascii(rows, cols, nz):
        """The layout of mask_ascii (src/app/render.cpp): vertical column labels."""
        lw = max(len(r[0]) for r in rows)
        hgt = max(len(c[0]) for c in cols)
        print("rows are queries, columns are keys: '#' a non-zero weight in some head, '.' none")
        for k in range(hgt):
            line = " " * (lw + 1)
            for c, (lab, _, _) in enumerate(cols):
                if _boundary(cols, c):
                    line += " "
                lead = hgt - len(lab)
                line += lab[k - lead] if k >= lead else " "
            print(line.rstrip())
        for r, (lab, _, _) in enumerate(rows):
            if _boundary(rows, r):
                sep = " " * (lw + 1)
                for c in range(len(cols)):
                    sep += ("+" if _boundary(cols, c) else "") + "-"
                print(sep)
            line = "%*s " % (lw, lab)
            for c in range(len(cols)):
                line += ("|" if _boundary(cols, c) else "") + ("#" if nz[r][c] else ".")
            print(line)


# ---- F_tau in, F_{tau+1} out --------------------------------------------------------------

def _print_fam(title, k, v, F, D, pos=None, max_cols=12):
    print(title)
    if pos is not None:
        print("    positions " + " ".join("%g" % p for p in pos))
    x = _floats(v, F * D)
    for j in range(F):
        row = x[j * D:(j + 1) * D]
        s = "".join(" %7.3f" % t for t in row[:max_cols]) + (" ..." if D > max_cols else "")
        print("  %6s%s" % ("F%d.%d" % (k, j) if k is not None else "row %d" % j, s))


class FamIO(gdb.Command):
    """fam-io [BLOCK]: the FAM a block reads, F_tau, and the FAM it writes, F_{tau+1}.

    fam-io b / fam-io c.blocks[1]   a BlockCache: b.fam.x (F_tau), b.fam_out (F_{tau+1})
    fam-io                          the selected frame:
        fam_layer_forward    in.fam, in.pos (F_tau); b.fam_out (F_{tau+1})
        fam_block_readable   fam_in (F_tau); out.fam_out (F_{tau+1})
        fam_update           in.fam, in.pos, in.fresh (F_tau); fam_out, fam_out_pos (F_{tau+1})
        compress_block       L.fam (F_tau until it is overwritten); s.fam_new (F_{tau+1})
        fam_update_backward  dfam_out = dL/dF_{tau+1}; dfam_in = dL/dF_tau (accumulating)
        fam_layer_backward   dF_out = dL/dF_{tau+1}; dF_in = dL/dF_tau (accumulating)
    Rows are labelled F<k>.<j> (row j of F_k, docs/spec.md). F_{tau+1} is printed only
    once the update has run in the selected frame."""

    def __init__(self):
        super().__init__("fam-io", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        argv = gdb.string_to_argv(arg)
        if argv:
            return self._block(_eval(argv[0]), argv[0])
        fn = gdb.selected_frame().name() or ""
        fn = fn.split("(")[0]
        D = _cfg_int("D")
        if fn == "fam_layer_forward":
            F = int(_eval("F"))
            b = _eval("b")
            tau = int(_eval("tau"))
            self._header(tau, int(_eval("B")), F, D, int(b["len"]) == int(_eval("B")) and F > 0, int(b["len"]))
            inn = _eval("in")
            _print_fam("F_%d in  [F=%d, D=%d]  (in.fam)  fresh: %s" % (tau, F, D, self._fresh(inn["fresh"], tau)),
                       tau, inn["fam"], F, D, _floats(inn["pos"], F))
            if _done("src/fam_layer.cpp", "Alg.2 steps 6-8", fn):
                self._out("b.fam_out", tau, b["fam_out"], b["fam_out_pos"], F, D, bool(b["update"]))
            else:
                print("F_%d out: not written yet (stop after [Alg.2 steps 6-8]: `next` over fam_update)" % (tau + 1))
        elif fn == "fam_block_readable":
            F, B = _fam_len_of_cfg(), _cfg_int("B")
            tau = int(_eval("t0")) // B
            inn = _eval("fam_in")
            self._header(tau, B, F, D, int(_eval("len")) == B and F > 0, int(_eval("len")))
            _print_fam("F_%d in  [F=%d, D=%d]  (fam_in.fam)  fresh: %s" % (tau, F, D, self._fresh(inn["fresh"], tau)),
                       tau, inn["fam"], F, D, _floats(inn["pos"], F))
            out = _eval("out")
            n = _vec(out["fam_out"])[1]
            if n:
                self._out("out.fam_out", tau, out["fam_out"], out["fam_out_pos"], F, D, True)
            else:
                print("F_%d out: out.fam_out is empty (%s)" % (tau + 1, "not written yet" if int(_eval("len")) == B
                                                               else "a partial block writes none"))
        elif fn == "fam_update":
            F, B = _fam_len_of_cfg(), _cfg_int("B")
            tau = int(_eval("t0")) // B
            inn = _eval("in")
            self._header(tau, B, F, D, True)
            _print_fam("F_%d in  [F=%d, D=%d]  (in.fam)  fresh: %s" % (tau, F, D, self._fresh(inn["fresh"], tau)),
                       tau, inn["fam"], F, D, _floats(inn["pos"], F))
            if _done("src/fam_update.cpp", "Alg.2 step 8", fn):
                self._out("fam_out", tau, _eval("fam_out"), None, F, D, True)
                if FamIO._past("src/fam_update.cpp", "fam_positions(fam_out_pos", fn):
                    print("    positions " + " ".join("%g" % p for p in _floats(_eval("fam_out_pos"), F)))
                else:
                    print("    positions: not written yet (fam_positions, the last line)")
            else:
                print("F_%d out: not written yet (stop after [Alg.2 step 8])" % (tau + 1))
        elif fn == "compress_block":
            st = _eval("st")
            F, B = int(st["F"]), int(st["cfg"]["B"])
            tau = int(_eval("t0")) // B
            L, s = _eval("st.layers[l]"), st["s"]  # not the references L, s: unset at entry
            self._header(tau, B, F, D, True)
            print("  layer %d, ring slot head=%d (the block's keys: L.k rows %d..%d)"
                  % (int(_eval("l")), int(st["head"]), F + int(st["head"]) * B, F + int(st["head"]) * B + B - 1))
            upd_done = self._past("src/fam_state.cpp", "fam_update(s.fam_new", fn)
            copied = self._past("src/fam_state.cpp", "std::memcpy(L.fam_pos", fn)
            if not copied:
                _print_fam("F_%d in  [F=%d, D=%d]  (L.fam)  fresh: %s" % (tau, F, D, self._fresh(L["fresh"], tau)),
                           tau, L["fam"], F, D, _floats(L["fam_pos"], F))
            else:
                print("F_%d in: L.fam already holds F_%d (stop before the memcpy to see F_%d)" % (tau, tau + 1, tau))
            if upd_done:
                _print_fam("F_%d out [F=%d, D=%d]  (s.fam_new)" % (tau + 1, F, D), tau + 1, s["fam_new"], F, D,
                           _floats(s["fam_new_pos"], F))
            else:
                print("F_%d out: not written yet (`next` over fam_update)" % (tau + 1))
        elif fn in ("fam_update_backward", "fam_layer_backward"):
            self._grads(fn, D)
        else:
            raise gdb.GdbError("fam-io: no rule for frame %r; name a BlockCache (fam-io b) or select a frame "
                               "of fam_layer_forward, fam_block_readable, fam_update, compress_block, "
                               "fam_update_backward, fam_layer_backward" % fn)

    @staticmethod
    def _yes(v):
        return "yes" if bool(v) else "no"

    @staticmethod
    def _fresh(v, tau):
        return ("yes (step 7 adds a zero residual, App. B.1)" if bool(v)
                else "no (step 7 adds F_%d as the residual)" % tau)

    @staticmethod
    def _header(tau, B, F, D, update, len_=None):
        len_ = B if len_ is None else len_
        print("block tau=%d (tokens %d..%d): reads F_%d%s" % (tau, tau * B, tau * B + len_ - 1, tau,
                                                            ", writes F_%d" % (tau + 1) if update else
                                                            ", writes none (partial block: F_%d = F_%d)"
                                                            % (tau + 1, tau)))

    @staticmethod
    def _past(path, text, func):
        lines = _read(path)
        for i, line in enumerate(lines):
            if text in line:
                end = _stmt_end(path, i + 1)
                return gdb.selected_frame().find_sal().line > end
        return False

    @staticmethod
    def _out(name, tau, v, pos, F, D, update):
        what = "" if update else "  (no update: a copy of F_%d)" % tau
        _print_fam("F_%d out [F=%d, D=%d]  (%s)%s" % (tau + 1, F, D, name, what), tau + 1, v, F, D,
                   _floats(pos, F) if pos is not None else None)

    def _block(self, b, expr):
        if _type_name(b) != "BlockCache":
            raise gdb.GdbError("fam-io: %s is a %s, not a BlockCache" % (expr, _type_name(b)))
        tau, F = int(b["tau"]), int(b["fam"]["R"])
        n = _vec(b["fam"]["x"])[1]
        D = n // F if F else 0
        B = _cfg_int("B")
        update = bool(b["update"])
        print("block tau=%d (tokens %d..%d): reads F_%d%s" % (
            tau, tau * int(B or 0), tau * int(B or 0) + int(b["len"]) - 1, tau,
            ", writes F_%d" % (tau + 1) if update else ", writes none (F_%d = F_%d)" % (tau + 1, tau)))
        if F == 0:
            print("no FAM (F = 0)")
            return
        _print_fam("F_%d in  [F=%d, D=%d]  (%s.fam.x, as Alg.2 step 2 read it)  fresh: %s"
                   % (tau, F, D, expr, self._fresh(b["fresh"], tau)), tau, b["fam"]["x"], F, D,
                   _floats(b["fam"]["pos"], F))
        self._out(expr + ".fam_out", tau, b["fam_out"], b["fam_out_pos"], F, D, update)

    def _grads(self, fn, D):
        tau = _frame_var("tau")
        tau = int(tau) if tau is not None else None
        t = "tau" if tau is None else str(tau)
        t1 = "tau+1" if tau is None else str(tau + 1)
        if fn == "fam_update_backward":
            F = int(_eval("c")["F"])
            out_name, in_name = "dfam_out", "dfam_in"
            fresh = bool(_eval("c")["fresh"])
        else:
            F = int(_eval("F"))
            out_name, in_name = "dF_out", "dF_in"
            fresh = bool(_eval("c.blocks[%d].fresh" % tau)) if tau is not None else False
        print("backward through block tau=%s: %s = dL/dF_%s (the FAM the block wrote), "
              "%s = dL/dF_%s (the FAM it read)" % (t, out_name, t1, in_name, t))
        _print_fam("%s = dL/dF_%s  [F=%d, D=%d]" % (out_name, t1, F, D), None if tau is None else tau + 1,
                   _eval(out_name), F, D)
        din = _eval(in_name)
        if _vec(din)[0] == 0:
            print("%s = null: F_%s is fresh, its update used a zero residual (App. B.1), so no gradient "
                  "flows back through it" % (in_name, t))
            return
        note = " (accumulating: complete after undo [Alg.2 step 2]%s)" % (
            " in fam_layer_backward" if fn == "fam_update_backward" else "")
        _print_fam("%s = dL/dF_%s  [F=%d, D=%d]%s%s" % (in_name, t, F, D, note,
                                                        "; F_%s is fresh: no residual path, only undo [Alg.2 step 2] adds to it" % t if fresh else ""),
                   tau, din, F, D)


BreakTag()
ListTags()
FamBlock()
FamIO()
