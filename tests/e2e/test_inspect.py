"""`pyc-tool inspect` against each interpreter's own reading of the files it wrote.

For each CPython found (2.7, 3.6+) and each invalidation mode it has, py_compile writes a
cache; the same interpreter then decodes that header itself (its MAGIC_NUMBER, the
little-endian fields, importlib.util.source_hash for the hash, its cache tag) and the
JSON of `pyc-tool inspect --json` must say the same. Then the source is touched and the
verdict must turn stale; the human output must show the same facts.
"""
import concurrent.futures
import datetime
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyc_e2e  # noqa: E402
from pyc_e2e import run_tool  # noqa: E402

T0 = 1600000000

# Run by the interpreter under test: compile, then decode the header its own way; one
# process answers for every (source, cache, mode) triple of its argv, a JSON list in order.
DECODE = r'''
import sys, json, struct, py_compile, binascii
def decode(src, cfile, mode):
    kw = {}
    if mode != "timestamp":
        kw["invalidation_mode"] = getattr(py_compile.PycInvalidationMode, mode.upper().replace("-", "_"))
    py_compile.compile(src, cfile, doraise=True, **kw)
    f = open(cfile, "rb"); data = f.read(); f.close()
    try:
        import importlib.util as u
        magic, tag = u.MAGIC_NUMBER, sys.implementation.cache_tag
    except ImportError:
        import imp; magic, tag = imp.get_magic(), None
    v = sys.version_info
    out = {"magic": struct.unpack("<H", magic[:2])[0], "magic_bytes": binascii.hexlify(magic).decode(),
           "version": "%d.%d" % v[:2], "cache_tag": tag,
           "header_size": 16 if v >= (3, 7) else 12 if v >= (3, 3) else 8}
    assert data[:4] == magic
    if v >= (3, 7):
        flags = struct.unpack("<I", data[4:8])[0]
        out["flags"] = flags
        if flags & 1:
            out["hash"] = binascii.hexlify(data[8:16]).decode()
            out["own_hash"] = binascii.hexlify(u.source_hash(open(src, "rb").read())).decode()
            out["mode"] = "checked-hash" if flags & 2 else "unchecked-hash"
        else:
            out["mtime"], out["source_size"] = struct.unpack("<II", data[8:16])
            out["mode"] = "timestamp"
    else:
        out["flags"] = 0
        out["mode"] = "timestamp"
        out["mtime"] = struct.unpack("<I", data[4:8])[0]
        out["source_size"] = struct.unpack("<I", data[8:12])[0] if v >= (3, 3) else None
    return out
args = sys.argv[1:]
sys.stdout.write(json.dumps([decode(*args[i:i + 3]) for i in range(0, len(args), 3)]))
'''


def layout(suite, interp, mode):
    """(source, cache) of one mode's case, in a directory of its own."""
    d = os.path.join(suite.tmp, "%s-%s" % (interp.short, mode))
    src = os.path.join(d, "m.py")
    if interp.tag:
        return src, os.path.join(d, "__pycache__", "m.%s.pyc" % interp.tag)
    return src, src + "c"


def modes(interp):
    return ["timestamp"] + (["checked-hash", "unchecked-hash"] if interp.version >= (3, 7) else [])


def decode_all(suite, interp):
    """Every mode's cache written and decoded by one run of the interpreter:
    {mode: its own reading}."""
    args = []
    for mode in modes(interp):
        src, cfile = layout(suite, interp, mode)
        os.makedirs(os.path.dirname(cfile), exist_ok=True)
        with open(src, "w") as f:
            f.write("x = 'inspect me'\n")
        os.utime(src, (T0, T0))
        args += [src, cfile, mode]
    r = interp.run(["-c", DECODE] + args)
    assert r.returncode == 0, r.stderr.decode()
    return dict(zip(modes(interp), json.loads(r.stdout.decode())))


