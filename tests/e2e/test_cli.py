"""One CLI (issue 13): the same flag means the same thing in every command, one error
format, one exit code per condition, a failing --python shows why, and compile goes on
past an unsupported --python.

Everything runs the real binary; the oracles are the file system, the interpreters
(compileall's own exit codes, the magic number a cache must carry) and a pseudo-terminal
for colour. Commands come from `pyc-tool --help`, so a new command is covered without a
change here.
"""
import os
import pty
import shutil
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli_surface as cs  # noqa: E402
import pyc_e2e  # noqa: E402
from pyc_e2e import run_tool  # noqa: E402

ESC = b"\033["
MISSING = "/nonexistent-pyc-e2e/path"


def py3():
    found = pyc_e2e.interpreters((3, 6))
    if not found:
        raise pyc_e2e.SkipCase("no CPython 3.6+ found")
    return found[-1]


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def stale_tree(suite, name):
    """A tree with one cache that is stale (mtime), written by a real interpreter."""
    interp = py3()
    root = os.path.join(suite.tmp, name)
    write(os.path.join(root, "m.py"), "X = 1\n")
    interp.run(["-m", "compileall", "-q", root], env=pyc_e2e.clean_env(), check=True)
    st = os.stat(os.path.join(root, "m.py"))
    os.utime(os.path.join(root, "m.py"), (st.st_atime, st.st_mtime + 10))
    return root, interp


def run_on_tty(args, env):
    """Run pyc-tool with stdout on a pseudo-terminal; returns (rc, stdout bytes)."""
    master, slave = pty.openpty()
    try:
        p = subprocess.run([pyc_e2e.TOOL] + args, stdout=slave, stderr=subprocess.PIPE,
                           env=env, timeout=60)
    finally:
        os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:   # EIO: the terminal's other end is closed and drained
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return p.returncode, out


def case_common_everywhere(suite):
    version = run_tool(["--version"], check_rc=0).stdout
    assert version.startswith(b"pyc-tool "), version
    assert run_tool(["-V"], check_rc=0).stdout == version
    for c in cs.commands():
        words = [c] + cs.subcommand(c)
        for flag in ("-V", "--version"):
            r = run_tool(words + [flag], check_rc=0)
            assert r.stdout == version, (c, flag, r.stdout)
        opts = cs.help_options(c)
        assert {"--color", "-V", "--version"} <= opts, (c, sorted(opts))
        r = run_tool(words + ["--color=never", "--help"], check_rc=0)
        assert r.stdout.startswith(b"usage: pyc-tool " + c.encode()), r.stdout[:80]
        r = run_tool(words + ["--color=sometimes"], check_rc=2)
        assert r.stderr.decode().splitlines() == [
            "pyc-tool %s: error: invalid --color 'sometimes' (choose from 'auto', 'always', "
            "'never')" % c, "hint: see 'pyc-tool %s --help'" % c], r.stderr


