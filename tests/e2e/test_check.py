"""pyc-tool check: --index, FILE..., --ignore-rule, --json, exit codes, refusals.

Oracles: `git ls-files -s` says what is tracked (and at which stage), `git check-ignore`
says what is ignored; which of those paths are bytecode is decided here independently
(a .pyc/.pyo name or a __pycache__ component, never .pyd). Repositories are throwaway,
with an isolated HOME/XDG_CONFIG_HOME and GIT_CONFIG_NOSYSTEM=1 (see test_hook.py).
"""
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pyc_e2e import Suite  # noqa: E402
from test_hook import GIT, Sandbox, write  # noqa: E402

TREE = {
    "a.py": "x\n",
    "top.pyc": b"\x00",
    "opt.pyo": b"\x00",
    "ext.cpython-311-x86_64-linux-gnu.so": b"\x7fELF",
    "native.pyd": b"MZ",
    "pkg/__init__.py": "",
    "pkg/__pycache__/__init__.cpython-311.pyc": b"\x00",
    "pkg/__pycache__/notes.txt": "anything under __pycache__\n",
    "pkg/deep/__pycache__/m.cpython-312.opt-1.pyc": b"\x00",
    "docs/__pycache__.md": "a name, not a directory\n",
    "weird name's.pyc": b"\x00",
}


def is_bytecode(path):
    return path.endswith((".pyc", ".pyo")) or "__pycache__" in path.split("/")


def tracked(sb, d):
    out = sb.git(d, "ls-files", "-z").stdout.decode().split("\0")
    return sorted(p for p in out if p)


def json_lines(r, mode):
    """The records of a --json run, after checking the closing summary against them."""
    rows = [json.loads(line) for line in r.stdout.decode().splitlines()]
    assert rows and rows[-1]["type"] == "summary", rows
    summary, records = rows[-1], rows[:-1]
    assert summary == {"type": "summary", "mode": mode, "findings": len(records),
                       "clean": not records}, summary
    assert all(x.pop("type") == "bytecode" for x in records), records
    assert (r.returncode == 1) == bool(records), r.returncode
    return records


def snapshot(d):
    """Bytes of the index and of every file in the work tree: check must change none."""
    h = hashlib.sha256()
    for root, dirs, files in os.walk(d):
        dirs.sort()
        for n in sorted(files):
            p = os.path.join(root, n)
            h.update(p.encode())
            with open(p, "rb") as f:
                h.update(f.read())
    return h.hexdigest()


def case_index(sb):
    d = sb.repo("index", TREE)
    expect = [p for p in tracked(sb, d) if is_bytecode(p)]
    assert len(expect) == 6, expect      # the oracle must see something to find
    before = snapshot(d)
    r = sb.tool(d, "check", "--index", "--json")
    assert r.returncode == 1, r
    rows = json_lines(r, "index")
    assert [x["path"] for x in rows] == expect, (rows, expect)
    assert {x["kind"] for x in rows} == {"tracked"}
    r = sb.tool(d, "check", "--index")
    assert r.returncode == 1 and b"pyc-tool ignore --untrack" in r.stdout, r.stdout
    assert b"weird name's.pyc" in r.stdout and b"native.pyd" not in r.stdout
    assert snapshot(d) == before, "check changed the repository"
    # What the fix says to do, done with git, makes the gate pass.
    sb.git(d, "rm", "-q", "--cached", "--", *expect)
    r = sb.tool(d, "check", "--index")
    assert r.returncode == 0 and b"no tracked bytecode" in r.stdout, r
    assert sb.tool(d, "check", "--index", "-q").stdout == b""


def case_index_conflict(sb):
    # An unmerged bytecode path has up to three index entries; it is reported once.
    d = sb.repo("conflict", {"a.py": "x\n", "c.pyc": b"base"})
    sb.git(d, "checkout", "-q", "-b", "other")
    write(d, {"c.pyc": b"other"})
    sb.git(d, "commit", "-q", "--no-verify", "-am", "other")
    sb.git(d, "checkout", "-q", "main")
    write(d, {"c.pyc": b"main"})
    sb.git(d, "commit", "-q", "--no-verify", "-am", "main")
    assert sb.git(d, "merge", "-q", "other", check=False).returncode != 0
    stages = sb.git(d, "ls-files", "-s", "c.pyc").stdout.decode().splitlines()
    assert len(stages) == 3, stages
    rows = json_lines(sb.tool(d, "check", "--index", "--json"), "index")
    assert rows == [{"path": "c.pyc", "kind": "conflicted", "old_path": None}], rows


