#!/usr/bin/env python3
"""Self-test of mock_provider.py: every behaviour of every provider, over
real TLS with a test CA (stdlib unittest; needs the openssl CLI).

    python3 tests/mock_provider/test_mock_provider.py
"""

import base64
import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mock_provider  # noqa: E402
from mock_provider import DEFAULT_CREDENTIALS as CREDS  # noqa: E402

SLOW_S = 0.6
# Fictional UK numbers (Ofcom 07700 900xxx); the last four digits choose.
ACCEPTED = "+447700900001"


def number(last4):
    return "+44770090" + last4


def basic(user, password):
    return "Basic " + base64.b64encode(
        ("%s:%s" % (user, password)).encode()).decode()


def request_for(provider, recipient, channel, good_auth=True, reference=None):
    """(method, path, headers, body) as dlrd's adapters build them."""
    bad = "wrong"
    if provider == "verifynow":
        c = CREDS["verifynow"]
        cc, national = recipient[1:3], recipient[3:]
        flow = {"sms": "SMS", "whatsapp": "WHATSAPP"}[channel]
        query = urllib.parse.urlencode({
            "countryCode": cc, "customerId": c["customer_id"],
            "flowType": flow, "mobileNumber": national})
        return ("POST", "/verification/v3/send?" + query,
                {"authToken": c["auth_token"] if good_auth else bad}, b"")
    if provider == "twilio":
        c = CREDS["twilio"]
        raw = {"sms": "sms", "whatsapp": "whatsapp", "voice": "call"}[channel]
        body = urllib.parse.urlencode({"To": recipient, "Channel": raw})
        return ("POST", "/v2/Services/%s/Verifications" % c["service_sid"],
                {"Authorization": basic(c["account_sid"],
                                        c["auth_token"] if good_auth else bad),
                 "Content-Type": "application/x-www-form-urlencoded"},
                body.encode())
    if provider == "vonage":
        c = CREDS["vonage"]
        step = {"channel": channel, "to": recipient[1:]}
        if channel == "whatsapp":
            step["from"] = "447700400080"
        body = json.dumps({"brand": "Acme", "workflow": [step]})
        return ("POST", "/v2/verify",
                {"Authorization": basic(c["api_key"],
                                        c["api_secret"] if good_auth else bad),
                 "Content-Type": "application/json"}, body.encode())
    c = CREDS["sinch"]
    raw = {"sms": "sms", "whatsapp": "whatsapp", "voice": "callout"}[channel]
    doc = {"identity": {"type": "number", "endpoint": recipient},
           "method": raw}
    if reference:
        doc["reference"] = reference
    return ("POST", "/verification/v1/verifications",
            {"Authorization": basic(c["application_key"],
                                    c["application_secret"] if good_auth
                                    else bad),
             "Content-Type": "application/json"}, json.dumps(doc).encode())


class MockProviderTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.ca = mock_provider.make_test_ca(os.path.join(cls.tmp.name, "ca"))
        cls.other_ca = mock_provider.make_test_ca(
            os.path.join(cls.tmp.name, "other"))
        cls.mock = mock_provider.MockProvider(
            cls.ca.server_cert, cls.ca.server_key, retry_after=2,
            slow_delay_s=SLOW_S)
        cls.mock.start()

    @classmethod
    def tearDownClass(cls):
        cls.mock.stop()
        cls.tmp.cleanup()

    def setUp(self):
        self.mock.clear()

    def connect(self, timeout=5.0, cafile=None):
        ctx = ssl.create_default_context(cafile=cafile or self.ca.ca_cert)
        return http.client.HTTPSConnection("127.0.0.1", self.mock.port,
                                           timeout=timeout, context=ctx)

    def call(self, provider, recipient, channel="sms", good_auth=True,
             reference=None, conn=None):
        method, path, headers, body = request_for(
            provider, recipient, channel, good_auth, reference)
        own = conn is None
        conn = conn or self.connect()
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            doc = json.loads(data) if data else None
            return resp.status, resp, doc
        finally:
            if own:
                conn.close()

    # -- behaviours --

    def test_accepted_each_provider_and_channel(self):
        ids = set()
        cases = [("verifynow", "sms"), ("verifynow", "whatsapp"),
                 ("twilio", "sms"), ("twilio", "whatsapp"),
                 ("twilio", "voice"), ("vonage", "sms"),
                 ("vonage", "whatsapp"), ("vonage", "voice"),
                 ("sinch", "sms"), ("sinch", "whatsapp"), ("sinch", "voice")]
        for provider, channel in cases:
            with self.subTest(provider=provider, channel=channel):
                status, _, doc = self.call(provider, number("0042"), channel)
                if provider == "verifynow":
                    self.assertEqual(status, 200)
                    self.assertEqual(doc["responseCode"], 200)
                    new_id = doc["data"]["verificationId"]
                    self.assertEqual(doc["data"]["mobileNumber"], "7700900042")
                elif provider == "twilio":
                    self.assertEqual(status, 201)
                    new_id = doc["sid"]
                    self.assertRegex(new_id, r"^VE[0-9a-f]{32}$")
                    self.assertEqual(doc["status"], "pending")
                elif provider == "vonage":
                    self.assertEqual(status, 202)
                    new_id = doc["request_id"]
                else:
                    self.assertEqual(status, 200)
                    new_id = doc["id"]
                self.assertNotIn(new_id, ids)
                ids.add(new_id)
                rec = self.mock.requests()[-1]
                self.assertEqual(rec["provider"], provider)
                self.assertEqual(rec["channel"], channel)
                self.assertEqual(rec["recipient"], number("0042"))
                self.assertEqual(rec["outcome"], "accepted")
                self.assertEqual(rec["provider_id"], new_id)
                lower = {k.lower() for k in rec["headers"]}
                self.assertNotIn("authorization", lower)
                self.assertNotIn("authtoken", lower)
        self.assertEqual(len(self.mock.requests(outcome="accepted")),
                         len(cases))

    def test_range_and_unlisted_numbers_are_accepted(self):
        for last4 in ("0001", "0099", "1234", "0100", "0500", "9999"):
            with self.subTest(last4=last4):
                status, _, doc = self.call("vonage", number(last4))
                self.assertEqual(status, 202)
                self.assertIn("request_id", doc)

    def test_invalid_number(self):
        expect = {"verifynow": (400, lambda d: d["responseCode"] == 511),
                  "twilio": (400, lambda d: d["code"] == 21211),
                  "vonage": (422, lambda d: d["invalid_parameters"][0]["name"]
                             == "to"),
                  "sinch": (400, lambda d: d["errorCode"] == 40001)}
        for provider, (want, check) in expect.items():
            with self.subTest(provider=provider):
                status, _, doc = self.call(provider, number("0400"))
                self.assertEqual(status, want)
                self.assertTrue(check(doc), doc)
        self.assertEqual(len(self.mock.requests(outcome="invalid")), 4)

    def test_fraud(self):
        expect = {"verifynow": lambda d: d["message"] == "FRAUD_DETECTED",
                  "twilio": lambda d: d["code"] == 60410,
                  "vonage": lambda d: "Fraud" in d["detail"],
                  "sinch": lambda d: d["errorCode"] == 40300}
        for provider, check in expect.items():
            with self.subTest(provider=provider):
                status, _, doc = self.call(provider, number("0403"))
                self.assertEqual(status, 403)
                self.assertTrue(check(doc), doc)
        self.assertEqual(len(self.mock.requests(outcome="fraud")), 4)

    def test_rate_limited_with_retry_after(self):
        for provider in mock_provider.PROVIDERS:
            with self.subTest(provider=provider):
                status, resp, _ = self.call(provider, number("0429"))
                self.assertEqual(status, 429)
                self.assertEqual(resp.getheader("Retry-After"), "2")

    def test_unavailable(self):
        for provider in mock_provider.PROVIDERS:
            with self.subTest(provider=provider):
                status, resp, _ = self.call(provider, number("0503"))
                self.assertEqual(status, 503)
                self.assertIsNone(resp.getheader("Retry-After"))

    def test_too_slow(self):
        start = time.monotonic()
        status, _, doc = self.call("twilio", number("0504"))
        self.assertGreaterEqual(time.monotonic() - start, SLOW_S)
        self.assertEqual(status, 201)
        # A client with a shorter read timeout gives up; the mock has
        # already recorded the request, as a real provider would have taken
        # it.
        conn = self.connect(timeout=0.2)
        with self.assertRaises((socket.timeout, TimeoutError)):
            self.call("sinch", number("0504"), conn=conn)
        conn.close()
        recs = self.mock.requests(outcome="slow")
        self.assertEqual([r["provider"] for r in recs], ["twilio", "sinch"])
        self.assertTrue(all(r["provider_id"] for r in recs))

    def test_replied_is_when_the_reply_was_written(self):
        before = time.time()
        status, _, _ = self.call("twilio", number("0011"))
        self.assertEqual(status, 201)
        rec = self.mock.requests(outcome="accepted")[0]
        self.assertLessEqual(before, rec["time"])
        self.assertLessEqual(rec["time"], rec["replied"])
        self.assertLessEqual(rec["replied"], time.time())

    def test_accept_delay_holds_every_accepted_reply(self):
        delay = 0.3
        with mock_provider.MockProvider(self.ca.server_cert,
                                        self.ca.server_key,
                                        accept_delay_s=delay) as mock:
            ctx = ssl.create_default_context(cafile=self.ca.ca_cert)
            conn = http.client.HTTPSConnection("127.0.0.1", mock.port,
                                               timeout=5, context=ctx)
            try:
                start = time.monotonic()
                status, _, _ = self.call("twilio", number("0012"), conn=conn)
                self.assertEqual(status, 201)
                self.assertGreaterEqual(time.monotonic() - start, delay)
                # Failures are not held.
                start = time.monotonic()
                status, _, _ = self.call("twilio", number("0400"), conn=conn)
                self.assertEqual(status, 400)
                self.assertLess(time.monotonic() - start, delay)
            finally:
                conn.close()
            rec = mock.requests(outcome="accepted")[0]
            self.assertGreaterEqual(rec["replied"] - rec["time"], delay)

    def test_reset_after_accepting(self):
        for provider in mock_provider.PROVIDERS:
            with self.subTest(provider=provider):
                with self.assertRaises((ConnectionError, ssl.SSLError,
                                        http.client.RemoteDisconnected)):
                    self.call(provider, number("0505"))
        recs = self.mock.requests(outcome="reset")
        self.assertEqual(len(recs), 4)
        self.assertTrue(all(r["provider_id"] for r in recs))

    def test_wrong_credentials_get_401(self):
        for provider in mock_provider.PROVIDERS:
            with self.subTest(provider=provider):
                status, _, _ = self.call(provider, ACCEPTED, good_auth=False)
                self.assertEqual(status, 401)
        recs = self.mock.requests(outcome="unauthorized")
        self.assertEqual(len(recs), 4)
        self.assertTrue(all(r["provider_id"] is None for r in recs))

    def test_missing_credentials_get_401(self):
        conn = self.connect()
        conn.request("POST", "/v2/verify", body=b"{}",
                     headers={"Content-Type": "application/json"})
        self.assertEqual(conn.getresponse().status, 401)
        conn.close()

    def test_verifynow_wrong_customer_id(self):
        conn = self.connect()
        conn.request("POST", "/verification/v3/send?countryCode=44&"
                     "customerId=C-OTHER&flowType=SMS&mobileNumber=7700900001",
                     headers={"authToken": CREDS["verifynow"]["auth_token"]})
        resp = conn.getresponse()
        self.assertEqual(resp.status, 400)
        self.assertEqual(json.loads(resp.read())["responseCode"], 501)
        conn.close()

    def test_malformed_requests(self):
        conn = self.connect()
        c = CREDS["twilio"]
        conn.request("POST", "/v2/Services/VA1/Verifications",
                     body=b"To=447700900001&Channel=fax",
                     headers={"Authorization": basic(c["account_sid"],
                                                     c["auth_token"])})
        resp = conn.getresponse()
        self.assertEqual(resp.status, 400)
        self.assertEqual(json.loads(resp.read())["code"], 60200)
        conn.close()
        self.assertEqual(self.mock.requests()[-1]["outcome"], "bad_request")

    def test_sinch_reference_is_deduplicated(self):
        status, _, _ = self.call("sinch", ACCEPTED, reference="root-1:1")
        self.assertEqual(status, 200)
        status, _, doc = self.call("sinch", ACCEPTED, reference="root-1:1")
        self.assertEqual(status, 409)
        self.assertEqual(doc["errorCode"], 40900)
        # A reset-after-accept send took the reference too.
        with self.assertRaises((ConnectionError, ssl.SSLError,
                                http.client.RemoteDisconnected)):
            self.call("sinch", number("0505"), reference="root-2:1")
        status, _, _ = self.call("sinch", number("0505"), reference="root-2:1")
        self.assertEqual(status, 409)
        # Failures do not take it.
        status, _, _ = self.call("sinch", number("0503"), reference="root-3:1")
        self.assertEqual(status, 503)
        with self.assertRaises((ConnectionError, ssl.SSLError,
                                http.client.RemoteDisconnected)):
            self.call("sinch", number("0505"), reference="root-3:1")
        self.assertEqual(len(self.mock.requests(outcome="duplicate")), 2)

    def test_keep_alive_and_path_prefix(self):
        conn = self.connect()
        method, path, headers, body = request_for("twilio", ACCEPTED, "sms")
        for prefix in ("", "/twilio", "/a/b"):
            conn.request(method, prefix + path, body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            self.assertEqual(resp.status, 201)
        conn.close()
        paths = [r["path"] for r in self.mock.requests()]
        self.assertEqual(paths[1], "/twilio" + path)

    def test_unknown_path_is_404(self):
        conn = self.connect()
        conn.request("POST", "/v1/Messages", body=b"")
        self.assertEqual(conn.getresponse().status, 404)
        conn.close()
        self.assertEqual(self.mock.requests(), [])

    def test_requests_endpoint(self):
        self.call("verifynow", ACCEPTED, "whatsapp")
        self.call("twilio", number("0400"))
        conn = self.connect()
        conn.request("GET", "/_requests")
        resp = conn.getresponse()
        self.assertEqual(resp.status, 200)
        got = json.loads(resp.read())
        self.assertEqual(got, self.mock.requests())
        self.assertEqual([(r["provider"], r["channel"], r["outcome"])
                          for r in got],
                         [("verifynow", "whatsapp", "accepted"),
                          ("twilio", "sms", "invalid")])
        self.assertEqual(got[0]["query"]["flowType"], "WHATSAPP")
        self.assertIn("To=%2B447700900400", got[1]["body"])
        conn.request("DELETE", "/_requests")
        resp = conn.getresponse()
        resp.read()
        self.assertEqual(resp.status, 204)
        conn.close()
        self.assertEqual(self.mock.requests(), [])

    def test_wait_for_requests(self):
        self.call("sinch", ACCEPTED)
        self.assertEqual(len(self.mock.wait_for_requests(1, provider="sinch")),
                         1)
        with self.assertRaises(TimeoutError):
            self.mock.wait_for_requests(1, timeout=0.2, provider="vonage")

    def test_untrusted_ca_is_refused(self):
        conn = self.connect(cafile=self.other_ca.ca_cert)
        with self.assertRaises(ssl.SSLCertVerificationError):
            self.call("twilio", ACCEPTED, conn=conn)
        conn.close()
        # The mock still serves others afterwards.
        status, _, _ = self.call("twilio", ACCEPTED)
        self.assertEqual(status, 201)

    def test_hostname_is_verified(self):
        ctx = ssl.create_default_context(cafile=self.ca.ca_cert)
        with socket.create_connection(("127.0.0.1", self.mock.port), 5) as s:
            with self.assertRaises(ssl.SSLCertVerificationError):
                ctx.wrap_socket(s, server_hostname="example.com")

    def test_command_line(self):
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                              "mock_provider.py")
        proc = subprocess.Popen(
            [sys.executable, script, "--cert", self.ca.server_cert, "--key",
             self.ca.server_key, "--port", "0", "--retry-after", "7"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            port = int(proc.stdout.readline())
            ctx = ssl.create_default_context(cafile=self.ca.ca_cert)
            conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=5,
                                               context=ctx)
            method, path, headers, body = request_for("vonage",
                                                      number("0429"), "sms")
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            self.assertEqual(resp.status, 429)
            self.assertEqual(resp.getheader("Retry-After"), "7")
            conn.request("GET", "/_requests")
            got = json.loads(conn.getresponse().read())
            self.assertEqual([r["outcome"] for r in got], ["rate_limited"])
            conn.close()
        finally:
            proc.terminate()
            self.assertEqual(proc.wait(timeout=10), 0)
            proc.stdout.close()

    def test_behaviour_table(self):
        table = {"+447700900001": "accepted", "+447700900099": "accepted",
                 "+447700900400": "invalid", "+447700900403": "fraud",
                 "+447700900429": "rate_limited",
                 "+447700900503": "unavailable", "+447700900504": "slow",
                 "+447700900505": "reset", "+12125550123": "accepted",
                 "": "accepted"}
        for recipient, want in table.items():
            self.assertEqual(mock_provider.behaviour_for(recipient), want,
                             recipient)


if __name__ == "__main__":
    unittest.main(verbosity=2)
