#!/usr/bin/env python3
"""T8: slow clients do not starve signed traffic.

1,000 slowloris connections (a request head trickling in a byte at a time)
and 1,000 slow bodies (a complete head, then a body trickling) are held open
while keep-alive clients post signed events. Then:
  - every signed event posted during the attack is answered 200 and stored;
  - in the uninstrumented build, the signed rate keeps >= 80 % of its solo
    rate in the same run, and its p99 stays under 50 ms (under ASan only the
    counts are checked: its slowdown is not dlrd's);
  - the header and body timeouts close every slow connection, and
    dlrd_http_timeouts_total{phase="header"|"body"} counts them;
  - at max_connections, further connections are closed at accept and
    counted in dlrd_http_connections_rejected_total.
"""

import multiprocessing
import os
import resource
import selectors
import socket
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dlrd_harness as h  # noqa: E402

SECRET = "slow-it-secret-9b27"
SOURCE = "verifynow"
SLOW_HEADERS = 1000
SLOW_BODIES = 1000
CLIENTS = 4
PHASE_S = 3.0
# Solo/attack rounds the rate bound gets (see the test).
ROUNDS = 3
HEADER_TIMEOUT_MS = 6000  # longer than the signed phase below
BODY_TIMEOUT_MS = 6000
MAX_CONNECTIONS = SLOW_HEADERS + SLOW_BODIES + 100
SANITIZED = os.environ.get("DLRD_SANITIZED") == "1"


class SignedLoad(threading.Thread):
    """One keep-alive connection posting unique signed events."""

    def __init__(self, port, tag, stop):
        super().__init__(daemon=True)
        self.port, self.tag, self.stop = port, tag, stop
        self.acked, self.latencies, self.failures = [], [], []

    def run(self):
        conn = h.KeepAliveConn(self.port)
        n = 0
        try:
            while not self.stop.is_set():
                n += 1
                vid = "%s-%d" % (self.tag, n)
                body = h.verifynow_body(vid)
                raw = h.build_request(
                    "POST", "/webhooks/" + SOURCE,
                    [("Content-Type", "application/json"),
                     ("X-Signature", h.sign_hmac(SECRET, body))], body)
                t0 = time.monotonic()
                conn.send(raw)
                r = conn.read_response()
                self.latencies.append(time.monotonic() - t0)
                if r.status == 200:
                    self.acked.append(vid)
                else:
                    self.failures.append(r.status)
        except OSError as e:
            self.failures.append(repr(e))
        finally:
            conn.close()


def run_signed(port, tag, seconds):
    stop = threading.Event()
    clients = [SignedLoad(port, "%s%d" % (tag, i), stop)
               for i in range(CLIENTS)]
    for c in clients:
        c.start()
    time.sleep(seconds)
    stop.set()
    for c in clients:
        c.join(timeout=15)
    lat = sorted(x for c in clients for x in c.latencies)
    acked = [v for c in clients for v in c.acked]
    failures = [f for c in clients for f in c.failures]
    p99 = lat[int(len(lat) * 0.99)] if lat else float("inf")
    return len(acked) / seconds, p99, acked, failures


def trickle(port, n_headers, n_bodies, ready, report):
    """Child process: holds slow connections open and sends each one byte
    a second until the server closes it; puts (opened, refused, closed) on
    `report`. A process of its own, so it takes no time from the signed
    clients' interpreter. It runs at the lowest priority: the attack is the
    open connections, which hold their slots whether or not this process
    gets CPU time, and on a 2-core machine its own CPU use would otherwise
    be counted against dlrd's rate."""
    os.nice(19)
    sel = selectors.DefaultSelector()
    opened = refused = closed = 0
    head = b"POST /webhooks/" + SOURCE.encode() + b" HTTP/1.1\r\n"
    for i in range(n_headers + n_bodies):
        try:
            s = socket.create_connection((h.LOOPBACK, port), timeout=5)
        except OSError:
            refused += 1
            continue
        if i < n_headers:
            s.sendall(head + b"Host: x\r\n")
            rest = b"X-Slow: " + b"a" * 4000  # never finishes in time
        else:
            s.sendall(head + b"Host: x\r\nContent-Type: application/json"
                      b"\r\nContent-Length: 4000\r\n\r\n{")
            rest = b"a" * 3999
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, [rest])
        opened += 1
    ready.set()
    deadline = time.monotonic() + 90
    next_send = time.monotonic()
    while sel.get_map() and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.1):
            try:
                data = key.fileobj.recv(4096)
            except OSError:
                data = b""
            if not data:  # closed by the server (or reset)
                sel.unregister(key.fileobj)
                key.fileobj.close()
                closed += 1
        if time.monotonic() >= next_send:
            next_send += 1.0
            for key in list(sel.get_map().values()):
                rest = key.data[0]
                if rest:
                    try:
                        key.fileobj.send(rest[:1])
                        key.data[0] = rest[1:]
                    except OSError:
                        pass
    report.put((opened, refused, closed))


