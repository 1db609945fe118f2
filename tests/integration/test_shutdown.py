#!/usr/bin/env python3
"""Graceful shutdown (SIGTERM): dlrd drains, commits and exits 0 in time.

Contract (src/cli/daemon.h): on SIGTERM the public listener stops accepting
and drains (in-flight requests are answered after their commit; idle
connections close at once); when no connection is left or the grace period
ends, the queue commits what it holds; exit 0.

Checked here:
  - under concurrent load (keep-alive and one-shot clients), SIGTERM -> exit
    0 within the grace period; every request got 200 (and is stored), 503
    with Retry-After, or a connection error: never a 200 without a row, and
    never any other answer;
  - a request whose body is still arriving at SIGTERM is either answered
    200 and stored, or refused/closed; never a 200 without a row;
  - an idle keep-alive connection does not hold up shutdown;
  - a client stuck mid-header cannot hold shutdown past the grace period.

Run: DLRD_BIN=./build/dlrd python3 tests/integration/test_shutdown.py
"""

import os
import socket
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dlrd_harness as h  # noqa: E402

SECRET = "shutdown-it-secret-9b3f"
SOURCE = "verifynow"
CLIENTS = 8
GRACE_MS = 4000
SLACK_S = 1.5  # process exit + polling (20 ms) + Python scheduling
MIN_ACKED_BEFORE = 50  # acks under load before SIGTERM is sent
LOAD_TIMEOUT_S = 30.0


class LoadClient(threading.Thread):
    """Posts unique events until told to stop; `keep_alive` reuses one
    connection (reconnecting after a close)."""

    def __init__(self, port, tag, keep_alive, stop):
        super().__init__(daemon=True)
        self.port, self.tag, self.keep_alive, self.stop = port, tag, keep_alive, stop
        self.acked = []
        self.n503 = 0
        self.conn_errors = 0
        self.bad = []  # anything that is not 200 accepted / 503 / conn error
        self.conn = None

    def one(self, vid, body):
        if not self.keep_alive:
            return h.post_signed(self.port, SOURCE, SECRET, body, timeout=10)
        if self.conn is None:
            self.conn = h.KeepAliveConn(self.port)
        try:
            self.conn.send(h.signed_post_bytes(SOURCE, SECRET, body))
            r = self.conn.read_response()
        except OSError:
            self.conn.close()
            self.conn = None
            raise
        if (r.header("Connection") or "").lower() == "close":
            self.conn.close()
            self.conn = None
        return r

    def run(self):
        n = 0
        try:
            while not self.stop.is_set():
                n += 1
                vid = "%s-%d" % (self.tag, n)
                body = h.verifynow_body(vid, "DELIVERED", "VOICE", n)
                try:
                    r = self.one(vid, body)
                except OSError:
                    self.conn_errors += 1
                    self.stop.wait(0.01)
                    continue
                if r.status == 200 and r.json() == {"status": "accepted"}:
                    self.acked.append(vid)
                elif r.status == 503:
                    self.n503 += 1
                    if r.header("Retry-After") is None:
                        self.bad.append((vid, r.status, "no Retry-After"))
                else:
                    self.bad.append((vid, r.status, r.body))
        finally:
            if self.conn:
                self.conn.close()


