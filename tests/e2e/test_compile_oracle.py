"""pyc-tool compile against each interpreter's own compileall, option set by option set.

For a CPython 3.6-3.13, a slice of its own standard library is laid out in a work area W:
W/tree (top-level modules, packages with subpackages, the syntax- and encoding-error files
from its test data and synthetic ones with non-ASCII messages and names, and edge cases:
odd names, modes, mtimes, symlinks, deep directories) and W/multi (larger modules, among
them every file whose opt-1/opt-2 pyc once differed when several levels were compiled in
one run; compiled by the default, multi-level and -b sets only, to keep the others cheap).
For each option set, `pythonX.Y -m compileall OPTIONS` runs on a pristine copy of W, W is
moved aside, a second pristine copy is moved in AT THE SAME PATH (co_filename embeds it), and
`pyc-tool compile --python pythonX.Y OPTIONS` runs there (the two copies are then put back
as built, in place: Image.reset). Both get PYTHONHASHSEED=0, no
PYTHONDONTWRITEBYTECODE, umask 022, and the set's environment (some run under LC_ALL=C,
C.UTF-8 and a Latin-1 locale). Then the two areas must hold the same entries with the same
types and modes, the same hard-link structure, the same exit status, and the same .pyc
contents: bytes for 3.11+; for 3.10 and earlier (where marshal sets FLAG_REF by reference
count, so compileall -j1 and -j2 already differ) the same header and code objects equal in
every co_* attribute (codecompare.py, run by the target interpreter). Some sets also
compare what both print (-q, -qq, and pyc-tool's -v against compileall's default), byte
for byte, line for line as multisets. W/pre holds caches already there (junk, a symlink, a
directory), W/nodir a __pycache__ that is a regular file. Then the no-op rule: a second
pyc-tool run rewrites nothing and starts no interpreter (a --python wrapper logs every
start). pyc-tool's compile cache is one store per version (W's sibling `store`), shared by
every set's runs as a user's store is shared by all their runs: a set's first pyc-tool run
compiles what no earlier set asked for and takes the rest from the store, its second one
(on W as built) takes everything from it, and both must equal compileall's. A key that
missed something a set changes (a locale, PYTHONWARNINGS, a level) would hand that set
another set's result: the sharing checks the keys. A set marked "known" is a KNOWN MISMATCH, run as an expected failure (reported
as SKIP while it fails).

    test_compile_oracle.py 3.12 [3.13 ...]   those versions (CTest: oracle.compile.3.12)
    test_compile_oracle.py multi             --python twice (CTest: oracle.compile.multi)
    test_compile_oracle.py --long 3.13       the multi-level sets on the whole stdlib
    test_compile_oracle.py                   every version, then multi

A version that is not installed is skipped (exit 77 when nothing ran). After each version
it prints where the time went (compileall, pyc-tool, copies, comparisons; wall and CPU).
PYC_ORACLE_SELF=1 replaces pyc-tool by `compileall -j2` (checks the harness itself);
PYC_ORACLE_VERSIONS=3.9,3.12 limits a run without arguments to those versions.
"""
import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from pyc_e2e import SkipCase, Suite, clean_env, interpreters, make_wrapper, run_tool  # noqa: E402

CODECOMPARE = os.path.join(HERE, "codecompare.py")
SELF_CHECK = os.environ.get("PYC_ORACLE_SELF") == "1"

TOP_MODULES = ["abc.py", "bisect.py", "colorsys.py", "heapq.py", "keyword.py", "string.py",
               "textwrap.py", "this.py"]
PACKAGES = ["concurrent", "json"]                  # concurrent/futures: a subpackage
# Sources whose opt-1/opt-2 pycs came out different when one worker compiled several levels
# in a row (3.11: ftplib; 3.13: the others): marshal's reference flags followed the previous
# level's code object. Copied to W/multi with their stdlib paths, for the multi-level sets.
# With larger modules, they are compiled by the sets where the code itself matters (default,
# multi-level, -b); the sets about paths and options compile W/tree only, which is small.
MULTI_LEVEL = ["logging/config.py", "importlib/metadata/__init__.py",
               "importlib/resources/_adapters.py", "test/test_grammar.py", "asyncio/events.py",
               "xml/sax/saxutils.py", "xml/etree/ElementTree.py", "ftplib.py",
               "fractions.py", "_collections_abc.py", "contextlib.py", "numbers.py",
               # what compileall itself has imported: in 3.13 its loaded strings changed
               # the flags of these two even at one level, until the workers imported it
               "argparse.py", "functools.py"]
# Syntax- and encoding-error files of the test data; the layout moved between versions.
BAD_GLOBS = ["test/badsyntax_*.py", "test/bad_coding*.py",
             "test/tokenizedata/badsyntax_*.py", "test/tokenizedata/bad_coding*.py",
             "test/test_future_stmt/badsyntax_future*.py"]
LIB2TO3 = ["bom.py", "crlf.py", "different_encoding.py", "false_encoding.py",
           "py2_test_grammar.py", "py3_test_grammar.py"]
# Errors from each stage a source goes through (decoding, tokenizer, parser, compiler,
# symbol table, __future__ check), written into every tree: the stdlib's own test data
# above is absent where Debian's libpython3.X-testsuite is not installed.
SYNTHETIC_BAD = {
    "syn_indent.py": b"def f():\nreturn 1\n",
    "syn_unterminated.py": b"s = 'abc\n",
    "syn_unknown_coding.py": b"# -*- coding: uft-8 -*-\nx = 1\n",
    "syn_invalid_utf8.py": b"# coding: utf-8\ns = '\xff'\n",
    "syn_return.py": b"x = 1\nreturn x\n",
    "syn_nonlocal.py": b"nonlocal x\n",
    "syn_late_future.py": b"x = 1\nfrom __future__ import division\n",
    # Non-ASCII in the message and in the names: printed per the stdout encoding.
    "syn_euro.py": "\u20ac = 2\n".encode("utf-8"),
    "b\u00e4d_\u00fc.py": b"def f(:\n",
    os.fsdecode(b"l\xe9_\xff.py"): b"s = '\xe9\n",
    # A warning before the error (3.12+): printed again on every run, as compileall does.
    "syn_warned.py": b"s = '\\d'\ndef f(:\n",
}
# Sources the compiler warns about: SyntaxWarning from 3.8 ("is" with a literal) and for
# invalid escapes from 3.12 (a DeprecationWarning before, shown only with PYTHONWARNINGS),
# with a non-ASCII source line, printed per the stderr encoding.
WARN_FILES = {
    "is_literal.py": b"x = 1\nif x is 1:\n    pass\n",
    "escapes.py": b"a = '\\d'\nb = 1\nc = '\\q'\n",
    "caf\u00e9.py": "t = 'caf\u00e9 \\d'  # \u20ac\n".encode("utf-8"),
}


def latin1_locale():
    """A Latin-1 locale from `locale -a` (de_DE.iso88591...), or None."""
    try:
        names = subprocess.run(["locale", "-a"], capture_output=True).stdout.decode().split()
    except OSError:
        return None
    return next((n for n in names if n.lower().replace("-", "").endswith(".iso88591")), None)


LATIN1 = latin1_locale()
MODES = {"keyword.py": 0o755, "string.py": 0o600, "textwrap.py": 0o444, "bisect.py": 0o640}
DEEP = 11       # deeper than compileall's old default recursion limit of 10 (3.6-3.8)


