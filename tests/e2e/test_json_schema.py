"""Every command's --json against its published schema (docs/schema/<command>.schema.json).

Each command that has --json (found from `pyc-tool --help` and each `COMMAND --help`, so a
new command cannot slip by) must have a schema, and is run for real in every mode it has:
clean and dirty trees, errors, dry runs, git repositories. Each line must be one JSON
object valid under the schema (strict: additionalProperties false, enums), and each stream
must end with its `summary` record (docs/cli.md "JSON output"). Then the findings of issue
13, each checked on its own: inspect's records have a type and a summary; an orphan's
reason is null in status and in clean; an error is the same record, with the stderr
line's text, in status, clean, inspect and compile; ignore --check's summary has the keys
of ignore's; check's negation record has ignore's `overridden`.

The schemas are read with python3-jsonschema (Debian's 4.10 has draft-07); without it the
script cannot say anything and exits 77 (skipped).
"""
import glob
import json
import os
import re
import subprocess
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyc_e2e as E  # noqa: E402

SCHEMA_DIR = os.path.join(E.SOURCE_DIR, "docs", "schema")


def load_validators():
    """{command: validator}, with the schemas' $refs (defs.schema.json) resolved locally."""
    import jsonschema
    schemas = {}
    for path in glob.glob(os.path.join(SCHEMA_DIR, "*.schema.json")):
        with open(path) as f:
            schemas[os.path.basename(path)[:-len(".schema.json")]] = json.load(f)
    store = {s["$id"]: s for s in schemas.values()}
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)   # RefResolver, gone in 5.x
        for name, s in schemas.items():
            cls = jsonschema.validators.validator_for(s)
            cls.check_schema(s)
            if name != "defs":
                out[name] = cls(s, resolver=jsonschema.RefResolver.from_schema(s, store=store))
    return out


def json_commands():
    """The commands whose --help offers --json."""
    top = E.run_tool(["--help"], check_rc=0).stdout.decode()
    names = re.findall(r"^  ([a-z]+)  ", top.split("commands:", 1)[1], re.M)
    assert len(names) >= 8, top
    return [n for n in names
            if "--json" in E.run_tool([n, "--help"]).stdout.decode(errors="replace")]


class Checker:
    """Validates streams and remembers which commands and record types it saw."""

    def __init__(self, validators):
        self.validators = validators
        self.seen = {}

    def stream(self, cmd, r, rc=None):
        if rc is not None:
            assert r.returncode in ((rc,) if isinstance(rc, int) else rc), (
                cmd, r.returncode, r.stdout, r.stderr)
        lines = r.stdout.decode("utf-8", "surrogateescape").splitlines()
        assert lines, (cmd, "no output", r.stderr)
        recs = [json.loads(line) for line in lines]
        v = self.validators[cmd]
        for rec in recs:
            errors = sorted(v.iter_errors(rec), key=lambda e: list(e.path))
            assert not errors, "%s: %s\n%s" % (cmd, json.dumps(rec), "\n".join(
                "  %s: %s" % (list(e.path), e.message) for e in errors[:5]))
            self.seen.setdefault(cmd, set()).add(rec["type"])
        assert recs[-1]["type"] == "summary", (cmd, recs[-1])
        if cmd != "compile":   # compile: one summary per --python
            assert [x["type"] for x in recs].count("summary") == 1, (cmd, recs)
        return recs

    def run(self, cmd, args, cwd=None, rc=None, env=None):
        return self.stream(cmd, E.run_tool([cmd, "--json"] + args, cwd=cwd, env=env), rc)


ERROR_LINE = re.compile(r"^pyc-tool [a-z]+: error: ")


def stderr_errors(r):
    """The text of each error line (pyc-tool CMD: error: TEXT) on stderr."""
    return [ERROR_LINE.sub("", l) for l in
            r.stderr.decode("utf-8", "surrogateescape").splitlines() if ERROR_LINE.match(l)]


