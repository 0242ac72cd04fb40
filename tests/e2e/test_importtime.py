"""`pyc-tool importtime` against the real interpreters: isolation, the scenarios, outputs.

A scratch project `app` gets caches from the interpreter's own compileall, then one
source is changed (its cache turns stale) and one cache is deleted (missing). Then:
  - isolation: the project, its __pycache__ and the standard library's caches of the
    imported modules are byte-identical (content, mtime) before and after, and the
    temporary directory (TMPDIR) is empty again;
  - the scenarios really differ, by the interpreter's own -v import trace of each
    warm-up: "no caches" reads no pyc at all, "all fresh" compiles nothing, "as it is"
    compiles exactly what is stale or missing (and names those two);
  - the fix command it prints really makes "as it is" all fresh;
  - --json validates against docs/schema/importtime.schema.json (python3-jsonschema,
    skipped when absent), --svg is well-formed XML (xmllint, skipped when absent) that
    names the modules;
  - 3.7 (no pycache prefix) reports the last two scenarios unavailable; errors.
Few runs (-n 1 or 2) and small module sets: this is a behaviour test, not a benchmark
(that is tests/bench/bench_importtime.sh).
"""
import json
import os
import shlex
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyc_e2e  # noqa: E402
from pyc_e2e import run_tool  # noqa: E402

SCHEMA = os.path.join(pyc_e2e.SOURCE_DIR, "docs", "schema", "importtime.schema.json")


def make_project(suite, interp):
    """(the project, the standard library's cache directory of json)."""
    proj = os.path.join(suite.tmp, "proj-%s" % interp.short)
    app = os.path.join(proj, "app")
    os.makedirs(app)
    files = {
        "__init__.py": "from app import a, b, c\n",
        "a.py": "import json\nA = 1\n",
        "b.py": "B = 2\n",
        "c.py": "C = [i * i for i in range(10)]\n",
    }
    for name, text in files.items():
        with open(os.path.join(app, name), "w") as f:
            f.write(text)
    # The standard library's cache directory of json (watched for changes), then what
    # `-m compileall -q app` runs, in one process.
    r = interp.run(["-c", "import json, os, runpy, sys\n"
                    "print(os.path.join(os.path.dirname(json.__file__), '__pycache__'))\n"
                    "sys.stdout.flush()\n"
                    "sys.argv[:] = ['compileall', '-q', %r]\n"
                    "runpy.run_module('compileall', run_name='__main__', alter_sys=True)\n" % app],
                   check=True)
    with open(os.path.join(app, "b.py"), "a") as f:
        f.write("B2 = 3\n")
    os.utime(os.path.join(app, "b.py"), (1700000000, 1700000000))
    c_cache = os.path.join(app, "__pycache__", "c.%s.pyc" % interp.tag)
    os.unlink(c_cache)
    return proj, r.stdout.decode().strip()


def snapshot(*roots):
    """path -> (bytes, mtime_ns) for every file under roots, symlinks not followed."""
    out = {}
    for root in roots:
        for d, dirs, files in os.walk(root):
            for name in dirs + files:
                p = os.path.join(d, name)
                st = os.lstat(p)
                data = None
                if os.path.isfile(p) and not os.path.islink(p):
                    with open(p, "rb") as f:
                        data = f.read()
                out[p] = (data, st.st_mtime_ns)
    return out


def tool_env(suite, tmpdir):
    os.makedirs(tmpdir, exist_ok=True)
    # As in the user's shell: imports would write caches if we let them.
    return pyc_e2e.clean_env(TMPDIR=tmpdir, PYC_TOOL_NO_PROBE_CACHE="1",
                             XDG_CACHE_HOME=os.path.join(suite.tmp, "xdg"))


def records(stdout):
    recs = [json.loads(line) for line in stdout.decode().splitlines()]
    assert recs and recs[-1]["type"] == "summary", recs
    return recs


def validate(recs):
    try:
        import jsonschema
    except ImportError:
        raise pyc_e2e.SkipCase("python3-jsonschema is not installed: JSON not validated")
    with open(SCHEMA) as f:
        schema = json.load(f)
    for rec in recs:
        jsonschema.validate(rec, schema)


