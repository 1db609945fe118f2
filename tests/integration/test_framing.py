#!/usr/bin/env python3
"""T9 (docs/reliability.md §7.1): framing and limits regression suite, raw sockets.

Every malformed case is sent with a validly signed, pipelined canary request
right behind it on the same connection. Each case must get:
  - a 4xx (the exact code where framing.h documents one),
  - `Connection: close` and the connection actually closed,
  - exactly one response (the canary never answered),
  - no row written (neither the case's own event nor the canary's), and
  - no handler invocation (dlrd_webhook_requests_total unchanged).
Where possible the malformed request itself carries a validly signed event,
so a server that "repairs" the framing and accepts it is caught by the rows.

Two controls prove the checks can see a failure: two valid pipelined
requests are both processed, and a valid chunked request is accepted.

Run: DLRD_BIN=./build/dlrd python3 tests/integration/test_framing.py
"""

import os
import sys
import unittest

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dlrd_harness as h  # noqa: E402

SECRET = "framing-it-secret-71d2"
SOURCE = "verifynow"
PATH = "/webhooks/" + SOURCE
MAX_BODY = 64 * 1024
MAX_HEADER = 8 * 1024


def chunked(body, size=16):
    out = b""
    for i in range(0, len(body), size):
        part = body[i:i + size]
        out += b"%x\r\n" % len(part) + part + b"\r\n"
    return out + b"0\r\n\r\n"


def head(lines, eol=b"\r\n"):
    return eol.join(l.encode("latin-1") for l in lines) + eol + eol


def signed_event(tag):
    """(verification id, body, signature header line) for a fresh event."""
    vid = h.unique_id(tag)
    body = h.verifynow_body(vid, "DELIVERED", "SMS", 42)
    return vid, body, "X-Signature: " + h.sign_hmac(SECRET, body)


def base_lines(sig, version="HTTP/1.1", host=True):
    lines = ["POST %s %s" % (PATH, version)]
    if host:
        lines.append("Host: 127.0.0.1")
    lines += ["Content-Type: application/json", sig]
    return lines


# Each builder returns (raw bytes of the malformed request, [verification ids
# it carries]). Expected status: an int, or None for "any 4xx".
def case_cl_then_te():
    vid, body, sig = signed_event("cl-te")
    c = chunked(body)
    return head(base_lines(sig) + ["Content-Length: %d" % len(c),
                                   "Transfer-Encoding: chunked"]) + c, [vid]


def case_te_then_cl():
    vid, body, sig = signed_event("te-cl")
    c = chunked(body)
    return head(base_lines(sig) + ["Transfer-Encoding: chunked",
                                   "Content-Length: %d" % len(c)]) + c, [vid]


def case_te_gzip_with_cl():
    vid, body, sig = signed_event("gzip-cl")
    return head(base_lines(sig) + ["Transfer-Encoding: gzip",
                                   "Content-Length: %d" % len(body)]) + body, [vid]


def case_te_gzip_alone():
    vid, body, sig = signed_event("gzip")
    return head(base_lines(sig) + ["Transfer-Encoding: gzip"]) + body, [vid]


def case_te_gzip_chunked():
    vid, body, sig = signed_event("gzip-chunked")
    return head(base_lines(sig) + ["Transfer-Encoding: gzip, chunked"]) + \
        chunked(body), [vid]


def case_http10_te_chunked():
    vid, body, sig = signed_event("h10-te")
    return head(base_lines(sig, version="HTTP/1.0") +
                ["Transfer-Encoding: chunked"]) + chunked(body), [vid]


def case_duplicate_equal_cl():
    vid, body, sig = signed_event("dup-cl")
    n = len(body)
    return head(base_lines(sig) + ["Content-Length: %d" % n,
                                   "Content-Length: %d" % n]) + body, [vid]


def case_duplicate_different_cl():
    vid, body, sig = signed_event("dup-cl-diff")
    n = len(body)
    return head(base_lines(sig) + ["Content-Length: %d" % n,
                                   "Content-Length: %d" % (n + 5)]) + \
        body + b"XXXXX", [vid]


def case_cl_list():
    vid, body, sig = signed_event("cl-list")
    n = len(body)
    return head(base_lines(sig) + ["Content-Length: %d, %d" % (n, n)]) + \
        body, [vid]


def case_missing_host():
    vid, body, sig = signed_event("no-host")
    return head(base_lines(sig, host=False) +
                ["Content-Length: %d" % len(body)]) + body, [vid]


def case_obs_fold():
    vid, body, sig = signed_event("obs-fold")
    return head(base_lines(sig) + ["X-Folded: first", "  continued",
                                   "Content-Length: %d" % len(body)]) + \
        body, [vid]


