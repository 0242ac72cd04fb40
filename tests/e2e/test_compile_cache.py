"""`pyc-tool compile` with its compile cache (docs/compile.md, "The compile cache"), against
each interpreter's own `python -m compileall`.

For every CPython 3.6+ found, with a store and a probe cache of the test's own and a
--python wrapper that logs every interpreter start:

- cold: a tree (part of the interpreter's standard library, an empty __init__.py, a
  module holding its own path as a string constant, a non-ASCII file name, a syntax error,
  for 3.12+ a SyntaxWarning) is compiled; every file is a miss;
- warm, the same path: the tree is copied afresh (new mtimes, no caches) and compiled
  again: every file is a hit in --json and no interpreter starts; then once more with -v,
  whose stdout and stderr (warnings replayed) must be compileall's, and whose cache files
  must be the ones compileall writes there: bytes for 3.11+, identical headers and equal
  code objects (codecompare.py) for 3.10 and older, whose marshal bytes depend on
  reference counts;
- warm, another path (a second environment): the same, at that path, the syntax error
  and the warning included (their texts name the path: stored as templates, re-targeted
  on a hit, and the output compared with compileall's there); then a tree at a path that
  is not ASCII, where the templates cannot be proven exact: those two miss once (keyed
  by that path), the others hit;
- another compiler build of the same version (a copy of the interpreter's binary with
  other bytes): every file is a miss.
"""
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
CODECOMPARE = os.path.join(HERE, "codecompare.py")
from pyc_e2e import Suite, SkipCase, clean_env, interpreters, make_wrapper, run_tool  # noqa: E402

STDLIB_PACKAGES = ("json", "email")


def stdlib_and_prefix(interp):
    """(the standard library's directory, sys.prefix): one start of the interpreter."""
    r = interp.run(["-c", "import json, os, sys; "
                    "print(os.path.dirname(os.path.dirname(json.__file__))); print(sys.prefix)"])
    lib, prefix = r.stdout.decode().splitlines()
    return lib, prefix


def build_tree(interp, root, lib):
    """The tree, copied afresh: new mtimes and no cache files."""
    if os.path.exists(root):
        shutil.rmtree(root)
    for pkg in STDLIB_PACKAGES:
        shutil.copytree(os.path.join(lib, pkg), os.path.join(root, pkg),
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    extra = {
        "mine/__init__.py": b"",
        # Its own first path as a constant: only co_filename may change elsewhere.
        "mine/selfpath.py": ("WHERE = %r\ndef f():\n    return WHERE\n"
                             % os.path.join(FIRST_ROOT[interp.short], "mine", "selfpath.py"))
                            .encode(),
        "mine/\u00fcn\u00efcode.py": "S = '\u00e9t\u00e9'\n".encode(),
        "mine/bad.py": b"def broken(:\n    pass\n",
    }
    if interp.version >= (3, 12):
        extra["mine/warns.py"] = b"import re\nPAT = re.compile('\\d+')\n"
    for rel, data in extra.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)


FIRST_ROOT = {}



def starts(log):
    if not os.path.exists(log):
        return 0
    with open(log) as f:
        n = len(f.read().splitlines())
    os.unlink(log)
    return n


def pycs(root):
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            if name.endswith(".pyc"):
                path = os.path.join(dirpath, name)
                with open(path, "rb") as f:
                    out[os.path.relpath(path, root)] = f.read()
    return out


def remove_caches(root):
    for dirpath, dirs, _ in os.walk(root):
        if "__pycache__" in dirs:
            shutil.rmtree(os.path.join(dirpath, "__pycache__"))
            dirs.remove("__pycache__")


def records(r):
    lines = [json.loads(ln) for ln in r.stdout.decode().splitlines()]
    return [x for x in lines if x["type"] == "file"], [x for x in lines if x["type"] == "summary"]


def expect_cache(r, want, except_for=()):
    """Every file record says `want` (those named in except_for the other way round)."""
    files, summ = records(r)
    if not files:
        raise AssertionError("no file records:\n%s" % r.stdout.decode(errors="replace"))
    other = "miss" if want == "hit" else "hit"
    wrong = [(x["path"], x.get("cache")) for x in files
             if x.get("cache") != (other if x["path"].endswith(except_for) else want)]
    if wrong:
        raise AssertionError("expected every file a %s (but %s), got %s" % (
            want, list(except_for), wrong[:5]))
    return summ[0]