def case_flag_meanings(suite):
    """The issue's four: compile -n, compile --verbose, status -v, inspect -q."""
    interp = py3()
    root = os.path.join(suite.tmp, "flags")
    write(os.path.join(root, "pkg", "a.py"), "A = 1\n")
    env = pyc_e2e.clean_env()
    py = ["--python", interp.exe]
    n = run_tool(["compile", "-n"] + py + [root], env=env, check_rc=0)
    long = run_tool(["compile", "--dry-run"] + py + [root], env=env, check_rc=0)
    assert not os.path.exists(os.path.join(root, "pkg", "__pycache__")), "-n wrote"
    assert b"would compile " in n.stdout and n.stdout.split(b" in ")[0] == \
        long.stdout.split(b" in ")[0], (n.stdout, long.stdout)
    v = run_tool(["compile", "-f", "-v", "-j", "1"] + py + [root], env=env, check_rc=0)
    verbose = run_tool(["compile", "-f", "--verbose", "-j", "1"] + py + [root], env=env,
                       check_rc=0)
    assert b"Compiling " in verbose.stdout, verbose.stdout
    assert v.stdout.rsplit(b"\n", 2)[0] == verbose.stdout.rsplit(b"\n", 2)[0]
    q = run_tool(["compile", "-f", "--quiet"] + py + [root], env=env, check_rc=0)
    assert q.stdout == b"", q.stdout

    all_ = run_tool(["status", "--all", root], check_rc=0).stdout
    assert b"fresh" in all_.splitlines()[0], all_
    for flag in ("-v", "--verbose"):
        assert run_tool(["status", flag, root], check_rc=0).stdout == all_

    os.utime(os.path.join(root, "pkg", "a.py"), (1, 1))
    cache = os.path.join(root, "pkg", "__pycache__", "a.%s.pyc" % interp.tag)
    loud = run_tool(["inspect", cache], check_rc=1)
    assert b"stale" in loud.stdout, loud.stdout
    for flag in ("-q", "--quiet"):
        r = run_tool(["inspect", flag, cache], check_rc=1)
        assert r.stdout == b"" and r.stderr == b"", r
    run_tool(["inspect", "-q", "--json", cache], check_rc=2)


def case_colour(suite):
    root, _ = stale_tree(suite, "colour")
    base = pyc_e2e.clean_env(NO_COLOR=None, FORCE_COLOR=None, CLICOLOR_FORCE=None,
                             TERM="xterm")

    def env(**kw):
        e = dict(base)
        e.update(kw)
        return e

    # Piped: colour only when forced, by --color or by the environment.
    piped = [([], {}, False), (["--color=always"], {}, True),
             (["--color=auto"], {}, False),
             ([], {"FORCE_COLOR": "1"}, True), ([], {"CLICOLOR_FORCE": "1"}, True),
             ([], {"CLICOLOR_FORCE": "0"}, False),
             ([], {"NO_COLOR": "1", "FORCE_COLOR": "1"}, False),
             (["--color=always"], {"NO_COLOR": "1"}, True),
             (["--color=never"], {"FORCE_COLOR": "1"}, False)]
    for flags, extra, want in piped:
        r = run_tool(["status"] + flags + [root], env=env(**extra), check_rc=1)
        assert (ESC in r.stdout) == want, (flags, extra, r.stdout)
    r = run_tool(["status", "--json", "--color=always", root], env=env(), check_rc=1)
    assert ESC not in r.stdout, r.stdout
    r = run_tool(["inspect", "--json", "--color=always",
                  os.path.join(root, "__pycache__", os.listdir(os.path.join(root, "__pycache__"))[0])],
                 env=env(), check_rc=1)
    assert ESC not in r.stdout, r.stdout
    # On a terminal: colour unless NO_COLOR, TERM=dumb or --color=never says otherwise.
    for flags, extra, want in [([], {}, True), ([], {"NO_COLOR": "x"}, False),
                               ([], {"TERM": "dumb"}, False),
                               ([], {"TERM": "dumb", "FORCE_COLOR": "1"}, True),
                               (["--color=never"], {}, False)]:
        rc, out = run_on_tty(["status"] + flags + [root], env(**extra))
        assert rc == 1 and (ESC in out) == want, (flags, extra, out)
        assert b"stale" in out, out
    # The error prefix on stderr is coloured only when forced (stderr is a pipe here).
    r = run_tool(["status", "--color=always", MISSING], env=env(), check_rc=3)
    assert r.stderr.startswith(b"pyc-tool status: \033[1;31merror:\033[0m "), r.stderr
    r = run_tool(["status", MISSING], env=env(), check_rc=3)
    assert ESC not in r.stderr, r.stderr