def case_bare_lf():
    vid, body, sig = signed_event("bare-lf")
    return head(base_lines(sig) + ["Content-Length: %d" % len(body)],
                eol=b"\n") + body, [vid]


def case_space_before_colon():
    vid, body, sig = signed_event("ws-colon")
    c = chunked(body)
    # A proxy that drops the odd line frames by CL; one that trims it sees
    # TE+CL. Either way it must be refused.
    return head(base_lines(sig) + ["Transfer-Encoding : chunked",
                                   "Content-Length: %d" % len(c)]) + c, [vid]


def case_header_too_large():
    vid, body, sig = signed_event("big-header")
    return head(base_lines(sig) + ["X-Pad: " + "a" * (MAX_HEADER + 1),
                                   "Content-Length: %d" % len(body)]) + \
        body, [vid]


def case_cl_2mib_same_packet():
    vid, body, sig = signed_event("cl-2mib")
    n = 2 * 1024 * 1024
    padded = body[:-1] + b',"pad":"' + b"x" * (n - len(body) - 9) + b'"}'
    assert len(padded) == n, len(padded)
    return head(base_lines("X-Signature: " + h.sign_hmac(SECRET, padded)) +
                ["Content-Length: %d" % n]) + padded, [vid]


def case_chunked_over_limit():
    vid, body, sig = signed_event("chunked-big")
    padded = body[:-1] + b',"pad":"' + b"y" * (MAX_BODY + 1024) + b'"}'
    sig = "X-Signature: " + h.sign_hmac(SECRET, padded)
    return head(base_lines(sig) + ["Transfer-Encoding: chunked"]) + \
        chunked(padded, size=8192), [vid]


def case_post_without_length():
    vid, body, sig = signed_event("no-length")
    return head(base_lines(sig)), [vid]


def case_chunk_extension_16k():
    vid, body, sig = signed_event("chunk-ext")
    ext = b";ext=" + b"e" * (16 * 1024)
    c = b"%x" % len(body) + ext + b"\r\n" + body + b"\r\n0\r\n\r\n"
    return head(base_lines(sig) + ["Transfer-Encoding: chunked"]) + c, [vid]


def case_many_chunk_extensions():
    # Each extension fits the read buffer, but together they make the client
    # send ~70x the body: extensions are capped per request (1 KiB).
    vid, body, sig = signed_event("chunk-ext-many")
    c = b"".join(b"1;e=" + b"e" * 1000 + b"\r\n" + body[i:i + 1] + b"\r\n"
                 for i in range(len(body))) + b"0\r\n\r\n"
    return head(base_lines(sig) + ["Transfer-Encoding: chunked"]) + c, [vid]


def case_trailer_content_length():
    vid, body, sig = signed_event("trailer-cl")
    c = b"%x\r\n" % len(body) + body + b"\r\n0\r\nContent-Length: 5\r\n\r\n"
    return head(base_lines(sig) + ["Transfer-Encoding: chunked",
                                   "Trailer: Content-Length"]) + c, [vid]


def case_trailer_content_length_undeclared():
    vid, body, sig = signed_event("trailer-cl-undeclared")
    c = b"%x\r\n" % len(body) + body + b"\r\n0\r\nContent-Length: 0\r\n\r\n"
    return head(base_lines(sig) + ["Transfer-Encoding: chunked"]) + c, [vid]


def case_trailer_transfer_encoding():
    vid, body, sig = signed_event("trailer-te")
    c = b"%x\r\n" % len(body) + body + \
        b"\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n"
    return head(base_lines(sig) + ["Transfer-Encoding: chunked"]) + c, [vid]


CASES = [
    ("cl_then_te", case_cl_then_te, 400),
    ("te_then_cl", case_te_then_cl, 400),
    ("te_gzip_with_cl", case_te_gzip_with_cl, 400),
    ("te_gzip_alone", case_te_gzip_alone, 400),
    ("te_gzip_chunked", case_te_gzip_chunked, 400),
    ("http10_te_chunked", case_http10_te_chunked, 400),
    ("duplicate_equal_cl", case_duplicate_equal_cl, 400),
    ("duplicate_different_cl", case_duplicate_different_cl, 400),
    ("cl_list_5_5", case_cl_list, 400),
    ("missing_host_http11", case_missing_host, 400),
    ("obs_fold", case_obs_fold, 400),
    ("bare_lf", case_bare_lf, 400),
    ("space_before_colon", case_space_before_colon, 400),
    ("header_over_8k_431", case_header_too_large, 431),
    ("cl_2mib_same_packet_413", case_cl_2mib_same_packet, 413),
    ("chunked_over_64k_413", case_chunked_over_limit, 413),
    ("post_without_length_411", case_post_without_length, 411),
    ("chunk_extension_16k", case_chunk_extension_16k, None),
    ("many_chunk_extensions", case_many_chunk_extensions, 400),
    ("trailer_content_length", case_trailer_content_length, None),
    ("trailer_content_length_undeclared",
     case_trailer_content_length_undeclared, None),
    ("trailer_transfer_encoding", case_trailer_transfer_encoding, None),
]


