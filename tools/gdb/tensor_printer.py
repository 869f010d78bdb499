# tensor_printer.py: gdb helpers for this project (docs/debugging.md).
#
# Load it with the program:
#     gdb -x tools/gdb/tensor_printer.py --args build-debug/fam forward --model m.safetensors ...
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
#   pmask EXPR               a Mask (src/masks.h) as '#'/'.' rows, like mask_ascii
#
# Everything is read through gdb's value API, so it works on any build with -g
# (make debug gives -O0 and keeps every local visible).
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


class PMask(gdb.Command):
    """pmask EXPR: a Mask as rows of '#' (attends) and '.' (masked), rows are queries."""

    def __init__(self):
        super().__init__("pmask", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        v = gdb.parse_and_eval(arg)
        t = v.type.strip_typedefs()
        if t.code in (gdb.TYPE_CODE_PTR, gdb.TYPE_CODE_REF):
            v = v.dereference() if t.code == gdb.TYPE_CODE_PTR else v.referenced_value()
        rows, cols = int(v["rows"]), int(v["cols"])
        m = v["m"]["_M_impl"]["_M_start"]
        print("%s [%d, %d]" % (str(v["title"]), rows, cols))
        for r in range(rows):
            print("%4d " % r + "".join("#" if int((m + r * cols + c).dereference()) else "." for c in range(cols)))


class BreakTag(gdb.Command):
    """break-tag TAG [FILE]: a breakpoint at the code under the comment tag, e.g.
    break-tag "Alg.2 step 7"            (in src/fam_layer.cpp, the default FILE)
    break-tag "undo [Alg.2 step 8]"
    break-tag "App. B.1" src/model.cpp
    The first line whose text contains TAG is used; gdb puts the breakpoint on the
    next line with code. Line numbers change as the code does, tags do not."""

    def __init__(self):
        super().__init__("break-tag", gdb.COMMAND_BREAKPOINTS)

    def invoke(self, arg, from_tty):
        argv = gdb.string_to_argv(arg)
        if not argv:
            raise gdb.GdbError('usage: break-tag "TAG" [FILE]')
        tag, path = argv[0], argv[1] if len(argv) > 1 else "src/fam_layer.cpp"
        try:
            lines = open(path).read().split("\n")
        except OSError as e:
            raise gdb.GdbError("break-tag: cannot read %s (run gdb from the repository root): %s" % (path, e))
        for i, line in enumerate(lines):
            if tag in line:
                print("break-tag: %s:%d: %s" % (path, i + 1, line.strip()))
                gdb.execute("break %s:%d" % (path.split("/")[-1], i + 1))
                return
        raise gdb.GdbError("break-tag: no line of %s contains %r" % (path, tag))


gdb.pretty_printers.append(_lookup)
PTensor()
PFloats()
PMask()
BreakTag()
print("tensor_printer.py: `p` shows Tensors; commands ptensor, pfloats, pmask, break-tag (docs/debugging.md)")
