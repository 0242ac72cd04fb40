"""Hostile trees and files for `status`, `clean` and `inspect` (issue 9, "keep them found").

- A 200,000-entry directory and a 3,000-level chain: the verdicts of the default `-j` are
  `-j 1`'s byte for byte, it is not much slower (a generous bound: the quadratic split made
  it 20x slower), peak RSS of the tool (wait4 of its parent) stays bounded, and clean removes exactly
  the caches.
- FIFOs, UNIX sockets and character devices named like caches: nothing hangs (a timeout
  fails the case), each path gets its one-line error, clean keeps them.
- Files below a __pycache__ sub-directory are no caches for status, and kept by clean.
- A bind-mount loop (root only): reported as a loop, the walk goes on.
The oracle is the file system itself (lstat, listings before and after).
"""
import os
import socket
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hostile_trees as H  # noqa: E402
import pyc_e2e as E  # noqa: E402

WIDE = 200000
DEEP = 3000
TIMEOUT = 60
# About 22 MiB measured at both depths (the widest directory's names, one frame per level);
# ASan's shadow memory and quarantine multiply that (the sanitizer build sets LSAN_OPTIONS).
RSS_LIMIT_KIB = (512 if "LSAN_OPTIONS" in os.environ else 64) * 1024


class Run:
    def __init__(self, rc, out, err, secs, rss):
        self.rc, self.out, self.err, self.secs, self.rss = rc, out, err, secs, rss


# Runs the tool as its own child and reports that child's peak RSS and wall time. Needed
# because ru_maxrss survives execve: a child forked straight from this test would report
# the test's own RSS. The wrapper is a small Python (about 10 MiB, the floor of the
# measurement), the tool's output passes through.
WRAPPER = r"""
import os, sys, time
t0 = time.monotonic()
pid = os.fork()
if pid == 0:
    try:
        os.execv(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write("%d %f" % (ru.ru_maxrss, time.monotonic() - t0))
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def measured(args):
    """Run pyc-tool; its exit code, output, wall time and peak RSS (KiB). Killed, and the
    case failed, after TIMEOUT seconds: a hang is a failure, not a stall."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as usage:
        p = subprocess.Popen([sys.executable, "-I", "-S", "-c", WRAPPER, usage.name, E.TOOL] +
                             list(args), stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                             env=E.clean_env(), start_new_session=True)
        try:
            p.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, 9)
            p.wait()
            raise AssertionError("pyc-tool %s: still running after %d s" % (args, TIMEOUT))
        rss, secs = usage.read().split()
        out.seek(0)
        err.seek(0)
        return Run(p.returncode, out.read(), err.read(), float(secs), int(rss))


