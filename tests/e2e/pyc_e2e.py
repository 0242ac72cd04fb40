"""Shared helpers for pyc-tool's end-to-end tests (stdlib only, runs on Debian's python3).

Each tests/e2e/test_*.py is one CTest entry. It uses:
  - interpreters(): every CPython it can find (pyenv versions, python3 on PATH,
    /usr/bin/python3*), one per minor version, as oracles;
  - run_tool(...): the pyc-tool under test ($PYC_TOOL);
  - Suite: counts checks, prints 'SKIP: ...' for absent oracles, and ends with the plain
    closing line 'N passed, N failed, N skipped'. Exit 0 all passed, 1 any failed,
    77 nothing ran because every oracle was absent (CTest SKIP_RETURN_CODE).

Environment traps handled here: PYTHONDONTWRITEBYTECODE is removed from the child
environment (imports must write caches where a test wants them) and PYTHONHASHSEED is
fixed to 0 for byte comparisons.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback

TOOL = os.environ.get("PYC_TOOL") or shutil.which("pyc-tool")
SOURCE_DIR = os.environ.get("PYC_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def clean_env(**extra):
    """A child environment: no PYTHONDONTWRITEBYTECODE, fixed hash seed, no user git config."""
    env = dict(os.environ)
    for k in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX", "PYTHONOPTIMIZE",
              "PYTHONSTARTUP", "SOURCE_DATE_EPOCH", "PYTHONPATH", "PYTHONHOME"):
        env.pop(k, None)
    env["PYTHONHASHSEED"] = "0"
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


class Interp:
    def __init__(self, exe, version, tag, magic):
        self.exe = exe
        self.version = version          # (major, minor, micro)
        self.tag = tag                  # 'cpython-312' or None (2.7)
        self.magic = magic              # bytes(4)

    @property
    def short(self):
        return "%d.%d" % self.version[:2]

    def __repr__(self):
        return "Interp(%s %s)" % (self.short, self.exe)

    def run(self, args, **kw):
        kw.setdefault("env", clean_env())
        kw.setdefault("capture_output", True)
        return subprocess.run([self.exe] + list(args), **kw)


_PROBE = (
    "import sys\n"
    "try:\n"
    "    import importlib.util as u; m = u.MAGIC_NUMBER; t = sys.implementation.cache_tag\n"
    "except Exception:\n"
    "    import imp; m = imp.get_magic(); t = None\n"
    "import binascii\n"
    "sys.stdout.write('%d.%d.%d %s %s' % (sys.version_info[0], sys.version_info[1],"
    " sys.version_info[2], t, binascii.hexlify(m).decode()))\n"
)

_cache = None


def _candidates():
    seen = []
    try:
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
    except OSError:
        root = os.path.expanduser("~/.pyenv")
    if root:
        for d in sorted(glob.glob(os.path.join(root, "versions", "*", "bin"))):
            for name in ("python3", "python2", "python"):
                p = os.path.join(d, name)
                if os.access(p, os.X_OK):
                    seen.append(p)
                    break
    for p in sorted(glob.glob("/usr/bin/python3.[0-9]*")) + ["/usr/bin/python3", "/usr/bin/python2.7"]:
        if re.search(r"python\d(\.\d+)?$", p) and os.access(p, os.X_OK):
            seen.append(p)
    w = shutil.which("python3")
    if w:
        seen.append(w)
    return seen


def interpreters(min_version=(2, 7), max_version=(3, 99)):
    """One CPython per minor version, sorted; the first found for a version wins
    (pyenv before /usr/bin)."""
    global _cache
    if _cache is None:
        found = {}
        for exe in _candidates():
            try:
                r = subprocess.run([exe, "-c", _PROBE], capture_output=True, text=True,
                                   env=clean_env(), timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                continue
            if r.returncode != 0:
                continue
            ver, tag, magic = r.stdout.split()
            v = tuple(int(x) for x in ver.split("."))
            if v[:2] not in found:
                found[v[:2]] = Interp(exe, v, None if tag == "None" else tag, bytes.fromhex(magic))
        _cache = [found[k] for k in sorted(found)]
    return [i for i in _cache if min_version <= i.version[:2] <= max_version]


def run_tool(args, cwd=None, env=None, input=None, check_rc=None):
    """Run pyc-tool; returns CompletedProcess with bytes stdout/stderr."""
    if not TOOL:
        raise RuntimeError("PYC_TOOL is not set and pyc-tool is not on PATH")
    r = subprocess.run([TOOL] + list(args), cwd=cwd, env=env or clean_env(), input=input,
                       capture_output=True)
    if check_rc is not None and r.returncode != check_rc:
        raise AssertionError("pyc-tool %s: exit %d, expected %d\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(map(str, args)), r.returncode, check_rc,
            r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")))
    return r


class Suite:
    """Collects named checks; `with suite.case("name"):` records pass/fail/skip."""

    def __init__(self, name):
        self.name = name
        self.passed = self.failed = self.skipped = 0
        self.tmp = tempfile.mkdtemp(prefix="pyc-e2e-%s-" % name)

    def skip(self, why):
        print("SKIP: %s" % why, flush=True)
        self.skipped += 1

    def case(self, name):
        suite = self

        class _Case:
            def __enter__(self):
                return self

            def __exit__(self, et, ev, tb):
                if et is None:
                    suite.passed += 1
                    print("ok   %s" % name, flush=True)
                elif et is SkipCase:
                    suite.skipped += 1
                    print("SKIP: %s: %s" % (name, ev), flush=True)
                else:
                    suite.failed += 1
                    print("FAIL %s" % name, flush=True)
                    traceback.print_exception(et, ev, tb, file=sys.stdout)
                return True
        return _Case()

    def finish(self):
        shutil.rmtree(self.tmp, ignore_errors=True)
        print("%d passed, %d failed, %d skipped" % (self.passed, self.failed, self.skipped))
        if self.failed:
            sys.exit(1)
        if self.passed == 0:
            sys.exit(77)
        sys.exit(0)


class SkipCase(Exception):
    pass