def case_error_format(suite):
    for c in cs.commands():
        words = [c] + cs.subcommand(c)
        r = run_tool(words + ["--no-such-option-at-all"], check_rc=2)
        assert r.stderr.decode().splitlines() == [
            "pyc-tool %s: error: unknown option '--no-such-option-at-all'" % c,
            "hint: see 'pyc-tool %s --help'" % c], (c, r.stderr)
        assert r.stdout == b"", r.stdout
    r = run_tool(["stauts"], check_rc=2)
    assert r.stderr.decode().splitlines() == [
        "pyc-tool: error: unknown command 'stauts'; did you mean 'status'?",
        "hint: see 'pyc-tool --help'"], r.stderr


def case_missing_path(suite):
    """One condition, one code and one message: a given path that does not exist."""
    interp = py3()
    want = "cannot access '%s': No such file or directory" % MISSING
    for args in (["status"], ["clean"], ["inspect"], ["compile", "--python", interp.exe],
                 ["compile", "-q", "--python", interp.exe]):
        r = run_tool(args + [MISSING], check_rc=3)
        assert r.stderr.decode().splitlines() == ["pyc-tool %s: error: %s" % (args[0], want)], \
            (args, r.stderr)
        assert b"could not be removed" not in r.stdout, r.stdout
    # compileall itself exits 0 there (cpython#88621): the one code pyc-tool does not keep.
    oracle = interp.run(["-m", "compileall", "-q", MISSING], env=pyc_e2e.clean_env(),
                        capture_output=True)
    assert oracle.returncode == 0, oracle
    # The other operands are still served.
    root, _ = stale_tree(suite, "missing")
    r = run_tool(["clean", MISSING, root], check_rc=3)
    assert not os.path.exists(os.path.join(root, "__pycache__")), "clean stopped"
    assert r.stdout.decode().startswith("removed 1 file and 1 directory"), r.stdout


def case_compileall_codes(suite):
    """Where compileall defines the code, compile keeps it."""
    interp = py3()
    root = os.path.join(suite.tmp, "codes")
    write(os.path.join(root, "bad.py"), "x = (\n")
    env = pyc_e2e.clean_env()
    cases = [[os.path.join(root, "bad.py")], ["-i", os.path.join(root, "no-such-list")]]
    for args in cases:
        oracle = interp.run(["-m", "compileall", "-q"] + args, env=env, capture_output=True)
        r = run_tool(["compile", "-q", "--python", interp.exe] + args, env=env)
        assert r.returncode == oracle.returncode == 1, (args, r.returncode, oracle.returncode)


def as_nobody():
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if not setpriv:
        raise pyc_e2e.SkipCase("running as root without setpriv: cannot make a directory "
                               "unreadable")
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]


def case_permission_wording(suite):
    root = os.path.join(suite.tmp, "perm")
    locked = os.path.join(root, "locked")
    os.makedirs(locked)
    for d in (suite.tmp, root):
        os.chmod(d, 0o755)
    os.chmod(locked, 0)
    lines = {}
    try:
        for c in ("status", "clean"):
            r = subprocess.run(as_nobody() + [pyc_e2e.TOOL, c, root], capture_output=True,
                               env=pyc_e2e.clean_env())
            assert r.returncode == 3, (c, r)
            lines[c] = r.stderr.decode().splitlines()
    finally:
        os.chmod(locked, 0o755)
    want = "error: cannot read directory '%s': Permission denied" % locked
    assert lines["status"] == ["pyc-tool status: " + want], lines
    assert lines["clean"] == ["pyc-tool clean: " + want], lines


