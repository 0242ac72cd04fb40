"""`pyc-tool compile` against each interpreter's own `python -m compileall`: what the
compile oracle (test_compile_oracle.py, one CTest test per version) does not ask.

For every CPython 3.6+ found: a small tree (a syntax error, a latin-1 source, a frozenset
constant, a docstring and an assert, a symlinked file and a symlinked directory, a
non-Python file) is copied, compiled by compileall, moved aside, copied again to the same
path and compiled by pyc-tool, both with PYTHONHASHSEED=0, for the option sets the oracle
lacks (-f; PYTHONPYCACHEPREFIX under PYTHONDONTWRITEBYTECODE). Required: the same set of
cache files with the same modes and link counts, the same exit status, and the same
contents (bytes for 3.11+; for 3.10 and older, where marshal's reference flags depend on
reference counts, identical headers and code objects equal in every co_* field,
recursively, compared by the interpreter itself with codecompare.py, which must tell 0.0
from -0.0). Then pyc-tool's own rules: a second run with a syntax error in the tree writes
nothing and starts no interpreter, --json and --dry-run, warnings interleaved with stdout
on one pipe as compileall's, and the -o/--hardlink-dupes combination it refuses.
"""
import json
import os
import shutil
import stat
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
CODECOMPARE = os.path.join(HERE, "codecompare.py")
from pyc_e2e import TOOL, Suite, SkipCase, clean_env, interpreters, run_tool  # noqa: E402

TREE = {
    "top.py": b"TOP = True\n",
    "pkg/__init__.py": b'"""Package doc."""\n',
    "pkg/a.py": b'"""Module doc."""\n'
                b'def f(x):\n    """f doc."""\n    assert x, "no"\n'
                b'    return x in {"alpha", "beta", "gamma", "delta"}\n',
    "pkg/bad.py": b"def broken(:\n    pass\n",
    "pkg/latin.py": b"# -*- coding: latin-1 -*-\ns = '\xe9t\xe9'\n",
    "pkg/sub/b.py": b"import os\nX = [i * 2 for i in range(3)]\n",
    "pkg/sub/deeper/c.py": b"class C:\n    y = 1.5\n",
    "pkg/notes.txt": b"not python\n",
}

# compileall's exact argument lists, per minimum version, for what the compile oracle
# does not compare. They mean the same on every version, so they run on the oldest and
# newest interpreter found (and 3.10, the newest with the code-object comparison). The
# oracle compares on every version, on its larger tree (links inside and out, syntax
# errors, latin-1, set constants, docstrings and asserts), each case this list had:
#   default, checked-hash, unchecked-hash, -b, -x, -l, -r 1, -e, -i -  its sets of the
#       same options ("default", "--invalidation-mode ...", "-b", "-x ...", "-l", "-r 1",
#       "-e W/tree (symlinks)", "-i - (names on stdin)");
#   SOURCE_DATE_EPOCH=1       "SOURCE_DATE_EPOCH=1700000000" (any value: checked-hash);
#   -s WORK -p /opt/x         "-s W/tree -p /srv/app" and "-s W/tree/ -p /srv/app";
#   -d (with symlinks)        "-d /srv/app DIR FILE LINKS";
#   -o 0 -o 1 -o 2 --hardlink-dupes   "no-op rerun: -o 0 -o 1 -o 2 --hardlink-dupes",
#       whose first run is compared with compileall's.
CASES = [
    ("force", ["-f"], (3, 6), {}),
    ("pycache-prefix", [], (3, 8), {"PYTHONPYCACHEPREFIX": "@WORK@/_prefix",
                                         # no import may write the stdlib's caches there
                                         "PYTHONDONTWRITEBYTECODE": "1"}),
]

def make_tree(root):
    for rel, data in TREE.items():
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        os.utime(p, (1700000000, 1700000000))
    os.symlink("a.py", os.path.join(root, "pkg", "alias.py"))
    os.symlink("sub", os.path.join(root, "pkg", "linkdir"))
    # A symlinked file pointing outside the tree (-e skips it).
    ext = os.path.join(os.path.dirname(root), "ext")
    os.makedirs(ext, exist_ok=True)
    with open(os.path.join(ext, "ext.py"), "wb") as f:
        f.write(b"EXT = 1\n")
    os.utime(os.path.join(ext, "ext.py"), (1700000000, 1700000000))
    os.symlink(os.path.join(ext, "ext.py"), os.path.join(root, "pkg", "outside.py"))


