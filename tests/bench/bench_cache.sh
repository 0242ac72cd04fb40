#!/usr/bin/env bash
# bench_cache.sh [--big] [PYTHON]
# The compile cache (issue #11, docs/cache.md) against compileall and a plain copy, side by
# side in one run. Trees (sources only, PYTHON's: default pyenv's 3.12, else python3):
#   small: an environment of about 3,500 files: every .py under PYTHON's library
#          directory (the standard library with its tests, and site-packages: pyenv's
#          3.12.1 has 2,231), then those of the packages Debian installed in DIST
#          (default /usr/lib/python3/dist-packages, 1,680 files here) as the tree's
#          dist-packages/, up to SMALL_FILES (default 3,500) in path order; what is on
#          the machine without a network, and, unlike a second copy of the library, not
#          sources the first part already holds (which would hit in the "cold" run);
#   --big: the sources of tests/bench/make_tree.sh's tree (34 copies of the standard
#          library, ~59,000 files; copied here, not compiled), measured once, and
#          only compileall, the warm runs and the copy (BIG_FULL=1: everything). Its 34
#          copies of one library make a cold store hit 33 times in 34, so cold against
#          --no-cache means nothing there, and each compileall of it takes minutes.
# Each run alternates, each on a fresh `cp -r` of the tree (new mtimes, same bytes, no
# caches) at the same path P, except where said:
#   compileall -f -j0                     the cold reference
#   pyc-tool compile -f --no-cache        no store
#   pyc-tool compile -f, store empty      cold store (goal: <= 1.03 x --no-cache)
#   pyc-tool compile, warm store          a fresh copy at P (goal: >= 15x faster than
#                                         compileall, <= 2x the copy below)
#   pyc-tool compile, warm store, at Q    the same tree at another path (same goals)
#   cp -a of compileall's __pycache__     the copy: the directories of compileall's run at
#     directories into a fresh tree       P, listed beforehand, copied into a fresh tree
# The warm store is filled once by a compile at P and restored (cp -a) before each warm
# run, so every warm run starts from the same store. Reports medians of RUNS (default 3;
# 1 with --big) of wall time, CPU time (user + sys, children included) and peak RSS
# (/usr/bin/time -f %M, else getrusage), the store's entries and size (`cache stats
# --json`), hits/misses of the warm runs (--json), and whether the warm runs' pycs equal
# compileall's at P and at Q byte for byte (diff -rq; 3.11+ only).
# REMOTES="NAME=URL ..." (tests/bench/bench_remote.sh sets it, with servers it starts):
# each remote is filled once by a compile at P into an empty store, then every run
# compiles a fresh copy at Q with an EMPTY local store and that remote (issue #12's
# goal: >= 10x faster than compileall); the cost per remote hit is its time above the
# warm local run at Q, divided by its hits.
# Trees go to /dev/shm when it has room (else /tmp; BENCH_DIR overrides).
# Needs PYC_TOOL (default: build/pyc-tool of this checkout). Prints a Markdown table
# (for docs/benchmarks.md, "## cache").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
big=0
if [ "${1:-}" = "--big" ]; then big=1; shift; fi
. "$(dirname "$0")/bench_python.sh"
py=$(bench_python "${1:-}")
tool=$(realpath "${PYC_TOOL:-$here/../../build/pyc-tool}")
runs=${RUNS:-3}
full=1
if [ "$big" = 1 ]; then runs=${RUNS_BIG:-1} full=${BIG_FULL:-0}; fi
export PYTHONHASHSEED=0
unset PYTHONDONTWRITEBYTECODE SOURCE_DATE_EPOCH PYTHONPYCACHEPREFIX PYC_TOOL_CACHE_DIR \
	PYC_TOOL_NO_PROBE_CACHE

dist=$(realpath "${DIST:-/usr/lib/python3/dist-packages}" 2>/dev/null || echo /nonexistent)
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
median() { sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m}'; }
ratio() { printf '%.2f' "$(echo "$1 / $2" | bc -l)"; }

