#!/usr/bin/env python3
"""The layout and naming promises of docs/conventions.md, checked against the tree and
the built library.

usage: check_layout.py SOURCE_DIR LIBPYC_A NM

- include/pyc/pyc.h includes every other public header;
- every include/pyc/<m>.h but pyc.h has src/lib/<m>.c or src/lib/<m>_*.c, and
  tests/unit/test_<m>.c;
- every global symbol libpyc.a defines starts with pyc_; one without a double underscore
  is declared in include/pyc/, one with it (pyc_<m>__name) in src/lib/<m>_internal.h;
- only src/lib/*_internal.h headers live in src/lib;
- <git2.h> is included only by git_internal.h and the PYC_GIT_SOURCES of CMakeLists.txt,
  <pcre2.h> only by src/lib/compile*: CMake gives no other file their headers.
Names listed in tests/layout-pending.txt (renames not yet applied) are let through.
"""
import os
import re
import subprocess
import sys


def main():
    src, lib, nm = sys.argv[1:4]
    inc = os.path.join(src, "include", "pyc")
    libdir = os.path.join(src, "src", "lib")
    pending_file = os.path.join(src, "tests", "layout-pending.txt")
    pending = set()
    if os.path.exists(pending_file):
        with open(pending_file) as f:
            pending = {ln.split("#")[0].strip() for ln in f} - {""}
    problems = []

    headers = sorted(h[:-2] for h in os.listdir(inc) if h.endswith(".h"))
    with open(os.path.join(inc, "pyc.h")) as f:
        umbrella = set(re.findall(r'^#include "(\w+)\.h"', f.read(), re.M))
    for m in headers:
        if m != "pyc" and m not in umbrella:
            problems.append("include/pyc/pyc.h does not include %s.h" % m)

    sources = os.listdir(libdir)
    tests = set(os.listdir(os.path.join(src, "tests", "unit")))
    for m in headers:
        if m == "pyc" or m in pending:
            continue
        if not any(s == m + ".c" or (s.startswith(m + "_") and s.endswith(".c")) for s in sources):
            problems.append("include/pyc/%s.h has no src/lib/%s.c or %s_*.c" % (m, m, m))
        if "test_%s.c" % m not in tests:
            problems.append("include/pyc/%s.h has no tests/unit/test_%s.c" % (m, m))
    for s in sources:
        if s.endswith(".h") and not s.endswith("_internal.h") and s not in pending:
            problems.append("src/lib/%s: a private header is named <module>_internal.h" % s)

    with open(os.path.join(src, "CMakeLists.txt")) as f:
        git_sources = set(re.search(r"^set\(PYC_GIT_SOURCES ([^)]*)\)", f.read(), re.M)
                          .group(1).split())
    for sub in ("src/lib", "src/cli", "include/pyc"):
        for name in sorted(os.listdir(os.path.join(src, sub))):
            with open(os.path.join(src, sub, name), errors="replace") as f:
                text = f.read()
            rel = sub + "/" + name
            if "#include <git2.h>" in text and not (
                    sub == "src/lib" and (name in git_sources or name == "git_internal.h")):
                problems.append("%s includes <git2.h>: only the git modules may" % rel)
            if "#include <pcre2.h>" in text and not (
                    sub == "src/lib" and name.startswith("compile")):
                problems.append("%s includes <pcre2.h>: only the compile engine may" % rel)

    public = set()
    for m in headers:
        with open(os.path.join(inc, m + ".h")) as f:
            public |= set(re.findall(r"\b(pyc_\w+)\s*\(", f.read()))
    out = subprocess.run([nm, "-g", "--defined-only", lib], check=True,
                         capture_output=True, text=True).stdout
    for sym in sorted({ln.split()[2] for ln in out.splitlines() if len(ln.split()) == 3}):
        if sym in pending or sym.startswith("__"):  # the compiler's own (__odr_asan.*)
            continue
        internal = re.match(r"pyc_(\w+?)__\w+$", sym)
        if not sym.startswith("pyc_"):
            problems.append("%s: exported from libpyc without the pyc_ prefix" % sym)
        elif internal:
            hdr = os.path.join(libdir, internal.group(1) + "_internal.h")
            if not os.path.exists(hdr) or not re.search(r"\b%s\b" % sym, open(hdr).read()):
                problems.append("%s: not declared in src/lib/%s_internal.h"
                                % (sym, internal.group(1)))
        elif sym not in public:
            problems.append("%s: not declared in include/pyc/ (internal: pyc_<module>__name)"
                            % sym)

    for p in problems:
        print("layout: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