def case_staged_default(sb):
    # No mode, no files: --staged. What `git diff --cached --name-status` calls A/M.
    d = sb.repo("staged", {"a.py": "x\n", "t.pyc": b"\x01"})
    write(d, {"t.pyc": b"\x02", "n.pyc": b"\x00", "b.py": "y\n"})
    sb.git(d, "add", "-A")
    oracle = sb.git(d, "diff", "--cached", "--name-status", "-M").stdout.decode().split("\n")
    oracle = sorted(tuple(l.split("\t")) for l in oracle if l)
    assert oracle == [("A", "b.py"), ("A", "n.pyc"), ("M", "t.pyc")], oracle
    want = [{"path": p, "kind": {"A": "added", "M": "modified"}[k], "old_path": None}
            for k, p in oracle if is_bytecode(p)]
    for args in ([], ["--staged"]):
        r = sb.tool(d, "check", "--json", *args)
        assert r.returncode == 1 and json_lines(r, "staged") == want, (args, r)
    r = sb.tool(d, "check")
    assert b"git rm --cached -- n.pyc t.pyc" in r.stdout, r.stdout
    sb.git(d, "rm", "-q", "--cached", "n.pyc", "t.pyc")
    r = sb.tool(d, "check")
    assert r.returncode == 0 and b"no bytecode staged" in r.stdout, r


def case_files(sb):
    d = sb.repo("files", TREE)
    names = [p for p in TREE] + ["missing/__pycache__/x.txt", "./rel.pyc", "/abs/dir/y.pyo",
                                 "__pycache__", "a.pycx", "apyc"]
    want = [p for p in names if is_bytecode(p)]
    r = sb.tool(d, "check", "--json", *names)
    assert r.returncode == 1, r
    rows = json_lines(r, "files")
    assert [x["path"] for x in rows] == want, (rows, want)
    assert {x["kind"] for x in rows} == {"named"}
    r = sb.tool(d, "check", "--", "a.py", "native.pyd", "pkg/__init__.py")
    assert r.returncode == 0, r
    # FILE mode judges names: it needs no repository.
    r = sb.tool(sb.root, "check", "x.pyc")
    assert r.returncode == 1 and b"git rm --cached -- x.pyc" in r.stdout, r
    assert sb.tool(sb.root, "check", "x.py").returncode == 0


def git_not_ignored(sb, d, paths):
    """The paths `git check-ignore --no-index` does not call ignored."""
    r = sb.git(d, "check-ignore", "--no-index", "--stdin", "-z", check=False,
               input="\0".join(paths).encode())
    ignored = set(r.stdout.decode().split("\0")) - {""}
    return [p for p in paths if p not in ignored]


def case_ignore_rule(sb):
    d = sb.repo("ignrule")
    r = sb.tool(d, "check", "--ignore-rule", "--json")
    probes = [x["path"] for x in json_lines(r, "ignore-rule")]
    # With no rules at all every probe is reported, and git agrees none is ignored.
    assert len(probes) >= 4 and git_not_ignored(sb, d, probes) == probes, probes
    assert any(p.endswith("__pycache__/") and "/" in p[:-1] for p in probes), probes
    assert any(p.endswith(".pyc") and "/" not in p for p in probes), probes
    r = sb.tool(d, "check", "--ignore-rule")
    assert r.returncode == 1 and b"pyc-tool ignore" in r.stdout, r
    states = [
        ("__pycache__/\n", None),               # the directories only
        ("*.py[co]\n", None),                    # the files only
        ("__pycache__/\n*.py[co]\n", None),      # both: clean
        ("__pycache__/\n*.py[co]\n!x.pyc\n", "!x.pyc"),
    ]
    for text, negation in states:
        write(d, {".gitignore": text})
        r = sb.tool(d, "check", "--ignore-rule", "--json")
        rows = [json.loads(line) for line in r.stdout.decode().splitlines()]
        negs = [x for x in rows if x["type"] == "negation"]
        r.stdout = b"".join(line + b"\n" for line in r.stdout.splitlines()
                            if b'"negation"' not in line)
        got = [x["path"] for x in json_lines(r, "ignore-rule")]
        assert got == git_not_ignored(sb, d, probes), (text, got)
        assert [x["rule"] for x in negs] == ([negation] if negation else []), negs
    assert sb.tool(d, "check", "--ignore-rule", "-q").returncode == 1   # !x.pyc
    # A developer's global excludes protect one person only: they do not pass the gate,
    # although git (for this user) then ignores everything.
    write(d, {".gitignore": "", "../home/.config/git/ignore": "__pycache__/\n*.py[co]\n"})
    assert git_not_ignored(sb, d, probes) == []
    r = sb.tool(d, "check", "--ignore-rule")
    assert r.returncode == 1, r


