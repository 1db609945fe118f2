#!/usr/bin/env python3
"""No request takes dlrd down (issue: exception barrier, HEAD framing).

Each case here aborted the daemon, or broke keep-alive framing, before the
exception barrier and the HEAD fix:

- `GET /v1/x` with a valid admin token threw std::out_of_range;
  `/v1/verificationsABC` was read as the id "BC";
- `GET /v1/stats?by=%FF` threw nlohmann type_error 316 (invalid UTF-8);
- one signed Twilio callback whose ErrorCode is `%FF%FE` was stored as is,
  after which every `GET /v1/stats` and `dlrd stats --format json` aborted;
- HEAD answers carried a body, which the client reads as the start of the
  next response on the same connection;
- a burst of mutated requests on the admin listener took it down.

After every case the daemon must still answer /healthz, and the
dlrd_internal_errors_total series must exist (the barrier's counter).
"""

import json
import os
import random
import time
import subprocess
import sys
import unittest
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dlrd_harness as h  # noqa: E402

TW_TOKEN = "robust-it-twilio-7c1e"
ADMIN = "robust-it-admin-5d2b"
PUBLIC = "https://hooks.example.com/webhooks/"


def make_dlrd():
    sig = {"scheme": "twilio", "public_url": PUBLIC + "tw",
           "secrets": ["env:DLRD_IT_TW"]}
    sources = {
        "tw": {"format": "twilio-messaging", "signature": sig,
               "fallback": {"provider": "twilio",
                            "chain": ["sms", "whatsapp"],
                            "deadline_s": {"sms": 86400, "whatsapp": 86400},
                            "max_steps": 2}},
    }
    extra = {
        "admin_token": "env:DLRD_IT_ADMIN",
        # Never called: no test here makes a fallback job.
        "providers": {"twilio": {
            "base_url": "https://127.0.0.1:9", "account_sid": "AC" + "0" * 32,
            "auth_token": "env:DLRD_IT_ADMIN", "service_sid": "VA" + "0" * 32}},
    }
    return h.Dlrd(sources, {"DLRD_IT_TW": TW_TOKEN, "DLRD_IT_ADMIN": ADMIN},
                  extra_config=extra)


