#!/usr/bin/env python3
"""Idle keep-alive connections against a running dlrd: what they cost in RSS.

Driven by bench/idle.sh (which builds, configures and starts dlrd); usable
alone against any dlrd whose public listener has a `verifynow` source signed
with the HMAC secret in $BENCH_SECRET (see idle.sh for the config).

Phases, each followed by --settle seconds of quiet and a VmRSS reading of
--pid from /proc/<pid>/status:

  start    dlrd as it came up
  warm-up  --warmup signed unique webhooks over 16 keep-alive connections,
           then those connections closed: SQLite's page cache, the heap and
           the I/O threads' caches have seen real traffic
  control  --n more signed unique webhooks over 16 connections, closed: what
           storing N more events costs without holding N connections (the
           database and its page cache grow with every insert)
  idle     --n connections, each sending one signed unique webhook, reading
           its 200 and then staying open, idle, with keep-alive
  closed   all of them closed

The figure is idle - control (RSS added while N connections sit idle),
divided by N for the per-connection cost. RSS added by the idle phase also
includes its N inserts; the control phase shows how much that is.

Standard library only. One thread, non-blocking sockets and selectors, so
the client stays light; it raises its own RLIMIT_NOFILE to the hard limit.
"""
import argparse
import errno
import hashlib
import hmac
import json
import os
import resource
import secrets
import selectors
import socket
import sys
import time
import urllib.request


