#!/usr/bin/env python3
"""Idle keep-alive connections: the idle timeout, and serving after a pause.

An idle connection holds no read buffer (http_session.cc waits for the
socket to become readable, under its own idle timer, and allocates the
buffer when the next request arrives). Checked here, with a short
limits.idle_timeout_ms:
  - a keep-alive connection is served again after pauses shorter than the
    idle timeout, also with a request split right after its first byte,
    and with two requests pipelined in one write after a pause;
  - an idle connection, after a request or before its first byte, is
    closed once the idle timeout passes (not before) and counted in
    dlrd_http_timeouts_total{phase="idle"};
  - the first byte of a request ends the idle wait: from then on the header
    timeout (longer here) applies, and is counted as phase="header";
  - many connections idle at once are all served again.

Run: DLRD_BIN=./build/dlrd python3 tests/integration/test_idle.py
"""

import os
import socket
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dlrd_harness as h  # noqa: E402

SECRET = "idle-it-secret-51c0"
SOURCE = "verifynow"
IDLE_MS = 800
HEADER_MS = 2500  # well above IDLE_MS, so the two cannot be confused
MANY = 200
MANY_IDLE_MS = 20000  # test_many_idle_connections_are_served_again
MANY_PAUSE_S = 1.0
SLACK_S = 3.0  # the timer, the close and Python, on a loaded machine


def timeouts(d):
    m = h.parse_metrics(d.metrics())[0]
    return {p: h.metric(m, "dlrd_http_timeouts_total", listener="public",
                        phase=p) or 0.0
            for p in ("idle", "header", "body")}


def signed(tag):
    return h.signed_post_bytes(SOURCE, SECRET,
                               h.verifynow_body(h.unique_id(tag)))


def wait_closed(sock, limit_s):
    """Seconds until the peer closed `sock` (EOF or RST), or None."""
    t0 = time.monotonic()
    sock.settimeout(limit_s)
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
    except socket.timeout:
        return None
    except ConnectionResetError:
        pass
    return time.monotonic() - t0


class Idle(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        limits = {"idle_timeout_ms": IDLE_MS, "header_timeout_ms": HEADER_MS,
                  "max_connections": MANY + 64}
        cls.d = h.Dlrd({SOURCE: h.verifynow_source(["DLRD_IT_IDLE"])},
                       {"DLRD_IT_IDLE": SECRET},
                       extra_config={"limits": limits})
        cls.addClassCleanup(cls.d.cleanup)
        cls.d.start()

    def assertOk(self, r):
        self.assertEqual(r.status, 200, r)
        self.assertNotEqual((r.header("Connection") or "").lower(), "close")

    def test_served_again_after_pauses_shorter_than_the_idle_timeout(self):
        c = h.KeepAliveConn(self.d.port)
        try:
            for i in range(3):
                c.send(signed("pause"))
                self.assertOk(c.read_response())
                time.sleep(IDLE_MS / 1000 / 3)
            # A request whose first byte arrives alone (the idle wait ends
            # on it) and whose rest follows a moment later.
            raw = signed("split")
            c.send(raw[:1])
            time.sleep(0.1)
            c.send(raw[1:])
            self.assertOk(c.read_response())
            time.sleep(IDLE_MS / 1000 / 3)
            # Two requests in one write after a pause: both answered, in order.
            c.send(signed("pipe1") + signed("pipe2"))
            self.assertOk(c.read_response())
            self.assertOk(c.read_response())
            self.assertFalse(c.is_closed(timeout=0.05))
        finally:
            c.close()

    def test_idle_connection_after_a_request_is_closed_and_counted(self):
        before = timeouts(self.d)
        c = h.KeepAliveConn(self.d.port)
        try:
            c.send(signed("idle-after"))
            self.assertOk(c.read_response())
            took = wait_closed(c.sock, IDLE_MS / 1000 + SLACK_S)
        finally:
            c.close()
        self.assertIsNotNone(took, "idle connection not closed")
        self.assertGreaterEqual(took, IDLE_MS / 1000 * 0.9)
        after = timeouts(self.d)
        self.assertEqual(after["idle"] - before["idle"], 1)
        self.assertEqual(after["header"] - before["header"], 0)

    def test_silent_new_connection_is_closed_by_the_idle_timeout(self):
        before = timeouts(self.d)
        s = socket.create_connection((h.LOOPBACK, self.d.port), timeout=5)
        try:
            took = wait_closed(s, IDLE_MS / 1000 + SLACK_S)
        finally:
            s.close()
        self.assertIsNotNone(took, "silent connection not closed")
        self.assertGreaterEqual(took, IDLE_MS / 1000 * 0.9)
        after = timeouts(self.d)
        self.assertEqual(after["idle"] - before["idle"], 1)
        self.assertEqual(after["header"] - before["header"], 0)

    def test_first_byte_switches_to_the_header_timeout(self):
        before = timeouts(self.d)
        s = socket.create_connection((h.LOOPBACK, self.d.port), timeout=5)
        try:
            s.sendall(b"P")
            took = wait_closed(s, HEADER_MS / 1000 + SLACK_S)
        finally:
            s.close()
        self.assertIsNotNone(took, "stalled header not closed")
        # Not the idle timeout: the header timeout, from the first byte.
        self.assertGreaterEqual(took, HEADER_MS / 1000 * 0.9)
        after = timeouts(self.d)
        self.assertEqual(after["header"] - before["header"], 1)
        self.assertEqual(after["idle"] - before["idle"], 0)

    def test_many_idle_connections_are_served_again(self):
        # Its own server with a long idle timeout: with IDLE_MS the first
        # connection's pause also spans reading the other 199 answers,
        # which under a loaded machine (the whole suite on two cores, each
        # answer behind an fsync) took longer than 800 ms and closed it,
        # which is the idle timeout working, not this test's subject.
        limits = {"idle_timeout_ms": MANY_IDLE_MS,
                  "header_timeout_ms": MANY_IDLE_MS,
                  "max_connections": MANY + 64}
        d = h.Dlrd({SOURCE: h.verifynow_source(["DLRD_IT_IDLE"])},
                   {"DLRD_IT_IDLE": SECRET}, extra_config={"limits": limits})
        self.addCleanup(d.cleanup)
        d.start()
        conns = []
        try:
            for _ in range(MANY):
                c = h.KeepAliveConn(d.port)
                conns.append(c)
                c.send(signed("many1"))
            for c in conns:
                self.assertOk(c.read_response())
            answered = time.monotonic()
            time.sleep(MANY_PAUSE_S)  # all 200 idle at once
            for c in conns:
                c.send(signed("many2"))
            for c in conns:
                self.assertOk(c.read_response())
            # Every connection was idle for the whole pause, and well under
            # the idle timeout, so none may have been closed.
            self.assertLess(time.monotonic() - answered, MANY_IDLE_MS / 1000)
        finally:
            for c in conns:
                c.close()
        self.assertTrue(d.running())
        self.assertEqual(timeouts(d)["idle"], 0)


if __name__ == "__main__":
    h.main()