# list_sources LIST: writes the tree's sources to LIST (relative paths, one a line) and
# prints the directory they are relative to.
list_sources() {
	local lib
	lib=$("$py" -c 'import os; print(os.path.dirname(os.__file__))')
	if [ "$big" = 1 ]; then
		# make_tree.sh's selection, 34 times (copyN/...): its sources without its compile.
		(cd "$lib" && find . -name '*.py' -not -path './site-packages/*' \
			-not -path '*/__pycache__/*' | LC_ALL=C sort) > "$1.one"
		for i in $(seq 1 "${COPIES:-34}"); do sed "s|^\./|./copy$i/|" "$1.one"; done > "$1"
		rm -f "$1.one"
		echo "$lib (x${COPIES:-34})"
	else
		{
			(cd "$lib" && find . -name '*.py' -not -path '*/__pycache__/*' | LC_ALL=C sort)
			[ ! -d "$dist" ] || (cd "$dist/.." && find "./$(basename "$dist")" -name '*.py' \
				-not -path '*/__pycache__/*' | LC_ALL=C sort)
		} | head -n "${SMALL_FILES:-3500}" > "$1"
		echo "$lib + $dist"
	fi
}

# copy_sources LIST DEST: the listed files (relative to lib, the dist-packages part to
# dist's parent) into DEST; `du -k` of the same files with -s.
dist_part() { grep "^\./$(basename "$dist")/" "$1" || true; }
lib_part() { grep -v "^\./$(basename "$dist")/" "$1" || true; }
copy_sources() {
	(cd "$lib" && lib_part "$1" | tr '\n' '\0' | xargs -0 -r cp --parents -t "$2")
	[ ! -d "$dist" ] || (cd "$dist/.." && dist_part "$1" | tr '\n' '\0' |
		xargs -0 -r cp --parents -t "$2")
}