def caches(root):
    """{relative path: (mode, nlink, inode group)} of every .pyc under root; groups are
    numbered in path order (a directory lists its entries in an order of the file system's:
    on a tmpfs, the order they were made in)."""
    out = {}
    inodes = {}
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for n in sorted(files):
            if n.endswith(".pyc"):
                p = os.path.join(d, n)
                st = os.lstat(p)
                group = inodes.setdefault(st.st_ino, len(inodes))
                out[os.path.relpath(p, root)] = (stat.S_IMODE(st.st_mode), st.st_nlink, group)
    return out


def same_contents(interp, a_root, b_root, rels):
    if interp.version >= (3, 11):
        for rel in rels:
            with open(os.path.join(a_root, rel), "rb") as f1, \
                    open(os.path.join(b_root, rel), "rb") as f2:
                if f1.read() != f2.read():
                    raise AssertionError("%s differs" % rel)
        return
    pairs = []
    for rel in rels:
        pairs += [os.path.join(a_root, rel), os.path.join(b_root, rel)]
    r = interp.run([CODECOMPARE] + pairs)
    if r.returncode != 0:
        raise AssertionError("code objects differ:\n%s%s" % (r.stdout.decode(errors="replace"),
                                                            r.stderr.decode(errors="replace")))


def compare_case(suite, interp, name, args, extra_env):
    base = os.path.join(suite.tmp, "%s-%s" % (interp.short, name))
    work = os.path.join(base, "work")
    env = clean_env(**{k: v.replace("@WORK@", work) for k, v in extra_env.items()})
    env["XDG_CACHE_HOME"] = os.path.join(suite.tmp, "cache")
    results = {}
    for who in ("oracle", "ours"):
        make_tree(work)
        if who == "oracle":
            r = interp.run(["-m", "compileall", "-q"] + args + [work], env=env)
        else:
            r = run_tool(["compile", "-q", "--python", interp.exe] + args + [work], env=env)
        results[who] = (r.returncode, r.stdout.decode(errors="replace"),
                        r.stderr.decode(errors="replace"))
        shutil.move(work, os.path.join(base, who))
    (rc_o, out_o, err_o), (rc_u, out_u, err_u) = results["oracle"], results["ours"]
    if rc_o != rc_u:
        raise AssertionError("exit %d (compileall) vs %d (pyc-tool)\n%s%s\n---\n%s%s" % (
            rc_o, rc_u, out_o, err_o, out_u, err_u))
    c_o, c_u = caches(os.path.join(base, "oracle")), caches(os.path.join(base, "ours"))
    if c_o != c_u:
        raise AssertionError("cache files differ:\ncompileall %s\npyc-tool   %s" % (
            sorted(c_o.items()), sorted(c_u.items())))
    if not c_o:
        raise AssertionError("nothing was compiled")
    same_contents(interp, os.path.join(base, "oracle"), os.path.join(base, "ours"), sorted(c_o))
    shutil.rmtree(base)


def wrapper(suite, interp, log):
    path = os.path.join(suite.tmp, "py-%s.sh" % interp.short)
    with open(path, "w") as f:
        f.write('#!/bin/sh\necho start >> "%s"\nexec "%s" "$@"\n' % (log, interp.exe))
    os.chmod(path, 0o755)
    return path