# Where a version's time goes (printed after it): compileall, pyc-tool, copies, comparisons,
# wall-clock seconds and CPU seconds (this script's and those of the processes it ran).
TIMES = {}
CPU = {}


def child_cpu():
    t = os.times()
    return t[0] + t[1] + t[2] + t[3]


class timed:
    def __init__(self, kind):
        self.kind = kind

    def __enter__(self):
        self.t0, self.c0 = time.time(), child_cpu()

    def __exit__(self, *exc):
        TIMES[self.kind] = TIMES.get(self.kind, 0.0) + time.time() - self.t0
        CPU[self.kind] = CPU.get(self.kind, 0.0) + child_cpu() - self.c0


def copy_area(src, dst):
    """cp -a in-process (a process per copy cost more CPU than the copying): symlinks as
    links, the FIFO as a new FIFO (never opened), modes and ns mtimes kept."""
    def copy(s, d):
        if stat.S_ISFIFO(os.lstat(s).st_mode):
            os.mkfifo(d)
            shutil.copystat(s, d)
        else:
            shutil.copy2(s, d)
    with timed("copies"):
        shutil.copytree(src, dst, symlinks=True, copy_function=copy)


def remove_areas(*dirs):
    with timed("copies"):
        for d in dirs:
            if os.path.lexists(d):
                shutil.rmtree(d)


def scan(root):
    """{relative path: lstat result} for everything under root, a directory before its
    entries. scandir and string joins: os.walk with relpath per entry cost more CPU than
    the lstat calls."""
    found = {}

    def walk(path, prefix):
        with os.scandir(path) as it:
            entries = sorted(it, key=lambda e: e.name)
        for e in entries:
            rel = prefix + e.name
            st = found[rel] = e.stat(follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                walk(e.path, rel + "/")
    walk(root, "")
    return found


class Image:
    """What a work area holds as built, in memory, to put an area back as it was in place
    of a fresh copy per run: most of it is sources that neither tool writes, and copying
    them twice per option set cost a third of the time. An entry is kept when its kind,
    mode, owner, link count, size, mtime and bytes (or link target) are as built;
    anything else a run added or changed is removed, and what is missing is copied back
    from the pristine copy.

    The bytes of a regular file are read once per inode: `verified` holds the (path,
    inode) of each file found or made equal to the pristine one, with its ctime then. The
    kernel sets the ctime to the current time on every change of the inode (a write, a
    truncate, utime, chmod, a link, a rename), so a file whose ctime is the one recorded
    still has those bytes."""

    def __init__(self, pristine):
        self.pristine = pristine
        self.mode = stat.S_IMODE(os.lstat(pristine).st_mode)
        self.verified = {}
        self.entries = dict((rel, self.entry(os.path.join(pristine, rel), st))
                            for rel, st in scan(pristine).items())

    @staticmethod
    def entry(path, st):
        kind = stat.S_IFMT(st.st_mode)
        meta = (kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
        if stat.S_ISDIR(st.st_mode):
            return meta                 # its size, links and mtime follow its entries
        if stat.S_ISLNK(st.st_mode):
            return (kind, os.readlink(path))
        meta += (st.st_nlink, st.st_size, st.st_mtime_ns)
        return meta + (read(path),) if stat.S_ISREG(st.st_mode) else meta

    def unchanged(self, rel, st):
        """True when the regular file at rel is, bytes included, one verified as built."""
        return self.verified.get((rel, st.st_ino)) == st.st_ctime_ns

    def as_built(self, rel, path, st):
        want = self.entries.get(rel)
        if want is None or want[0] != stat.S_IFMT(st.st_mode):
            return False
        if not stat.S_ISREG(st.st_mode):
            return want == self.entry(path, st)
        if want[:7] != (want[0], stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid,
                        st.st_nlink, st.st_size, st.st_mtime_ns):
            return False
        if not self.unchanged(rel, st):
            if read(path) != want[7]:
                return False
            self.verified[(rel, st.st_ino)] = st.st_ctime_ns
        return True

    def reset(self, root):
        """Make the tree at root what the pristine copy is, touching only what differs."""
        kept, gone = set(), ()
        os.chmod(root, self.mode)
        for rel, st in scan(root).items():
            if rel.startswith(gone):
                continue                # in a directory removed as a whole
            path = os.path.join(root, rel)
            if self.as_built(rel, path, st):
                kept.add(rel)
            elif stat.S_ISDIR(st.st_mode):
                shutil.rmtree(path)
                gone += (rel + "/",)
            else:
                os.unlink(path)
        for rel in sorted(set(self.entries) - kept):    # a directory before its entries
            src, dst = os.path.join(self.pristine, rel), os.path.join(root, rel)
            if self.entries[rel][0] == stat.S_IFDIR:
                os.mkdir(dst)
                shutil.copystat(src, dst)
            elif self.entries[rel][0] == stat.S_IFLNK:
                os.symlink(os.readlink(src), dst)
            elif self.entries[rel][0] == stat.S_IFIFO:
                os.mkfifo(dst)
                shutil.copystat(src, dst)
            else:
                shutil.copy2(src, dst)
                st = os.lstat(dst)
                self.verified[(rel, st.st_ino)] = st.st_ctime_ns


def stdlib_dir(interp):
    r = interp.run(["-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"])
    return r.stdout.decode().strip()


def copy_py_tree(src, dst):
    """The .py files of a package and its subpackages, without caches or data."""
    for root, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and d != "tests")
        rel = os.path.relpath(root, src)
        os.makedirs(os.path.join(dst, rel), exist_ok=True)
        for name in sorted(files):
            if name.endswith(".py"):
                shutil.copy2(os.path.join(root, name), os.path.join(dst, rel, name))


def write(path, data, mtime_ns=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))


def add_bad_files(lib, tree):
    import glob
    seen = set()
    for pattern in BAD_GLOBS:
        for src in sorted(glob.glob(os.path.join(lib, pattern))):
            name = os.path.basename(src)
            if name not in seen:
                seen.add(name)
                shutil.copy2(src, os.path.join(tree, "bad", name))
    for name in LIB2TO3:
        src = os.path.join(lib, "lib2to3", "tests", "data", name)
        if os.path.exists(src):
            os.makedirs(os.path.join(tree, "bad", "lib2to3"), exist_ok=True)
            shutil.copy2(src, os.path.join(tree, "bad", "lib2to3", name))
    for name, text in SYNTHETIC_BAD.items():
        write(os.path.join(tree, "bad", name), text)
    write(os.path.join(tree, "bad", "nul.py"), b"x = 1\0\n")
    os.symlink("../nonexistent.py", os.path.join(tree, "bad", "dangling.py"))
    return len(seen)


