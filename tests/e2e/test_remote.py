"""`pyc-tool compile --cache-remote` (docs/cache.md, "Remote cache"), against compileall, on
every kind of remote this machine can run: file:// always; Redis and HTTP (nginx WebDAV)
when their helpers (srv_redis.py, srv_nginx.py: `available()`, `server()`) and servers are
there and pyc-tool was built with the backend; a case that cannot run is skipped, saying
why.

For each kind, with one CPython 3.11+ (bytes comparable with compileall's):
- machine A (its own store) compiles a tree into the remote, all misses; machine B (an
  empty store, the tree at another path) compiles it: all remote hits, compileall's bytes
  at B's path; a third run at B with the remote gone is all local hits (the remote hits
  filled B's store); `cache stats` counts what happened;
- a read-only remote is read and never written;
- entries truncated, flipped, replaced by garbage or by another key's entry: every file
  compiled, compileall's bytes, each entry counted as an error;
- a remote that refuses connections, and (network kinds) one that accepts and never
  answers: compileall's bytes, one warning (its password not in it), the run ends
  within the timeouts;
- (network kinds) a full server that refuses writes, and the server killed mid-run:
  compileall's bytes, at most one warning, within the timeouts.
"""
import concurrent.futures
import contextlib
import subprocess
import json
import os
import shutil
import socket
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from pyc_e2e import TOOL, Suite, SkipCase, clean_env, interpreters, run_tool  # noqa: E402
from test_cache_faults import compileall, modules, same, take_pycs, write_tree  # noqa: E402
from test_faults import children  # noqa: E402

TIMEOUTS = "|connect-timeout=500|operation-timeout=1500"
# A run against a dead remote may wait for its timeouts once, and compile: well below this.
MAX_SECONDS = 15


# --- the kinds of remote ----------------------------------------------------------------

class FileRemote:
    """A shared directory; entries are the files below it."""

    scheme = "file"

    def __init__(self, root):
        self.root = root
        self.url = "file://" + root

    def entries(self):
        out = []
        for dirpath, _, names in os.walk(self.root):
            out += [os.path.join(dirpath, n) for n in names if len(n) == 64]
        return sorted(out)

    def read(self, entry):
        with open(entry, "rb") as f:
            return f.read()

    def write(self, entry, data):
        with open(entry, "wb") as f:
            f.write(data)

    def dead_url(self, _port):
        return "file://" + os.path.join(self.root, "no", "such", "dir")

    def full_url(self):
        raise SkipCase("no way to fill a directory here (root writes anyway)")

    def unfill(self):
        """Undo full_url: the cases after case_full need a server that takes writes."""

    def kill(self):
        raise SkipCase("a directory cannot die mid-run")


class DirServerRemote(FileRemote):
    """A server whose entries are files in a directory (nginx WebDAV: .root)."""

    def __init__(self, srv, scheme):
        FileRemote.__init__(self, srv.root)
        self.srv = srv
        self.url = srv.url
        self.scheme = scheme

    def entries(self):
        """Every file below the root: the layout is the backend's (ccache's subdirs:
        <2 hex>/<62 hex>)."""
        out = []
        for dirpath, _, names in os.walk(self.root):
            out += [os.path.join(dirpath, n) for n in names if not n.startswith(".")]
        return sorted(out)

    def full_url(self):
        return self.srv.full_url   # PUT answers 507 Insufficient Storage

    def kill(self):
        self.srv.kill()

    def dead_url(self, port):
        return "http://u:sekrit@127.0.0.1:%d/cache" % port


class RedisRemote:
    scheme = "redis"

    def __init__(self, srv):
        self.srv = srv
        self.url = srv.url

    def entries(self):
        return self.srv.keys()

    def read(self, entry):
        return self.srv.get(entry)

    def write(self, entry, data):
        self.srv.put(entry, data)

    def dead_url(self, port):
        return "redis://:sekrit@127.0.0.1:%d" % port

    def full_url(self):
        self.srv.set_maxmemory(1)   # noeviction: every SET refused
        return self.url

    def unfill(self):
        self.srv.set_maxmemory(0)   # no limit again

    def kill(self):
        self.srv.kill()


