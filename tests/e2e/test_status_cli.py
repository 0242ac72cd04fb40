"""`pyc-tool status` as a command: exit codes, the JSON Lines schema, odd file names,
--all, targets (--tag, --python), pycache prefix trees, legacy files and runtime errors.

Caches are written by a real interpreter (Debian's python3 is enough); verdict rules are
test_status_oracle.py's business, here the command line around them is checked.
"""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyc_e2e  # noqa: E402
from pyc_e2e import run_tool  # noqa: E402

T0 = 1600000000
CACHE_KEYS = {"type", "path", "source", "tag", "opt", "kind", "state", "reason", "magic",
              "version", "mode", "unchecked"}
SUMMARY_KEYS = {"type", "caches", "fresh", "stale", "orphan", "sourceless", "corrupt",
                "missing", "temps", "abandoned", "errors", "skipped"}


def py3():
    found = pyc_e2e.interpreters(min_version=(3, 8))
    if not found:
        raise pyc_e2e.SkipCase("no CPython 3.8+ found")
    return found[-1]


def make_tree(root, names, interp, env=None, args=()):
    """Sources with old mtimes, compiled by interp's compileall. names are str or bytes."""
    os.makedirs(root, exist_ok=True)
    for n in names:
        p = os.path.join(os.fsencode(root), n if isinstance(n, bytes) else n.encode())
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(b"x = 1\n")
        os.utime(p, (T0, T0))
    r = interp.run(["-m", "compileall", "-q"] + list(args) + [root], env=env or pyc_e2e.clean_env())
    assert r.returncode == 0, r.stdout + r.stderr


def records(stdout):
    lines = [json.loads(x) for x in stdout.decode("utf-8").splitlines()]
    assert lines and lines[-1]["type"] == "summary", lines
    for x in lines[:-1]:
        assert set(x) == CACHE_KEYS, sorted(set(x) ^ CACHE_KEYS)
        assert x["type"] == "cache"
    assert set(lines[-1]) == SUMMARY_KEYS, sorted(lines[-1])
    return lines[:-1], lines[-1]


def fsbytes(s):
    return s.encode("utf-8", "surrogateescape")


def case_exit_codes(suite):
    interp = py3()
    root = os.path.join(suite.tmp, "codes")
    make_tree(root, ["p/a.py", "p/b.py"], interp)
    r = run_tool(["status", root], check_rc=0)
    assert r.stdout.decode().strip() == "2 caches: 2 fresh", r.stdout
    run_tool(["status", "-q", root], check_rc=0)
    os.utime(os.path.join(root, "p", "b.py"), (T0 + 5, T0 + 5))
    r = run_tool(["status", root], check_rc=1)
    lines = r.stdout.decode().splitlines()
    assert lines == ["stale (mtime)  %s/p/__pycache__/b.%s.pyc" % (root, interp.tag),
                     "2 caches: 1 fresh, 1 stale"], lines
    r = run_tool(["status", "-q", root], check_rc=1)
    assert r.stdout == b""
    for bad in (["--bogus", root], [root, "--tag"], ["--tag", "x", "--python", "y", root],
                ["-o", "1", root], ["--tag", "cpython-312", "-o", "x", root],
                ["--json", "-q", root], ["--tag", "a/b", root], ["--tag", "", root]):
        r = run_tool(["status"] + bad, check_rc=2)
        assert r.stderr.startswith(b"pyc-tool status: error: "), r.stderr
    missing = os.path.join(suite.tmp, "no-such-dir")
    r = run_tool(["status", missing, root], check_rc=3)
    assert missing.encode() in r.stderr, r.stderr
    assert b"stale (mtime)" in r.stdout  # the other path was still scanned


