#!/usr/bin/env python3
"""Fallback engine end to end: dlrd + the mock provider over real TLS.

dlrd runs with a Twilio provider pointed at tests/mock_provider (a test CA
in providers.twilio.ca_file) and two sources that both normalize to
provider "twilio":
  tw  twilio-messaging (SMS status callbacks) with fallback
      sms -> whatsapp -> voice, deadlines sms 2 s, whatsapp 2 s, voice 5 s;
  tv  twilio-verify-events (Verify Events for the fallback sends, whose
      data.verification_sid is the VE id the mock returned).
What is asserted is what a user of dlrd would notice: which sends reach the
provider (the mock's request log), when, how often, and what
GET /v1/verifications/{id} and /metrics say.

Recipients are in Ofcom's drama range (+44 7700 900xxx); the last four
digits select the mock's behaviour (tests/mock_provider/README.md):
0011-0020 accepted, 0400 invalid, 0429 rate limited, 0504 slow, 0505
reset after accepting.

Classes:
  FallbackEndToEnd  one dlrd + mock: tests 1-6 and 9 of the issue (run
                    again on PostgreSQL by test_postgres_fallback.py);
  CrashRecovery     kill -9 while a send is in flight, restart on the same
                    database: the job completes with at most one duplicate;
  ShutdownMidBurst  SIGTERM in the middle of a burst of sends, restart on
                    the same database: every code is sent exactly once;
  UntrustedProvider dlrd trusts another CA than the mock's: no send is
                    accepted, connection errors are counted, job dead.
"""

import hashlib
import json
import os
import re
import sys
import threading
import time
import unittest
import urllib.parse
import uuid

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "mock_provider"))
import dlrd_harness as h  # noqa: E402
from mock_provider import MockProvider, make_test_ca  # noqa: E402

WEBHOOK_TOKEN = "twilio-it-webhook-token-5c1e"   # X-Twilio-Signature key
ADMIN_TOKEN = "fallback-it-admin-token-7d20a9"   # >= 16 chars
PUBLIC_TW = "https://hooks.example.com/webhooks/tw"
PUBLIC_TV = "https://hooks.example.com/webhooks/tv"
DEADLINE_S = {"sms": 2, "whatsapp": 2, "voice": 5}
REQUEST_TIMEOUT_MS = 1000
# outbox.in_flight_lease_ms: a job a dead process left in_flight is
# reclaimed this long after its claim (CrashRecovery waits for it).
LEASE_MS = 1500
RETRY_AFTER_S = 1

VERIFY_MESSAGE = "com.twilio.accountsecurity.verify.message."
RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def number(last3):
    """A fictional UK mobile: +44 7700 900<last3>."""
    return "+447700900%03d" % last3


def new_sid(prefix):
    return prefix + uuid.uuid4().hex


# --------------------------------------------------------------------------
# Twilio signing (X-Twilio-Signature: base64(HMAC-SHA1(token, url [+params])))


def twilio_signature(url, params=None):
    return h.sign_twilio(WEBHOOK_TOKEN, url, params)


def sms_status_params(message_sid, to, status="failed", error_code="30008"):
    params = {"MessageSid": message_sid, "SmsSid": message_sid,
              "MessageStatus": status, "SmsStatus": status,
              "To": to, "From": "+12025550142",
              "AccountSid": "AC" + "0" * 32, "ApiVersion": "2010-04-01"}
    if error_code:
        params["ErrorCode"] = error_code
    return params


def verify_message_event(verification_sid, to, status, channel="WHATSAPP",
                         error_code=None):
    data = {"account_sid": "AC" + "0" * 32, "service_sid": "VAmock0001",
            "verification_sid": verification_sid,
            "attempt_sid": new_sid("VL"), "channel": channel,
            "message_status": status.upper(), "to": to,
            "created_at": "2026-01-01T00:00:00Z"}
    if error_code is not None:
        data["error_code"] = error_code
    return {"specversion": "1.0", "type": VERIFY_MESSAGE + status,
            "source": "/v2/Services/VAmock0001/Verifications/"
                      + verification_sid,
            "id": new_sid("EV"), "dataschema":
                "https://events-schemas.twilio.com/"
                "AccountSecurity.VerifyEventStreamEvent/1",
            "datacontenttype": "application/json",
            "time": "2026-01-01T00:00:01Z", "data": data}


