"""Shared helpers for dlrd's integration tests (Python 3 standard library only).

Everything runs on loopback. Each test script imports this module, builds a
config with `verifynow_source()` / `standard_webhooks_source()`, starts a
`Dlrd` (binary from $DLRD_BIN, or `--dlrd PATH` on the command line, or
../../build/dlrd), and talks to it with `post()` (one request per connection)
or `exchange()` (raw bytes on one socket, read until EOF or idle).

Child processes are killed on every exit path: unittest cleanups, atexit,
SIGTERM/SIGINT to the test process, and (Linux) PR_SET_PDEATHSIG so a dlrd
never outlives a test killed by ctest's timeout.
"""

import atexit
import base64
import hashlib
import hmac
import json
import os
import re
import select
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

LOOPBACK = "127.0.0.1"
READY_TIMEOUT_S = 10.0

# Test phone numbers only: Ofcom's drama range +44 7700 900000-900999.
TEST_COUNTRY_CODE = "44"
TEST_MOBILE = "7700900123"
TEST_E164 = "+447700900123"

# --------------------------------------------------------------------------
# Binary location and process bookkeeping


def dlrd_bin():
    path = os.environ.get("DLRD_BIN")
    if not path:
        here = os.path.dirname(os.path.abspath(__file__))
        path = os.path.normpath(os.path.join(here, "..", "..", "build", "dlrd"))
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise DlrdError("dlrd binary not found at %r (set DLRD_BIN)" % path)
    return path


_children = set()
_children_lock = threading.Lock()
_tempdirs = []


def make_tempdir(prefix="dlrd-it-"):
    """A TemporaryDirectory that is also removed when the test process is
    stopped by SIGTERM/SIGHUP (unittest cleanups do not run then)."""
    d = tempfile.TemporaryDirectory(prefix=prefix)
    _tempdirs.append(d)
    return d


def _kill_all_children():
    with _children_lock:
        procs = list(_children)
    for p in procs:
        if p.poll() is None:
            try:
                p.kill()
                p.wait(timeout=5)
            except Exception:
                pass


atexit.register(_kill_all_children)


