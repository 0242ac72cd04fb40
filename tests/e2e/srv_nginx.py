"""A real nginx with a WebDAV cache location, for the HTTP remote's tests (issue #12).

Stdlib only. nginx (Debian's package, /usr/sbin/nginx) runs in the foreground as one
process (master_process off: nothing forks, so kill() leaves no worker behind), with its
configuration, pid, logs and temp paths in a temp directory, on a free loopback port.

Locations, all but /auth/ on the same directory (.root), so a test fills one and reads
another:
  /cache/  GET and PUT (dav_methods PUT DELETE, create_full_put_path): .url
  /ro/     GET only; PUT answers 405 Not Allowed:                    .ro_url
  /full/   GET; PUT answers 507 Insufficient Storage:                .full_url
  /hdr/    GET, 403 without the header "X-Pyc-Token: TOKEN":         .hdr_url
  /bearer/ GET, 403 without "Authorization: Bearer TOKEN":           .bearer_url
  /auth/   GET and PUT behind basic auth (.user, .password) on .auth_root: .auth_url
  /conn/   GET: "client-port requests-on-this-connection", PUT 507:   .conn_url
and on a second port, with TLS (a self-signed certificate for 127.0.0.1, .ca_file):
  /cache/  as above:                                                  .tls_url
Outside nginx, two sockets this process holds: .hang_url, a listener that accepts (the
kernel's backlog) and never answers; .refused_url, a bound port that refuses connections.

As a library: available() -> (bool, reason); `with server() as s:`.
As a program: `python3 srv_nginx.py -- CMD...` runs CMD with the URLs in its environment
(env_of) and exits with CMD's status, 77 when nginx is absent (CTest SKIP_RETURN_CODE).
"""
import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

NGINX = "/usr/sbin/nginx"
USER = "pyc"
PASSWORD = "s3cr:t@pw%"
TOKEN = "t0k-3n"

CONF = """\
%(user)s
master_process off;
worker_processes 1;
pid %(p)s/nginx.pid;
error_log %(p)s/error.log;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path %(p)s/tmp/body;
    proxy_temp_path %(p)s/tmp/proxy;
    fastcgi_temp_path %(p)s/tmp/fastcgi;
    uwsgi_temp_path %(p)s/tmp/uwsgi;
    scgi_temp_path %(p)s/tmp/scgi;
    client_max_body_size 64m;
    server {
        listen 127.0.0.1:%(port)d;
        root %(p)s/www;
        location /cache/ {
            dav_methods PUT DELETE;
            create_full_put_path on;
            dav_access user:rw group:r all:r;
        }
        location /ro/ {
            alias %(p)s/www/cache/;
        }
        location /full/ {
            alias %(p)s/www/cache/;
            if ($request_method = PUT) { return 507; }
        }
        location /hdr/ {
            alias %(p)s/www/cache/;
            if ($http_x_pyc_token != "%(token)s") { return 403; }
        }
        location /bearer/ {
            alias %(p)s/www/cache/;
            if ($http_authorization != "Bearer %(token)s") { return 403; }
        }
        location /conn/ {
            if ($request_method = PUT) { return 507; }
            return 200 "$remote_port $connection_requests";
        }
        location /auth/ {
            auth_basic "pyc-tool";
            auth_basic_user_file %(p)s/htpasswd;
            dav_methods PUT DELETE;
            create_full_put_path on;
        }
    }
    server {
        listen 127.0.0.1:%(tls_port)d ssl;
        ssl_certificate %(p)s/cert.pem;
        ssl_certificate_key %(p)s/key.pem;
        root %(p)s/www;
        location /cache/ {
            dav_methods PUT DELETE;
            create_full_put_path on;
        }
    }
}
"""


def available():
    """(True, "") when nginx can be run here, else (False, why)."""
    if not os.access(NGINX, os.X_OK):
        return False, "%s not found (Debian package nginx)" % NGINX
    if not shutil.which("openssl"):
        return False, "openssl not found (for the htpasswd file)"
    return True, ""


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(port, tls=False):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            if tls:
                ctx = ssl.create_default_context()
                ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
                s = ctx.wrap_socket(s)
            s.sendall(b"HEAD / HTTP/1.0\r\n\r\n")
            return s.recv(16).startswith(b"HTTP/")
    except OSError:
        return False


