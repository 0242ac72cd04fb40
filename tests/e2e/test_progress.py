"""The progress line of `compile` and `clean` (src/cli/progress.c), through a real
pseudo-terminal (the pty module): drawn on stderr only when it is a terminal, redrawn in
place ("\\r\\033[K"), erased at the end; never through a pipe, with -q, with --json, or with
TERM=dumb; a short run prints nothing (0.5 s delay). PYC_PROGRESS_DELAY=0 (as git's
GIT_PROGRESS_DELAY) makes a fast run draw, where a slow one is too costly to stage (clean).
"""
import os
import pty
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyc_e2e  # noqa: E402

CLEAR = b"\r\x1b[K"
LINE = re.compile(rb"\r\x1b\[Kpyc-tool (compile|clean): ([^\r]*)")


def on_pty(args, env):
    """Run pyc-tool with stderr on a new pseudo-terminal: (rc, stdout, stderr bytes)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([pyc_e2e.TOOL] + args, stdout=subprocess.PIPE, stderr=slave,
                         stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    err = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:   # EIO: the last holder of the slave side exited
            break
        if not chunk:
            break
        err += chunk
    os.close(master)
    out = p.stdout.read()
    p.stdout.close()
    return p.wait(), out, err


def on_pipe(args, env):
    r = subprocess.run([pyc_e2e.TOOL] + args, capture_output=True, env=env)
    return r.returncode, r.stdout, r.stderr


def make_sources(root, n, lines=1):
    for i in range(n):
        d = os.path.join(root, "p%d" % (i % 7))
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "m%d.py" % i), "w") as f:
            f.write("".join("a%d = %d\n" % (j, j) for j in range(lines)))


def assert_progress(err, cmd):
    lines = LINE.findall(err)
    assert lines and all(c.decode() == cmd for c, _ in lines), err[-500:]
    assert err.endswith(CLEAR), "not erased at the end: %r" % err[-200:]
    return [text.decode("utf-8") for _, text in lines]


def case_compile(suite, interp):
    root = os.path.join(suite.tmp, "compile")
    make_sources(root, 120)
    env = pyc_e2e.clean_env(PYC_PROGRESS_DELAY="0", TERM="xterm", LC_ALL="C.UTF-8")
    args = ["compile", "-f", "--python", interp.exe, root]
    rc, out, err = on_pty(args, env)
    assert rc == 0 and out.startswith(b"compiled 120,"), (rc, out, err)
    for text in assert_progress(err, "compile"):
        m = re.match(r"(\d+)/(\u2265?)(\d+) files, \d+/s", text)
        assert m and int(m.group(1)) <= int(m.group(3)) <= 120, text
        # Once the total is final the time left is shown; while it grows, "≥".
        assert ("left" in text) == (not m.group(2)) or int(m.group(1)) == 0, text
    rc, out2, err2 = on_pipe(args, env)
    assert rc == 0 and out2.startswith(b"compiled 120,") and err2 == b"", err2
    for extra, why in ((["-q"], "-q"), (["--json"], "--json")):
        rc, out, err = on_pty(args[:1] + extra + args[1:], env)
        assert rc == 0 and err == b"", (why, err)
    rc, out, err = on_pty(args, dict(env, TERM="dumb"))
    assert rc == 0 and err == b"", ("TERM=dumb", err)


def case_compile_delay(suite, interp):
    """Without PYC_PROGRESS_DELAY: nothing for a short run (a no-op: everything is up to
    date, no interpreter starts), a line for a slow one."""
    env = pyc_e2e.clean_env(TERM="xterm", LC_ALL="C")
    env.pop("PYC_PROGRESS_DELAY", None)
    short = os.path.join(suite.tmp, "short")
    make_sources(short, 300)
    args = ["compile", "--python", interp.exe, short]
    assert on_pipe(args, env)[0] == 0
    rc, out, err = on_pty(args, env)
    assert rc == 0 and out.startswith(b"compiled 0, up to date 300") and err == b"", (out, err)
    # Big modules compiled one at a time (not taken from the compile cache): the run lasts
    # well past the 0.5 s delay.
    slow = os.path.join(suite.tmp, "slow")
    make_sources(slow, 6, lines=15000)
    rc, out, err = on_pty(["compile", "--no-cache", "-j", "1", "--python", interp.exe, slow],
                          env)
    assert rc == 0, (out, err)
    texts = assert_progress(err, "compile")
    assert all(re.match(r"\d+/(>=)?\d+ files", t) for t in texts), texts


def make_caches(root, n):
    for i in range(n):
        d = os.path.join(root, "p%d" % (i % 10), "__pycache__")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "m%d.cpython-312.pyc" % i), "wb") as f:
            f.write(b"\0" * 100)


def case_clean(suite):
    root = os.path.join(suite.tmp, "clean")
    make_caches(root, 400)
    env = pyc_e2e.clean_env(PYC_PROGRESS_DELAY="0", TERM="xterm", LC_ALL="C")
    rc, out, err = on_pty(["clean", root], env)
    assert rc == 0 and out.startswith(b"removed 400 files and 10 directories"), (out, err)
    for text in assert_progress(err, "clean"):
        assert re.match(r"\d+ files removed, \d+/s, [\d.]+ [KMG]?i?B$", text), text
    make_caches(root, 40)
    rc, out, err = on_pipe(["clean", root], env)
    assert rc == 0 and out.startswith(b"removed 40 files") and err == b"", err
    for extra in (["-q"], ["--json"], ["-n"], ["-v"]):
        make_caches(root, 40)
        rc, out, err = on_pty(["clean"] + extra + [root], env)
        assert rc == 0 and err == b"", (extra, err)
    make_caches(root, 40)
    rc, out, err = on_pty(["clean", root], dict(env, TERM="dumb"))
    assert rc == 0 and out.startswith(b"removed 40 files") and err == b"", ("TERM=dumb", err)


def main():
    suite = pyc_e2e.Suite("progress")
    if not pyc_e2e.TOOL:
        suite.skip("PYC_TOOL is not set")
        suite.finish()
    found = pyc_e2e.interpreters(min_version=(3, 6))
    with suite.case("clean: a line on a terminal, erased; none on a pipe, -q, --json, -n, -v, "
                    "TERM=dumb"):
        case_clean(suite)
    for name, fn in [("compile: done/total and rate on a terminal, erased; none on a pipe, "
                      "-q, --json, TERM=dumb", case_compile),
                     ("compile: nothing before 0.5 s, a line in a slow run", case_compile_delay)]:
        with suite.case(name):
            if not found:
                raise pyc_e2e.SkipCase("no CPython 3.6+ found")
            fn(suite, found[-1])
    suite.finish()


if __name__ == "__main__":
    main()
