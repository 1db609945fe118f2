#!/usr/bin/env python3
"""Client IP behind a trusted proxy, per-source allowlists (403) and the
per-client-IP rate limit (429) against a real dlrd.

The test client connects from 127.0.0.1, which plays the part of nginx on
the same host: X-Forwarded-For is what nginx would have appended.
  (a) trusted_proxies ["127.0.0.1/32"], a source with allow_ips
      ["203.0.113.0/24"]: XFF 203.0.113.7 -> 200; XFF 198.51.100.9 -> 403;
      no XFF -> 403 (the proxy itself is not allowed); a spoofed allowed
      address left of the real one -> 403;
  (b) no trusted_proxies: XFF 203.0.113.7 from 127.0.0.1 -> 403 (ignored);
  (c) rate_limit 0.1/s, burst 3, a budget of refusals per client: three
      forged requests from one address are 401, the fourth 429 with
      Retry-After; a correctly signed request from that same address is
      still 200 and stored, and forged ones stay 429. Signed requests beyond
      the burst are all 200. IPv6 clients (through X-Forwarded-For) share a
      budget per /64, and the next /64 has its own.
      dlrd_webhook_requests_limited_total counts each 429, the 401 outcome
      counts only the forgeries answered 401, and `promtool check metrics`
      still passes.

Run: DLRD_BIN=./build/dlrd python3 tests/integration/test_proxy_limits.py
"""

import os
import sys
import time
import unittest

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dlrd_harness as h  # noqa: E402

SECRET = "proxy-it-secret-7d2e91"
SECRETS = {"DLRD_IT_PROXY": SECRET}
ALLOWED_NET = "203.0.113.0/24"


def sources():
    locked = h.verifynow_source(["DLRD_IT_PROXY"])
    locked["allow_ips"] = [ALLOWED_NET]
    return {"locked": locked, "open": h.verifynow_source(["DLRD_IT_PROXY"])}


def post(d, source, xff=None, vid=None, secret=SECRET):
    body = h.verifynow_body(vid or h.unique_id("px"))
    extra = [("X-Forwarded-For", xff)] if xff is not None else []
    return h.post_signed(d.port, source, secret, body, extra_headers=extra)


def forge(d, xff):
    """A request signed with the wrong secret, as an attacker would send."""
    return post(d, "open", xff, secret="not-the-secret")


def limited(d, reason):
    m, _ = h.parse_metrics(d.metrics())
    return h.metric(m, "dlrd_webhook_requests_limited_total", reason=reason)


class ProxyLimitsBase(unittest.TestCase):
    extra_config = {}

    @classmethod
    def setUpClass(cls):
        cls.d = h.Dlrd(sources(), SECRETS, extra_config=cls.extra_config)
        cls.addClassCleanup(cls.d.cleanup)
        cls.d.start()

    @classmethod
    def tearDownClass(cls):
        if cls.d.running():
            cls.d.stop()

    def assertForbidden(self, r):
        self.assertEqual(r.status, 403, r)
        self.assertEqual(r.json(), {"error": "forbidden"})


class TrustedProxyAllowlist(ProxyLimitsBase):
    """(a) dlrd behind a proxy on 127.0.0.1 that it trusts."""

    extra_config = {"trusted_proxies": ["127.0.0.1/32"]}

    def test_a_allowlist_uses_forwarded_client(self):
        self.assertEqual(limited(self.d, "ip_not_allowed"), 0,
                         "pre-initialised to 0")
        self.assertEqual(limited(self.d, "rate_limit"), 0)
        before = self.d.count()

        vid = h.unique_id("allowed")
        r = post(self.d, "locked", "203.0.113.7", vid=vid)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"status": "accepted"})
        self.assertEqual(self.d.count(
            "SELECT COUNT(*) FROM delivery_events WHERE verification_id=?",
            (vid,)), 1)

        self.assertForbidden(post(self.d, "locked", "198.51.100.9"))
        self.assertForbidden(post(self.d, "locked"))  # the proxy itself
        # A client-supplied allowed address left of what nginx appended.
        self.assertForbidden(post(self.d, "locked",
                                  "203.0.113.7, 198.51.100.9"))
        # Two XFF headers are one list; the last one is nearest to us.
        body = h.verifynow_body(h.unique_id("px"))
        r = h.post_signed(self.d.port, "locked", SECRET, body, extra_headers=[
            ("X-Forwarded-For", "203.0.113.7"),
            ("X-Forwarded-For", "198.51.100.9")])
        self.assertForbidden(r)
        # A source without allow_ips takes anyone; unknown sources stay 404.
        self.assertEqual(post(self.d, "open", "198.51.100.9").status, 200)
        r = post(self.d, "no-such-source", "198.51.100.9")
        self.assertEqual(r.status, 404, r)

        self.assertEqual(self.d.count(), before + 2)
        self.assertEqual(limited(self.d, "ip_not_allowed"), 4)
        self.assertEqual(limited(self.d, "rate_limit"), 0)
        log = self.d.log_text()
        self.assertIn("event=ip_not_allowed", log)
        self.assertIn("client=198.51.100.9", log)


