"""The central oracle test of `pyc-tool status`: every verdict must agree with what the
import machinery of the interpreter that wrote the cache decides.

For each CPython found (2.7, 3.6+): build a tree, compile it with that interpreter's own
compileall in every invalidation mode it has (3.7+) and at optimisation levels 0, 1, 2
(`-o` on 3.9+, the -O/-OO interpreter flags before), plus legacy `-b` files (3.x) or the
2.7 foo.pyc/foo.pyo placement; then mutate it: touch a source, edit it keeping its size,
edit it keeping its mtime, edit it keeping both, delete it, truncate a pyc, flip a flag
bit, give a pyc another version's magic, cut a pyc to its header (no code object).

The oracle, run by the same interpreter: every cache's body is replaced by marshalled
code that sets MARKER = 'cache' (its header kept byte for byte), every source sets
MARKER = 'source'; then each module is imported at the cache's optimisation level with
sys.dont_write_bytecode. 'cache' means the import system used the file, 'source' that it
rejected it, 'error' that the import failed. Unchecked-hash pycs are accepted unchecked
by a default import, so 3.7+ runs the oracle a second time as under
--check-hash-based-pycs always (in the same process: it sets the one variable that option
sets, which the import system reads at every import): that pass gives the hash verdict;
the default pass must still use the file (pyc-tool says so with "unchecked"). Legacy -b
files beside their source are never read by a 3.x import, so there the oracle asks
SourceFileLoader.get_code (the same validation) with cache_from_source pointed at the
legacy file.

Finally `pyc-tool status --python EXE -o 0 -o 1 -o 2` must report as missing exactly the
caches that the interpreter's cache_from_source names and that do not exist.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyc_e2e  # noqa: E402

BASE_T = 1600000000  # source mtimes before mutation: far from "now", never the same second

CASES = ["ok", "touch", "samesize", "samemtime", "sameboth", "delete", "trunc", "flag", "magic",
         "empty"]

# Run by the target interpreter (2.7 and 3.x): replace the body of each cache under the
# directories DIRS by MARKER code. Before the mutations: those only cut files to at most
# their header or rewrite header bytes, so the files end as if swapped after them.
SWAP = r'''
import sys, os, marshal
v = sys.version_info
hlen = 16 if v >= (3, 7) else 12 if v >= (3, 3) else 8
body = marshal.dumps(compile("MARKER = 'cache'\n", "<marker>", "exec"))
for top in DIRS:
    for d, subdirs, files in os.walk(top):
        for path in [os.path.join(d, n) for n in files if n.endswith((".pyc", ".pyo"))]:
            f = open(path, "rb"); data = f.read(); f.close()
            f = open(path, "wb"); f.write(data[:hlen] + body); f.close()
'''


# Run by the target interpreter at one -O level: how does the import system treat each job?
# One pass per mode in sys.argv[1:]: "default", then "always", which sets what
# --check-hash-based-pycs always sets (3.7+: the variable SourceLoader.get_code reads at
# every import), so that one process answers for both.
ORACLE = r'''
import sys, json
sys.dont_write_bytecode = True
jobs = json.loads(sys.stdin.read())
res = {}
for mode in sys.argv[1:]:
    if mode == "always":
        import _imp
        _imp.check_hash_based_pycs = "always"
    out = res[mode] = {}
    for job in jobs:
        path, d, mod, how, src = job
        try:
            if how == "import":
                sys.path.insert(0, d)
                try:
                    m = __import__(mod)
                    out[path] = getattr(m, "MARKER", "?")
                finally:
                    sys.path.pop(0)
                    sys.modules.pop(mod, None)
            else:
                import importlib.machinery, importlib._bootstrap_external as be
                saved = be.cache_from_source
                be.cache_from_source = lambda p, *a, **k: path
                try:
                    code = importlib.machinery.SourceFileLoader(mod, src).get_code(mod)
                finally:
                    be.cache_from_source = saved
                ns = {}
                exec(code, ns)
                out[path] = ns.get("MARKER", "?")
        except Exception as e:
            out[path] = "error"
sys.stdout.write(json.dumps(res))
'''

# Run by the target interpreter after SWAP: the caches it would look for at levels 0, 1, 2
# for each source under DIRS, for the missing check (which of them exist is the file
# system's answer, asked then).
EXPECT = r'''
try:
    from importlib.util import cache_from_source
except ImportError:
    cache_from_source = None
names = {}
for top in DIRS:
    for src in [os.path.join(top, n) for n in os.listdir(top) if n.endswith(".py")]:
        for lvl in (0, 1, 2):
            if cache_from_source is None:
                c = src + ("c" if lvl == 0 else "o")
            elif sys.version_info >= (3, 5):
                c = cache_from_source(src, optimization=lvl or "")
            else:
                c = cache_from_source(src, debug_override=(lvl == 0))
            names.setdefault(src, []).append(c)
import json
sys.stdout.write(json.dumps(names))
'''


def source_text(name, pad="a"):
    return "MARKER = 'source'\n# %s %s\n" % (name, pad * 8)


def other_magic(interp, path):
    """The magic the "magic" mutation writes. In __pycache__, a final magic of another
    version with the same header layout (3.6 / 3.5): the name's tag then disagrees. A
    legacy file has no tag to disagree with and would be judged by that other version's
    rules (which may accept it), so it gets a number no version uses."""
    if os.path.basename(os.path.dirname(path)) != "__pycache__":
        return b"\x34\x12"
    return b"\x33\x0d" if interp.version[:2] != (3, 6) else b"\x17\x0d"


def compile_dir(interp, d, level, mode=None, legacy=False):
    args = []
    if interp.version[:2] < (3, 9) and level:
        args.append("-O" if level == 1 else "-OO")
    args += ["-m", "compileall", "-q"]
    if interp.version[:2] >= (3, 9):
        args += ["-o", str(level)]
    if mode:
        args += ["--invalidation-mode", mode]
    if legacy:
        args.append("-b")
    r = interp.run(args + [d])
    assert r.returncode == 0, r.stdout + r.stderr


def write_sources(d, names):
    os.makedirs(d)
    for n in names:
        p = os.path.join(d, n + ".py")
        with open(p, "w") as f:
            f.write(source_text(n))
        os.utime(p, (BASE_T, BASE_T))


def caches_of(d, stem):
    out = []
    pc = os.path.join(d, "__pycache__")
    if os.path.isdir(pc):
        out += [os.path.join(pc, n) for n in sorted(os.listdir(pc)) if n.split(".")[0] == stem]
    for ext in (".pyc", ".pyo"):
        if os.path.exists(os.path.join(d, stem + ext)):
            out.append(os.path.join(d, stem + ext))
    return out


def header_len(interp):
    v = interp.version
    return 16 if v >= (3, 7) else 12 if v >= (3, 3) else 8


def mutate(interp, d, stem, case):
    src = os.path.join(d, stem + ".py")
    if case == "touch":
        os.utime(src, (BASE_T + 100, BASE_T + 100))
    elif case in ("samesize", "sameboth"):
        with open(src, "w") as f:
            f.write(source_text(stem, "b"))
        t = BASE_T + 200 if case == "samesize" else BASE_T
        os.utime(src, (t, t))
    elif case == "samemtime":
        with open(src, "a") as f:
            f.write("# longer\n")
        os.utime(src, (BASE_T, BASE_T))
    elif case == "delete":
        os.remove(src)
    for c in caches_of(d, stem):
        with open(c, "r+b") as f:
            data = f.read()
            if case == "trunc":
                f.truncate(6)  # shorter than any header, 2.7's 8 bytes included
            elif case == "empty":
                f.truncate(header_len(interp))  # the whole header, no code object
            elif case == "flag" and interp.version >= (3, 7):
                f.seek(4)
                f.write(bytes([data[4] ^ 0x04]))
            elif case == "magic":
                f.seek(0)
                f.write(other_magic(interp, c))


# Run by a 3.x target interpreter: compileall.compile_dir for each [dir, levels, mode,
# legacy], the function and arguments `-m compileall -q [-o L]... [--invalidation-mode M]
# [-b] DIR` calls, in one process instead of one per directory and level; then SWAP.
COMPILE = r'''
import sys, json, compileall
JOBS = json.loads(sys.stdin.read())
DIRS = [job[0] for job in JOBS]
for d, levels, mode, legacy in JOBS:
    kw = {"quiet": 1, "legacy": legacy}
    if mode:
        import py_compile
        kw["invalidation_mode"] = py_compile.PycInvalidationMode[mode.upper().replace("-", "_")]
    for optimize in ([levels] if sys.version_info >= (3, 9) else levels):
        if not compileall.compile_dir(d, optimize=optimize, **kw):
            sys.exit("compile_dir failed: %s" % d)
'''


def build(interp, root):
    """Returns the mode directories made (each a flat dir of unique module names), their
    caches' bodies swapped for MARKER code, and EXPECT's cache names of each source."""
    dirs, jobs, mutations = [], [], []
    if interp.version >= (3, 7):
        modes = [("ts", "timestamp"), ("ch", "checked-hash"), ("un", "unchecked-hash")]
    else:
        modes = [("ts", None)]
    for short, mode in modes:
        d = os.path.join(root, "d_" + short)
        names = ["%s_%s" % (short, c) for c in CASES]
        write_sources(d, names)
        jobs.append([d, [0, 1, 2], mode, False])
        mutations += [(d, n, c) for n, c in zip(names, CASES)]
        dirs.append(d)
    # Legacy placement: 3.x compileall -b, or 2.7's own foo.pyc / foo.pyo.
    d = os.path.join(root, "legacy")
    lcases = ["ok", "touch", "samemtime", "delete", "trunc", "magic", "empty"]
    names = ["lg_" + c for c in lcases] + ["lg_gonetrunc"]
    write_sources(d, names)
    if interp.version < (3,):
        compile_dir(interp, dirs[0], 0)
        compile_dir(interp, dirs[0], 1)
        compile_dir(interp, dirs[0], 2)
        compile_dir(interp, d, 0)
        compile_dir(interp, d, 1)
        r = interp.run(["-c", "DIRS = %r\n" % (dirs + [d]) + SWAP + EXPECT])
    else:
        jobs.append([d, [0], None, True])
        r = interp.run(["-c", COMPILE + SWAP + EXPECT], input=json.dumps(jobs).encode())
    assert r.returncode == 0, r.stdout + r.stderr
    expected_names = json.loads(r.stdout.decode())
    mutations += [(d, n, c) for n, c in zip(names, lcases)]
    mutations += [(d, "lg_gonetrunc", "delete"), (d, "lg_gonetrunc", "trunc")]
    for d_, n, c in mutations:
        mutate(interp, d_, n, c)
    dirs.append(d)
    return dirs, expected_names


def all_caches(dirs):
    out = []
    for d in dirs:
        for base, subdirs, files in os.walk(d):
            out += [os.path.join(base, f) for f in files if f.endswith((".pyc", ".pyo"))]
    return sorted(out)


def job_for(interp, path):
    """(level, job) telling the oracle how the import system would reach this cache."""
    d, name = os.path.split(path)
    if os.path.basename(d) == "__pycache__":
        parts = name.split(".")
        level = int(parts[2][4:]) if len(parts) == 4 else 0
        d = os.path.dirname(d)
        return level, [path, d, parts[0], "import", None]
    stem = name[:-4]
    src = os.path.join(d, stem + ".py")
    level = 1 if name.endswith(".pyo") else 0
    if interp.version >= (3,) and os.path.exists(src):
        return 0, [path, d, stem, "loader", src]
    return level, [path, d, stem, "import", None]


def run_oracle(interp, caches, modes):
    """{mode: {cache: verdict}} for modes "default" and (3.7+) "always"."""
    by_level = {}
    for c in caches:
        lvl, job = job_for(interp, c)
        by_level.setdefault(lvl, []).append(job)
    out = {m: {} for m in modes}
    for lvl, jobs in sorted(by_level.items()):
        args = []
        if lvl:
            args.append("-O" if lvl == 1 else "-OO")
        r = interp.run(args + ["-c", ORACLE] + modes, input=json.dumps(jobs).encode())
        assert r.returncode == 0, r.stderr.decode()
        for m, verdicts in json.loads(r.stdout.decode()).items():
            out[m].update(verdicts)
    return out


def expected_outcomes(rec, source_exists, header_only):
    """What the import system must do with a cache, given pyc-tool's verdict:
    (default run, --check-hash-based-pycs always run)."""
    state = rec["state"]
    if state == "corrupt" and rec["reason"] == "truncated" and header_only:
        # An accepted header and no code object: unmarshalling fails, so does the import.
        return "error", "error"
    if state == "fresh":
        return "cache", "cache"
    if state == "stale":
        return ("cache" if rec["unchecked"] else "source"), "source"
    if state == "sourceless":
        return "cache", "cache"
    if state == "orphan":
        return "error", "error"
    if state == "corrupt":
        o = "source" if source_exists else "error"
        return o, o
    raise AssertionError("unexpected state %r" % state)


def check_interp(suite, interp):
    root = os.path.join(suite.tmp, "py" + interp.short)
    dirs, names = build(interp, root)
    caches = all_caches(dirs)

    r = pyc_e2e.run_tool(["status", "--all", "--json", root])
    assert r.returncode == 1, r.stderr.decode()
    lines = [json.loads(x) for x in r.stdout.decode().splitlines()]
    recs = {x["path"]: x for x in lines if x["type"] == "cache"}
    assert sorted(recs) == caches, "reported %s\non disk %s" % (sorted(recs), caches)
    assert len(lines) == len(caches) + 1, "a cache was reported twice"
    assert lines[-1]["caches"] == len(caches) and lines[-1]["errors"] == 0, lines[-1]

    verdicts = run_oracle(interp, caches, ["default", "always"] if interp.version >= (3, 7)
                          else ["default"])
    default = verdicts["default"]
    always = verdicts.get("always", default)
    bad = []
    for path in caches:
        rec = recs[path]
        src_exists = bool(rec["source"]) and os.path.exists(rec["source"])
        header_only = os.path.getsize(path) == header_len(interp)
        want = expected_outcomes(rec, src_exists, header_only)
        got = (default[path], always[path])
        if got != want:
            bad.append("%s: pyc-tool %s/%s%s, import %s (expected %s)" % (
                path, rec["state"], rec["reason"], " unchecked" if rec["unchecked"] else "",
                got, want))
    assert not bad, "\n".join(bad)
    # The mutations must have produced every kind of verdict they aim at.
    seen = set((x["state"], x["reason"]) for x in recs.values())
    need = {("fresh", None), ("stale", "mtime"), ("sourceless", None), ("corrupt", "truncated")}
    need.add(("corrupt", "unknown-magic"))
    if interp.version >= (3, 3):
        need.add(("stale", "size"))
    if interp.version >= (3,):
        need |= {("corrupt", "tag-mismatch"), ("orphan", None)}
    if interp.version >= (3, 7):
        need |= {("stale", "hash"), ("corrupt", "bad-flags")}
    assert need <= seen, "verdicts never produced: %s" % (need - seen)
    return root, dirs, names


def check_missing(interp, root, dirs, names):
    # Remove a few caches so that something is missing at each level.
    for c in all_caches(dirs):
        n = os.path.basename(c)
        if n.startswith(("ts_ok.", "lg_ok.")) and (".opt-2." in n or n.endswith(".pyo")):
            os.remove(c)
        if n.startswith("ts_touch.") and ".opt-" not in n:
            os.remove(c)
    sources = []
    for d in dirs:
        sources += sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".py"))
    want = sorted(set(c for src in sources for c in names[src] if not os.path.exists(c)))
    levels = ["-o", "0", "-o", "1"] if interp.version < (3, 5) else ["-o", "0", "-o", "1", "-o", "2"]
    if interp.version < (3, 5):
        # 2.7 writes foo.pyo for both -O and -OO: level 2 names the same file as level 1.
        want = sorted(set(want))
    r = pyc_e2e.run_tool(["status", "--json", "--python", interp.exe] + levels + [root])
    assert r.returncode == 1, r.stderr.decode()
    got = sorted(json.loads(x)["path"] for x in r.stdout.decode().splitlines()
                 if json.loads(x).get("state") == "missing")
    assert got == want, "missing: pyc-tool %s\ninterpreter %s" % (got, want)


def main():
    suite = pyc_e2e.Suite("status_oracle")
    interps = pyc_e2e.interpreters()
    if not interps:
        suite.skip("no CPython interpreter found")
    for v in [(2, 7)] + [(3, m) for m in range(6, 14)]:
        if not any(i.version[:2] == v for i in interps):
            suite.skip("CPython %d.%d not found: its oracle case is skipped" % v)
    interps = [i for i in interps if i.version[:2] == (2, 7) or i.version >= (3, 6)]
    trees = {}

    def verdicts(interp):
        trees[interp.short] = check_interp(suite, interp)

    def missing(interp):
        if interp.short not in trees:
            raise pyc_e2e.SkipCase("the tree could not be built")
        check_missing(interp, *trees[interp.short])
    suite.parallel([("verdicts agree with the import system of %s" % i.short, verdicts, i)
                    for i in interps])
    suite.parallel([("--python %s: missing caches as cache_from_source names them" % i.short,
                     missing, i) for i in interps])
    suite.finish()


if __name__ == "__main__":
    main()