def fake_interpreter(suite):
    """An 'interpreter' that fails as a pyenv shim does: the cause on the first line."""
    path = os.path.join(suite.tmp, "shim", "python3.99")
    write(path, "#!/bin/sh\n"
                "echo 'pyenv: python3.99: command not found' >&2\n"
                "echo >&2\n"
                "echo \"The 'python3.99' command exists in these Python versions:\" >&2\n"
                "echo '  3.99.0' >&2\n"
                "exit 127\n")
    os.chmod(path, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    return path


def case_python_stderr(suite):
    fake = fake_interpreter(suite)
    root = os.path.join(suite.tmp, "stderr")
    write(os.path.join(root, "m.py"), "M = 1\n")
    for args in (["status", "--python", fake, root], ["clean", "-n", "--python", fake, root],
                 ["compile", "--python", fake, root],
                 ["importtime", "--python", fake, "json"]):
        r = run_tool(args, check_rc=3)
        lines = r.stderr.decode().splitlines()
        assert lines == [
            "pyc-tool %s: error: '%s' exited with status 127; its standard error ends with:"
            % (args[0], fake),
            "  pyenv: python3.99: command not found", "",
            "  The 'python3.99' command exists in these Python versions:",
            "    3.99.0"], (args, lines)
    # The real thing, when pyenv is here: a shim for a version the selection lacks.
    root_pyenv = pyc_e2e.pyenv_root()
    shims = os.path.join(root_pyenv, "shims") if root_pyenv else None
    if not shims or not os.path.isdir(shims):
        raise pyc_e2e.SkipCase("pyenv is not installed: checked with a fake shim only")
    versions = sorted(os.listdir(os.path.join(root_pyenv, "versions")))
    names = sorted(n for n in os.listdir(shims) if n.startswith("python3.") and
                   n[len("python"):].replace(".", "").isdigit())
    pick = [(n, v) for n in names for v in versions if not v.startswith(n[len("python"):] + ".")]
    if not pick:
        raise pyc_e2e.SkipCase("no pyenv shim with a version that lacks it")
    name, version = pick[0]
    env = pyc_e2e.clean_env(PYENV_VERSION=version, PATH=shims + os.pathsep + os.environ["PATH"])
    r = run_tool(["status", "--python", name, root], env=env, check_rc=3)
    err = r.stderr.decode()
    assert "pyenv: %s: command not found" % name in err, err
    assert err.startswith("pyc-tool status: error: '%s' exited with status 127" % name), err


def case_unsupported_target(suite):
    old = pyc_e2e.interpreters((2, 7), (2, 7))
    if not old:
        raise pyc_e2e.SkipCase("no Python 2.7 found")
    new = py3()
    for order in ([new, old[0]], [old[0], new]):
        root = os.path.join(suite.tmp, "mixed-%s" % order[0].short)
        write(os.path.join(root, "m.py"), "M = 1\n")
        args = ["compile"]
        for i in order:
            args += ["--python", i.exe]
        r = run_tool(args + [root])
        assert r.returncode == 3, r
        lines = r.stderr.decode().splitlines()
        assert len(lines) == 1 and old[0].exe in lines[0] and "2.7" in lines[0] and \
            lines[0].startswith("pyc-tool compile: error: "), lines
        cache = os.path.join(root, "__pycache__", "m.%s.pyc" % new.tag)
        with open(cache, "rb") as f:
            assert f.read(4) == new.magic, "not %s's cache" % new
        assert sorted(os.listdir(root)) == ["__pycache__", "m.py"], os.listdir(root)


def main():
    suite = pyc_e2e.Suite("cli")
    if not pyc_e2e.TOOL:
        suite.skip("PYC_TOOL is not set")
        suite.finish()
    for name, fn in [
            ("every command takes --color WHEN and -V/--version", case_common_everywhere),
            ("compile -n/--verbose/--quiet, status -v, inspect -q do what they say",
             case_flag_meanings),
            ("colour: --color beats NO_COLOR beats FORCE_COLOR beats TERM=dumb and the TTY",
             case_colour),
            ("one usage error format, with a hint line", case_error_format),
            ("a missing path: exit 3 and the same message in status, clean, inspect, compile",
             case_missing_path),
            ("compile keeps compileall's exit codes where compileall defines them",
             case_compileall_codes),
            ("status and clean word an unreadable directory the same way",
             case_permission_wording),
            ("a failing --python shows the interpreter's stderr, not its last line",
             case_python_stderr),
            ("compile --python NEW --python 2.7 compiles for NEW and names 2.7",
             case_unsupported_target)]:
        with suite.case(name):
            fn(suite)
    suite.finish()


if __name__ == "__main__":
    main()
