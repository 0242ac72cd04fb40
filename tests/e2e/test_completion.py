"""The shell completions, driven as the shells drive them.

bash: src/completion/pyc-tool.bash is sourced and its function called with
COMP_WORDS/COMP_CWORD set, as readline would; COMPREPLY is the answer. fish: the
completion file is sourced and `complete -C LINE` asked. zsh: an interactive zsh on a
pseudo-terminal completes each line with TAB (zsh_complete.zsh). Each answer is checked against an oracle: the interpreters
themselves for cache tags, py_compile for the invalidation modes, the directory for
paths, `pyc-tool --help` for commands. The options per command are the drift test's.
"""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli_surface as cs  # noqa: E402
import pyc_e2e  # noqa: E402


def tags_on_path():
    """{cache tag: interpreter name} of the python3.N names on PATH, each tag taken from
    a runnable interpreter of that version when one is found, else from the name."""
    names = set()
    for d in os.environ.get("PATH", "").split(os.pathsep):
        try:
            names |= {n for n in os.listdir(d) if re.match(r"^python[3-9]\.\d+$", n)
                      and os.access(os.path.join(d, n), os.X_OK)}
        except OSError:
            pass
    by_version = {i.short: i.tag for i in pyc_e2e.interpreters() if i.tag}
    out = {}
    for n in names:
        ver = n[len("python"):]
        out[by_version.get(ver) or "cpython-" + ver.replace(".", "")] = n
    return out


def invalidation_modes():
    r = subprocess.run([sys.executable, "-c", "import py_compile; print(' '.join("
                        "m.name.lower().replace('_', '-') for m in py_compile.PycInvalidationMode))"],
                       capture_output=True, text=True, check=True)
    return set(r.stdout.split())


def make_tree(root):
    os.makedirs(os.path.join(root, "sub"))
    for name in ("mod.py", "mod.pyc", "notes.txt"):
        with open(os.path.join(root, name), "w") as f:
            f.write("")


