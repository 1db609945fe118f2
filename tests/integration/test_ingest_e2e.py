#!/usr/bin/env python3
"""End-to-end ingest against a real dlrd: signed callbacks in, rows out,
every rejection path, and /metrics agreeing with what happened.

One dlrd serves the whole class. Every request that reaches a source is
tallied (`expect()`), and test_99 checks the metric counters against the
tally, so the file stays correct when run whole or with -k filters.

Run: DLRD_BIN=./build/dlrd python3 tests/integration/test_ingest_e2e.py
"""

import subprocess
import collections
import json
import os
import sys
import time
import unittest

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dlrd_harness as h  # noqa: E402

VN_SECRET = "vn-it-secret-4f9c1b7e2d"
ROT_OLD = "rot-it-old-secret-8a1f"
ROT_NEW = "rot-it-new-secret-3c5d"
# The official Standard Webhooks test key (tests/data/signature_vectors.json).
SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_VECTOR = {
    "id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "timestamp": "1614265330",
    "body": b'{"test": 2432232314}',
    "signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
}

SOURCES = {
    "verifynow": h.verifynow_source(["DLRD_IT_VN"]),
    "rotating": h.verifynow_source(["DLRD_IT_ROT_OLD", "DLRD_IT_ROT_NEW"]),
    "stdhooks": h.standard_webhooks_source(["DLRD_IT_SW"]),
}
SECRETS = {"DLRD_IT_VN": VN_SECRET, "DLRD_IT_ROT_OLD": ROT_OLD,
           "DLRD_IT_ROT_NEW": ROT_NEW, "DLRD_IT_SW": SW_SECRET}
PROVIDER = "verifynow"


