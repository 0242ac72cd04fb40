"""`pyc-tool cache stats|prune|clear` against a store filled through the library.

The store is filled and read by tests/util/store_fill ($PYC_STORE_FILL), which calls
pyc_store_put/pyc_store_get, so the counters come from the real code path. Oracles: the
operations done (hits, misses, stores, compile seconds), the file system (entry files,
their sizes and mtimes, what prune and clear leave), and docs/schema/cache.schema.json
for every --json line (python3-jsonschema; skipped when absent).
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyc_e2e  # noqa: E402
from pyc_e2e import run_tool, clean_env  # noqa: E402

FILL = os.environ.get("PYC_STORE_FILL", "")
SCHEMA = os.path.join(pyc_e2e.SOURCE_DIR, "docs", "schema", "cache.schema.json")
HEADER = 104  # docs/cache.md, "Entries"


def fill(store, *ops):
    """Run store_fill; {name: entry path} of the puts and the hit/miss lines."""
    r = subprocess.run([FILL, store] + list(ops), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    paths, gets = {}, []
    for line in r.stdout.splitlines():
        a, b = line.split(" ", 1)
        if a in ("hit", "miss"):
            gets.append((a, b))
        else:
            paths[a] = os.path.join(store, b)
    return paths, gets


def disk_entries(store):
    """{path: size} of the entry files (64 hex digits) in the fan-out directories."""
    found = {}
    for top in "0123456789abcdef":
        for sub in "0123456789abcdef":
            d = os.path.join(store, top, sub)
            if not os.path.isdir(d) or os.path.islink(d) or os.path.islink(os.path.dirname(d)):
                continue
            for name in os.listdir(d):
                p = os.path.join(d, name)
                if len(name) == 64 and os.path.isfile(p) and not os.path.islink(p):
                    found[p] = os.path.getsize(p)
    return found


def validate(lines):
    try:
        import jsonschema
    except ImportError:
        raise pyc_e2e.SkipCase("python3-jsonschema is not installed: JSON not validated")
    with open(SCHEMA) as f:
        schema = json.load(f)
    for rec in lines:
        jsonschema.validate(rec, schema)


def cache_json(args, env=None):
    r = run_tool(["cache"] + args + ["--json"], env=env, check_rc=0)
    recs = [json.loads(line) for line in r.stdout.decode().splitlines()]
    assert recs and recs[-1]["type"] == "summary", recs
    assert all("type" in rec for rec in recs), recs
    return recs


def stats(store):
    recs = cache_json(["stats", "--cache-dir", store])
    assert [r["type"] for r in recs] == ["stats", "summary"], recs
    return recs[0]


def check_stats_after_known_operations(suite):
    store = os.path.join(suite.tmp, "known")
    fill(store, "put:a:100:0.5", "put:zb:5000:1.0", "put:c:300:2.0")
    _, gets = fill(store, "get:a", "get:zb", "get:zb", "get:x")
    assert gets == [("hit", "a"), ("hit", "zb"), ("hit", "zb"), ("miss", "x")], gets
    st = stats(store)
    on_disk = disk_entries(store)
    assert (st["hits"], st["misses"], st["stores"], st["errors"]) == (3, 1, 3, 0), st
    assert st["entries"] == len(on_disk) == 3, (st, on_disk)
    assert st["bytes"] == sum(on_disk.values()), (st, on_disk)
    assert abs(st["seconds_saved"] - 2.5) < 1e-6, st
    # zb (5000 repetitive bytes) is stored compressed, a (random) as it is
    sizes = {os.path.basename(p)[:6]: s for p, s in on_disk.items()}
    assert HEADER + 100 in sizes.values() and all(s < HEADER + 5000 for s in sizes.values()), sizes
    validate(cache_json(["stats", "--cache-dir", store]))
    text = run_tool(["cache", "stats", "--cache-dir", store], check_rc=0).stdout.decode()
    assert "Hits:" in text and " 3 / 4 (75.00 %)" in text, text
    assert "Compile time saved:" in text and "2.50 s" in text, text
    assert run_tool(["cache", "stats", "-q", "--cache-dir", store], check_rc=0).stdout == b""


def check_default_directories(suite):
    env_store = os.path.join(suite.tmp, "by-env")
    xdg = os.path.join(suite.tmp, "xdg")
    fill(env_store, "put:e:10:0")
    fill(os.path.join(xdg, "pyc-tool"), "put:x1:10:0", "put:x2:10:0")
    recs = cache_json(["stats"], env=clean_env(PYC_TOOL_CACHE_DIR=env_store))
    assert recs[0]["cache_dir"] == env_store and recs[0]["entries"] == 1, recs
    recs = cache_json(["stats"], env=clean_env(PYC_TOOL_CACHE_DIR=None, XDG_CACHE_HOME=xdg))
    assert recs[0]["cache_dir"] == os.path.join(xdg, "pyc-tool"), recs
    assert recs[0]["entries"] == 2, recs
    # --cache-dir wins over the variable
    recs = cache_json(["stats", "--cache-dir", env_store],
                      env=clean_env(PYC_TOOL_CACHE_DIR=os.path.join(xdg, "pyc-tool")))
    assert recs[0]["entries"] == 1, recs


def check_empty_store_is_zero_and_untouched(suite):
    store = os.path.join(suite.tmp, "never")
    st = stats(store)
    assert all(st[k] == 0 for k in ("hits", "misses", "entries", "bytes")), st
    recs = cache_json(["prune", "--cache-dir", store])
    assert recs[-1]["removed_entries"] == 0, recs
    assert not os.path.exists(store), "stats/prune created the store"


def check_prune_to_size(suite):
    store = os.path.join(suite.tmp, "prune")
    paths, _ = fill(store, *["put:p%d:1000:0.1" % i for i in range(10)])
    for i in range(10):   # p0 is the least recently used
        os.utime(paths["p%d" % i], (1000000 + i * 100, 1000000 + i * 100))
    foreign = os.path.join(store, "0", "notes.txt")
    os.makedirs(os.path.dirname(foreign), exist_ok=True)
    with open(foreign, "w") as f:
        f.write("not an entry")
    recs = cache_json(["prune", "--max-size", "5K", "--cache-dir", store])
    validate(recs)
    summary = recs[-1]
    entry = HEADER + 1000
    assert summary["action"] == "prune" and summary["max_size"] == 5120, summary
    assert (summary["removed_entries"], summary["removed_bytes"]) == (6, 6 * entry), summary
    assert (summary["entries"], summary["bytes"]) == (4, 4 * entry), summary
    left = disk_entries(store)
    assert sorted(left) == sorted(paths["p%d" % i] for i in range(6, 10)), left
    assert os.path.exists(foreign)
    st = stats(store)
    assert (st["entries"], st["bytes"]) == (4, 4 * entry), st
    assert st["cleanups"] >= 1, st
    text = run_tool(["cache", "prune", "--max-size=1K", "--cache-dir", store],
                    check_rc=0).stdout.decode()
    assert text.startswith("removed 4 entries") and "0 entries (0 B) left" in text, text
    assert disk_entries(store) == {}


def check_sizes(suite):
    store = os.path.join(suite.tmp, "sizes")
    for arg, want in (("100", 100), ("1K", 1024), ("1.5k", 1536), ("2M", 2 << 20),
                      ("1G", 1 << 30), ("3KiB", 3072), ("7MB", 7 << 20), ("1T", 1 << 40)):
        recs = cache_json(["prune", "--max-size", arg, "--cache-dir", store])
        assert recs[-1]["max_size"] == want, (arg, recs)
    assert cache_json(["prune", "--cache-dir", store])[-1]["max_size"] == 1 << 30


def check_clear(suite):
    store = os.path.join(suite.tmp, "clear")
    outside = os.path.join(suite.tmp, "clear-outside")
    paths, _ = fill(store, *["put:q%d:200:0" % i for i in range(20)])
    probe = os.path.join(store, "interp", "0123456789abcdef")
    os.makedirs(os.path.dirname(probe))
    with open(probe, "w") as f:
        f.write("probe cache entry")
    # a top-level directory that is a symlink to a directory with an entry-like file
    os.makedirs(os.path.join(outside, "0"))
    decoy = os.path.join(outside, "0", "f" * 64)
    with open(decoy, "w") as f:
        f.write("x")
    used = {os.path.relpath(p, store)[0] for p in paths.values()}
    free = [t for t in "0123456789abcdef" if t not in used]
    if free:
        os.symlink(outside, os.path.join(store, free[0]))
    before = sum(disk_entries(store).values())
    recs = cache_json(["clear", "--cache-dir", store])
    validate(recs)
    s = recs[-1]
    assert (s["action"], s["removed_entries"], s["removed_bytes"]) == ("clear", 20, before), s
    assert (s["entries"], s["bytes"]) == (0, 0), s
    assert disk_entries(store) == {}
    assert os.path.exists(probe), "clear removed the probe cache"
    assert os.path.exists(decoy), "clear followed a symlink"
    st = stats(store)
    assert (st["entries"], st["bytes"], st["stores"], st["hits"]) == (0, 0, 0, 0), st
    text = run_tool(["cache", "clear", "--cache-dir", store], check_rc=0).stdout.decode()
    assert text.startswith("removed 0 entries"), text


def check_errors(suite):
    afile = os.path.join(suite.tmp, "a-file")
    with open(afile, "w") as f:
        f.write("x")
    for action in ("stats", "prune", "clear"):
        r = run_tool(["cache", action, "--cache-dir", afile], check_rc=3)
        err = r.stderr.decode()
        assert err.startswith("pyc-tool cache: error: ") and afile in err, err
        assert len(err.strip().splitlines()) == 1, err
    for args in (["cache"], ["cache", "bogus"], ["cache", "stats", "clear"],
                 ["cache", "prune", "--max-size", "0"], ["cache", "prune", "--max-size", "5X"],
                 ["cache", "prune", "--max-size", "-1"], ["cache", "stats", "--max-size", "1G"],
                 ["cache", "stats", "--json", "-q"], ["cache", "stats", "--bogus"],
                 ["cache", "stats", "--cache-dir"]):
        r = run_tool(args, check_rc=2)
        assert r.stderr.decode().startswith("pyc-tool cache: "), (args, r.stderr)
    r = run_tool(["cache", "stat"], check_rc=2)
    assert "did you mean 'stats'" in r.stderr.decode(), r.stderr


def main():
    suite = pyc_e2e.Suite("cache")
    if not FILL or not os.access(FILL, os.X_OK):
        suite.skip("PYC_STORE_FILL is not set: run through ctest")
        suite.finish()
    for name, fn in (("stats count exactly the operations done", check_stats_after_known_operations),
                     ("the default directories: PYC_TOOL_CACHE_DIR, XDG_CACHE_HOME", check_default_directories),
                     ("a missing store has zero counts and is not created", check_empty_store_is_zero_and_untouched),
                     ("prune removes the least recently used down to the size", check_prune_to_size),
                     ("--max-size suffixes", check_sizes),
                     ("clear removes the entries and nothing else", check_clear),
                     ("errors: exit 3 naming the path, usage errors exit 2", check_errors)):
        with suite.case(name):
            fn(suite)
    suite.finish()


if __name__ == "__main__":
    main()
