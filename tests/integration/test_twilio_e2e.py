#!/usr/bin/env python3
"""Twilio end to end through the binary: scheme `twilio` + format
`twilio-messaging`.

A status callback signed the way Twilio signs it (HMAC-SHA1 over the public
URL plus the sorted form parameters) is stored with its status, error code,
recipient and country. The same request sent to a source whose `public_url`
differs is refused with 401 and counted as reason url_mismatch, which is how
an operator finds a wrong public_url behind a proxy. Host is never used.

A callback URL with `user:pass@` makes Twilio send `Authorization: Basic`:
the stored raw request has that credential (and a Cookie) redacted, and
`dlrd verify` on the stored head and body still says valid.
"""

import json
import os
import subprocess
import sys
import unittest
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dlrd_harness as h  # noqa: E402

TOKEN = "twilio-it-token-3f9a"
PUBLIC = "https://hooks.example.com/webhooks/tw"


def twilio_signature(url, params):
    return h.sign_twilio(TOKEN, url, params)


def source(public_url):
    return {"format": "twilio-messaging",
            "signature": {"scheme": "twilio", "public_url": public_url,
                          "secrets": ["env:DLRD_IT_TWILIO"]}}


class TwilioEndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = h.Dlrd({"tw": source(PUBLIC), "tw-basic": source(PUBLIC),
                        "tw-other": source("https://other.example.com/webhooks/tw-other")},
                       {"DLRD_IT_TWILIO": TOKEN})
        cls.addClassCleanup(cls.d.cleanup)
        cls.d.start()

    def post(self, path, params, signature, extra_headers=()):
        body = urllib.parse.urlencode(params).encode()
        headers = [("Content-Type", "application/x-www-form-urlencoded"),
                   ("Host", "internal-host:8080"),
                   ("X-Twilio-Signature", signature)] + list(extra_headers)
        return h.request(self.d.port, "POST", path, headers, body)

    def test_basic_auth_credential_not_stored_and_still_verifiable(self):
        params = {"MessageSid": "SM00000000000000000000000000000002",
                  "MessageStatus": "delivered",
                  "To": h.TEST_E164, "From": "+12025550142",
                  "AccountSid": "AC00000000000000000000000000000000"}
        sig = twilio_signature(PUBLIC, params)
        r = self.post("/webhooks/tw-basic", params, sig, [
            ("Authorization", "Basic dXNlcjpwYXNz"),
            ("Cookie", "session=s3cr3t-cookie")])
        self.assertEqual(r.status, 200, r)
        with h.closing_db(self.d.db_path) as c:
            rows = c.execute(
                "SELECT r.target, r.head, r.body FROM raw_requests r"
                " JOIN delivery_events e ON e.raw_request_id = r.id"
                " WHERE e.dedupe_key = ?",
                ("SM00000000000000000000000000000002:delivered",)).fetchall()
        self.assertEqual(len(rows), 1, rows)
        target, head, body = rows[0]
        self.assertEqual(target, "/webhooks/tw-basic")
        self.assertNotIn(b"dXNlcjpwYXNz", head)
        self.assertNotIn(b"user:pass", head)
        self.assertNotIn(b"s3cr3t-cookie", head)
        self.assertIn(b"\r\nAuthorization: [redacted]\r\n", head)
        self.assertIn(b"\r\nCookie: [redacted]\r\n", head)
        # The signature and everything else it needs are kept byte-exact.
        self.assertIn(b"\r\nX-Twilio-Signature: " + sig.encode() + b"\r\n",
                      head)
        self.assertTrue(
            head.startswith(b"POST /webhooks/tw-basic HTTP/1.1\r\n"))
        self.assertTrue(head.endswith(b"\r\n\r\n"))
        r = subprocess.run([self.d.binary, "verify", "--config",
                            self.d.config_path, "--source", "tw-basic",
                            "--request", "-"],
                           input=head + body, capture_output=True,
                           env=dict(os.environ, **self.d.secrets), timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(json.loads(r.stdout)["valid"], True)

    def test_signed_status_callback_is_stored_and_wrong_public_url_is_named(self):
        params = {"MessageSid": "SM00000000000000000000000000000001",
                  "MessageStatus": "undelivered", "ErrorCode": "30003",
                  "To": h.TEST_E164, "From": "+12025550142",
                  "AccountSid": "AC00000000000000000000000000000000"}
        sig = twilio_signature(PUBLIC + "?attempt=1", params)
        r = self.post("/webhooks/tw?attempt=1", params, sig)
        self.assertEqual(r.status, 200, r)
        with h.closing_db(self.d.db_path) as c:
            rows = c.execute(
                "SELECT provider, channel, status, raw_status, error_code,"
                " recipient, country, dedupe_key FROM delivery_events"
                " WHERE source='tw'").fetchall()
        self.assertEqual(rows, [("twilio", "sms", "undelivered", "undelivered",
                                 "30003", h.TEST_E164, "GB",
                                 "SM00000000000000000000000000000001:undelivered")])
        # Same bytes again: Twilio's retry is a duplicate.
        self.assertEqual(self.post("/webhooks/tw?attempt=1", params, sig).json(),
                         {"status": "duplicate"})
        # The query is signed: dropping it breaks the signature.
        self.assertEqual(self.post("/webhooks/tw", params, sig).status, 401)

        before = self.d.count()
        r = self.post("/webhooks/tw-other?attempt=1", params, sig)
        self.assertEqual(r.status, 401)
        self.assertEqual(self.d.count(), before)
        metrics = self.d.metrics()
        line = ('dlrd_webhook_signature_failures_total{provider="twilio",'
                'reason="url_mismatch",source="tw-other"} 1')
        self.assertIn(line, metrics)


if __name__ == "__main__":
    h.main()