def _on_signal(signum, _frame):
    _kill_all_children()
    for d in _tempdirs:
        try:
            d.cleanup()
        except Exception:
            pass
    # Re-raise as the default action so the exit status shows the signal.
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _set_pdeathsig():
    """In the child, before exec: die with SIGKILL when the parent dies."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


# Exit status of a script whose every test was skipped; ctest's
# SKIP_RETURN_CODE (tests/integration/CMakeLists.txt) reports it as
# "Skipped", not "Passed".
SKIP_EXIT_CODE = 77


def main():
    """unittest.main() after taking `--dlrd PATH` / `--dlrd=PATH` (or a
    leading path to an executable) out of argv into $DLRD_BIN. Exits 0 when
    every test passed, 1 on a failure, and SKIP_EXIT_CODE when tests ran
    but all of them were skipped (nothing was checked)."""
    argv = [sys.argv[0]]
    args = sys.argv[1:]
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--dlrd" and i + 1 < len(args):
            os.environ["DLRD_BIN"] = args[i + 1]
            i += 2
            continue
        if a.startswith("--dlrd="):
            os.environ["DLRD_BIN"] = a.split("=", 1)[1]
        elif (i == 0 and not a.startswith("-") and os.path.isfile(a)
              and os.access(a, os.X_OK)):
            os.environ["DLRD_BIN"] = a
        else:
            argv.append(a)
        i += 1
    path = os.environ.get("DLRD_BIN") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "dlrd")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        # A missing binary is a failure, never a silent pass.
        sys.stderr.write(
            "FAIL: dlrd binary not found (set DLRD_BIN or pass --dlrd PATH); "
            "tried %r\n" % path)
        sys.exit(2)
    os.environ["DLRD_BIN"] = os.path.abspath(path)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    prog = unittest.main(argv=argv, verbosity=2, exit=False)
    result = prog.result
    if not result.wasSuccessful():
        sys.exit(1)
    if not result.testsRun:
        sys.stderr.write("FAIL: no tests ran\n")
        sys.exit(5)  # as unittest does from Python 3.12 on
    if result.testsRun and len(result.skipped) == result.testsRun:
        sys.stderr.write("SKIPPED: all %d test(s) skipped\n"
                         % result.testsRun)
        sys.exit(SKIP_EXIT_CODE)
    sys.exit(0)


# --------------------------------------------------------------------------
# Ports, configs, process control


def free_port():
    """A port that was free a moment ago (bind to 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def hmac_signature_config(env_names, header="X-Signature", prefix="sha256="):
    return {
        "scheme": "hmac",
        "header": header,
        "algorithm": "sha256",
        "encoding": "hex",
        "prefix": prefix,
        "secrets": ["env:" + n for n in env_names],
    }


def verifynow_source(env_names):
    return {"format": "verifynow", "signature": hmac_signature_config(env_names)}


def standard_webhooks_source(env_names, tolerance_s=300):
    return {
        "format": "verifynow",
        "signature": {
            "scheme": "standard-webhooks",
            "tolerance_s": tolerance_s,
            "secrets": ["env:" + n for n in env_names],
        },
    }


class DlrdError(AssertionError):
    pass


class Dlrd:
    """One dlrd process with its own temp dir, config, database and log.

    `sources` maps source name -> source config; `secrets` maps env var name
    -> secret value (passed only through the child's environment).
    `workdir`: reuse a directory (and so the same database) across restarts.
    """

    def __init__(self, sources, secrets, workdir=None, extra_config=None,
                 log_level="info", wrapper=(), database=None):
        self.binary = os.environ.get("DLRD_BIN") or dlrd_bin()
        self.wrapper = list(wrapper)  # e.g. ["fiu-run", "-x"]: exec()s dlrd
        self._own_dir = None
        if workdir is None:
            self._own_dir = make_tempdir()
            workdir = self._own_dir.name
        self.dir = workdir
        # A SQLite file in the work dir, or a postgresql:// URI (PgDatabase).
        self.db_path = database or os.path.join(workdir, "dlrd.db")
        self.config_path = os.path.join(workdir, "dlrd.json")
        self.sources = sources
        self.secrets = dict(secrets)
        self.extra_config = dict(extra_config or {})
        self.log_level = log_level
        self.proc = None
        self.port = None
        self.admin_port = None
        self.starts = 0
        self._log_file = None
        self.log_path = None

    # -- configuration ----------------------------------------------------
    def write_config(self):
        cfg = {
            "listen": "%s:%d" % (LOOPBACK, self.port),
            "admin_listen": "%s:%d" % (LOOPBACK, self.admin_port),
            "database": self.db_path,
            "log_level": self.log_level,
            "sources": self.sources,
        }
        cfg.update(self.extra_config)
        with open(self.config_path, "w") as f:
            json.dump(cfg, f, indent=2)
        return cfg

    # -- lifecycle --------------------------------------------------------
    def start(self, timeout=READY_TIMEOUT_S, attempts=3):
        """Starts dlrd and waits for /readyz 200. Retries with fresh ports
        if another process grabbed a port between probe and bind."""
        last = None
        for _ in range(attempts):
            self.port, self.admin_port = free_port(), free_port()
            while self.admin_port == self.port:
                self.admin_port = free_port()
            self.write_config()
            self._spawn()
            try:
                self.wait_ready(timeout)
                return self
            except DlrdError as e:
                last = e
                if self.proc.poll() is None:
                    self.kill()
                    raise
                self._forget()
                if "listen_failed" not in self.log_text(self.starts):
                    raise
        raise last

    def _spawn(self):
        env = dict(os.environ)
        env.update(self.secrets)
        self.starts += 1
        self.log_path = os.path.join(self.dir, "dlrd.%d.log" % self.starts)
        self._log_file = open(self.log_path, "wb")
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            self.wrapper + [self.binary, "serve", "--config", self.config_path],
            stdin=subprocess.DEVNULL, stdout=self._log_file,
            stderr=subprocess.STDOUT, env=env, cwd=self.dir,
            preexec_fn=_set_pdeathsig)
        with _children_lock:
            _children.add(self.proc)

    def wait_ready(self, timeout=READY_TIMEOUT_S):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                raise DlrdError("dlrd exited with %d before ready; log:\n%s"
                                % (rc, self.log_tail()))
            try:
                r = http_get(self.admin_port, "/readyz", timeout=1.0)
                if r.status == 200:
                    self.ready_after_s = time.monotonic() - self.started_at
                    return
            except OSError:
                pass
            time.sleep(0.02)
        raise DlrdError("dlrd not ready within %.1fs; log:\n%s"
                        % (timeout, self.log_tail()))

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def terminate(self):
        if self.running():
            self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout):
        """Waits for exit; returns the code, or None on timeout."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=15.0, expect_rc=0):
        """SIGTERM, wait, and fail unless it exited with `expect_rc`."""
        if self.proc is None:
            return None
        self.terminate()
        rc = self.wait(timeout)
        self._forget()
        if rc is None:
            self.kill()
            raise DlrdError("dlrd did not exit within %.1fs of SIGTERM; log:\n%s"
                            % (timeout, self.log_tail()))
        if expect_rc is not None and rc != expect_rc:
            raise DlrdError("dlrd exited with %r, expected %r; log:\n%s"
                            % (rc, expect_rc, self.log_tail()))
        return rc

    def kill(self):
        """SIGKILL (kill -9) and reap."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        finally:
            self._forget()

    def _forget(self):
        with _children_lock:
            _children.discard(self.proc)
        if self._log_file:
            self._log_file.close()
            self._log_file = None

    def cleanup(self):
        """Kill if still running and delete the temp dir (if owned)."""
        if self.proc is not None and self.proc.poll() is None:
            self.kill()
        if self._own_dir is not None:
            self._own_dir.cleanup()
            self._own_dir = None

    # -- logs -------------------------------------------------------------
    def log_text(self, start=None):
        paths = []
        if start is None:
            paths = [os.path.join(self.dir, "dlrd.%d.log" % i)
                     for i in range(1, self.starts + 1)]
        else:
            paths = [os.path.join(self.dir, "dlrd.%d.log" % start)]
        out = []
        for p in paths:
            try:
                with open(p, "rb") as f:
                    out.append(f.read().decode("utf-8", "replace"))
            except OSError:
                pass
        return "".join(out)

    def log_tail(self, lines=40):
        return "\n".join(self.log_text(self.starts).splitlines()[-lines:])

    # -- convenience ------------------------------------------------------
    def metrics(self):
        r = http_get(self.admin_port, "/metrics")
        if r.status != 200:
            raise DlrdError("/metrics answered %d" % r.status)
        return r.body.decode()

    def db(self):
        return open_db(self.db_path)

    def count(self, sql="SELECT COUNT(*) FROM delivery_events", args=()):
        if self.db_path.startswith("postgresql://"):
            if args:
                raise DlrdError("count(): no parameters on PostgreSQL")
            return int(psql(self.db_path, sql)[0][0])
        with closing_db(self.db_path) as c:
            return c.execute(sql, args).fetchone()[0]