class Framing(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = h.Dlrd({SOURCE: h.verifynow_source(["DLRD_IT_FRAMING"])},
                       {"DLRD_IT_FRAMING": SECRET})
        cls.addClassCleanup(cls.d.cleanup)
        cls.d.start()

    @classmethod
    def tearDownClass(cls):
        if cls.d.running():
            cls.d.stop()

    def handler_calls(self):
        m, _ = h.parse_metrics(self.d.metrics())
        return h.metric_sum(m, "dlrd_webhook_requests_total")

    def ids_stored(self, vids):
        with h.closing_db(self.d.db_path) as c:
            return [v for v in vids if c.execute(
                "SELECT COUNT(*) FROM delivery_events WHERE verification_id=?",
                (v,)).fetchone()[0]]

    def canary(self):
        vid, body, _ = signed_event("canary")
        return vid, h.signed_post_bytes(SOURCE, SECRET, body)

    def check_rejected(self, builder, expected):
        bad, vids = builder()
        canary_id, canary = self.canary()
        rows0 = self.d.count()
        calls0 = self.handler_calls()

        # The server must close: read until it does (a server that leaves
        # the connection open fails below, after the idle timeout).
        ex = h.exchange(self.d.port, bad + canary, idle_timeout=10.0)

        self.assertTrue(ex.responses, "no response at all: %r" % (ex,))
        status = ex.first.status
        if expected is None:
            self.assertTrue(400 <= status < 500, "want 4xx: %r" % (ex,))
        else:
            self.assertEqual(status, expected, ex)
        self.assertEqual((ex.first.header("Connection") or "").lower(), "close",
                         ex)
        self.assertEqual(len(ex.responses), 1,
                         "the pipelined canary was answered: %r" % (ex,))
        self.assertTrue(ex.closed, "connection left open: %r" % (ex,))
        self.assertEqual(self.ids_stored(vids + [canary_id]), [],
                         "rows written for a rejected connection")
        self.assertEqual(self.d.count(), rows0)
        self.assertEqual(self.handler_calls(), calls0,
                         "a handler ran for a framing-rejected request")
        self.assertTrue(self.d.running(), "dlrd died")

    # -- controls ---------------------------------------------------------
    def test_control_pipelined_valid_requests_both_processed(self):
        """Proves the canary detection works: without a bad first request,
        the pipelined canary IS answered and stored."""
        vid1, first = self.canary()
        vid2, second = self.canary()
        ex = h.exchange(self.d.port, first + second, idle_timeout=10.0,
                        until_responses=2)
        self.assertEqual([r.status for r in ex.responses], [200, 200], ex)
        self.assertEqual(sorted(self.ids_stored([vid1, vid2])),
                         sorted([vid1, vid2]))

    def test_control_valid_chunked_accepted(self):
        vid, body, sig = signed_event("chunked-ok")
        raw = head(base_lines(sig) + ["Transfer-Encoding: chunked"]) + \
            chunked(body, size=7)
        rows0 = self.d.count()
        ex = h.exchange(self.d.port, raw, idle_timeout=10.0,
                        until_responses=1)
        self.assertEqual([r.status for r in ex.responses], [200], ex)
        self.assertEqual(ex.first.json(), {"status": "accepted"})
        self.assertEqual(self.ids_stored([vid]), [vid])
        self.assertEqual(self.d.count(), rows0 + 1)
        with h.closing_db(self.d.db_path) as c:
            stored = c.execute(
                "SELECT r.body FROM delivery_events e JOIN raw_requests r"
                " ON r.id = e.raw_request_id WHERE e.verification_id=?",
                (vid,)).fetchone()[0]
        self.assertEqual(stored, body, "de-chunked body stored byte-exact")

    def test_z_still_healthy(self):
        """Sorted last: after the whole matrix dlrd still accepts a plain
        request on a fresh connection."""
        vid, raw = self.canary()
        ex = h.exchange(self.d.port, raw, idle_timeout=10.0,
                        until_responses=1)
        self.assertEqual([r.status for r in ex.responses], [200], ex)
        self.assertEqual(self.ids_stored([vid]), [vid])


def _make(builder, expected):
    def test(self):
        self.check_rejected(builder, expected)
    test.__doc__ = "%s -> %s + close, canary not processed" % (
        builder.__name__, expected or "4xx")
    return test


for _name, _builder, _expected in CASES:
    setattr(Framing, "test_t9_" + _name, _make(_builder, _expected))

if __name__ == "__main__":
    h.main()