def check(suite, interp, mode, decoded):
    src, cfile = layout(suite, interp, mode)
    want = decoded.result()[mode]

    r = run_tool(["inspect", "--json", cfile], check_rc=0)
    got = first_record(r)
    for k in ("magic", "magic_bytes", "version", "cache_tag", "header_size", "flags", "mode"):
        assert got[k] == want[k], (k, got[k], want[k])
    assert got["final"] is True
    assert got["source"] == src and got["state"] == "fresh" and got["reason"] is None
    assert got["unchecked"] == (mode == "unchecked-hash")
    if mode == "timestamp":
        assert got["mtime"] == want["mtime"] == T0
        assert got["source_size"] == want["source_size"]
        iso = datetime.datetime.fromtimestamp(T0, datetime.timezone.utc)
        assert got["mtime_iso"] == iso.strftime("%Y-%m-%dT%H:%M:%SZ"), got["mtime_iso"]
        assert got["hash"] is None
    else:
        assert got["hash"] == want["hash"] == want["own_hash"]
        assert got["mtime"] is None

    r = run_tool(["inspect", cfile], check_rc=0)
    text = r.stdout.decode()
    mb = want["magic_bytes"]
    assert "magic:    %d (%s)" % (want["magic"], " ".join(mb[i:i + 2] for i in range(0, 8, 2))) in text, text
    assert "verdict:  fresh" in text, text

    # An edit that keeps the size: timestamp files see the mtime, hash files the content.
    with open(src, "w") as f:
        f.write("x = 'inspect us'\n")
    os.utime(src, (T0 + 60, T0 + 60))
    r = run_tool(["inspect", "--json", cfile], check_rc=1)
    got = first_record(r)
    assert got["state"] == "stale", got
    assert got["reason"] == ("mtime" if mode == "timestamp" else "hash"), got


def records(r):
    """The JSON Lines of a run: the records, after checking the closing summary."""
    recs = [json.loads(line) for line in r.stdout.decode().splitlines()]
    assert recs and recs[-1]["type"] == "summary", recs
    return recs[:-1]


def first_record(r):
    return records(r)[0]


def check_errors(suite):
    run_tool(["inspect"], check_rc=2)
    run_tool(["inspect", "--bogus", "x.pyc"], check_rc=2)
    missing = os.path.join(suite.tmp, "nothing.pyc")
    r = run_tool(["inspect", missing], check_rc=3)
    assert missing.encode() in r.stderr
    bad = os.path.join(suite.tmp, "bad.pyc")
    with open(bad, "wb") as f:
        f.write(b"\x01\x02\r\n" + b"\0" * 12)
    r = run_tool(["inspect", "--json", bad], check_rc=1)
    got = first_record(r)
    assert got["magic"] == 0x0201 and got["version"] is None
    assert (got["state"], got["reason"]) == ("corrupt", "unknown-magic"), got


def check_not_a_cache(suite, interp):
    # A source (or any file that is neither named nor made like bytecode) is refused with
    # one line, exit 2; it used to get a magic table. A renamed pyc is still decoded.
    d = os.path.join(suite.tmp, "notcache")
    os.makedirs(d)
    src, pyc, renamed = (os.path.join(d, n) for n in ("a.py", "a.pyc", "a.bak"))
    with open(src, "w") as f:
        f.write("x = 1\n")
    r = interp.run(["-c", "import py_compile, sys; py_compile.compile(sys.argv[1], sys.argv[2], "
                    "doraise=True)", src, pyc])
    assert r.returncode == 0, r.stdout + r.stderr
    with open(pyc, "rb") as f, open(renamed, "wb") as g:
        g.write(f.read())
    msg = "'%s' is not a bytecode cache" % src
    for args in ([src], ["--json", src]):
        r = run_tool(["inspect"] + args, check_rc=2)
        assert r.stderr.decode() == "pyc-tool inspect: error: %s\n" % msg, r.stderr
    assert run_tool(["inspect", src]).stdout == b""
    assert r.stdout == b'{"type":"error","path":"%s","error":"%s"}\n' % (
        src.encode(), msg.encode()) + b'{"type":"summary","caches":0,"fresh":0,"stale":0,' \
        b'"orphan":0,"sourceless":0,"corrupt":0,"unjudged":0,"errors":1}\n', r.stdout
    r = run_tool(["inspect", "--json", src, pyc], check_rc=2)    # the other file is still shown
    assert [(x["type"], x["path"]) for x in records(r)] == [("error", src), ("cache", pyc)], r.stdout
    r = run_tool(["inspect", "--json", renamed], check_rc=1)
    got = first_record(r)
    assert got["cache_tag"] == interp.tag and got["source"] is None, got


def main():
    suite = pyc_e2e.Suite("inspect")
    interps = [i for i in pyc_e2e.interpreters() if i.version[:2] == (2, 7) or i.version >= (3, 6)]
    if not interps:
        suite.skip("no CPython interpreter found")
    # The interpreters' own readings first, one process each, all at once.
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=len(interps) or 1)
    checks = []
    for interp in interps:
        decoded = pool.submit(decode_all, suite, interp)
        for mode in modes(interp):
            checks.append(("inspect agrees with %s's own decoding (%s)" % (interp.short, mode),
                           check, suite, interp, mode, decoded))
    checks.append(("usage and runtime errors, unknown magic", check_errors, suite))
    checks.append(("a source is not a cache; a renamed pyc is still decoded", check_not_a_cache,
                   suite, interps[-1]))
    suite.parallel(checks)
    pool.shutdown()
    suite.finish()


if __name__ == "__main__":
    main()
