# Sourced by the benchmark scripts: bench_python [PYTHON] prints the interpreter to measure,
# PYTHON when given, else pyenv's 3.12 (the version docs/benchmarks.md reports), else python3.
bench_python() {
	local py=${1:-} root
	if [ -z "$py" ]; then
		root=$(pyenv root 2>/dev/null || true)
		py=$(ls -d "$root"/versions/3.12.*/bin/python3 2>/dev/null | head -n1 || true)
		[ -n "$py" ] || py=python3
	fi
	echo "$py"
}
