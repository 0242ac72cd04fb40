"""pyc-tool ignore / ignore --untrack, with the git command line as the oracle.

Every repository is a throwaway one with its own HOME and XDG_CONFIG_HOME and
GIT_CONFIG_NOSYSTEM=1, so a developer's global ignore file cannot make a case pass.
"""
import os
import shutil
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pyc_e2e import Suite, SkipCase, clean_env, run_tool  # noqa: E402

S = Suite("git_ignore")
if not shutil.which("git"):
    S.skip("git is not installed: it is the oracle")
    S.finish()

HOME = os.path.join(S.tmp, "home")
os.makedirs(os.path.join(HOME, ".config"))
ENV = clean_env(HOME=HOME, XDG_CONFIG_HOME=os.path.join(HOME, ".config"),
                GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org",
                GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.org",
                GIT_DIR=None, GIT_WORK_TREE=None, GIT_INDEX_FILE=None,
                GIT_CEILING_DIRECTORIES=S.tmp)

# Bytecode at every depth, plus things that must stay visible to git.
CACHES = ["__pycache__/m.cpython-311.pyc", "a/__pycache__/m.cpython-312.pyc",
          "a/b/c/__pycache__/deep.cpython-39.opt-1.pyc", "x.pyc", "a/b/y.pyo", "a/legacy.pyc"]
VISIBLE = ["a/mod.py", "a/b/ext.cpython-311-x86_64-linux-gnu.so", "a/ext.pyd", "setup.py"]

def git(repo, *args, check=True):
    r = subprocess.run(["git", "-C", repo] + list(args), env=ENV, capture_output=True)
    if check and r.returncode != 0:
        raise AssertionError("git %s: %s" % (" ".join(args), r.stderr.decode()))
    return r


def tool(repo, *args, rc=None):
    return run_tool(list(args), cwd=repo, env=ENV, check_rc=rc)


def new_repo(files=()):
    repo = tempfile.mkdtemp(prefix="r", dir=S.tmp)
    subprocess.run(["git", "init", "-q", repo], env=ENV, check=True)
    for rel in list(files):
        touch(repo, rel)
    return repo


def touch(repo, rel, data=b""):
    p = os.path.join(repo, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data)


def read(repo, rel):
    with open(os.path.join(repo, rel), "rb") as f:
        return f.read()


def ignored_by_git(repo, rel):
    """git's own verdict, independent of the index."""
    r = git(repo, "check-ignore", "-q", "--no-index", rel, check=False)
    assert r.returncode in (0, 1), r.stderr
    return r.returncode == 0


def assert_all_ignored(repo):
    for rel in CACHES:
        assert ignored_by_git(repo, rel), "git does not ignore %s" % rel
        if "__pycache__" in rel:
            d = rel[:rel.index("__pycache__") + len("__pycache__")]
            assert ignored_by_git(repo, d), "git does not ignore the directory %s" % d
    for rel in VISIBLE:
        assert not ignored_by_git(repo, rel), "git now ignores %s" % rel
    porcelain = git(repo, "status", "--porcelain", "-uall").stdout.decode()
    assert ".pyc" not in porcelain and ".pyo" not in porcelain, porcelain


def with_caches(repo):
    for rel in CACHES + VISIBLE:
        touch(repo, rel)


# (name, existing .gitignore bytes or None, expected EOL)
VARIANTS = [
    ("no .gitignore", None, b"\n"),
    ("LF with other rules", b"*.log\nbuild/\n", b"\n"),
    ("CRLF", b"*.log\r\nbuild/\r\n", b"\r\n"),
    ("BOM", b"\xef\xbb\xbf*.log\nbuild/\n", b"\n"),
    ("no final newline", b"*.log\nbuild/", b"\n"),
    ("BOM, CRLF and no final newline", b"\xef\xbb\xbf*.log\r\nbuild/", b"\r\n"),
    ("one rule already present", b"__pycache__/\n", b"\n"),
]


