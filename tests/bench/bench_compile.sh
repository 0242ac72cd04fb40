#!/usr/bin/env bash
# bench_compile.sh [--big] [PYTHON]
# `pyc-tool compile` against `python -m compileall`, side by side in one run, on a copy of
# PYTHON's standard library (default: pyenv's 3.12, else python3) and, with --big, on the
# shared tree of tests/bench/make_tree.sh (/tmp/pyc-bench-tree, ~59,000 files; slow: a
# forced compile of it takes minutes, so it is measured once).
# Measures, alternating the two tools, the median of RUNS wall times (default 3; 1 for the
# big tree):
#   compileall -f -j0      vs  pyc-tool compile -f          (forced full compile)
#   the compiler floor: an in-process compile()+marshal.dumps loop's CPU time / cores, and
#   the same loop sharded over `cores` processes in parallel (wall; fair under load)
#   compileall -j1 no-op   vs  pyc-tool compile no-op
# Prints a Markdown table (for docs/benchmarks.md, "## compile").
# Needs PYC_TOOL (default: build/pyc-tool of this checkout).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
big=0
if [ "${1:-}" = "--big" ]; then big=1; shift; fi
. "$(dirname "$0")/bench_python.sh"
py=$(bench_python "${1:-}")
tool=${PYC_TOOL:-$here/../../build/pyc-tool}
runs=${RUNS:-3}
cores=$(nproc)
export PYTHONHASHSEED=0
unset PYTHONDONTWRITEBYTECODE SOURCE_DATE_EPOCH PYTHONPYCACHEPREFIX

# Wall seconds of one run of "$@" (output discarded; failures of single files are expected:
# the stdlib's test data holds sources that do not compile).
wall() {
	local t0 t1
	t0=$(date +%s.%N)
	"$@" >/dev/null 2>&1 || true
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc -l
}

median() { sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m}'; }

# Alternate two commands N times; prints "median_a median_b".
pair() {
	local n=$1 a=$2 b=$3 ta=() tb=()
	for _ in $(seq 1 "$n"); do
		ta+=("$(eval "wall $a")")
		tb+=("$(eval "wall $b")")
	done
	echo "$(printf '%s\n' "${ta[@]}" | median) $(printf '%s\n' "${tb[@]}" | median)"
}

# The compiler floor for DIR: one in-process compile()+marshal.dumps loop per shard of the
# sources (shard I of N: every Nth file). Prints "cpu_seconds" of the shard.
floor_py='
import marshal, os, sys, time
root, shard, nshards = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
paths = []
for d, dirs, files in os.walk(root):
    dirs[:] = sorted(x for x in dirs if x != "__pycache__")
    paths += [os.path.join(d, f) for f in sorted(files) if f.endswith(".py")]
t0 = time.process_time()
for p in paths[shard::nshards]:
    with open(p, "rb") as f:
        src = f.read()
    try:
        marshal.dumps(compile(src, p, "exec", dont_inherit=True))
    except (SyntaxError, ValueError, UnicodeError):
        pass
print("%.3f" % (time.process_time() - t0))
'

# "cpu cpu/cores wall": the loop's CPU time over all files (one process), that divided by
# the cores (the issue's floor), and the wall time of `cores` loops run in parallel on
# shards, which is the floor under whatever else the machine is doing right now.
floor() {
	local cpu t0 t1
	cpu=$("$py" -c "$floor_py" "$1" 0 1 2>/dev/null)
	t0=$(date +%s.%N)
	for i in $(seq 0 $((cores - 1))); do
		"$py" -c "$floor_py" "$1" "$i" "$cores" >/dev/null 2>&1 &
	done
	wait
	t1=$(date +%s.%N)
	printf '%.2f %.2f %.2f\n' "$cpu" "$(echo "$cpu / $cores" | bc -l)" "$(echo "$t1 - $t0" | bc -l)"
}

ratio() { printf '%.2f' "$(echo "$1 / $2" | bc -l)"; }

measure() {
	local label=$1 dir=$2 n=$3 files
	files=$(find "$dir" -name '*.py' | wc -l)
	# Fresh caches first, so both no-op runs really have nothing to do.
	"$tool" compile -qq --python "$py" "$dir" || true
	local ca_f ours_f fl cpu flw ca_noop ours_noop
	read -r ca_f ours_f < <(pair "$n" '"$py" -m compileall -q -f -j0 "$dir"' \
		'"$tool" compile -q -f --python "$py" "$dir"')
	read -r cpu fl flw < <(floor "$dir")
	read -r ca_noop ours_noop < <(pair "$n" '"$py" -m compileall -q -j1 "$dir"' \
		'"$tool" compile -q --python "$py" "$dir"')
	echo "| $label | $files | $ca_f | $ours_f | $(ratio "$ours_f" "$ca_f") | $cpu / $fl | $flw | $(ratio "$ours_f" "$fl") / $(ratio "$ours_f" "$flw") | $ca_noop | $ours_noop | $(ratio "$ca_noop" "$ours_noop")x |"
}

small=/tmp/pyc-bench-compile-small
if [ ! -f "$small/.complete" ]; then
	rm -rf "$small"
	mkdir -p "$small"
	stdlib=$("$py" -c 'import os; print(os.path.dirname(os.__file__))')
	(cd "$stdlib" && find . -name '*.py' -not -path './site-packages/*' -not -path '*/__pycache__/*' \
		-exec cp --parents -p -t "$small" {} +)
	touch "$small/.complete"
fi

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
echo "machine: $cores cores, $("$py" -V 2>&1), $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(loadavg)"
echo
echo "| tree | .py files | compileall -f -j0 (s) | pyc-tool -f (s) | ratio (goal <= 0.8) | floor CPU / per core (s) | floor, $cores loops in parallel (s) | pyc-tool -f / floor per core / parallel floor (goal <= 1.15) | compileall -j1 no-op (s) | pyc-tool no-op (s) | no-op speed-up (goal >= 5x) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
measure "stdlib copy" "$small" "$runs"
if [ "$big" = 1 ]; then
	bigdir=/tmp/pyc-bench-tree
	"$here/make_tree.sh" "$bigdir" >/dev/null
	measure "make_tree.sh" "$bigdir" 1
fi
echo
echo "load average at the end: $(loadavg)"