def same_pycs(interp, ours, theirs, scratch):
    if sorted(ours) != sorted(theirs):
        raise AssertionError("cache files differ:\npyc-tool   %s\ncompileall %s" % (
            sorted(ours), sorted(theirs)))
    if interp.version >= (3, 11):
        diff = [rel for rel in ours if ours[rel] != theirs[rel]]
        if diff:
            raise AssertionError("%d of %d pycs differ from compileall's, e.g. %s" % (
                len(diff), len(ours), diff[:3]))
        return
    pairs = []
    for who, files in (("ours", ours), ("theirs", theirs)):
        for rel, data in files.items():
            path = os.path.join(scratch, who, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
    for rel in sorted(ours):
        pairs += [os.path.join(scratch, "ours", rel), os.path.join(scratch, "theirs", rel)]
    r = interp.run([CODECOMPARE] + pairs)
    shutil.rmtree(scratch)
    if r.returncode != 0:
        raise AssertionError("code objects differ:\n%s%s" % (r.stdout.decode(errors="replace"),
                                                            r.stderr.decode(errors="replace")))


def warm_case(interp, ctx, root, by_path=()):
    """Compile a fresh copy at root from a warm store: all hits (but the files whose entry
    is keyed by path, which miss the first time at a new path), nothing started when all
    hit, and compileall's output and cache files at root."""
    build_tree(interp, root, ctx["lib"])
    r = run_tool(["compile", "--json", "--python", ctx["wrapper"], root], env=ctx["env"])
    expect_cache(r, "hit", by_path)
    n = starts(ctx["log"])
    if n and not by_path:
        raise AssertionError("a warm run started %d interpreter(s)" % n)
    build_tree(interp, root, ctx["lib"])
    ours = run_tool(["compile", "-v", "--python", ctx["wrapper"], root], env=ctx["env"])
    if starts(ctx["log"]):
        raise AssertionError("a warm -v run started an interpreter")
    our_pycs = pycs(root)
    remove_caches(root)
    theirs = interp.run(["-m", "compileall", root], env=ctx["env"])
    out = ours.stdout.decode(errors="replace").splitlines(True)
    if not out or not out[-1].startswith("compiled "):
        raise AssertionError("no summary line:\n%s" % "".join(out))
    if (ours.returncode, "".join(out[:-1]), ours.stderr) != \
            (theirs.returncode, theirs.stdout.decode(errors="replace"), theirs.stderr):
        raise AssertionError("output differs from compileall's\n--- compileall (exit %d):\n%s%s"
                             "\n--- pyc-tool (exit %d):\n%s%s" % (
                                 theirs.returncode, theirs.stdout.decode(errors="replace"),
                                 theirs.stderr.decode(errors="replace"), ours.returncode,
                                 "".join(out), ours.stderr.decode(errors="replace")))
    if interp.version >= (3, 12) and b"SyntaxWarning" not in ours.stderr:
        raise AssertionError("the SyntaxWarning was not replayed:\n%s" % ours.stderr.decode())
    same_pycs(interp, our_pycs, pycs(root), os.path.join(ctx["vdir"], "scratch"))


def hits_before_misses(files):
    """The hits of a run that should find nothing of the runs before it: a source the tree
    holds twice (empty __init__.py files) may hit what the run stored for its earlier copy,
    so a hit needs an earlier miss of the same bytes in this run."""
    missed, wrong = set(), []
    for x in files:
        with open(x["path"], "rb") as f:
            data = f.read()
        if x.get("cache") == "miss":
            missed.add(data)
        elif data not in missed:
            wrong.append((x["path"], x.get("cache")))
    return wrong


def env_case(interp, ctx, extra):
    """What changes a compile's result in the workers' environment is in the key: under
    `extra` nothing hits the entries made without it, and the pycs are compileall's under
    `extra` (the compile oracle's shared store checks the replayed output per locale and
    with PYTHONWARNINGS on every version)."""
    env = dict(ctx["env"], **extra)
    root = os.path.join(ctx["vdir"], "env-" + "-".join(sorted(extra)), "tree")
    build_tree(interp, root, ctx["lib"])
    r = run_tool(["compile", "--json", "--python", ctx["wrapper"], root], env=env)
    files, _ = records(r)
    wrong = hits_before_misses(files)
    if not files or wrong:
        raise AssertionError("%s hit entries made without it: %s" % (extra, wrong[:5]))
    starts(ctx["log"])
    ours = pycs(root)
    remove_caches(root)
    interp.run(["-m", "compileall", "-q", root], env=env)
    same_pycs(interp, ours, pycs(root), os.path.join(ctx["vdir"], "scratch"))


def other_build_case(interp, ctx):
    """A copy of the binary with other bytes is another compiler: nothing may hit."""
    copy = os.path.join(ctx["vdir"], "bin", os.path.basename(interp.exe))
    os.makedirs(os.path.dirname(copy))
    shutil.copy2(interp.exe, copy)
    with open(copy, "ab") as f:
        f.write(b"\0pyc-tool: another build\0")
    env = dict(ctx["env"], PYTHONHOME=ctx["prefix"])
    root = ctx["first"]
    build_tree(interp, root, ctx["lib"])
    r = run_tool(["compile", "--json", "--python", copy, root], env=env)
    files, summ = records(r)
    wrong = hits_before_misses(files)
    if not files or wrong:
        raise AssertionError("another build hit the first one's entries: %s" % wrong[:5])
    if summ[0]["workers_started"] < 1:
        raise AssertionError("another build compiled nothing")


def run_version(suite, interp):
    v = interp.short
    vdir = os.path.join(suite.tmp, v)
    os.makedirs(vdir)
    wrapper, log = make_wrapper(interp, vdir)
    FIRST_ROOT[v] = os.path.join(vdir, "first", "tree")
    lib, prefix = stdlib_and_prefix(interp)
    ctx = {"lib": lib, "prefix": prefix, "wrapper": wrapper, "log": log, "vdir": vdir,
           "first": FIRST_ROOT[v],
           "env": clean_env(XDG_CACHE_HOME=os.path.join(vdir, "xdg"),
                            PYC_TOOL_CACHE_DIR=os.path.join(vdir, "store"),
                            PYC_TOOL_NO_PROBE_CACHE=None,
                            # file names decode the same for every version (3.6: no
                            # PEP 538 coercion of the C locale)
                            LC_ALL="C.UTF-8")}
    with suite.case("%s cold: every file a miss, stored" % v):
        build_tree(interp, ctx["first"], ctx["lib"])
        r = run_tool(["compile", "--json", "--python", wrapper, ctx["first"]], env=ctx["env"])
        expect_cache(r, "miss")
        if starts(log) < 2:
            raise AssertionError("the cold run did not start a probe and a worker")
    with suite.case("%s warm, same path: hits, no interpreter, compileall's output" % v):
        warm_case(interp, ctx, ctx["first"])
    with suite.case("%s warm, another path: hits, compileall's output there" % v):
        warm_case(interp, ctx, os.path.join(vdir, "second", "place", "tree"))
    # Compile errors and warnings name the path; at a non-ASCII one they are keyed by it.
    by_path = ("/mine/bad.py",) + (("/mine/warns.py",) if interp.version >= (3, 12) else ())
    with suite.case("%s warm, a non-ASCII path: hits but the texts, compileall's output" % v):
        warm_case(interp, ctx, os.path.join(vdir, "th\u00efrd", "tree"), by_path)
    with suite.case("%s PYTHONWARNINGS=always: misses, then its own warnings" % v):
        env_case(interp, ctx, {"PYTHONWARNINGS": "always"})
    if interp.version >= (3, 11):
        with suite.case("%s PYTHONNODEBUGRANGES=1: misses, then its own code" % v):
            env_case(interp, ctx, {"PYTHONNODEBUGRANGES": "1"})
    with suite.case("%s another build of %s: misses" % (v, v)):
        other_build_case(interp, ctx)


def main():
    suite = Suite("compile_cache")
    found = interpreters(min_version=(3, 6))
    if not found:
        suite.skip("no CPython 3.6+ found")
    for interp in found:
        run_version(suite, interp)
    suite.finish()


if __name__ == "__main__":
    main()
