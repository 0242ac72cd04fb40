#!/usr/bin/env bash
# make_tree.sh DIR [COPIES] [PYTHON]
# Build a benchmark tree: COPIES copies (default 34, about 59,000 .py files for 3.12) of
# PYTHON's standard library (default: pyenv's 3.12 if present, else python3) under DIR,
# then compile it with that interpreter's compileall (fresh timestamp caches).
# Prints the number of .py files. Reuses DIR when it already holds a finished tree.
set -euo pipefail
dir=${1:?usage: make_tree.sh DIR [COPIES] [PYTHON]}
copies=${2:-34}
. "$(dirname "$0")/bench_python.sh"
py=$(bench_python "${3:-}")
# Several benchmarks share one tree: build it under a lock, once.
exec 9>"${dir%/}.lock"
flock 9
# A finished tree with at least as many copies from the same interpreter is reused as is.
if [ -f "$dir/.complete" ] && read -r have have_py < "$dir/.complete" &&
	[ "$have_py" = "$py" ] && [ "$have" -ge "$copies" ]; then
	find "$dir" -name '*.py' | wc -l
	exit 0
fi
rm -rf "$dir"
mkdir -p "$dir"
stdlib=$("$py" -c 'import os; print(os.path.dirname(os.__file__))')
for i in $(seq 1 "$copies"); do
	mkdir -p "$dir/copy$i"
	# The stdlib without its caches, test data that does not compile, or site-packages.
	(cd "$stdlib" && find . -name '*.py' -not -path './site-packages/*' -not -path '*/__pycache__/*' \
		-exec cp --parents -p -t "$dir/copy$i" {} +)
done
env -u PYTHONDONTWRITEBYTECODE PYTHONHASHSEED=0 "$py" -m compileall -q -j0 "$dir" >/dev/null 2>&1 || true
echo "$copies $py" > "$dir/.complete"
find "$dir" -name '*.py' | wc -l
