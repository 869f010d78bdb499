# tensor_printer.py: gdb helpers for this project (docs/debugging.md).
#
# Load it with the program:
#     gdb -x tools/gdb/tensor_printer.py --args build-debug/fam forward --model m.safetensors ...
# (from any directory: paths are taken relative to this file)
# or from a running gdb:  (gdb) source tools/gdb/tensor_printer.py
#
# What it adds:
#   p t                      a Tensor prints as   x [2, 3] = {{1, 2, 3}, {4, 5, 6}}
#   ptensor EXPR [R] [C]     a Tensor as a matrix, at most R rows x C columns (default 8 x 8)
#   pfloats EXPR ROWS COLS [FIRST_ROW]
#                            any float buffer (float*, std::vector<float>) read as a
#                            row-major [.., COLS] matrix, ROWS rows from FIRST_ROW (at most
#                            24 columns shown), e.g. `pfloats b.P b.R b.C` for head 0 of a
#                            block's attention weights, `pfloats b.P 8 24 16` for its rows
#                            16..23, `pfloats x 4 64 12` for rows 12..15 of a [T, 64] buffer
#   pmask EXPR               a Mask (src/masks.h) as '#'/'.' rows with its row and column
#                            labels, like mask_ascii
# and, from tools/gdb/fam_commands.py (loaded below):
#   break-tag TAG [FILE...]  a breakpoint under the comment tag, e.g. break-tag "Alg.2 step 7"
#   list-tags [FILE...]      every tag comment with file:line
#   fam-block BLOCK [PLAN]   a BlockCache as the block view: weights under row/column labels
#   fam-io [BLOCK]           F_tau in and F_{tau+1} out of a block (or their gradients)
#
# Everything is read through gdb's value API, so it works on any build with -g
# (make debug gives -O0 and keeps every local visible).
import os

import gdb


def _float_ptr(val):
    """A float* from a float*, float[], std::vector<float> or Tensor value."""
    t = val.type.strip_typedefs()
    if t.code == gdb.TYPE_CODE_REF:
        val = val.referenced_value()
        t = val.type.strip_typedefs()
    if t.code == gdb.TYPE_CODE_PTR:
        return val
    if t.code == gdb.TYPE_CODE_ARRAY:
        return val[0].address
    name = str(t)
    if name.startswith("std::vector<float"):
        return val["_M_impl"]["_M_start"]
    if name == "Tensor":
        return val["data"]
    raise gdb.GdbError("not a float buffer: %s" % name)


def _vector_len(val):
    t = str(val.type.strip_typedefs())
    if t.startswith("std::vector<"):
        return int(val["_M_impl"]["_M_finish"] - val["_M_impl"]["_M_start"])
    return None


def _fmt(x):
    return "%7.3f" % x


def _matrix(ptr, rows, cols, row0=0, max_cols=None):
    lines = []
    shown = cols if max_cols is None else min(cols, max_cols)
    for r in range(row0, row0 + rows):
        vals = [float((ptr + r * cols + c).dereference()) for c in range(shown)]
        line = "%5d:" % r + "".join(" " + _fmt(v) for v in vals)
        if shown < cols:
            line += " ..."
        lines.append(line)
    return "\n".join(lines)


class TensorPrinter:
    """x [2, 3] = {{1, 2, 3}, {4, 5, 6}} (at most 4 rows x 6 values)."""

    def __init__(self, val):
        self.val = val

    def to_string(self):
        v = self.val
        ndim = int(v["ndim"])
        shape = [int(v["shape"][i]) for i in range(ndim)]
        name = v["name"].format_string().strip('"') if hasattr(v["name"], "format_string") else str(v["name"])
        head = "%s [%s]" % (name, ", ".join(str(s) for s in shape))
        data = v["data"]
        if ndim == 0 or int(data) == 0:
            return head + " (empty)"
        rows = shape[0] if ndim > 1 else 1
        cols = 1
        for s in shape[1:] if ndim > 1 else shape:
            cols *= s
        out = []
        for r in range(min(rows, 4)):
            vals = ["%.4g" % float((data + r * cols + c).dereference()) for c in range(min(cols, 6))]
            out.append("{" + ", ".join(vals) + (", ..." if cols > 6 else "") + "}")
        body = ", ".join(out) + (", ..." if rows > 4 else "")
        return "%s = {%s}" % (head, body) if ndim > 1 else "%s = %s" % (head, out[0])


def _lookup(val):
    t = val.type.strip_typedefs()
    if t.code == gdb.TYPE_CODE_STRUCT and t.tag == "Tensor":
        return TensorPrinter(val)
    return None