def add_edge_files(interp, work, tree):
    for name, text in WARN_FILES.items():
        write(os.path.join(tree, "warn", name), text)
    edge = os.path.join(tree, "edge")
    write(os.path.join(edge, "empty.py"), "")
    write(os.path.join(edge, "cr.py"), b"a = 1\rb = 2\r")
    # A BOM, and a frozenset constant: its order depends on the string hash (seed 0).
    write(os.path.join(edge, "bom.py"), b"\xef\xbb\xbf# coding: utf-8\n"
          b"def f(x):\n    return x in {'alpha', 'beta', 'gamma', 'delta', 1.5, b'z'}\n")
    write(os.path.join(edge, os.fsdecode(b"non-utf8-\xff.py")), "u = 1\n")
    write(os.path.join(edge, "pkg.py", "m.py"), "in_a_directory_named_like_a_module = 1\n")
    os.mkfifo(os.path.join(edge, "fifo.py"))        # not a regular file: skipped, never opened
    if interp.version[:2] >= (3, 9):                # 3.6-3.8's compileall crashes on >= 2**31
        write(os.path.join(edge, "far.py"), "far = 1\n", mtime_ns=(2 ** 32 + 5) * 10 ** 9)
    write(os.path.join(edge, "sp ace.py"), "x = 'space'\n")
    write(os.path.join(edge, "\u00fcn\u00ef.py"), "y = '\u00fcn\u00ef'\n")
    write(os.path.join(edge, ".hidden.py"), "z = 1\n")
    write(os.path.join(edge, "gui.pyw"), "w = 1\n")
    write(os.path.join(edge, "notes.txt"), "not python\n")
    write(os.path.join(edge, "latin1.py"), b"# -*- coding: latin-1 -*-\ns = '\xe9'\n")
    write(os.path.join(edge, "crlf.py"), b"a = 1\r\nb = {a, 'x', 2.5}\r\n")
    # int(st_mtime) rounds this one up to the next second; this one is negative.
    write(os.path.join(edge, "frac.py"), "f = 0.0\n", mtime_ns=1700000000999999999)
    write(os.path.join(edge, "neg.py"), "n = -0.0\n", mtime_ns=-1500000000)
    deep = edge
    for i in range(1, DEEP + 1):
        deep = os.path.join(deep, "d%d" % i)
        write(os.path.join(deep, "m.py"), "level = %d\n" % i)
    links = os.path.join(tree, "links")
    os.makedirs(links)
    os.symlink("../heapq.py", os.path.join(links, "inside.py"))
    os.symlink(os.path.join(work, "outside", "target.py"), os.path.join(links, "outside.py"))
    os.symlink("../json", os.path.join(links, "dirlink"))
    write(os.path.join(work, "outside", "target.py"), "outside = True\n")
    add_existing_caches(interp, work)


def add_existing_caches(interp, work):
    """W/pre: caches already there that no writer may keep or write through: a symlink
    and a directory where a pyc goes (py_compile refuses both), a junk pyc with mode 0600,
    and W/nodir, whose __pycache__ is a regular file (its sources fail, those of its
    subdirectory are compiled; this was test_compile_basic's "unwritable cache paths")."""
    pre = os.path.join(work, "pre")
    for name in ("link", "dir", "junk"):
        write(os.path.join(pre, name + ".py"), "%s = 1\n" % name)
    for name in ("m", "n", "ok/m"):
        write(os.path.join(work, "nodir", name + ".py"), "%s = 1\n" % name[-1])
    write(os.path.join(work, "nodir", "__pycache__"), "not a directory\n")
    cache = os.path.join(pre, "__pycache__")
    os.makedirs(cache)
    write(os.path.join(work, "outside", "old.pyc"), b"not a pyc")
    os.symlink(os.path.join(work, "outside", "old.pyc"),
               os.path.join(cache, "link.%s.pyc" % interp.tag))
    os.makedirs(os.path.join(cache, "dir.%s.pyc" % interp.tag))
    write(os.path.join(cache, "junk.%s.pyc" % interp.tag), b"junk")
    os.chmod(os.path.join(cache, "junk.%s.pyc" % interp.tag), 0o600)


# The stdlib caches of what compileall (its main(), on a file) and pyc-tool's workers
# import, where the interpreter looks for them under a PYTHONPYCACHEPREFIX (3.8+), as
# "SRC\0DST" lines.
PREFIX_IMPORTS = (
    "import compileall, argparse, runpy, py_compile, importlib.util, os, signal, struct\n"
    "import collections.abc, shutil, sys, tempfile\n"
    "d = tempfile.mkdtemp()\n"
    "open(os.path.join(d, 'm.py'), 'w').close()\n"
    "sys.argv[1:] = ['-q', d]\n"
    "compileall.main()\n"
    "shutil.rmtree(d)\n"
    "sys.pycache_prefix = os.environ['PREFIX']\n"
    "for m in list(sys.modules.values()):\n"
    "    c, f = getattr(m, '__cached__', None), getattr(m, '__file__', None)\n"
    "    if c and f and f.endswith('.py') and os.path.isfile(c):\n"
    "        print(c + '\\0' + importlib.util.cache_from_source(f))\n")


def seed_prefix(interp, work):
    """W/prefix with the stdlib's own caches of those imports, copied: without them every
    interpreter of the PYTHONPYCACHEPREFIX set (compileall, each worker, cold and warm)
    compiled its imports from source. They are outside W/prefix/W/tree, which alone is
    compared (ours)."""
    prefix = os.path.join(work, "prefix")
    r = interp.run(["-c", PREFIX_IMPORTS], env=clean_env(PREFIX=prefix))
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    for line in r.stdout.decode("utf-8", "surrogateescape").splitlines():
        src, dst = line.split("\0")
        if dst.startswith(prefix + "/"):
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy2(src, dst)


def build_area(interp, work):
    """Lay out W = work: W/tree (compiled), W/outside (symlink targets), W/prefix."""
    lib = stdlib_dir(interp)
    tree = os.path.join(work, "tree")
    os.makedirs(os.path.join(tree, "bad"))
    os.makedirs(os.path.join(work, "prefix"))
    for name in TOP_MODULES:
        if os.path.exists(os.path.join(lib, name)):
            shutil.copy2(os.path.join(lib, name), os.path.join(tree, name))
    for name, mode in MODES.items():
        os.chmod(os.path.join(tree, name), mode)
    for pkg in PACKAGES:
        copy_py_tree(os.path.join(lib, pkg), os.path.join(tree, pkg))
    for rel in MULTI_LEVEL:
        if os.path.exists(os.path.join(lib, rel)):
            write(os.path.join(work, "multi", rel), read(os.path.join(lib, rel)))
    if add_bad_files(lib, tree) < 3:
        print("note: %s has no syntax-error test data (Debian: libpython%d.%d-testsuite);"
              " the synthetic ones stand in" % (lib, interp.version[0], interp.version[1]),
              flush=True)
    add_edge_files(interp, work, tree)
    if interp.version[:2] >= (3, 8):
        seed_prefix(interp, work)


def snapshot(root):
    """({relative path: (kind, mode[, mtime_ns])} for everything under root, the hard-link
    groups among regular files, {relative path: lstat result} of the regular files)."""
    entries, inodes, files = {}, {}, {}
    for rel, st in scan(root).items():
        if stat.S_ISLNK(st.st_mode):
            entries[rel] = ("link", os.readlink(os.path.join(root, rel)))
        elif stat.S_ISDIR(st.st_mode):
            entries[rel] = ("dir", oct(stat.S_IMODE(st.st_mode)))
        elif not stat.S_ISREG(st.st_mode):
            entries[rel] = ("special", oct(st.st_mode))     # the FIFO: never read it
        else:
            entries[rel] = ("file", oct(stat.S_IMODE(st.st_mode)), st.st_mtime_ns)
            files[rel] = st
            inodes.setdefault((st.st_dev, st.st_ino), []).append(rel)
    links = sorted(tuple(sorted(g)) for g in inodes.values() if len(g) > 1)
    return entries, links, files


def read(path):
    with open(path, "rb") as f:
        return f.read()


