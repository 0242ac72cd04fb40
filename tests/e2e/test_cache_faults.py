"""`pyc-tool compile` with a damaged, unwritable, shared or stale compile cache (issue #11),
end to end through the CLI, on a real store in the file system.

Oracles: the interpreter's own `python -m compileall` at the same path (bytes: these cases
use CPython 3.11+, whose pycs do not depend on the compiling process's history), a
`--no-cache` compile, the entry files on disk, and `pyc-tool cache stats`. Every tree holds
modules of distinct content and no warnings or errors, so each file is one entry under its
path-less key and one lookup (docs/cache.md, "compile"): counts can be exact.

- an entry with flipped bytes, one truncated, one replaced by a directory: those files
  miss, the pycs equal compileall's and a --no-cache compile's, the entries are valid
  again (the next run hits everything);
- a store that cannot be written (its directory is a file; a file where its fan-out
  directories belong; a warm store on a read-only mount, as root via a private mount
  namespace, else chmod): same pycs and stdout as --no-cache, exactly one warning, exit 0;
- two and four concurrent compiles of overlapping trees sharing one store: every tree's
  pycs are compileall's there, the entry count is the number of distinct sources and the
  files on disk, the store's hits + misses are the lookups the runs report;
- another build of the same minor version (Debian's 3.11.2 beside pyenv's 3.11.x, whose
  `except*` bytecode differs; else a copy of the binary with bytes appended): misses, and
  each build's pycs are its own compileall's;
- `cache stats` after N misses then N hits; `cache prune --max-size` then a run re-stores
  exactly what was pruned.
"""
import glob
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from pyc_e2e import (TOOL, Interp, SkipCase, Suite, clean_env, interpreters,  # noqa: E402
                     pyenv_root, run_tool)
from test_cache import cache_json, disk_entries, stats  # noqa: E402
from test_compile_cache import pycs, remove_caches  # noqa: E402

HEADER = 104  # docs/cache.md, "Entries"

# 3.11.2 and 3.11.7 compile this differently (reference/cache.md: `except*`), so a hit
# across the two builds would give the other build's bytes.
EXCEPT_STAR = (b"def handle(g, h):\n    try:\n        g()\n    except* ValueError as e:\n"
               b"        h(e)\n    except* TypeError:\n        pass\n")


def module(name, i):
    """A small module whose bytes differ for every (name, i)."""
    return ("'''%s %d'''\nVALUE = %d\nNAMES = ('%s', 'n%d')\n\n\ndef f(x):\n"
            "    return [x * %d for _ in range(3)]\n" % (name, i, i, name, i, i)).encode()


def write_tree(root, files):
    for rel, data in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)


def modules(name, n, sub="m"):
    return {"%s/%s%d.py" % (sub, name, i): module(name, i) for i in range(n)}


def take_pycs(root):
    """The tree's pycs, then removed: the sources stay as they are (same mtimes), so the
    next compile of root is stale everywhere and comparable with the last one."""
    out = pycs(root)
    remove_caches(root)
    return out


def compileall(interp, root, env=None):
    r = interp.run(["-m", "compileall", "-q", root], env=env or clean_env())
    assert r.returncode == 0, r.stdout + r.stderr
    return take_pycs(root)


def compile_cmd(interp, root, store, json_out=True):
    """pyc-tool's command line: store None is --no-cache."""
    args = [TOOL, "compile", "--json" if json_out else "-v", "--python", interp.exe]
    return args + (["--cache-dir", store] if store else ["--no-cache"]) + [root]


def compile_(interp, root, store, env=None):
    """Run a --json compile, exit 0; {relative path: "hit"|"miss"|"off"}, the summary."""
    r = subprocess.run(compile_cmd(interp, root, store), env=env or clean_env(),
                       capture_output=True)
    return parse(r, root)


def parse(r, root):
    if r.returncode != 0 or r.stderr:
        raise AssertionError("compile: exit %d\n%s%s" % (r.returncode, r.stdout.decode(
            errors="replace"), r.stderr.decode(errors="replace")))
    recs = [json.loads(line) for line in r.stdout.decode().splitlines()]
    files = {os.path.relpath(x["path"], root): x["cache"] for x in recs if x["type"] == "file"}
    summ = [x for x in recs if x["type"] == "summary"]
    assert len(summ) == 1, recs
    return files, summ[0]


def expect(files, hits, misses):
    got = sorted(files.values())
    if got != ["hit"] * hits + ["miss"] * misses:
        raise AssertionError("expected %d hits and %d misses, got %s" % (hits, misses, files))