def case_json_and_all(suite):
    interp = py3()
    root = os.path.join(suite.tmp, "json")
    make_tree(root, ["a.py", "b.py", "c.py"], interp, args=["-o", "0", "-o", "1"])
    os.utime(os.path.join(root, "b.py"), (T0 + 5, T0 + 5))
    os.remove(os.path.join(root, "c.py"))
    r = run_tool(["status", "--json", root], check_rc=1)
    recs, summary = records(r.stdout)
    assert {x["state"] for x in recs} == {"stale", "orphan"}
    assert len(recs) == 4
    assert summary["caches"] == 6 and summary["fresh"] == 2 and summary["stale"] == 2
    assert summary["orphan"] == 2 and summary["errors"] == 0
    r = run_tool(["status", "--json", "--all", root], check_rc=1)
    recs, summary = records(r.stdout)
    assert len(recs) == 6
    magic = int.from_bytes(interp.magic[:2], "little")
    for x in recs:
        assert x["tag"] == interp.tag and x["kind"] == "pycache"
        assert x["magic"] == magic and x["version"] == interp.short
        assert x["mode"] == "timestamp" and x["unchecked"] is False
        assert x["opt"] in ("", "1")
        stem = os.path.basename(x["path"]).split(".")[0]
        assert x["source"] == os.path.join(root, stem + ".py")
    for st in ("fresh", "stale", "orphan"):
        assert summary[st] == sum(1 for x in recs if x["state"] == st)


def case_odd_names(suite):
    interp = py3()
    root = os.path.join(suite.tmp, "odd")
    names = [b"q\"uote.py", b"back\\slash.py", b"tab\tname.py", b"new\nline.py",
             b"lat\xe9in1.py", b"ok\xc3\xa9.py", b"ctl\x01.py"]
    make_tree(root, names, interp)
    for n in names:
        os.utime(os.path.join(os.fsencode(root), n), (T0 + 9, T0 + 9))
    r = run_tool(["status", "--json", root], check_rc=1)
    recs, _ = records(r.stdout)
    got = sorted(fsbytes(x["path"]) for x in recs)
    want = sorted(os.path.join(os.fsencode(root), b"__pycache__",
                               n[:-3] + b"." + interp.tag.encode() + b".pyc") for n in names)
    assert got == want, (got, want)
    for x in recs:
        assert os.path.exists(fsbytes(x["source"]))
    # Human output: one line per cache, whatever the names hold.
    r = run_tool(["status", root], check_rc=1)
    assert len(r.stdout.splitlines()) == len(names) + 1, r.stdout


def case_targets(suite):
    interp = py3()
    root = os.path.join(suite.tmp, "target")
    make_tree(root, ["a.py", "b.py"], interp)
    os.remove(os.path.join(root, "__pycache__", "b.%s.pyc" % interp.tag))
    r = run_tool(["status", "--json", "--tag", interp.tag, "-o", "0", "-o", "2", root],
                 check_rc=1)
    recs, summary = records(r.stdout)
    got = sorted((x["path"], x["opt"]) for x in recs if x["state"] == "missing")
    pc = os.path.join(root, "__pycache__")
    want = sorted([(os.path.join(pc, "a.%s.opt-2.pyc" % interp.tag), "2"),
                   (os.path.join(pc, "b.%s.pyc" % interp.tag), ""),
                   (os.path.join(pc, "b.%s.opt-2.pyc" % interp.tag), "2")])
    assert got == want, got
    assert summary["missing"] == 3
    # --python asks the interpreter: same tag, its own -O level (0) by default.
    r = run_tool(["status", "--json", "--python", interp.exe, root], check_rc=1)
    recs, _ = records(r.stdout)
    assert [x["path"] for x in recs] == [os.path.join(pc, "b.%s.pyc" % interp.tag)]
    r = run_tool(["status", "--python", os.path.join(suite.tmp, "no-python"), root], check_rc=3)
    assert b"no-python" in r.stderr, r.stderr
    # Without a target nothing is missing: the tree is all fresh.
    run_tool(["status", root], check_rc=0)
    # --exclude: by name, or by path relative to the root; excluded sources are not missing.
    r = run_tool(["status", "--json", "--tag", interp.tag, "--exclude", "b.py", root], check_rc=0)
    assert records(r.stdout)[1]["missing"] == 0
    r = run_tool(["status", "--json", "--all", "--exclude", "__pycache__/a.*", root], check_rc=0)
    assert records(r.stdout)[1]["caches"] == 0