@contextlib.contextmanager
def file_server():
    root = tempfile.mkdtemp(prefix="pyc-e2e-remote-")
    try:
        yield FileRemote(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def helper(name):
    try:
        return __import__(name)
    except ImportError:
        return None


def kinds():
    """[(name, server context factory or None, why not)]."""
    out = [("file", file_server, "")]
    for name, mod, wrap in (("redis", "srv_redis", lambda s: RedisRemote(s)),
                            ("http", "srv_nginx", lambda s: DirServerRemote(s, "http"))):
        m = helper(mod)
        if m is None:
            out.append((name, None, "tests/e2e/%s.py is not in this tree" % mod))
            continue
        ok, why = m.available()

        @contextlib.contextmanager
        def start(m=m, wrap=wrap):
            with m.server() as srv:
                yield wrap(srv)
        out.append((name, start if ok else None, why))
    return out


def backend_built(scheme):
    """Whether pyc-tool takes the scheme (a usage error names it otherwise)."""
    r = run_tool(["compile", "--dry-run", "--cache-remote", "%s://127.0.0.1:1/x" % scheme,
                  "/nonexistent"])
    return b"built without" not in r.stderr, r.stderr.decode(errors="replace").strip()


# --- running pyc-tool -------------------------------------------------------------------

def compile_(interp, root, store, remote, check_rc=0):
    """A --json compile: ({relative path: (cache, cache_source)}, summary, stderr, seconds)."""
    args = ["compile", "--json", "--python", interp.exe, "--cache-dir", store, root]
    if remote:
        args[1:1] = ["--cache-remote", remote]
    t0 = time.time()
    r = run_tool(args, env=clean_env(), check_rc=check_rc)
    took = time.time() - t0
    recs = [json.loads(ln) for ln in r.stdout.decode().splitlines()]
    files = {os.path.relpath(x["path"], root): (x["cache"], x["cache_source"])
             for x in recs if x["type"] == "file"}
    summ = [x for x in recs if x["type"] == "summary"]
    return files, summ[-1], r.stderr.decode(errors="replace"), took


def expect_all(files, want, n):
    got = sorted(set(files.values()))
    if len(files) != n or got != [want]:
        raise AssertionError("expected %d files %s, got %s" % (n, want, files))


def remote_stats(store, url):
    r = run_tool(["cache", "stats", "--json", "--cache-dir", store], check_rc=0)
    recs = [json.loads(ln) for ln in r.stdout.decode().splitlines()]
    mine = [x for x in recs if x["type"] == "remote" and x["url"] == url]
    if not mine:
        raise AssertionError("no counters for %s in %s" % (url, recs))
    return mine[0]


def expect_stats(store, url, **want):
    got = remote_stats(store, url)
    wrong = {k: (v, got[k]) for k, v in want.items() if got[k] != v}
    if wrong:
        raise AssertionError("cache stats for %s: (want, got) %s" % (url, wrong))


def against_compileall(interp, root):
    """The tree's pycs (taken out) are compileall's at the same path."""
    ours = take_pycs(root)
    same(ours, compileall(interp, root), "compileall's")


def no_warning(stderr):
    if stderr:
        raise AssertionError("unexpected stderr:\n%s" % stderr)


def one_warning(stderr, url_shown):
    lines = [ln for ln in stderr.splitlines() if "warning:" in ln]
    if len(lines) != 1 or url_shown not in lines[0] or "sekrit" in stderr:
        raise AssertionError("expected one warning naming %s, got:\n%s" % (url_shown, stderr))


# --- the cases --------------------------------------------------------------------------

def case_share(interp, work, remote):
    n = 12
    tree = modules("share", n, "pkg")
    a, b = os.path.join(work, "a", "tree"), os.path.join(work, "b", "elsewhere", "tree")
    sa, sb = os.path.join(work, "store-a"), os.path.join(work, "store-b")
    write_tree(a, tree)
    files, summ, err, _ = compile_(interp, a, sa, remote.url)
    expect_all(files, ("miss", None), n)
    no_warning(err)
    write_tree(b, tree)
    files, summ, err, _ = compile_(interp, b, sb, remote.url)
    expect_all(files, ("hit", "remote"), n)
    no_warning(err)
    if summ["cache_remote_hits"] != n or summ["workers_started"] != 0:
        raise AssertionError("summary: %s" % summ)
    against_compileall(interp, b)
    expect_stats(sa, remote.url, stores=n, hits=0, misses=n, errors=0)
    expect_stats(sb, remote.url, hits=n, misses=0, stores=0, errors=0)
    if remote_stats(sb, remote.url)["bytes_read"] <= 0:
        raise AssertionError("no bytes read counted")
    # The remote is gone: B's store has it all.
    files, summ, err, _ = compile_(interp, b, sb, remote.dead_url(refused_port()))
    expect_all(files, ("hit", "local"), n)
    no_warning(err)
    # clear resets the remote counters with the store's
    run_tool(["cache", "clear", "--cache-dir", sb], check_rc=0)
    r = run_tool(["cache", "stats", "--json", "--cache-dir", sb], check_rc=0)
    if b'"type":"remote"' in r.stdout:
        raise AssertionError("remote counters survived clear:\n%s" % r.stdout.decode())


def case_read_only(interp, work, remote):
    n = 5
    root, store = os.path.join(work, "ro", "tree"), os.path.join(work, "store-ro")
    write_tree(root, modules("readonly", n, "pkg"))
    before = remote.entries()
    files, _, err, _ = compile_(interp, root, store, remote.url + "|read-only")
    expect_all(files, ("miss", None), n)
    no_warning(err)
    if remote.entries() != before:
        raise AssertionError("a read-only remote was written")
    expect_stats(store, remote.url, stores=0, misses=n, bytes_written=0)
    against_compileall(interp, root)


def tamper(remote, entries):
    """Damage each entry a different way; the last becomes another key's valid entry."""
    others = [remote.read(e) for e in entries]
    for i, e in enumerate(entries):
        data = others[i]
        how = i % 4
        if how == 0:
            data = data[:len(data) // 2]
        elif how == 1:
            data = bytearray(data)
            data[len(data) // 2] ^= 0xFF
            data = bytes(data)
        elif how == 2:
            data = b"garbage, not an entry\n" * 3
        else:
            data = others[(i + 1) % len(others)]
        remote.write(e, data)


def case_damaged(interp, work, remote):
    n = 8
    tree = modules("damaged", n, "pkg")
    a, b = os.path.join(work, "dmg-a", "tree"), os.path.join(work, "dmg-b", "tree")
    sa, sb = os.path.join(work, "store-dmg-a"), os.path.join(work, "store-dmg-b")
    before = set(remote.entries())
    write_tree(a, tree)
    compile_(interp, a, sa, remote.url)
    mine = sorted(set(remote.entries()) - before)
    if len(mine) != n:
        raise AssertionError("expected %d new entries, found %d" % (n, len(mine)))
    tamper(remote, mine)
    write_tree(b, tree)
    files, _, err, _ = compile_(interp, b, sb, remote.url)
    expect_all(files, ("miss", None), n)
    no_warning(err)   # a bad entry is not a failed remote
    against_compileall(interp, b)
    expect_stats(sb, remote.url, hits=0, misses=n, errors=n)


def refused_port():
    """A loopback port nothing listens on (bound then closed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def case_down(interp, work, remote):
    n = 10
    root, store = os.path.join(work, "down", "tree"), os.path.join(work, "store-down")
    write_tree(root, modules("down", n, "pkg"))
    url = remote.dead_url(refused_port())
    files, _, err, took = compile_(interp, root, store, url + TIMEOUTS)
    expect_all(files, ("miss", None), n)
    shown = url.replace(":sekrit@", ":***@")
    one_warning(err, shown)
    if took > MAX_SECONDS:
        raise AssertionError("took %.1f s" % took)
    against_compileall(interp, root)
    got = remote_stats(store, shown)
    if got["errors"] < 1 or got["hits"] or got["stores"]:
        raise AssertionError("cache stats: %s" % got)


def case_hang(interp, work, remote):
    if remote.scheme == "file":
        raise SkipCase("a directory cannot accept a connection and never answer")
    n = 10
    root, store = os.path.join(work, "hang", "tree"), os.path.join(work, "store-hang")
    write_tree(root, modules("hang", n, "pkg"))
    lsn = socket.socket()
    lsn.bind(("127.0.0.1", 0))
    lsn.listen(64)   # the kernel completes handshakes; nobody ever reads or answers
    try:
        url = remote.dead_url(lsn.getsockname()[1])
        files, _, err, took = compile_(interp, root, store, url + TIMEOUTS)
    finally:
        lsn.close()
    expect_all(files, ("miss", None), n)
    one_warning(err, url.replace(":sekrit@", ":***@"))
    if took > MAX_SECONDS:
        raise AssertionError("took %.1f s (operation-timeout 1.5 s)" % took)
    against_compileall(interp, root)


def case_full(interp, work, remote):
    n = 6
    root, store = os.path.join(work, "full", "tree"), os.path.join(work, "store-full")
    write_tree(root, modules("full", n, "pkg"))
    url = remote.full_url()
    try:
        files, _, err, took = compile_(interp, root, store, url + TIMEOUTS)
    finally:
        remote.unfill()
    expect_all(files, ("miss", None), n)
    one_warning(err, url)
    if took > MAX_SECONDS:
        raise AssertionError("took %.1f s" % took)
    against_compileall(interp, root)
    got = remote_stats(store, url)
    if got["stores"] or got["errors"] != 1:
        raise AssertionError("cache stats: %s" % got)


def case_killed(interp, work, remote):
    """The server dies while a cold run writes to it (last: the server stays dead)."""
    n = 60
    root, store = os.path.join(work, "killed", "tree"), os.path.join(work, "store-killed")
    write_tree(root, modules("killed", n, "pkg"))
    args = [TOOL, "compile", "-q", "-j2", "--python",
            interp.exe, "--cache-dir", store, "--cache-remote", remote.url + TIMEOUTS, root]
    t0 = time.time()
    proc = subprocess.Popen(args, env=clean_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    # Mid-run: once pyc-tool has a worker, its lookups have begun and its stores are to come.
    deadline = time.time() + 60
    while not children(proc.pid) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    remote.kill()
    out, err = proc.communicate(timeout=120)
    took = time.time() - t0
    if proc.returncode != 0 or out:
        raise AssertionError("exit %d\n%s%s" % (proc.returncode, out.decode(), err.decode()))
    warnings = [ln for ln in err.decode().splitlines() if "warning:" in ln]
    if len(warnings) > 1 or (warnings and remote.url not in warnings[0]):
        raise AssertionError("expected at most one warning:\n%s" % err.decode())
    if took > MAX_SECONDS + 30:
        raise AssertionError("took %.1f s" % took)
    against_compileall(interp, root)


CASES = (
    ("A fills the remote; B at another path: all remote hits, compileall's bytes; "
     "then the remote gone: all local hits", case_share),
    ("read-only: read, never written", case_read_only),
    ("truncated, flipped, garbage and misplaced entries: misses, errors, compileall's bytes",
     case_damaged),
    ("refused connection: compileall's bytes, one warning, within the timeouts", case_down),
    ("accepts and never answers: compileall's bytes, one warning, within the timeouts",
     case_hang),
    ("full, refusing writes: compileall's bytes, one warning", case_full),
    ("killed mid-run: compileall's bytes, at most one warning", case_killed),
)


def run_kind(suite, interp, name, start, why):
    """Every case on one kind of remote, in order (they share its server); returns what
    to record, [(name, exc_info, seconds)], a skip as SkipCase."""
    def skipped(msg):
        return [("%s remote" % name, (SkipCase, SkipCase(msg), None), None)]
    if start is None:
        return skipped(why)
    if name != "file":
        built, msg = backend_built(name)
        if not built:
            return skipped(msg)
    work = os.path.join(suite.tmp, name)
    os.makedirs(work)
    out = []
    with start() as remote:
        for title, fn in CASES:
            t0 = time.time()
            try:
                fn(interp, work, remote)
                exc = (None, None, None)
            except Exception:
                exc = sys.exc_info()
            out.append(("%s %s: %s" % (interp.short, name, title), exc, time.time() - t0))
    return out


def main():
    suite = Suite("remote")
    found = interpreters(min_version=(3, 11))
    if not found:
        suite.skip("no CPython 3.11+ found (bytes are compared with compileall's)")
        suite.finish()
    interp = found[-1]
    # Each kind has its own server and directory, and its cases mostly wait (servers,
    # timeouts): the kinds run at once.
    todo = kinds()
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(todo)) as pool:
        for done in pool.map(lambda k: run_kind(suite, interp, *k), todo):
            for name, exc, took in done:
                suite.record(name, exc, took)
    suite.finish()


if __name__ == "__main__":
    main()