def write(path, data=b"x = 1\n"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def py_compile(py, sources, legacy=()):
    """py_compile.compile each of `sources` to its cache and each of `legacy` to the
    legacy file beside it, in one interpreter process."""
    code = ("import py_compile, sys\n"
            "for s in sys.argv[1:]:\n"
            "    kind, s = s[0], s[1:]\n"
            "    py_compile.compile(s, cfile=(s + 'c') if kind == 'L' else None,"
            " doraise=True)\n")
    args = ["S" + s for s in sources] + ["L" + s for s in legacy]
    subprocess.run([py, "-c", code] + args, check=True, env=E.clean_env())


def dirty_tree(root, py):
    """Every kind of record status and clean can write: fresh, stale, orphan, bad-name,
    sourceless, corrupt, a temporary file, a foreign file, a FIFO named like a cache, and
    a name that is not UTF-8."""
    return dirty_trees([root], py)


def dirty_trees(roots, py):
    """dirty_tree for each of `roots`, their sources compiled by one interpreter process."""
    sources, legacy = [], []
    for root in roots:
        for name in ("fresh.py", "stale.py", "gone.py",
                     b"odd\xff.py".decode("utf-8", "surrogateescape"), "legacy.py"):
            write(os.path.join(root, "pkg", name))
        sources += [os.path.join(root, "pkg", n) for n in os.listdir(os.path.join(root, "pkg"))]
        legacy.append(os.path.join(root, "pkg", "legacy.py"))
    py_compile(py, sources, legacy)
    for root in roots:
        tag = spoil(root)
    return tag


def spoil(root):
    """dirty_tree's changes to a compiled tree; returns the cache tag."""
    os.remove(os.path.join(root, "pkg", "legacy.py"))           # sourceless legacy.pyc
    os.remove(os.path.join(root, "pkg", "gone.py"))             # orphan
    write(os.path.join(root, "pkg", "stale.py"), b"x = 22\n")   # stale (size)
    cache = os.path.join(root, "pkg", "__pycache__")
    tag = [n for n in os.listdir(cache) if n.startswith("fresh.")][0].split(".")[1]
    write(os.path.join(cache, "broken.%s.pyc" % tag), b"\x00")   # orphan, whatever it holds
    write(os.path.join(root, "pkg", "m.py"))
    write(os.path.join(cache, "m.%s.pyc" % tag), b"\x01\x02")   # corrupt (unknown magic)
    write(os.path.join(cache, "nodot.pyc"), b"\x00")            # orphan (bad-name)
    write(os.path.join(cache, "notes.txt"), b"foreign")
    write(os.path.join(cache, "fresh.%s.pyc.999999.0.tmp" % tag), b"")   # in use or not
    os.mkfifo(os.path.join(root, "pkg", "fifo.pyc"))
    return tag


def run_status(ck, base, py):
    root = os.path.join(base, "status")
    tag = dirty_tree(root, py)
    recs = ck.run("status", [root], rc=3)          # 3: the FIFO is an error
    ck.run("status", ["--all", "--tag", tag, "-o", "1", root], rc=3)
    ck.run("status", [os.path.join(root, "nonexistent")], rc=3)
    clean = os.path.join(base, "status-clean")
    write(os.path.join(clean, "a.py"))
    py_compile(py, [os.path.join(clean, "a.py")])
    assert [x["type"] for x in ck.run("status", [clean], rc=0)] == ["summary"]
    ck.run("status", ["--all", clean], rc=0)
    states = {x["state"] for x in recs if x["type"] == "cache"}
    assert states >= {"stale", "orphan", "sourceless", "corrupt"}, states


def run_inspect(ck, base, py):
    root = os.path.join(base, "inspect")
    dirty_tree(root, py)
    cache = os.path.join(root, "pkg", "__pycache__")
    files = sorted(glob.glob(os.path.join(cache, "*.pyc"))) + [
        os.path.join(root, "pkg", "legacy.pyc"), os.path.join(root, "pkg", "fresh.py"),
        os.path.join(root, "nonexistent.pyc"), os.path.join(root, "pkg", "fifo.pyc")]
    recs = ck.run("inspect", files, rc=3)
    assert [x["type"] for x in recs].count("cache") == len(files) - 3, recs
    ck.run("inspect", [sorted(glob.glob(os.path.join(cache, "fresh.*.pyc")))[0]], rc=0)


def run_clean(ck, base, py):
    runs = ((["-n"], 0), (["--stale", "-n"], 0), (["--orphans"], 0), ([], 0),
            (["--legacy", "--sourceless", "-n"], (0, 3)))
    roots = [os.path.join(base, "clean%d" % i) for i in range(len(runs))]
    dirty_trees(roots, py)
    for (args, rc), root in zip(runs, roots):
        ck.run("clean", args + [root], rc=rc)
    ck.run("clean", [os.path.join(base, "nonexistent")], rc=3)
    ck.run("clean", [root], rc=0)                   # nothing left but the FIFO's directory


def run_compile(ck, base, pythons):
    root = os.path.join(base, "compile")
    write(os.path.join(root, "a.py"))
    write(os.path.join(root, "b.py"))
    write(os.path.join(root, "bad.py"), b"def (:\n")
    exe = pythons[-1].exe
    for args, rc in ((["--dry-run"], 3), ([], 3), ([], 3), (["-f", "-o", "0", "-o", "1"], 3)):
        ck.run("compile", args + ["--python", exe, root, os.path.join(root, "nope")], rc=rc)
    os.remove(os.path.join(root, "bad.py"))
    ck.run("compile", ["--python", exe, root], rc=0)
    ck.run("compile", ["--python", exe, "-i", os.path.join(root, "nolist"), root], rc=1)
    if len(pythons) > 1:
        recs = ck.run("compile", ["-f"] + sum((["--python", p.exe] for p in pythons[-2:]), [])
                      + [root], rc=0)
        assert [x["python"] for x in recs if x["type"] == "summary"] == [
            p.tag for p in pythons[-2:]], recs


def run_cache(ck, base, py):
    """The compile cache's command on a store that compile filled: stats, prune, clear."""
    store = os.path.join(base, "store")
    root = os.path.join(base, "tree")
    write(os.path.join(root, "a.py"))
    write(os.path.join(root, "bad.py"), b"def (:\n")
    recs = ck.run("compile", ["--cache-dir", store, "--python", py, root], rc=1)
    assert {x["cache"] for x in recs if x["type"] == "file"} == {"miss"}, recs
    for action in (["stats"], ["prune", "--max-size", "1K"], ["stats"], ["clear"]):
        ck.run("cache", ["--cache-dir", store] + action, rc=0)


def git(repo, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com"] + list(args),
                   cwd=repo, check=True, capture_output=True, env=E.clean_env())


def run_git_commands(ck, base):
    repo = os.path.join(base, "repo")
    os.makedirs(repo)
    git(repo, "init", "-q")
    write(os.path.join(repo, "pkg", "__pycache__", "m.cpython-311.pyc"))
    write(os.path.join(repo, "old.pyc"))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "bytecode")
    write(os.path.join(repo, "new.pyc"))
    git(repo, "add", "new.pyc")
    ck.run("check", [], cwd=repo, rc=1)
    ck.run("check", ["--index"], cwd=repo, rc=1)
    ck.run("check", ["--ignore-rule"], cwd=repo, rc=1)
    ck.run("check", ["a.pyc", "b.py"], cwd=repo, rc=1)
    ck.run("check", ["b.py"], cwd=repo, rc=0)
    for args in (["--check"], ["--check", "--untrack"], ["--dry-run"], ["--dry-run", "--untrack"],
                 ["--exclude-file", "--dry-run"]):
        ck.run("ignore", args, cwd=repo, rc=(0, 1))
    write(os.path.join(repo, ".gitignore"), b"!keep.pyc\n")
    ck.run("ignore", ["--untrack"], cwd=repo, rc=0)
    ck.run("ignore", [], cwd=repo, rc=0)
    ck.run("ignore", ["--check", "--untrack"], cwd=repo, rc=0)
    ck.run("check", ["--ignore-rule"], cwd=repo, rc=(0, 1))
    git(repo, "add", "-A")
    ck.run("check", ["--index"], cwd=repo, rc=0)


