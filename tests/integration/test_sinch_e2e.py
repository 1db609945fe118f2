#!/usr/bin/env python3
"""Sinch end to end through the binary: scheme `sinch` variant `application`
+ format `sinch-verification`, and variant `nonce` + format `sinch-sms`.

A VerificationRequestEvent signed the way Sinch signs it (Authorization:
Application key:base64(HMAC-SHA256(base64-decoded secret, METHOD, Content-MD5,
Content-Type, x-timestamp, path))) is answered with the configured action
({"action":"allow"}, or "deny" on a source with "request_action": "deny")
and stored. Sinch's retry of the same request gets the same answer and adds
no row. A VerificationResultEvent gets dlrd's own JSON answer; a body altered
after signing gets 401 and no action, so Sinch never reads a verdict from a
request dlrd did not authenticate.

An SMS full delivery report signed with the nonce scheme stores one row per
recipient; the same report under a fresh nonce is a duplicate, because the
dedupe key comes from the report (batch, recipient, status), not the nonce.
"""

import base64
import datetime
import hashlib
import hmac
import json
import os
import sys
import time
import unittest
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dlrd_harness as h  # noqa: E402

APP_KEY = "669E367E-6BBA-48AB-AF15-266871C28135"
# base64 of 16 made-up bytes; Sinch keys the HMAC with the decoded bytes.
APP_SECRET = "3q2+78r+ur7erb7vyv66vg=="
CONTENT_TYPE = "application/json; charset=utf-8"
SMS_SECRET = "sinch-it-sms-webhook-secret"


def sinch_timestamp():
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + "%07dZ" % (now.microsecond * 10)


def sinch_headers(path, body, timestamp=None, content_type=CONTENT_TYPE):
    """The headers of an application-signed Sinch callback for `body`
    (bytes) posted to `path`."""
    timestamp = timestamp or sinch_timestamp()
    content_md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    to_sign = "\n".join(["POST", content_md5, content_type,
                         "x-timestamp:" + timestamp, path])
    key = base64.b64decode(APP_SECRET)
    mac = hmac.new(key, to_sign.encode(), hashlib.sha256).digest()
    signature = base64.b64encode(mac).decode()
    return [("Content-Type", content_type),
            ("Authorization", "Application %s:%s" % (APP_KEY, signature)),
            ("x-timestamp", timestamp)]


def event_body(event, verification_id, **fields):
    doc = {"id": verification_id, "event": event, "method": "sms",
           "identity": {"type": "number", "endpoint": h.TEST_E164},
           "reference": "it-ref", "custom": "it-custom"}
    doc.update(fields)
    return json.dumps(doc, separators=(",", ":")).encode()


def source(**extra):
    src = {"format": "sinch-verification",
           "signature": {"scheme": "sinch", "variant": "application",
                         "application_key": APP_KEY,
                         "secrets": ["env:DLRD_IT_SINCH"]}}
    src.update(extra)
    return src


class SinchVerificationEndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = h.Dlrd({"sv": source(),
                        "sv-deny": source(request_action="deny")},
                       {"DLRD_IT_SINCH": APP_SECRET})
        cls.addClassCleanup(cls.d.cleanup)
        cls.d.start()

    def post(self, source_name, body, headers=None):
        path = "/webhooks/" + source_name
        headers = headers if headers is not None else sinch_headers(path, body)
        return h.request(self.d.port, "POST", path, headers, body)

    def rows(self, verification_id):
        with h.closing_db(self.d.db_path) as c:
            return c.execute(
                "SELECT source, provider, channel, status, raw_status,"
                " error_code, recipient, country, dedupe_key"
                " FROM delivery_events WHERE verification_id=? ORDER BY id",
                (verification_id,)).fetchall()

    def test_request_is_allowed_stored_and_retry_gets_the_same_answer(self):
        vid = h.unique_id("sv")
        body = event_body("VerificationRequestEvent", vid,
                          price={"amount": 0.0425, "currencyId": "EUR"})
        headers = sinch_headers("/webhooks/sv", body)
        r = self.post("sv", body, headers)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Type"), "application/json")
        self.assertEqual(r.json(), {"action": "allow"})
        expected = [("sv", "sinch", "sms", "queued", "VerificationRequestEvent",
                     "", h.TEST_E164, "GB",
                     vid + ":VerificationRequestEvent")]
        self.assertEqual(self.rows(vid), expected)

        # Sinch's retry: the same bytes and headers. A duplicate, but Sinch
        # still needs the verdict, so the answer is the same.
        again = self.post("sv", body, headers)
        self.assertEqual(again.status, 200, again)
        self.assertEqual(again.json(), {"action": "allow"})
        self.assertEqual(self.rows(vid), expected)

    def test_unknown_event_is_accepted_and_kept_raw(self):
        # An event type the format does not know: no delivery event, but the
        # verified request is stored, so nothing Sinch delivered is lost.
        vid = h.unique_id("sv")
        body = event_body("VerificationSomethingNewEvent", vid)
        r = self.post("sv", body)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"status": "accepted"})
        self.assertEqual(self.rows(vid), [])
        with h.closing_db(self.d.db_path) as c:
            n = c.execute("SELECT count(*) FROM raw_requests WHERE body=?",
                          (body,)).fetchone()[0]
        self.assertEqual(n, 1)

    def test_deny_source_answers_deny(self):
        vid = h.unique_id("sv")
        body = event_body("VerificationRequestEvent", vid, method="flashcall")
        r = self.post("sv-deny", body)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"action": "deny"})
        rows = self.rows(vid)
        self.assertEqual(len(rows), 1, rows)
        self.assertEqual(rows[0][:4], ("sv-deny", "sinch", "voice", "queued"))

    def test_result_event_gets_dlrds_own_answer(self):
        vid = h.unique_id("sv")
        body = event_body("VerificationResultEvent", vid, status="DENIED",
                          reason="Fraud", source="manual")
        r = self.post("sv", body)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"status": "accepted"})
        self.assertEqual(self.rows(vid), [
            ("sv", "sinch", "sms", "rejected", "DENIED", "Fraud", h.TEST_E164,
             "GB", vid + ":VerificationResultEvent:DENIED")])
        # The deny source answers result events the same way: no action.
        vid2 = h.unique_id("sv")
        body2 = event_body("VerificationResultEvent", vid2, status="SUCCESSFUL")
        r2 = self.post("sv-deny", body2)
        self.assertEqual(r2.status, 200, r2)
        self.assertEqual(r2.json(), {"status": "accepted"})

    def test_tampered_request_is_refused_without_a_verdict(self):
        vid = h.unique_id("sv")
        body = event_body("VerificationRequestEvent", vid)
        headers = sinch_headers("/webhooks/sv", body)
        tampered = body.replace(h.TEST_E164.encode(), b"+447700900999")
        self.assertNotEqual(tampered, body)
        before = self.d.count()
        r = self.post("sv", tampered, headers)
        self.assertEqual(r.status, 401, r)
        self.assertNotIn(b"action", r.body)
        self.assertEqual(self.d.count(), before)
        self.assertEqual(self.rows(vid), [])
        # Signed for another source's path: refused too.
        r = self.post("sv-deny", body, headers)
        self.assertEqual(r.status, 401, r)
        self.assertNotIn(b"action", r.body)