# --------------------------------------------------------------------------
# PostgreSQL: the suite's own server (tests/testutil/pg_server.sh, ctest
# fixture `pg`), found through DLRD_TEST_PG_STATE.


def pg_state_dir():
    state = os.environ.get("DLRD_TEST_PG_STATE")
    if not state or not os.path.exists(os.path.join(state, "uri")):
        raise DlrdError("DLRD_TEST_PG_STATE is not set or has no uri: run "
                        "through ctest (fixture pg)")
    return state


def psql(uri, sql, timeout=60):
    """Runs `sql`; returns rows as lists of strings (psql -At, '|' split)."""
    r = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
                        uri, "-c", sql], capture_output=True, text=True,
                       timeout=timeout)
    if r.returncode != 0:
        raise DlrdError("psql failed (%d): %s\n%s" % (r.returncode, sql,
                                                       r.stderr))
    return [line.split("|") for line in r.stdout.splitlines()]


class PgDatabase:
    """A fresh database on the suite's server, dropped by cleanup()."""

    def __init__(self):
        self.state = pg_state_dir()
        with open(os.path.join(self.state, "uri")) as f:
            self.admin_uri = f.read().strip()
        self.name = "it_%d_%s" % (os.getpid(), uuid.uuid4().hex[:8])
        psql(self.admin_uri, "CREATE DATABASE " + self.name)
        self.uri = self.admin_uri.rsplit("/", 1)[0] + "/" + self.name

    def query(self, sql):
        return psql(self.uri, sql)

    def scalar(self, sql):
        return self.query(sql)[0][0]

    def server(self, cmd):
        """pg_server.sh stop|restart|... on the suite's server."""
        script = os.environ.get("DLRD_TEST_PG_SCRIPT")
        if not script:
            raise DlrdError("DLRD_TEST_PG_SCRIPT is not set")
        subprocess.run([script, cmd, self.state], check=True,
                       stdout=subprocess.DEVNULL, timeout=120)

    def cleanup(self):
        try:
            psql(self.admin_uri,
                 "DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.name)
        except Exception:  # a stopped server: the fixture removes it all
            pass


class PgServer:
    """A private PostgreSQL server for a test that stops and starts it (the
    shared one serves other tests meanwhile). .uri: its `postgres` db."""

    def __init__(self):
        self.script = os.environ.get("DLRD_TEST_PG_SCRIPT")
        if not self.script:
            raise DlrdError("DLRD_TEST_PG_SCRIPT is not set")
        self._dir = make_tempdir("dlrd-pgsrv-")
        self.state = self._dir.name
        self.ctl("start")
        with open(os.path.join(self.state, "uri")) as f:
            self.uri = f.read().strip()

    def ctl(self, cmd):
        subprocess.run([self.script, cmd, self.state], check=True,
                       stdout=subprocess.DEVNULL, timeout=120)

    def cleanup(self):
        try:
            self.ctl("stop")
        finally:
            self._dir.cleanup()


def open_db(path):
    c = sqlite3.connect(path, timeout=10)
    c.execute("PRAGMA busy_timeout=10000")
    return c


class closing_db:
    def __init__(self, path):
        self.path = path

    def __enter__(self):
        self.c = open_db(self.path)
        return self.c

    def __exit__(self, *exc):
        self.c.close()


# --------------------------------------------------------------------------
# Signing


def sign_twilio(token, url, params=None):
    """X-Twilio-Signature: base64(HMAC-SHA1(token, url + sorted k + v)).
    Names and values may be str or bytes (Twilio signs the decoded bytes)."""
    def b(x):
        return x if isinstance(x, bytes) else x.encode()
    signed = b(url) + b"".join(
        b(k) + b(v) for k, v in sorted((b(k), b(v)) for k, v in
                                       (params or {}).items()))
    return base64.b64encode(
        hmac.new(b(token), signed, hashlib.sha1).digest()).decode()


def sign_hmac(secret, body, prefix="sha256="):
    """VerifyNow-style: prefix + hex(HMAC-SHA256(secret, raw body))."""
    if isinstance(secret, str):
        secret = secret.encode()
    return prefix + hmac.new(secret, body, hashlib.sha256).hexdigest()


def standard_webhooks_key(secret):
    s = secret[len("whsec_"):] if secret.startswith("whsec_") else secret
    return base64.b64decode(s + "=" * (-len(s) % 4))


def sign_standard(secret, msg_id, timestamp, body):
    """Standard Webhooks v1: "v1," + base64(HMAC-SHA256(key, id.ts.body))."""
    signed = ("%s.%s." % (msg_id, timestamp)).encode() + body
    mac = hmac.new(standard_webhooks_key(secret), signed, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def standard_headers(secret, body, msg_id=None, timestamp=None):
    msg_id = msg_id or "msg_" + uuid.uuid4().hex
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": sign_standard(secret, msg_id, timestamp, body),
    }


def verifynow_body(verification_id, status="DELIVERED", channel="SMS",
                   latency_ms=1234, with_recipient=False):
    doc = {"verificationId": verification_id, "deliveryStatus": status,
           "channel": channel}
    if latency_ms is not None:
        doc["latencyMs"] = latency_ms
    if with_recipient:
        doc["countryCode"] = TEST_COUNTRY_CODE
        doc["mobileNumber"] = TEST_MOBILE
    return json.dumps(doc, separators=(",", ":")).encode()


# --------------------------------------------------------------------------
# HTTP over raw sockets


class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value), order kept
        self.body = body

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "Response(%d, %r, %r)" % (self.status, self.headers, self.body[:200])