class UntrustedProxyIgnoresXff(ProxyLimitsBase):
    """(b) the same allowlist, but no trusted_proxies: XFF means nothing."""

    def test_b_xff_ignored(self):
        self.assertForbidden(post(self.d, "locked", "203.0.113.7"))
        self.assertForbidden(post(self.d, "locked"))
        self.assertEqual(limited(self.d, "ip_not_allowed"), 2)
        self.assertIn("event=client_ip_is_tcp_peer", self.d.log_text())


class RateLimit(ProxyLimitsBase):
    """(c) a budget of 3 refusals per client, one more every 10 s."""

    extra_config = {"trusted_proxies": ["127.0.0.1/32"],
                    "rate_limit": {"per_ip_per_s": 0.1, "burst": 3}}

    def assertLimited(self, r):
        self.assertEqual(r.status, 429, r)
        self.assertEqual(r.json(), {"error": "rate limited"})
        retry_after = r.header("Retry-After")
        self.assertIsNotNone(retry_after, r)
        self.assertRegex(retry_after, r"^[0-9]+$")
        self.assertTrue(1 <= int(retry_after) <= 10, retry_after)

    def stored(self, vid):
        return self.d.count(
            "SELECT COUNT(*) FROM delivery_events WHERE verification_id=?",
            (vid,))

    def test_c_forgeries_limited_signed_callbacks_never(self):
        self.assertEqual(limited(self.d, "rate_limit"), 0)
        before = self.d.count()
        # Signed callbacks well past the burst: none is limited.
        for _ in range(6):
            self.assertEqual(post(self.d, "open", "203.0.113.10").status, 200)

        # A shared egress address: forgeries spend its budget...
        shared = "203.0.113.20"
        codes = [forge(self.d, shared).status for _ in range(3)]
        self.assertEqual(codes, [401, 401, 401])
        self.assertLimited(forge(self.d, shared))
        # ...but the provider's correctly signed callback from the same
        # address is verified, stored and answered 200.
        vid = h.unique_id("shared")
        r = post(self.d, "open", shared, vid=vid)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"status": "accepted"})
        self.assertEqual(self.stored(vid), 1)
        self.assertLimited(forge(self.d, shared))
        self.assertEqual(post(self.d, "open", shared).status, 200)
        self.assertEqual(self.d.count(), before + 8, "a 429 stores nothing")

        # IPv6: hopping addresses inside one /64 shares one budget.
        for ip in ("2001:db8:5:6::1", "2001:db8:5:6::2", "2001:db8:5:6:1::3"):
            self.assertEqual(forge(self.d, ip).status, 401, ip)
        self.assertLimited(forge(self.d, "2001:db8:5:6:ffff::4"))
        self.assertEqual(forge(self.d, "2001:db8:5:7::1").status, 401,
                         "the next /64 is another client")
        self.assertEqual(post(self.d, "open", "2001:db8:5:6::99").status, 200)

        m, families = h.parse_metrics(self.d.metrics())
        self.assertEqual(h.metric(m, "dlrd_webhook_requests_limited_total",
                                  reason="rate_limit"), 3)
        self.assertEqual(h.metric(m, "dlrd_webhook_requests_limited_total",
                                  reason="ip_not_allowed"), 0)
        # Only the forgeries answered 401 count as rejected: the 429s were
        # verified but not reported again.
        self.assertEqual(h.metric_sum(m, "dlrd_webhook_requests_total",
                                      source="open",
                                      outcome="rejected_signature"), 7)
        self.assertEqual(self.d.log_text().count("event=signature_rejected"), 7)

        # The request-duration histogram is observed after the response is
        # written: poll briefly for the 429s to land there too.
        deadline = time.monotonic() + 3
        while True:
            text = self.d.metrics()
            m, families = h.parse_metrics(text)
            got429 = h.metric(m, "dlrd_http_request_duration_seconds_count",
                              code="429", handler="webhook")
            if got429 >= 3 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(got429, 3)
        rc, out = h.promtool_check(text)
        self.assertEqual(rc, 0, "promtool check metrics failed:\n" + out)
        self.assertIn("dlrd_webhook_requests_limited_total", families)
        self.assertEqual(h.metric(m, "dlrd_http_request_duration_seconds_count",
                                  code="403", handler="webhook"), 0)


if __name__ == "__main__":
    h.main()