def check_svg(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for name in ("app.a", "app.b", "json", "as it is", "no caches", "all fresh"):
        assert name in text, name
    if not shutil.which("xmllint"):
        raise pyc_e2e.SkipCase("xmllint (libxml2-utils) is not installed: SVG not checked")
    subprocess.run(["xmllint", "--noout", path], check=True)


def check_scenarios(suite, interp, runs):
    proj, stdlib_caches = make_project(suite, interp)
    tmpdir = os.path.join(suite.tmp, "tmp-%s" % interp.short)
    env = tool_env(suite, tmpdir)
    svg = os.path.join(suite.tmp, "chart-%s.svg" % interp.short)
    watched = (proj, stdlib_caches)
    before = snapshot(*watched)
    r = run_tool(["importtime", "--python", interp.exe, "-n", str(runs), "--top", "0", "--path", proj,
                  "--json", "--svg", svg, "app", "json"], cwd=suite.tmp, env=env, check_rc=1)
    assert snapshot(*watched) == before, "the project or the stdlib caches changed"
    assert os.listdir(tmpdir) == [], os.listdir(tmpdir)
    recs = records(r.stdout)
    sc = {x["scenario"]: x for x in recs if x["type"] == "scenario"}
    assert sc["no-caches"]["from_pyc"] == 0 and sc["no-caches"]["compiled"] >= 5, sc
    assert sc["all-fresh"]["compiled"] == 0 and sc["all-fresh"]["from_pyc"] >= 5, sc
    # json's caches are the installation's; app/__init__ and a are fresh, b and c not.
    assert sc["as-is"]["compiled"] == 2, sc
    # Every module some scenario loads from source is loaded from a pyc in "all fresh".
    assert (sc["all-fresh"]["from_pyc"] == sc["no-caches"]["compiled"]
            == sc["as-is"]["from_pyc"] + sc["as-is"]["compiled"]), sc
    assert all(x["runs"] == runs for x in sc.values()), sc
    bad = {x["module"]: x for x in recs if x["type"] == "cache"}
    assert set(bad) == {"app.b", "app.c"}, bad
    assert bad["app.b"]["state"] == "stale" and bad["app.c"]["state"] == "missing", bad
    assert all(isinstance(x["cost_ms"], float) for x in bad.values()), bad
    mods = {x["name"] for x in recs if x["type"] == "module"}
    assert {"app", "app.a", "app.b", "app.c", "json"} <= mods, mods
    summary = recs[-1]
    assert summary["prefix_scope"] == "all-modules" and summary["stale"] == 1, summary
    assert summary["disk"]["fresh_files"] == summary["from_source"], summary
    try:
        validate(recs)
    finally:
        check_svg(svg)
    return proj, env, summary["fix"]


def check_fix(suite, interp, proj, env, fix):
    argv = shlex.split(fix)
    assert argv[:2] == ["pyc-tool", "compile"], argv
    subprocess.run([pyc_e2e.TOOL] + argv[1:], env=env, check=True, capture_output=True)
    r = run_tool(["importtime", "--python", interp.exe, "-n", "1", "--path", proj, "app"],
                 cwd=suite.tmp, env=env, check_rc=0)
    out = r.stdout.decode()
    assert "0 stale, 0 missing" in out and "fix:" not in out, out
    for label in ("as it is", "no caches", "all fresh", "top "):
        assert label in out, (label, out)
    assert "\033[" not in out, "colour without a terminal"


def check_37(suite, interp):
    proj = make_project(suite, interp)[0]
    tmpdir = os.path.join(suite.tmp, "tmp-37")
    before = snapshot(proj)
    r = run_tool(["importtime", "--python", interp.exe, "-n", "1", "--path", proj, "--json",
                  "app"], cwd=suite.tmp, env=tool_env(suite, tmpdir), check_rc=1)
    assert snapshot(proj) == before and os.listdir(tmpdir) == []
    recs = records(r.stdout)
    sc = {x["scenario"]: x for x in recs if x["type"] == "scenario"}
    assert sc["as-is"]["available"] and sc["as-is"]["compiled"] == 2, sc
    assert not sc["no-caches"]["available"] and not sc["all-fresh"]["available"], sc
    assert recs[-1]["prefix_scope"] is None and recs[-1]["saving"] is None
    validate(recs)


def check_errors(suite, interp):
    env = tool_env(suite, os.path.join(suite.tmp, "tmp-err"))
    r = run_tool(["importtime", "--python", interp.exe, "-n", "1", "no_such_module_x"],
                 cwd=suite.tmp, env=env, check_rc=3)
    assert b"no_such_module_x" in r.stderr, r.stderr
    run_tool(["importtime", "os;import shutil"], env=env, check_rc=2)
    run_tool(["importtime"], env=env, check_rc=2)
    run_tool(["importtime", "-n", "0", "json"], env=env, check_rc=2)
    r = run_tool(["importtime", "--path", os.path.join(suite.tmp, "absent"), "json"], env=env,
                 check_rc=3)
    assert b"absent" in r.stderr
    assert os.listdir(os.path.join(suite.tmp, "tmp-err")) == []


def main():
    suite = pyc_e2e.Suite("importtime")
    modern = pyc_e2e.interpreters(min_version=(3, 8))
    if not modern:
        suite.skip("no CPython 3.8+ found")
    # The newest and the oldest with a pycache prefix: enough to cover the -v traces.
    for interp in sorted({id(i): i for i in (modern[:1] + modern[-1:])}.values(),
                         key=lambda i: i.version):
        state = {}
        with suite.case("%s: isolation, scenarios differ, JSON schema, SVG" % interp.short):
            # Two rounds (interleaving) for the newest only: the suite must stay fast.
            state["fix"] = check_scenarios(suite, interp, 2 if interp is modern[-1] else 1)
        if "fix" in state:
            with suite.case("%s: the printed fix command makes 'as it is' fresh" % interp.short):
                check_fix(suite, interp, *state["fix"])
    old = pyc_e2e.interpreters(min_version=(3, 7), max_version=(3, 7))
    if old:
        with suite.case("3.7: no pycache prefix, only 'as it is'"):
            check_37(suite, old[0])
    else:
        suite.skip("3.7: not installed")
    if modern:
        with suite.case("errors: import failure, bad names, bad --path"):
            check_errors(suite, modern[-1])
    suite.finish()


if __name__ == "__main__":
    main()
