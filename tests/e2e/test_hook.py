"""pyc-tool hook install|uninstall and the installed hook, proven by REAL commits.

The oracle is git itself: a commit through the installed pre-commit hook either fails and
leaves HEAD where it was, or succeeds and moves it; `git ls-tree` shows what was recorded.
Every repository is a throwaway under the suite's temp dir, with its own HOME and
XDG_CONFIG_HOME and GIT_CONFIG_NOSYSTEM=1, and no GIT_* variable leaks in from outside
(CTest itself might run inside a hook). The hook must run the pyc-tool under test: it
is installed by $PYC_TOOL, and the PATH the commits see has no other pyc-tool.
"""
import os
import shutil
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pyc_e2e import SOURCE_DIR, TOOL, Suite, SkipCase, clean_env  # noqa: E402

GIT = shutil.which("git")
PRE_COMMIT = shutil.which("pre-commit")


class Sandbox:
    """A HOME plus helpers to make repositories and run git and pyc-tool in them."""

    def __init__(self, root, name):
        self.root = os.path.join(root, name)
        self.home = os.path.join(self.root, "home")
        os.makedirs(os.path.join(self.home, ".config"))
        self.path = "/usr/bin:/bin"     # no pyc-tool on it unless a test adds one

    def env(self, **extra):
        env = clean_env(HOME=self.home, XDG_CONFIG_HOME=os.path.join(self.home, ".config"),
                        GIT_CONFIG_NOSYSTEM="1", PATH=self.path,
                        GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid",
                        GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.invalid")
        for k in list(env):
            if k.startswith("GIT_") and k not in ("GIT_CONFIG_NOSYSTEM",) and \
                    not k.startswith(("GIT_AUTHOR_", "GIT_COMMITTER_")):
                del env[k]
        env.update({k: v for k, v in extra.items() if v is not None})
        return env

    def git(self, cwd, *args, check=True, env=None, input=None):
        r = subprocess.run([GIT] + list(args), cwd=cwd, env=env or self.env(),
                           capture_output=True, input=input)
        if check and r.returncode != 0:
            raise AssertionError("git %s failed (%d):\n%s%s" % (
                " ".join(args), r.returncode, r.stdout.decode(errors="replace"),
                r.stderr.decode(errors="replace")))
        return r

    def tool(self, cwd, *args, env=None):
        return subprocess.run([TOOL] + list(args), cwd=cwd, env=env or self.env(),
                              capture_output=True)

    def repo(self, name, files=None, commit=True):
        """A fresh repository with `files` ({rel: text}) committed without hooks."""
        d = os.path.join(self.root, name)
        self.git(self.root, "init", "-q", "-b", "main", d)
        write(d, files or {"a.py": "x = 1\n"})
        if commit:
            self.git(d, "add", "-A")
            self.git(d, "commit", "-q", "--no-verify", "-m", "base")
        return d

    def head(self, d):
        r = self.git(d, "rev-parse", "--verify", "-q", "HEAD", check=False)
        return r.stdout.strip() or None

    def tree(self, d, rev="HEAD"):
        return set(self.git(d, "ls-tree", "-r", "--name-only", rev).stdout.decode().split())

    def commit(self, d, *args, env=None):
        """git commit (hooks on); returns (CompletedProcess, head before, head after)."""
        before = self.head(d)
        r = self.git(d, "commit", "-m", "through the hook", *args, check=False, env=env)
        return r, before, self.head(d)

    def install(self, d, *args):
        r = self.tool(d, "hook", "install", *args)
        if r.returncode != 0:
            raise AssertionError("hook install %s: %d\n%s" % (args, r.returncode,
                                                               r.stderr.decode()))
        return r


def write(d, files):
    for rel, text in files.items():
        p = os.path.join(d, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(text.encode() if isinstance(text, str) else text)


def read(p):
    with open(p, "rb") as f:
        return f.read()


def blocked(res, path):
    r, before, after = res
    err = (r.stdout + r.stderr).decode(errors="replace")
    assert r.returncode != 0, "commit went through:\n" + err
    assert before == after, "HEAD moved from %s to %s" % (before, after)
    assert path in err, "hook output does not name %s:\n%s" % (path, err)
    assert "git rm --cached" in err, err


def passed(res):
    r, before, after = res
    assert r.returncode == 0, "commit refused (%d):\n%s%s" % (
        r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace"))
    assert after and after != before, "HEAD did not move"


FOREIGN = b"#!/bin/sh\n# someone else's hook\necho ran >> \"$(git rev-parse --show-toplevel)/marker\"\n" \
          b"[ ! -e \"$(git rev-parse --show-toplevel)/fail-legacy\" ]\n"


# --- commits through the hook -------------------------------------------------------------

def case_plain(sb):
    d = sb.repo("plain")
    sb.install(d)
    write(d, {"b.py": "y = 2\n", "pkg/__pycache__/b.cpython-311.pyc": b"\x00pyc"})
    sb.git(d, "add", "-A")
    blocked(sb.commit(d), "pkg/__pycache__/b.cpython-311.pyc")
    sb.git(d, "rm", "-q", "--cached", "pkg/__pycache__/b.cpython-311.pyc")
    passed(sb.commit(d))
    assert "b.py" in sb.tree(d) and not any("__pycache__" in p for p in sb.tree(d))


def case_first_commit(sb):
    d = sb.repo("unborn", {"a.py": "x\n", "a.pyc": b"\x00"}, commit=False)
    sb.install(d)
    sb.git(d, "add", "-A")
    blocked(sb.commit(d), "a.pyc")
    assert sb.head(d) is None
    sb.git(d, "rm", "-q", "--cached", "a.pyc")
    passed(sb.commit(d))
    assert sb.tree(d) == {"a.py"}


def case_commit_all(sb):
    # y.pyc is tracked (committed past the hook); its change is only in the work tree, so a
    # plain commit of other staged work passes and only `commit -a` (index.lock) sees it.
    d = sb.repo("all", {"a.py": "x\n", "y.pyc": b"\x01"})
    sb.install(d)
    write(d, {"y.pyc": b"\x02", "a.py": "x = 2\n"})
    sb.git(d, "add", "a.py")
    blocked(sb.commit(d, "-a"), "y.pyc")
    passed(sb.commit(d))
    assert sb.git(d, "show", "HEAD:y.pyc").stdout == b"\x01"


def case_partial_commit(sb):
    # `git commit PATH` commits HEAD + PATH from a temporary next-index: staged bytecode
    # outside PATH is not part of it, bytecode inside PATH is.
    d = sb.repo("partial", {"a.py": "x\n", "y.pyc": b"\x01"})
    sb.install(d)
    write(d, {"y.pyc": b"\x02", "a.py": "x = 2\n"})
    sb.git(d, "add", "y.pyc")
    blocked(sb.commit(d, "--", "y.pyc"), "y.pyc")
    passed(sb.commit(d, "--", "a.py"))
    assert sb.git(d, "show", "HEAD:y.pyc").stdout == b"\x01"
    assert sb.git(d, "show", "HEAD:a.py").stdout == b"x = 2\n"


def case_delete_and_rename(sb):
    d = sb.repo("delete", {"a.py": "x\n", "old.pyc": b"\x01", "gone.pyc": b"\x02",
                           "pkg/__pycache__/m.cpython-311.pyc": b"\x03"})
    sb.install(d)
    sb.git(d, "rm", "-q", "--cached", "gone.pyc")
    sb.git(d, "rm", "-q", "-r", "pkg/__pycache__")
    passed(sb.commit(d))
    sb.git(d, "mv", "old.pyc", "new.pyc")
    blocked(sb.commit(d), "new.pyc")
    r = sb.tool(d, "check", "--staged", "--json")
    assert b'"path":"new.pyc","kind":"renamed","old_path":"old.pyc"' in r.stdout, r.stdout
    sb.git(d, "mv", "new.pyc", "kept.bin")
    passed(sb.commit(d))
    assert sb.tree(d) == {"a.py", "kept.bin"}


def case_subdirectory(sb):
    # git runs the hook from the top of the work tree; the fix must still work from the
    # subdirectory the user committed in (GIT_PREFIX).
    d = sb.repo("subdir", {"a.py": "x\n", "sub/b.py": "y\n"})
    sb.install(d)
    write(d, {"sub/b.pyc": b"\x00", "sub/c.py": "z\n"})
    sb.git(d, "add", "-A")
    sub = os.path.join(d, "sub")
    r, before, after = sb.commit(sub)
    blocked((r, before, after), "sub/b.pyc")
    assert b"git rm --cached -- ../sub/b.pyc" in r.stderr, r.stderr
    sb.git(sub, "rm", "-q", "--cached", "--", "../sub/b.pyc")
    passed(sb.commit(sub))


def case_linked_worktree(sb):
    d = sb.repo("wtmain")
    wt = os.path.join(sb.root, "wt-linked")
    sb.git(d, "worktree", "add", "-q", "-b", "side", wt)
    sb.install(wt)              # from the linked worktree: the shared hooks dir
    assert os.path.exists(os.path.join(d, ".git", "hooks", "pre-commit"))
    write(wt, {"w.py": "w\n", "w.pyc": b"\x00"})
    sb.git(wt, "add", "-A")
    blocked(sb.commit(wt), "w.pyc")
    sb.git(wt, "rm", "-q", "--cached", "w.pyc")
    passed(sb.commit(wt))
    # The main worktree's index is separate: its clean state is not confused with wt's.
    write(d, {"m.py": "m\n"})
    sb.git(d, "add", "m.py")
    passed(sb.commit(d))


def case_submodule(sb):
    src = sb.repo("subsrc")
    sup = sb.repo("super")
    sb.git(sup, "-c", "protocol.file.allow=always", "submodule", "add", "-q", src, "sub")
    sb.git(sup, "commit", "-q", "--no-verify", "-m", "add sub")
    sub = os.path.join(sup, "sub")
    sb.install(sub)             # the submodule's own hooks dir, not the superproject's
    assert os.path.exists(os.path.join(sup, ".git", "modules", "sub", "hooks", "pre-commit"))
    assert not os.path.exists(os.path.join(sup, ".git", "hooks", "pre-commit"))
    write(sub, {"s.py": "s\n", "s.pyc": b"\x00"})
    sb.git(sub, "add", "-A")
    blocked(sb.commit(sub), "s.pyc")
    sb.git(sub, "rm", "-q", "--cached", "s.pyc")
    passed(sb.commit(sub))


def case_hooks_path(sb):
    d = sb.repo("hookspath")
    sb.git(d, "config", "core.hooksPath", ".githooks")
    r = sb.install(os.path.join(d))
    hook = os.path.join(d, ".githooks", "pre-commit")
    assert os.path.exists(hook) and b"core.hooksPath" in r.stdout, r.stdout
    assert not os.path.exists(os.path.join(d, ".git", "hooks", "pre-commit"))
    assert stat.S_IMODE(os.stat(hook).st_mode) == 0o755
    write(d, {"x.pyc": b"\x00"})
    sb.git(d, "add", "x.pyc")
    blocked(sb.commit(d), "x.pyc")
    sb.git(d, "rm", "-q", "--cached", "x.pyc")
    sb.git(d, "add", ".githooks")
    passed(sb.commit(d))


def case_global_hooks_path(sb):
    # A hooksPath from ~/.gitconfig serves every repository: refused without --force.
    d = sb.repo("globalhp")
    shared = os.path.join(sb.root, "shared-hooks")
    cfg = os.path.join(sb.home, ".gitconfig")
    try:
        sb.git(d, "config", "--global", "core.hooksPath", shared)
        r = sb.tool(d, "hook", "install")
        assert r.returncode == 3 and b"--force" in r.stderr, (r.returncode, r.stderr)
        assert not os.path.exists(os.path.join(shared, "pre-commit"))
        sb.install(d, "--force")
        write(d, {"x.pyc": b"\x00"})
        sb.git(d, "add", "x.pyc")
        blocked(sb.commit(d), "x.pyc")
    finally:
        os.unlink(cfg)


def case_git_dir_work_tree(sb):
    # `git --git-dir=X --work-tree=Y commit` exports GIT_DIR and GIT_WORK_TREE to the hook.
    d = sb.repo("dotfiles-src")
    gd = os.path.join(sb.root, "dotfiles.git")
    os.rename(os.path.join(d, ".git"), gd)
    sb.git(d, "--git-dir", gd, "--work-tree", d, "config", "core.bare", "false")
    r = sb.tool(d, "hook", "install", env=sb.env(GIT_DIR=gd, GIT_WORK_TREE=d))
    assert r.returncode == 0, r.stderr
    assert os.path.exists(os.path.join(gd, "hooks", "pre-commit"))
    write(d, {"x.pyc": b"\x00"})
    sb.git(d, "--git-dir", gd, "--work-tree", d, "add", "x.pyc")
    r = sb.git(d, "--git-dir", gd, "--work-tree", d, "commit", "-m", "m", check=False)
    assert r.returncode != 0 and b"x.pyc" in r.stderr, r.stderr


# --- install / uninstall ----------------------------------------------------------------

def foreign_repo(sb, name):
    d = sb.repo(name)
    hook = os.path.join(d, ".git", "hooks", "pre-commit")
    write(d, {".git/hooks/pre-commit": FOREIGN})
    os.chmod(hook, 0o750)
    return d, hook


def case_refuse_foreign(sb):
    d, hook = foreign_repo(sb, "refuse")
    r = sb.tool(d, "hook", "install")
    assert r.returncode == 3, r
    assert b"--chain" in r.stderr and b"--force" in r.stderr, r.stderr
    assert read(hook) == FOREIGN and stat.S_IMODE(os.stat(hook).st_mode) == 0o750
    r = sb.tool(d, "hook", "uninstall")
    assert r.returncode == 3 and read(hook) == FOREIGN, r
    # A symlink is foreign even when it points at a hook pyc-tool wrote elsewhere.
    other = sb.repo("refuse-other")
    sb.install(other)
    os.unlink(hook)
    os.symlink(os.path.join(other, ".git", "hooks", "pre-commit"), hook)
    for verb in ("install", "uninstall"):
        r = sb.tool(d, "hook", verb)
        assert r.returncode == 3 and os.path.islink(hook), (verb, r)


def case_chain_and_restore(sb):
    d, hook = foreign_repo(sb, "chain")
    legacy = os.path.join(d, ".git", "hooks", "pre-commit.pyc-tool-legacy")
    sb.install(d, "--chain")
    assert read(legacy) == FOREIGN and b"pyc-tool-hook" in read(hook)
    marker = os.path.join(d, "marker")
    write(d, {"b.py": "b\n"})
    sb.git(d, "add", "b.py")
    passed(sb.commit(d))
    assert read(marker) == b"ran\n", "the chained hook did not run"
    write(d, {"c.pyc": b"\x00"})
    sb.git(d, "add", "c.pyc")
    blocked(sb.commit(d), "c.pyc")
    assert read(marker) == b"ran\nran\n"
    # The chained hook's failure aborts the commit even when pyc-tool would pass it.
    sb.git(d, "rm", "-q", "--cached", "c.pyc")
    write(d, {"d.py": "d\n", "fail-legacy": ""})
    sb.git(d, "add", "d.py")
    r, before, after = sb.commit(d)
    assert r.returncode != 0 and before == after
    os.unlink(os.path.join(d, "fail-legacy"))
    # A second --chain must not chain our own hook onto itself.
    r = sb.install(d, "--chain")
    assert b"already installed" in r.stdout and read(legacy) == FOREIGN, r.stdout
    r = sb.tool(d, "hook", "uninstall")
    assert r.returncode == 0, r
    assert read(hook) == FOREIGN and stat.S_IMODE(os.stat(hook).st_mode) == 0o750
    assert not os.path.exists(legacy)


def case_chain_args_stdin(sb):
    # The chained hook gets the arguments and stdin the hook was given, and its exit status.
    d = sb.repo("chainargs")
    write(d, {".git/hooks/pre-commit": "#!/bin/sh\nprintf '%s|' \"$@\" > args\ncat > stdin\n"
                                       "exit 7\n"})
    os.chmod(os.path.join(d, ".git/hooks/pre-commit"), 0o755)
    sb.install(d, "--chain")
    r = subprocess.run([os.path.join(d, ".git/hooks/pre-commit"), "a b", "c"], cwd=d,
                       env=sb.env(), input=b"line\n", capture_output=True)
    assert r.returncode == 7, r
    assert read(os.path.join(d, "args")) == b"a b|c|" and read(os.path.join(d, "stdin")) == b"line\n"


def case_force(sb):
    d, hook = foreign_repo(sb, "force")
    sb.install(d, "--force")
    assert b"pyc-tool-hook" in read(hook) and stat.S_IMODE(os.stat(hook).st_mode) == 0o755
    assert not os.path.exists(os.path.join(d, ".git", "hooks", "pre-commit.pyc-tool-legacy"))
    r = sb.tool(d, "hook", "uninstall")
    assert r.returncode == 0 and not os.path.exists(hook), r


def case_reinstall_and_absent(sb):
    d = sb.repo("again")
    hook = os.path.join(d, ".git", "hooks", "pre-commit")
    shutil.rmtree(os.path.join(d, ".git", "hooks"))   # repos made without templates
    sb.install(d)
    first = read(hook)
    r = sb.install(d)
    assert b"already installed" in r.stdout and read(hook) == first
    assert [n for n in os.listdir(os.path.dirname(hook)) if n != "pre-commit"] == []
    assert sb.tool(d, "hook", "uninstall").returncode == 0 and not os.path.exists(hook)
    r = sb.tool(d, "hook", "uninstall")
    assert r.returncode == 0 and b"no pyc-tool pre-commit hook" in r.stdout, r


def case_tool_from_path(sb):
    # The hook runs the binary that installed it; once that is gone, pyc-tool on PATH.
    d = sb.repo("fallback")
    bindir = os.path.join(sb.root, "bin-copy")
    os.makedirs(bindir)
    copy = os.path.join(bindir, "pyc-tool")
    shutil.copy2(TOOL, copy)
    r = subprocess.run([copy, "hook", "install"], cwd=d, env=sb.env(), capture_output=True)
    assert r.returncode == 0 and copy.encode() in read(os.path.join(d, ".git/hooks/pre-commit"))
    os.unlink(copy)
    write(d, {"x.pyc": b"\x00"})
    sb.git(d, "add", "x.pyc")
    r, before, after = sb.commit(d)
    assert r.returncode != 0 and before == after and b"pyc-tool not found" in r.stderr, r.stderr
    os.symlink(TOOL, copy)
    blocked(sb.commit(d, env=sb.env(PATH=bindir + ":" + sb.path)), "x.pyc")


PRE_COMMIT_CONFIG = """repos:
  - repo: %s
    rev: %s
    hooks:
      - id: pyc-tool-check
      - id: pyc-tool-check-files
      - id: pyc-tool-check-index
"""


def case_pre_commit_framework(sb):
    # The shipped .pre-commit-hooks.yaml, consumed by the real pre-commit from a repository
    # it clones by path; pyc-tool is found on PATH (language: system).
    if not PRE_COMMIT:
        raise SkipCase("pre-commit is not installed (Debian package pre-commit)")
    manifest = read(os.path.join(SOURCE_DIR, ".pre-commit-hooks.yaml"))
    src = sb.repo("hooks-src", {".pre-commit-hooks.yaml": manifest})
    bindir = os.path.join(sb.root, "bin")
    os.makedirs(bindir)
    os.symlink(TOOL, os.path.join(bindir, "pyc-tool"))
    env = sb.env(PATH=bindir + ":" + sb.path, PRE_COMMIT_HOME=os.path.join(sb.root, "pc"))
    d = sb.repo("pc-user", {"a.py": "x\n",
                            ".pre-commit-config.yaml": PRE_COMMIT_CONFIG % (src, sb.head(src).decode())})

    def pc(*args):
        return subprocess.run([PRE_COMMIT] + list(args), cwd=d, env=env, capture_output=True)
    r = pc("install")
    assert r.returncode == 0, r
    write(d, {"x.pyc": b"\x00"})
    sb.git(d, "add", "x.pyc")
    blocked(sb.commit(d, env=env), "x.pyc")
    sb.git(d, "rm", "-q", "--cached", "x.pyc")
    write(d, {"b.py": "b\n"})
    sb.git(d, "add", "b.py")
    passed(sb.commit(d, env=env))
    # Bytecode committed past the hooks: found by --all-files runs, not by a clean commit.
    write(d, {"pkg/__pycache__/t.cpython-311.pyc": b"\x00"})
    sb.git(d, "add", "pkg")
    sb.git(d, "commit", "-q", "--no-verify", "-m", "sneak")
    r = pc("run", "--all-files", "pyc-tool-check-files")
    assert r.returncode == 1 and b"pkg/__pycache__/t.cpython-311.pyc" in r.stdout, r
    r = pc("run", "--all-files", "--hook-stage", "manual", "pyc-tool-check-index")
    assert r.returncode == 1 and b"pyc-tool ignore --untrack" in r.stdout, r
    # pyc-tool's own hook chained in front of pre-commit's: both run.
    sb.install(d, "--chain")
    write(d, {"c.py": "c\n", "c.pyc": b"\x00"})
    sb.git(d, "add", "c.py", "c.pyc")
    r, before, after = sb.commit(d, env=env)
    out = r.stdout + r.stderr
    assert r.returncode != 0 and before == after, out
    assert b"no Python bytecode staged for commit" in out, out   # pre-commit's hook ran
    sb.git(d, "rm", "-q", "--cached", "c.pyc")
    passed(sb.commit(d, env=env))


def pc_check_files_all(sb, name, manifest, files):
    """`pre-commit run pyc-tool-check-files --all-files` with `manifest` over `files`
    committed past the hooks. TRAVIS makes pre-commit (<= 4) target two processes
    whatever the CPU count, so a hook without require_serial gets its names split."""
    src = sb.repo(name + "-src", {".pre-commit-hooks.yaml": manifest})
    bindir = os.path.join(sb.root, name + "-bin")
    os.makedirs(bindir)
    os.symlink(TOOL, os.path.join(bindir, "pyc-tool"))
    files = dict(files, **{".pre-commit-config.yaml": PRE_COMMIT_CONFIG % (src, sb.head(src).decode())})
    d = sb.repo(name, files)
    env = sb.env(PATH=bindir + ":" + sb.path, PRE_COMMIT_HOME=os.path.join(sb.root, "pc"),
                 TRAVIS="true")
    return subprocess.run([PRE_COMMIT, "run", "--all-files", "pyc-tool-check-files"], cwd=d,
                          env=env, capture_output=True)


def case_pre_commit_one_report(sb):
    # pre-commit splits the names of a hook across processes unless it is require_serial:
    # the user would read two reports, each with half the paths and its own fix.
    if not PRE_COMMIT:
        raise SkipCase("pre-commit is not installed (Debian package pre-commit)")
    manifest = read(os.path.join(SOURCE_DIR, ".pre-commit-hooks.yaml")).decode()
    pycs = {"m%02d.pyc" % i: b"\x00" for i in range(12)}
    r = pc_check_files_all(sb, "serial", manifest, pycs)
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 1 and out.count("pyc-tool check: 12 bytecode paths named") == 1, out
    assert out.count("pyc-tool check:") == 1, out
    for p in pycs:
        assert out.count(p) == 2, (p, out)    # listed once and in the one git rm command
    # The oracle that the count above can fail: without the field pre-commit does split.
    split = manifest.replace("  require_serial: true\n", "")
    assert split != manifest, "require_serial not found in the manifest"
    r = pc_check_files_all(sb, "split", split, pycs)
    if r.stdout.count(b"pyc-tool check:") < 2:
        raise SkipCase("this pre-commit does not split 12 names over two processes, so the "
                       "one-report assertion proved nothing here:\n" + r.stdout.decode())


def case_usage(sb):
    d = sb.repo("usage")
    for args in (["hook"], ["hook", "frob"], ["hook", "install", "--chain", "--force"],
                 ["hook", "uninstall", "--force"], ["hook", "install", "extra"]):
        r = sb.tool(d, *args)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
    bare = os.path.join(sb.root, "bare.git")
    sb.git(sb.root, "init", "-q", "--bare", bare)
    r = sb.tool(bare, "hook", "install")
    assert r.returncode == 3 and b"bare" in r.stderr, r.stderr
    assert not os.path.exists(os.path.join(bare, "hooks", "pre-commit"))


CASES = [case_plain, case_first_commit, case_commit_all, case_partial_commit,
         case_delete_and_rename, case_subdirectory, case_linked_worktree, case_submodule,
         case_hooks_path, case_global_hooks_path, case_git_dir_work_tree, case_refuse_foreign,
         case_chain_and_restore, case_chain_args_stdin, case_force, case_reinstall_and_absent, case_tool_from_path,
         case_pre_commit_framework, case_pre_commit_one_report, case_usage]


def in_sandbox(fn, tmp):
    return fn(Sandbox(tmp, fn.__name__[5:]))


def main():
    suite = Suite("git_hook")
    if not GIT:
        suite.skip("git is not installed")
        suite.finish()
    suite.parallel([(fn.__name__[5:], in_sandbox, fn, suite.tmp) for fn in CASES])
    suite.finish()


if __name__ == "__main__":
    main()
