"""Compare .pyc files by meaning: identical headers, equal code objects.

Run BY the interpreter that wrote the files (it must be able to unmarshal them):

    pythonX.Y codecompare.py A.pyc B.pyc [A2.pyc B2.pyc ...]

For each pair it prints nothing when they agree, else one line
"DIFF A.pyc B.pyc: <path>: <what differs>" naming the first difference (for example
"<module>.co_consts[3].co_linetable: b'..' != b'..'"). Exit 0 when every pair agrees,
1 when any differs, 2 on a usage error.

Why not compare bytes: through 3.10 marshal sets FLAG_REF on an object when its reference
count is above one at dump time, so two correct writers (even compileall -j1 and -j2) can
write different bytes for the same code. The loaded objects are what the import system
uses, so they are what must agree: every co_* attribute the running version has, with
co_consts compared recursively (nested code objects, tuples, frozensets), and constants
compared by exact type and by bit pattern for floats (0.0 vs -0.0, NaN).

Works on CPython 3.6-3.13: no f-strings, no walrus, no positional-only markers.
"""
import marshal
import struct
import sys
import types
import warnings

# Callables among the co_* names (co_lines, co_positions) are derived from co_linetable;
# comparing them too would only repeat that difference less precisely.
_SKIP = frozenset(["co_lines", "co_positions"])
# Compared first, so the reported difference is the most telling one (a constant rather
# than the co_code that loads it); every other co_* attribute follows in name order.
_FIRST = ["co_name", "co_qualname", "co_filename", "co_firstlineno", "co_flags",
          "co_argcount", "co_posonlyargcount", "co_kwonlyargcount", "co_consts",
          "co_names", "co_varnames", "co_freevars", "co_cellvars"]


def header_size(version):
    if version >= (3, 7):
        return 16
    if version >= (3, 3):
        return 12
    return 8


def code_attrs(code):
    have = set(n for n in dir(code) if n.startswith("co_") and n not in _SKIP)
    first = [n for n in _FIRST if n in have]
    return first + sorted(have.difference(first))


def _short(value):
    text = repr(value)
    if len(text) > 160:
        text = text[:157] + "..."
    return text


def _float_key(value):
    return struct.pack("<d", value)


def _const_key(value):
    """A hashable, type-exact key for a frozenset element (constants only)."""
    if isinstance(value, float):
        return ("float", _float_key(value))
    if isinstance(value, complex):
        return ("complex", _float_key(value.real), _float_key(value.imag))
    if isinstance(value, (tuple, frozenset)):
        inner = [_const_key(v) for v in value]
        if isinstance(value, frozenset):
            inner.sort(key=repr)
        return (type(value).__name__, tuple(inner))
    return (type(value).__name__, value)


def compare(a, b, path):
    """None when a and b are the same constant or code object, else a description."""
    if type(a) is not type(b):
        return "%s: type %s != %s (%s vs %s)" % (path, type(a).__name__, type(b).__name__,
                                                 _short(a), _short(b))
    if isinstance(a, types.CodeType):
        return compare_code(a, b, path)
    if isinstance(a, tuple):
        if len(a) != len(b):
            return "%s: length %d != %d (%s vs %s)" % (path, len(a), len(b), _short(a), _short(b))
        for i in range(len(a)):
            why = compare(a[i], b[i], "%s[%d]" % (path, i))
            if why:
                return why
        return None
    if isinstance(a, frozenset):
        ka = sorted((_const_key(v) for v in a), key=repr)
        kb = sorted((_const_key(v) for v in b), key=repr)
        if ka != kb:
            return "%s: frozenset %s != %s" % (path, _short(a), _short(b))
        return None
    if isinstance(a, float):
        if _float_key(a) != _float_key(b):
            return "%s: %r != %r" % (path, a, b)
        return None
    if isinstance(a, complex):
        if _const_key(a) != _const_key(b):
            return "%s: %r != %r" % (path, a, b)
        return None
    if a != b:
        return "%s: %s != %s" % (path, _short(a), _short(b))
    return None