# --------------------------------------------------------------------------
# Config


def provider_config(mock, ca_file, request_timeout_ms=REQUEST_TIMEOUT_MS):
    creds = mock.credentials["twilio"]
    return {"base_url": mock.base_url, "ca_file": ca_file,
            "account_sid": creds["account_sid"],
            "auth_token": "env:DLRD_IT_TWILIO_SEND",
            "service_sid": creds["service_sid"],
            "request_timeout_ms": request_timeout_ms}


def make_dlrd(mock, ca_file, workdir=None,
              request_timeout_ms=REQUEST_TIMEOUT_MS, database=None):
    sources = {
        "tw": {"format": "twilio-messaging",
               "signature": {"scheme": "twilio", "public_url": PUBLIC_TW,
                             "secrets": ["env:DLRD_IT_TWILIO"]},
               "fallback": {"provider": "twilio",
                            "chain": ["sms", "whatsapp", "voice"],
                            "deadline_s": dict(DEADLINE_S),
                            "max_steps": 3}},
        "tv": {"format": "twilio-verify-events",
               "signature": {"scheme": "twilio", "public_url": PUBLIC_TV,
                             "secrets": ["env:DLRD_IT_TWILIO"]}},
    }
    extra = {
        "admin_token": "env:DLRD_IT_ADMIN",
        "providers": {"twilio": provider_config(mock, ca_file,
                                                request_timeout_ms)},
        "outbox": {"poll_ms": 50, "backoff_base_ms": 100,
                   "backoff_cap_ms": 500, "max_attempts": 3,
                   "in_flight_lease_ms": LEASE_MS},
    }
    secrets = {"DLRD_IT_TWILIO": WEBHOOK_TOKEN,
               "DLRD_IT_ADMIN": ADMIN_TOKEN,
               "DLRD_IT_TWILIO_SEND": mock.credentials["twilio"]["auth_token"]}
    return h.Dlrd(sources, secrets, workdir=workdir, extra_config=extra,
                  database=database)


# --------------------------------------------------------------------------
# Talking to dlrd


def post_sms_status(d, params):
    """Posts a signed twilio-messaging callback to /webhooks/tw; returns
    (response, wall-clock time the response was read)."""
    body = urllib.parse.urlencode(params).encode()
    headers = [("Content-Type", "application/x-www-form-urlencoded"),
               ("X-Twilio-Signature", twilio_signature(PUBLIC_TW, params))]
    r = h.request(d.port, "POST", "/webhooks/tw", headers, body)
    return r, time.time()


def post_verify_events(d, events):
    """Posts a signed Verify Events batch (Event Streams style: the URL
    carries bodySHA256) to /webhooks/tv; returns (response, ack time)."""
    body = json.dumps(events, separators=(",", ":")).encode()
    query = "?bodySHA256=" + hashlib.sha256(body).hexdigest()
    headers = [("Content-Type", "application/json"),
               ("X-Twilio-Signature", twilio_signature(PUBLIC_TV + query))]
    r = h.request(d.port, "POST", "/webhooks/tv" + query, headers, body)
    return r, time.time()


def admin(d, method, path, doc=None, token=ADMIN_TOKEN):
    headers = []
    if token is not None:
        headers.append(("Authorization", "Bearer " + token))
    body = b""
    if doc is not None:
        body = json.dumps(doc).encode()
        headers.append(("Content-Type", "application/json"))
    return h.request(d.admin_port, method, path, headers, body)


def chain(d, vid):
    r = admin(d, "GET", "/v1/verifications/" + urllib.parse.quote(vid))
    if r.status != 200:
        raise AssertionError("GET /v1/verifications/%s: %r" % (vid, r))
    return r.json()