def noop_and_errors(suite, interp):
    root = os.path.join(suite.tmp, "noop-%s" % interp.short)
    make_tree(root)
    log = os.path.join(suite.tmp, "starts-%s.log" % interp.short)
    exe = wrapper(suite, interp, log)
    env = clean_env(XDG_CACHE_HOME=os.path.join(suite.tmp, "cache-noop"))
    r = run_tool(["compile", "--python", exe, root], env=env)
    out = r.stdout.decode(errors="replace")
    if r.returncode != 1 or "*** Error compiling" not in out or "bad.py" not in out \
            or "SyntaxError" not in out:
        raise AssertionError("syntax error not reported as compileall does (exit %d):\n%s%s" % (
            r.returncode, out, r.stderr.decode(errors="replace")))
    first = caches(root)
    if not any(k.startswith(os.path.join("pkg", "__pycache__", "a.")) for k in first):
        raise AssertionError("the good files were not compiled: %s" % sorted(first))
    before = {k: (os.stat(os.path.join(root, k)).st_ino, os.stat(os.path.join(root, k)).st_mtime_ns)
              for k in first}
    open(log, "w").close()
    # Second run: nothing changed. The broken file is reported again (from the failure
    # cache), nothing is written and no interpreter starts.
    r2 = run_tool(["compile", "--python", exe, root], env=env)
    with open(log) as f:
        starts = f.read().count("start")
    after = {k: (os.stat(os.path.join(root, k)).st_ino, os.stat(os.path.join(root, k)).st_mtime_ns)
             for k in caches(root)}
    if before != after:
        raise AssertionError("the no-op run rewrote caches")
    if starts:
        raise AssertionError("the no-op run started the interpreter %d times" % starts)
    out2 = r2.stdout.decode(errors="replace")
    err_lines = [l for l in out.splitlines() if not l.startswith("compiled ")]
    err_lines2 = [l for l in out2.splitlines() if not l.startswith("compiled ")]
    if r2.returncode != 1 or err_lines2 != err_lines:
        raise AssertionError("second run: exit %d, output differs:\n%s\n---\n%s" % (
            r2.returncode, out, out2))
    # Fixed with the same size and mtime: the content changed, so it is compiled now.
    bad = os.path.join(root, "pkg", "bad.py")
    st = os.stat(bad)
    with open(bad, "wb") as f:
        f.write(b"def broken():\n    pass\n")
    os.truncate(bad, st.st_size)
    os.utime(bad, ns=(st.st_atime_ns, st.st_mtime_ns))
    r3 = run_tool(["compile", "--python", exe, root], env=env)
    if r3.returncode != 0 or b"compiled 1," not in r3.stdout:
        raise AssertionError("fixed file: exit %d: %s%s" % (r3.returncode, r3.stdout, r3.stderr))


def json_records(suite, interp):
    """--json: one record per file written or failed, then a summary that adds up; the
    outputs named exist; --dry-run afterwards lists nothing, after a touch the one file."""
    root = os.path.join(suite.tmp, "json-%s" % interp.short)
    make_tree(root)
    r = run_tool(["compile", "--json", "--python", interp.exe, root])
    recs = [json.loads(l) for l in r.stdout.decode().splitlines()]
    files = [x for x in recs if x["type"] == "file"]
    summ = [x for x in recs if x["type"] == "summary"]
    if r.returncode != 1 or len(summ) != 1 or recs[-1] is not summ[0]:
        raise AssertionError("exit %d, records %r" % (r.returncode, recs))
    failed = [x for x in files if x["status"] == "failed"]
    done = [x for x in files if x["status"] == "compiled"]
    if [os.path.basename(x["path"]) for x in failed] != ["bad.py"] or \
            "SyntaxError" not in failed[0]["error"] or failed[0]["error_kind"] != "compile":
        raise AssertionError("failed records: %r" % failed)
    if summ[0]["compiled"] != len(done) or summ[0]["failed"] != 1 or not done:
        raise AssertionError("summary %r vs %d records" % (summ[0], len(done)))
    for x in done:
        if x["reason"] != "missing" or not all(os.path.isfile(o) for o in x["outputs"]):
            raise AssertionError("record %r" % x)
    # -j's default, and -j0, is one worker per core, but another worker starts only while
    # 16 files wait per running one (pool.h, pyc_pool_expect): this tree is smaller, so
    # one worker compiles it all; a tree of 40 gets a second as soon as the first is busy.
    cores = os.sysconf("SC_NPROCESSORS_ONLN")
    if summ[0]["workers_started"] != 1:
        raise AssertionError("default -j, %d files: %d workers on %d cores" % (
            len(done) + 1, summ[0]["workers_started"], cores))
    many = os.path.join(suite.tmp, "json-many-%s" % interp.short)
    os.makedirs(many)
    for i in range(40):
        with open(os.path.join(many, "m%02d.py" % i), "w") as f:
            f.write("X = %d\n" % i)
    r = run_tool(["compile", "-j2", "--json", "--python", interp.exe, many])
    summ = [json.loads(l) for l in r.stdout.decode().splitlines()][-1]
    if r.returncode != 0 or summ["compiled"] != 40 or summ["workers_started"] != 2:
        raise AssertionError("-j2, 40 files: exit %d, %r (want 2 workers)" % (
            r.returncode, summ))
    r = run_tool(["compile", "-f", "-j0", "--json", "--python", interp.exe, root])
    summ = [json.loads(l) for l in r.stdout.decode().splitlines()][-1]
    if not 1 <= summ["workers_started"] <= min(cores, summ["compiled"]):
        raise AssertionError("-j0: %d workers on %d cores" % (summ["workers_started"], cores))
    a = os.path.join(root, "pkg", "sub", "b.py")
    os.utime(a, (1700000100, 1700000100))
    r = run_tool(["compile", "--dry-run", "--json", "--python", interp.exe, root])
    recs = [json.loads(l) for l in r.stdout.decode().splitlines()]
    would = [(x["path"], x["reason"]) for x in recs if x.get("status") == "would-compile"]
    if would != [(os.path.join(root, "pkg", "bad.py"), "missing"), (a, "mtime")]:
        raise AssertionError("dry run: %r" % would)