def ours(rel, work):
    """False for what the interpreters cache of their own imports under W/prefix (both
    compileall and the workers import modules with PYTHONPYCACHEPREFIX set)."""
    if not rel.startswith("prefix/"):
        return True
    return rel.startswith("prefix/" + work.lstrip("/") + "/tree")


def compare_areas(interp, oracle, tool, image=None):
    """Raise AssertionError naming every difference between the two work areas; else
    return ({pyc written by compileall: mtime_ns}, a digest of what it wrote). With the
    Image both areas were reset by, a file that is in both as built (Image.unchanged) is
    equal without reading it."""
    (eo, lo, so), (et, lt, st) = snapshot(oracle), snapshot(tool)
    eo = dict((k, v) for k, v in eo.items() if ours(k, tool))
    et = dict((k, v) for k, v in et.items() if ours(k, tool))
    lo = [g for g in lo if ours(g[0], tool)]
    lt = [g for g in lt if ours(g[0], tool)]
    problems = []
    missing = sorted(set(eo) - set(et))
    extra = sorted(set(et) - set(eo))
    if missing:
        problems.append("only compileall wrote: %s" % ", ".join(missing[:8]))
    if extra:
        problems.append("only pyc-tool wrote: %s" % ", ".join(extra[:8]))
    pairs, data = [], {}
    for rel in sorted(set(eo) & set(et)):
        o, t = eo[rel], et[rel]
        if o[0] != t[0] or o[1] != t[1]:
            problems.append("%s: %s vs %s" % (rel, o[:2], t[:2]))
            continue
        if o[0] != "file":
            continue
        if image and image.unchanged(rel, so[rel]) and image.unchanged(rel, st[rel]):
            data[rel] = image.entries[rel][7]
            continue
        data[rel] = read(os.path.join(oracle, rel))
        same = data[rel] == read(os.path.join(tool, rel))
        if not rel.endswith(".pyc"):
            if o[2] != t[2] or not same:
                problems.append("%s: a source changed" % rel)
        elif not same:
            pairs.append(rel)
    if lo != lt:
        problems.append("hard links: compileall %s, pyc-tool %s" % (lo, lt))
    problems += compare_pycs(interp, oracle, tool, pairs)
    if problems:
        raise AssertionError("\n  ".join(["%d difference(s):" % len(problems)] + problems))
    written = hashlib.sha256()
    pycs = sorted(r for r in eo if r.endswith(".pyc") and eo[r][0] == "file")
    for rel in pycs:
        written.update(os.fsencode("%s %s\0" % (rel, eo[rel][1])) + data[rel])
    written.update(repr(lo).encode())
    return dict((r, eo[r][2]) for r in pycs), written.hexdigest()


# codecompare's verdict depends on the two files' bytes only: a pair of pycs it found
# equal is not asked again in this process (the same pairs come back from many option
# sets, and from each set's warm run). Keys: (interpreter, sha256 of each file).
EQUAL_CODE = set()


def pair_key(interp, oracle, tool, rel):
    return (interp.exe, hashlib.sha256(read(os.path.join(oracle, rel))).digest(),
            hashlib.sha256(read(os.path.join(tool, rel))).digest())


def compare_pycs(interp, oracle, tool, rels):
    """Byte-different pycs: an error for 3.11+, else equal headers and code required.
    `interp` may be a list (several --python): each pyc goes to the one of its cache tag."""
    if isinstance(interp, list):
        found = []
        for i in interp:
            mine = [r for r in rels if ".%s." % i.tag in os.path.basename(r)]
            found += compare_pycs(i, oracle, tool, mine)
        other = [r for r in rels if not any(".%s." % i.tag in os.path.basename(r) for i in interp)]
        return found + ["%s: bytes differ (no cache tag)" % r for r in other]
    keys = {}
    if interp.version[:2] < (3, 11):
        keys = dict((rel, pair_key(interp, oracle, tool, rel)) for rel in rels)
        rels = [rel for rel in rels if keys[rel] not in EQUAL_CODE]
    if not rels:
        return []
    args = []
    for rel in rels:
        args += [os.path.join(oracle, rel), os.path.join(tool, rel)]
    r = interp.run([CODECOMPARE] + args)
    if r.returncode not in (0, 1):
        return ["codecompare failed: %s" % r.stderr.decode(errors="replace")]
    found, told = [], set()
    for line in r.stdout.decode("utf-8", "surrogateescape").splitlines():
        for rel in rels:
            head = "DIFF %s %s: " % (os.path.join(oracle, rel), os.path.join(tool, rel))
            if line.startswith(head):
                found.append("pyc %s: %s" % (rel, line[len(head):]))
                told.add(rel)
    if r.returncode and not found:
        found.append("codecompare: %s" % r.stdout.decode(errors="replace"))
    else:
        EQUAL_CODE.update(keys[rel] for rel in keys if rel in rels and rel not in told)
    if interp.version[:2] >= (3, 11):
        found += ["%s: bytes differ (3.11+ must be byte-identical)%s" % (
            rel, "" if r.returncode else "; code objects equal") for rel in rels]
    return found


