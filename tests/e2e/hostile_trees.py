"""Tree shapes that stress the walk, built fast (directory fds, no path lookups), shared by
tests/e2e/test_hostile_trees.py and tests/bench/bench_shapes.py.

Every builder writes the caches of one tag (cpython-311). With fresh=True the cache is a
real 3.11 timestamp header matching its source plus a one-byte body (marshal's None), so
`status` judges it fresh and prints only its summary; else it is empty (`corrupt` when its
source exists, `orphan` when it does not). Deep paths exceed PATH_MAX: everything goes
through dir_fd.
"""
import os
import struct
import tempfile

from pyc_e2e import tmpfs_dir

TAG = "cpython-311"
MAGIC_311 = (3495).to_bytes(2, "little") + b"\r\n"
SOURCE = b"X = 1\n"
MTIME = 1600000000


def _mkdir(parent_fd, name):
    os.mkdir(name, dir_fd=parent_fd)
    return os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=parent_fd)


def _write(dir_fd, name, data=b""):
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=dir_fd)
    try:
        if data:
            os.write(fd, data)
    finally:
        os.close(fd)


def _module(dir_fd, cache_fd, stem, fresh):
    """stem.py in dir_fd and its cache in cache_fd."""
    _write(dir_fd, stem + ".py", SOURCE)
    os.utime(stem + ".py", (MTIME, MTIME), dir_fd=dir_fd)
    body = MAGIC_311 + struct.pack("<III", 0, MTIME, len(SOURCE)) + b"N" if fresh else b""
    _write(cache_fd, "%s.%s.pyc" % (stem, TAG), body)


def one_dir(root, n):
    """root/__pycache__ holding n empty caches without sources (orphans): one huge directory."""
    os.makedirs(root)
    top = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    cache = _mkdir(top, "__pycache__")
    try:
        # Hard links to a few empty files: a name costs a fifth of a new inode on ext4,
        # which allows 65,000 links to one.
        for i in range(n):
            name = "m%06d.%s.pyc" % (i, TAG)
            if i % 60000 == 0:
                first = name
                _write(cache, first)
            else:
                os.link(first, name, src_dir_fd=cache, dst_dir_fd=cache)
    finally:
        os.close(cache)
        os.close(top)
    return n


def deep(root, levels, fresh=True):
    """A chain root/d/d/... `levels` deep; each level holds m.py, __pycache__ and d."""
    os.makedirs(root)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(levels):
            cache = _mkdir(fd, "__pycache__")
            _module(fd, cache, "m", fresh)
            os.close(cache)
            nxt = _mkdir(fd, "d")
            os.close(fd)
            fd = nxt
    finally:
        os.close(fd)
    return levels


def packages(root, width, per_dir=1, fresh=True, depth=1):
    """`width` packages per directory, `depth` levels of them, each with per_dir modules
    and their caches: depth 1 is wide, depth 2 thousands of tiny directories."""
    os.makedirs(root)
    count = 0
    stack = [(os.open(root, os.O_RDONLY | os.O_DIRECTORY), 0)]
    while stack:
        fd, level = stack.pop()
        for i in range(width if level < depth else 0):
            sub = _mkdir(fd, "p%05d" % i)
            if level + 1 == depth:
                cache = _mkdir(sub, "__pycache__")
                for k in range(per_dir):
                    _module(sub, cache, "m%d" % k, fresh)
                count += per_dir
                os.close(cache)
                os.close(sub)
            else:
                stack.append((sub, level + 1))
        os.close(fd)
    return count


def chain_names(root, levels):
    """The names at each level of a deep() tree, top first, read through dir fds."""
    out = []
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(levels + 1):
            names = sorted(os.listdir(fd))
            out.append(names)
            if "d" not in names:
                break
            nxt = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = nxt
    finally:
        os.close(fd)
    return out


def scratch(fallback):
    """A new directory for big trees, on /dev/shm when it is a tmpfs with room (making and
    removing 200,000 names on a shared VM's disk takes minutes), else under fallback.
    Remove it with `rm -rf`, which, unlike shutil.rmtree, copes with any depth."""
    return tempfile.mkdtemp(prefix="pyc-hostile-", dir=tmpfs_dir() or fallback)