def wait_until(fn, timeout, interval=0.02, what="condition"):
    """Polls fn() until it returns a truthy value; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s"
                                 % (timeout, what))
        time.sleep(interval)


def job(view, step):
    for j in view["jobs"]:
        if j["step"] == step:
            return j
    return None


def step_of(view, step):
    for s in view["steps"]:
        if s["step"] == step:
            return s
    return None


def wait_job_state(d, root, step, states, timeout):
    """Polls the chain view until job `step` is in one of `states`;
    returns the view."""
    def ready():
        v = chain(d, root)
        return v if (job(v, step) or {}).get("state") in states else None
    return wait_until(ready, timeout, what="job %d in %s" % (step, states))


def wait_outbox(d, root, step, states, timeout):
    """Polls the outbox table until job `step` is in one of `states`;
    returns all rows of the root."""
    def ready():
        rows = outbox_rows(d, root)
        return rows if any(r[0] == step and r[2] in states
                           for r in rows) else None
    return wait_until(ready, timeout, what="outbox step %d in %s"
                      % (step, states))


OUTBOX_COLUMNS = ("step", "channel", "state", "attempts", "recovered",
                  "last_error", "provider_ref")


def outbox_rows(d, root_id):
    """The root's outbox rows as tuples of OUTBOX_COLUMNS, by step, from
    the SQLite file or the PostgreSQL database (one JSON object a row, so
    no value can break the split)."""
    cols = ", ".join(OUTBOX_COLUMNS)
    if d.db_path.startswith("postgresql://"):
        if not re.fullmatch(r"[A-Za-z0-9_-]+", root_id):
            raise AssertionError("unexpected root id %r" % root_id)
        rows = h.psql(d.db_path,
                      "SELECT row_to_json(t) FROM (SELECT %s FROM outbox"
                      " WHERE source = 'tw' AND root_id = '%s'"
                      " ORDER BY step) t" % (cols, root_id))
        return [tuple(json.loads("|".join(r))[c] for c in OUTBOX_COLUMNS)
                for r in rows]
    with h.closing_db(d.db_path) as c:
        return c.execute(
            "SELECT %s FROM outbox WHERE source = 'tw' AND root_id = ?"
            " ORDER BY step" % cols, (root_id,)).fetchall()


class _Base(unittest.TestCase):
    d = None
    mock = None

    @classmethod
    def start_world(cls, mock_options, **dlrd_options):
        """A test CA, the mock provider with `mock_options` and a dlrd
        against it, all stopped when the class is done."""
        tmp = h.make_tempdir("dlrd-fallback-ca-")
        cls.addClassCleanup(tmp.cleanup)
        cls.ca = make_test_ca(tmp.name)
        cls.mock = MockProvider(cls.ca.server_cert, cls.ca.server_key,
                                **mock_options)
        cls.mock.start()
        cls.addClassCleanup(cls.mock.stop)
        cls.d = make_dlrd(cls.mock, cls.ca.ca_cert, **dlrd_options)
        cls.addClassCleanup(cls.d.cleanup)
        cls.d.start()

    def sends(self, recipient, channel=None, mocks=None):
        out = []
        for m in mocks or [self.mock]:
            out += m.requests(provider="twilio", recipient=recipient,
                              channel=channel)
        return sorted(out, key=lambda r: r["time"])

    def fail_sms(self, recipient, message_sid=None):
        """An SMS FAILED status callback for a new OTP to `recipient`."""
        sid = message_sid or new_sid("SM")
        r, ack = post_sms_status(self.d, sms_status_params(sid, recipient))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"status": "accepted"})
        return sid, ack

    def debug(self):
        return "\ndlrd log tail:\n" + self.d.log_tail(30)


# --------------------------------------------------------------------------


class FallbackEndToEnd(_Base):
    @classmethod
    def setUpClass(cls):
        cls.start_world({"retry_after": RETRY_AFTER_S})

    # 1
    def test_1_sms_failure_sends_whatsapp_within_a_second(self):
        to = number(11)
        root, ack = self.fail_sms(to)
        sends = self.mock.wait_for_requests(1, timeout=3, recipient=to)
        latency = sends[0]["time"] - ack
        print("\n  [1] ack -> whatsapp send: %.3f s" % latency)
        self.assertEqual(sends[0]["channel"], "whatsapp")
        self.assertIn("Channel=whatsapp", sends[0]["body"])
        self.assertEqual(sends[0]["outcome"], "accepted")
        self.assertLess(latency, 1.0)
        # Exactly one (its own deadline of 2 s may later bring voice): the
        # job is accepted after one attempt, so no other send can follow.
        view = wait_job_state(self.d, root, 1, ("accepted",), 2)
        self.assertEqual(job(view, 1)["attempts"], 1)
        self.assertEqual(len(self.sends(to, "whatsapp")), 1)
        self.assertEqual(job(view, 1)["provider_ref"],
                         sends[0]["provider_id"])

    # 2
    def test_2_silence_escalates_at_the_deadline(self):
        to = number(12)
        root = new_sid("SM")
        t0 = time.time()
        r = admin(self.d, "POST", "/v1/verifications",
                  {"verification_id": root, "source": "tw",
                   "recipient": to, "channel": "sms"})
        t1 = time.time()
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json(), {"verification_id": root, "created": True})
        deadline = DEADLINE_S["sms"]
        sends = self.mock.wait_for_requests(1, timeout=deadline + 2,
                                            recipient=to)
        # dlrd took the registration's time somewhere in [t0, t1]: bound
        # each side by the end that makes the assertion strict.
        dt_early = sends[0]["time"] - t1
        dt_late = sends[0]["time"] - t0
        print("\n  [2] registration -> whatsapp send: %.3f-%.3f s "
              "(deadline %d s)" % (dt_early, dt_late, deadline))
        self.assertEqual(sends[0]["channel"], "whatsapp")
        self.assertGreaterEqual(dt_early, deadline - 0.2)
        self.assertLessEqual(dt_late, deadline + 1.0)
        view = chain(self.d, root)
        self.assertEqual(view["decisions"][0]["trigger"], "deadline")
        self.assertEqual(view["decisions"][0]["result"], "escalate")
        self.assertEqual(view["decisions"][0]["to"], "whatsapp")

    # 3
    def test_3_whatsapp_failure_event_escalates_to_voice(self):
        to = number(13)
        root, _ = self.fail_sms(to)
        wa = self.mock.wait_for_requests(1, timeout=3, recipient=to)[0]
        self.assertEqual(wa["channel"], "whatsapp")
        ve = wa["provider_id"]
        self.assertTrue(ve.startswith("VE"), ve)
        # dlrd must have stored the VE id on step 1 before the event comes.
        wait_until(lambda: (step_of(chain(self.d, root), 1) or {}).get(
            "verification_id") == ve, 2, what="step 1 has the VE id")
        r, ack = post_verify_events(
            self.d, [verify_message_event(ve, to, "failed",
                                          error_code=63016)])
        self.assertEqual(r.status, 200, r)
        voice = self.mock.wait_for_requests(1, timeout=3, recipient=to,
                                            channel="voice")[0]
        latency = voice["time"] - ack
        print("\n  [3] whatsapp failed event ack -> voice send: %.3f s"
              % latency)
        self.assertIn("Channel=call", voice["body"])
        self.assertLess(latency, 1.0)
        # The event (not step 1's 2 s deadline) found step 1 by
        # (provider, VE id) and caused the escalation.
        view = chain(self.d, ve)   # {id} may be any step's provider id
        self.assertEqual(view["verification_id"], root)
        self.assertEqual(step_of(view, 1)["status"], "failed")
        d1 = [x for x in view["decisions"] if x["step"] == 1]
        self.assertEqual(len(d1), 1, view["decisions"])
        self.assertEqual((d1[0]["trigger"], d1[0]["from"], d1[0]["to"],
                          d1[0]["result"]),
                         ("event", "whatsapp", "voice", "escalate"))
        self.assertIn(ve, [e["verification_id"] for e in view["events"]])
        self.assertEqual(len(self.sends(to, "whatsapp")), 1)
        self.assertEqual(len(self.sends(to, "voice")), 1)

    # 4
    def test_4_duplicate_failure_callbacks_send_once(self):
        to = number(14)
        sid = new_sid("SM")
        params = sms_status_params(sid, to)
        results = [None] * 3

        def post(i):
            results[i] = post_sms_status(self.d, params)[0]
        threads = [threading.Thread(target=post, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        self.assertEqual([r.status for r in results], [200] * 3, results)
        bodies = sorted(r.json()["status"] for r in results)
        self.assertEqual(bodies, ["accepted", "duplicate", "duplicate"])
        self.mock.wait_for_requests(1, timeout=3, recipient=to)
        # The only job is accepted after one attempt: nothing is left that
        # could send again (no fixed sleep hoping a second send shows).
        rows = wait_outbox(self.d, sid, 1, ("accepted",), 3)
        self.assertEqual([(r[0], r[2], r[3]) for r in rows],
                         [(1, "accepted", 1)])
        print("\n  [4] 3 concurrent identical callbacks -> %s; sends: %d"
              % (bodies, len(self.sends(to))))
        self.assertEqual(len(self.sends(to, "whatsapp")), 1)
        self.assertEqual(len(self.sends(to)), 1)
        self.assertEqual(len(outbox_rows(self.d, sid)), 1)

    # 5
    def test_5_rate_limited_send_waits_for_retry_after(self):
        to = number(429)
        self.fail_sms(to)
        sends = self.mock.wait_for_requests(2, timeout=RETRY_AFTER_S + 3,
                                            recipient=to, channel="whatsapp")
        self.assertEqual([s["outcome"] for s in sends[:2]],
                         ["rate_limited", "rate_limited"])
        gap = sends[1]["time"] - sends[0]["time"]
        print("\n  [5] 429 (Retry-After %d s): first -> second attempt %.3f s"
              % (RETRY_AFTER_S, gap))
        self.assertGreaterEqual(gap, RETRY_AFTER_S)
        self.assertLess(gap, RETRY_AFTER_S + 1.0)

    # 6
    def test_6_invalid_number_is_dead_without_retry(self):
        to = number(400)
        root, _ = self.fail_sms(to)
        sends = self.mock.wait_for_requests(1, timeout=3, recipient=to)
        self.assertEqual(sends[0]["outcome"], "invalid")
        wait_job_state(self.d, root, 1, ("dead",), 2)
        time.sleep(0.6)  # longer than the backoff cap: a retry would show
        view = chain(self.d, root)
        j = job(view, 1)
        print("\n  [6] invalid number: %d attempt(s), job %s, last_error %r"
              % (j["attempts"], j["state"], j["last_error"]))
        self.assertEqual(len(self.sends(to)), 1, self.sends(to))
        self.assertEqual(j["state"], "dead")
        self.assertEqual(j["attempts"], 1)
        self.assertTrue(view["invalid_number"])
        self.assertEqual(view["outcome"], "failed")
        self.assertEqual(len(view["jobs"]), 1)  # no voice either
        skips = [x for x in view["decisions"] if x["result"] == "skip"]
        self.assertEqual([x["reason"] for x in skips], ["invalid_number"])

    # Not in the list: docs/reliability.md §5.3 and
    # dispatcher.h ("A provider without an idempotency key gets at most one
    # such re-send per job; the next unknown outcome escalates instead").
    # 0505: the mock takes the request (assigns a VE id), then resets the
    # connection: an unknown outcome each time. Twilio Verify has no
    # idempotency key, so each re-send may be one more code to the user.
    def test_unknown_outcome_is_resent_at_most_once(self):
        to = number(505)
        root, _ = self.fail_sms(to)
        rows = wait_outbox(self.d, root, 1, ("dead", "accepted"), 5)
        sends = self.sends(to, "whatsapp")
        print("\n  [unknown outcome] whatsapp sends taken by the provider: %d"
              % len(sends))
        self.assertTrue(all(s["outcome"] == "reset" for s in sends), sends)
        # Exactly one re-send: the first reset is re-sent, the second
        # escalates (the job dies after two attempts).
        self.assertEqual(len(sends), 2, sends)
        self.assertEqual((rows[0][0], rows[0][2], rows[0][3]),
                         (1, "dead", 2), rows)

    # 9
    def test_9_chain_view_needs_the_token(self):
        to = number(19)
        root, _ = self.fail_sms(to)
        wa = self.mock.wait_for_requests(1, timeout=3, recipient=to)[0]
        path = "/v1/verifications/" + root
        r = admin(self.d, "GET", path, token=None)
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.header("WWW-Authenticate"), "Bearer")
        self.assertNotIn(to.encode(), r.body)
        r = admin(self.d, "GET", path, token=ADMIN_TOKEN[:-1] + "x")
        self.assertEqual(r.status, 401, r)
        r = admin(self.d, "POST", "/v1/verifications",
                  {"verification_id": new_sid("SM"), "source": "tw",
                   "recipient": number(20), "channel": "sms"}, token=None)
        self.assertEqual(r.status, 401, r)
        self.assertEqual(admin(self.d, "GET", "/v1/verifications/SMnope")
                         .status, 404)
        # An id with a NUL byte: refused on either store, not a 503.
        r = admin(self.d, "POST", "/v1/verifications",
                  {"verification_id": "SM\u0000x", "source": "tw",
                   "recipient": number(20), "channel": "sms"})
        self.assertEqual(r.status, 400, r)
        self.assertIn(b"NUL", r.body)
        view = wait_job_state(self.d, root, 1, ("accepted",), 2)
        for key in ("steps", "jobs", "decisions", "events", "outcome"):
            self.assertIn(key, view)
        self.assertEqual((view["verification_id"], view["source"],
                          view["recipient"], view["country"]),
                         (root, "tw", to, "GB"))
        self.assertEqual(view["outcome"], "pending")
        s0, s1 = view["steps"][0], view["steps"][1]
        self.assertEqual((s0["step"], s0["channel"], s0["status"],
                          s0["verification_id"]), (0, "sms", "failed", root))
        self.assertEqual((s1["step"], s1["channel"], s1["status"],
                          s1["verification_id"]),
                         (1, "whatsapp", "sent", wa["provider_id"]))
        j = view["jobs"][0]
        self.assertEqual((j["step"], j["channel"], j["state"], j["attempts"],
                          j["provider_ref"]),
                         (1, "whatsapp", "accepted", 1, wa["provider_id"]))
        dec = view["decisions"][0]
        self.assertEqual((dec["step"], dec["trigger"], dec["from"], dec["to"],
                          dec["result"]),
                         (0, "event", "sms", "whatsapp", "escalate"))
        self.assertEqual([(e["verification_id"], e["status"])
                          for e in view["events"]], [(root, "failed")])
        for ts in (view["created_at"], s1["sent_at"], s1["deadline_at"],
                   j["created_at"], dec["at"]):
            self.assertRegex(ts, RFC3339_MS)


# --------------------------------------------------------------------------


class CrashRecovery(_Base):
    """kill -9 while the WhatsApp send is in flight (the mock recorded it
    and holds the reply: 0504 answers after 5 s, dlrd's request timeout is
    1 s). The provider is then brought back on the same port answering at
    once (a fresh MockProvider with slow_delay_s=0: the mock has no
    per-request switch), and dlrd restarts on the same database: once its
    lease (LEASE_MS after the claim) has run out, the in_flight job is an
    unknown outcome, re-sent once and accepted."""

    @classmethod
    def setUpClass(cls):
        cls.mock2 = None
        cls.start_world({"slow_delay_s": 5.0})

    def test_7_kill_9_with_send_in_flight_then_restart(self):
        to = number(504)
        root, _ = self.fail_sms(to)
        first = self.mock.wait_for_requests(1, timeout=3, recipient=to)[0]
        self.d.kill()  # kill -9, well within the 1 s request timeout
        killed_after = time.time() - first["time"]
        self.assertEqual(first["channel"], "whatsapp")
        self.assertEqual(first["outcome"], "slow")
        rows = outbox_rows(self.d, root)
        self.assertEqual([(r[0], r[2], r[3]) for r in rows],
                         [(1, "in_flight", 1)],
                         "the claim must be committed before the call")

        # The provider comes back (same port), answering normally.
        port = self.mock.port
        self.mock.stop()
        mock2 = MockProvider(self.ca.server_cert, self.ca.server_key,
                             port=port, slow_delay_s=0.0)
        mock2.start()
        self.addCleanup(mock2.stop)

        t_restart = time.time()
        self.d.start()  # same workdir, same database
        resent = mock2.wait_for_requests(1, timeout=3, recipient=to)[0]
        self.assertEqual(resent["channel"], "whatsapp")
        rows = wait_outbox(self.d, root, 1, ("accepted",), 2)
        step, channel, state, attempts, recovered, _, ref = rows[0]
        total = len(self.sends(to, "whatsapp", [self.mock, mock2]))
        print("\n  [7] killed %.3f s after the send reached the mock; "
              "re-send %.3f s after restart; sends for step 1: %d; "
              "attempts %d" % (killed_after, resent["time"] - t_restart,
                               total, attempts))
        self.assertLess(killed_after, REQUEST_TIMEOUT_MS / 1000.0)
        self.assertEqual((step, channel, state, recovered),
                         (1, "whatsapp", "accepted", 1))
        self.assertEqual(ref, resent["provider_id"])
        self.assertLessEqual(total, 2)
        self.assertEqual(total, 2)  # the re-send did happen
        self.assertIn("outbox_recovered", self.d.log_text(self.d.starts))
        view = chain(self.d, root)
        self.assertEqual(step_of(view, 1)["verification_id"],
                         resent["provider_id"])


# --------------------------------------------------------------------------


class ShutdownMidBurst(_Base):
    """A burst of SMS failures, each escalating to a WhatsApp send that the
    mock answers (accepted) only after ACCEPT_DELAY_S; SIGTERM once a few
    sends are in flight; then a restart on the same database. Shutdown
    must wait for the replies of the sends in flight and record them, so
    the restart sends nothing again: every acknowledged OTP gets exactly
    one WhatsApp code, those claimed before SIGTERM included."""

    ACCEPT_DELAY_S = 1.0
    BURST = 12

    @classmethod
    def setUpClass(cls):
        # The request timeout must outlast the mock's delay.
        cls.start_world({"accept_delay_s": cls.ACCEPT_DELAY_S},
                        request_timeout_ms=5000)

    def test_10_sigterm_mid_burst_then_restart_sends_each_code_once(self):
        recipients = [number(30 + i) for i in range(self.BURST)]
        acked = {}  # recipient -> root id, for callbacks answered 200

        def burst():
            for to in recipients:
                root = new_sid("SM")
                try:
                    r, _ = post_sms_status(self.d, sms_status_params(root, to))
                except OSError:
                    continue  # shutting down: refused, not acknowledged
                if r.status == 200:
                    acked[to] = root
                time.sleep(0.05)  # paced, so SIGTERM lands mid-burst

        t = threading.Thread(target=burst)
        t.start()
        self.mock.wait_for_requests(4, timeout=5, channel="whatsapp")
        t_term = time.time()
        self.d.terminate()
        t.join(15)
        self.assertFalse(t.is_alive())
        rc = self.d.wait(20)
        t_exit = time.time()
        self.assertEqual(rc, 0, self.debug())
        self.d.stop()  # already exited: no second signal, just reaps
        in_flight = [r for r in self.mock.requests(channel="whatsapp")
                     if r["time"] < t_term]
        unanswered = [r["recipient"] for r in in_flight
                      if r.get("replied", t_exit + 1) > t_exit]
        rows = {to: outbox_rows(self.d, root) for to, root in acked.items()}
        left = sorted(to for to, rs in rows.items()
                      if any(r[2] == "in_flight" for r in rs))
        print("\n  [10] %d callbacks acknowledged, %d sends in flight at "
              "SIGTERM, exit %.3f s after it; unanswered at exit: %d; jobs "
              "left in_flight: %d" % (len(acked), len(in_flight),
                                      t_exit - t_term, len(unanswered),
                                      len(left)))
        self.assertGreaterEqual(len(in_flight), 4)
        # Every send claimed before SIGTERM was waited for and recorded.
        self.assertEqual(unanswered, [], "replies dropped at shutdown")
        self.assertEqual(left, [], "jobs left in_flight at shutdown")
        self.assertIn("shutdown_complete", self.d.log_text(self.d.starts))

        self.d.start()  # same workdir, same database
        for to, root in acked.items():
            wait_outbox(self.d, root, 1, ("accepted",), 15)
        # An accepted job is never claimed again: the counts are final.
        for to, root in sorted(acked.items()):
            _, _, state, attempts, recovered, _, ref = [
                r for r in outbox_rows(self.d, root) if r[0] == 1][0]
            sends = self.sends(to, "whatsapp")
            self.assertEqual(len(sends), 1,
                             "%s got %d WhatsApp codes" % (to, len(sends)))
            self.assertEqual((state, attempts, recovered),
                             ("accepted", 1, 0), to)
            self.assertEqual(ref, sends[0]["provider_id"])
        self.assertNotIn("outbox_recovered", self.d.log_text(self.d.starts))


# --------------------------------------------------------------------------


class UntrustedProvider(_Base):
    """dlrd's providers.twilio.ca_file is another CA than the one that
    signed the mock's certificate: the handshake is refused, nothing is
    sent, every attempt counts as a connection error, and the job dies
    after outbox.max_attempts."""

    @classmethod
    def setUpClass(cls):
        tmp = h.make_tempdir("dlrd-fallback-ca-")
        cls.addClassCleanup(tmp.cleanup)
        cls.ca = make_test_ca(os.path.join(tmp.name, "mock"))
        cls.other = make_test_ca(os.path.join(tmp.name, "other"))
        cls.mock = MockProvider(cls.ca.server_cert, cls.ca.server_key)
        cls.mock.start()
        cls.addClassCleanup(cls.mock.stop)
        cls.d = make_dlrd(cls.mock, cls.other.ca_cert)
        cls.addClassCleanup(cls.d.cleanup)
        cls.d.start()

    def test_8_untrusted_certificate(self):
        to = number(18)
        root, ack = self.fail_sms(to)
        rows = wait_outbox(self.d, root, 1, ("dead",), 5)
        dead_after = time.time() - ack
        step, channel, state, attempts, _, last_error, ref = rows[0]
        samples, _ = h.parse_metrics(self.d.metrics())
        errors = h.metric_sum(samples, "dlrd_provider_request_errors_total",
                              provider="twilio", error_class="connection")
        print("\n  [8] untrusted CA: whatsapp job dead after %d attempts in "
              "%.3f s; connection errors %d; last_error %r"
              % (attempts, dead_after, errors, last_error))
        self.assertEqual((step, channel, state, attempts),
                         (1, "whatsapp", "dead", 3))
        self.assertTrue(last_error.startswith("connection"), last_error)
        self.assertEqual(ref, "")
        self.assertGreaterEqual(errors, 3)
        self.assertEqual(
            h.metric_sum(samples, "dlrd_provider_request_errors_total",
                         provider="twilio", channel="whatsapp",
                         error_class="connection"), 3)
        # The voice step (chain: the next channel) fails the same way.
        rows = wait_outbox(self.d, root, 2, ("dead",), 5)
        self.assertEqual(rows[1][:4], (2, "voice", "dead", 3))
        self.assertEqual(chain(self.d, root)["outcome"], "failed")
        # The handshake never completed: the provider saw no request.
        self.assertEqual(self.mock.requests(), [])
        self.assertEqual(
            h.metric_sum(samples, "dlrd_fallback_sends_total",
                         to_channel="whatsapp", result="sent"), 0)


if __name__ == "__main__":
    h.main()