class Area:
    """One interpreter's work area W and its pristine copy; runs both tools at W."""

    def __init__(self, interp, vdir, build=None):
        self.interp = interp
        self.work = os.path.join(vdir, "w")
        self.tree = os.path.join(self.work, "tree")
        self.pristine = os.path.join(vdir, "pristine")
        self.oracle = os.path.join(vdir, "w.compileall")
        self.spare = os.path.join(vdir, "w.spare")
        self.store = os.path.join(vdir, "store")    # pyc-tool's, for every set (above)
        self.compared = 0               # pycs in the last comparison
        (build or build_area)(interp, self.work)
        copy_area(self.work, self.pristine)
        copy_area(self.work, self.spare)
        with timed("copies"):
            self.image = Image(self.pristine)
        entries = snapshot(self.pristine)[0]
        self.before = dict((r, e[2]) for r, e in entries.items()
                           if r.endswith(".pyc") and e[0] == "file")

    def restore(self):
        """W and the spare area as built. Two areas take turns: W for compileall, moved
        aside to W.compileall, then the spare one moved to W for pyc-tool."""
        with timed("copies"):
            if os.path.exists(self.oracle):
                os.rename(self.oracle, self.spare)
            self.image.reset(self.work)
            self.image.reset(self.spare)

    def aside(self):
        """W (compileall's run) to W.compileall, and the spare area, as built, to W."""
        os.rename(self.work, self.oracle)
        os.rename(self.spare, self.work)

    def expand(self, items):
        return [x.replace("{tree}", self.tree).replace("{work}", self.work) for x in items]

    def run_compileall(self, opts, env, stdin, extra=(), exe=None):
        cmd = [exe or self.interp.exe, "-m", "compileall"] + list(extra) + opts
        with timed("compileall"):
            return subprocess.run(cmd, cwd=self.work, env=env, input=stdin,
                                  capture_output=True, timeout=300)

    def run_tool(self, opts, env, stdin, python=None, kind="pyc-tool"):
        if SELF_CHECK:
            opts = [o for o in opts if o != "-v"]
            return self.run_compileall(opts, env, stdin, extra=["-j2"])
        args = ["compile", "--python", python or self.interp.exe] + opts
        with timed(kind):
            return run_tool(args, cwd=self.work, env=env, input=stdin)

    def versus(self, opts, env_extra=None, stdin=None, tool_extra=(), output=False,
               nothing=False, twice=False):
        """compileall, then pyc-tool (with tool_extra too), at the same path; compare the
        areas, exit statuses and, with output=True, the printed lines. Returns a digest
        of what compileall wrote."""
        env = self.env = clean_env(**dict((k, self.expand([v])[0])
                                          for k, v in (env_extra or {}).items()))
        env["PYC_TOOL_CACHE_DIR"] = self.store
        opts = self.expand(opts)
        stdin = self.expand([stdin])[0].encode() if stdin is not None else None
        self.restore()
        ro = ro1 = self.run_compileall(opts, env, stdin)
        if twice:                           # compare the first runs and the reruns
            ro = self.run_compileall(opts, env, stdin)
        self.aside()
        rt = rt1 = self.run_tool(list(tool_extra) + opts, env, stdin)
        if twice:
            rt = self.run_tool(list(tool_extra) + opts, env, stdin)
        where = []
        if twice and ro1.returncode != rt1.returncode:
            where.append("first run's exit status: compileall %d, pyc-tool %d" % (
                ro1.returncode, rt1.returncode))
        if twice and output and not SELF_CHECK:
            where += ["first run: " + w for w in compare_output(ro1, rt1, output)]
        if ro.returncode != rt.returncode:
            where.append("exit status: compileall %d, pyc-tool %d" % (ro.returncode, rt.returncode))
        npycs = digest = 0
        try:
            with timed("comparisons"):
                pycs, digest = compare_areas(self.interp, self.oracle, self.work, self.image)
            # pycs written by this run: not there before, or there with another mtime
            npycs = len([r for r, t in pycs.items() if self.before.get(r) != t])
            self.compared = len(pycs)
        except AssertionError as e:
            where.append(str(e))
        if output and not SELF_CHECK:       # compileall -j2 interleaves its workers' lines
            where += compare_output(ro, rt, output)
        if where:
            raise AssertionError("\n".join(where) + "\n" + transcript(ro, rt))
        if nothing and ro.returncode != nothing:   # then it wrote nothing, nor did pyc-tool
            raise AssertionError("compileall was expected to exit %d without writing\n"
                                 % nothing + transcript(ro, rt))
        if npycs == 0 and not nothing:
            raise AssertionError("compileall wrote no .pyc at all: the case checks nothing\n"
                                 + transcript(ro, rt))
        if not SELF_CHECK and "--no-cache" not in tool_extra:
            self.warm(opts, env, stdin, tool_extra, output, ro1, rt1)
        return digest

    def warm(self, opts, env, stdin, tool_extra, output, ro1, rt1):
        """The same pyc-tool run again on W as built (a fresh tree, the same bytes) with the
        compile cache the first run filled (the same env): every file a hit, and the result
        still compileall's (issue #11: the oracle runs warm)."""
        with timed("copies"):
            self.image.reset(self.work)
        rw = self.run_tool(list(tool_extra) + opts, env, stdin, kind="pyc-tool warm")
        where = []
        if rw.returncode != ro1.returncode:
            where.append("warm run's exit status: compileall %d, pyc-tool %d" % (
                ro1.returncode, rw.returncode))
        try:
            with timed("comparisons"):
                compare_areas(self.interp, self.oracle, self.work, self.image)
        except AssertionError as e:
            where.append("warm run: %s" % e)
        if output:
            where += ["warm run: " + w for w in compare_output(ro1, rw, output)]
        if where:
            raise AssertionError("\n".join(where) + "\n" + transcript(ro1, rw))


SUMMARY = re.compile(rb"^compiled \d+, up to date \d+, failed \d+ in ")


def compare_output(ro, rt, mode=True):
    """The lines compileall printed (stdout, and the SyntaxWarnings on stderr) as a
    multiset (workers finish in any order, as with compileall -j), against pyc-tool's
    stdout and stderr without its summary line. "exact" (pyc-tool -j1): stderr byte for
    byte, stdout line for line in order. "errors": only the "*** Error compiling" lines
    (which files failed), where compileall's reason names a temporary file of its own."""
    exact = mode == "exact"
    mine = [l for l in (rt.stdout + rt.stderr).splitlines() if not SUMMARY.match(l)]
    theirs = (ro.stdout + ro.stderr).splitlines()           # + SyntaxWarnings; bytes, exactly
    if mode == "errors":
        mine = [l for l in mine if l.startswith(b"*** Error compiling")]
        theirs = [l for l in theirs if l.startswith(b"*** Error compiling")]
    if exact and ro.stderr != rt.stderr:
        return ["stderr differs:\n  compileall: %r\n  pyc-tool:   %r" % (ro.stderr, rt.stderr)]
    if exact and ro.stdout.splitlines() != [l for l in rt.stdout.splitlines()
                                            if not SUMMARY.match(l)]:
        return ["stdout differs (in order):\n  compileall: %r\n  pyc-tool:   %r" % (
            ro.stdout, rt.stdout)]
    if sorted(mine) == sorted(theirs):
        return []
    a, b = set(theirs), set(mine)
    return ["output differs: only compileall printed %s; only pyc-tool printed %s" % (
        sorted(a - b)[:6], sorted(b - a)[:6]) if a != b else
        "output differs in how often some lines are printed"]


def transcript(ro, rt):
    def tail(b):
        lines = b.decode(errors="replace").splitlines()
        return "\n    ".join(lines[-12:])
    return ("  compileall stdout (tail):\n    %s\n  pyc-tool stdout:\n    %s\n"
            "  pyc-tool stderr:\n    %s" % (tail(ro.stdout), tail(rt.stdout), tail(rt.stderr)))