class IngestE2E(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = h.Dlrd(SOURCES, SECRETS)
        cls.addClassCleanup(cls.d.cleanup)
        cls.d.start()
        # (source, outcome) -> count; (source, reason) -> count;
        # (channel, status) -> new events; code -> framing rejects.
        cls.outcomes = collections.Counter()
        cls.sig_failures = collections.Counter()
        cls.new_events = collections.Counter()
        cls.secret_matches = collections.Counter()
        cls.framing_413 = 0

    @classmethod
    def tearDownClass(cls):
        if cls.d.running():
            cls.d.stop()

    # -- helpers ----------------------------------------------------------
    def expect(self, source, outcome, reason=None, event=None, secret=None):
        type(self).outcomes[(source, outcome)] += 1
        if reason:
            type(self).sig_failures[(source, reason)] += 1
        if event:
            type(self).new_events[event] += 1
        if secret is not None:
            type(self).secret_matches[(source, str(secret))] += 1

    def post(self, source, body, headers, content_type="application/json"):
        hdrs = [("Content-Type", content_type)] + list(headers)
        return h.request(self.d.port, "POST", "/webhooks/" + source, hdrs,
                         body)

    def post_vn(self, body, secret=VN_SECRET, source="verifynow", **kw):
        return self.post(source, body, [("X-Signature", h.sign_hmac(secret, body))],
                         **kw)

    def rows(self, sql, args=()):
        with h.closing_db(self.d.db_path) as c:
            c.row_factory = None
            return c.execute(sql, args).fetchall()

    def events_for(self, vid, source="verifynow"):
        return self.rows(
            "SELECT source, provider, channel, status, raw_status, latency_ms,"
            " recipient, raw_request_id, dedupe_key FROM delivery_events"
            " WHERE source=? AND verification_id=? ORDER BY id", (source, vid))

    def total_rows(self):
        return self.d.count()

    def assertStatus(self, resp, code, body_status=None):
        self.assertEqual(resp.status, code, resp)
        if body_status is not None:
            self.assertEqual(resp.json(), {"status": body_status})

    # -- tests ------------------------------------------------------------
    def test_01_signed_accepted_then_duplicate(self):
        vid = h.unique_id("e2e")
        body = h.verifynow_body(vid, "DELIVERED", "SMS", latency_ms=2345,
                                with_recipient=True)
        raw_before = self.d.count("SELECT COUNT(*) FROM raw_requests")

        r = self.post_vn(body)
        self.assertStatus(r, 200, "accepted")
        self.assertEqual(r.header("Content-Type"), "application/json")
        self.expect("verifynow", "accepted", event=("sms", "delivered"),
                    secret=0)
        ev = self.events_for(vid)
        self.assertEqual(len(ev), 1, ev)
        (source, provider, channel, status, raw_status, latency, recipient,
         raw_id, dedupe) = ev[0]
        self.assertEqual((source, provider, channel, status, raw_status),
                         ("verifynow", PROVIDER, "sms", "delivered",
                          "DELIVERED"))
        self.assertEqual(latency, 2345)
        self.assertEqual(recipient, h.TEST_E164)
        self.assertEqual(dedupe, "%s:SMS:DELIVERED" % vid)
        raw = self.rows("SELECT source, target, head, body FROM raw_requests"
                        " WHERE id=?", (raw_id,))
        self.assertEqual(len(raw), 1)
        self.assertEqual(raw[0][0], "verifynow")
        self.assertEqual(raw[0][1], "/webhooks/verifynow")
        self.assertIsInstance(raw[0][3], bytes)
        self.assertEqual(raw[0][3], body, "raw body must be byte-exact")
        head = raw[0][2]
        self.assertIsInstance(head, bytes)
        self.assertTrue(head.startswith(b"POST /webhooks/verifynow HTTP/1.1\r\n"))
        self.assertTrue(head.endswith(b"\r\n\r\n"))
        self.assertIn(b"\r\nX-Signature: " + h.sign_hmac(VN_SECRET, body).encode()
                      + b"\r\n", head)
        # head || body is the request as received: `dlrd verify` replays it.
        r = subprocess.run([self.d.binary, "verify", "--config", self.d.config_path,
                            "--source", "verifynow", "--request", "-"],
                           input=head + raw[0][3], capture_output=True,
                           env=dict(os.environ, **self.d.secrets), timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(json.loads(r.stdout)["valid"], True)
        ver = self.rows("SELECT status, channel FROM verifications WHERE"
                        " source='verifynow' AND verification_id=?", (vid,))
        self.assertEqual(ver, [("delivered", "sms")])

        # The same event again: 200 duplicate, nothing new stored at all.
        r = self.post_vn(body)
        self.assertStatus(r, 200, "duplicate")
        self.expect("verifynow", "duplicate", secret=0)
        self.assertEqual(len(self.events_for(vid)), 1)
        self.assertEqual(self.d.count("SELECT COUNT(*) FROM raw_requests"),
                         raw_before + 1,
                         "a request made only of duplicates leaves no raw row")

    def test_02_status_never_moves_backwards(self):
        vid = h.unique_id("back")
        r = self.post_vn(h.verifynow_body(vid, "DELIVERED", "WHATSAPP", 800))
        self.assertStatus(r, 200, "accepted")
        self.expect("verifynow", "accepted", event=("whatsapp", "delivered"),
                    secret=0)
        r = self.post_vn(h.verifynow_body(vid, "PENDING", "WHATSAPP", 100))
        self.assertStatus(r, 200, "accepted")  # new dedupe key: stored
        self.expect("verifynow", "accepted", event=("whatsapp", "sent"),
                    secret=0)
        statuses = [e[3] for e in self.events_for(vid)]
        self.assertEqual(statuses, ["delivered", "sent"])
        ver = self.rows("SELECT status, status_rank FROM verifications WHERE"
                        " source='verifynow' AND verification_id=?", (vid,))
        self.assertEqual(len(ver), 1)
        self.assertEqual(ver[0][0], "delivered")

    def test_03_bad_signature_401_without_leaking(self):
        before = self.total_rows()
        vid = h.unique_id("badsig")
        body = h.verifynow_body(vid)
        good = h.sign_hmac(VN_SECRET, body)
        wrong = h.sign_hmac("not-the-secret", body)
        r = self.post("verifynow", body, [("X-Signature", wrong)])
        self.assertStatus(r, 401)
        self.expect("verifynow", "rejected_signature", reason="mismatch")
        text = r.body.decode("latin-1")
        raw = b"".join(v.encode("latin-1") for _, v in r.headers) + r.body
        self.assertNotIn(good[len("sha256="):], text)
        self.assertNotIn(good[len("sha256="):].encode(), raw)
        self.assertNotIn(VN_SECRET, text)
        self.assertEqual(self.total_rows(), before)
        self.assertEqual(self.events_for(vid), [])

    def test_04_missing_signature_401(self):
        before = self.total_rows()
        r = self.post("verifynow", h.verifynow_body(h.unique_id("nosig")), [])
        self.assertStatus(r, 401)
        self.expect("verifynow", "rejected_signature", reason="missing_header")
        self.assertEqual(self.total_rows(), before)

    def test_05_oversized_body_413_and_closed(self):
        before = self.total_rows()
        body = b'{"verificationId":"big","pad":"' + b"x" * (64 * 1024) + b'"}'
        raw = h.signed_post_bytes("verifynow", VN_SECRET, body)
        ex = h.exchange(self.d.port, raw)
        self.assertTrue(ex.responses, ex)
        self.assertEqual(ex.first.status, 413, ex)
        self.assertEqual((ex.first.header("Connection") or "").lower(), "close")
        self.assertTrue(ex.closed, "connection must be closed after 413")
        self.assertEqual(len(ex.responses), 1)
        type(self).framing_413 += 1
        self.assertEqual(self.total_rows(), before)

    def test_06_malformed_json_400(self):
        before = self.total_rows()
        for body in (b'{"verificationId": "x", "deliveryStatus": ',
                     b'[1,2,3]',
                     b'{"deliveryStatus":"DELIVERED","channel":"SMS"}'):
            r = self.post_vn(body)
            self.assertStatus(r, 400)
            self.expect("verifynow", "rejected_malformed", secret=0)
        self.assertEqual(self.total_rows(), before)

    def test_07_wrong_content_type_415(self):
        before = self.total_rows()
        body = h.verifynow_body(h.unique_id("ct"))
        r = self.post_vn(body, content_type="text/plain")
        self.assertStatus(r, 415)
        self.expect("verifynow", "unsupported_media_type")
        r = self.post_vn(body, content_type="application/x-www-form-urlencoded")
        self.assertStatus(r, 415)
        self.expect("verifynow", "unsupported_media_type")
        self.assertEqual(self.total_rows(), before)

    def test_08_unknown_source_404_and_get_405(self):
        before = self.total_rows()
        body = h.verifynow_body(h.unique_id("nosrc"))
        r = self.post_vn(body, source="no-such-source")
        self.assertStatus(r, 404)
        r = h.request(self.d.port, "GET", "/webhooks/x")
        self.assertStatus(r, 405)
        self.assertEqual(r.header("Allow"), "POST")
        r = h.request(self.d.port, "POST", "/not/webhooks", [
            ("Content-Type", "application/json")], body)
        self.assertStatus(r, 404)
        self.assertEqual(self.total_rows(), before)

    def test_09_secret_rotation_second_secret(self):
        vid = h.unique_id("rot")
        body = h.verifynow_body(vid, "FAILED", "VOICE", latency_ms=None)
        r = self.post_vn(body, secret=ROT_NEW, source="rotating")
        self.assertStatus(r, 200, "accepted")
        self.expect("rotating", "accepted", event=("voice", "failed"),
                    secret=1)
        ev = self.events_for(vid, source="rotating")
        self.assertEqual(len(ev), 1)
        self.assertIsNone(ev[0][5], "latency_ms absent -> NULL")
        m, _ = h.parse_metrics(self.d.metrics())
        self.assertEqual(h.metric(m, "dlrd_signature_secret_matches_total",
                                  source="rotating", secret_index="1"),
                         self.secret_matches[("rotating", "1")])
        self.assertEqual(h.metric(m, "dlrd_signature_secret_matches_total",
                                  source="rotating", secret_index="1"), 1)
        self.assertEqual(h.metric(m, "dlrd_signature_secret_matches_total",
                                  source="rotating", secret_index="0"), 0)

    def test_10_standard_webhooks(self):
        # The harness signer reproduces the official vector...
        self.assertEqual(
            h.sign_standard(SW_SECRET, SW_VECTOR["id"], SW_VECTOR["timestamp"],
                            SW_VECTOR["body"]), SW_VECTOR["signature"])
        # ...and dlrd accepts a fresh message signed the same way.
        vid = h.unique_id("sw")
        body = h.verifynow_body(vid, "PENDING", "VOICE", 50)
        hdrs = h.standard_headers(SW_SECRET, body)
        r = self.post("stdhooks", body, list(hdrs.items()))
        self.assertStatus(r, 200, "accepted")
        self.expect("stdhooks", "accepted", event=("voice", "sent"), secret=0)
        ev = self.events_for(vid, source="stdhooks")
        self.assertEqual(len(ev), 1)
        self.assertEqual(ev[0][8], hdrs["webhook-id"],
                         "webhook-id is the dedupe key")
        # Same webhook-id again: duplicate.
        r = self.post("stdhooks", body, list(hdrs.items()))
        self.assertStatus(r, 200, "duplicate")
        self.expect("stdhooks", "duplicate", secret=0)

        before = self.total_rows()
        # Correctly signed but 10 minutes old: 401 (timestamp_skew).
        stale = h.standard_headers(SW_SECRET, body,
                                   timestamp=int(time.time()) - 600)
        r = self.post("stdhooks", body, list(stale.items()))
        self.assertStatus(r, 401)
        self.expect("stdhooks", "rejected_signature", reason="timestamp_skew")
        # The official vector itself, replayed today, is stale too.
        r = self.post("stdhooks", SW_VECTOR["body"], [
            ("webhook-id", SW_VECTOR["id"]),
            ("webhook-timestamp", SW_VECTOR["timestamp"]),
            ("webhook-signature", SW_VECTOR["signature"])])
        self.assertStatus(r, 401)
        self.expect("stdhooks", "rejected_signature", reason="timestamp_skew")
        self.assertEqual(self.total_rows(), before)

    def test_11_keep_alive_two_requests_one_socket(self):
        conn = h.KeepAliveConn(self.d.port)
        try:
            for status in ("PENDING", "DELIVERED"):
                body = h.verifynow_body(h.unique_id("ka"), status, "VOICE", 10)
                conn.send(h.signed_post_bytes("verifynow", VN_SECRET, body))
                r = conn.read_response()
                self.assertStatus(r, 200, "accepted")
                self.assertNotEqual((r.header("Connection") or "").lower(),
                                    "close")
                self.expect("verifynow", "accepted",
                            event=("voice", "sent" if status == "PENDING"
                                   else "delivered"), secret=0)
            self.assertFalse(conn.is_closed(0.2),
                             "keep-alive connection closed early")
        finally:
            conn.close()

    def test_98_logs_carry_no_secrets_or_numbers(self):
        log = self.d.log_text()
        self.assertIn("event=started", log)
        for secret in SECRETS.values():
            self.assertNotIn(secret, log)
        self.assertNotIn(SW_SECRET.split("_", 1)[1], log)
        self.assertNotIn(h.TEST_MOBILE, log)

    def test_99_metrics(self):
        # The request-duration histogram is observed after the response is
        # written, so the client may see a response before its observation
        # lands: poll briefly for the last one. (Every other counter here is
        # updated before the response is sent.)
        want200 = sum(n for (s, o), n in self.outcomes.items()
                      if o in ("accepted", "duplicate"))
        deadline = time.monotonic() + 3
        while True:
            text = self.d.metrics()
            m, _ = h.parse_metrics(text)
            got200 = h.metric(m, "dlrd_http_request_duration_seconds_count",
                              code="200", handler="webhook")
            if got200 >= want200 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        rc, out = h.promtool_check(text)
        self.assertEqual(rc, 0, "promtool check metrics failed:\n" + out)
        m, families = h.parse_metrics(text)
        for fam in ("dlrd_build_info", "dlrd_webhook_requests_total",
                    "dlrd_webhook_signature_failures_total",
                    "dlrd_signature_secret_matches_total",
                    "dlrd_delivery_events_total",
                    "dlrd_delivery_latency_seconds",
                    "dlrd_http_request_duration_seconds",
                    "dlrd_store_commit_duration_seconds",
                    "dlrd_store_commit_batch_size",
                    "dlrd_store_errors_total", "dlrd_store_queue_depth",
                    "dlrd_store_queue_capacity", "dlrd_events_dropped_total",
                    "dlrd_http_connections_open",
                    "dlrd_http_connections_rejected_total",
                    "process_resident_memory_bytes", "process_open_fds",
                    "process_start_time_seconds"):
            self.assertIn(fam, families, "metric family %s missing" % fam)
        self.assertEqual(h.metric_sum(m, "dlrd_build_info"), 1)
        self.assertGreater(h.metric(m, "process_resident_memory_bytes"), 0)

        outcomes = ("accepted", "duplicate", "rejected_signature",
                    "rejected_malformed", "unsupported_media_type",
                    "overloaded", "store_failed")
        for source in SOURCES:
            for o in outcomes:
                got = h.metric(m, "dlrd_webhook_requests_total", source=source,
                               provider=PROVIDER, outcome=o)
                self.assertEqual(got, self.outcomes[(source, o)],
                                 "requests_total{source=%s,outcome=%s}"
                                 % (source, o))
        reasons = {"verifynow": ("missing_header", "duplicate_header",
                                 "bad_encoding", "mismatch"),
                   "stdhooks": ("missing_header", "duplicate_header",
                                "bad_encoding", "bad_timestamp",
                                "timestamp_skew", "mismatch")}
        for source, rs in reasons.items():
            for reason in rs:
                got = h.metric(m, "dlrd_webhook_signature_failures_total",
                               source=source, provider=PROVIDER, reason=reason)
                self.assertEqual(got, self.sig_failures[(source, reason)],
                                 "signature_failures{%s,%s}" % (source, reason))
        for (source, idx), n in self.secret_matches.items():
            self.assertEqual(h.metric(m, "dlrd_signature_secret_matches_total",
                                      source=source, secret_index=idx), n)
        for ch in ("sms", "whatsapp", "voice", "other"):
            for st in ("unknown", "queued", "sent", "delivered", "read",
                       "failed", "undelivered", "expired", "rejected"):
                got = h.metric(m, "dlrd_delivery_events_total",
                               provider=PROVIDER, channel=ch, status=st)
                self.assertEqual(got, self.new_events[(ch, st)],
                                 "delivery_events_total{%s,%s}" % (ch, st))
        if self.outcomes[("verifynow", "accepted")]:
            self.assertEqual(h.metric(m, "dlrd_delivery_events_total",
                                      provider=PROVIDER, channel="sms",
                                      status="delivered"), 1)
        # The metrics agree with the database.
        self.assertEqual(h.metric_sum(m, "dlrd_delivery_events_total"),
                         self.total_rows())
        code413 = h.metric(m, "dlrd_http_request_duration_seconds_count",
                           code="413", handler="webhook")
        self.assertGreaterEqual(code413, self.framing_413)
        if self.framing_413:
            self.assertGreaterEqual(code413, 1)
        self.assertEqual(h.metric(m, "dlrd_http_request_duration_seconds_count",
                                  code="200", handler="webhook"), want200)
        self.assertEqual(h.metric(m, "dlrd_events_dropped_total",
                                  reason="queue_full"), 0)


if __name__ == "__main__":
    h.main()