def rss_kb(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key = line.split(":", 1)[0]
            if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                out[key] = int(line.split()[1])
    return out


def open_gauge(admin_port):
    """dlrd_http_connections_open{listener="public"} from /metrics, or None."""
    if not admin_port:
        return None
    try:
        with urllib.request.urlopen(
                f"http://127.0.0.1:{admin_port}/metrics", timeout=5) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("dlrd_http_connections_open{") and \
                        'listener="public"' in line:
                    return int(float(line.rsplit(" ", 1)[1]))
    except OSError:
        return None
    return None


class Requests:
    """Signed, unique VerifyNow callbacks (the same shape as gen_corpus.py)."""

    def __init__(self, secret, path):
        self.key = secret.encode()
        self.path = path
        self.run_id = secrets.token_hex(4)
        self.n = 0

    def next(self):
        self.n += 1
        body = json.dumps({
            "verificationId": f"idle-{self.run_id}-{self.n}",
            "deliveryStatus": "DELIVERED",
            "channel": "SMS",
            "latencyMs": 200 + (self.n * 7919) % 5000,
        }, separators=(",", ":")).encode()
        sig = hmac.new(self.key, body, hashlib.sha256).hexdigest()
        return (f"POST {self.path} HTTP/1.1\r\n"
                "Host: 127.0.0.1\r\n"
                "Content-Type: application/json\r\n"
                f"X-Signature: sha256={sig}\r\n"
                f"Content-Length: {len(body)}\r\n"
                "\r\n").encode() + body


class Conn:
    __slots__ = ("sock", "out", "inb", "left", "state")

    def __init__(self, sock, left):
        self.sock = sock
        self.out = b""
        self.inb = b""
        self.left = left      # requests still to send on this connection
        self.state = "connecting"


def parse_response(buf):
    """-> (status, close, consumed) or None if incomplete."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buf[:end].decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    length = 0
    close = False
    for line in head[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "connection" and value.strip().lower() == "close":
            close = True
    if len(buf) < end + 4 + length:
        return None
    return status, close, end + 4 + length


class Driver:
    def __init__(self, port, reqs, timeout):
        self.port = port
        self.reqs = reqs
        self.timeout = timeout
        self.sel = selectors.DefaultSelector()
        self.statuses = {}
        self.errors = {}

    def _err(self, what):
        self.errors[what] = self.errors.get(what, 0) + 1

    def _open(self, left):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        rc = s.connect_ex(("127.0.0.1", self.port))
        if rc not in (0, errno.EINPROGRESS):
            s.close()
            self._err(f"connect: {os.strerror(rc)}")
            return None
        c = Conn(s, left)
        self.sel.register(s, selectors.EVENT_WRITE, c)
        return c

    def _send_next(self, c):
        c.left -= 1
        c.out = self.reqs.next()
        c.state = "sending"
        self._flush(c)

    def _flush(self, c):
        try:
            n = c.sock.send(c.out)
        except BlockingIOError:
            n = 0
        except OSError as e:
            return self._fail(c, f"send: {e.strerror}")
        c.out = c.out[n:]
        if c.out:
            self.sel.modify(c.sock, selectors.EVENT_WRITE, c)
        else:
            c.state = "reading"
            self.sel.modify(c.sock, selectors.EVENT_READ, c)

    def _fail(self, c, what):
        self._err(what)
        self._drop(c)
        return "failed"

    def _drop(self, c):
        try:
            self.sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()
        c.state = "closed"

    def _on_event(self, c, keep):
        """Advance c; returns 'done' when c has finished its requests."""
        if c.state == "connecting":
            err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                return self._fail(c, f"connect: {os.strerror(err)}")
            self._send_next(c)
            return None
        if c.state == "sending":
            self._flush(c)
            return None
        try:
            data = c.sock.recv(65536)
        except BlockingIOError:
            return None
        except OSError as e:
            return self._fail(c, f"recv: {e.strerror}")
        if not data:
            return self._fail(c, "closed by dlrd before the answer")
        c.inb += data
        r = parse_response(c.inb)
        if r is None:
            return None
        status, close, used = r
        c.inb = c.inb[used:]
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if close:
            self._err("answered with Connection: close")
            self._drop(c)
            return "done"
        if c.left > 0:
            self._send_next(c)
            return None
        if keep:
            # Park: only watch for the server closing it (EOF) from now on.
            c.state = "idle"
            self.sel.unregister(c.sock)
        else:
            self._drop(c)
        return "done"

    def run(self, total, conns, keep):
        """Send `total` requests. keep=False: over `conns` connections that
        each send their share, then close. keep=True: one request on each of
        `total` connections, at most `conns` of them in flight at a time;
        returns the idle connections."""
        idle = []
        if not keep:
            conns = max(1, min(conns, total))
        active = 0
        opened = 0
        deadline = time.time() + self.timeout
        per = [total // conns + (1 if i < total % conns else 0)
               for i in range(conns)] if not keep else None
        while True:
            while active < conns and opened < (total if keep else conns):
                c = self._open(1 if keep else per[opened])
                opened += 1
                if c is not None:
                    active += 1
                    if keep:
                        idle.append(c)
            if active == 0 and opened >= (total if keep else conns):
                break
            if time.time() > deadline:
                self._err("timed out")
                break
            for key, _ in self.sel.select(timeout=1):
                res = self._on_event(key.data, keep)
                if res in ("done", "failed"):
                    active -= 1
        return [c for c in idle if c.state == "idle"]

    def still_open(self, idle):
        """Idle connections the server has not closed (no EOF pending)."""
        sel = selectors.DefaultSelector()
        for c in idle:
            sel.register(c.sock, selectors.EVENT_READ, c)
        closed = {id(k.data) for k, _ in sel.select(timeout=0)}
        sel.close()
        return sum(1 for c in idle if id(c) not in closed)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True, help="public listener")
    ap.add_argument("--admin-port", type=int, default=0,
                    help="admin listener, to read dlrd_http_connections_open")
    ap.add_argument("--pid", type=int, required=True, help="dlrd's pid")
    ap.add_argument("--n", type=int, default=10000, help="idle connections")
    ap.add_argument("--warmup", type=int, default=10000,
                    help="webhooks sent (over 16 connections) before the baseline")
    ap.add_argument("--concurrency", type=int, default=128,
                    help="idle phase: connections connecting/requesting at once")
    ap.add_argument("--settle", type=float, default=3.0,
                    help="seconds to wait before each RSS reading")
    ap.add_argument("--path", default="/webhooks/verifynow")
    ap.add_argument("--secret-env", default="BENCH_SECRET")
    ap.add_argument("--timeout", type=float, default=300,
                    help="give up on a phase after this many seconds")
    ap.add_argument("--json", help="also write the result as JSON here")
    args = ap.parse_args()

    secret = os.environ.get(args.secret_env, "")
    if not secret:
        print(f"idle_bench: ${args.secret_env} is empty", file=sys.stderr)
        return 2
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    if soft != resource.RLIM_INFINITY and soft < args.n + 64:
        print(f"idle_bench: RLIMIT_NOFILE hard limit {hard} is below "
              f"--n {args.n} + 64", file=sys.stderr)
        return 2

    reqs = Requests(secret, args.path)
    drv = Driver(args.port, reqs, args.timeout)
    res = {"n": args.n, "warmup": args.warmup}

    def settle_and_read(tag):
        time.sleep(args.settle)
        res[tag] = rss_kb(args.pid)

    res["start"] = rss_kb(args.pid)
    t = time.time()
    if args.warmup:
        drv.run(args.warmup, 16, keep=False)
    settle_and_read("warmup")
    drv.run(args.n, 16, keep=False)
    settle_and_read("control")
    res["warmup_control_s"] = round(time.time() - t, 1)

    t = time.time()
    idle = drv.run(args.n, args.concurrency, keep=True)
    res["open_s"] = round(time.time() - t, 1)
    settle_and_read("idle")
    res["idle_connections"] = len(idle)
    res["still_open"] = drv.still_open(idle)
    res["dlrd_open_gauge"] = open_gauge(args.admin_port)
    for c in idle:
        c.sock.close()
    settle_and_read("closed")
    res["statuses"] = drv.statuses
    res["errors"] = drv.errors

    added = res["idle"]["VmRSS"] - res["control"]["VmRSS"]
    res["added_kib"] = added
    res["per_conn_bytes"] = round(added * 1024 / max(1, len(idle)))
    ok = (not drv.errors and set(drv.statuses) == {200}
          and res["still_open"] == args.n)
    res["valid"] = ok

    def mib(kb):
        return f"{kb / 1024:.1f} MiB"
    print(f"idle: VmRSS start {mib(res['start']['VmRSS'])}, after "
          f"{args.warmup} warm-up webhooks {mib(res['warmup']['VmRSS'])}, "
          f"after {args.n} more (control) {mib(res['control']['VmRSS'])}, "
          f"with {len(idle)} idle connections {mib(res['idle']['VmRSS'])}, "
          f"after closing them {mib(res['closed']['VmRSS'])}")
    print(f"idle: {len(idle)} idle keep-alive connections added "
          f"{mib(added)} ({res['per_conn_bytes']} bytes each); storing "
          f"{args.n} webhooks without them added "
          f"{mib(res['control']['VmRSS'] - res['warmup']['VmRSS'])}; "
          f"opened in {res['open_s']} s; still open {res['still_open']}, "
          f"dlrd's gauge {res['dlrd_open_gauge']}")
    if not ok:
        print(f"idle: INVALID: statuses {drv.statuses}, errors {drv.errors}, "
              f"still open {res['still_open']} of {args.n}", file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f)
    return 0 if ok else 3


if __name__ == "__main__":
    sys.exit(main())
