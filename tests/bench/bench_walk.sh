#!/usr/bin/env bash
# bench_walk.sh [TREE] - the walker alone against find(1), side by side in one run.
#
# Builds libpyc.a optimised (build-bench/, RelWithDebInfo) and tests/bench/walk_count.c
# against it, makes (or reuses) the shared benchmark tree with make_tree.sh, warms the
# page cache, then alternates RUNS (default 7) timed runs of each command and reports
# the median wall time, the ratio to `find -printf` and the peak RSS (/usr/bin/time -v).
# Prints a Markdown table for docs/benchmarks.md ("## Walker").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
tree=${1:-/tmp/pyc-bench-tree}
runs=${RUNS:-7}
bdir=$src/build-bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake -S "$src" -B "$bdir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPYC_BUILD_TESTS=OFF >/dev/null
cmake --build "$bdir" --target pyc -j2 >/dev/null
cc -O2 -std=c11 -D_GNU_SOURCE -I"$src/include" -o "$work/walk_count" "$here/walk_count.c" "$bdir/libpyc.a"
nfiles=$(bash "$here/make_tree.sh" "$tree" | tail -n1)

# name|command; each runs with stdout to /dev/null.
cmds=(
	"find -name '*.py' -printf '%T@ %s\\n'|find '$tree' -name '*.py' -printf '%T@ %s\\n'"
	"walk_count -s (walk + fstatat each .py)|'$work/walk_count' -s '$tree'"
	"find (walk only)|find '$tree'"
	"walk_count (walk only)|'$work/walk_count' '$tree'"
)

run() { eval "$1"; }  # the commands carry their own quoting
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for c in "${cmds[@]}"; do run "${c#*|}" >/dev/null; done  # warm the page cache
declare -A times
for ((r = 0; r < runs; r++)); do
	for c in "${cmds[@]}"; do
		t0=$EPOCHREALTIME
		run "${c#*|}" >/dev/null
		t1=$EPOCHREALTIME
		times[${c%%|*}]+="$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", b - a}') "
	done
done

base=$(echo "${times[${cmds[0]%%|*}]}" | tr ' ' '\n' | grep . | median)
echo "Tree: $tree ($nfiles .py files), $runs runs each, median wall time, warm cache, $(nproc) cores."
echo "Command: tests/bench/bench_walk.sh $tree"
echo
echo "| command | median s | vs find -printf | peak RSS KiB |"
echo "|---|---|---|---|"
for c in "${cmds[@]}"; do
	name=${c%%|*}
	med=$(echo "${times[$name]}" | tr ' ' '\n' | grep . | median)
	rss=$( { eval "/usr/bin/time -f %M ${c#*|}" >/dev/null; } 2>&1 | tail -n1)
	echo "| \`$name\` | $med | $(awk -v a="$med" -v b="$base" 'BEGIN {printf "%.2f", a / b}') | $rss |"
done