def quick(args):
    """pyc-tool for a case that checks only what it says: killed, and the case failed,
    after TIMEOUT seconds as in measured(), without the process that reads its peak RSS
    (rss None)."""
    t0 = time.monotonic()
    try:
        r = subprocess.run([E.TOOL] + list(args), capture_output=True, stdin=subprocess.DEVNULL,
                           env=E.clean_env(), timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        raise AssertionError("pyc-tool %s: still running after %d s" % (args, TIMEOUT))
    return Run(r.returncode, r.stdout, r.stderr, time.monotonic() - t0, None)


def expect(cond, what, run=None):
    if not cond:
        extra = ""
        if run is not None:
            extra = "\nexit %d, %.2f s, %s KiB\nstderr: %s\nstdout (head): %s" % (
                run.rc, run.secs, "-" if run.rss is None else run.rss,
                run.err[:2000].decode(errors="replace"),
                run.out[:500].decode(errors="replace"))
        raise AssertionError(what + extra)


def status_both_ways(root, rc_want):
    """status -j 1 and the default -j on root: same output, bounded RSS, the default not
    much slower. Returns the -j 1 run."""
    one = measured(["status", "-j", "1", root])
    dflt = measured(["status", root])
    for r in (one, dflt):
        expect(r.rc == rc_want, "status exit %d, want %d" % (r.rc, rc_want), r)
        expect(r.rss < RSS_LIMIT_KIB, "status peak RSS %d KiB" % r.rss, r)
    expect(dflt.out == one.out and dflt.err == one.err, "default -j output differs from -j 1")
    # Generous: a loaded 2-core machine; the quadratic split took 20x as long.
    expect(dflt.secs <= 2.5 * one.secs + 1.0,
           "default -j took %.2f s, -j 1 %.2f s" % (dflt.secs, one.secs))
    print("  status -j 1 %.2f s %d KiB, default -j %.2f s %d KiB" % (
        one.secs, one.rss, dflt.secs, dflt.rss), flush=True)
    return one


def clean_quietly(root):
    """clean -q root: exit 0, nothing printed, bounded RSS."""
    r = measured(["clean", "-q", root])
    expect(r.rc == 0 and r.out == b"" and r.err == b"", "clean failed", r)
    expect(r.rss < RSS_LIMIT_KIB, "clean peak RSS %d KiB" % r.rss, r)
    print("  clean %.2f s %d KiB" % (r.secs, r.rss), flush=True)


def rm_tree(path):
    subprocess.run(["rm", "-rf", "--one-file-system", path], check=True)


def wide_tree(suite):
    base = H.scratch(suite.tmp)
    try:
        root = os.path.join(base, "wide")
        H.one_dir(root, WIDE)
        with suite.case("status: one __pycache__ of 200,000 caches, default -j vs -j 1"):
            one = status_both_ways(root, 1)
            lines = one.out.splitlines()
            expect(len(lines) == WIDE + 1, "%d lines" % len(lines))
            expect(lines[-1] == b"%d caches: 0 fresh, %d orphan" % (WIDE, WIDE), lines[-1])
        with suite.case("clean: one __pycache__ of 200,000 caches"):
            clean_quietly(root)
            expect(os.listdir(root) == [], "left: %s" % os.listdir(root)[:5])
    finally:
        rm_tree(base)


def deep_tree(suite):
    base = H.scratch(suite.tmp)
    try:
        root = os.path.join(base, "deep")
        H.deep(root, DEEP)
        with suite.case("status: a 3,000-level chain, default -j vs -j 1"):
            one = status_both_ways(root, 0)
            expect(one.out == b"%d caches: %d fresh\n" % (DEEP, DEEP), one.out)
        with suite.case("clean: a 3,000-level chain"):
            clean_quietly(root)
            levels = H.chain_names(root, DEEP)
            want = [["d", "m.py"]] * DEEP + [[]]
            expect(levels == want, "after clean: %d levels, first differing %s" % (
                len(levels), next((l for l, w in zip(levels, want) if l != w), None)))
    finally:
        rm_tree(base)


def make_special(path, kind):
    """A FIFO, a bound UNIX socket (returned, to keep it open) or /dev/null's device."""
    if kind == "FIFO":
        os.mkfifo(path)
    elif kind == "socket":
        s = socket.socket(socket.AF_UNIX)
        s.bind(path)
        return s
    else:
        os.mknod(path, 0o644 | stat.S_IFCHR, os.makedev(1, 3))
    return None


def write(path, data=b""):
    with open(path, "wb") as f:
        f.write(data)


def identity(path):
    st = os.lstat(path)
    return (st.st_ino, stat.S_IFMT(st.st_mode))


def special_files(suite, kind, describe):
    """Special files in both cache places: pkg/__pycache__/x.cpython-311.pyc and legacy
    pkg/x.pyc, beside one real cache."""
    with suite.case("inspect, status, clean: a %s named like a cache" % describe):
        if kind == "device" and os.geteuid() != 0:
            raise E.SkipCase("mknod of a character device needs root")
        d = tempfile.mkdtemp(dir=suite.tmp)
        # Short paths: a UNIX socket's path must fit in 108 bytes.
        os.chdir(d)
        os.makedirs("pkg/__pycache__")
        for n in ("x.py", "m.py"):
            with open("pkg/" + n, "w") as f:
                f.write("X = 1\n")
        write("pkg/__pycache__/m.%s.pyc" % H.TAG)
        specials = ["pkg/__pycache__/x.%s.pyc" % H.TAG, "pkg/x.pyc"]
        keep = [make_special(p, kind) for p in specials]
        before = {p: identity(p) for p in specials}

        for p in specials:
            r = quick(["inspect", p])
            want = "pyc-tool inspect: error: cannot read '%s': not a regular file (a %s)\n" % (
                p, describe)
            expect(r.rc == 3 and r.out == b"" and r.err == want.encode(), "inspect " + p, r)
        for j in ("1", "2"):
            r = quick(["status", "-j", j, "pkg"])
            lines = sorted(r.err.decode().splitlines())
            want = sorted("pyc-tool status: error: %s: not a regular file" % p for p in specials)
            expect(r.rc == 3 and lines == want, "status -j " + j, r)
            expect(r.out.splitlines()[-1] == b"1 cache: 0 fresh, 1 corrupt; 2 errors",
                   "status summary", r)
        r = quick(["clean", "--legacy", "--sourceless", "pkg"])
        expect(r.rc == 0, "clean", r)
        expect(("pyc-tool clean: warning: kept '%s': not bytecode" % specials[0]).encode() in r.err,
               "clean names the kept entry", r)
        expect({p: identity(p) for p in specials} == before, "clean touched a special file")
        expect(not os.path.exists("pkg/__pycache__/m.%s.pyc" % H.TAG), "the real cache stays")
        os.chdir(suite.tmp)
        for s in keep:
            if s:
                s.close()


def inspect_directory(suite):
    with suite.case("inspect: a directory is an error, and no stray blank line"):
        d = tempfile.mkdtemp(dir=suite.tmp)
        os.chdir(d)
        os.mkdir("dir.pyc")
        write("ok.pyc", H.MAGIC_311 + b"\0" * 12 + b"N")
        r = quick(["inspect", "dir.pyc"])
        expect(r.rc == 3 and r.out == b"" and
               r.err == b"pyc-tool inspect: error: cannot read 'dir.pyc': Is a directory\n", "dir", r)
        alone = quick(["inspect", "ok.pyc"])
        for args in (["dir.pyc", "ok.pyc"], ["ok.pyc", "dir.pyc"]):
            r = quick(["inspect"] + args)
            expect(r.rc == 3 and r.out == alone.out, "inspect %s: stdout differs" % args, r)
        os.chdir(suite.tmp)


def below_pycache(suite):
    with suite.case("status, clean: a __pycache__ sub-directory holds no caches"):
        d = tempfile.mkdtemp(dir=suite.tmp)
        sub = os.path.join(d, "pkg", "__pycache__", "sub")
        os.makedirs(sub)
        import py_compile
        src = os.path.join(d, "x.py")
        with open(src, "w") as f:
            f.write("X = 1\n")
        py_compile.compile(src, cfile=os.path.join(sub, "x.pyc"), doraise=True)
        os.unlink(src)
        for j in ("1", "2"):
            r = quick(["status", "-j", j, "--all", d])
            expect(r.rc == 0 and r.out == b"0 caches: 0 fresh\n", "status -j " + j, r)
        r = quick(["clean", "--legacy", "--sourceless", d])
        expect(r.rc == 0 and os.path.exists(os.path.join(sub, "x.pyc")), "clean removed it", r)
        expect(("kept '%s': not bytecode" % os.path.join(d, "pkg", "__pycache__", "sub"))
               .encode() in r.err, "clean names the kept sub-directory", r)


def bind_loop(suite):
    with suite.case("status, clean: a bind-mount loop is named, the walk goes on"):
        if os.geteuid() != 0:
            raise E.SkipCase("mount --bind needs root")
        d = tempfile.mkdtemp(dir=suite.tmp)
        loop = os.path.join(d, "a", "loop")
        os.makedirs(loop)
        os.makedirs(os.path.join(d, "z", "__pycache__"))
        write(os.path.join(d, "z", "__pycache__", "m.%s.pyc" % H.TAG))
        if subprocess.run(["mount", "--bind", d, loop], capture_output=True).returncode:
            raise E.SkipCase("mount --bind failed (no CAP_SYS_ADMIN here)")
        try:
            # status and clean word it the same way.
            want = "error: cannot read directory '%s': Too many levels of symbolic links" % loop
            for args in (["status", "-j", "1", d], ["status", d], ["clean", d]):
                r = quick(args)
                err = r.err.decode()
                expect(r.rc == 3 and want in err, " ".join(args[:1]), r)
                expect(len(r.err.splitlines()) == 1, "one line", r)
            expect(not os.path.exists(os.path.join(d, "z", "__pycache__")),
                   "clean went on past the loop")
        finally:
            subprocess.run(["umount", "-l", loop])


def main():
    suite = E.Suite("hostile_trees")
    if not E.TOOL:
        suite.skip("PYC_TOOL not set")
        suite.finish()
    os.chdir(suite.tmp)
    wide_tree(suite)
    deep_tree(suite)
    for kind, describe in (("FIFO", "FIFO"), ("socket", "socket"),
                           ("device", "character device")):
        special_files(suite, kind, describe)
    inspect_directory(suite)
    below_pycache(suite)
    bind_loop(suite)
    suite.finish()


if __name__ == "__main__":
    main()