def fix_lines(r):
    """The advice under a human report: the lines after the last finding."""
    lines = r.stdout.decode().splitlines()
    return lines[max(i for i, l in enumerate(lines) if l.startswith("  ") and
                     l.split()[0] in ("added", "modified", "tracked", "named")) + 1:]


def case_already_ignored(sb):
    # `git add -f` past rules that already ignore bytecode: the fix is the git rm alone;
    # `pyc-tool ignore` would say there is nothing to do.
    d = sb.repo("forced", {"a.py": "x\n", ".gitignore": "__pycache__/\n*.py[co]\n"})
    write(d, {"f.pyc": b"\x00", "pkg/__pycache__/m.cpython-311.pyc": b"\x00"})
    paths = ["f.pyc", "pkg/__pycache__/m.cpython-311.pyc"]
    assert git_not_ignored(sb, d, paths) == []
    sb.git(d, "add", "-f", *paths)
    r = sb.tool(d, "ignore", "--dry-run")
    assert r.returncode == 0 and b"nothing to do" in r.stdout, r
    for args in ([], paths):
        r = sb.tool(d, "check", *args)
        fix = fix_lines(r)
        assert r.returncode == 1 and "  git rm --cached -- " + " ".join(paths) in fix, (args, fix)
        assert not any("pyc-tool ignore" in l for l in fix), (args, fix)
    sb.git(d, "commit", "-q", "--no-verify", "-m", "forced")
    fix = fix_lines(sb.tool(d, "check", "--index"))
    assert "  pyc-tool ignore --untrack" in fix and not any("ignore it" in l for l in fix), fix
    # The same bytecode in a repository without the rules: both steps are advised.
    write(d, {".gitignore": ""})
    fix = fix_lines(sb.tool(d, "check", *paths))
    assert "  git rm --cached -- " + " ".join(paths) in fix and "  pyc-tool ignore" in fix, fix
    fix = fix_lines(sb.tool(d, "check", "--index"))
    assert any("make git ignore it" in l for l in fix), fix


def case_errors(sb):
    d = sb.repo("errors")
    for args in (["--staged", "--index"], ["--index", "x.pyc"], ["--bogus"],
                 ["--json", "-q"]):
        r = sb.tool(d, "check", *args)
        assert r.returncode == 2 and b"--help" in r.stderr, (args, r.returncode, r.stderr)
    bare = os.path.join(sb.root, "bare.git")
    sb.git(sb.root, "init", "-q", "--bare", bare)
    for mode in ("--staged", "--index"):
        r = sb.tool(bare, "check", mode)
        assert r.returncode == 3 and b"bare repository" in r.stderr, r
    outside = os.path.join(sb.root, "outside")
    os.makedirs(outside)
    env = sb.env(GIT_CEILING_DIRECTORIES=sb.root)
    r = sb.tool(outside, "check", env=env)
    assert sb.git(outside, "rev-parse", check=False, env=env).returncode != 0
    assert r.returncode == 3 and r.stdout == b"", r
    assert r.stderr.startswith(b"pyc-tool check: error: "), r.stderr
    r = sb.tool(d, "check", "--help")
    assert r.returncode == 0 and b"--ignore-rule" in r.stdout


CASES = [case_index, case_index_conflict, case_staged_default, case_files, case_ignore_rule,
         case_already_ignored, case_errors]


def in_sandbox(fn, tmp):
    return fn(Sandbox(tmp, fn.__name__[5:]))


def main():
    suite = Suite("git_check")
    if not GIT:
        suite.skip("git is not installed")
        suite.finish()
    suite.parallel([(fn.__name__[5:], in_sandbox, fn, suite.tmp) for fn in CASES])
    suite.finish()


if __name__ == "__main__":
    main()
