#!/usr/bin/env python3
"""Write the seed corpora of tests/fuzz/corpus/<target>/ (docs/fuzzing.md).

Real inputs, a few of each kind: the pycs of tests/fixtures/vectors.tsv (pyc_file rows),
its cache_path rows as harness fields, awkward file names, .gitignore files as projects
write them, and well-formed and broken worker conversations. Crashers found later are
added to the corpus by hand (a file named crash-<what>), not by this script.

    tests/fuzz/make_seeds.py        # rewrites the generated seeds in place
"""
import ast
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(HERE, "..", "fixtures", "vectors.tsv")


def rows(table):
    with open(VECTORS, encoding="utf-8") as f:
        for line in f:
            if line.startswith(table + "\t"):
                yield line.rstrip("\n").split("\t")


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def header_seeds():
    keep = {("2.7.18", "timestamp"), ("3.6.15", "timestamp"), ("3.7.16", "checked-hash"),
            ("3.12.1", "timestamp"), ("3.12.1", "checked-hash"), ("3.13.0", "unchecked-hash")}
    for r in rows("pyc_file"):
        if (r[1], r[2]) in keep:
            data = bytes.fromhex(r[5])
            write("header", "pyc-%s-%s" % (r[1], r[2]), data)
            if r[1] == "3.12.1" and r[2] == "timestamp":
                write("header", "pyc-3.12-header-only", data[:16])
                write("header", "pyc-3.12-truncated", data[:11])
                write("header", "pyc-3.12-flags-2", data[:4] + b"\x02\0\0\0" + data[8:])
                write("header", "pyc-3.12-bad-flags", data[:4] + b"\x04\0\0\0" + data[8:])


def cache_path_seeds():
    for i, r in enumerate(rows("cache_path")):
        if r[1] != "cache_from_source" or i % 3:
            continue
        source, opt = ast.literal_eval(r[5])
        prefix = r[4].split("=", 1)[1]
        fields = [source, "cpython-312", "" if opt is None else str(opt),
                  "" if prefix == "None" else prefix, r[2].split("=", 1)[1],
                  os.path.basename(r[6].replace("{TAG}", "cpython-312"))]
        write("cache_path", "row-%02d" % i, "\0".join(fields).encode())


def json_seeds():
    names = {
        "ascii": b"pkg/mod.py",
        "utf8": "pkg/caf\u00e9/\u65e5\u672c.py".encode(),
        "latin1": b"pkg/caf\xe9.py",
        "controls": b"a\nb\tc\"d\\e\x7f\x01.py",
        "surrogate-bytes": b"\xed\xa0\x80\xed\xb3\xbf.py",
        "overlong": b"\xc0\xaf\xe0\x80\xaf.py",
        "past-10ffff": b"\xf4\x90\x80\x80\xf0\x9f\x98\x80.py",
        "truncated-seq": b"x\xe2\x82",
    }
    for name, data in names.items():
        write("json", name, data)


def gitignore_seeds():
    texts = {
        "python": b"__pycache__/\n*.py[cod]\n*$py.class\nbuild/\ndist/\n",
        "negations": b"*.pyc\n!keep.pyc\n!pkg/__pycache__/\n",
        "crlf-bom": b"\xef\xbb\xbfnode_modules/\r\n*.log\r\n",
        "no-eol": b"*.egg-info",
        "exclude-file": b"# git ls-files --others --exclude-from=.git/info/exclude\n*.pyo\n",
        "escaped": b"\\!literal.pyc\n\\#hash\ntrailing \\ \n",
    }
    for name, text in texts.items():
        write("gitignore", name, bytes([1 if name == "exclude-file" else 0]) + text)


def frame(payload):
    return struct.pack("<I", len(payload)) + payload


def field(data):
    return struct.pack("<I", len(data)) + data


def frames_seeds():
    hello = frame(b"H3.12.1")
    body = bytes.fromhex(next(r[5] for r in rows("pyc_file") if r[1] == "3.12.1"))[16:]
    warned = b"m.py:1: SyntaxWarning: invalid escape sequence '\\d'\n"
    ok1 = frame(b"R" + struct.pack("<I", 1) + field(body) + field(b""))
    ok2 = frame(b"R" + struct.pack("<I", 2) + field(body) + field(b"\xe3\0") + field(warned))
    err = frame(b"E" + field(b"SyntaxError") + field(b"invalid syntax (m.py, line 1)")
                + field(warned))
    # byte 0: jobs - 1 in bits 0-1, levels - 1 in bits 2-4
    write("frames", "one-job", b"\x00" + hello + ok1)
    write("frames", "two-jobs-two-levels", b"\x05" + hello + ok2 + ok2)
    write("frames", "error-then-ok", b"\x01" + hello + err + ok1)
    write("frames", "no-hello", b"\x00" + ok1)
    write("frames", "short-frame", b"\x00" + hello + ok1[:-3])
    write("frames", "wrong-level-count", b"\x04" + hello + ok1)


def main():
    header_seeds()
    cache_path_seeds()
    json_seeds()
    gitignore_seeds()
    frames_seeds()
    return 0


if __name__ == "__main__":
    sys.exit(main())