def main():
    suite = pyc_e2e.Suite("completion")
    cmds = cs.commands()
    tree = os.path.join(suite.tmp, "tree")
    make_tree(tree)
    tags = tags_on_path()
    modes = invalidation_modes()

    bash_cases = [
        (["pyc-tool", "compile", "--invalidation-mode", ""], modes),
        # bash splits at '=' (COMP_WORDBREAKS): "--invalidation-mode=<TAB>", "=c<TAB>"
        (["pyc-tool", "compile", "--invalidation-mode", "="], modes),
        (["pyc-tool", "compile", "--invalidation-mode", "=", "c"],
         {m for m in modes if m.startswith("c")}),
        # ...unless COMP_WORDBREAKS lacks '=': the answer keeps the option
        (["pyc-tool", "compile", "--invalidation-mode=ch"],
         {"--invalidation-mode=" + m for m in modes if m.startswith("ch")}),
        (["pyc-tool", "status", "--tag", ""], set(tags)),
        (["pyc-tool", "clean", "--keep-tag", "cpython-3"], set(tags)),
        (["pyc-tool", "inspect", ""], {"mod.pyc", "sub"}),
        (["pyc-tool", "compile", "-j", "4", ""], {"mod.py", "sub"}),
        (["pyc-tool", "status", ""], {"mod.py", "mod.pyc", "notes.txt", "sub"}),
        (["pyc-tool", "status", "--prefix", ""], {"sub"}),
        (["pyc-tool", "-C", ""], {"sub"}),
        (["pyc-tool", "-C", "sub", "st"], {c for c in cmds if c.startswith("st")}),
        (["pyc-tool", "help", "c"], {c for c in cmds if c.startswith("c")}),
        (["pyc-tool", "hook", ""], {"install", "uninstall"}),
        (["pyc-tool", "cache", ""], {"stats", "prune", "clear"}),
        (["pyc-tool", "cache", "--cache-dir", ""], {"sub"}),
        (["pyc-tool", "cache", "--max-size", "1"], {"100M", "1G"}),
        (["pyc-tool", "compile", "-o", ""], {"-1", "0", "1", "2"}),
        (["pyc-tool", "stauts", "-"], set()),
        (["pyc-tool", "ignore", ""], set()),
    ]
    with suite.case("the hook actions are those of its usage"):
        usage = subprocess.run([pyc_e2e.TOOL, "hook", "--help"], capture_output=True,
                               text=True).stdout
        assert set(re.findall(r"pyc-tool hook (\w+)", usage)) == {"install", "uninstall"}
    with suite.case("the cache actions are those of its usage"):
        usage = subprocess.run([pyc_e2e.TOOL, "cache", "--help"], capture_output=True,
                               text=True).stdout
        assert re.search(r"^usage: pyc-tool cache \[options\] stats\|prune\|clear$", usage, re.M)
    with suite.case("there are interpreters on PATH to take cache tags from"):
        if not tags:
            raise pyc_e2e.SkipCase("no python3.N on PATH")
    answers = cs.bash_complete([w for w, _ in bash_cases], cwd=tree)
    for (words, want), got in zip(bash_cases, answers):
        with suite.case("bash: %s" % " ".join(words[1:] + ["<TAB>"])):
            assert set(got) == want, "got %s, want %s" % (sorted(got), sorted(want))

    fish_cases = [
        ("pyc-tool compile --invalidation-mode ", modes),
        ("pyc-tool status --tag ", set(tags)),
        ("pyc-tool -C ", {"sub/"}),
        ("pyc-tool -C sub st", {c for c in cmds if c.startswith("st")}),
        ("pyc-tool help c", {c for c in cmds if c.startswith("c")}),
        ("pyc-tool hook ", {"install", "uninstall"}),
        ("pyc-tool cache ", {"stats", "prune", "clear"}),
        ("pyc-tool cache --cache-dir ", {"sub/"}),
        ("pyc-tool status ", {"mod.py", "mod.pyc", "notes.txt", "sub/"}),
        ("pyc-tool ignore ", set()),
    ]
    answers = cs.fish_complete([line for line, _ in fish_cases], cwd=tree)
    for (line, want), got in zip(fish_cases, answers or [None] * len(fish_cases)):
        with suite.case("fish: %s<TAB>" % line[len("pyc-tool "):]):
            if got is None:
                raise pyc_e2e.SkipCase("fish is not installed")
            assert set(got) == want, "got %s, want %s" % (sorted(got), sorted(want))
    with suite.case("fish: inspect offers .pyc files and directories, first"):
        got = (cs.fish_complete(["pyc-tool inspect "], cwd=tree) or [None])[0]
        if got is None:
            raise pyc_e2e.SkipCase("fish is not installed")
        assert "mod.pyc" in got and "sub/" in got, got
        assert got.index("mod.pyc") < got.index("notes.txt"), got

    zsh_cases = [
        ("pyc-tool compile --invalidation-mode ", modes),
        ("pyc-tool compile --invalidation-mode=", modes),
        ("pyc-tool status --tag ", set(tags)),
        ("pyc-tool clean --keep-tag cpython-3", set(tags)),
        ("pyc-tool -C ", {"sub"}),
        ("pyc-tool -C sub st", {c for c in cmds if c.startswith("st")}),
        ("pyc-tool help c", {c for c in cmds if c.startswith("c")}),
        ("pyc-tool hook ", {"install", "uninstall"}),
        ("pyc-tool cache ", {"stats", "prune", "clear"}),
        ("pyc-tool cache --cache-dir ", {"sub"}),
        ("pyc-tool status ", {"mod.py", "mod.pyc", "notes.txt", "sub"}),
        ("pyc-tool inspect ", {"mod.pyc", "sub"}),
        ("pyc-tool compile -j 4 ", {"mod.py", "sub"}),
        ("pyc-tool status --prefix ", {"sub"}),
        ("pyc-tool compile -o ", {"-1", "0", "1", "2"}),
        ("pyc-tool stauts -", set()),
    ]
    answers = cs.zsh_complete([line for line, _ in zsh_cases], cwd=tree)
    for (line, want), got in zip(zsh_cases, answers or [None] * len(zsh_cases)):
        with suite.case("zsh: %s<TAB>" % line[len("pyc-tool "):]):
            if got is None:
                raise pyc_e2e.SkipCase("zsh is not installed")
            assert set(got) == want, "got %s, want %s" % (sorted(got), sorted(want))

    for shell, path in (("zsh", cs.ZSH_COMPLETION), ("fish", cs.FISH_COMPLETION),
                        ("bash", cs.BASH_COMPLETION)):
        with suite.case("%s -n: the completion parses" % shell):
            exe = shutil.which(shell)
            if not exe:
                raise pyc_e2e.SkipCase("%s is not installed" % shell)
            r = subprocess.run([exe, "-n", path], capture_output=True, text=True)
            assert r.returncode == 0 and not r.stderr, r.stderr
    suite.finish()


if __name__ == "__main__":
    main()
