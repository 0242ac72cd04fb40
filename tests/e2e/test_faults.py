"""Faults, races and hostile trees for `compile` and `clean` (issue 9), end to end.

Each case is bounded (a few seconds) and deterministic in its verdict:

- a `__pycache__` (or a pycache-prefix mirror directory) that is a symlink to a directory
  outside the tree: compile refuses it with a one-line error and writes nothing there;
  compileall (the oracle for the setup) does write through it;
- --hardlink-dupes through the directory-relative writer: the same files and links as
  compileall;
- `__pycache__` swapped for a symlink to an outside directory in a loop while
  `compile -f -j2` runs: nothing written outside, no temporary file anywhere afterwards;
- the same swap while `clean` runs: the outside directory is intact;
- ENOSPC on a small tmpfs, a read-only file system (root only: mount): one error line per
  file, exit 1, no partial or temporary file;
- SIGINT, SIGTERM, SIGHUP to pyc-tool while a temporary file exists (strace holds the
  write): the process dies of that signal (the shell's 130/143/129), the temporary file
  and the workers are gone, every pyc present is the interpreter's own bytes;
- SIGKILL to pyc-tool in the same place: only valid pycs, and the temporary file it could
  not remove is reported by `status` and removed by `clean` once its writer is dead;
- (SIGKILL to a worker mid-compile: test_compile_faults.py, with check_valid.)

"Valid" is checked against the interpreter itself: each pyc must equal, byte for byte,
importlib's own timestamp pyc of compile() of its source.
"""
import concurrent.futures
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from pyc_e2e import TOOL, SkipCase, Suite, clean_env, interpreters  # noqa: E402

TEMP_RE = re.compile(r"\.pyc\.\d+(\.\d+\.tmp|\.link)?$")


def write(path, text, mtime=1700000000):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.utime(path, (mtime, mtime))


def make_tree(root, n=40, funcs=5, pkgs=("pkg",)):
    for p in pkgs:
        for i in range(n):
            body = "".join("def f%d(a):\n    return a + %d\n" % (k, k * i) for k in range(funcs))
            write(os.path.join(root, p, "m%03d.py" % i), "X = %d\n%s" % (i, body))


def files_under(root):
    out = []
    for dirpath, dirs, files in os.walk(root):
        out += [os.path.relpath(os.path.join(dirpath, f), root) for f in files]
    return sorted(out)


def temps_under(root):
    return [f for f in files_under(root) if TEMP_RE.search(f)]


def tool(args, env=None, timeout=120):
    r = subprocess.run([TOOL] + list(args), env=env or clean_env(), capture_output=True,
                       timeout=timeout)
    r.text = (r.stdout + r.stderr).decode(errors="replace")
    return r


VALIDATE = r"""
import importlib._bootstrap_external as E, os, sys
bad = []
n = 0
for root in sys.argv[1:]:
    for dirpath, dirs, files in os.walk(root):
        if os.path.basename(dirpath) != '__pycache__':
            continue
        for name in files:
            if not name.endswith('.pyc'):
                continue
            n += 1
            pyc = os.path.join(dirpath, name)
            src = os.path.join(os.path.dirname(dirpath), name.split('.')[0] + '.py')
            with open(src, 'rb') as f:
                data = f.read()
            st = os.stat(src)
            code = compile(data, src, 'exec', dont_inherit=True)
            want = E._code_to_timestamp_pyc(code, st.st_mtime, st.st_size)
            with open(pyc, 'rb') as f:
                if f.read() != bytes(want):
                    bad.append(pyc)
print(n, ' '.join(bad))
"""