def parse_one(data):
    """Parses one complete HTTP/1.x response from the start of `data` (all
    dlrd responses carry Content-Length). Returns (Response, rest) or
    (None, data) when incomplete."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None, data
    head = data[:end].decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3}) ?(.*)", head[0])
    if not m:
        raise ValueError("bad status line %r" % head[0])
    headers = []
    for line in head[1:]:
        k, _, v = line.partition(":")
        headers.append((k.strip(), v.strip()))
    length = 0
    for k, v in headers:
        if k.lower() == "content-length":
            length = int(v)
    if len(data) < end + 4 + length:
        return None, data
    body = data[end + 4:end + 4 + length]
    return (Response(int(m.group(1)), m.group(2), headers, body),
            data[end + 4 + length:])


def parse_responses(data):
    """Parses as many complete responses as `data` holds.
    Returns (responses, leftover bytes)."""
    out = []
    while True:
        r, data = parse_one(data)
        if r is None:
            return out, data
        out.append(r)


class Exchange:
    """The result of `exchange()`."""

    def __init__(self, responses, closed, reset, leftover, send_error):
        self.responses = responses
        self.closed = closed        # EOF or reset seen
        self.reset = reset          # ECONNRESET seen
        self.leftover = leftover    # unparsed trailing bytes
        self.send_error = send_error

    @property
    def first(self):
        return self.responses[0] if self.responses else None

    def __repr__(self):
        return "Exchange(responses=%r, closed=%r, reset=%r, leftover=%r)" % (
            self.responses, self.closed, self.reset, self.leftover[:200])


def exchange(port, data, idle_timeout=1.0, total_timeout=15.0,
             chunks=None, chunk_delay=0.0, until_responses=None):
    """Sends raw `data` on a new connection while reading, and keeps reading
    until EOF/reset, or until `idle_timeout` passes with nothing new after
    everything was sent, or (with `until_responses`) as soon as that many
    complete responses have arrived after everything was sent. Sending stops
    quietly if the peer closes (EPIPE, ECONNRESET). `chunks`: send `data` as
    these pieces with `chunk_delay` between them (else all at once). The
    status/headers/body of each response are in .responses; .closed says
    whether the server closed.

    A check that expects answers should pass `until_responses` with a
    generous `idle_timeout`: then it waits for the answers themselves, not
    for a quiet period that a slow commit on a loaded machine can exceed."""
    s = socket.create_connection((LOOPBACK, port), timeout=5)
    s.setblocking(False)
    pieces = list(chunks) if chunks is not None else [data]
    pending = b""
    received = bytearray()
    closed = reset = False
    send_error = None
    deadline = time.monotonic() + total_timeout
    last_activity = time.monotonic()
    next_piece_at = 0.0
    try:
        while time.monotonic() < deadline:
            now = time.monotonic()
            if not pending and pieces and now >= next_piece_at:
                pending = pieces.pop(0)
                next_piece_at = now + chunk_delay
            sending = bool(pending) and send_error is None
            all_sent = (not pending and not pieces) or send_error is not None
            if all_sent and now - last_activity >= idle_timeout:
                break
            wait = 0.05
            r, w, _ = select.select([s], [s] if sending else [], [], wait)
            if r:
                try:
                    chunk = s.recv(65536)
                except ConnectionResetError:
                    closed = reset = True
                    break
                if not chunk:
                    closed = True
                    break
                received += chunk
                last_activity = time.monotonic()
                if (until_responses is not None and not pending
                        and not pieces and len(parse_responses(
                            bytes(received))[0]) >= until_responses):
                    break
            if w and pending:
                try:
                    n = s.send(pending[:65536])
                    pending = pending[n:]
                    last_activity = time.monotonic()
                except (BrokenPipeError, ConnectionResetError) as e:
                    send_error = e
                    pending = b""
                    pieces = []
                except BlockingIOError:
                    pass
    finally:
        s.close()
    responses, leftover = parse_responses(bytes(received))
    return Exchange(responses, closed, reset, leftover, send_error)


def build_request(method, path, headers=(), body=b"", version="HTTP/1.1",
                  host=True, content_length=True):
    """Serializes a request with CRLF line endings. `headers` is a list of
    (name, value) pairs or a dict."""
    if isinstance(headers, dict):
        headers = list(headers.items())
    lines = ["%s %s %s" % (method, path, version)]
    names = [k.lower() for k, _ in headers]
    if host and "host" not in names:
        lines.append("Host: %s" % LOOPBACK)
    lines += ["%s: %s" % (k, v) for k, v in headers]
    if content_length and "content-length" not in names and \
            "transfer-encoding" not in names and (body or method == "POST"):
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def signed_post_bytes(source, secret, body, content_type="application/json",
                      extra_headers=(), connection=None):
    headers = [("Content-Type", content_type),
               ("X-Signature", sign_hmac(secret, body))]
    if connection:
        headers.append(("Connection", connection))
    headers += list(extra_headers)
    return build_request("POST", "/webhooks/" + source, headers, body)


def request(port, method, path, headers=(), body=b"", timeout=10.0):
    """One request on a new connection with `Connection: close`; reads to
    EOF. Raises OSError on connection errors, DlrdError if no response."""
    if isinstance(headers, dict):
        headers = list(headers.items())
    headers = list(headers) + [("Connection", "close")]
    raw = build_request(method, path, headers, body)
    with socket.create_connection((LOOPBACK, port), timeout=timeout) as s:
        s.sendall(raw)
        buf = bytearray()
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
            responses, _ = parse_responses(bytes(buf))
            if responses:
                # Connection: close was asked for; don't wait for EOF.
                return responses[0]
    responses, _ = parse_responses(bytes(buf))
    if not responses:
        raise ConnectionError("connection closed without a response")
    return responses[0]


def http_get(port, path, timeout=5.0):
    return request(port, "GET", path, timeout=timeout)


def post_signed(port, source, secret, body, content_type="application/json",
                extra_headers=(), timeout=10.0):
    headers = [("Content-Type", content_type),
               ("X-Signature", sign_hmac(secret, body))] + list(extra_headers)
    return request(port, "POST", "/webhooks/" + source, headers, body,
                   timeout=timeout)


class KeepAliveConn:
    """A persistent HTTP/1.1 connection: send a request, read one response."""

    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection((LOOPBACK, port), timeout=timeout)
        self.buf = b""

    def send(self, raw):
        self.sock.sendall(raw)

    def read_response(self):
        while True:
            r, self.buf = parse_one(self.buf)
            if r is not None:
                return r
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed before a full response")
            self.buf += chunk

    def is_closed(self, timeout=0.5):
        """True when the peer has closed (EOF/RST) within `timeout`."""
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        if chunk:
            self.buf += chunk
            return False
        return True

    def close(self):
        self.sock.close()


# --------------------------------------------------------------------------
# Prometheus text format

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*')


def parse_metrics(text):
    """{(name, frozenset(labels.items())): float} plus a set of family
    names declared by # TYPE."""
    samples = {}
    families = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            families.add(line.split()[2])
            continue
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ValueError("unparseable metrics line %r" % line)
        labels = {}
        if m.group(3):
            for lm in _LABEL.finditer(m.group(3)):
                labels[lm.group(1)] = lm.group(2)
        samples[(m.group(1), frozenset(labels.items()))] = float(m.group(4))
    return samples, families


def metric(samples, name, **labels):
    """Value of the one series of `name` with exactly these labels (le
    excluded), or None."""
    want = frozenset((k, str(v)) for k, v in labels.items())
    return samples.get((name, want))


def metric_sum(samples, name, **labels):
    """Sum over every series of `name` whose labels include `labels`."""
    want = set((k, str(v)) for k, v in labels.items())
    return sum(v for (n, ls), v in samples.items()
               if n == name and want <= set(ls))


def promtool_check(text):
    """Runs `promtool check metrics` on `text`; returns (rc, output).
    Raises AssertionError when promtool is not installed (never a pass)."""
    promtool = os.environ.get("PROMTOOL", "/usr/bin/promtool")
    if not os.path.exists(promtool):
        from shutil import which
        promtool = which("promtool")
    if not promtool:
        raise AssertionError(
            "promtool not found at /usr/bin/promtool or on PATH: cannot lint "
            "/metrics (install prometheus' promtool or set PROMTOOL)")
    p = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=30)
    return p.returncode, p.stdout.decode(errors="replace")


def unique_id(prefix="v"):
    return "%s-%s" % (prefix, uuid.uuid4().hex)
