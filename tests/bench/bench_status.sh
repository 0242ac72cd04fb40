#!/usr/bin/env bash
# bench_status.sh [TREE] - `pyc-tool status` against the other ways of asking "are these
# caches fresh?", side by side in one run.
#
# Builds pyc-tool optimised (build-bench/, RelWithDebInfo), makes (or reuses) the shared
# benchmark tree with make_tree.sh unless it exists (copies of 3.12's standard library,
# fresh caches),
# warms the page cache, then alternates RUNS (default 5) timed runs of each command and
# reports the median wall and CPU (user + sys) times, ratios to `find -printf` and to
# pyc-tool, and the peak RSS (/usr/bin/time). Prints a Markdown table for
# docs/benchmarks.md ("## status").
#
# The commands:
#  - pyc-tool status TREE: every cache judged (stat of the source + 16 bytes of the cache)
#  - python3.12 -m compileall -q TREE: its no-op (everything is up to date)
#  - a Python script doing the same header check as status (os.scandir walk, stat each
#    source, read 16 bytes of its cache, compare magic/flags/mtime/size)
#  - find TREE -name '*.py' -printf '%T@ %s\n': walking and stat-ing the sources only
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
tree=${1:-/tmp/pyc-bench-tree}
runs=${RUNS:-5}
bdir=$src/build-bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake -S "$src" -B "$bdir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPYC_BUILD_TESTS=OFF >/dev/null
cmake --build "$bdir" --target pyc-tool -j2 >/dev/null
# Reuse a finished tree whatever its copy count (other benchmarks share it); else build it.
if [ -f "$tree/.complete" ]; then
	nfiles=$(find "$tree" -name '*.py' | wc -l)
else
	nfiles=$(bash "$here/make_tree.sh" "$tree" | tail -n1)
fi
py=$(awk '{print $2}' "$tree/.complete")

cat > "$work/check.py" <<'EOF'
# The header check `pyc-tool status` does, in Python: for every source with a cache in
# __pycache__, compare the cache's first 16 bytes with the source's stat.
import os, sys, struct
from importlib.util import MAGIC_NUMBER, cache_from_source
stale = 0
def walk(d):
    global stale
    with os.scandir(d) as it:
        entries = sorted(it, key=lambda e: e.name)
    for e in entries:
        if e.is_dir(follow_symlinks=False):
            if e.name != "__pycache__":
                walk(e.path)
        elif e.name.endswith(".py"):
            try:
                with open(cache_from_source(e.path), "rb") as f:
                    head = f.read(16)
            except OSError:
                continue
            st = e.stat()
            want = MAGIC_NUMBER + struct.pack("<III", 0, int(st.st_mtime) & 0xFFFFFFFF,
                                              st.st_size & 0xFFFFFFFF)
            stale += head != want
walk(sys.argv[1])
print(stale)
EOF

# name|command; each runs with stdout to /dev/null.
cmds=(
	"pyc-tool status|'$bdir/pyc-tool' status '$tree'"
	"find -name '*.py' -printf '%T@ %s\\n'|find '$tree' -name '*.py' -printf '%T@ %s\\n'"
	"Python header check (3.12)|'$py' '$work/check.py' '$tree'"
	"compileall -q no-op (3.12)|env -u PYTHONDONTWRITEBYTECODE '$py' -m compileall -q '$tree'"
	"pyc-tool status -j 1 (one thread)|'$bdir/pyc-tool' status -j 1 '$tree'"
)

run() { eval "$1"; }  # the commands carry their own quoting
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

for c in "${cmds[@]}"; do run "${c#*|}" >/dev/null 2>&1 || true; done  # warm the cache
# Wall time from $EPOCHREALTIME; CPU time (user + sys) and peak RSS from /usr/bin/time,
# which the shared machine's load disturbs less than the wall time.
declare -A wall cpu rss
for ((r = 0; r < runs; r++)); do
	for c in "${cmds[@]}"; do
		name=${c%%|*}
		t0=$EPOCHREALTIME
		eval "/usr/bin/time -f '%U %S %M' -o '$work/t' ${c#*|}" >/dev/null 2>&1 || true
		t1=$EPOCHREALTIME
		wall[$name]+="$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", b - a}') "
		cpu[$name]+="$(tail -n1 "$work/t" | awk '{printf "%.2f", $1 + $2}') "
		rss[$name]=$(tail -n1 "$work/t" | awk '{print $3}')
	done
done

med_of() { echo "$1" | tr ' ' '\n' | grep . | median; }
fw=$(med_of "${wall[${cmds[1]%%|*}]}"); fc=$(med_of "${cpu[${cmds[1]%%|*}]}")
tw=$(med_of "${wall[${cmds[0]%%|*}]}"); tc=$(med_of "${cpu[${cmds[0]%%|*}]}")
caches=$(find "$tree" -name '*.pyc' | wc -l)
echo "Tree: $tree ($nfiles .py files, $caches caches, fresh), $runs runs each, medians,"
echo "warm cache, $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg) at the end."
echo "Command: \`tests/bench/bench_status.sh $tree\`"
echo
echo "| command | wall s | wall vs find | wall vs status | CPU s | CPU vs status | peak RSS KiB |"
echo "|---|---|---|---|---|---|---|"
for c in "${cmds[@]}"; do
	name=${c%%|*}
	w=$(med_of "${wall[$name]}")
	u=$(med_of "${cpu[$name]}")
	echo "| \`$name\` | $w | $(ratio "$w" "$fw") | $(ratio "$w" "$tw") | $u | $(ratio "$u" "$tc") | ${rss[$name]} |"
done