def check_valid(interp, *roots):
    """Every pyc under roots equals the interpreter's own; returns how many there are."""
    r = subprocess.run([interp.exe, "-c", VALIDATE] + list(roots), env=clean_env(),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    n, _, bad = r.stdout.strip().partition(" ")
    assert not bad, "pycs that are not the interpreter's own bytes: %s" % bad
    return int(n)


# -- symlinked cache directories ---------------------------------------------------------

def case_symlinked_pycache(interp, d):
    """pkg/__pycache__ -> ../outside: compileall writes its pycs into outside/; pyc-tool
    refuses with one line naming the directory, writes nothing there, compiles the rest."""
    for who in ("compileall", "pyc-tool"):
        root = os.path.join(d, who)
        make_tree(root, n=3, pkgs=("pkg", "ok"))
        outside = os.path.join(root, "outside")
        os.makedirs(outside)
        os.symlink("../outside", os.path.join(root, "pkg", "__pycache__"))
        if who == "compileall":
            r = interp.run(["-m", "compileall", "-q", root])
            assert r.returncode == 0 and len(os.listdir(outside)) == 3, (
                "the setup is not what compileall follows: %s %s" % (os.listdir(outside), r))
            continue
        r = tool(["compile", "--python", interp.exe, root])
        assert os.listdir(outside) == [], "written outside the tree: %s" % os.listdir(outside)
        assert r.returncode == 1, "exit %d\n%s" % (r.returncode, r.text)
        lines = [l for l in r.text.splitlines() if "symlink" in l]
        assert len(lines) == 3 and all(os.path.join(root, "pkg", "__pycache__") in l
                                       for l in lines), r.text
        assert check_valid(interp, root) == 3, files_under(root)


def case_symlinked_prefix_mirror(interp, d):
    """Under PYTHONPYCACHEPREFIX the mirror directories are pyc-tool's to make: one that
    is a symlink to an outside directory is refused the same way."""
    if interp.version < (3, 8):
        raise SkipCase("sys.pycache_prefix needs 3.8+")
    root, prefix, outside = (os.path.join(d, n) for n in ("tree", "prefix", "outside"))
    make_tree(root, n=2)
    os.makedirs(outside)
    mirror_parent = prefix + os.path.dirname(os.path.abspath(root))
    os.makedirs(mirror_parent)
    os.symlink(outside, os.path.join(mirror_parent, "tree"))
    r = tool(["compile", "--python", interp.exe, root],
             env=clean_env(PYTHONPYCACHEPREFIX=prefix))
    assert files_under(outside) == [], "written outside: %s" % files_under(outside)
    assert r.returncode == 1 and "symlink" in r.text, "exit %d\n%s" % (r.returncode, r.text)
    # Without the link the same run writes the mirror (so the refusal was the link's).
    os.unlink(os.path.join(mirror_parent, "tree"))
    r = tool(["compile", "--python", interp.exe, root],
             env=clean_env(PYTHONPYCACHEPREFIX=prefix))
    mirror = files_under(os.path.join(mirror_parent, "tree"))
    assert r.returncode == 0 and len(mirror) == 2, (r.text, mirror)


def case_hardlink_dupes(interp, d):
    """-o 0 -o 1 --hardlink-dupes: the same bytes and the same links as compileall."""
    if interp.version < (3, 9):
        raise SkipCase("--hardlink-dupes needs 3.9+")
    got = {}
    root = os.path.join(d, "tree")   # one path for both: it is in the pycs
    for who in ("compileall", "pyc-tool"):
        shutil.rmtree(root, ignore_errors=True)
        make_tree(root, n=2)
        write(os.path.join(root, "pkg", "doc.py"), '"""doc"""\nassert 1\n')
        args = ["-o", "0", "-o", "1", "--hardlink-dupes", os.path.join(root, "pkg")]
        r = (interp.run(["-m", "compileall", "-q"] + args) if who == "compileall"
             else tool(["compile", "--python", interp.exe] + args))
        assert r.returncode == 0, r
        cache = os.path.join(root, "pkg", "__pycache__")
        snap = {}
        for name in sorted(os.listdir(cache)):
            st = os.stat(os.path.join(cache, name))
            with open(os.path.join(cache, name), "rb") as f:
                snap[name] = (f.read(), st.st_nlink)
        got[who] = snap
    assert got["pyc-tool"] == got["compileall"], "differs from compileall: %s" % sorted(
        k for k in got["compileall"] if got["pyc-tool"].get(k) != got["compileall"][k])


# -- races -------------------------------------------------------------------------------

class Swapper(threading.Thread):
    """Swap dir (a real directory) for a symlink to `target` and back, in a loop."""

    def __init__(self, dir, target):
        super().__init__(daemon=True)
        self.dir, self.target, self.aside = dir, target, dir + ".aside"
        self.stop = threading.Event()
        self.swaps = 0

    def run(self):
        while not self.stop.is_set():
            try:
                os.rename(self.dir, self.aside)
                os.symlink(self.target, self.dir)
                self.swaps += 1
                time.sleep(0.001)
                os.unlink(self.dir)
                os.rename(self.aside, self.dir)
            except OSError:
                self.restore()
            time.sleep(0.001)

    def restore(self):
        if os.path.islink(self.dir):
            os.unlink(self.dir)
        if os.path.isdir(self.aside):
            if os.path.isdir(self.dir):
                for n in os.listdir(self.aside):
                    os.replace(os.path.join(self.aside, n), os.path.join(self.dir, n))
                os.rmdir(self.aside)
            else:
                os.rename(self.aside, self.dir)

    def finish(self):
        self.stop.set()
        self.join()
        self.restore()


def case_compile_swap_race(interp, d, seconds=4.0):
    root, outside = os.path.join(d, "tree"), os.path.join(d, "outside")
    make_tree(root, n=150, funcs=2)
    os.makedirs(os.path.join(root, "pkg", "__pycache__"))
    os.makedirs(outside)
    sw = Swapper(os.path.join(root, "pkg", "__pycache__"), outside)
    sw.start()
    runs, t0 = 0, time.time()
    try:
        while time.time() - t0 < seconds:
            tool(["compile", "-q", "-f", "-j2", "--python", interp.exe, root])
            runs += 1
    finally:
        sw.finish()
    assert sw.swaps > 0 and runs > 0, (sw.swaps, runs)
    assert files_under(outside) == [], "%d files written outside the tree in %d runs: %s" % (
        len(files_under(outside)), runs, files_under(outside)[:5])
    assert temps_under(root) == [], "%d temporary files left in the tree: %s" % (
        len(temps_under(root)), temps_under(root)[:5])
    check_valid(interp, root)
    return "%d runs, %d swaps" % (runs, sw.swaps)


# clean's file-name system calls (%file: openat, unlinkat, newfstatat, ...) delayed by
# strace, longer than the Swapper's 1 ms in each state: every window between a check and
# the call that uses a name is wide enough for a swap to land in it.
WIDEN = ["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=%file",
         "-e", "inject=%file:delay_enter=1500"]
# With the bug reintroduced (the walker's O_NOFOLLOW dropped), widened runs caught it
# within 8 runs in 20 trials; plain runs needed up to 249 (4 s make about 280 on an idle
# machine, fewer under load).
WIDENED_RUNS = 40


def widens():
    try:
        strace_works()
        return True
    except SkipCase:
        return False


def case_clean_swap_race(interp, d, seconds=4.0):
    """pkg/__pycache__ swapped for a symlink to an outside directory full of caches while
    `clean` runs over and over: the outside directory stays exactly as it was. Under
    strace (WIDEN) WIDENED_RUNS runs; without it, plain runs for `seconds`."""
    prefix = WIDEN if widens() else None
    root, outside = os.path.join(d, "tree"), os.path.join(d, "outside")
    make_tree(root, n=60, funcs=1)
    os.makedirs(outside)
    victims = {}
    for i in range(60):
        name = "m%03d.%s.pyc" % (i, interp.tag)
        write(os.path.join(outside, name), "victim %d\n" % i)
        victims[name] = "victim %d\n" % i
    cache = os.path.join(root, "pkg", "__pycache__")
    runs, swaps, t0 = 0, 0, time.time()
    while runs < WIDENED_RUNS if prefix else time.time() - t0 < seconds:
        os.makedirs(cache, exist_ok=True)
        for i in range(60):
            with open(os.path.join(cache, "m%03d.%s.pyc" % (i, interp.tag)), "w") as f:
                f.write("x")
        sw = Swapper(cache, outside)
        sw.start()
        try:
            subprocess.run((prefix or []) + [TOOL, "clean", "-q", root], env=clean_env(),
                           capture_output=True, timeout=120)
        finally:
            sw.finish()
        runs += 1
        swaps += sw.swaps
    now = {}
    for name in os.listdir(outside):
        with open(os.path.join(outside, name)) as f:
            now[name] = f.read()
    assert now == victims, "the outside directory changed: %d of %d files left" % (
        len(now), len(victims))
    return "%d %sruns, %d swaps" % (runs, "widened " if prefix else "", swaps)


# -- full and read-only file systems -----------------------------------------------------

class Tmpfs:
    """A tmpfs of `size` mounted at path (root only), unmounted on exit."""

    def __init__(self, path, size):
        self.path = path
        os.makedirs(path)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs", path],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise SkipCase("cannot mount a tmpfs (needs root or CAP_SYS_ADMIN): %s" %
                           r.stderr.strip())

    def __enter__(self):
        return self.path

    def __exit__(self, *exc):
        subprocess.run(["umount", "-l", self.path], capture_output=True)


