#!/usr/bin/env bash
# bench_remote.sh [--big] [PYTHON]
# The remote compile cache (issue #12, docs/cache.md "Remote cache"): bench_cache.sh's
# tree and runs, plus an empty local store with a warm remote at Q, for a Redis server
# and an nginx WebDAV server started on loopback here (tests/e2e/srv_redis.py,
# srv_nginx.py) and a file:// directory. A server whose binary is absent is left out,
# saying so. Prints bench_cache.sh's Markdown table (for docs/benchmarks.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
e2e=$here/../e2e
if [ -z "${PYC_BENCH_SERVERS:-}" ]; then
	export PYC_BENCH_SERVERS=1
	wrap=()
	command -v redis-server >/dev/null && wrap+=(python3 "$e2e/srv_redis.py" --)
	[ -x /usr/sbin/nginx ] && wrap+=(python3 "$e2e/srv_nginx.py" --)
	exec "${wrap[@]}" "$0" "$@"
fi
remotes=""
[ -n "${PYC_TEST_REDIS_URL:-}" ] && remotes="redis=$PYC_TEST_REDIS_URL" ||
	echo "no Redis server: its rows are left out" >&2
[ -n "${PYC_TEST_HTTP_URL:-}" ] && remotes="$remotes http=$PYC_TEST_HTTP_URL" ||
	echo "no nginx: its rows are left out" >&2
shared=$(mktemp -d "${BENCH_DIR:-/dev/shm}/pyc-bench-remote.XXXXXX")
trap 'rm -rf "$shared"' EXIT
REMOTES="$remotes file=file://$shared" bash "$here/bench_cache.sh" "$@"
