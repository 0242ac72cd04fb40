#!/usr/bin/env bash
# bench_check.sh [NFILES] - `pyc-tool check` against the git pipelines that answer the same
# question, side by side in one run, on a synthetic repository of NFILES (default 20000)
# tracked .py files in 400 packages.
#
# Builds pyc-tool optimised (build-bench/, RelWithDebInfo), then alternates RUNS (default 7)
# timed runs of each command and prints the median wall time and the ratio to the git
# pipeline, as a Markdown table for docs/benchmarks.md ("## check"). Scenarios:
#  - staged-first: the first commit of the repository (unborn HEAD, every file added);
#  - staged-clean: HEAD plus 10 modified files, no bytecode in the index (pyc-tool's fast
#    path: no diff at all);
#  - staged-bytecode: the same plus 2 staged .pyc (the full diff with rename detection);
#  - index: every tracked path (2 .pyc among them).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
nfiles=${1:-20000}
runs=${RUNS:-7}
bdir=$src/build-bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HOME=$work/home XDG_CONFIG_HOME=$work/home/.config GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@example.invalid
export GIT_COMMITTER_NAME=b GIT_COMMITTER_EMAIL=b@example.invalid
mkdir -p "$XDG_CONFIG_HOME"

cmake -S "$src" -B "$bdir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPYC_BUILD_TESTS=OFF >/dev/null
cmake --build "$bdir" --target pyc-tool -j2 >/dev/null
tool=$bdir/pyc-tool
repo=$work/repo
git init -q "$repo"
python3 - "$repo" "$nfiles" <<'EOF'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "pkg%03d" % (i % 400))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "m%05d.py" % i), "w") as f:
        f.write("x = %d\n" % i)
EOF
git -C "$repo" add -A
re='(^|/)__pycache__/|\.py[co]$'

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# time_cmd CMD: wall seconds of one run (stdout discarded; exit status ignored).
time_cmd() {
	local t0 t1
	t0=$(date +%s.%N)
	(cd "$repo" && eval "$1") >/dev/null 2>&1 || true
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'
}
# scenario NAME GITCMD TOOLCMD: alternate the two, print two table rows.
scenario() {
	local name=$1 gcmd=$2 tcmd=$3 g=() t=()
	for _ in $(seq 1 "$runs"); do
		g+=("$(time_cmd "$gcmd")")
		t+=("$(time_cmd "$tcmd")")
	done
	local gm tm
	gm=$(printf '%s\n' "${g[@]}" | median)
	tm=$(printf '%s\n' "${t[@]}" | median)
	local gms tms ratio
	gms=$(awk -v g="$gm" 'BEGIN { printf "%.1f", g * 1000 }')
	tms=$(awk -v t="$tm" 'BEGIN { printf "%.1f", t * 1000 }')
	ratio=$(awk -v g="$gm" -v t="$tm" 'BEGIN { printf "%.2f", t / g }')
	printf '| %s | `%s` | %s ms | 1.00 |\n' "$name" "$gcmd" "$gms"
	printf '| %s | `%s` | %s ms | %s |\n' "$name" "$tcmd" "$tms" "$ratio"
}

echo "check: $nfiles tracked .py files, $runs runs each, median wall time; ratio to git"
echo
echo "| scenario | command | median | ratio |"
echo "|---|---|---|---|"
scenario staged-first "git diff --cached --name-only --diff-filter=d -M | grep -E '$re'" \
	"'$tool' check --staged -q"
git -C "$repo" commit -q --no-verify -m base
for i in $(seq 0 9); do echo "y = 1" >> "$repo/pkg00$i/m0000$i.py"; done
git -C "$repo" add -A
scenario staged-clean "git diff --cached --name-only --diff-filter=d -M | grep -E '$re'" \
	"'$tool' check --staged -q"
mkdir -p "$repo/pkg000/__pycache__"
echo x > "$repo/pkg000/__pycache__/m00000.cpython-311.pyc"
echo x > "$repo/stray.pyc"
git -C "$repo" add -A
scenario staged-bytecode "git diff --cached --name-only --diff-filter=d -M | grep -E '$re'" \
	"'$tool' check --staged -q"
scenario index "git ls-files | grep -E '$re'" "'$tool' check --index -q"