def bad_tags(interp):
    """What users type for interp's cache tag, none of which is one: a version number,
    a dotted version, CPython's name without its hyphen, a wheel-style tag."""
    v = interp.version[:2]
    return ["%d%d" % v, interp.short, "cpython%d%d" % v, "cpython-" + interp.short,
            "py%d%d" % v]


def case_tag_form(suite):
    # `--tag 312` used to be taken as a tag nothing has, so every source was "missing".
    interp = py3()
    root = os.path.join(suite.tmp, "tagform")
    make_tree(root, ["a.py"], interp)
    for it in pyc_e2e.interpreters(min_version=(3, 2)):
        run_tool(["status", "--tag", it.tag, root])     # a real tag is taken...
        for bad in bad_tags(it):                         # ...what looks like it is not
            r = run_tool(["status", "--tag", bad, root], check_rc=2)
            assert r.stdout == b"", r.stdout
            first = r.stderr.decode().splitlines()[0]
            assert first == "pyc-tool status: error: invalid cache tag '%s'; did you mean '%s'?" % (
                bad, it.tag), first
    # PyPy's tags have no hyphen (pypy/module/imp/importing.py: 'pypy%d%d').
    r = run_tool(["status", "--tag", "pypy39", root], check_rc=1)
    assert "missing" in r.stdout.decode() and "a.pypy39.pyc" in r.stdout.decode(), r.stdout
    for bad in ("cpython", "cpython-", "-x", "a.b", "cpython-3x"):
        r = run_tool(["status", "--tag", bad, root], check_rc=2)
        assert r.stderr.startswith(b"pyc-tool status: error: invalid cache tag '%s'\n" % bad.encode()), \
            r.stderr


def case_not_a_cache(suite):
    # A file operand is judged as a cache; a source or any other file is refused before
    # anything is scanned (it used to be "0 caches: 0 fresh", exit 0).
    interp = py3()
    root = os.path.join(suite.tmp, "notcache")
    make_tree(root, ["pkg/a.py"], interp)
    src = os.path.join(root, "pkg", "a.py")
    cache = os.path.join(root, "pkg", "__pycache__", "a.%s.pyc" % interp.tag)
    assert os.path.isfile(cache)
    with open(os.path.join(root, "notes.txt"), "w") as f:
        f.write("x\n")
    for path in (src, os.path.join(root, "notes.txt")):
        for args in ([path], [root, path], ["--json", path]):
            r = run_tool(["status"] + args, check_rc=2)
            assert r.stdout == b"", r.stdout
            lines = r.stderr.decode().splitlines()
            assert len(lines) == 1 and lines[0].startswith(
                "pyc-tool status: error: '%s' is not a bytecode cache" % path), lines
    r = run_tool(["status", cache], check_rc=0)
    assert r.stdout.decode() == "1 cache: 1 fresh\n", r.stdout
    # With a target a source is what is asked about: has it a cache for that tag?
    r = run_tool(["status", "--tag", "cpython-399", src], check_rc=1)
    assert "missing  %s/pkg/__pycache__/a.cpython-399.pyc" % root in r.stdout.decode(), r.stdout