def compare_code(a, b, path):
    here = "%s(%s)" % (path, getattr(a, "co_qualname", a.co_name))
    names = code_attrs(a)
    if names != code_attrs(b):
        return "%s: attribute sets differ" % here
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # co_lnotab is deprecated in 3.12+
        for name in names:
            why = compare(getattr(a, name), getattr(b, name), "%s.%s" % (here, name))
            if why:
                return why
    return None


def compare_files(path_a, path_b):
    """None when the two pycs agree (header bytes, then code), else a description."""
    with open(path_a, "rb") as f:
        data_a = f.read()
    with open(path_b, "rb") as f:
        data_b = f.read()
    if data_a == data_b:
        return None
    size = header_size(sys.version_info[:2])
    if data_a[:size] != data_b[:size]:
        return "header %s != %s" % (data_a[:size].hex(), data_b[:size].hex())
    try:
        code_a = marshal.loads(data_a[size:])
    except Exception as e:
        return "cannot unmarshal the first: %r" % (e,)
    try:
        code_b = marshal.loads(data_b[size:])
    except Exception as e:
        return "cannot unmarshal the second: %r" % (e,)
    return compare(code_a, code_b, "")


_SELF_BASE = ("def f(a, *, b=2):\n"
              "    def g():\n"
              "        return (0.0, {1, 'a'}, 'x', b'y', b in {+0.0, 'q'})\n"
              "    return g\n")
# Each variant changes one thing the comparator must see (the label says where).
_SELF_VARIANTS = [
    ("negative zero", _SELF_BASE.replace("(0.0", "(-0.0"), "f.py"),
    ("negative zero in a frozenset", _SELF_BASE.replace("{+0.0", "{-0.0"), "f.py"),
    ("float vs bool", _SELF_BASE.replace("0.0", "False"), "f.py"),
    ("frozenset member", _SELF_BASE.replace("'a'", "'b'"), "f.py"),
    ("str vs bytes", _SELF_BASE.replace("b'y'", "'y'"), "f.py"),
    ("line number", _SELF_BASE.replace("    return g", "\n    return g"), "f.py"),
    ("filename", _SELF_BASE, "g.py"),
    ("name", _SELF_BASE.replace("def g", "def h").replace("return g", "return h"), "f.py"),
    ("default", _SELF_BASE.replace("b=2", "b=3"), "f.py"),
    ("keyword-only", _SELF_BASE.replace("*, ", ""), "f.py"),
]


def self_test():
    """The comparator finds every planted difference and none in equal code."""
    def build(src, name):
        return compile(src, name, "exec", dont_inherit=True)
    base = build(_SELF_BASE, "f.py")
    why = compare(base, marshal.loads(marshal.dumps(build(_SELF_BASE, "f.py"))), "")
    if why:
        sys.stdout.write("self-test: equal code reported different: %s\n" % why)
        return 1
    status = 0
    for label, src, name in _SELF_VARIANTS:
        why = compare(base, marshal.loads(marshal.dumps(build(src, name))), "")
        if not why:
            sys.stdout.write("self-test: missed a difference: %s\n" % label)
            status = 1
    return status


def main(argv):
    if argv == ["--self-test"]:
        return self_test()
    if len(argv) < 2 or len(argv) % 2:
        sys.stderr.write("usage: codecompare.py A.pyc B.pyc [A.pyc B.pyc ...]\n")
        return 2
    status = 0
    for i in range(0, len(argv), 2):
        why = compare_files(argv[i], argv[i + 1])
        if why:
            line = "DIFF %s %s: %s\n" % (argv[i], argv[i + 1], why)
            # Bytes out: any file name, whatever the locale's encoding (3.6 under C).
            sys.stdout.buffer.write(line.encode("utf-8", "surrogateescape"))
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