WARNED = {
    "w1.py": b"x = 1\nif x is 1:\n    pass\ns = '\\d'\n",
    "w2.py": "s = 'caf\u00e9 \\d'\nif x is 2: pass\ndef f(:\n".encode("utf-8"),
    "w3.py": b"y = 2\n",
}


def warnings_interleaved(suite, interp):
    """Compile warnings (SyntaxWarning from 3.8; with PYTHONWARNINGS=always the invalid
    escape's DeprecationWarning before 3.12) where compileall's are, with stdout and stderr
    on one pipe: after the Compiling line under PYTHONUNBUFFERED; else before all of the
    block-buffered stdout from 3.9, after it before (stderr block-buffered too); -q and -v
    (compileall's default), -j1."""
    work = os.path.join(suite.tmp, "warned-%s" % interp.short)
    for name, text in WARNED.items():
        os.makedirs(work, exist_ok=True)
        with open(os.path.join(work, name), "wb") as f:
            f.write(text)
    for unbuffered in ("1", None):
        env = clean_env(PYTHONUNBUFFERED=unbuffered, PYTHONWARNINGS="always",
                        XDG_CACHE_HOME=os.path.join(suite.tmp, "cache-warned"))
        for q in ([], ["-q"]):
            outs = []
            arg = os.path.basename(work)
            for cmd in ([interp.exe, "-m", "compileall"] + q + [arg],
                        [TOOL, "compile", "-j1"] + (q or ["-v"]) + ["--python", interp.exe, arg]):
                shutil.rmtree(os.path.join(work, "__pycache__"), ignore_errors=True)
                r = subprocess.run(cmd, cwd=suite.tmp, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT)
                outs.append((r.returncode, [l for l in r.stdout.splitlines()
                                            if not l.startswith(b"compiled ")]))
            if b"Warning: " not in b"".join(outs[0][1]):
                raise AssertionError("compileall printed no warning: %r" % (outs[0],))
            if outs[0] != outs[1]:
                raise AssertionError("PYTHONUNBUFFERED=%s %s: output differs:\ncompileall %r\n"
                                     "pyc-tool   %r" % (unbuffered, q, outs[0], outs[1]))


def hardlink_same_pyc(suite, interp):
    """-o -1 right before the level it means (no level between them) and --hardlink-dupes:
    compileall writes that pyc twice, unlinks it and fails to link it to itself, on every
    file (exit 1, no pyc left); pyc-tool refuses the options (exit 2) and writes nothing."""
    if interp.version[:2] < (3, 9):
        raise SkipCase("compileall %s has no -o" % interp.short)
    for optimize in ("0", "1"):
        args = ["-q", "-o", "-1", "-o", optimize, "-o", "2", "--hardlink-dupes"]
        env = clean_env(PYTHONOPTIMIZE=optimize)
        outs = []
        for who in ("oracle", "ours"):
            work = os.path.join(suite.tmp, "same-pyc-%s-%s-%s" % (interp.short, optimize, who))
            make_tree(work)
            if who == "oracle":
                r = subprocess.run([interp.exe, "-m", "compileall"] + args + [work], env=env,
                                   capture_output=True)
            else:
                r = run_tool(["compile", "--python", interp.exe] + args + [work], env=env)
            outs.append((r, [p for p in caches(work) if p.endswith(".pyc")]))
        (ro, po), (rt, pt) = outs
        if ro.returncode != 1 or ro.stdout.count(b"FileNotFoundError") < 4:
            raise AssertionError("compileall no longer fails every file: %r" % (ro,))
        if rt.returncode != 2 or pt or b"links that pyc to itself" not in rt.stderr:
            raise AssertionError("PYTHONOPTIMIZE=%s: pyc-tool exit %d, wrote %s\n%s" % (
                optimize, rt.returncode, pt, rt.stderr.decode(errors="replace")))


