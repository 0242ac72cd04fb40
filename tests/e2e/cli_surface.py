"""The command-line surface of pyc-tool as its own --help states it, and as the man page
sources and the shell completions state it, for the drift, completion and package tests.

Everything is read at run time: the commands from `pyc-tool --help`, each command's
options from `pyc-tool COMMAND --help`, so a new command needs no change here.
"""
import os
import re
import shutil
import subprocess
import tempfile

from pyc_e2e import SOURCE_DIR, run_tool

MAN_DIR = os.path.join(SOURCE_DIR, "docs", "man")
COMPLETION_DIR = os.path.join(SOURCE_DIR, "src", "completion")
BASH_COMPLETION = os.path.join(COMPLETION_DIR, "pyc-tool.bash")
ZSH_COMPLETION = os.path.join(COMPLETION_DIR, "_pyc-tool")
FISH_COMPLETION = os.path.join(COMPLETION_DIR, "pyc-tool.fish")

# Every command takes -h/--help (docs/cli.md); not every --help text lists it.
HELP = {"-h", "--help"}
OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")


def _text(args):
    return run_tool(args, check_rc=0).stdout.decode()


def commands():
    """The commands `pyc-tool --help` lists, in its order."""
    section = _text(["--help"]).split("commands:\n", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in section.splitlines() if line.strip()]


def global_options():
    """The options in the usage lines of `pyc-tool --help` (before any command)."""
    usage = _text(["--help"]).split("\n\n", 1)[0]
    return set(OPTION.findall(usage.replace("COMMAND", "")))


def help_options(cmd):
    """The options of `pyc-tool CMD --help`: the first column of each indented line that
    starts with '-' ("  -j N, --workers N   text" gives -j and --workers)."""
    opts = set()
    for line in _text([cmd, "--help"]).splitlines():
        m = re.match(r"^ {2,}(-\S.*)$", line)
        if m:
            opts |= set(OPTION.findall(re.split(r"\s{2,}", m.group(1))[0]))
    return opts


def subcommand(cmd):
    """The literal words between 'pyc-tool CMD' and its options in the first usage line
    ('install' for 'usage: pyc-tool hook install [--chain | --force]')."""
    first = _text([cmd, "--help"]).splitlines()[0].split()
    words = []
    for w in first[3:]:
        if not re.match(r"^[a-z][a-z-]*$", w):
            break
        words.append(w)
    return words


def man_source(page):
    with open(os.path.join(MAN_DIR, page + ".1.scd"), encoding="utf-8") as f:
        return f.read()


def man_options(page):
    """Options that start an entry ('*-q*, *--quiet*' at the start of a line)."""
    opts = set()
    for line in man_source(page).splitlines():
        if line.startswith("*-"):
            opts |= set(re.findall(r"\*(--?[A-Za-z][\w-]*)\*", line))
    return opts


def man_commands():
    """The entries of pyc-tool(1)'s COMMANDS section."""
    section = man_source("pyc-tool").split("# COMMANDS\n", 1)[1].split("\n# ", 1)[0]
    return [m.group(1) for m in re.finditer(r"^\*([a-z][\w-]*)\*", section, re.M)]


def man_pages():
    """The command pages there are sources for: 'status' for pyc-tool-status.1.scd."""
    return sorted(n[len("pyc-tool-"):-len(".1.scd")] for n in os.listdir(MAN_DIR)
                  if n.startswith("pyc-tool-") and n.endswith(".1.scd"))


def bash_complete(lines, cwd=None):
    """COMPREPLY of the bash completion for each command line (a list of words; the last
    one is the word being completed). Returns one list per line."""
    script = ["source %s" % _sh(BASH_COMPLETION)]
    for words in lines:
        script.append("COMP_WORDS=(%s); COMP_CWORD=%d; COMPREPLY=(); _pyc_tool"
                      % (" ".join(_sh(w) for w in words), len(words) - 1))
        script.append("printf '%s\\n' \"${COMPREPLY[@]}\"; echo '#end'")
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", "\n".join(script)],
                       capture_output=True, text=True, cwd=cwd)
    if r.returncode != 0 or r.stderr:
        raise AssertionError("bash completion failed: %s" % r.stderr)
    return _split_answers(r.stdout)


def fish_complete(lines, cwd=None):
    """What fish offers for each command line (a string ending in the word being
    completed), without descriptions; None when fish is absent."""
    fish = shutil.which("fish")
    if not fish:
        return None
    script = ["source %s" % _sh(FISH_COMPLETION)]
    for line in lines:
        script.append("complete -C %s | string replace -r '\\t.*' ''; echo '#end'" % _sh(line))
    r = subprocess.run([fish, "--no-config", "-c", "\n".join(script)],
                       capture_output=True, text=True, cwd=cwd)
    if r.returncode != 0 or r.stderr:
        raise AssertionError("fish completion failed: %s" % r.stderr)
    return _split_answers(r.stdout)


def zsh_complete(lines, cwd=None):
    """The matches zsh's completion system adds for each command line (a string ending
    in the word being completed), through zsh_complete.zsh; None without zsh."""
    zsh = shutil.which("zsh")
    if not zsh:
        return None
    with tempfile.TemporaryDirectory(prefix="pyc-zsh-") as tmp:
        out = os.path.join(tmp, "matches")
        open(out, "w").close()
        r = subprocess.run([zsh, "-f", os.path.join(os.path.dirname(__file__), "zsh_complete.zsh"),
                            COMPLETION_DIR, out] + list(lines),
                           capture_output=True, text=True, cwd=cwd, timeout=120,
                           env=dict(os.environ, HOME=tmp, TERM="dumb"))
        if r.returncode == 77:
            return None
        if r.returncode != 0:
            raise AssertionError("zsh completion failed: %s" % r.stderr)
        with open(out) as f:
            text = f.read()
    answers = [[w for w in part.splitlines() if w] for part in text.split("#line\n")[1:]]
    assert len(answers) == len(lines), (lines, text)
    return answers


def _split_answers(stdout):
    answers, cur = [], []
    for line in stdout.splitlines():
        if line == "#end":
            answers.append([w for w in cur if w])
            cur = []
        else:
            cur.append(line)
    return answers


def _sh(s):
    return "'" + s.replace("'", "'\\''") + "'"