class Shutdown(unittest.TestCase):
    def start(self, **extra):
        cfg = {"shutdown_grace_ms": GRACE_MS, "io_threads": 2}
        cfg.update(extra)
        d = h.Dlrd({SOURCE: h.verifynow_source(["DLRD_IT_SHUTDOWN"])},
                   {"DLRD_IT_SHUTDOWN": SECRET}, extra_config=cfg)
        self.addCleanup(d.cleanup)
        d.start()
        return d

    def sigterm_and_wait(self, d, limit_s):
        t0 = time.monotonic()
        d.terminate()
        rc = d.wait(limit_s + 5)
        took = time.monotonic() - t0
        self.assertIsNotNone(rc, "dlrd still running %.1fs after SIGTERM; "
                             "log:\n%s" % (limit_s + 5, d.log_tail()))
        d._forget()
        self.assertEqual(rc, 0, "exit code; log:\n" + d.log_tail())
        self.assertLessEqual(took, limit_s, "exit took %.2fs" % took)
        log = d.log_text()
        self.assertIn("event=shutdown_started reason=SIGTERM", log)
        self.assertIn("event=shutdown_complete", log)
        return took

    def stored(self, d, vids):
        with h.closing_db(d.db_path) as c:
            self.assertEqual(c.execute("PRAGMA integrity_check").fetchall(),
                             [("ok",)])
            have = {r[0] for r in c.execute(
                "SELECT verification_id FROM delivery_events")}
        return [v for v in vids if v in have]

    def test_sigterm_under_load(self):
        d = self.start()
        stop = threading.Event()
        clients = [LoadClient(d.port, "c%d" % i, keep_alive=(i % 2 == 0),
                              stop=stop) for i in range(CLIENTS)]
        for c in clients:
            c.start()
        # SIGTERM once the load is established (a count of acks, however
        # long a loaded machine takes to get there), not after a fixed time.
        deadline = time.monotonic() + LOAD_TIMEOUT_S
        while (sum(len(c.acked) for c in clients) <= MIN_ACKED_BEFORE
               and time.monotonic() < deadline):
            time.sleep(0.02)
        acked_before = sum(len(c.acked) for c in clients)
        took = self.sigterm_and_wait(d, GRACE_MS / 1000 + SLACK_S)
        time.sleep(0.2)  # let clients see the refusal
        stop.set()
        for c in clients:
            c.join(timeout=15)
            self.assertFalse(c.is_alive(), "client hung")
        bad = [b for c in clients for b in c.bad]
        self.assertEqual(bad, [], "answers other than 200/503/conn error")
        acked = [v for c in clients for v in c.acked]
        self.assertGreater(acked_before, MIN_ACKED_BEFORE,
                           "load too light to mean anything")
        missing = sorted(set(acked) - set(self.stored(d, acked)))
        self.assertEqual(missing, [], "200 without a row")
        # Nobody was stuck: draining should not need the whole grace.
        self.assertNotIn("shutdown_grace_expired", d.log_text())
        print("\ntest_shutdown: load acked=%d 503=%d conn_errors=%d "
              "exit_after=%.3fs" % (len(acked), sum(c.n503 for c in clients),
                                    sum(c.conn_errors for c in clients), took),
              file=sys.stderr)

    def test_request_mid_body_at_sigterm(self):
        """A request whose body is still arriving at SIGTERM is in flight:
        it is either answered (200 and stored, with Connection: close, or
        503 with Retry-After), or its connection is closed without a byte
        of answer (no ack, so the sender retries). Never a timeout, a
        partial answer or any other status; exit 0 well within the grace."""
        d = self.start()
        vid = h.unique_id("midbody")
        body = h.verifynow_body(vid, "DELIVERED", "SMS", 7)
        raw = h.signed_post_bytes(SOURCE, SECRET, body)
        split = len(raw) - len(body) // 2
        s = socket.create_connection((h.LOOPBACK, d.port), timeout=10)
        try:
            s.sendall(raw[:split])
            time.sleep(0.2)
            t0 = time.monotonic()
            d.terminate()
            # Send the rest once dlrd is draining (a positive signal, not a
            # guess at how long the signal takes to be handled).
            deadline = time.monotonic() + 5
            while ("event=shutdown_started" not in d.log_text()
                   and time.monotonic() < deadline):
                time.sleep(0.01)
            self.assertIn("event=shutdown_started", d.log_text())
            buf = b""
            closed_by = None
            try:
                s.sendall(raw[split:])
            except (BrokenPipeError, ConnectionResetError) as e:
                closed_by = type(e).__name__
            while closed_by is None:
                try:
                    chunk = s.recv(65536)  # socket.timeout fails the test
                except ConnectionResetError:
                    closed_by = "reset"
                    break
                if not chunk:
                    closed_by = "eof"
                    break
                buf += chunk
                if h.parse_one(buf)[0] is not None:
                    break
        finally:
            s.close()
        rc = d.wait(GRACE_MS / 1000 + SLACK_S)
        took = time.monotonic() - t0
        self.assertIsNotNone(rc, "dlrd still running; log:\n" + d.log_tail())
        d._forget()
        self.assertEqual(rc, 0, d.log_tail())
        self.assertLessEqual(took, GRACE_MS / 1000 + SLACK_S)
        self.assertNotIn("shutdown_grace_expired", d.log_text(),
                         "one in-flight request held shutdown for the grace")
        r, _ = h.parse_one(buf)
        if r is None:
            # Closed without an answer: not a single byte of one.
            self.assertEqual(buf, b"", "partial answer before close")
            self.assertIsNotNone(closed_by)
            outcome = "closed (%s), no answer" % closed_by
        else:
            self.assertIn(r.status, (200, 503), r)
            outcome = str(r.status)
            if r.status == 200:
                self.assertEqual(r.json(), {"status": "accepted"})
                self.assertEqual(
                    (r.header("Connection") or "").lower(), "close",
                    "a draining server must close after answering")
                self.assertEqual(self.stored(d, [vid]), [vid],
                                 "200 without a row")
            else:
                self.assertIsNotNone(r.header("Retry-After"), r)
        print("\ntest_shutdown: mid-body request at SIGTERM -> %s" % outcome,
              file=sys.stderr)

    def test_idle_keepalive_does_not_delay_exit(self):
        d = self.start()
        conn = h.KeepAliveConn(d.port)
        try:
            vid = h.unique_id("idle")
            conn.send(h.signed_post_bytes(
                SOURCE, SECRET, h.verifynow_body(vid, "FAILED", "SMS", 3)))
            self.assertEqual(conn.read_response().status, 200)
            took = self.sigterm_and_wait(d, 2.0)
            self.assertTrue(conn.is_closed(1.0),
                            "idle keep-alive connection not closed")
        finally:
            conn.close()
        self.assertEqual(self.stored(d, [vid]), [vid])
        self.assertLess(took, 2.0)

    def test_stuck_client_cannot_exceed_grace(self):
        grace_ms = 1500
        d = self.start(shutdown_grace_ms=grace_ms)
        s = socket.create_connection((h.LOOPBACK, d.port), timeout=10)
        try:
            s.sendall(b"POST /webhooks/verifynow HTTP/1.1\r\nHost: x\r\n")
            time.sleep(0.2)
            took = self.sigterm_and_wait(d, grace_ms / 1000 + SLACK_S)
        finally:
            s.close()
        self.assertGreaterEqual(took, grace_ms / 1000 - 0.2,
                                "exited before the grace period although a "
                                "connection was still open")
        self.assertIn("event=shutdown_grace_expired", d.log_text())


if __name__ == "__main__":
    h.main()