class PTensor(gdb.Command):
    """ptensor EXPR [ROWS] [COLS]: print a Tensor as a matrix (dim 0 = rows, the rest flattened)."""

    def __init__(self):
        super().__init__("ptensor", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        argv = gdb.string_to_argv(arg)
        if not argv:
            raise gdb.GdbError("usage: ptensor EXPR [ROWS] [COLS]")
        v = gdb.parse_and_eval(argv[0])
        if v.type.strip_typedefs().code == gdb.TYPE_CODE_PTR:
            v = v.dereference()
        max_r = int(argv[1]) if len(argv) > 1 else 8
        max_c = int(argv[2]) if len(argv) > 2 else 8
        print(TensorPrinter(v).to_string().split(" = ")[0])
        ndim = int(v["ndim"])
        shape = [int(v["shape"][i]) for i in range(ndim)]
        rows = shape[0] if ndim > 1 else 1
        cols = 1
        for s in (shape[1:] if ndim > 1 else shape):
            cols *= s
        print(_matrix(v["data"], min(rows, max_r), cols, 0, max_c))
        if rows > max_r:
            print("  ... (%d more rows)" % (rows - max_r))


class PFloats(gdb.Command):
    """pfloats EXPR ROWS COLS [FIRST_ROW]: a float buffer read as a row-major [ROWS, COLS] matrix."""

    def __init__(self):
        super().__init__("pfloats", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        argv = gdb.string_to_argv(arg)
        if len(argv) < 3:
            raise gdb.GdbError("usage: pfloats EXPR ROWS COLS [FIRST_ROW]")
        v = gdb.parse_and_eval(argv[0])
        rows, cols = int(gdb.parse_and_eval(argv[1])), int(gdb.parse_and_eval(argv[2]))
        row0 = int(gdb.parse_and_eval(argv[3])) if len(argv) > 3 else 0
        n = _vector_len(v)
        if n is not None and (row0 + rows) * cols > n:
            raise gdb.GdbError("%s holds %d floats, [%d..%d) x %d needs %d" % (argv[0], n, row0, row0 + rows, cols,
                                                                             (row0 + rows) * cols))
        print(_matrix(_float_ptr(v), rows, cols, row0, max_cols=24))


def _strings(vec):
    """A std::vector<std::string> as a Python list (empty if the vector is)."""
    start, finish = vec["_M_impl"]["_M_start"], vec["_M_impl"]["_M_finish"]
    return [(start + i).dereference()["_M_dataplus"]["_M_p"].string() for i in range(int(finish - start))]


def _groups(vec):
    start, finish = vec["_M_impl"]["_M_start"], vec["_M_impl"]["_M_finish"]
    return [int((start + i).dereference()) for i in range(int(finish - start))]


class PMask(gdb.Command):
    """pmask EXPR: a Mask as rows of '#' (attends) and '.' (masked), rows are queries.
    With the mask's row and column labels (e.g. 4 5 6 7, F2.0 F2.1) when it has them,
    block boundaries as '|' and '-', like mask_ascii (src/app/render.h)."""

    def __init__(self):
        super().__init__("pmask", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        v = gdb.parse_and_eval(arg)
        t = v.type.strip_typedefs()
        if t.code in (gdb.TYPE_CODE_PTR, gdb.TYPE_CODE_REF):
            v = v.dereference() if t.code == gdb.TYPE_CODE_PTR else v.referenced_value()
        rows, cols = int(v["rows"]), int(v["cols"])
        m = v["m"]["_M_impl"]["_M_start"]
        title = v["title"]["_M_dataplus"]["_M_p"].string()
        print("%s [%d, %d]" % (title, rows, cols))
        rl, cl = _strings(v["row_axis"]["label"]), _strings(v["col_axis"]["label"])
        if len(rl) != rows or len(cl) != cols:  # no labels: row numbers
            for r in range(rows):
                print("%4d " % r + "".join("#" if int((m + r * cols + c).dereference()) else "."
                                           for c in range(cols)))
            return

        def cuts(axis, n):
            g, f = _groups(axis["group"]), _groups(axis["fam"])
            return [i > 0 and (g[i] != g[i - 1] or (f[i] >= 0) != (f[i - 1] >= 0)) for i in range(n)]

        rc, cc = cuts(v["row_axis"], rows), cuts(v["col_axis"], cols)
        lw, hgt = max(len(x) for x in rl), max(len(x) for x in cl)
        for k in range(hgt):
            line = " " * (lw + 1)
            for c in range(cols):
                lead = hgt - len(cl[c])
                line += (" " if cc[c] else "") + (cl[c][k - lead] if k >= lead else " ")
            print(line.rstrip())
        for r in range(rows):
            if rc[r]:
                print(" " * (lw + 1) + "".join(("+" if cc[c] else "") + "-" for c in range(cols)))
            print("%*s " % (lw, rl[r]) + "".join(("|" if cc[c] else "") +
                                                ("#" if int((m + r * cols + c).dereference()) else ".")
                                                for c in range(cols)))


gdb.pretty_printers.append(_lookup)
PTensor()
PFloats()
PMask()

# The Algorithm 2 commands (break-tag, list-tags, fam-block, fam-io) live next door.
_here = os.path.dirname(os.path.abspath(__file__))
gdb.execute("source " + os.path.join(_here, "fam_commands.py"))
print("tensor_printer.py: `p` shows Tensors; commands ptensor, pfloats, pmask, break-tag, list-tags, "
      "fam-block, fam-io (docs/debugging.md)")