def run_importtime(ck, base, pythons):
    py = [p for p in pythons if p.version[:2] >= (3, 8)]
    if not py:
        raise E.SkipCase("no Python 3.8+: importtime not run")
    write(os.path.join(base, "it", "itmod.py"), b"import json\n")
    ck.run("importtime", ["--python", py[-1].exe, "-n", "1", "--path",
                          os.path.join(base, "it"), "itmod"], rc=(0, 1))


# The findings of issue 13, each on its own.

def orphan_reason(ck, base, py):
    root = os.path.join(base, "orphan")
    write(os.path.join(root, "gone.py"))
    py_compile(py, [os.path.join(root, "gone.py")])
    os.remove(os.path.join(root, "gone.py"))
    st = [x for x in ck.run("status", [root], rc=1) if x["type"] == "cache"]
    cl = [x for x in ck.run("clean", ["--orphans", "-n", root], rc=0) if x["type"] == "would-remove" and x["kind"] == "file"]
    assert [(x["state"], x["reason"]) for x in st] == [("orphan", None)], st
    assert [(x["state"], x["reason"]) for x in cl] == [("orphan", None)], cl


def error_records(ck, base, py):
    """One shape, the stderr line's text, in every command that walks paths."""
    missing = os.path.join(base, "no-such-dir")
    got = {}
    for cmd, args in (("status", [missing]), ("clean", [missing]),
                      ("inspect", [missing + ".pyc"]), ("compile", ["--python", py, missing])):
        r = E.run_tool([cmd, "--json"] + args)
        errs = [x for x in ck.stream(cmd, r) if x["type"] == "error"]
        assert len(errs) == 1 and errs[0]["path"] in (missing, missing + ".pyc"), (cmd, errs)
        assert stderr_errors(r) == [errs[0]["error"]], (cmd, errs, r.stderr)
        assert r.returncode != 0, (cmd, r.returncode)
        got[cmd] = set(errs[0]) - {"python"}
    assert all(keys == {"type", "path", "error"} for keys in got.values()), got