def fill(path, leave):
    """Fill the file system holding `path` until `leave` bytes or less are free."""
    with open(os.path.join(path, "filler"), "wb") as f:
        while True:
            st = os.statvfs(path)
            free = st.f_bavail * st.f_frsize
            if free <= leave:
                return
            try:
                f.write(b"\0" * min(65536, free - leave))
                f.flush()
            except OSError:
                return


def case_enospc(interp, d):
    """8 small sources and one whose pyc is ~100 KiB, on a tmpfs with ~32 KiB left: the
    small ones are written, the big one fails with one line naming it and ENOSPC, exit 1,
    nothing partial or temporary remains."""
    with Tmpfs(os.path.join(d, "mnt"), "4m") as mnt:
        root = os.path.join(mnt, "tree")
        make_tree(root, n=8, funcs=2)
        write(os.path.join(root, "pkg", "big.py"),
              "".join("def g%d(a):\n    return a * %d\n" % (k, k) for k in range(1500)))
        os.makedirs(os.path.join(root, "pkg", "__pycache__"))
        fill(mnt, 32 * 1024)
        r = tool(["compile", "-j1", "--python", interp.exe, root])
        errors = [l for l in r.text.splitlines() if "No space left" in l]
        assert r.returncode == 1, "exit %d\n%s" % (r.returncode, r.text)
        assert len(errors) == 1 and "big.cpython" in errors[0], r.text
        assert temps_under(root) == [], temps_under(root)
        assert check_valid(interp, root) == 8, files_under(root)


