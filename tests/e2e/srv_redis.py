"""A real redis-server for the remote cache's tests (issue #12), stdlib only.

    ok, why = srv_redis.available()
    with srv_redis.server(requirepass="pw") as srv:
        srv.url                 # "redis://127.0.0.1:PORT" (no credentials in it)
        srv.kill()              # SIGKILL: a server that died mid-run
        srv.set_maxmemory(1)    # with noeviction: a full server refuses every SET
        srv.corrupt(hexkey); srv.truncate(hexkey); srv.keys()

Each server runs on a free loopback port with its own config in a temporary directory,
persisting nothing, and is shut down (or killed) on leaving the block. Keys are laid out
as the backend writes them: "pyc-tool:<64 hex digits>".

As a program, for CTest: `python3 srv_redis.py [--spare] -- CMD...` runs CMD with
PYC_TEST_REDIS_URL set (and with --spare a second server, PYC_TEST_REDIS_SPARE_URL and
PYC_TEST_REDIS_SPARE_PID, for a test that kills it), then stops them and exits with CMD's
status; 77 (skipped) when redis-server is absent.
"""
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

PREFIX = "pyc-tool:"
START_TIMEOUT = 10.0


def available():
    """(True, "") when redis-server can be run, else (False, why)."""
    if shutil.which("redis-server") is None:
        return False, "redis-server not found (Debian package redis-server)"
    return True, ""


class RespError(Exception):
    """An error reply (-ERR ...) from the server."""


class Client:
    """A minimal RESP2 client: one connection, one command at a time."""

    def __init__(self, port, password=None, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.rfile = self.sock.makefile("rb")
        if password is not None:
            self.command("AUTH", password)

    def close(self):
        self.rfile.close()
        self.sock.close()

    def command(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self._reply()

    def _reply(self):
        line = self.rfile.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("connection closed by redis-server")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RespError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.rfile.read(n + 2)
            return data[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise ConnectionError("bad reply from redis-server: %r" % line)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, port, proc, password, tmp):
        self.port = port
        self.proc = proc
        self.password = password
        self.tmp = tmp
        self.url = "redis://127.0.0.1:%d" % port

    @property
    def pid(self):
        return self.proc.pid

    def command(self, *args):
        c = Client(self.port, self.password)
        try:
            return c.command(*args)
        finally:
            c.close()

    def kill(self):
        """Kill the server at once, as a crash or an OOM killer would."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def set_maxmemory(self, nbytes):
        """Make the server full: past nbytes every write is refused (OOM error)."""
        self.command("CONFIG", "SET", "maxmemory-policy", "noeviction")
        self.command("CONFIG", "SET", "maxmemory", nbytes)

    def keys(self):
        """The hex keys stored, sorted."""
        return sorted(k.decode()[len(PREFIX):] for k in self.command("KEYS", PREFIX + "*"))

    def get(self, hexkey):
        return self.command("GET", PREFIX + hexkey)

    def put(self, hexkey, data):
        self.command("SET", PREFIX + hexkey, data)

    def corrupt(self, hexkey):
        """Flip one byte in the middle of a stored value (same length)."""
        data = bytearray(self._must_get(hexkey))
        data[len(data) // 2] ^= 0xFF
        self.put(hexkey, bytes(data))

    def truncate(self, hexkey):
        """Cut a stored value to half its length."""
        data = self._must_get(hexkey)
        self.put(hexkey, data[: len(data) // 2])

    def _must_get(self, hexkey):
        data = self.get(hexkey)
        if not data:
            raise KeyError("no value under %s%s" % (PREFIX, hexkey))
        return data

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.command("SHUTDOWN", "NOSAVE")
            except (OSError, RespError, ConnectionError):
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()


def _config(port, tmp, opts):
    lines = [
        "bind 127.0.0.1",
        "port %d" % port,
        "dir %s" % tmp,
        'save ""',
        "appendonly no",
        "daemonize no",
        "logfile %s" % os.path.join(tmp, "redis.log"),
    ]
    lines += ["%s %s" % (k.replace("_", "-"), v) for k, v in opts.items()]
    path = os.path.join(tmp, "redis.conf")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def _wait_ready(srv):
    end = time.monotonic() + START_TIMEOUT
    while time.monotonic() < end:
        if srv.proc.poll() is not None:
            return False
        try:
            if srv.command("PING") == "PONG":
                return True
        except (OSError, RespError, ConnectionError):
            pass
        time.sleep(0.02)
    return False


def _start(opts, tmp):
    """Start on a free port; another process may take the port first, so retry."""
    for _ in range(5):
        port = _free_port()
        conf = _config(port, tmp, opts)
        proc = subprocess.Popen(["redis-server", conf], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        srv = Server(port, proc, opts.get("requirepass"), tmp)
        if _wait_ready(srv):
            return srv
        srv.kill()
    with open(os.path.join(tmp, "redis.log")) as f:
        log = f.read()[-2000:]
    raise RuntimeError("redis-server did not start; its log ends:\n" + log)


@contextlib.contextmanager
def server(**opts):
    """A running redis-server; opts are extra config lines (requirepass="pw")."""
    tmp = tempfile.mkdtemp(prefix="pyc-redis-")
    srv = None
    try:
        srv = _start(opts, tmp)
        yield srv
    finally:
        if srv is not None:
            srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv):
    split = argv.index("--") if "--" in argv else len(argv)
    opts, cmd = argv[:split], argv[split + 1:]
    if not cmd or any(o != "--spare" for o in opts):
        print("usage: srv_redis.py [--spare] -- CMD...", file=sys.stderr)
        return 2
    spare = "--spare" in opts
    ok, why = available()
    if not ok:
        print("SKIP: %s" % why, flush=True)
        return 77
    with contextlib.ExitStack() as stack:
        env = dict(os.environ)
        env["PYC_TEST_REDIS_URL"] = stack.enter_context(server()).url
        if spare:
            s = stack.enter_context(server())
            env["PYC_TEST_REDIS_SPARE_URL"] = s.url
            env["PYC_TEST_REDIS_SPARE_PID"] = str(s.pid)
        # CMD's own signals (Ctrl-C) must not leave the servers behind: ExitStack stops them.
        try:
            return subprocess.call(cmd, env=env)
        except KeyboardInterrupt:
            return 128 + signal.SIGINT


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