def inspect_records(ck, base, py):
    root = os.path.join(base, "insp")
    write(os.path.join(root, "a.py"))
    py_compile(py, [os.path.join(root, "a.py")])
    pyc = glob.glob(os.path.join(root, "__pycache__", "*.pyc"))[0]
    recs = ck.run("inspect", [pyc, pyc], rc=0)
    assert [x["type"] for x in recs] == ["cache", "cache", "summary"], recs
    assert (recs[-1]["caches"], recs[-1]["fresh"], recs[-1]["errors"]) == (2, 2, 0), recs


def ignore_check_keys(ck, base):
    repo = os.path.join(base, "keys")
    os.makedirs(repo)
    git(repo, "init", "-q")
    write(os.path.join(repo, ".gitignore"), b"__pycache__/\n*.py[co]\n!keep.pyc\n")
    check = ck.run("ignore", ["--check"], cwd=repo, rc=0)
    plain = ck.run("ignore", ["--dry-run"], cwd=repo, rc=0)
    assert set(check[-1]) == set(plain[-1]), (check[-1], plain[-1])
    assert check[-1]["dry_run"] is True and check[-1]["tracked"] is None, check[-1]
    negs = [x for x in check if x["type"] == "negation"]
    gate = [x for x in ck.run("check", ["--ignore-rule"], cwd=repo, rc=(0, 1))
            if x["type"] == "negation"]
    assert negs and gate and set(negs[0]) == set(gate[0]), (negs, gate)


def main():
    suite = E.Suite("json_schema")
    try:
        validators = load_validators()
    except ImportError:
        print("SKIP: python3-jsonschema is not installed: nothing can be validated")
        sys.exit(77)
    ck = Checker(validators)
    pythons = E.interpreters(min_version=(3, 6))
    py = pythons[-1].exe if pythons else None
    with suite.case("every command with --json has a schema"):
        cmds = json_commands()
        missing = [c for c in cmds if c not in validators]
        assert not missing, "no docs/schema/<command>.schema.json for %s" % missing
        assert set(validators) <= set(cmds), set(validators) - set(cmds)
    if not py:
        suite.skip("no CPython 3.6+: the trees cannot be compiled")
        suite.finish()
    base = suite.tmp
    checks = [
        ("status: dirty, clean, --all, target, errors", run_status, ck, base, py),
        ("inspect: every kind of file, errors", run_inspect, ck, base, py),
        ("clean: -n, --stale, --orphans, --legacy, errors", run_clean, ck, base, py),
        ("compile: --dry-run, failures, missing path, -i error, two --python", run_compile,
         ck, base, pythons),
        ("check and ignore in a git repository, every mode", run_git_commands, ck, base),
        ("importtime", run_importtime, ck, base, pythons),
        ("cache: stats, prune, clear of a store compile filled", run_cache, ck, base, py),
        ("an orphan's reason is null in status and clean", orphan_reason, ck, base, py),
        ("an error is the same record in status, clean, inspect, compile", error_records,
         ck, base, py),
        ("inspect: typed records and a summary", inspect_records, ck, base, py),
        ("ignore --check: the summary keys of ignore; check's negation has 'overridden'",
         ignore_check_keys, ck, base),
    ]
    for check in checks:
        d = os.path.join(base, check[0].split(":")[0].split(" ")[0] + str(checks.index(check)))
        os.makedirs(d)
        with suite.case(check[0]):
            check[1](*[d if a is base else a for a in check[2:]])
    unrun = sorted(set(validators) - set(ck.seen) - {"importtime"})
    if unrun:   # a command newer than this script: its schema is there, its runs are not
        suite.skip("no run of %s here: add one to this script" % ", ".join(unrun))
    with suite.case("every record type of status, clean, compile and inspect seen"):
        for cmd in ("status", "clean", "compile", "inspect"):
            types = {d["properties"]["type"]["const"] for d in
                     validators[cmd].schema["definitions"].values() if "properties" in d}
            types |= {"error"}
            assert ck.seen[cmd] >= types, (cmd, ck.seen[cmd], types)
    suite.finish()


if __name__ == "__main__":
    main()
