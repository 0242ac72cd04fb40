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
import atexit
import glob
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback

TOOL = os.environ.get("PYC_TOOL") or shutil.which("pyc-tool")


def tmpfs_dir(room=512 << 20):
    """/dev/shm when it is writable with `room` bytes free, else None. The suite makes and
    removes hundreds of thousands of files; on a long-used ext4 disk, allocating their
    inodes cost a third of its CPU time (docs/testing.md, "Time")."""
    try:
        st = os.statvfs("/dev/shm")
        if st.f_bavail * st.f_frsize >= room and os.access("/dev/shm", os.W_OK):
            return "/dev/shm"
    except OSError:
        pass
    return None

SOURCE_DIR = os.environ.get("PYC_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


_stores = []


def fresh_store():
    """A compile cache no run has used yet (removed when the test process exits)."""
    if not _stores:
        _stores.append(tempfile.mkdtemp(prefix="pyc-e2e-stores-"))
        atexit.register(shutil.rmtree, _stores[0], True)
    _stores.append(os.path.join(_stores[0], str(len(_stores))))
    return _stores[-1]


def clean_env(**extra):
    """A child environment: no PYTHONDONTWRITEBYTECODE, fixed hash seed, no user git config,
    and a compile cache of its own (PYC_TOOL_CACHE_DIR), empty: a test sees compile's cold
    behaviour unless it runs twice with the same environment or passes its own store,
    whatever ran before on this machine."""
    env = dict(os.environ)
    for k in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX", "PYTHONOPTIMIZE",
              "PYTHONSTARTUP", "SOURCE_DATE_EPOCH", "PYTHONPATH", "PYTHONHOME"):
        env.pop(k, None)
    env["PYTHONHASHSEED"] = "0"
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    env["PYC_TOOL_CACHE_DIR"] = fresh_store()
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


def pyenv_root():
    """pyenv's root: `pyenv root`, else $PYENV_ROOT, else ~/.pyenv of the real user (CTest
    gives tests their own HOME); None when there is no such directory. testutil.c's
    tu_pyenv_root() looks in the same places."""
    root = None
    env_root = os.environ.get("PYENV_ROOT")
    if env_root:
        # What `pyenv root` prints when PYENV_ROOT is set (libexec/pyenv strips one
        # trailing slash), without a bash and pyenv at every script's start.
        root = env_root[:-1] if env_root.endswith("/") else env_root
    try:
        r = None if root else subprocess.run(["pyenv", "root"], capture_output=True, text=True)
        if r is not None and r.returncode == 0:
            root = r.stdout.strip()
    except OSError:
        pass
    if not root:
        root = os.environ.get("PYENV_ROOT")
    if not root:
        try:
            root = os.path.join(pwd.getpwuid(os.getuid()).pw_dir, ".pyenv")
        except KeyError:
            return None
    return root if os.path.isdir(root) else None


def _candidates():
    seen = []
    root = pyenv_root()
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
    # pyenv's shim selects one of the versions above (or the system's) and takes a quarter
    # of a second to start.
    if w and not (root and w.startswith(os.path.join(root, "shims") + os.sep)):
        seen.append(w)
    return seen


def _identity(exe):
    st = os.stat(exe)
    return [os.path.realpath(exe), st.st_ino, st.st_size, st.st_mtime_ns]


