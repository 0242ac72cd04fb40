#!/usr/bin/env bash
# bench_importtime.sh [PYTHON] - what the bytecode caches buy, for the module set of
# issue 14 (`import asyncio, email.mime.multipart, json, http.client, xml.dom.minidom`)
# on CPython 3.12: `pyc-tool importtime` itself, RUNS (default 9) interleaved runs per
# scenario after a warm-up. Prints a Markdown table for docs/benchmarks.md
# ("## importtime") and keeps the JSON Lines next to it ($OUT, default
# /tmp/bench_importtime.jsonl).
#
# PYTHON defaults to pyenv's newest 3.12, else python3.12 on PATH.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
runs=${RUNS:-9}
out=${OUT:-/tmp/bench_importtime.jsonl}
bdir=$src/build-bench
py=${1:-}
if [ -z "$py" ]; then
	py=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12.*/bin/python3.12 2>/dev/null | sort -V | tail -n1 || true)
	[ -n "$py" ] || py=$(command -v python3.12 || true)
fi
[ -n "$py" ] || { echo "bench_importtime: no CPython 3.12 found" >&2; exit 77; }

cmake -S "$src" -B "$bdir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPYC_BUILD_TESTS=OFF >/dev/null
cmake --build "$bdir" --target pyc-tool -j2 >/dev/null

rc=0
"$bdir/pyc-tool" importtime --python "$py" -n "$runs" --top 10 --json \
	asyncio email.mime.multipart json http.client xml.dom.minidom >"$out" || rc=$?
[ "$rc" -le 1 ] || exit "$rc"

python3 - "$out" "$py" "$runs" <<'PYEOF'
import json, sys, datetime, os
recs = [json.loads(l) for l in open(sys.argv[1])]
summ = recs[-1]
label = {"as-is": "as it is", "no-caches": "no caches", "all-fresh": "all fresh"}
load = os.getloadavg()[0]
print("`bash tests/bench/bench_importtime.sh` (%s UTC, %s %s, %s runs per scenario, "
      "interleaved after a warm-up; load average %.1f on 2 CPUs)\n"
      % (datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"), sys.argv[2], summ["version"],
         sys.argv[3], load))
print("%d modules imported, %d from source files.\n" % (summ["imported"], summ["from_source"]))
print("| scenario | imports ms min | median | max | process ms median | from pyc | compiled |")
print("|---|---|---|---|---|---|---|")
for r in recs:
    if r["type"] == "scenario" and r["available"]:
        i, w = r["import_ms"], r["wall_ms"]
        print("| %s | %.1f | %.1f | %.1f | %.1f | %d | %d |" % (
            label[r["scenario"]], i["min"], i["median"], i["max"], w["median"],
            r["from_pyc"], r["compiled"]))
s, l = summ["saving"], summ["loss"]
print("\nsaving (no caches - all fresh): %.1f ms%s; as it is - all fresh: %.1f ms%s." % (
    s["ms"], " (within noise)" if s["within_noise"] else "",
    l["ms"], " (within noise)" if l["within_noise"] else ""))
d = summ["disk"]
print("Disk: the fresh caches of these modules take %d bytes in %d files." % (
    d["fresh_bytes"], d["fresh_files"]))
print("\n| top modules by saving | self ms as it is | no caches | all fresh | saving ms |")
print("|---|---|---|---|---|")
for r in recs:
    if r["type"] == "module":
        sm = r["self_ms"]
        print("| `%s` | %.2f | %.2f | %.2f | %.2f |" % (r["name"], sm["as-is"], sm["no-caches"],
                                                    sm["all-fresh"], r["saving_ms"]))
PYEOF