def case_readonly(interp, d):
    """The tree's file system remounted read-only after a first compile, the sources then
    newer: one error line per source (EROFS), exit 1, every old pyc untouched."""
    with Tmpfs(os.path.join(d, "mnt"), "4m") as mnt:
        root = os.path.join(mnt, "tree")
        make_tree(root, n=5, funcs=1)
        assert tool(["compile", "-q", "--python", interp.exe, root]).returncode == 0
        before = {f: open(os.path.join(root, f), "rb").read() for f in files_under(root)}
        for f in files_under(root):
            if f.endswith(".py"):
                os.utime(os.path.join(root, f), (1700000100, 1700000100))
        r = subprocess.run(["mount", "-o", "remount,ro", mnt], capture_output=True, text=True)
        if r.returncode != 0:
            raise SkipCase("cannot remount read-only: %s" % r.stderr.strip())
        r = tool(["compile", "-j2", "--python", interp.exe, root])
        errors = [l for l in r.text.splitlines() if "Read-only file system" in l]
        assert r.returncode == 1, "exit %d\n%s" % (r.returncode, r.text)
        assert len(errors) == 5, r.text
        after = {f: open(os.path.join(root, f), "rb").read() for f in files_under(root)}
        assert after == before, "files changed on a read-only file system"


# -- signals -----------------------------------------------------------------------------

def strace_works():
    if not shutil.which("strace"):
        raise SkipCase("strace is not installed (it holds a write open for the signal)")
    r = subprocess.run(["strace", "-qq", "-o", "/dev/null", "true"], capture_output=True)
    if r.returncode != 0:
        raise SkipCase("strace cannot trace here (ptrace not permitted)")