def timeouts(d):
    m = h.parse_metrics(h.http_get(d.admin_port, "/metrics").body.decode())[0]
    out = {}
    for k, v in m.items():
        labels = dict(k[1])
        if k[0] == "dlrd_http_timeouts_total" and labels["listener"] == "public":
            out[labels["phase"]] = v
        if (k[0] == "dlrd_http_connections_rejected_total"
                and labels["listener"] == "public"):
            out["rejected"] = v
    return out


class SlowClients(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = min(hard, 8192)
        if soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        limits = {"header_timeout_ms": HEADER_TIMEOUT_MS,
                  "body_timeout_ms": BODY_TIMEOUT_MS,
                  "max_connections": MAX_CONNECTIONS}
        cls.d = h.Dlrd({SOURCE: h.verifynow_source(["DLRD_IT_SLOW"])},
                       {"DLRD_IT_SLOW": SECRET},
                       extra_config={"limits": limits})
        cls.addClassCleanup(cls.d.cleanup)
        cls.d.start()

    def attack_round(self, n):
        """One solo phase, then one beside the slow clients. Checks what
        must hold every time; returns (solo rate, attacked rate, p99)."""
        d = self.d
        solo_rate, solo_p99, solo_acked, solo_fail = run_signed(
            d.port, "solo%d" % n, PHASE_S)
        self.assertEqual(solo_fail, [])
        self.assertGreater(len(solo_acked), 100, "solo load too small")

        before = timeouts(d)
        ctx = multiprocessing.get_context("fork")
        ready, report = ctx.Event(), ctx.Queue()
        slow = ctx.Process(target=trickle, args=(
            d.port, SLOW_HEADERS, SLOW_BODIES, ready, report), daemon=True)
        slow.start()
        self.addCleanup(slow.kill)
        self.assertTrue(ready.wait(60))
        rate, p99, acked, failures = run_signed(d.port, "attack%d" % n,
                                                PHASE_S)
        self.assertEqual(failures, [])

        # The timeouts close every slow connection, and count them.
        opened, refused, closed = report.get(timeout=HEADER_TIMEOUT_MS /
                                             1000 + 90)
        slow.join(10)
        self.assertEqual((opened, refused), (SLOW_HEADERS + SLOW_BODIES, 0))
        self.assertEqual(closed, opened)
        sys.stderr.write(
            "round %d: signed solo %.0f/s p99 %.1f ms; with %d slow "
            "connections %.0f/s (%.2fx) p99 %.1f ms\n"
            % (n, solo_rate, solo_p99 * 1000, opened, rate, rate / solo_rate,
               p99 * 1000))
        after = timeouts(d)
        self.assertGreaterEqual(after["header"] - before["header"],
                                SLOW_HEADERS)
        self.assertGreaterEqual(after["body"] - before["body"], SLOW_BODIES)

        with h.closing_db(d.db_path) as c:
            stored = {r[0] for r in c.execute(
                "SELECT verification_id FROM delivery_events")}
        self.assertEqual([v for v in solo_acked + acked if v not in stored],
                         [])
        self.assertTrue(d.running())
        return solo_rate, rate, p99

    def test_slow_clients_do_not_starve_signed_traffic(self):
        # The rate bound compares two 3 s phases on a machine other work
        # may share. Starvation shows in every round; a burst of other load
        # in one phase does not, so the bound must hold in one of up to
        # ROUNDS rounds (each round's functional checks must all hold).
        met = False
        for n in range(ROUNDS):
            solo_rate, rate, p99 = self.attack_round(n)
            if SANITIZED or (rate >= 0.8 * solo_rate and p99 < 0.050):
                met = True
                break
        self.assertTrue(met, "signed rate < 0.8x its solo rate, or p99 >= "
                        "50 ms, beside the slow clients in every round")

    def test_connections_beyond_max_are_closed_and_counted(self):
        d = self.d
        before = timeouts(d)["rejected"]
        held = []
        try:
            for _ in range(MAX_CONNECTIONS + 20):
                held.append(socket.create_connection((h.LOOPBACK, d.port),
                                                     timeout=5))
            # The last ones are closed by the server at accept.
            closed = 0
            for s in held[-20:]:
                s.settimeout(5)
                try:
                    if s.recv(1) == b"":
                        closed += 1
                except OSError:
                    closed += 1
            self.assertEqual(closed, 20)
            self.assertGreaterEqual(timeouts(d)["rejected"] - before, 20)
        finally:
            for s in held:
                s.close()
        # Once they are gone, new connections are served again.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                r = h.post_signed(d.port, SOURCE, SECRET,
                                  h.verifynow_body("after-max"))
                if r.status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            self.fail("not serving after the connections closed")


if __name__ == "__main__":
    h.main()