class Robustness(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = make_dlrd()
        cls.addClassCleanup(cls.d.cleanup)
        cls.d.start()

    def admin(self, method, path, token=ADMIN, body=b"", headers=()):
        hdrs = list(headers)
        if token is not None:
            hdrs.append(("Authorization", "Bearer " + token))
        return h.request(self.d.admin_port, method, path, hdrs, body)

    def assertAlive(self):
        self.assertTrue(self.d.running(), self.d.log_tail())
        self.assertEqual(h.http_get(self.d.admin_port, "/healthz").status, 200)
        self.assertEqual(h.http_get(self.d.port, "/webhooks/tw").status, 405)

    def internal_errors(self):
        m = h.parse_metrics(h.http_get(self.d.admin_port, "/metrics")
                            .body.decode())[0]
        return {dict(k[1])["where"]: v for k, v in m.items()
                if k[0] == "dlrd_internal_errors_total"}

    def test_unknown_v1_paths_are_404_not_a_crash(self):
        for path in ["/v1/x", "/v1/", "/v1/verificationsABC",
                     "/v1/verifications/", "/v1/verifications/a/b"]:
            r = self.admin("GET", path)
            self.assertEqual(r.status, 404, (path, r))
            self.assertAlive()
        # The real route still answers.
        self.assertEqual(self.admin("GET", "/v1/verifications/nope").status,
                         404)
        self.assertEqual(self.admin("GET", "/v1/verifications/nope").json(),
                         {"error": "not found"})

    def test_invalid_utf8_in_a_stats_parameter_is_a_400(self):
        for q in ["by=%FF", "by=%C3%28", "since=%FF", "to=%ED%A0%80",
                  "%FF=1"]:
            r = self.admin("GET", "/v1/stats?" + q)
            self.assertEqual(r.status, 400, (q, r))
            json.loads(r.body)  # well-formed JSON, not a truncated body
            self.assertAlive()

    def test_a_signed_callback_with_invalid_utf8_does_not_poison_stats(self):
        params = {"MessageSid": "SM" + "f" * 32, "MessageStatus": "failed",
                  "To": h.TEST_E164, "From": "+12025550142",
                  "AccountSid": "AC" + "0" * 32}
        form = urllib.parse.urlencode(params) + "&ErrorCode=%FF%FE"
        # Twilio signs the decoded values: here the raw bytes FF FE.
        signed = dict(params)
        signed["ErrorCode"] = b"\xff\xfe"
        sig = h.sign_twilio(TW_TOKEN, PUBLIC + "tw", signed)
        r = h.request(self.d.port, "POST", "/webhooks/tw",
                      [("Content-Type", "application/x-www-form-urlencoded"),
                       ("X-Twilio-Signature", sig)], form.encode())
        self.assertEqual(r.status, 200, r)
        with h.closing_db(self.d.db_path) as c:
            code = c.execute("SELECT CAST(error_code AS BLOB) FROM"
                             " delivery_events WHERE verification_id=?",
                             (params["MessageSid"],)).fetchone()[0]
            raw = c.execute("SELECT body FROM raw_requests ORDER BY id DESC"
                            " LIMIT 1").fetchone()[0]
        # Shown values are valid UTF-8; the raw request keeps the bytes.
        self.assertEqual(code, "\ufffd\ufffd".encode())  # FF, FE
        self.assertIn(b"ErrorCode=%FF%FE", bytes(raw))

        for path in ["/v1/stats", "/v1/stats?by=provider,channel",
                     "/v1/stats?series=hourly"]:
            r = self.admin("GET", path)
            self.assertEqual(r.status, 200, (path, r))
            json.loads(r.body)
        r = self.admin("GET", "/v1/verifications/" + params["MessageSid"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["events"][0]["error_code"], "\ufffd\ufffd")
        out = subprocess.run([self.d.binary, "stats", "--db", self.d.db_path,
                              "--format", "json"], capture_output=True,
                             timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        json.loads(out.stdout)
        self.assertAlive()

    def test_rows_stored_before_the_fix_still_render(self):
        # A database poisoned by an older dlrd: invalid bytes in stored text.
        hour = int(time.time() * 1000) // 3600000 * 3600000
        with h.closing_db(self.d.db_path) as c:
            c.execute("INSERT INTO stats_errors VALUES (?, 'tw', 'twilio',"
                      " 'sms', 'GB', CAST(X'FFFE30' AS TEXT), 1)", (hour,))
            c.commit()
        r = self.admin("GET", "/v1/stats?by=source")
        self.assertEqual(r.status, 200, r)
        # The bad bytes come out replaced by U+FFFD, not as an abort.
        self.assertIn("\ufffd0".encode(), r.body)
        r = self.admin("GET", "/v1/stats")
        self.assertEqual(r.status, 200, r)
        json.loads(r.body)
        self.assertAlive()

    def test_head_answers_carry_no_body(self):
        cases = [(self.d.admin_port, "/healthz", ()),
                 (self.d.admin_port, "/metrics", ()),
                 (self.d.admin_port, "/v1/stats",
                  (("Authorization", "Bearer " + ADMIN),)),
                 (self.d.admin_port, "/v1/stats", ()),  # 401
                 (self.d.admin_port, "/nope", ()),      # 404
                 (self.d.port, "/webhooks/tw", ())]     # 405
        for port, path, hdrs in cases:
            conn = h.KeepAliveConn(port)
            try:
                head = h.build_request("HEAD", path, list(hdrs))
                get = h.build_request("GET", "/healthz" if port ==
                                      self.d.admin_port else "/webhooks/tw")
                conn.send(head + get)
                data = b""
                while data.count(b"HTTP/1.1 ") < 2 or not data.endswith(
                        (b"ok\n", b"}\n")):
                    chunk = conn.sock.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            finally:
                conn.close()
            header_end = data.index(b"\r\n\r\n") + 4
            self.assertTrue(data[header_end:].startswith(b"HTTP/1.1 "),
                            (path, data[:header_end + 40]))
            self.assertIn(b"content-length:", data[:header_end].lower())

    def test_mutated_requests_on_both_listeners_leave_it_serving(self):
        rng = random.Random(20261205)
        seeds = [
            h.build_request("GET", "/v1/stats?by=channel&since=24h",
                            [("Authorization", "Bearer " + ADMIN)]),
            h.build_request("GET", "/v1/verifications/SMx",
                            [("Authorization", "Bearer " + ADMIN)]),
            h.build_request("POST", "/v1/verifications",
                            [("Authorization", "Bearer " + ADMIN),
                             ("Content-Type", "application/json")],
                            b'{"verification_id":"a","source":"tw",'
                            b'"recipient":"+447700900123","channel":"sms"}'),
            h.build_request("GET", "/metrics"),
            h.build_request("HEAD", "/readyz"),
        ]
        for i in range(600):
            raw = bytearray(rng.choice(seeds))
            for _ in range(rng.randint(1, 8)):
                op = rng.random()
                pos = rng.randrange(len(raw))
                if op < 0.4:
                    raw[pos] = rng.randrange(256)
                elif op < 0.7:
                    raw[pos:pos] = bytes([rng.choice(b"%/?&=\xff\x00.")])
                else:
                    del raw[pos]
            port = self.d.admin_port if i % 2 else self.d.port
            try:
                h.exchange(port, bytes(raw), idle_timeout=0.2,
                           total_timeout=2.0)
            except OSError:
                pass
            if i % 100 == 99:
                self.assertAlive()
        self.assertAlive()
        # A 500 would be a bug that the barrier caught: report it.
        self.assertEqual(sum(self.internal_errors().values()), 0,
                         self.d.log_tail())

    def test_internal_error_series_exist_from_the_first_scrape(self):
        errors = self.internal_errors()
        for where in ["public_handler", "admin_handler", "admin_task",
                      "io_thread", "ingest_writer", "dispatcher",
                      "retention"]:
            self.assertIn(where, errors)


if __name__ == "__main__":
    h.main()