def same(ours, theirs, what):
    if ours != theirs:
        diff = sorted(k for k in set(ours) | set(theirs) if ours.get(k) != theirs.get(k))
        raise AssertionError("%d of %d pycs differ from %s: %s" % (
            len(diff), len(theirs), what, diff[:5]))


# --- damaged entries --------------------------------------------------------------------

def flip(path):
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        at = HEADER + (len(data) - HEADER) // 2
        data[at] ^= 0xFF
        f.seek(0)
        f.write(data)


def truncate(path):
    os.truncate(path, os.path.getsize(path) // 2)


def to_directory(path):
    os.unlink(path)
    os.mkdir(path)
    with open(os.path.join(path, "inside"), "wb") as f:
        f.write(b"not an entry")


def case_damaged(interp, work):
    root, store = os.path.join(work, "tree"), os.path.join(work, "store")
    write_tree(root, modules("mod", 5))
    want = compileall(interp, root)
    compile_(interp, root, None)
    same(take_pycs(root), want, "compileall's (--no-cache)")
    files, _ = compile_(interp, root, store)
    expect(files, 0, 5)
    same(take_pycs(root), want, "compileall's (cold store)")
    entries = sorted(disk_entries(store))
    assert len(entries) == 5, entries
    damaged = entries[:3]
    for fn, path in zip((flip, truncate, to_directory), damaged):
        fn(path)
    errors = stats(store)["errors"]
    files, _ = compile_(interp, root, store)
    expect(files, 2, 3)
    same(take_pycs(root), want, "compileall's (damaged entries)")
    st = stats(store)
    if st["errors"] - errors != 3:
        raise AssertionError("3 damaged entries, %d errors counted" % (st["errors"] - errors))
    for path in damaged:
        with open(path, "rb") as f:   # a regular file again (open fails on a directory)
            assert f.read(8) == b"pycstore", path
    assert sorted(disk_entries(store)) == entries
    files, _ = compile_(interp, root, store)
    expect(files, 5, 0)
    same(take_pycs(root), want, "compileall's (replaced entries)")


# --- a store that cannot be written -----------------------------------------------------

def run_plain(interp, root, store, env, prefix=()):
    r = subprocess.run(list(prefix) + compile_cmd(interp, root, store, json_out=False),
                       env=env, capture_output=True)
    lines = r.stdout.decode(errors="replace").splitlines()
    if lines and lines[-1].startswith("compiled "):
        lines.pop()   # pyc-tool's summary, with the elapsed time
    return r.returncode, lines, r.stderr.decode(errors="replace"), take_pycs(root)


def unwritable_case(interp, work, make_store, prefix=()):
    """make_store(store) prepares it (and may fill it through pyc-tool); prefix wraps the
    command that must meet the unwritable store."""
    root, store = os.path.join(work, "tree"), os.path.join(work, "store")
    write_tree(root, modules("mod", 4))
    env = clean_env()
    make_store(store, root)
    rc, out, err, want = run_plain(interp, root, None, env)
    assert rc == 0 and not err, (rc, err)
    same(want, compileall(interp, root), "compileall's (--no-cache)")
    rc2, out2, err2, got = run_plain(interp, root, store, env, prefix)
    if (rc2, out2) != (rc, out):
        raise AssertionError("exit %d, stdout %r, stderr %r; --no-cache: exit %d, stdout %r" % (
            rc2, out2, err2, rc, out))
    same(got, want, "a --no-cache compile's")
    warn = err2.splitlines()
    if len(warn) != 1 or not warn[0].startswith("pyc-tool compile: warning: ") or store not in warn[0]:
        raise AssertionError("expected one warning naming %s, got:\n%s" % (store, err2))
    return warn[0]


def case_store_is_file(interp, work):
    def make(store, root):
        with open(store, "wb") as f:
            f.write(b"not a directory")
    return unwritable_case(interp, work, make)


def case_fanout_is_file(interp, work):
    def make(store, root):
        os.mkdir(store)
        for h in "0123456789abcdef":
            with open(os.path.join(store, h), "wb") as f:
                f.write(b"not a directory")
    return unwritable_case(interp, work, make)


def case_read_only(interp, work):
    """A warm store the process cannot write: its entries are read, the new file is
    compiled and cannot be stored: one warning."""
    def make(store, root):
        compile_(interp, root, store)        # warm: the 4 modules
        take_pycs(root)
        write_tree(root, modules("new", 1))  # a miss to store
    if os.geteuid() == 0:
        if not shutil.which("unshare") or subprocess.run(
                ["unshare", "-m", "true"], capture_output=True).returncode != 0:
            raise SkipCase("root, and no private mount namespace (unshare -m) for a "
                           "read-only mount")
        store = os.path.join(work, "store")
        prefix = ["unshare", "-m", "sh", "-c", "mount --bind \"$0\" \"$0\" && "
                  "mount -o remount,bind,ro \"$0\" \"$0\" && exec \"$@\"", store]
        return unwritable_case(interp, work, make, prefix)

    def make_ro(store, root):
        make(store, root)
        for dirpath, dirs, _ in os.walk(store):
            os.chmod(dirpath, 0o555)
    try:
        return unwritable_case(interp, work, make_ro)
    finally:
        for dirpath, dirs, _ in os.walk(work):
            os.chmod(dirpath, 0o755)


# --- concurrent compiles ----------------------------------------------------------------

def case_concurrent(interp, work, n):
    store = os.path.join(work, "store")
    shared = modules("shared", 20, "lib")
    shared["lib/__init__.py"] = b""
    roots, files = [], {}
    for i in range(n):
        root = os.path.join(work, "t%d" % i)
        tree = dict(shared, **modules("own%d" % i, 5))
        write_tree(root, tree)
        files.update(tree)
        roots.append(root)
    want = [compileall(interp, root) for root in roots]
    distinct = len(set(files.values()))
    lookups = hits = 0
    for round_ in ("cold", "warm"):
        procs = [subprocess.Popen(compile_cmd(interp, root, store), env=clean_env(),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for root in roots]
        for root, p, w in zip(roots, procs, want):
            out, err = p.communicate()
            got, summ = parse(subprocess.CompletedProcess(p.args, p.returncode, out, err), root)
            same(take_pycs(root), w, "compileall's at %s (%s round)" % (root, round_))
            lookups += len(got)
            hits += summ["cache_hits"]
            assert summ["cache_hits"] + summ["cache_misses"] == len(got), summ
            if round_ == "warm":
                expect(got, len(got), 0)
        st, on_disk = stats(store), disk_entries(store)
        if not (st["entries"] == len(on_disk) == distinct):
            raise AssertionError("%s round: %d entries counted, %d on disk, %d distinct "
                                 "sources" % (round_, st["entries"], len(on_disk), distinct))
        assert st["bytes"] == sum(on_disk.values()), (st, sum(on_disk.values()))
        if (st["hits"], st["hits"] + st["misses"]) != (hits, lookups):
            raise AssertionError("%s round: store counted %d hits, %d misses; the runs "
                                 "reported %d hits in %d lookups" % (
                                     round_, st["hits"], st["misses"], hits, lookups))
    return "first round: %d of %d lookups hit" % (hits - lookups // 2, lookups // 2)


# --- another build of the same version --------------------------------------------------

def probe(exe):
    """(version_info[:3], sys.version) of exe, or None when it does not run."""
    r = subprocess.run([exe, "-c", "import sys; print(tuple(sys.version_info[:3]));"
                        " print(sys.version)"], capture_output=True, text=True, env=clean_env())
    if r.returncode != 0:
        return None
    v, full = r.stdout.split("\n", 1)
    return tuple(int(x) for x in v.strip("()").split(",")), full


def other_build(interp):
    """Another interpreter of interp's minor version whose sys.version differs (Debian's
    beside pyenv's), as an Interp, or None."""
    cands = glob.glob("/usr/bin/python%s" % interp.short)
    root = pyenv_root()
    if root:
        cands += sorted(glob.glob(os.path.join(root, "versions", interp.short + ".*", "bin",
                                               "python3")))
    mine = probe(interp.exe)
    for exe in cands:
        if os.path.realpath(exe) == os.path.realpath(interp.exe):
            continue
        theirs = probe(exe)
        if theirs and theirs[0][:2] == interp.version[:2] and theirs[1] != mine[1]:
            return Interp(exe, theirs[0], interp.tag, interp.magic)
    return None


def copied_build(interp, work):
    """A copy of the binary with bytes appended (another content hash), run with the
    original's PYTHONHOME; None when such a copy does not run."""
    prefix = interp.run(["-c", "import sys; print(sys.prefix)"]).stdout.decode().strip()
    copy = os.path.join(work, "bin", os.path.basename(interp.exe))
    os.makedirs(os.path.dirname(copy))
    shutil.copy2(interp.exe, copy)
    with open(copy, "ab") as f:
        f.write(b"\0pyc-tool: another build\0")
    env = clean_env(PYTHONHOME=prefix)
    if subprocess.run([copy, "-c", "import json"], env=env, capture_output=True).returncode:
        return None, None
    return Interp(copy, interp.version, interp.tag, interp.magic), prefix


def case_other_build(interp, work, other):
    root, store = os.path.join(work, "tree"), os.path.join(work, "store")
    home = None
    how = "two builds: %s and %s" % (interp.exe, other.exe if other else None)
    if other is None:
        other, home = copied_build(interp, work)
        if other is None:
            raise SkipCase("no second %s build, and a changed copy of %s does not run" % (
                interp.short, interp.exe))
        how = "a copy of %s with bytes appended" % interp.exe
    tree = modules("mod", 3)
    tree["m/star.py"] = EXCEPT_STAR
    write_tree(root, tree)
    env_a, env_b = clean_env(), clean_env(**({"PYTHONHOME": home} if home else {}))
    want_a, want_b = compileall(interp, root, env_a), compileall(other, root, env_b)
    for who, env, want, hits in ((interp, env_a, want_a, 0), (other, env_b, want_b, 0),
                                 (interp, env_a, want_a, 4), (other, env_b, want_b, 4)):
        env = dict(env, PYC_TOOL_CACHE_DIR=store)
        files, _ = compile_(who, root, store, env)
        expect(files, hits, 4 - hits)
        same(take_pycs(root), want, "%s's compileall" % who.exe)
    star = os.path.join("m", "__pycache__", "star.%s.pyc" % interp.tag)
    return "%s; except* %s" % (how, "compiles differently" if want_a[star] != want_b[star]
                               else "compiles the same")


# --- statistics and prune ---------------------------------------------------------------

def case_stats_prune(interp, work):
    root, store = os.path.join(work, "tree"), os.path.join(work, "store")
    n = 8
    write_tree(root, modules("mod", n))
    want = compileall(interp, root)
    files, _ = compile_(interp, root, store)
    expect(files, 0, n)
    take_pycs(root)
    st = stats(store)
    assert (st["hits"], st["misses"], st["stores"], st["errors"]) == (0, n, n, 0), st
    files, _ = compile_(interp, root, store)
    expect(files, n, 0)
    same(take_pycs(root), want, "compileall's (warm)")
    st, before = stats(store), disk_entries(store)
    assert (st["hits"], st["misses"], st["stores"]) == (n, n, n), st
    assert st["entries"] == len(before) == n and st["bytes"] == sum(before.values()), st
    limit = sum(sorted(before.values())[: n // 2])
    recs = cache_json(["prune", "--max-size", str(limit), "--cache-dir", store])
    pruned = recs[-1]["removed_entries"]
    after = disk_entries(store)
    gone = set(before) - set(after)
    assert 0 < pruned == len(gone) and sum(after.values()) <= limit, (recs, after)
    assert stats(store)["entries"] == n - pruned
    files, _ = compile_(interp, root, store)
    expect(files, n - pruned, pruned)
    same(take_pycs(root), want, "compileall's (after prune)")
    st = stats(store)
    assert set(disk_entries(store)) == set(before), "pruned entries not stored again"
    assert (st["hits"], st["misses"], st["entries"]) == (2 * n - pruned, n + pruned, n), st
    return "%d of %d entries pruned to %d bytes, all stored again" % (pruned, n, limit)


def main():
    suite = Suite("cache-faults")
    found = interpreters((3, 11), (3, 13))
    if not found:
        suite.skip("no CPython 3.11+ (byte-identical pycs) installed: nothing to compare")
        suite.finish()
    interp = found[-1]
    # The other-build case wants a version with a second build here (Debian's 3.11).
    pair = next(((i, o) for i in found for o in [other_build(i)] if o), (found[-1], None))
    v = interp.short
    cases = [
        ("%s entries flipped, truncated, a directory: misses, replaced" % v, case_damaged,
         interp),
        ("%s store directory is a file: one warning" % v, case_store_is_file, interp),
        ("%s fan-out directories are files: one warning" % v, case_fanout_is_file, interp),
        ("%s warm store read-only: one warning" % v, case_read_only, interp),
        ("%s two concurrent compiles, one store" % v, case_concurrent, interp, 2),
        ("%s four concurrent compiles, one store" % v, case_concurrent, interp, 4),
        ("%s another build of the same version: misses" % pair[0].short, case_other_build,
         pair[0], pair[1]),
        ("%s cache stats counts, prune then re-store" % v, case_stats_prune, interp),
    ]
    checks = []
    for i, (label, fn, *args) in enumerate(cases):
        work = os.path.join(suite.tmp, "c%d" % i)
        os.makedirs(work)
        checks.append((label, fn, args[0], work) + tuple(args[1:]))
    suite.parallel(checks)
    suite.finish()


if __name__ == "__main__":
    main()