# +0.0 and -0.0: the same length, so the headers (mtime, size) agree too.
ZERO = "x = 1 in {+0.0, 'a'}\ny = (+0.0, 1)\n"
SIGNED_ZEROS = [("frozenset", ZERO.replace("{+0.0", "{-0.0")),
                ("tuple", ZERO.replace("(+0.0", "(-0.0"))]


def comparator_sees_zero_sign(suite, interp):
    """codecompare.py tells pycs apart that differ only in the sign of a zero in a frozenset
    or tuple constant (0.0 == -0.0, so comparing by == or by the set's members would not),
    and finds no difference between two compiles of the same source."""
    d = os.path.join(suite.tmp, "zero-%s" % interp.short)
    os.makedirs(d)
    names = ["same", "again"] + [kind for kind, _ in SIGNED_ZEROS]
    for name, text in zip(names, [ZERO, ZERO] + [t for _, t in SIGNED_ZEROS]):
        with open(os.path.join(d, name + ".py"), "w") as f:
            f.write(text)
        os.utime(os.path.join(d, name + ".py"), (1700000000, 1700000000))
    r = interp.run(["-c", "import py_compile, sys\nfor n in sys.argv[1:]:\n"
                    "    py_compile.compile(n + '.py', n + '.pyc', 'z.py', doraise=True)"] + names,
                   cwd=d)
    if r.returncode != 0:
        raise AssertionError("py_compile failed: %s" % r.stderr.decode(errors="replace"))
    pyc = [os.path.join(d, n + ".pyc") for n in names]
    r = interp.run([CODECOMPARE, pyc[0], pyc[1], pyc[0], pyc[2], pyc[0], pyc[3]])
    lines = r.stdout.decode(errors="replace").splitlines()
    told = [l.split()[2].rstrip(":") for l in lines if l.startswith("DIFF ")]
    if r.returncode != 1 or told != pyc[2:]:
        raise AssertionError("codecompare (exit %d) should report exactly the signed zeros:\n%s%s"
                             % (r.returncode, "\n".join(lines), r.stderr.decode(errors="replace")))


def compare_if_due(suite, found, interp, name, args, since, extra):
    if interp.version[:2] < since:
        raise SkipCase("compileall %s does not have this (%s)" % (interp.short, name))
    eligible = [i for i in found if i.version[:2] >= since]
    if interp not in (eligible[0], eligible[-1]) and interp.version[:2] != (3, 10):
        raise SkipCase("version-independent case, run on %s and %s" % (
            eligible[0].short, eligible[-1].short))
    compare_case(suite, interp, name, args, extra)


def main():
    suite = Suite("compile_basic")
    found = interpreters(min_version=(3, 6))
    if not found:
        suite.skip("no CPython 3.6+ found")
    checks = []
    for interp in found:
        v = interp.short
        for name, args, since, extra in CASES:
            checks.append(("%s %s" % (v, name), compare_if_due, suite, found, interp, name, args,
                           since, extra))
        checks += [
            ("%s no-op run and syntax error" % v, noop_and_errors, suite, interp),
            ("%s --json and --dry-run" % v, json_records, suite, interp),
            ("%s warnings where compileall prints them" % v, warnings_interleaved, suite, interp),
            ("%s -o -1 -o LEVEL --hardlink-dupes: refused" % v, hardlink_same_pyc, suite, interp),
            ("%s codecompare tells 0.0 from -0.0" % v, comparator_sees_zero_sign, suite, interp),
        ]
    suite.parallel(checks)
    suite.finish()


if __name__ == "__main__":
    main()