# (label, options incl. arguments, environment, stdin, first version whose compileall has
# the options[, extras]); {tree} and {work} stand for W/tree and W. Extras: "tool" options
# only pyc-tool gets, "output": compare what both print too, "same": this set may write
# what the default set writes (else that is reported: the option changed nothing here);
# "nothing": compileall exits with this status (2: refuses the options) and writes nothing;
# "output": "exact" compares stderr byte for byte and stdout in order (with -j1);
# "locale": the LC_ALL it runs under (None: no such locale here, skipped); "twice": each
# tool runs twice, the second runs are compared.
OPTION_SETS = [
    ("default", ["{tree}", "{work}/multi"], None, None, (3, 6), {"same": True}),
    ("-v: compileall's Listing/Compiling lines", ["{tree}"], None, None, (3, 6),
     {"output": True, "tool": ["-v"], "same": True}),
    ("-o 1 -o 2 --hardlink-dupes", ["-o", "1", "-o", "2", "--hardlink-dupes", "{tree}",
                                    "{work}/multi"], None, None, (3, 9)),
    ("-o 0 -o 1", ["-o", "0", "-o", "1", "{tree}", "{work}/multi"], None, None, (3, 9)),
    ("-o 0 -o 1 -o 2 -j1", ["-j1", "-o", "0", "-o", "1", "-o", "2", "{work}/multi"],
     None, None, (3, 9)),
    ("--invalidation-mode timestamp", ["--invalidation-mode", "timestamp", "{tree}"],
     None, None, (3, 7), {"same": True}),
    ("--invalidation-mode checked-hash", ["--invalidation-mode", "checked-hash", "{tree}"],
     None, None, (3, 7)),
    ("--invalidation-mode unchecked-hash", ["--invalidation-mode", "unchecked-hash", "{tree}"],
     None, None, (3, 7)),
    ("SOURCE_DATE_EPOCH=1700000000", ["{tree}"], {"SOURCE_DATE_EPOCH": "1700000000"},
     None, (3, 6)),
    # W/tree/links: -d on symlinked files (inside and outside) and a symlinked directory
    ("-d /srv/app DIR FILE LINKS", ["-d", "/srv/app", "{tree}/concurrent", "{tree}/keyword.py",
                                    "{tree}/links"], None, None, (3, 6)),
    ("-s W/tree -p /srv/app", ["-s", "{tree}", "-p", "/srv/app", "{tree}"], None, None, (3, 9)),
    ("-s W/tree/ -p /srv/app", ["-s", "{tree}/", "-p", "/srv/app", "{tree}"],
     None, None, (3, 9)),
    # A -s that is a prefix of the paths as strings but not as components: compileall says
    # so per file ("not a valid prefix ... ignoring") and strips nothing, unless -qq
    ("-s W/tr -p /srv/app: not a valid prefix (-v)", ["-s", "{work}/tr", "-p", "/srv/app",
                                                      "{tree}/json"], None, None, (3, 9),
     {"output": True, "tool": ["-v"]}),
    ("-s W/tr -p /srv/app: not a valid prefix (-q)", ["-q", "-s", "{work}/tr", "-p",
                                                      "/srv/app", "{tree}/json"], None, None,
     (3, 9), {"output": True}),
    ("-b", ["-b", "{tree}"], None, None, (3, 6)),
    # compileall compiles every level into foo.pyc, the lower one first: in 3.12 that
    # compile interns strings for good and changes the last one's reference flags
    ("-b -o 1 -o 2", ["-b", "-o", "1", "-o", "2", "{tree}", "{work}/multi"], None, None,
     (3, 9)),
    # -1 is the level PYTHONOPTIMIZE says (2), compiled first; foo.pyc keeps level 0's code
    ("-b -o -1 -o 0 under PYTHONOPTIMIZE=2", ["-b", "-o", "-1", "-o", "0", "{tree}/json"],
     {"PYTHONOPTIMIZE": "2"}, None, (3, 9)),
    # -1 and 0 both write the plain pyc: compiled twice, as compileall does (3.12 again)
    ("-o -1 -o 0 -o 1", ["-o", "-1", "-o", "0", "-o", "1", "{work}/multi"], None, None,
     (3, 9)),
    ("-x (?i)/BAD/|futures|\\.hidden", ["-x", "(?i)/BAD/|futures|\\.hidden", "{tree}"],
     None, None, (3, 6)),
    ("-l", ["-l", "{tree}"], None, None, (3, 6)),
    ("-l -r 2 (-r wins)", ["-l", "-r", "2", "{tree}"], None, None, (3, 6)),
    ("-q, run twice: errors reported as compileall reports them, again on the rerun",
     ["-q", "{tree}"], None, None, (3, 6),
     {"output": True, "same": True, "twice": True}),
    ("-qq: nothing printed but warnings", ["-qq", "{tree}"], None, None, (3, 6),
     {"output": True, "same": True}),
    # The warnings of each compile on stderr, in order, bytes as compileall's process
    # writes them (pyc-tool prints what its workers captured when it reports the file).
    ("-q -j1: warnings and errors, stderr byte for byte", ["-q", "{tree}/warn", "{tree}/bad"],
     None, None, (3, 6), {"output": "exact", "tool": ["-j1"]}),
    ("-v -j1, PYTHONWARNINGS=always under LC_ALL=C: DeprecationWarnings too, escaped",
     ["{tree}/warn"], {"PYTHONWARNINGS": "always"}, None, (3, 6),
     {"output": "exact", "tool": ["-v", "-j1"], "locale": "C"}),
    ("-q -j1 -b -o 0 -o 1: the warnings of every compile, discarded ones too",
     ["-q", "-b", "-o", "0", "-o", "1", "{tree}/warn"], None, None, (3, 9),
     {"output": "exact", "tool": ["-j1"]}),
    ("-i with a list that cannot be read", ["-i", "{work}/nosuch", "{tree}/json"], None, None,
     (3, 6), {"output": True, "nothing": 1}),
    ("-qq -i with a list that cannot be read", ["-qq", "-i", "{work}/nosuch", "{tree}/json"],
     None, None, (3, 6), {"output": True, "nothing": 1}),
    ("-q under LC_ALL=C", ["-q", "{tree}/bad", "{tree}/edge"], None, None, (3, 6),
     {"output": True, "locale": "C"}),
    ("-v under LC_ALL=C", ["{tree}/bad", "{tree}/edge"], None, None, (3, 6),
     {"output": True, "tool": ["-v"], "locale": "C"}),
    ("-v under LC_ALL=C.UTF-8", ["{tree}/bad", "{tree}/edge"], None, None, (3, 6),
     {"output": True, "tool": ["-v"], "locale": "C.UTF-8"}),
    ("-v under a Latin-1 locale", ["{tree}/bad", "{tree}/edge"], None, None, (3, 6),
     {"output": True, "tool": ["-v"], "locale": LATIN1}),
    ("several arguments: DIR, a FILE in it, DIR again, FILE",
     ["{tree}/json", "{tree}/json/decoder.py", "{tree}/json", "{tree}/heapq.py"],
     None, None, (3, 6)),
    ("relative arguments: ./tree/json tree/concurrent (cwd W)", ["./tree/json", "tree/concurrent"],
     None, None, (3, 6)),
    ("-d with -s: a usage error", ["-d", "/srv/app", "-s", "{tree}", "{tree}"], None, None,
     (3, 9), {"nothing": 2}),
    ("--hardlink-dupes with one -o: a usage error", ["-o", "1", "--hardlink-dupes", "{tree}"],
     None, None, (3, 9), {"nothing": 2}),
    ("SOURCE_DATE_EPOCH with --invalidation-mode unchecked-hash (the option wins)",
     ["--invalidation-mode", "unchecked-hash", "{tree}"], {"SOURCE_DATE_EPOCH": "1"},
     None, (3, 7)),
    ("-r 1", ["-r", "1", "{tree}"], None, None, (3, 6)),
    ("-i - (names on stdin)", ["-i", "-"], None,
     "{tree}/heapq.py\n  tree/textwrap.py  \n{tree}/bad/nul.py\n{tree}/concurrent\n"
     "tree/edge/sp ace.py\n{tree}/links/inside.py\n", (3, 6)),
    ("W/pre: a junk pyc rewritten, a symlink and a directory refused", ["{work}/pre"],
     None, None, (3, 6)),
    # compileall's reason names a temporary file of its own: the failing files must agree
    ("W/nodir -q: a __pycache__ that is a file fails its sources, the rest is compiled",
     ["-q", "{work}/nodir"], None, None, (3, 6), {"output": "errors"}),
    ("W/pre -q: the refusals reported as compileall reports them", ["-q", "{work}/pre"],
     None, None, (3, 6), {"output": True}),
    ("-e W/tree (symlinks)", ["-e", "{tree}", "{tree}"], None, None, (3, 9)),
    ("PYTHONPYCACHEPREFIX=W/prefix", ["{tree}"], {"PYTHONPYCACHEPREFIX": "{work}/prefix"},
     None, (3, 6)),
]

