#!/usr/bin/env bash
# bench_clean.sh [TREE] - `pyc-tool clean` against `find ... -exec rm -rf` and Debian's
# py3clean, side by side in one run.
#
# Builds pyc-tool optimised (build-bench-clean/, RelWithDebInfo, no tests), makes (or
# reuses) the shared benchmark tree with make_tree.sh (never modified here) and takes a
# private snapshot of it, then for each of RUNS rounds (default 3) and each command:
# copies the snapshot with `cp -a` to a scratch directory (which also warms the page
# cache for that copy), times the command on the copy (after a `sync`, so that no
# writeback of the copy is pending), checks that no .pyc and no __pycache__ is left, and
# deletes the copy.
# Reports the median wall time and the ratios; prints a Markdown block for
# docs/benchmarks.md ("## clean").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
tree=${1:-/tmp/pyc-bench-tree}
runs=${RUNS:-3}
bdir=$src/build-bench-clean
work=$(mktemp -d /tmp/pyc-bench-clean.XXXXXX)
trap 'rm -rf "$work"' EXIT
# BENCH_TMPFS=1: make the copies on a tmpfs (root only), to time the tools without the disk.
if [ "${BENCH_TMPFS:-0}" = 1 ]; then
	mount -t tmpfs -o size=7g pyc-bench-clean "$work"
	trap 'umount "$work"; rmdir "$work"' EXIT
fi

command -v py3clean >/dev/null || { echo "py3clean missing: apt-get install python3-minimal" >&2; exit 1; }
cmake -S "$src" -B "$bdir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPYC_BUILD_TESTS=OFF >/dev/null
cmake --build "$bdir" --target pyc-tool -j2 >/dev/null
tool=$bdir/pyc-tool
# Reuse the shared tree as whoever built it chose (copies, interpreter): never rebuild it.
if [ -f "$tree/.complete" ]; then
	read -r copies py < "$tree/.complete"
	nfiles=$(bash "$here/make_tree.sh" "$tree" "$copies" "$py" | tail -n1)
else
	nfiles=$(bash "$here/make_tree.sh" "$tree" | tail -n1)
fi
# A private snapshot to copy from: another benchmark may be recompiling the shared tree
# (compileall -f writes each cache through a temporary file and a rename).
for try in 1 2 3 4 5; do
	rm -rf "$work/template"
	cp -a "$tree" "$work/template" 2>/dev/null && break
	[ "$try" -lt 5 ] || { echo "cannot copy $tree: it keeps changing" >&2; exit 1; }
done
find "$work/template" -name '*.pyc.*' -delete   # a rename caught half-way
npyc=$(find "$work/template" -name '*.pyc' | wc -l)

# name|command, run on the copy $work/t; stdout to /dev/null.
cmds=(
	"find -name __pycache__ -prune -exec rm -rf|find '$work/t' -name __pycache__ -type d -prune -exec rm -rf {} +"
	"py3clean|py3clean '$work/t'"
	"pyc-tool clean|'$tool' clean -q '$work/t'"
)

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A times
for ((r = 0; r < runs; r++)); do
	for c in "${cmds[@]}"; do
		name=${c%%|*}
		rm -rf "$work/t"
		cp -a "$work/template" "$work/t"
		# Write the copy back first: otherwise the removal races its own writeback.
		sync
		echo "round $((r + 1))/$runs: $name" >&2
		t0=$EPOCHREALTIME
		eval "${c#*|}" >/dev/null
		t1=$EPOCHREALTIME
		left=$(find "$work/t" \( -name '*.pyc' -o -name __pycache__ \) | wc -l)
		if [ "$left" -ne 0 ]; then
			echo "$name left $left caches behind" >&2
			exit 1
		fi
		times[$name]+="$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}') "
	done
done
rm -rf "$work/t"

med() { echo "${times[$1]}" | tr ' ' '\n' | grep . | median; }
t_find=$(med "${cmds[0]%%|*}")
t_py3=$(med "${cmds[1]%%|*}")
t_tool=$(med "${cmds[2]%%|*}")
where=$(df --output=fstype "$work" | tail -n1)
echo "Tree: $tree ($nfiles .py files, $npyc .pyc files), fresh \`cp -a\` copy per run on $where,"
echo "$runs runs each, median wall time, $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg)."
echo "Command: \`RUNS=$runs BENCH_TMPFS=${BENCH_TMPFS:-0} tests/bench/bench_clean.sh\`"
echo
echo "| command | median s | time / pyc-tool's |"
echo "|---|---|---|"
for c in "${cmds[@]}"; do
	name=${c%%|*}
	m=$(med "$name")
	echo "| \`$name\` | $m | $(awk -v a="$m" -v b="$t_tool" 'BEGIN {printf "%.2f", a / b}') |"
done
echo
awk -v f="$t_find" -v p="$t_py3" -v t="$t_tool" 'BEGIN {
	printf "pyc-tool clean: %.2fx the speed of that find (goal >= 1), %.2fx py3clean (goal >= 2.5).\n", f / t, p / t }'