def _probe(exe, known):
    """Interp for exe: from `known` (the last answers, by path) while the binary is the same
    file, else by running it."""
    try:
        ident = _identity(exe)
    except OSError:
        return None
    hit = known.get(exe)
    out = hit["out"] if hit and hit["identity"] == ident else None
    if out is None:
        try:
            r = subprocess.run([exe, "-c", _PROBE], capture_output=True, text=True,
                               env=clean_env(), timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if r.returncode != 0:
            return None
        out = r.stdout
    known[exe] = {"identity": ident, "out": out}
    ver, tag, magic = out.split()
    v = tuple(int(x) for x in ver.split("."))
    return Interp(exe, v, None if tag == "None" else tag, bytes.fromhex(magic))


def _known_file():
    """Where the e2e scripts share their probe answers: every script asks the same binaries
    (CTest gives the tests a HOME in the build tree)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "pyc-e2e", "interpreters.json")


def _load_known():
    try:
        with open(_known_file()) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _save_known(known):
    path = _known_file()
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path))
        with os.fdopen(fd, "w") as f:
            json.dump(known, f)
        os.replace(tmp, path)
    except OSError:
        pass


def interpreters(min_version=(2, 7), max_version=(3, 99)):
    """One CPython per minor version, sorted; the first found for a version wins
    (pyenv before /usr/bin). Each binary is asked once, all at the same time, and its answer
    kept for the next script until the binary changes."""
    global _cache
    if _cache is None:
        exes, reals = [], set()
        for exe in _candidates():
            real = os.path.realpath(exe)
            if real not in reals:
                reals.add(real)
                exes.append(exe)
        found, known = {}, _load_known()
        before = json.dumps(known, sort_keys=True)
        for interp in thread_map(lambda exe: _probe(exe, known), exes, 8):
            if interp and interp.version[:2] not in found:
                found[interp.version[:2]] = interp
        if json.dumps(known, sort_keys=True) != before:
            _save_known(known)
        _cache = [found[k] for k in sorted(found)]
    return [i for i in _cache if min_version <= i.version[:2] <= max_version]


def thread_map(fn, items, jobs):
    """[fn(x) for x in items] computed on up to `jobs` threads, in order; the first
    exception raised is raised again. (concurrent.futures would cost every script the
    import of logging.)"""
    items = list(items)
    results = [None] * len(items)
    errors = []
    lock = threading.Lock()
    todo = iter(range(len(items)))

    def worker():
        while True:
            with lock:
                i = next(todo, None)
            if i is None:
                return
            try:
                results[i] = fn(items[i])
            except BaseException as e:  # noqa: B902 (re-raised in the caller's thread)
                errors.append(e)
    threads = [threading.Thread(target=worker) for _ in range(max(1, min(jobs, len(items))))]
    for t in threads[1:]:
        t.start()
    worker()
    for t in threads[1:]:
        t.join()
    if errors:
        raise errors[0]
    return results


def make_env_project(root, interp):
    """A project beside the environments `status` and `clean` skip by default, every source
    compiled by interp's compileall (which enters them all). .venv is a real virtual
    environment (interp -m venv); the others are their marks: conda-meta/, .tox, .nox,
    node_modules; .git is VCS metadata; Lib/venv is a package named venv. Returns (own,
    envs, vcs): the sets of cache paths relative to root, found on the file system, of
    the project itself, of the 5 skipped directories, and of .git."""
    r = interp.run(["-m", "venv", "--without-pip", os.path.join(root, ".venv")])
    if r.returncode != 0:
        raise SkipCase("%s -m venv failed: %s" % (interp.short, r.stderr.strip()[-200:]))
    site = glob.glob(os.path.join(root, ".venv", "lib", "python*", "site-packages"))
    assert len(site) == 1, site
    files = ["pkg/__init__.py", "pkg/a.py", "pkg/sub/b.py", "Lib/venv/__init__.py",
             os.path.relpath(os.path.join(site[0], "dep", "__init__.py"), root),
             "envs/conda1/conda-meta/history", "envs/conda1/lib/c.py", ".tox/py3/t.py",
             ".nox/n/n.py", "node_modules/gyp/gyp.py", ".git/hooks/h.py"]
    for f in files:
        os.makedirs(os.path.dirname(os.path.join(root, f)), exist_ok=True)
        with open(os.path.join(root, f), "w") as fh:
            fh.write("x = 1\n")
    r = interp.run(["-m", "compileall", "-q", root], env=clean_env())
    assert r.returncode == 0, r.stdout + r.stderr
    own, envs, vcs = set(), set(), set()
    for d, _, names in os.walk(root):
        for n in names:
            if n.endswith(".pyc"):
                rel = os.path.relpath(os.path.join(d, n), root)
                top = rel.split(os.sep)[0]
                (vcs if top == ".git" else own if top in ("pkg", "Lib") else envs).add(rel)
    assert len(own) == 4 and len(envs) == 5 and len(vcs) == 1, (own, envs, vcs)
    return own, envs, vcs


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
    """Collects named checks; `with suite.case("name"):` records pass/fail/skip, and
    suite.parallel(...) runs independent checks at once."""

    def __init__(self, name):
        self.name = name
        self.passed = self.failed = self.skipped = 0
        # The test's temporary directories and those of what it runs (pyc-tool, the
        # interpreters) go to the tmpfs, unless the caller chose a TMPDIR.
        if not os.environ.get("TMPDIR") and tmpfs_dir():
            os.environ["TMPDIR"] = tempfile.tempdir = tmpfs_dir()
        self.tmp = tempfile.mkdtemp(prefix="pyc-e2e-%s-" % name)

    def skip(self, why):
        print("SKIP: %s" % why, flush=True)
        self.skipped += 1

    def record(self, name, exc_info, seconds=None, note=None):
        """Count and print one check's outcome; exc_info is (type, value, traceback) or Nones."""
        et, ev, tb = exc_info
        took = "" if seconds is None else " (%.1f s)" % seconds
        if et is None:
            self.passed += 1
            print("ok   %s%s" % (name, took), flush=True)
            if note:
                print("     (%s)" % note, flush=True)
        elif issubclass(et, SkipCase):
            self.skipped += 1
            print("SKIP: %s: %s" % (name, ev), flush=True)
        else:
            self.failed += 1
            print("FAIL %s%s" % (name, took), flush=True)
            traceback.print_exception(et, ev, tb, file=sys.stdout)
            sys.stdout.flush()

    def case(self, name):
        suite = self

        class _Case:
            def __enter__(self):
                self.t0 = time.time()
                self.c0 = _cpu()
                return self

            def __exit__(self, et, ev, tb):
                if os.environ.get("PYC_E2E_CPU"):
                    print("CPU %.2f %s" % (_cpu() - self.c0, name), flush=True)
                suite.record(name, (et, ev, tb), time.time() - self.t0)
                return True
        return _Case()

    def parallel(self, checks, jobs=None):
        """Run checks [(name, fn, *args)] on JOBS threads (default: one per core; the work
        is in child processes) and record them in the given order. They must not share
        files or change the process (cwd, os.environ). A string returned is printed as a
        note."""
        def run(check):
            t0, c0 = time.time(), _cpu()
            try:
                return check[1](*check[2:]), (None, None, None), time.time() - t0
            except BaseException:
                return None, sys.exc_info(), time.time() - t0
            finally:
                if os.environ.get("PYC_E2E_CPU"):
                    print("CPU %.2f %s" % (_cpu() - c0, check[0]), flush=True)
        jobs = jobs or int(os.environ.get("PYC_E2E_JOBS", 0)) or os.cpu_count() or 1
        for check, (note, exc, took) in zip(checks, thread_map(run, checks, jobs)):
            self.record(check[0], exc, took, note if isinstance(note, str) else None)

    def finish(self):
        shutil.rmtree(self.tmp, ignore_errors=True)
        print("%d passed, %d failed, %d skipped" % (self.passed, self.failed, self.skipped))
        if self.failed:
            sys.exit(1)
        if self.passed == 0:
            sys.exit(77)
        sys.exit(0)


def _cpu():
    """CPU seconds (user + system) of this script and its waited-for children so far: with
    PYC_E2E_CPU=1 each check prints what it cost (exact with PYC_E2E_JOBS=1)."""
    import resource
    a = resource.getrusage(resource.RUSAGE_SELF)
    b = resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


class SkipCase(Exception):
    pass

def make_wrapper(interp, vdir):
    """A --python that logs "started PID" for each start (exec keeps the PID the
    interpreter's), then runs the real interpreter. It execs a symlink to it, so that the
    script never names a pyenv path: pyc-tool launches what looks like a pyenv shim's
    target directly, and would then bypass the wrapper for its workers."""
    log = os.path.join(vdir, "starts.log")
    real = os.path.join(vdir, "python%s-real" % interp.short)
    path = os.path.join(vdir, "python%s-wrapper" % interp.short)
    os.symlink(interp.exe, real)
    with open(path, "w") as f:
        f.write("#!/bin/sh\necho \"started $$\" >> '%s'\nexec '%s' \"$@\"\n" % (log, real))
    os.chmod(path, 0o755)
    return path, log