# The no-op rule, on a tree without the files that fail (they would be retried). A set
# marked True has its first run compared with compileall's too (what versus() compares but
# the warm run): no other set has these options (test_compile_basic's "levels-hardlink").
NOOP_SETS = [
    ("default", [], (3, 6), False),
    ("--invalidation-mode checked-hash", ["--invalidation-mode", "checked-hash"], (3, 7), False),
    ("-o 0 -o 1 -o 2 --hardlink-dupes", ["-o", "0", "-o", "1", "-o", "2", "--hardlink-dupes"],
     (3, 9), True),
]


def starts(log):
    if not os.path.exists(log):
        return 0
    with open(log) as f:
        return len(f.read().splitlines())


def pyc_state(root):
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in files:
            if name.endswith(".pyc"):
                st = os.lstat(os.path.join(dirpath, name))
                out[os.path.join(dirpath, name)] = (st.st_ino, st.st_mtime_ns, st.st_size)
    return out



def noop_case(area, wrapper, log, opts, versus):
    if SELF_CHECK and "checked-hash" in opts:
        raise SkipCase("compileall recompiles hash-based pycs every time")
    area.restore()
    env = clean_env()
    skip = "/bad/"
    if area.interp.version[:2] < (3, 7):
        # 3.6's import compares the mtime unmasked, so it never accepts a pyc of a source
        # with a negative mtime: pyc-tool rightly recompiles that one every time.
        skip += "|/neg\\.py$"
    full = opts + ["-x", skip, area.tree]
    if versus:
        ro = area.run_compileall(full, env, None)
        area.aside()
    r1 = area.run_tool(full, env, None, python=wrapper)
    if versus:
        assert ro.returncode == r1.returncode, (
            "exit status: compileall %d, pyc-tool %d\n%s" % (
                ro.returncode, r1.returncode, transcript(ro, r1)))
        with timed("comparisons"):
            compare_areas(area.interp, area.oracle, area.work, area.image)
    before = pyc_state(area.work)
    if r1.returncode != 0 or not before:
        raise AssertionError("first run: exit %d, %d pycs\n%s" % (
            r1.returncode, len(before), r1.stderr.decode(errors="replace")))
    if not SELF_CHECK and starts(log) < 2:
        raise AssertionError("the first run started the --python wrapper %d time(s), expected "
                             "a probe and at least one worker" % starts(log))
    if os.path.exists(log):
        os.unlink(log)
    r2 = area.run_tool(full, env, None, python=wrapper)
    started = read(log).decode(errors="replace") if os.path.exists(log) else ""
    after = pyc_state(area.work)
    problems = []
    if r2.returncode != 0:
        problems.append("second run exit %d" % r2.returncode)
    if started and not SELF_CHECK:
        problems.append("second run started %d interpreter(s): %s" % (
            len(started.splitlines()), started.splitlines()[:3]))
    changed = sorted(os.path.relpath(p, area.work) for p in set(before) | set(after)
                     if before.get(p) != after.get(p))
    if changed:
        problems.append("second run rewrote %d pyc(s): %s" % (len(changed), changed[:5]))
    if problems:
        raise AssertionError("; ".join(problems) + "\n" + r2.stderr.decode(errors="replace"))


def flist_json_case(area):
    """compileall has no --json: the error record must name the list and the reason, then
    a summary of nothing (every stream ends with one), the same line on stderr, exit 1,
    nothing written (the same run without --json is an option set above)."""
    import json
    area.restore()
    flist = os.path.join(area.work, "nosuch")
    before = pyc_state(area.work)
    r = area.run_tool(["--json", "-i", flist, area.tree + "/json"], clean_env(), None)
    records = [json.loads(l) for l in r.stdout.decode().splitlines()]
    msg = "cannot read the file list '%s': %s" % (flist, os.strerror(2))
    want = [{"type": "error", "path": flist, "error": msg, "python": None},
            {"type": "summary", "python": None, "dry_run": False, "compiled": 0, "up_to_date": 0,
             "failed": 0, "unlisted": 0, "files_written": 0, "workers_started": 0,
             "cache_hits": 0, "cache_misses": 0, "cache_remote_hits": 0, "seconds": 0}]
    assert (r.returncode, records, r.stderr) == (
        1, want, b"pyc-tool compile: error: %s\n" % msg.encode()), (
        r.returncode, records, r.stderr)
    assert pyc_state(area.work) == before, "pycs written"


def second_path_case(area, vdir, env=None):
    """The default run at W fills a compile cache; the same tree at a second path (a name of
    another length) then compiles from it: hits re-targeted to the new path, compile
    errors and warnings too (their texts re-targeted: only files with a non-ASCII path
    miss), and the area byte for byte (3.11+) what compileall writes there; a second fresh
    copy there prints exactly what compileall printed, stdout and stderr (issue #11).
    env: that of the default option set, whose runs at W (W/tree and W/multi, compared
    with compileall there) filled its compile cache; else a run here fills one."""
    import json
    if SELF_CHECK:
        return
    rc = []                             # pyc-tool's exit status at W, when it runs here
    if env is None:
        env = clean_env()
        area.restore()
        rc.append(area.run_tool([area.tree], env, None).returncode)
    second = os.path.join(vdir, "second-path")
    oracle2 = second + ".compileall"
    copy_area(area.pristine, second)
    ro = subprocess.run([area.interp.exe, "-m", "compileall", os.path.join(second, "tree")],
                        cwd=second, env=env, capture_output=True, timeout=300)
    os.rename(second, oracle2)
    copy_area(area.pristine, second)
    cmd = ["compile", "--python", area.interp.exe, os.path.join(second, "tree")]
    rt = run_tool(cmd[:1] + ["--json"] + cmd[1:], cwd=second, env=env)
    records = [json.loads(l) for l in rt.stdout.decode().splitlines()]
    files = [x for x in records if x["type"] == "file"]
    misses = [x["path"] for x in files if x["cache"] != "hit"]
    try:
        assert set(rc + [ro.returncode]) == set([rt.returncode]), (
            rc, ro.returncode, rt.returncode, transcript(ro, rt))
        assert files and all(not p.isascii() for p in misses), (
            "misses at the second path (only non-ASCII paths may): %s" % misses[:8])
        compare_areas(area.interp, oracle2, second)
        with timed("copies"):
            area.image.reset(second)
        # -v: what compileall prints by default (pyc-tool's default is failures only)
        rt = run_tool(cmd[:1] + ["-v"] + cmd[1:], cwd=second, env=env)
        where = compare_output(ro, rt, "exact")
        assert rt.returncode == ro.returncode and not where, (
            "\n".join(where) + "\n" + transcript(ro, rt))
        compare_areas(area.interp, oracle2, second)
    finally:
        remove_areas(second, oracle2)
    print("     %d of %d files from the cache at the second path" % (
        len(files) - len(misses), len(files)), flush=True)


def known_case(suite, name, why, area, opts, env, stdin, extras):
    """A KNOWN MISMATCH, run as an expected failure: SKIP while it fails, a pass (with a
    request to delete the "known" marker) once fixed."""
    try:
        area.versus(opts, env, stdin, extras.get("tool", ()), extras.get("output"))
    except AssertionError as e:
        suite.skip("%s: KNOWN MISMATCH (expected failure): %s\n     %s" % (
            name, why, str(e).splitlines()[0][:300]))
        return
    with suite.case(name + " (a known mismatch now fixed: delete its marker)"):
        pass