def case_variant(before, eol):
    repo = new_repo()
    with_caches(repo)
    if before is not None:
        touch(repo, ".gitignore", before)
        os.chmod(os.path.join(repo, ".gitignore"), 0o640)
    assert not ignored_by_git(repo, "x.pyc")
    tool(repo, "ignore", "--check", rc=1)
    tool(repo, "ignore", rc=0)
    after = read(repo, ".gitignore")
    old = before or b""
    assert after.startswith(old), "existing bytes changed"
    tail = after[len(old):]
    if old and not old.endswith(b"\n"):
        assert tail.startswith(eol), "missing final newline not fixed with %r" % eol
    # every line ending we wrote uses the file's EOL
    if eol == b"\r\n":
        assert tail.count(b"\n") == tail.count(b"\r\n"), tail
    else:
        assert b"\r" not in tail, tail
    lines = [l.rstrip(b"\r") for l in tail.split(b"\n")]
    assert b"*.py[co]" in lines
    assert (b"__pycache__/" in lines) == (b"__pycache__/" not in old), lines
    assert_all_ignored(repo)
    if before is not None:
        assert stat.S_IMODE(os.stat(os.path.join(repo, ".gitignore")).st_mode) == 0o640
    r = tool(repo, "ignore", rc=0)
    assert read(repo, ".gitignore") == after, "second run changed the file"
    assert b"nothing to do" in r.stdout, r.stdout
    tool(repo, "ignore", "--check", rc=0)


def case_new_file_mode():
    repo = new_repo()
    old_mask = os.umask(0o027)
    try:
        tool(repo, "ignore", rc=0)
    finally:
        os.umask(old_mask)
    assert stat.S_IMODE(os.stat(os.path.join(repo, ".gitignore")).st_mode) == 0o640
    assert not [f for f in os.listdir(repo) if "pyc-tool" in f], "temporary file left behind"


def case_dry_run():
    repo = new_repo()
    touch(repo, ".gitignore", b"*.log\n")
    r = tool(repo, "ignore", "--dry-run", rc=0)
    assert b"__pycache__/" in r.stdout and b"*.py[co]" in r.stdout, r.stdout
    assert read(repo, ".gitignore") == b"*.log\n"


def case_negations():
    repo = new_repo()
    with_caches(repo)
    touch(repo, "a/keep.pyc")
    touch(repo, "vend/old.pyc")
    touch(repo, ".gitignore", b"*.pyc\n!a/keep.pyc\n")
    touch(repo, "vend/.gitignore", b"# vendored bytecode is kept on purpose\n!*.pyc\n")
    r = tool(repo, "ignore", rc=0)
    err = r.stderr.decode()
    assert ".gitignore:2:" in err and "!a/keep.pyc" in err, err
    assert "vend/.gitignore:2:" in err and "!*.pyc" in err, err
    # root: the appended *.py[co] comes later, so git ignores keep.pyc again (we said so)
    assert ignored_by_git(repo, "a/keep.pyc")
    assert "overridden" in err.split("vend/")[0], err
    # nested: the deeper file wins in git, and we warned that it keeps bytecode visible
    assert not ignored_by_git(repo, "vend/old.pyc")
    assert "keeps matching bytecode un-ignored" in err, err
    before = read(repo, ".gitignore")
    r = tool(repo, "ignore", rc=0)
    assert read(repo, ".gitignore") == before, "re-appended although the rules are present"
    assert b"vend/.gitignore:2:" in r.stderr, r.stderr


def case_global_excludes():
    repo = new_repo(["x.pyc"])
    os.makedirs(os.path.join(HOME, ".config", "git"), exist_ok=True)
    xdg = os.path.join(HOME, ".config", "git", "ignore")
    glob = os.path.join(HOME, "global-ignore")
    with open(xdg, "w") as f:
        f.write("__pycache__/\n*.py[co]\n")
    with open(glob, "w") as f:
        f.write("__pycache__/\n*.py[co]\n")
    git(repo, "config", "--global", "core.excludesFile", glob)
    try:
        assert ignored_by_git(repo, "x.pyc"), "the trap is not set up"
        tool(repo, "ignore", "--check", rc=1)
        tool(repo, "ignore", rc=0)
        assert b"*.py[co]" in read(repo, ".gitignore")
    finally:
        os.unlink(xdg)
        git(repo, "config", "--global", "--unset", "core.excludesFile")


def case_exclude_file():
    repo = new_repo()
    with_caches(repo)
    shutil.rmtree(os.path.join(repo, ".git", "info"), ignore_errors=True)
    tool(repo, "ignore", "--exclude-file", rc=0)
    assert not os.path.exists(os.path.join(repo, ".gitignore"))
    assert b"*.py[co]" in read(repo, ".git/info/exclude")
    assert_all_ignored(repo)
    before = read(repo, ".git/info/exclude")
    tool(repo, "ignore", "--exclude-file", rc=0)
    assert read(repo, ".git/info/exclude") == before