class Server:
    def __init__(self, prefix):
        self.prefix = prefix
        self.proc = None
        self.port = self.tls_port = 0
        self.ca_file = os.path.join(prefix, "cert.pem")
        self.root = os.path.join(prefix, "www", "cache")
        self.auth_root = os.path.join(prefix, "www", "auth")
        self.user, self.password = USER, PASSWORD
        self._hang = socket.socket()
        self._hang.bind(("127.0.0.1", 0))
        self._hang.listen(64)
        self._refused = socket.socket()
        self._refused.bind(("127.0.0.1", 0))  # bound, never listening: connect gets RST

    def _url(self, loc):
        return "http://127.0.0.1:%d/%s" % (self.port, loc)

    url = property(lambda self: self._url("cache"))
    ro_url = property(lambda self: self._url("ro"))
    full_url = property(lambda self: self._url("full"))
    auth_url = property(lambda self: self._url("auth"))
    tls_url = property(lambda self: "https://127.0.0.1:%d/cache" % self.tls_port)
    conn_url = property(lambda self: self._url("conn"))
    hdr_url = property(lambda self: self._url("hdr"))
    bearer_url = property(lambda self: self._url("bearer"))
    hang_url = property(lambda self: "http://127.0.0.1:%d/cache" % self._hang.getsockname()[1])
    refused_url = property(
        lambda self: "http://127.0.0.1:%d/cache" % self._refused.getsockname()[1])

    def _write_config(self):
        for d in ("tmp", self.root, self.auth_root):
            os.makedirs(os.path.join(self.prefix, d), exist_ok=True)
        digest = subprocess.run(["openssl", "passwd", "-apr1", PASSWORD], check=True,
                                capture_output=True, text=True).stdout.strip()
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", os.path.join(self.prefix, "key.pem"), "-out", self.ca_file],
                       check=True, capture_output=True)
        with open(os.path.join(self.prefix, "htpasswd"), "w") as f:
            f.write("%s:%s\n" % (USER, digest))
        # As root, nginx would switch to "nobody", who cannot enter the private temp dir.
        user = "user root root;" if os.geteuid() == 0 else ""
        with open(os.path.join(self.prefix, "nginx.conf"), "w") as f:
            f.write(CONF % {"user": user, "p": self.prefix, "port": self.port,
                           "tls_port": self.tls_port, "token": TOKEN})

    def start(self):
        # A free port can be taken between the probe and nginx's bind: try a few.
        for _ in range(5):
            self.port = self.tls_port = _free_port()
            while self.tls_port == self.port:
                self.tls_port = _free_port()
            self._write_config()
            log = open(os.path.join(self.prefix, "stderr.log"), "ab")
            self.proc = subprocess.Popen(
                [NGINX, "-p", self.prefix, "-c", os.path.join(self.prefix, "nginx.conf"),
                 "-e", os.path.join(self.prefix, "error.log"), "-g", "daemon off;"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            log.close()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.proc.poll() is None:
                if _answers(self.port) and _answers(self.tls_port, tls=True):
                    return self
                time.sleep(0.02)
            self.kill()
        raise RuntimeError("nginx did not start: %s" % self.log())

    def log(self):
        out = []
        for name in ("stderr.log", "error.log"):
            with contextlib.suppress(OSError), open(os.path.join(self.prefix, name)) as f:
                out.append(f.read().strip())
        return " | ".join(x for x in out if x)

    def kill(self):
        """Stop nginx now (SIGKILL: no graceful close of kept-alive connections)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def close(self):
        self.kill()
        self._hang.close()
        self._refused.close()

    def env(self):
        """The URLs for a child process (the unit test reads these)."""
        return {
            "PYC_TEST_HTTP_URL": self.url, "PYC_TEST_HTTP_ROOT": self.root,
            "PYC_TEST_HTTP_RO_URL": self.ro_url, "PYC_TEST_HTTP_FULL_URL": self.full_url,
            "PYC_TEST_HTTP_AUTH_URL": self.auth_url, "PYC_TEST_HTTP_AUTH_ROOT": self.auth_root,
            "PYC_TEST_HTTP_USER": self.user, "PYC_TEST_HTTP_PASSWORD": self.password,
            "PYC_TEST_HTTP_HDR_URL": self.hdr_url, "PYC_TEST_HTTP_BEARER_URL": self.bearer_url,
            "PYC_TEST_HTTP_TOKEN": TOKEN, "PYC_TEST_HTTP_CONN_URL": self.conn_url,
            "PYC_TEST_HTTPS_URL": self.tls_url, "PYC_TEST_HTTPS_CA": self.ca_file,
            "PYC_TEST_HTTP_HANG_URL": self.hang_url,
            "PYC_TEST_HTTP_REFUSED_URL": self.refused_url,
            "PYC_TEST_HTTP_PID": str(self.proc.pid),
        }


@contextlib.contextmanager
def server():
    """A running nginx (see the module's doc), stopped and removed on exit."""
    prefix = tempfile.mkdtemp(prefix="pyc-nginx-")
    srv = Server(prefix)
    try:
        yield srv.start()
    finally:
        srv.close()
        shutil.rmtree(prefix, ignore_errors=True)


def main(argv):
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        sys.stderr.write("usage: srv_nginx.py -- CMD [ARG...]\n")
        return 2
    cmd = argv[argv.index("--") + 1:]
    ok, why = available()
    if not ok:
        print("SKIP: %s" % why)
        return 77
    with server() as srv:
        env = dict(os.environ)
        env.update(srv.env())
        rc = subprocess.call(cmd, env=env)
        if rc not in (0, 77):
            sys.stderr.write("nginx log: %s\n" % srv.log())
        return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