def case_prefix(suite):
    interp = py3()
    root = os.path.join(suite.tmp, "pre", "tree")
    pfx = os.path.join(suite.tmp, "pre", "pfx")
    env = pyc_e2e.clean_env(PYTHONPYCACHEPREFIX=pfx)
    make_tree(root, ["m.py", "sub/n.py"], interp, env=env)
    assert not os.path.exists(os.path.join(root, "__pycache__"))
    r = run_tool(["status", "--all", "--json", root], env=env, check_rc=0)
    recs, _ = records(r.stdout)
    assert sorted(x["path"] for x in recs) == sorted(
        [pfx + root + "/m.%s.pyc" % interp.tag, pfx + root + "/sub/n.%s.pyc" % interp.tag])
    assert all(x["kind"] == "prefix" and x["state"] == "fresh" for x in recs)
    os.utime(os.path.join(root, "sub", "n.py"), (T0 + 1, T0 + 1))
    r = run_tool(["status", "--prefix", pfx, root], check_rc=1)
    assert r.stdout.decode().splitlines()[0] == "stale (mtime)  %s%s/sub/n.%s.pyc" % (
        pfx, root, interp.tag)
    # Relative root, prefix from the environment.
    r = run_tool(["status", "--json", "tree"], cwd=os.path.dirname(root), env=env, check_rc=1)
    recs, _ = records(r.stdout)
    assert [x["source"] for x in recs] == ["tree/sub/n.py"], recs
    # inspect finds the source of a prefix cache, given relatively too.
    r = run_tool(["inspect", "--json", os.path.relpath(pfx + root + "/m.%s.pyc" % interp.tag)],
                 env=env, check_rc=0)
    got = json.loads(r.stdout.decode().splitlines()[0])
    assert (got["source"], got["state"]) == (os.path.join(root, "m.py"), "fresh"), got
    # No prefix: those caches are not found at all.
    r = run_tool(["status", root], check_rc=0)
    assert r.stdout.decode().strip() == "0 caches: 0 fresh"
    # A target under a prefix expects its caches there.
    r = run_tool(["status", "--json", "--tag", interp.tag, "-o", "1", "--prefix", pfx, root],
                 check_rc=1)
    recs, _ = records(r.stdout)
    missing = sorted(x["path"] for x in recs if x["state"] == "missing")
    assert missing == sorted([pfx + root + "/m.%s.opt-1.pyc" % interp.tag,
                              pfx + root + "/sub/n.%s.opt-1.pyc" % interp.tag]), missing


def case_legacy(suite):
    interp = py3()
    root = os.path.join(suite.tmp, "legacy")
    make_tree(root, ["a.py", "b.py", "c.py"], interp, args=["-b"])
    os.remove(os.path.join(root, "b.py"))
    with open(os.path.join(root, "c.pyc"), "r+b") as f:
        f.truncate(3)
    with open(os.path.join(root, "__pycache__junk.pyc"), "wb") as f:
        f.write(b"")
    r = run_tool(["status", "--json", "--all", root], check_rc=1)
    recs, _ = records(r.stdout)
    got = {os.path.basename(x["path"]): (x["state"], x["reason"], x["kind"]) for x in recs}
    assert got == {"a.pyc": ("fresh", None, "legacy"), "b.pyc": ("sourceless", None, "legacy"),
                   "c.pyc": ("corrupt", "truncated", "legacy"),
                   "__pycache__junk.pyc": ("corrupt", "truncated", "legacy")}, got
    # A file in __pycache__ whose name maps to no source; one of another implementation.
    pc = os.path.join(root, "__pycache__")
    os.makedirs(pc)
    for n in ("junk.pyc", "a.pypy39.pyc"):
        shutil.copy(os.path.join(root, "a.pyc"), os.path.join(pc, n))
    r = run_tool(["status", "--json", root], check_rc=1)
    recs, _ = records(r.stdout)
    bad = [x for x in recs if x["path"].endswith("/__pycache__/junk.pyc")]
    assert len(bad) == 1 and bad[0]["state"] == "orphan" and bad[0]["reason"] == "bad-name"
    assert bad[0]["source"] is None
    assert not any("pypy" in x["path"] for x in recs)