list=$(mktemp)
trap 'rm -f "$list"' EXIT
from=$(list_sources "$list")
lib=${from% (x*}
lib=${lib% + *}
nfiles=$(wc -l < "$list")
if [ "$big" = 1 ]; then
	src_kib=$(cd "$lib" && sed 's|^\./copy[0-9]*/|./|' "$list" | tr '\n' '\0' |
		du -c -l --files0-from=- -k | tail -n1 | cut -f1)
else
	src_kib=$(( $(cd "$lib" && lib_part "$list" | tr '\n' '\0' | du -c -l --files0-from=- -k |
		tail -n1 | cut -f1) + $( (cd "$dist/.." && dist_part "$list" | tr '\n' '\0' |
		du -c -l --files0-from=- -k | tail -n1 | cut -f1) || echo 0) ))
fi
# The sources, compileall's tree (sources and caches), the trees at P and Q, the two
# comparison trees, the stores: about 10 times the sources at most.
need_kib=$((src_kib * 12))
base=${BENCH_DIR:-}
if [ -z "$base" ]; then
	shm_kib=$(df -k --output=avail /dev/shm 2>/dev/null | tail -n1 || echo 0)
	if [ "${shm_kib:-0}" -gt "$need_kib" ]; then base=/dev/shm; else base=/tmp; fi
fi
on_disk=1
[ "$base" = /dev/shm ] && on_disk=0
base=$base/pyc-bench-cache
rm -rf "$base"
mkdir -p "$base/p" "$base/q"
mv "$list" "$base/list"
[ -n "${BENCH_KEEP:-}" ] || trap 'rm -rf "$base"' EXIT
scratch=$base/scratch src=$base/src P=$base/p/tree Q=$base/q/tree refp=$base/ref-p
mkdir -p "$scratch" "$src"
if [ "$big" = 1 ]; then
	for i in $(seq 1 "${COPIES:-34}"); do
		mkdir -p "$src/copy$i"
		(cd "$lib" && sed -n "s|^\./copy$i/|./|p" "$base/list" | tr '\n' '\0' |
			xargs -0 cp --parents -t "$src/copy$i")
	done
else
	copy_sources "$base/list" "$src"
fi
export XDG_CACHE_HOME=$base/xdg     # a probe cache of the benchmark's own

fresh() {   # fresh DIR: a new copy of the sources at DIR (new mtimes, no caches)
	rm -rf "$1"
	cp -r "$src" "$1"
	[ "$on_disk" = 0 ] || sync
}

declare -A walls cpus rsss remote_counts remote_hits
# CPU time: perf's task-clock counts every descendant (compileall -j0's workers are
# children of a forkserver that nobody waits for, so getrusage misses them); without
# perf, user + sys of the waited-for children.
perf_ok=0
perf stat -x, -e task-clock -o /dev/null true >/dev/null 2>&1 && perf_ok=1
# measure NAME CMD...: one timed run; output to $scratch/out.NAME.
measure() {
	local name=$1 t0 t1 u s m cpu pre=()
	shift
	[ "$perf_ok" = 1 ] && pre=(perf stat -x, -e task-clock -o "$scratch/perf" --)
	t0=$(date +%s.%N)
	if [ -x /usr/bin/time ]; then
		"${pre[@]}" /usr/bin/time -f '%U %S %M' -o "$scratch/time" "$@" \
			>"$scratch/out.$name" 2>&1 || true
	else
		"${pre[@]}" python3 -c 'import resource, subprocess, sys
with open(sys.argv[2], "wb") as out:
    subprocess.call(sys.argv[3:], stdout=out, stderr=out)
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write("%.2f %.2f %d\n" % (ru.ru_utime, ru.ru_stime, ru.ru_maxrss))' \
			"$scratch/time" "$scratch/out.$name" "$@" || true
	fi
	t1=$(date +%s.%N)
	read -r u s m < <(tail -n1 "$scratch/time")
	cpu=$(echo "$u + $s" | bc -l)
	[ "$perf_ok" = 1 ] && cpu=$(awk -F, '$3 == "task-clock" {printf "%.3f", $1 / 1000}' "$scratch/perf")
	walls[$name]+="$(echo "$t1 - $t0" | bc -l) "
	cpus[$name]+="$cpu "
	rsss[$name]+="$m "
}
med() { printf '%s\n' $1 | median; }

# "hits misses workers" of a --json run's output.
json_counts() {
	python3 -c 'import json, sys
s = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
s = [r for r in s if r["type"] == "summary"]
if not s:
    sys.exit("no summary in %s:\n%s" % (sys.argv[1], open(sys.argv[1]).read()[-2000:]))
print(s[-1]["cache_hits"], s[-1]["cache_misses"], s[-1]["workers_started"])' "$1"
}

# oracle OURS DIR: compileall at DIR on the sources of OURS (same mtimes: cp -a), then
# "pycs differences" between OURS and DIR (diff -rq: differing or missing files).
oracle() {
	local n d
	rm -rf "$2"
	cp -a "$1" "$2"
	find "$2" -name __pycache__ -type d -prune -exec rm -rf {} +
	"$py" -m compileall -q -j0 "$2" >/dev/null 2>&1 || true
	n=$(find "$1" -name '*.pyc' | wc -l)
	d=$(diff -rq "$1" "$2" | wc -l || true)
	echo "$n $d"
}

store=$base/store warm=$base/store-warm cold=$base/store-cold
compile=("$tool" compile --json --python "$py")

# The warm store: one compile at P (also fills the probe cache and the fingerprint memo).
fresh "$P"
"${compile[@]}" --cache-dir "$warm" "$P" > "$scratch/out.fill" 2>&1 || true
read -r fill_hits fill_misses _ < <(json_counts "$scratch/out.fill")
stats=$("$tool" cache stats --json --cache-dir "$warm" | head -n1)
entries=$(echo "$stats" | python3 -c 'import json, sys; print(json.load(sys.stdin)["entries"])')
store_bytes=$(echo "$stats" | python3 -c 'import json, sys; print(json.load(sys.stdin)["bytes"])')

# Each remote: one compile at P into an empty local store, written through to it.
declare -A remote_url
for r in ${REMOTES:-}; do
	remote_url[${r%%=*}]=${r#*=}
	fresh "$P"
	rm -rf "$base/store-rfill"
	"${compile[@]}" --cache-dir "$base/store-rfill" --cache-remote "${r#*=}" "$P" \
		> "$scratch/out.rfill.${r%%=*}" 2>&1 || true
done
rm -rf "$base/store-rfill"

echo "machine: $(nproc) cores, $("$py" -V 2>&1), $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(loadavg), trees in $base"
echo "tree: $nfiles .py files ($src_kib KiB) from $from"
echo

for i in $(seq 1 "$runs"); do
	fresh "$P"
	measure compileall "$py" -m compileall -q -f -j0 "$P"
	if [ "$i" = 1 ]; then
		rm -rf "$refp"
		mv "$P" "$refp"
		(cd "$refp" && find . -name __pycache__ -type d -prune -print0) > "$scratch/pycache.list"
	fi
	if [ "$full" = 1 ]; then
		fresh "$P"
		measure nocache "${compile[@]}" -f --no-cache "$P"
		fresh "$P"
		rm -rf "$cold"
		measure cold "${compile[@]}" -f --cache-dir "$cold" "$P"
	fi
	fresh "$P"
	rm -rf "$store" && cp -a "$warm" "$store"
	measure warm_p "${compile[@]}" --cache-dir "$store" "$P"
	read -r wp_hits wp_misses wp_workers < <(json_counts "$scratch/out.warm_p")
	[ "$i" = "$runs" ] && mv "$P" "$base/p/ours"
	fresh "$Q"
	rm -rf "$store" && cp -a "$warm" "$store"
	measure warm_q "${compile[@]}" --cache-dir "$store" "$Q"
	read -r wq_hits wq_misses wq_workers < <(json_counts "$scratch/out.warm_q")
	[ "$i" = "$runs" ] && mv "$Q" "$base/q/ours"
	for name in "${!remote_url[@]}"; do
		fresh "$Q"
		rm -rf "$store"
		measure "remote_$name" "${compile[@]}" --cache-dir "$store" \
			--cache-remote "${remote_url[$name]}" "$Q"
		read -r rh rm_ _ < <(json_counts "$scratch/out.remote_$name")
		remote_counts[$name]="$rh hits, $rm_ misses"
		remote_hits[$name]=$rh
	done
	fresh "$P"
	measure cp_a env -C "$refp" xargs -0 -a "$scratch/pycache.list" cp -a --parents -t "$P"
done
end_load=$(loadavg)

# The last warm runs' caches against compileall's at the same paths.
if [ "$full" = 1 ]; then
	read -r cold_hits cold_misses _ < <(json_counts "$scratch/out.cold")
	rm -rf "$refp" "$src"
	read -r wp_n wp_diff < <(oracle "$base/p/ours" "$P")
	rm -rf "$base/p/ours" "$P"
	read -r wq_n wq_diff < <(oracle "$base/q/ours" "$Q")
fi

ca=$(med "${walls[compileall]}")
cpa=$(med "${walls[cp_a]}")
row() {   # row NAME LABEL COMMAND [NOTE]
	local w c r
	w=$(med "${walls[$1]}") c=$(med "${cpus[$1]}") r=$(med "${rsss[$1]}")
	echo "| $2 | \`$3\` | $w | $c | $(ratio "$w" "$ca") | $(ratio "$w" "$cpa") | ${r%.*} | ${4:-} |"
}
echo "| scenario | command | wall s | CPU s | wall / compileall | wall / cp -a | peak RSS KiB | store |"
echo "|---|---|---|---|---|---|---|---|"
row compileall "cold reference" "$(basename "$py") -m compileall -q -f -j0 P"
if [ "$full" = 1 ]; then
	row nocache "no store" "pyc-tool compile -f --no-cache P"
	row cold "cold store (empty)" "pyc-tool compile -f --cache-dir EMPTY P" \
		"$cold_hits hits, $cold_misses misses"
fi
row warm_p "warm store, fresh copy at P" "pyc-tool compile --cache-dir WARM P" \
	"$wp_hits hits, $wp_misses misses, $wp_workers workers"
row warm_q "warm store, same tree at Q" "pyc-tool compile --cache-dir WARM Q" \
	"$wq_hits hits, $wq_misses misses, $wq_workers workers"
for name in "${!remote_url[@]}"; do
	row "remote_$name" "empty store, warm $name remote, at Q" \
		"pyc-tool compile --cache-dir EMPTY --cache-remote URL Q" "${remote_counts[$name]}"
done
row cp_a "copy of compileall's caches" "xargs -0 cp -a --parents -t P (the __pycache__ dirs)"
echo
wp=$(med "${walls[warm_p]}") wq=$(med "${walls[warm_q]}")
if [ "$full" = 1 ]; then
	nc=$(med "${walls[nocache]}") co=$(med "${walls[cold]}")
	echo "- cold store / --no-cache: $(ratio "$co" "$nc") wall, $(ratio "$(med "${cpus[cold]}")" "$(med "${cpus[nocache]}")") CPU (goal <= 1.03)"
fi
echo "- warm at P: $(ratio "$ca" "$wp")x faster than compileall (goal >= 15), $(ratio "$wp" "$cpa") x cp -a (goal <= 2)"
echo "- warm at Q: $(ratio "$ca" "$wq")x faster than compileall (goal >= 15), $(ratio "$wq" "$cpa") x cp -a (goal <= 2)"
for name in "${!remote_url[@]}"; do
	rw=$(med "${walls[remote_$name]}")
	echo "- $name remote into an empty store at Q: $(ratio "$ca" "$rw")x faster than compileall (goal >= 10), $(ratio "$rw" "$wq") x the warm local store; $(printf '%.0f' "$(echo "($rw - $wq) * 1000000 / ${remote_hits[$name]:-1}" | bc -l)") us per remote hit above a local hit"
done
echo "- store after the fill at P ($fill_misses misses, $fill_hits hits): $entries entries, $store_bytes bytes"
[ "$full" = 1 ] &&
	echo "- pycs equal to compileall's (diff -rq): at P $((wp_n - wp_diff)) of $wp_n, at Q $((wq_n - wq_diff)) of $wq_n"
echo "- load average at the end: $end_load"