def case_exclude_file_worktree():
    repo = new_repo(["a.py"])
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "init")
    wt = repo + "-wt"
    git(repo, "worktree", "add", "-q", wt)
    with_caches(wt)
    tool(wt, "ignore", "--exclude-file", rc=0)
    want = git(wt, "rev-parse", "--path-format=absolute", "--git-path", "info/exclude")
    with open(want.stdout.decode().strip(), "rb") as f:
        assert b"*.py[co]" in f.read()
    assert_all_ignored(wt)


def case_symlinked_gitignore():
    repo = new_repo()
    touch(repo, "real-ignore", b"*.log\n")
    os.symlink("real-ignore", os.path.join(repo, ".gitignore"))
    r = tool(repo, "ignore", rc=3)
    assert b"symbolic link" in r.stderr, r.stderr
    assert os.path.islink(os.path.join(repo, ".gitignore"))
    assert read(repo, "real-ignore") == b"*.log\n"


def case_not_a_repository():
    plain = os.path.join(S.tmp, "plain")
    os.makedirs(plain)
    r = tool(plain, "ignore", rc=3)
    assert b"not a git repository" in r.stderr, r.stderr
    bare = os.path.join(S.tmp, "bare.git")
    subprocess.run(["git", "init", "-q", "--bare", bare], env=ENV, check=True)
    r = tool(bare, "ignore", rc=3)
    assert b"bare" in r.stderr, r.stderr
    tool(plain, "ignore", "--bogus", rc=2)
    tool(plain, "ignore", "--check", "--dry-run", rc=2)


def case_dash_C():
    repo = new_repo()
    run_tool(["-C", repo, "ignore"], cwd=S.tmp, env=ENV, check_rc=0)
    assert os.path.exists(os.path.join(repo, ".gitignore"))


def case_subdirectory():
    repo = new_repo()
    with_caches(repo)
    tool(os.path.join(repo, "a", "b"), "ignore", rc=0)
    assert not os.path.exists(os.path.join(repo, "a", "b", ".gitignore"))
    assert_all_ignored(repo)


def case_submodule():
    sub = new_repo(["m.py"])
    git(sub, "add", ".")
    git(sub, "commit", "-qm", "sub")
    sup = new_repo(["top.py"])
    git(sup, "add", ".")
    git(sup, "commit", "-qm", "super")
    git(sup, "-c", "protocol.file.allow=always", "submodule", "add", "-q", sub, "sub")
    inner = os.path.join(sup, "sub")
    with_caches(inner)
    tool(inner, "ignore", rc=0)
    assert os.path.exists(os.path.join(inner, ".gitignore"))
    assert not os.path.exists(os.path.join(sup, ".gitignore"))
    assert_all_ignored(inner)
    tool(sup, "ignore", "--check", rc=1)  # the superproject has no rule yet


def case_git_dir_work_tree():
    gd = os.path.join(S.tmp, "dots.git")
    wt = os.path.join(S.tmp, "dots-home")
    subprocess.run(["git", "init", "-q", "--bare", gd], env=ENV, check=True)
    os.makedirs(wt)
    env = dict(ENV, GIT_DIR=gd, GIT_WORK_TREE=wt)
    run_tool(["ignore"], cwd=wt, env=env, check_rc=0)
    assert os.path.exists(os.path.join(wt, ".gitignore"))
    r = subprocess.run(["git", "check-ignore", "-q", "--no-index", "deep/__pycache__/m.pyc"],
                       cwd=wt, env=env)
    assert r.returncode == 0


def tracked_repo():
    repo = new_repo()
    files = ["a.py", "x.pyc", "pkg/__init__.py", "pkg/__pycache__/__init__.cpython-311.pyc",
             "pkg/__pycache__/notes.txt", "pkg/old.pyo", "pkg/ext.pyd"]
    for rel in files:
        touch(repo, rel, rel.encode())
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "init")
    # other staged work that must survive
    touch(repo, "a.py", b"changed")
    touch(repo, "new.txt", b"new")
    git(repo, "add", "a.py", "new.txt")
    return repo


BYTECODE = ["pkg/__pycache__/__init__.cpython-311.pyc", "pkg/__pycache__/notes.txt",
            "pkg/old.pyo", "x.pyc"]