def as_nobody():
    """Runs the tool as an unprivileged user when we are root (root reads everything)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if not setpriv:
        raise pyc_e2e.SkipCase("running as root without setpriv: cannot make a directory unreadable")
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]


def case_unreadable_dir(suite):
    interp = py3()
    root = os.path.join(suite.tmp, "perm")
    make_tree(root, ["ok/a.py", "locked/b.py", "z/c.py"], interp)
    os.utime(os.path.join(root, "z", "c.py"), (T0 + 3, T0 + 3))
    for d, _, _ in os.walk(suite.tmp):
        os.chmod(d, 0o755)
    os.chmod(os.path.join(root, "locked"), 0o000)
    try:
        r = subprocess.run(as_nobody() + [pyc_e2e.TOOL, "status", root], capture_output=True,
                           env=pyc_e2e.clean_env())
    finally:
        os.chmod(os.path.join(root, "locked"), 0o755)
    assert r.returncode == 3, (r.returncode, r.stdout, r.stderr)
    assert os.path.join(root, "locked").encode() in r.stderr, r.stderr
    assert b"Permission denied" in r.stderr, r.stderr
    out = r.stdout.decode().splitlines()
    assert out[0] == "stale (mtime)  %s/z/__pycache__/c.%s.pyc" % (root, interp.tag), out
    assert out[-1] == "2 caches: 1 fresh, 1 stale; 1 error", out


def case_default_excludes(suite):
    interp = py3()
    root = os.path.join(suite.tmp, "envs")
    own, envs, vcs = pyc_e2e.make_env_project(root, interp)

    def listed(args, cwd=root):
        r = run_tool(["status", "--json", "--all", "-j", "4"] + args, cwd=cwd, check_rc=0)
        recs, summary = records(r.stdout)
        return {os.path.normpath(x["path"]) for x in recs}, summary

    got, summary = listed([])
    assert got == own, sorted(got ^ own)
    assert summary["caches"] == len(own) and summary["skipped"] == len(envs), summary
    # -j 1 walks alone, -j 4 splits subtrees among threads: the same answer.
    assert listed(["-j", "1"]) == (got, summary)
    text = run_tool(["status", "--all"], cwd=root, check_rc=0).stdout.decode()
    assert text.splitlines()[-1] == ("4 caches: 4 fresh; skipped 5 environment directories "
                                     "(--no-default-excludes)"), text
    # The flag brings them in; VCS metadata stays out either way.
    got, summary = listed(["--no-default-excludes"])
    assert got == own | envs, sorted(got ^ (own | envs))
    assert summary["skipped"] == 0, summary
    text = run_tool(["status", "--no-default-excludes"], cwd=root, check_rc=0).stdout.decode()
    assert text == "9 caches: 9 fresh\n", text
    # An environment named as a root is scanned; so is one named beside the project.
    got, summary = listed([".venv", "node_modules"])
    want = {p for p in envs if p.startswith((".venv", "node_modules"))}
    assert got == want and len(want) == 2 and summary["skipped"] == 0, (got, summary)
    got, summary = listed(["."], cwd=os.path.join(root, ".venv"))
    assert len(got) == 1 and summary["skipped"] == 0, (got, summary)


def main():
    suite = pyc_e2e.Suite("status_cli")
    if not pyc_e2e.TOOL:
        suite.skip("PYC_TOOL is not set")
        suite.finish()
    for name, fn in [("exit codes and summary", case_exit_codes),
                     ("--json schema, summary counts and --all", case_json_and_all),
                     ("odd names survive --json (surrogateescape) and stay on one line", case_odd_names),
                     ("--tag/-o and --python report missing caches", case_targets),
                     ("--tag must look like a cache tag; a version gets the tag suggested",
                      case_tag_form),
                     ("a file operand that is not a cache is refused", case_not_a_cache),
                     ("pycache prefix trees (environment and --prefix)", case_prefix),
                     ("legacy, sourceless, bad-name and foreign caches", case_legacy),
                     ("an unreadable directory is named and gives exit 3", case_unreadable_dir),
                     ("environments are skipped and counted unless named or "
                      "--no-default-excludes", case_default_excludes)]:
        with suite.case(name):
            fn(suite)
    suite.finish()


if __name__ == "__main__":
    main()