def run_version(suite, interp):
    v = interp.short
    vdir = os.path.join(suite.tmp, v)
    os.makedirs(vdir)
    t0 = time.time()
    with suite.case("%s build the stdlib slice" % v):
        area = Area(interp, vdir)
    if not os.path.exists(os.path.join(vdir, "pristine")):
        return
    with suite.case("%s codecompare self-test" % v):
        r = interp.run([CODECOMPARE, "--self-test"])
        assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()
    default = default_env = None
    for row in OPTION_SETS:
        label, opts, env, stdin, since = row[:5]
        extras = row[5] if len(row) > 5 else {}
        name = "%s %s" % (v, label)
        if interp.version[:2] < since:
            suite.skip("%s: compileall %s has no such option" % (name, v))
            continue
        digest = None
        known = extras.get("known")
        if isinstance(known, dict):         # known for some versions only
            known = known.get(interp.version[:2])
        if "locale" in extras:
            if not extras["locale"]:
                suite.skip("%s: no Latin-1 locale here (`locale -a`; .ci/install-deps makes "
                           "de_DE.ISO-8859-1 with the locales package)" % name)
                continue
            env = dict(env or {}, LC_ALL=extras["locale"])
        if known:
            known_case(suite, name, known, area, opts, env, stdin, extras)
            continue
        with suite.case(name):
            digest = area.versus(opts, env, stdin, extras.get("tool", ()), extras.get("output"),
                                 extras.get("nothing"), extras.get("twice"))
        if label == "default":
            default, default_env = digest, digest and area.env
        elif digest and digest == default and not extras.get("same"):
            print("     note: compileall %s wrote the same as for the default set" % v, flush=True)
    with suite.case("%s the compile cache from a second path (another environment)" % v):
        second_path_case(area, vdir, default_env)
    with suite.case("%s -i with a list that cannot be read, --json: an error record" % v):
        flist_json_case(area)
    wrapper, log = make_wrapper(interp, vdir)
    for label, opts, since, versus in NOOP_SETS:
        name = "%s no-op rerun: %s" % (v, label)
        if interp.version[:2] < since:
            suite.skip("%s: compileall %s has no such option" % (name, v))
            continue
        with suite.case(name):
            noop_case(area, wrapper, log, opts, versus)
    shutil.rmtree(vdir, ignore_errors=True)
    print("     %s done in %.1f s (%s)" % (v, time.time() - t0, ", ".join(
        "%s %.1f s/%.1f s CPU" % (k, t, CPU[k]) for k, t in sorted(TIMES.items()))), flush=True)
    TIMES.clear()
    CPU.clear()


def run_multi(suite, interps):
    """--python A --python B in one run against compileall of A then compileall of B."""
    name = "%s+%s one run with --python twice" % (interps[0].short, interps[1].short)
    vdir = os.path.join(suite.tmp, "multi")
    os.makedirs(vdir)
    with suite.case(name):
        area = Area(interps[0], vdir)       # the oldest: its slice suits both
        env = clean_env()
        area.restore()
        ro = [area.run_compileall([area.tree], env, None, exe=i.exe) for i in interps]
        area.aside()
        args = ["compile"]
        for i in interps:
            args += ["--python", i.exe]
        rt = run_tool(args + [area.tree], cwd=area.work, env=env)
        rc = max(r.returncode for r in ro)
        if rc != rt.returncode:
            raise AssertionError("exit status: compileall %d, pyc-tool %d\n%s" % (
                rc, rt.returncode, transcript(ro[-1], rt)))
        pycs = compare_areas(interps, area.oracle, area.work)[0]
        tags = set(i.tag for i in interps)
        seen = set(t for t in tags for r in pycs if ".%s." % t in r)
        assert seen == tags, "pycs for %s only" % sorted(seen)
    shutil.rmtree(vdir, ignore_errors=True)


def build_whole_stdlib(interp, work):
    """W/tree = every .py of the standard library but its tests and site-packages."""
    lib = stdlib_dir(interp)
    skip = {"test", "tests", "idle_test", "site-packages", "__pycache__"}
    for root, dirs, files in os.walk(lib):
        dirs[:] = sorted(d for d in dirs if d not in skip)
        for name in sorted(files):
            if name.endswith(".py"):
                src = os.path.join(root, name)
                write(os.path.join(work, "tree", os.path.relpath(src, lib)), read(src))


# Every multi-level option set of the default run (on the whole tree) but those about what
# is printed, all three levels, and the default.
LONG_SETS = [(row[0], [o for o in row[1] if not o.startswith("{")] + ["{tree}"], row[2],
              (row[5] if len(row) > 5 else {}).get("known", {}))
             for row in OPTION_SETS if row[1].count("-o") > 1 and
             not (row[5] if len(row) > 5 else {}).get("output")] + [
    ("-o 0 -o 1 -o 2", ["-o", "0", "-o", "1", "-o", "2", "{tree}"], None, {}),
    ("-o 0 -o 1 -o 2 --hardlink-dupes",
     ["-o", "0", "-o", "1", "-o", "2", "--hardlink-dupes", "{tree}"], None, {}),
    ("default", ["{tree}"], None, {})]


def run_long(suite, interp):
    """The multi-level sets and the default on the whole standard library (label `long`)."""
    v = interp.short
    vdir = os.path.join(suite.tmp, v)
    os.makedirs(vdir)
    with suite.case("%s copy the whole stdlib" % v):
        area = Area(interp, vdir, build_whole_stdlib)
    for label, opts, env, known in LONG_SETS:
        if "-o" in opts and interp.version[:2] < (3, 9):
            suite.skip("%s whole stdlib %s: compileall %s has no -o" % (v, label, v))
            continue
        if interp.version[:2] in known:
            known_case(suite, "%s whole stdlib %s" % (v, label), known[interp.version[:2]],
                       area, opts, env, None, {})
            continue
        t0 = time.time()
        with suite.case("%s whole stdlib %s" % (v, label)):
            area.versus(opts, env)
            print("     %d pycs compared, 0 differences, %.1f s" % (
                area.compared, time.time() - t0), flush=True)
    shutil.rmtree(vdir, ignore_errors=True)


def main():
    """ARGS: versions ("3.12"), "multi" (--python twice), or none for all of them; --long
    runs the long check instead (versions only)."""
    os.umask(0o022)
    args = sys.argv[1:]
    long_check = "--long" in args
    args = [a for a in args if a != "--long"]
    suite = Suite("compile-oracle")
    found = {i.version[:2]: i for i in interpreters((3, 6), (3, 13))}
    only = ",".join(args) or os.environ.get("PYC_ORACLE_VERSIONS")   # e.g. "3.9,3.12"
    if long_check:
        for a in args:
            i = found.get(tuple(int(x) for x in a.split(".")))
            if i:
                run_long(suite, i)
            else:
                suite.skip("CPython %s is not installed" % a)
        suite.finish()
    for minor in range(6, 14):
        if only and "3.%d" % minor not in only.split(","):
            continue
        if (3, minor) in found:
            run_version(suite, found[(3, minor)])
        else:
            suite.skip("CPython 3.%d is not installed" % minor)
    chosen = list(found.values())
    if only and "multi" not in only.split(","):
        pass
    elif len(chosen) >= 2 and not SELF_CHECK:
        chosen.sort(key=lambda i: i.version)
        run_multi(suite, [chosen[0], chosen[-1]])
    else:
        suite.skip("--python twice: fewer than two CPython 3.6-3.13 (or the self-check)")
    suite.finish()


if __name__ == "__main__":
    main()