def children(pid):
    out = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def hit_while_writing(interp, d, sig):
    """Run `compile -j1` under strace, which delays each write() and writev() (a pyc's
    header and body) of pyc-tool by 0.3 s, so a temporary .pyc file exists (created, not
    yet written) for that long; send `sig` to pyc-tool then. Returns (tree, exit status of
    pyc-tool, its worker pids)."""
    strace_works()
    root = os.path.join(d, "tree")
    make_tree(root, n=6, funcs=1)
    p = subprocess.Popen(["strace", "-qq", "-o", "/dev/null", "-e", "trace=write,writev",
                          "-e", "inject=write,writev:delay_enter=300000", TOOL, "compile", "-j1",
                          "--python", interp.exe, root],
                         env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 30
        while not temps_under(root) and time.time() < deadline and p.poll() is None:
            time.sleep(0.01)
        assert temps_under(root), "no temporary file seen (exit %s)" % p.poll()
        pid = children(p.pid)[0]
        workers = children(pid)
        os.kill(pid, sig)
        p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    # strace ends the way its tracee ended: killed by the same signal.
    return root, p.returncode, workers


def case_signal(sig):
    def case(interp, d):
        root, rc, workers = hit_while_writing(interp, d, sig)
        assert rc == -sig, "pyc-tool ended with %s, not by signal %d (a shell's %d)" % (
            rc, sig, 128 + sig)
        assert temps_under(root) == [], "left behind: %s" % temps_under(root)
        deadline = time.time() + 5
        while any(alive(w) for w in workers) and time.time() < deadline:
            time.sleep(0.05)
        assert not any(alive(w) for w in workers), "workers still running: %s" % workers
        n = check_valid(interp, root)
        return "%d valid pycs before the signal" % n
    return case


def case_sigkill_tool(interp, d):
    """SIGKILL cannot be caught: the temporary file stays. Every pyc is still valid;
    `status` reports the leftover once its writer is dead, and `clean` removes it (and
    then the __pycache__ it kept)."""
    root, rc, workers = hit_while_writing(interp, d, signal.SIGKILL)
    assert rc == -signal.SIGKILL, rc
    check_valid(interp, root)
    left = temps_under(root)
    assert len(left) == 1, left
    path = os.path.join(root, left[0])
    # Older than the one-minute grace clean and status give a dead writer's file.
    os.utime(path, (time.time() - 120, time.time() - 120))
    r = tool(["status", "--json", root])
    recs = [json.loads(l) for l in r.stdout.decode().splitlines()]
    temp = [x for x in recs if x.get("type") == "temp"]
    assert len(temp) == 1 and temp[0]["path"] == path and temp[0]["abandoned"], r.text
    r = tool(["clean", root])
    assert r.returncode == 0 and not os.path.exists(path), r.text
    assert not os.path.exists(os.path.dirname(path)), "its __pycache__ was kept"


# A worker killed mid-compile (only valid pycs, the rest compiled, exit 1) is checked by
# test_compile_faults.py's "worker killed (SIGKILL) mid-compile": the same tree and run,
# and there also every pyc against the interpreter's own bytes (check_valid).


# -- leftovers of interrupted writers ----------------------------------------------------

IMPORTLIB_TMP = r"""
import sys
path = sys.argv[1]
print('{}.{}'.format(path, id(path)))   # _write_atomic's path_tmp, 3.6-3.13
"""


def dead_pid():
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def case_leftovers(interp, d):
    """Temporary files in a __pycache__, by pyc-tool (the pid in the name) and importlib
    (the name _write_atomic gives, asked of the interpreter): `status` reports each, with
    abandoned true only when its writer cannot still be running; `clean` removes exactly
    those and keeps the rest (so the directory stays)."""
    root = os.path.join(d, "tree")
    make_tree(root, n=1, funcs=1)
    cache = os.path.join(root, "pkg", "__pycache__")
    os.makedirs(cache)
    pyc = os.path.join(cache, "m000.%s.pyc" % interp.tag)
    r = interp.run(["-c", IMPORTLIB_TMP, pyc], text=True)
    importlib_tmp = os.path.basename(r.stdout.strip())
    assert re.match(r"m000\.%s\.pyc\.\d+$" % interp.tag, importlib_tmp), importlib_tmp
    now, dead = time.time(), dead_pid()
    files = {  # name: (age in seconds, abandoned)
        "a.pyc.%d.0.tmp" % os.getpid(): (120, False),         # writer alive
        "b.pyc.%d.0.tmp" % dead: (0, False),                  # dead, within the grace
        "c.pyc.%d.3.tmp" % dead: (120, True),                 # dead, past the grace
        "d.pyc.%d.link" % os.getpid(): (7200, True),          # alive, but 2 h old
        importlib_tmp: (0, False),                            # importlib: only age counts
        "e.pyc." + importlib_tmp.rsplit(".", 1)[1]: (7200, True),
    }
    for name, (age, _) in files.items():
        write(os.path.join(cache, name), "partial", mtime=now - age)
    write(os.path.join(cache, "notes.txt"), "not a temporary file")
    r = tool(["status", "--json", root])
    recs = [json.loads(l) for l in r.stdout.decode().splitlines()]
    got = {os.path.basename(x["path"]): x["abandoned"] for x in recs if x["type"] == "temp"}
    want = {n: a for n, (_, a) in files.items()}
    assert got == want, "status: %s, expected %s" % (got, want)
    assert r.returncode == 1 and recs[-1]["temps"] == 6 and recs[-1]["abandoned"] == 3, r.text
    r = tool(["clean", "--json", root])
    recs = [json.loads(l) for l in r.stdout.decode().splitlines()]
    removed = sorted(os.path.basename(x["path"]) for x in recs if x["type"] == "removed")
    assert removed == sorted(n for n, (_, a) in files.items() if a), r.text
    assert all(x["leftover"] in ("pyc-tool", "importlib") for x in recs
               if x["type"] == "removed"), r.text
    left = sorted(os.listdir(cache))
    assert left == sorted([n for n, (_, a) in files.items() if not a] + ["notes.txt"]), left
    assert recs[-1]["leftovers"] == 3, r.text


def timed(fn, *args):
    """(what fn returned, exc_info, seconds), as Suite.parallel records a check."""
    t0 = time.time()
    try:
        return fn(*args), (None, None, None), time.time() - t0
    except BaseException:
        return None, sys.exc_info(), time.time() - t0


def main():
    suite = Suite("faults")
    found = interpreters((3, 6), (3, 13))
    if not found:
        suite.skip("no CPython 3.6-3.13 installed")
        suite.finish()
    interp = found[-1]
    cases = [
        ("symlinked __pycache__ is refused, nothing written outside", case_symlinked_pycache),
        ("symlinked pycache-prefix mirror directory is refused", case_symlinked_prefix_mirror),
        ("--hardlink-dupes: same files and links as compileall", case_hardlink_dupes),
        ("compile while __pycache__ is swapped for a symlink", case_compile_swap_race),
        ("clean while __pycache__ is swapped for a symlink", case_clean_swap_race),
        ("ENOSPC on a small tmpfs", case_enospc),
        ("read-only file system", case_readonly),
        ("SIGINT while a temporary file exists", case_signal(signal.SIGINT)),
        ("SIGTERM while a temporary file exists", case_signal(signal.SIGTERM)),
        ("SIGHUP while a temporary file exists", case_signal(signal.SIGHUP)),
        ("SIGKILL of pyc-tool while a temporary file exists", case_sigkill_tool),
        ("leftover temporary files: status reports, clean removes the abandoned",
         case_leftovers),
    ]
    only = os.environ.get("PYC_FAULTS_ONLY")
    picked = [(i, label, fn) for i, (label, fn) in enumerate(cases)
              if not only or only in label]

    def check(i, label, fn):
        d = os.path.join(suite.tmp, "c%d" % i)
        os.makedirs(d)
        return ("%s %s" % (interp.short, label), fn, interp, d)
    # A race without strace's widening runs alone for its full time: what it catches grows
    # with the runs it makes. The other cases mostly wait (strace's delayed writes and
    # file-name calls, a worker's compile, mounts), each in its own directory: all at once,
    # the widened clean race (the longest wait) beside the rest and the compile race.
    alone = [case_compile_swap_race] + ([] if widens() else [case_clean_swap_race])
    beside = [check(*c) for c in picked if c[2] is case_clean_swap_race and c[2] not in alone]
    waiting = [check(*c) for c in picked if c[2] not in alone and c[2] is not case_clean_swap_race]
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as bg:
        late = [(c[0], bg.submit(timed, *c[1:])) for c in beside]
        suite.parallel(waiting, jobs=len(waiting) or 1)
        for c in picked:
            if c[2] in alone:
                suite.parallel([check(*c)], jobs=1)
        for name, future in late:
            note, exc, took = future.result()
            suite.record(name, exc, took, note if isinstance(note, str) else None)
    suite.finish()


if __name__ == "__main__":
    main()
