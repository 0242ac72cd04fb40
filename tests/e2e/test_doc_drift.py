"""The man pages and the shell completions against pyc-tool's own --help.

For every command `pyc-tool --help` lists: a page docs/man/pyc-tool-<command>.1.scd
exists, pyc-tool(1) names the command, and the long and short options of
`pyc-tool <command> --help` are exactly those the page documents and those the bash,
zsh and fish completions offer (each shell asked through its completion system). -h/--help is required everywhere, as every
command takes it. Then every built page renders without a groff or man warning, and no
--help text points at docs/*.md of a source checkout.
"""
import glob
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli_surface as cs  # noqa: E402
import pyc_e2e  # noqa: E402
from pyc_e2e import run_tool  # noqa: E402

BUILD_DIR = os.environ.get("PYC_BUILD_DIR", "")


def diff(what, want, got):
    if want != got:
        raise AssertionError("%s: missing %s, extra %s" % (what, sorted(want - got),
                                                          sorted(got - want)))


def main():
    suite = pyc_e2e.Suite("doc_drift")
    cmds = cs.commands()
    with suite.case("the command list is read from --help"):
        assert "status" in cmds and "compile" in cmds, cmds

    with suite.case("a man page for every command and no page without one"):
        diff("pages", set(cmds), set(cs.man_pages()))
    with suite.case("pyc-tool(1) lists every command"):
        diff("pyc-tool(1) COMMANDS", set(cmds) | {"help"}, set(cs.man_commands()))
    with suite.case("pyc-tool(1) documents the global options"):
        diff("pyc-tool(1) options", cs.global_options() | cs.HELP, cs.man_options("pyc-tool"))

    bash_lines = [["pyc-tool", ""], ["pyc-tool", "-"]]
    fish_lines = ["pyc-tool ", "pyc-tool -"]
    for c in cmds:
        words = ["pyc-tool", c] + cs.subcommand(c)
        bash_lines.append(words + ["-"])
        fish_lines.append(" ".join(words) + " -")
    bash = cs.bash_complete(bash_lines)
    fish = cs.fish_complete(fish_lines)
    zsh = cs.zsh_complete(fish_lines)

    with suite.case("bash completes every command and the global options"):
        diff("bash commands", set(cmds) | {"help"}, set(bash[0]))
        diff("bash global options", cs.global_options() | cs.HELP, set(bash[1]))
    with suite.case("zsh completes every command and the global options"):
        if zsh is None:
            raise pyc_e2e.SkipCase("zsh is not installed")
        diff("zsh commands", set(cmds) | {"help"}, set(zsh[0]))
        diff("zsh global options", cs.global_options() | cs.HELP, set(zsh[1]))
    with suite.case("fish completes every command and the global options"):
        if fish is None:
            raise pyc_e2e.SkipCase("fish is not installed")
        diff("fish commands", set(cmds) | {"help"}, set(fish[0]))
        diff("fish global options", cs.global_options() | cs.HELP, set(fish[1]))

    for i, c in enumerate(cmds):
        want = cs.help_options(c) | cs.HELP
        with suite.case("%s: the man page documents the options of --help" % c):
            diff("pyc-tool-%s(1)" % c, want, cs.man_options("pyc-tool-" + c))
        with suite.case("%s: bash offers the options of --help" % c):
            diff("bash %s" % c, want, set(bash[i + 2]))
        with suite.case("%s: zsh offers the options of --help" % c):
            if zsh is None:
                raise pyc_e2e.SkipCase("zsh is not installed")
            diff("zsh %s" % c, want, set(zsh[i + 2]))
        with suite.case("%s: fish offers the options of --help" % c):
            if fish is None:
                raise pyc_e2e.SkipCase("fish is not installed")
            diff("fish %s" % c, want, set(fish[i + 2]))
        with suite.case("%s: --help names man pages that exist, no docs/*.md" % c):
            text = run_tool([c, "--help"], check_rc=0).stdout.decode()
            assert not re.search(r"docs/\S*\.md", text), text
            for page in re.findall(r"man (pyc-tool[\w-]*)", text):
                assert os.path.exists(os.path.join(cs.MAN_DIR, page + ".1.scd")), page
            assert "man pyc-tool-%s" % c in text, "--help does not name its man page:\n" + text

    with suite.case("pyc-tool --help names man pages that exist, no docs/*.md"):
        text = run_tool(["--help"], check_rc=0).stdout.decode()
        assert not re.search(r"docs/\S*\.md", text), text
        assert "man pyc-tool" in text, text

    check_rendering(suite)
    suite.finish()


def check_rendering(suite):
    built = sorted(glob.glob(os.path.join(BUILD_DIR, "docs", "man", "*.[1-9]")))
    sources = glob.glob(os.path.join(cs.MAN_DIR, "*.scd"))
    with suite.case("every page source is rendered by the build"):
        if not BUILD_DIR or not os.path.isdir(os.path.join(BUILD_DIR, "docs", "man")):
            raise pyc_e2e.SkipCase("no rendered man pages (PYC_BUILD_MAN=OFF?)")
        diff("rendered pages", {os.path.basename(s)[:-4] for s in sources},
             {os.path.basename(b) for b in built})
    for page in built:
        name = os.path.basename(page)
        with suite.case("%s renders without groff warnings" % name):
            r = subprocess.run(["groff", "-ww", "-z", "-man", "-Tutf8", page],
                               capture_output=True, text=True)
            assert r.returncode == 0 and not r.stderr, r.stderr
        with suite.case("%s renders without man warnings" % name):
            if not shutil.which("man"):
                raise pyc_e2e.SkipCase("man is not installed")
            r = subprocess.run(["man", "--warnings", "-l", page], capture_output=True,
                               text=True, env=dict(os.environ, MANPAGER="cat", MANWIDTH="80",
                                                   LC_ALL="C.UTF-8"))
            assert r.returncode == 0 and not r.stderr, r.stderr
            title = name.rsplit(".", 1)[0].upper()
            assert r.stdout.startswith(title + "("), r.stdout[:200]


if __name__ == "__main__":
    main()