def case_untrack():
    repo = tracked_repo()
    tool(repo, "ignore", "--check", "--untrack", rc=1)
    r = tool(repo, "ignore", "--untrack", rc=0)
    out = r.stdout.decode()
    assert 'git commit -m "Stop tracking Python bytecode"' in out, out
    for rel in BYTECODE:
        assert rel in out, out
    tracked = git(repo, "ls-files").stdout.decode().split()
    assert not [p for p in tracked if p.endswith((".pyc", ".pyo")) or "__pycache__" in p], tracked
    assert "pkg/ext.pyd" in tracked
    for rel in BYTECODE:
        assert read(repo, rel) == rel.encode(), "%s changed on disk" % rel
    status = git(repo, "status", "--porcelain").stdout.decode().splitlines()
    for rel in BYTECODE:
        assert "D  " + rel in status, status
    assert "M  a.py" in status and "A  new.txt" in status, status
    assert not [l for l in status if l.startswith("??") and "pyc" in l], status
    # the same result as git's own command on an identical repository
    twin = tracked_repo()
    git(twin, "rm", "-r", "-q", "--cached", "x.pyc", "pkg/old.pyo", "pkg/__pycache__")
    assert git(twin, "ls-files", "-s").stdout == git(repo, "ls-files", "-s").stdout
    r = tool(repo, "ignore", "--untrack", rc=0)
    assert b"no tracked bytecode" in r.stdout, r.stdout
    tool(repo, "ignore", "--check", "--untrack", rc=0)


def case_untrack_dry_run():
    repo = tracked_repo()
    index = read(repo, ".git/index")
    r = tool(repo, "ignore", "--untrack", "--dry-run", rc=0)
    assert b"would untrack x.pyc" in r.stdout, r.stdout
    assert read(repo, ".git/index") == index
    assert not os.path.exists(os.path.join(repo, ".gitignore"))


def case_untrack_locked():
    repo = tracked_repo()
    index = read(repo, ".git/index")
    lock = os.path.join(repo, ".git", "index.lock")
    touch(repo, ".git/index.lock")
    r = tool(repo, "ignore", "--untrack", rc=3)
    assert b"index is locked by another process" in r.stderr, r.stderr
    assert lock.encode() in r.stderr, r.stderr
    assert read(repo, ".git/index") == index
    assert not os.path.exists(os.path.join(repo, ".gitignore"))
    os.unlink(lock)
    tracked = git(repo, "ls-files").stdout.decode().split()
    assert "x.pyc" in tracked


def case_untrack_json():
    import json
    repo = tracked_repo()
    r = tool(repo, "ignore", "--untrack", "--json", rc=0)
    recs = [json.loads(l) for l in r.stdout.decode().splitlines()]
    assert sorted(x["path"] for x in recs if x["type"] == "untracked") == sorted(BYTECODE)
    assert recs[-1]["type"] == "summary" and recs[-1]["untracked"] == len(BYTECODE)


# The cases share only HOME, which the global-excludes case changes, and the umask, which
# one case changes: those two run alone after the others, which run at once.
S.parallel([("ignore: %s" % name, case_variant, before, eol) for name, before, eol in VARIANTS]
           + [("ignore --dry-run shows the lines and writes nothing", case_dry_run),
              ("negations: warned with file:line; git agrees on the outcome", case_negations),
              ("--exclude-file writes info/exclude (info/ created)", case_exclude_file),
              ("--exclude-file in a linked worktree writes the common info/exclude", case_exclude_file_worktree),
              ("a symlinked .gitignore is refused and left alone", case_symlinked_gitignore),
              ("not a repository, bare repository: exit 3", case_not_a_repository),
              ("-C DIR from elsewhere", case_dash_C),
              ("from a subdirectory: the root .gitignore is written", case_subdirectory),
              ("inside a submodule: the submodule's own .gitignore", case_submodule),
              ("GIT_DIR + GIT_WORK_TREE (dotfiles style)", case_git_dir_work_tree),
              ("--untrack: index like git rm -r --cached, work tree untouched", case_untrack),
              ("--untrack --dry-run lists and changes nothing", case_untrack_dry_run),
              ("--untrack with index.lock present: nothing changes, exit 3", case_untrack_locked),
              ("--untrack --json: one record per path and a summary", case_untrack_json)])
S.parallel([("ignore: a new .gitignore gets 0666 & ~umask", case_new_file_mode),
            ("global excludes do not count (rule must be in the repository)", case_global_excludes)], jobs=1)
S.finish()
