"""`pyc-tool compile` with no FILE|DIR: the target's sys.path, against compileall's own.

With no path, compileall runs compile_path(): every sys.path entry at maxlevels 0,
skipping '' and '.'. To give the interpreter a sys.path the test controls without
compiling (and writing into) its standard library, a sitecustomize.py on PYTHONPATH
replaces sys.path with scratch directories and keeps the standard library importable
through a meta-path finder on the saved path. Both tools then see the same sys.path
(pyc-tool asks the interpreter for it), run from the same working directory (3.7+'s
`python -m` puts its full path first).

For every CPython 3.6+ found, two scenarios:
  - entries that compile, plus one that is missing and one that is a file: the same
    cache files as compileall, byte-identical for 3.11+, and the same exit status;
  - a syntax error in an early entry: compileall's `success and compile_dir(...)` skips
    every later entry, pyc-tool goes on (the documented difference): compileall's caches
    are a subset of pyc-tool's, the later entry is compiled only by pyc-tool, exit 1 both.
"""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pyc_e2e import Suite, SkipCase, clean_env, interpreters, run_tool  # noqa: E402

SITECUSTOMIZE = '''\
import sys
import importlib.machinery
_saved = list(sys.path)
class _SavedPath:
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if path is None:
            return importlib.machinery.PathFinder.find_spec(name, _saved)
        return None
sys.meta_path.append(_SavedPath)
sys.path[:] = %r
'''

FILES = {
    "A/a.py": "x = 1\n",
    "A/sub/deep.py": "y = 2\n",          # maxlevels 0: never compiled
    "B/bad.py": "def f(:\n    pass\n",
    "B/c.py": "z = {'p', 'q'}\n",
    "D/d.py": "w = 4\n",
    "cwd/here.py": "h = 5\n",             # compiled for 3.7+ (cwd is sys.path[0])
    "file.zip": "",
}

# setup() writes the tree twice, once per tool; a pinned mtime keeps the two runs'
# headers equal even when a second boundary falls between the writes.
SOURCE_MTIME = 1700000000


def setup(root, entries):
    shutil.rmtree(root, ignore_errors=True)
    for rel, text in FILES.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        os.utime(path, (SOURCE_MTIME, SOURCE_MTIME))
    os.makedirs(os.path.join(root, "site"))
    with open(os.path.join(root, "site", "sitecustomize.py"), "w") as f:
        f.write(SITECUSTOMIZE % [e if e in ("", ".") else os.path.join(root, e) for e in entries])


def caches(root):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames:
            if name.endswith(".pyc"):
                path = os.path.join(dirpath, name)
                with open(path, "rb") as f:
                    out[os.path.relpath(path, root)] = f.read()
    return out


def env_for(root):
    # PYTHONDONTWRITEBYTECODE keeps sitecustomize's own import from writing a cache;
    # neither compileall nor pyc-tool compile looks at it.
    return clean_env(PYTHONPATH=os.path.join(root, "site"), PYTHONDONTWRITEBYTECODE="1",
                     XDG_CACHE_HOME=root + "-xdg")


def run_both(suite, interp, entries, name):
    root = os.path.join(suite.tmp, "%s-%s" % (interp.short, name))
    setup(root, entries)
    env = env_for(root)
    ca = interp.run(["-m", "compileall", "-q"], cwd=os.path.join(root, "cwd"), env=env)
    want = caches(root)
    setup(root, entries)
    shutil.rmtree(root + "-xdg", ignore_errors=True)
    pt = run_tool(["compile", "-q", "--python", interp.exe], cwd=os.path.join(root, "cwd"),
                  env=env)
    got = caches(root)
    return ca, want, pt, got


def scenario_clean(suite, interp):
    ca, want, pt, got = run_both(suite, interp, ["", "A", "missing", "file.zip", "D"], "clean")
    assert want, "compileall compiled nothing: %r" % ca.stderr
    assert sorted(got) == sorted(want), (sorted(got), sorted(want))
    assert not any("deep" in k for k in got), "maxlevels 0 was not honoured"
    assert any(k.startswith("cwd/") for k in want) == (interp.version[:2] >= (3, 7))
    assert pt.returncode == ca.returncode == 0, (pt.returncode, ca.returncode, pt.stderr)
    if interp.version[:2] >= (3, 11):
        for k in want:
            assert got[k] == want[k], "%s differs" % k


def scenario_error(suite, interp):
    ca, want, pt, got = run_both(suite, interp, ["A", "B", "D"], "error")
    assert ca.returncode == 1 and pt.returncode == 1, (ca.returncode, pt.returncode)
    assert set(want) <= set(got), (sorted(want), sorted(got))
    later = [k for k in got if k.startswith("D/")]
    assert later and not any(k.startswith("D/") for k in want), (sorted(want), sorted(got))
    assert any(k.startswith("B/") and "c." in k for k in got), sorted(got)
    assert b"bad.py" in pt.stdout + pt.stderr, pt.stderr


def main():
    suite = Suite("compile_syspath")
    found = interpreters(min_version=(3, 6))
    if not found:
        suite.skip("no CPython 3.6+ found")
    checks = []
    for interp in found:
        checks += [("%s no path: sys.path like compileall" % interp.short, scenario_clean, suite,
                    interp),
                   ("%s no path: an error does not stop later entries" % interp.short,
                    scenario_error, suite, interp)]
    suite.parallel(checks)
    suite.finish()


if __name__ == "__main__":
    main()
