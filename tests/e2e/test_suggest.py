"""Typo suggestions: a mistyped command or long option gets "did you mean ...?".

Every command `pyc-tool --help` lists, and every long option each command's --help
lists, is mistyped by swapping two neighbouring letters (git's cheapest typo); pyc-tool
must refuse it as a usage error (exit 2) and name the intended word. A word far from
everything gets no suggestion.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli_surface as cs  # noqa: E402
import pyc_e2e  # noqa: E402
from pyc_e2e import run_tool  # noqa: E402


def swap_typo(word):
    """WORD with its last two differing neighbours swapped: 'status' -> 'statsu'."""
    for i in range(len(word) - 2, -1, -1):
        if word[i] != word[i + 1] and word[i].isalpha() and word[i + 1].isalpha():
            return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    raise ValueError(word)


def refused_with(args, want):
    r = run_tool(args, check_rc=2)
    err = r.stderr.decode()
    assert "did you mean" in err and ("'%s'" % want) in err, err
    assert r.stdout == b"", r.stdout


def main():
    suite = pyc_e2e.Suite("suggest")
    cmds = cs.commands()
    with suite.case("pyc-tool stauts: did you mean 'status'?"):
        r = run_tool(["stauts"], check_rc=2)
        assert r.stderr.decode().splitlines()[0] == \
            "pyc-tool: error: unknown command 'stauts'; did you mean 'status'?", r.stderr
    for c in cmds:
        with suite.case("command %s mistyped as %s" % (c, swap_typo(c))):
            refused_with([swap_typo(c)], c)
            refused_with(["help", swap_typo(c)], c)
    with suite.case("a prefix names every command it starts"):
        starts = [c for c in cmds if c.startswith("c")]
        r = run_tool(["c"], check_rc=2)
        for c in starts:
            assert "'%s'" % c in r.stderr.decode(), r.stderr
    with suite.case("nothing similar: no suggestion"):
        r = run_tool(["xyzzy"], check_rc=2)
        assert "did you mean" not in r.stderr.decode(), r.stderr
        r = run_tool(["status", "--xyzzyxyzzy"], check_rc=2)
        assert "did you mean" not in r.stderr.decode(), r.stderr
    with suite.case("global options"):
        refused_with(["--versoin"], "--version")
        refused_with(["--hlep"], "--help")
    for c in cmds:
        for opt in sorted(o for o in cs.help_options(c) if o.startswith("--")):
            typo = "--" + swap_typo(opt[2:])
            with suite.case("%s %s mistyped as %s" % (c, opt, typo)):
                refused_with([c] + cs.subcommand(c) + [typo], opt)
                refused_with([c] + cs.subcommand(c) + [typo + "=x"], opt)
    suite.finish()


if __name__ == "__main__":
    main()