def nonce_headers(body, nonce=None, timestamp=None):
    """Sinch "webhook signature" headers: base64(HMAC-SHA256(secret as raw
    bytes, body + "." + nonce + "." + timestamp))."""
    nonce = nonce or uuid.uuid4().hex.upper()
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    signed = body + b"." + nonce.encode() + b"." + timestamp.encode()
    mac = hmac.new(SMS_SECRET.encode(), signed, hashlib.sha256).digest()
    return [("Content-Type", "application/json"),
            ("x-sinch-webhook-signature", base64.b64encode(mac).decode()),
            ("x-sinch-webhook-signature-algorithm", "HmacSHA256"),
            ("x-sinch-webhook-signature-nonce", nonce),
            ("x-sinch-webhook-signature-timestamp", timestamp)]


class SinchSmsEndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = h.Dlrd({"ss": {"format": "sinch-sms",
                               "signature": {"scheme": "sinch",
                                             "variant": "nonce",
                                             "secrets": ["env:DLRD_IT_SMS"]}}},
                       {"DLRD_IT_SMS": SMS_SECRET})
        cls.addClassCleanup(cls.d.cleanup)
        cls.d.start()

    def test_full_report_stores_one_row_per_recipient_once(self):
        batch = "01J0IT" + uuid.uuid4().hex[:20].upper()
        body = json.dumps({
            "type": "delivery_report_sms", "batch_id": batch,
            "statuses": [
                {"code": 0, "count": 1, "status": "Delivered",
                 "recipients": [h.TEST_E164.lstrip("+")]},
                {"code": 2, "count": 1, "status": "Failed",
                 "recipients": ["12025550143"]}],
            "total_message_count": 2}, separators=(",", ":")).encode()
        r = h.request(self.d.port, "POST", "/webhooks/ss", nonce_headers(body),
                      body)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"status": "accepted"})
        query = ("SELECT channel, status, raw_status, error_code, recipient,"
                 " country, message_id FROM delivery_events"
                 " WHERE verification_id=? ORDER BY id")
        expected = [("sms", "delivered", "Delivered", "0", h.TEST_E164, "GB",
                     batch),
                    ("sms", "failed", "Failed", "2", "+12025550143", "US",
                     batch)]
        with h.closing_db(self.d.db_path) as c:
            self.assertEqual(c.execute(query, (batch,)).fetchall(), expected)
        # A retry carries a new nonce: still the same report, so a duplicate.
        r = h.request(self.d.port, "POST", "/webhooks/ss", nonce_headers(body),
                      body)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"status": "duplicate"})
        with h.closing_db(self.d.db_path) as c:
            self.assertEqual(c.execute(query, (batch,)).fetchall(), expected)
        # Signed with another secret: refused.
        bad = nonce_headers(body)
        bad[1] = ("x-sinch-webhook-signature",
                  base64.b64encode(b"\0" * 32).decode())
        r = h.request(self.d.port, "POST", "/webhooks/ss", bad, body)
        self.assertEqual(r.status, 401, r)


if __name__ == "__main__":
    h.main()
