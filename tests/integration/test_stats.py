#!/usr/bin/env python3
"""Delivery analytics end to end: GET /v1/stats and `dlrd stats` against
figures this script computes itself from the traffic it sent.

One dlrd (plus the mock provider over TLS, for the fallback sends) with four
sources:
  vn  verifynow (HMAC): sms/whatsapp/voice, provider latency (latencyMs),
      recipient split in countryCode + mobileNumber (not on every event);
  tm  twilio-messaging without fallback: error codes, sms/whatsapp (the
      "whatsapp:" address prefix), country from To;
  tw  twilio-messaging with fallback sms -> whatsapp -> voice (deadlines
      1 day, so only events escalate): registrations through
      POST /v1/verifications (some with sent_at hours in the past, which
      gives `sent` rows in earlier hours and derived latency), an SMS
      failure -> WhatsApp send via the mock -> fallback triggered, and a
      late SMS delivery after that send -> wasted;
  tv  twilio-verify-events: provider latency from created_at/time,
      verification.approved -> verified, and the WhatsApp fallback sends'
      callbacks (-> recovered, derived latency of step 1).

The dataset is generated from a fixed seed (numbers in fictional ranges
only: UK +44 7700 900xxx, NANP 555-01xx, AU +61 491 57x xxx, FR
+33 6 39 98 xx xx). Every callback is posted one at a time, and ~12 % are
re-posted identically later (each must answer "duplicate" and count
nowhere), and a few are posted with a wrong signature (401; counted only
as signature_failures of their source and provider, channel/country ''). The script keeps its own model of what the contract in
include/dlrd/core/stats/stats.h says the figures are (callbacks by event group
and hour; sent/delivered/failed/verified per verification in the group and
hour the store holds for it -- channel of its best event, first non-empty
country, first-seen time; latency histograms with the nearest-rank rule;
top errors by count then code) and compares it EXACTLY with:
  * the API with by=channel,provider,country, by=source, no by, and
    series=hourly (hourly rows before the test's first hour are always
    exact; the current hour's rows only when the run did not cross an hour
    boundary -- received time is dlrd's clock, so callbacks cannot be
    placed in other hours);
  * `dlrd stats --db` as JSON (identical to the API's) and CSV, and
    `--config`, while the daemon runs and after it stopped.
Plus the 401/400 paths and CLI exit 2 on a bad --since.
"""

import csv
import hashlib
import io
import json
import math
import os
import random
import subprocess
import sys
import time
import unittest
import urllib.parse

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "mock_provider"))
import dlrd_harness as h  # noqa: E402
from mock_provider import MockProvider, make_test_ca  # noqa: E402

SEED = 20260126
VN_SECRET = "stats-it-verifynow-secret-91f3"
TW_TOKEN = "stats-it-twilio-token-4be2"
ADMIN_TOKEN = "stats-it-admin-token-0c7d5e"
PUBLIC = "https://hooks.example.com/webhooks/"
HOUR_MS = 3_600_000
BOUNDS = [250, 500, 1000, 2000, 3000, 5000, 7500, 10000, 15000, 20000,
          30000, 45000, 60000, 120000, 300000, 600000, 1800000, 3600000]
NBUCKETS = len(BOUNDS) + 1
DIMS = ("source", "provider", "channel", "country")
RANK = {"unknown": 0, "queued": 1, "sent": 2, "failed": 3, "undelivered": 3,
        "expired": 3, "rejected": 3, "delivered": 4, "read": 5, "verified": 6}

# Fictional numbers: (country, calling code, national-number prefix, width)
RANGES = [("GB", "44", "7700900", 3), ("US", "1", "202555", 4),
          ("CA", "1", "613555", 4), ("AU", "61", "49157", 4),
          ("FR", "33", "63998", 4)]
COUNTRY_WEIGHTS = [40, 25, 10, 10, 15]
MOCK_SPECIAL = {"0400", "0403", "0429", "0503", "0504", "0505"}


def now_ms():
    return int(time.time() * 1000)


def hour_floor(ms):
    return ms - ms % HOUR_MS


def rfc3339(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + \
        ".%03dZ" % (ms % 1000)


def bucket(ms):
    for i, b in enumerate(BOUNDS):
        if ms <= b:
            return i
    return NBUCKETS - 1


def quantile(hist, q):
    n = sum(hist)
    if n == 0:
        return None
    rank = min(max(math.ceil(q * n), 1), n)
    seen = 0
    for i, c in enumerate(hist):
        seen += c
        if seen >= rank:
            return None if i == NBUCKETS - 1 else BOUNDS[i]
    return None


def cpp_round4(v):
    """std::round(v * 10000) / 10000 for v >= 0 (half away from zero)."""
    r = v * 10000.0
    f = math.floor(r)
    return (f + 1 if r - f >= 0.5 else f) / 10000.0


def twilio_signature(url, params=None):
    return h.sign_twilio(TW_TOKEN, url, params)


# --------------------------------------------------------------------------
# The model: what the figures must be, from what was sent.


class Fig:
    def __init__(self):
        self.c = dict(callbacks=0, sent=0, delivered=0, failed=0, verified=0,
                      triggered=0, recovered=0, wasted=0, sigfail=0)
        self.provider = [0] * NBUCKETS
        self.steps = {}
        self.errors = {}

    def add(self, o):
        for k, v in o.c.items():
            self.c[k] += v
        for i in range(NBUCKETS):
            self.provider[i] += o.provider[i]
        for s, hist in o.steps.items():
            mine = self.steps.setdefault(s, [0] * NBUCKETS)
            for i in range(NBUCKETS):
                mine[i] += hist[i]
        for code, n in o.errors.items():
            self.errors[code] = self.errors.get(code, 0) + n

    def empty(self):
        return (not any(self.c.values()) and not any(self.provider)
                and not self.steps and not self.errors)


def latency_json(hist):
    return {"count": sum(hist), "p50_ms": quantile(hist, 0.50),
            "p90_ms": quantile(hist, 0.90), "p99_ms": quantile(hist, 0.99)}


def top_errors(errors, top=5):
    return sorted(errors.items(), key=lambda kv: (-kv[1], kv[0]))[:top]


def figures_json(f):
    c = f.c
    ratio = (lambda n: None if c["sent"] <= 0
             else cpp_round4(n / c["sent"]))
    derived = [0] * NBUCKETS
    for hist in f.steps.values():
        for i in range(NBUCKETS):
            derived[i] += hist[i]
    return {
        "callbacks": c["callbacks"], "sent": c["sent"],
        "delivered": c["delivered"], "failed": c["failed"],
        "verified": c["verified"],
        "delivery_rate": ratio(c["delivered"]),
        "failure_rate": ratio(c["failed"]),
        "conversion": ratio(c["verified"]),
        "latency": latency_json(f.provider),
        "derived_latency": latency_json(derived),
        "time_to_deliver_by_step": {
            str(s): latency_json(hh) for s, hh in sorted(f.steps.items())},
        "fallbacks": {"triggered": c["triggered"],
                      "recovered": c["recovered"], "wasted": c["wasted"]},
        "top_errors": [{"code": k, "count": n}
                       for k, n in top_errors(f.errors)],
        "signature_failures": c["sigfail"],
    }


class Model:
    """Cells keyed (hour_ms, source, provider, channel, country)."""

    def __init__(self):
        self.cells = {}
        self.verifs = {}      # (source, id) -> dict
        self.keys = set()     # (source, dedupe_key) stored
        self.straddled = []   # posts whose hour dlrd may have seen otherwise

    def cell(self, hour, source, provider, channel, country):
        return self.cells.setdefault(
            (hour, source, provider, channel, country), Fig())

    def note_time(self, t0, t1, what):
        if hour_floor(t0) != hour_floor(t1):
            self.straddled.append(what)
        return t0

    def register(self, source, vid, provider, channel, country, sent_at):
        if (source, vid) in self.verifs:
            return False
        self.verifs[(source, vid)] = dict(
            provider=provider, channel=channel, country=country, rank=0,
            first=sent_at)
        return True

    def event(self, ev, t_recv):
        """ev: source, provider, key, vid, channel, status, country,
        latency, error. Returns True when it is new."""
        if (ev["source"], ev["key"]) in self.keys:
            return False
        self.keys.add((ev["source"], ev["key"]))
        hour = hour_floor(t_recv)
        c = self.cell(hour, ev["source"], ev["provider"], ev["channel"],
                      ev["country"])
        c.c["callbacks"] += 1
        if ev.get("latency") is not None and ev["status"] == "delivered":
            c.provider[bucket(ev["latency"])] += 1
        if ev.get("error"):
            c.errors[ev["error"]] = c.errors.get(ev["error"], 0) + 1
        rank = RANK[ev["status"]]
        v = self.verifs.get((ev["source"], ev["vid"]))
        if v is None:
            self.verifs[(ev["source"], ev["vid"])] = dict(
                provider=ev["provider"], channel=ev["channel"],
                country=ev["country"], rank=rank, first=t_recv)
        else:
            if rank > v["rank"]:
                v["rank"] = rank
                v["channel"] = ev["channel"]
            if not v["country"]:
                v["country"] = ev["country"]
        return True

    def signature_failure(self, source, provider, t):
        self.cell(hour_floor(t), source, provider, "", "").c["sigfail"] += 1

    def fallback(self, column, t, source, provider, channel, country,
                 step=None, latency=None):
        c = self.cell(hour_floor(t), source, provider, channel, country)
        if column:
            c.c[column] += 1
        if step is not None:
            hist = c.steps.setdefault(step, [0] * NBUCKETS)
            hist[bucket(latency)] += 1

    def finish(self):
        """Adds the per-verification outcomes; returns all cells."""
        cells = {k: v for k, v in self.cells.items()}
        out = {}
        for k, f in cells.items():
            g = Fig()
            g.add(f)
            out[k] = g
        for (source, _), v in self.verifs.items():
            key = (hour_floor(v["first"]), source, v["provider"],
                   v["channel"], v["country"])
            g = out.setdefault(key, Fig())
            g.c["sent"] += 1
            if v["rank"] >= 4:
                g.c["delivered"] += 1
            if v["rank"] == 3:
                g.c["failed"] += 1
            if v["rank"] == 6:
                g.c["verified"] += 1
        return out


def expected_report(cells, by, from_ms, to_ms, hourly=False):
    """(total, groups[, series]) as the API's JSON renders them."""
    idx = [DIMS.index(d) + 1 for d in by]
    groups, series = {}, {}
    for k, f in cells.items():
        if not (from_ms <= k[0] < to_ms):
            continue
        key = tuple(k[i] for i in idx)
        groups.setdefault(key, Fig()).add(f)
        series.setdefault((k[0], key), Fig()).add(f)
    total = Fig()
    rows = []
    for key in sorted(groups):
        f = groups[key]
        if f.empty():
            continue
        total.add(f)
        row = dict(zip(by, key))
        row.update(figures_json(f))
        rows.append(row)
    if not by and not rows:
        rows.append(figures_json(Fig()))
    out = {"total": figures_json(total), "groups": rows}
    if hourly:
        srows = []
        for (hour, key) in sorted(series):
            f = series[(hour, key)]
            if f.empty():
                continue
            row = {"hour": rfc3339(hour)}
            row.update(dict(zip(by, key)))
            row.update(figures_json(f))
            srows.append(row)
        out["series"] = srows
    return out


# --------------------------------------------------------------------------
# Dataset


class Dataset:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.used = set()

    def number(self, country_idx=None, avoid=()):
        rng = self.rng
        while True:
            i = (country_idx if country_idx is not None else
                 rng.choices(range(len(RANGES)), COUNTRY_WEIGHTS)[0])
            country, cc, prefix, width = RANGES[i]
            if width == 3:
                n = "%03d" % rng.randrange(100, 1000)
            else:
                n = "01%02d" % rng.randrange(0, 100)
            nsn = prefix + n
            e164 = "+" + cc + nsn
            if e164[-4:] in MOCK_SPECIAL or e164 in avoid:
                continue
            return country, cc, nsn, e164

    def sid(self, prefix):
        return prefix + "%032x" % self.rng.getrandbits(128)

    # Each builder returns a list of posts for one verification; a post is
    # a dict with "send" (source, body, content_type, headers/query) and
    # "ev" (the normalized event the model expects), in order.

    def verifynow(self, i):
        rng = self.rng
        vid = "vn-%05d" % i
        chan = rng.choices(["SMS", "WHATSAPP", "VOICE"], [70, 20, 10])[0]
        country, cc, nsn, _ = self.number()
        seqs = [(["PENDING", "DELIVERED"], 40), (["DELIVERED"], 15),
                (["PENDING"], 8), (["PENDING", "FAILED"], 10),
                (["FAILED"], 6), (["FAILED", "DELIVERED"], 5),
                (["DELIVERED", "PENDING"], 5), (["PENDING", "UNKNOWNX"], 3),
                (["PENDING", "FAILED", "DELIVERED"], 4)]
        seq = rng.choices([s for s, _ in seqs], [w for _, w in seqs])[0]
        lat_choices = [0, 120, 250, 251, 499, 500, 900, 1000, 1001, 1800,
                       2500, 3000, 4200, 5000, 7000, 9000, 12000, 20000,
                       29000, 45000, 61000, 200000, 700000, 3600000,
                       3600001, 5000000]
        posts = []
        switch = rng.random() < 0.06
        for j, st in enumerate(seq):
            c = chan
            if switch and j == len(seq) - 1:
                c = "WHATSAPP" if chan != "WHATSAPP" else "SMS"
            doc = {"verificationId": vid, "deliveryStatus": st, "channel": c}
            lat = None
            if rng.random() < (0.85 if st == "DELIVERED" else 0.2):
                lat = rng.choice(lat_choices)
                doc["latencyMs"] = lat
            with_rcpt = rng.random() < (0.7 if j == 0 else 0.5)
            if with_rcpt:
                doc["countryCode"] = cc
                doc["mobileNumber"] = nsn
            body = json.dumps(doc, separators=(",", ":")).encode()
            status = {"PENDING": "sent", "DELIVERED": "delivered",
                      "FAILED": "failed"}.get(st, "unknown")
            posts.append({
                "send": ("vn", body),
                "ev": dict(source="vn", provider="verifynow",
                           key=(vid, c, st), vid=vid, channel=c.lower(),
                           status=status,
                           country=country if with_rcpt else "",
                           latency=lat, error="")})
        # Same dedupe key, different body: a duplicate all the same.
        if seq[-1] == "DELIVERED" and rng.random() < 0.08:
            last = posts[-1]
            doc = json.loads(last["send"][1])
            doc["latencyMs"] = 42
            body = json.dumps(doc, separators=(",", ":")).encode()
            posts.append({"send": ("vn", body), "ev": dict(last["ev"],
                                                          latency=42)})
        return posts

    def twilio_messaging(self, i):
        rng = self.rng
        sid = self.sid("SM")
        whatsapp = rng.random() < 0.3
        country, _, _, e164 = self.number()
        to = ("whatsapp:" if whatsapp else "") + e164
        if whatsapp:
            seqs = [([("sent", ""), ("delivered", ""), ("read", "")], 40),
                    ([("sent", ""), ("read", "")], 15),
                    ([("sent", ""), ("failed", "63016")], 15),
                    ([("delivered", "")], 15),
                    ([("sent", ""), ("undelivered", "63024")], 15)]
        else:
            codes = ["30003", "30005", "30006", "30007", "30008"]
            seqs = [([("queued", ""), ("sent", ""), ("delivered", "")], 30),
                    ([("sent", ""), ("delivered", "")], 25),
                    ([("sent", ""), ("undelivered", rng.choice(codes))], 12),
                    ([("failed", rng.choice(codes))], 8),
                    ([("sent", ""), ("failed", "30008"),
                      ("delivered", "")], 5),
                    ([("queued", ""), ("canceled", "")], 5),
                    ([("sent", "")], 8),
                    ([("delivered", ""), ("sent", "")], 7)]
        seq = rng.choices([s for s, _ in seqs], [w for _, w in seqs])[0]
        posts = []
        for st, code in seq:
            params = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": st,
                      "SmsStatus": st, "To": to,
                      "From": ("whatsapp:" if whatsapp else "") +
                      "+12025550100",
                      "AccountSid": "AC" + "0" * 32,
                      "ApiVersion": "2010-04-01"}
            if code:
                params["ErrorCode"] = code
            status = {"queued": "queued", "sent": "sent",
                      "delivered": "delivered", "read": "read",
                      "failed": "failed", "undelivered": "undelivered",
                      "canceled": "rejected"}[st]
            posts.append({
                "send": ("tm", params),
                "ev": dict(source="tm", provider="twilio", key=(sid, st),
                           vid=sid, channel="whatsapp" if whatsapp else "sms",
                           status=status, country=country, latency=None,
                           error=code)})
        return posts

    def twilio_verify(self, i):
        rng = self.rng
        ve = self.sid("VE")
        chan = rng.choices(["sms", "whatsapp", "call"], [60, 30, 10])[0]
        country, _, _, e164 = self.number()
        created = now_ms() - rng.randrange(10_000, 600_000)
        posts = []
        plan = rng.choices(
            [["message.sent", "message.delivered", "verification.approved"],
             ["message.sent", "message.delivered"],
             ["message.delivered"],
             ["message.sent", "message.failed"],
             ["verification.pending", "verification.approved"],
             ["verification.pending", "verification.expired"]],
            [30, 25, 10, 15, 10, 10])[0]
        for j, t in enumerate(plan):
            fam, st = t.split(".")
            data = {"account_sid": "AC" + "0" * 32,
                    "service_sid": "VAmock0001", "verification_sid": ve,
                    "channel": chan.upper()}
            lat = None
            err = ""
            with_to = fam == "message" or rng.random() < 0.5
            if with_to:
                data["to"] = e164
            if fam == "message":
                data["attempt_sid"] = self.sid("VL")
                data["message_status"] = st.upper()
                data["created_at"] = rfc3339(created)
                if st == "delivered":
                    lat = rng.choice([180, 250, 700, 1500, 2999, 3001,
                                      8000, 25000, 90000, 4000000])
                if st == "failed":
                    err = rng.choice(["60200", "30008", "60200"])
                    data["error_code"] = int(err)
            else:
                data["verification_status"] = st
            evtime = created + (lat if lat is not None else 1000 + 500 * j)
            doc = {"specversion": "1.0",
                   "type": "com.twilio.accountsecurity.verify." + t,
                   "source": "/v2/Services/VAmock0001/Verifications/" + ve,
                   "id": self.sid("EV"), "time": rfc3339(evtime),
                   "datacontenttype": "application/json", "data": data}
            status = {"sent": "sent", "delivered": "delivered",
                      "failed": "failed", "approved": "verified",
                      "pending": "sent", "expired": "expired"}[st]
            posts.append({
                "send": ("tv", [doc]),
                "ev": dict(source="tv", provider="twilio", key=doc["id"],
                           vid=ve, channel="voice" if chan == "call" else chan,
                           status=status,
                           country=country if with_to else "",
                           latency=lat, error=err)})
        return posts

    def interleave(self, per_verification, dup_rate=0.12):
        """One list of posts: verifications interleaved at random, each's
        own order kept; some posts repeated identically later on."""
        rng = self.rng
        queues = []
        for posts in per_verification:
            q = []
            for p in posts:
                q.append(p)
                if rng.random() < dup_rate:
                    q.insert(rng.randrange(len(q), len(q) + 2), p)
            queues.append(q)
        out = []
        live = [q for q in queues if q]
        while live:
            q = rng.choice(live)
            out.append(q.pop(0))
            if not q:
                live.remove(q)
        return out


# --------------------------------------------------------------------------
# dlrd


def make_dlrd(mock, ca_file):
    def tw_sig(name):
        return {"scheme": "twilio", "public_url": PUBLIC + name,
                "secrets": ["env:DLRD_IT_TW"]}
    creds = mock.credentials["twilio"]
    sources = {
        "vn": h.verifynow_source(["DLRD_IT_VN"]),
        "tm": {"format": "twilio-messaging", "signature": tw_sig("tm")},
        "tw": {"format": "twilio-messaging", "signature": tw_sig("tw"),
               "fallback": {"provider": "twilio",
                            "chain": ["sms", "whatsapp", "voice"],
                            "deadline_s": {"sms": 86400, "whatsapp": 86400,
                                           "voice": 86400},
                            "max_steps": 3,
                            "max_per_recipient_per_hour": 1000,
                            "max_per_minute": 1000000}},
        "tv": {"format": "twilio-verify-events", "signature": tw_sig("tv")},
    }
    extra = {
        "admin_token": "env:DLRD_IT_ADMIN",
        "providers": {"twilio": {
            "base_url": mock.base_url, "ca_file": ca_file,
            "account_sid": creds["account_sid"],
            "auth_token": "env:DLRD_IT_TW_SEND",
            "service_sid": creds["service_sid"],
            "request_timeout_ms": 2000}},
        "outbox": {"poll_ms": 50, "backoff_base_ms": 100,
                   "backoff_cap_ms": 500, "max_attempts": 3},
    }
    secrets = {"DLRD_IT_VN": VN_SECRET, "DLRD_IT_TW": TW_TOKEN,
               "DLRD_IT_ADMIN": ADMIN_TOKEN,
               "DLRD_IT_TW_SEND": creds["auth_token"]}
    return h.Dlrd(sources, secrets, extra_config=extra)


def post(d, send, forged=False):
    """Posts one callback (with a wrong signature when `forged`); returns
    (response, t_before_ms, t_after_ms)."""
    source, payload = send
    t0 = now_ms()
    if source == "vn":
        r = h.post_signed(d.port, "vn", VN_SECRET + ("x" if forged else ""),
                          payload)
    elif source in ("tm", "tw"):
        body = urllib.parse.urlencode(payload).encode()
        headers = [("Content-Type", "application/x-www-form-urlencoded"),
                   ("X-Twilio-Signature",
                    twilio_signature(PUBLIC + source + ("/x" if forged
                                                        else ""), payload))]
        r = h.request(d.port, "POST", "/webhooks/" + source, headers, body)
    else:
        body = json.dumps(payload, separators=(",", ":")).encode()
        query = "?bodySHA256=" + hashlib.sha256(body).hexdigest()
        headers = [("Content-Type", "application/json"),
                   ("X-Twilio-Signature",
                    twilio_signature(PUBLIC + source + query +
                                     ("&x" if forged else "")))]
        r = h.request(d.port, "POST", "/webhooks/" + source + query,
                      headers, body)
    return r, t0, now_ms()


def admin(d, method, path, doc=None, token=ADMIN_TOKEN):
    headers = []
    if token is not None:
        headers.append(("Authorization", "Bearer " + token))
    body = b""
    if doc is not None:
        body = json.dumps(doc).encode()
        headers.append(("Content-Type", "application/json"))
    return h.request(d.admin_port, method, path, headers, body)


def wait_until(fn, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.02)


def stats_api(d, **params):
    q = urllib.parse.urlencode(params)
    r = admin(d, "GET", "/v1/stats" + ("?" + q if q else ""))
    if r.status != 200:
        raise AssertionError("GET /v1/stats?%s: %r" % (q, r))
    return r.json()


def run_cli(*args):
    p = subprocess.run([os.environ["DLRD_BIN"], "stats"] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


# --------------------------------------------------------------------------


class StatsEndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        tmp = h.make_tempdir("dlrd-stats-ca-")
        cls.addClassCleanup(tmp.cleanup)
        cls.ca = make_test_ca(tmp.name)
        cls.mock = MockProvider(cls.ca.server_cert, cls.ca.server_key)
        cls.mock.start()
        cls.addClassCleanup(cls.mock.stop)
        cls.d = make_dlrd(cls.mock, cls.ca.ca_cert)
        cls.addClassCleanup(cls.d.cleanup)
        cls.d.start()
        cls.model = Model()
        cls.t_start = now_ms()
        cls.notes = {}
        cls.fallback_notes = {}
        cls._ingest()
        cls._fallback()
        # Signature failures reach the store through the ingest queue, a
        # moment after their 401s: wait for the count, then compare all.
        want = sum(c.c["sigfail"] for c in cls.model.cells.values())
        wait_until(lambda: stats_api(cls.d, since="24h")["total"].get(
            "signature_failures") == want, 5,
            "%d signature failures in the figures" % want)
        cls.t_end = now_ms()
        # A window covering every hour used: sent_at up to 5 h back, and
        # the hour after the start in case the run crossed into it.
        cls.from_ms = hour_floor(cls.t_start) - 6 * HOUR_MS
        cls.to_ms = hour_floor(cls.t_end) + HOUR_MS
        cls.cells = cls.model.finish()

    @classmethod
    def _post_checked(cls, p):
        if p.get("forged"):
            r, t0, t1 = post(cls.d, p["send"], forged=True)
            if r.status != 401:
                raise AssertionError("forged %r: %r" % (p["send"][0], r))
            cls.model.signature_failure(p["ev"]["source"],
                                        p["ev"]["provider"], t0)
            cls.model.note_time(t0, t1, "forged")
            return t0, t1
        r, t0, t1 = post(cls.d, p["send"])
        if r.status != 200:
            raise AssertionError("post %r: %r" % (p["send"][0], r))
        new = cls.model.event(p["ev"], t0)
        cls.model.note_time(t0, t1, p["ev"]["key"])
        want = "accepted" if new else "duplicate"
        got = r.json().get("status")
        if got != want:
            raise AssertionError("%r: dlrd said %r, the model %r"
                                 % (p["ev"], got, want))
        return t0, t1

    @classmethod
    def _ingest(cls):
        ds = Dataset(SEED)
        cls.ds = ds
        per_v = ([ds.verifynow(i) for i in range(260)]
                 + [ds.twilio_messaging(i) for i in range(150)]
                 + [ds.twilio_verify(i) for i in range(60)])
        # Forged copies of some callbacks (wrong signature: 401, counted as
        # signature failures of their source, stored nowhere else).
        forged = []
        for src, n in (("vn", 4), ("tm", 3), ("tv", 2)):
            pool = [p for v in per_v for p in v if p["send"][0] == src]
            for p in ds.rng.sample(pool, n):
                forged.append([dict(p, forged=True)])
        posts = ds.interleave(per_v + forged, dup_rate=0.12)
        dups = 0
        for p in posts:
            if p.get("forged"):
                cls._post_checked(p)
                continue
            before = len(cls.model.keys)
            cls._post_checked(p)
            dups += len(cls.model.keys) == before
        cls.notes["posts"] = len(posts)
        cls.notes["duplicates"] = dups
        cls.notes["verifications"] = len(per_v)

    @classmethod
    def _register(cls, vid, e164, country, sent_at, channel="sms"):
        doc = {"verification_id": vid, "source": "tw", "recipient": e164,
               "channel": channel}
        if sent_at is not None:
            doc["sent_at"] = rfc3339(sent_at)
        t0 = now_ms()
        r = admin(cls.d, "POST", "/v1/verifications", doc)
        t1 = now_ms()
        created = cls.model.register("tw", vid, "twilio", channel, country,
                                     sent_at if sent_at is not None else t0)
        if r.status != (201 if created else 200):
            raise AssertionError("register %s: %r" % (vid, r))
        if sent_at is None:
            cls.model.note_time(t0, t1, "register " + vid)
        return t0, t1

    @classmethod
    def _tw(cls, sid, e164, country, status, code=""):
        params = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status,
                  "SmsStatus": status, "To": e164, "From": "+12025550100",
                  "AccountSid": "AC" + "0" * 32, "ApiVersion": "2010-04-01"}
        if code:
            params["ErrorCode"] = code
        st = {"failed": "failed", "delivered": "delivered",
              "sent": "sent", "read": "read"}[status]
        return cls._post_checked({
            "send": ("tw", params),
            "ev": dict(source="tw", provider="twilio", key=(sid, status),
                       vid=sid, channel="sms", status=st, country=country,
                       latency=None, error=code)})

    @classmethod
    def _tv(cls, ve, e164, country, status, channel="whatsapp",
            created_ms=None, time_ms=None):
        data = {"account_sid": "AC" + "0" * 32, "service_sid": "VAmock0001",
                "verification_sid": ve, "attempt_sid": cls.ds.sid("VL"),
                "channel": channel.upper(), "message_status": status.upper(),
                "to": e164}
        doc = {"specversion": "1.0",
               "type": "com.twilio.accountsecurity.verify.message." + status,
               "source": "/v2/Services/VAmock0001/Verifications/" + ve,
               "id": cls.ds.sid("EV"), "datacontenttype": "application/json",
               "data": data}
        lat = None
        if created_ms is not None:
            data["created_at"] = rfc3339(created_ms)
            doc["time"] = rfc3339(time_ms)
            lat = time_ms - created_ms if status == "delivered" else None
        return cls._post_checked({
            "send": ("tv", [doc]),
            "ev": dict(source="tv", provider="twilio", key=doc["id"],
                       vid=ve, channel=channel, status=status,
                       country=country, latency=lat, error="")})

    @classmethod
    def _fallback(cls):
        m = cls.model
        ds = cls.ds
        used = set()

        def gb(n):
            e164 = "+447700900%03d" % n
            used.add(e164)
            return e164

        # Registrations (sent at registration, some hours back) and their
        # callbacks: derived latency of step 0 = callback - sent_at.
        base = now_ms()
        plan = [  # (recipient, country, sent_at offset s, callbacks)
            (gb(20), "GB", 3 * 3600, ["delivered"]),
            (gb(21), "GB", 2700, ["sent", "delivered"]),
            (gb(22), "GB", 1200, ["delivered", "read"]),
            (gb(23), "GB", 420, ["delivered"]),
            (gb(24), "GB", 200, ["delivered"]),
            ("+12025550150", "US", 5 * 3600, []),
            (gb(25), "GB", 2 * 3600, ["sent"]),
            ("+33639980026", "FR", 1500, ["delivered"]),
        ]
        # Registered without sent_at (dlrd's clock): its callback comes
        # ~12.5 s later, at the end, so the latency is inside (10000, 15000].
        au_sid, au_to = ds.sid("SM"), "+61491570027"
        au_t0, au_t1 = cls._register(au_sid, au_to, "AU", None)
        regs = []
        for k, (e164, country, off, cbs) in enumerate(plan):
            sid = ds.sid("SM")
            sent_at = base - off * 1000
            t0, _ = cls._register(sid, e164, country, sent_at)
            if k == 7:  # registered twice: created once
                cls._register(sid, e164, country, sent_at)
            regs.append((sid, e164, country, sent_at, cbs))
        for sid, e164, country, sent_at, cbs in regs:
            delivered_done = False
            for st in cbs:
                t0, t1 = cls._tw(sid, e164, country, st)
                if RANK[st] >= 4 and not delivered_done:
                    delivered_done = True
                    lo, hi = t0 - sent_at, t1 - sent_at
                    if bucket(lo) != bucket(hi):
                        raise AssertionError(
                            "derived latency of %s straddles a bucket bound "
                            "(%d..%d ms): slow machine?" % (sid, lo, hi))
                    m.fallback("", t0, "tw", "twilio", "sms", country,
                               step=0, latency=hi)
            # a duplicate of the last callback: no effect
            if cbs:
                cls._tw(sid, e164, country, cbs[-1])

        # F1: registered, SMS fails -> WhatsApp via the mock -> its
        # delivered callback (tv) -> recovered, derived latency of step 1.
        r1, to1 = ds.sid("SM"), gb(11)
        cls._register(r1, to1, "GB", now_ms() - 60_000)
        t0, t1 = cls._tw(r1, to1, "GB", "failed", "30008")
        m.fallback("triggered", t0, "tw", "twilio", "sms", "GB")
        send = cls.mock.wait_for_requests(1, timeout=5, recipient=to1)[0]
        ve1 = send["provider_id"]
        mock_ms = int(send["time"] * 1000)

        def accepted():
            v = admin(cls.d, "GET", "/v1/verifications/" + r1).json()
            return any(j["step"] == 1 and j["state"] == "accepted"
                       for j in v["jobs"])
        wait_until(accepted, 5, "the WhatsApp send accepted")
        t_seen = now_ms()
        cls.fallback_notes["accepted_seen"] = t_seen
        cls.fallback_notes["sent_after_accept"] = stats_api(
            cls.d, **{"from": rfc3339(hour_floor(cls.t_start) - 6 * HOUR_MS),
                      "to": rfc3339(hour_floor(now_ms()) + HOUR_MS)})[
                          "total"]["sent"]
        cls.fallback_notes["sent_model_before_accept"] = sum(
            1 for _ in m.verifs)
        # dlrd's sent_at of step 1 is in [mock_ms, t_seen]; post the
        # callback ~6.25 s later so the latency sits inside (5000, 7500].
        time.sleep(max(0.0, (mock_ms + 6250 - now_ms()) / 1000.0))
        t0, t1 = cls._tv(ve1, to1, "GB", "delivered",
                         created_ms=mock_ms, time_ms=mock_ms + 1400)
        lo, hi = t0 - t_seen, t1 - mock_ms
        if bucket(lo) != bucket(hi):
            raise AssertionError("step 1 latency straddles a bound: %d..%d"
                                 % (lo, hi))
        m.fallback("recovered", t0, "tw", "twilio", "whatsapp", "GB",
                   step=1, latency=hi)
        cls.fallback_notes["ve1"] = ve1

        # F2: callback-first root, SMS fails -> WhatsApp -> the SMS is
        # delivered after all -> a wasted fallback; the WhatsApp send only
        # reports "sent".
        r2, to2 = ds.sid("SM"), gb(12)
        t0, _ = cls._tw(r2, to2, "GB", "failed", "30008")
        m.fallback("triggered", t0, "tw", "twilio", "sms", "GB")
        send2 = cls.mock.wait_for_requests(1, timeout=5, recipient=to2)[0]
        ve2 = send2["provider_id"]

        def accepted2():
            v = admin(cls.d, "GET", "/v1/verifications/" + r2).json()
            return any(j["step"] == 1 and j["state"] == "accepted"
                       for j in v["jobs"])
        wait_until(accepted2, 5, "the second WhatsApp send accepted")
        t0, _ = cls._tw(r2, to2, "GB", "delivered")
        m.fallback("wasted", t0, "tw", "twilio", "sms", "GB")
        cls._tv(ve2, to2, "GB", "sent")
        cls.fallback_notes["ve2"] = ve2

        # The registration without sent_at: dlrd's send time is within
        # [au_t0, au_t1].
        time.sleep(max(0.0, (au_t0 + 12500 - now_ms()) / 1000.0))
        t0, t1 = cls._tw(au_sid, au_to, "AU", "delivered")
        lo, hi = t0 - au_t1, t1 - au_t0
        if bucket(lo) != bucket(hi):
            raise AssertionError("AU derived latency straddles a bound: "
                                 "%d..%d" % (lo, hi))
        m.fallback("", t0, "tw", "twilio", "sms", "AU", step=0, latency=hi)
        time.sleep(0.3)  # nothing else may follow (no voice step)
        cls.fallback_notes["mock_sends"] = len(cls.mock.requests())

    # -- helpers ------------------------------------------------------------
    def window(self):
        return {"from": rfc3339(self.from_ms), "to": rfc3339(self.to_ms)}

    def expect(self, by, hourly=False):
        return expected_report(self.cells, by, self.from_ms, self.to_ms,
                               hourly)

    def assert_report(self, got, by, hourly=False):
        want = self.expect(by, hourly)
        self.assertEqual(got["from"], rfc3339(self.from_ms))
        self.assertEqual(got["to"], rfc3339(self.to_ms))
        self.assertEqual(got["by"], list(by))
        self.assertEqual(got["total"], want["total"])
        self.assertEqual(got["groups"], want["groups"])
        if hourly:
            self.assert_series(got["series"], want["series"])
        else:
            self.assertNotIn("series", got)

    def assert_series(self, got, want):
        start_hour = rfc3339(hour_floor(self.t_start))
        early_got = [r for r in got if r["hour"] < start_hour]
        early_want = [r for r in want if r["hour"] < start_hour]
        self.assertTrue(early_want, "the dataset has rows in earlier hours")
        self.assertEqual(early_got, early_want)
        if not self.model.straddled and \
                hour_floor(self.t_start) == hour_floor(self.t_end):
            self.assertEqual(got, want)
        else:
            print("\n  [series] the run crossed an hour boundary: current-"
                  "hour rows compared in total only")
            late = [r for r in got if r["hour"] >= start_hour]
            for key in ("callbacks", "sent", "delivered", "failed"):
                self.assertEqual(
                    sum(r[key] for r in late),
                    sum(r[key] for r in want if r["hour"] >= start_hour))

    # -- API ----------------------------------------------------------------
    def test_01_dataset_is_what_the_test_thinks(self):
        n = self.notes
        total = self.expect(())["total"]
        print("\n  [dataset] %d verifications, %d posts (%d duplicates), "
              "%d callbacks stored; sent %d, delivered %d, failed %d, "
              "verified %d; provider latency n=%d; fallback sends %d"
              % (n["verifications"], n["posts"], n["duplicates"],
                 total["callbacks"], total["sent"], total["delivered"],
                 total["failed"], total["verified"],
                 total["latency"]["count"],
                 self.fallback_notes["mock_sends"]))
        self.assertGreater(n["duplicates"], 30)
        self.assertGreater(total["verified"], 5)
        self.assertGreater(total["failed"], 20)
        self.assertEqual(self.fallback_notes["mock_sends"], 2)
        self.assertEqual(self.d.count(), total["callbacks"])

    def test_02_api_by_channel_provider_country(self):
        by = ("channel", "provider", "country")
        got = stats_api(self.d, by=",".join(by), **self.window())
        self.assert_report(got, by)

    def test_03_api_without_by(self):
        got = stats_api(self.d, **self.window())
        self.assert_report(got, ())
        self.assertEqual(len(got["groups"]), 1)
        # since=24h covers the same data (sent_at at most 5 h back).
        got24 = stats_api(self.d, since="24h")
        self.assertEqual(got24["total"], self.expect(())["total"])

    def test_04_api_by_every_dimension(self):
        for by in (("source",), ("source", "provider", "channel", "country"),
                   ("country", "source")):
            got = stats_api(self.d, by=",".join(by), **self.window())
            self.assert_report(got, by)

    def test_05_api_hourly_series(self):
        by = ("source", "channel")
        params = dict(self.window(), by=",".join(by), series="hourly")
        got = stats_api(self.d, **params)
        self.assert_report(got, by, hourly=True)
        hours = sorted({r["hour"] for r in got["series"]})
        print("\n  [series] %d rows over %d hours" % (len(got["series"]),
                                                       len(hours)))
        self.assertGreaterEqual(len(hours), 4)

    def test_06_fallback_figures(self):
        got = stats_api(self.d, by="source,channel", **self.window())
        rows = {(r["source"], r["channel"]): r for r in got["groups"]}
        tw_sms, tw_wa = rows[("tw", "sms")], rows[("tw", "whatsapp")]
        print("\n  [fallback] tw/sms %r; tw/whatsapp %r; derived by step %r"
              % (tw_sms["fallbacks"], tw_wa["fallbacks"],
                 got["total"]["time_to_deliver_by_step"]))
        self.assertEqual(tw_sms["fallbacks"],
                         {"triggered": 2, "recovered": 0, "wasted": 1})
        self.assertEqual(tw_wa["fallbacks"]["recovered"], 1)
        self.assertEqual(tw_wa["time_to_deliver_by_step"]["1"]["count"], 1)
        self.assertEqual(tw_wa["time_to_deliver_by_step"]["1"]["p50_ms"],
                         7500)
        steps = got["total"]["time_to_deliver_by_step"]
        self.assertEqual(sorted(steps), ["0", "1"])
        self.assertEqual(steps["0"]["count"], 7)
        self.assertEqual(got["total"]["derived_latency"]["count"], 8)

    def test_07_fallback_send_counts_as_sent_at_its_first_callback(self):
        """stats.h: `sent` counts verifications "by the hour dlrd first saw
        them: a registration or the first callback"; a fallback send's
        callbacks may arrive on another source, so it is counted by its
        first callback, not at the send (never twice). Right after the
        WhatsApp send of F1 was accepted (no callback for it yet), `sent`
        is unchanged."""
        before = self.fallback_notes["sent_model_before_accept"]
        got = self.fallback_notes["sent_after_accept"]
        self.assertEqual(
            got, before,
            "sent right after the fallback send was accepted: %d; "
            "verifications seen so far by registration or callback: %d"
            % (got, before))

    # -- errors -------------------------------------------------------------
    def test_08_api_errors(self):
        r = admin(self.d, "GET", "/v1/stats", token=None)
        self.assertEqual(r.status, 401, r)
        r = admin(self.d, "GET", "/v1/stats", token=ADMIN_TOKEN[:-1] + "x")
        self.assertEqual(r.status, 401, r)
        for query, word in (("by=channel,bogus", "by"),
                            ("from=yesterday", "from"),
                            ("to=2026-13-45T00:00:00Z", "to"),
                            ("since=24x", "since"),
                            ("series=daily", "series"),
                            ("color=red", "color")):
            r = admin(self.d, "GET", "/v1/stats?" + query)
            self.assertEqual(r.status, 400, (query, r))
            self.assertIn(word, r.body.decode(), (query, r))
        r = admin(self.d, "POST", "/v1/stats")
        self.assertEqual(r.status, 405, r)

    def test_09_cli_errors(self):
        rc, _, err = run_cli("--db", self.d.db_path, "--since", "yesterday")
        self.assertEqual(rc, 2, err)
        self.assertIn("since", err)
        rc, _, err = run_cli("--db", self.d.db_path, "--by", "bogus")
        self.assertEqual(rc, 2, err)
        rc, _, err = run_cli("--db", self.d.db_path, "--from", "nope")
        self.assertEqual(rc, 2, err)
        rc, _, err = run_cli("--db", self.d.db_path, "--format", "xml")
        self.assertEqual(rc, 2, err)
        rc, _, err = run_cli("--since", "24h")
        self.assertEqual(rc, 2, err)

    # -- CLI while running ----------------------------------------------------
    def cli_json(self, *extra, source=("--db",)):
        src = (["--db", self.d.db_path] if source == ("--db",)
               else ["--config", self.d.config_path])
        rc, out, err = run_cli(*(src + ["--from", rfc3339(self.from_ms),
                                        "--to", rfc3339(self.to_ms)]
                                 + list(extra)))
        self.assertEqual(rc, 0, err)
        return out

    def test_10_cli_json_while_running(self):
        by = "channel,provider,country"
        out = self.cli_json("--by", by, "--format", "json")
        api = stats_api(self.d, by=by, **self.window())
        self.assertEqual(json.loads(out), api)
        self.assert_report(json.loads(out), by.split(","))
        # The CLI left the daemon alone: it still takes callbacks.
        self.assertEqual(h.http_get(self.d.admin_port, "/readyz").status, 200)
        out = self.cli_json("--by", "source,channel", "--format", "json",
                            "--hourly")
        self.assert_report(json.loads(out), ("source", "channel"),
                           hourly=True)

    def expected_csv(self, by):
        want = self.expect(by)
        pct = (lambda v: "-" if v is None else "%.1f%%" % (v * 100.0))
        ms = (lambda v: "-" if v is None else str(v))
        rows = [list(by) + [
            "callbacks", "sent", "delivered", "failed", "verified",
            "delivery", "conversion", "p50_ms", "p90_ms", "p99_ms",
            "fb_trig", "fb_recovered", "fb_wasted", "sig_fail",
            "top_error"]]
        for g in want["groups"]:
            f = g
            c = self.cells_for(by, [g[d] for d in by])
            errs = top_errors(c.errors, 1)
            sent = c.c["sent"]
            rows.append(
                [(g[d] or "-") for d in by] + [
                    str(f["callbacks"]), str(f["sent"]),
                    str(f["delivered"]), str(f["failed"]),
                    str(f["verified"]),
                    pct(None if sent <= 0 else c.c["delivered"] / sent),
                    pct(None if sent <= 0 else c.c["verified"] / sent),
                    ms(f["latency"]["p50_ms"]), ms(f["latency"]["p90_ms"]),
                    ms(f["latency"]["p99_ms"]),
                    str(f["fallbacks"]["triggered"]),
                    str(f["fallbacks"]["recovered"]),
                    str(f["fallbacks"]["wasted"]),
                    str(f["signature_failures"]),
                    "%s(%d)" % errs[0] if errs else "-"])
        return rows

    def cells_for(self, by, key):
        idx = [DIMS.index(d) + 1 for d in by]
        f = Fig()
        for k, c in self.cells.items():
            if self.from_ms <= k[0] < self.to_ms and \
                    [k[i] for i in idx] == list(key):
                f.add(c)
        return f

    def test_11_cli_csv(self):
        for by in (("channel", "provider", "country"), ()):
            args = ["--format", "csv"] + (["--by", ",".join(by)] if by
                                          else [])
            out = self.cli_json(*args)
            got = list(csv.reader(io.StringIO(out)))
            self.assertEqual(got, self.expected_csv(by))

    def test_12_cli_config_and_table(self):
        out = self.cli_json("--by", "provider", "--format", "json",
                            source="--config")
        self.assert_report(json.loads(out), ("provider",))
        out = self.cli_json("--by", "provider", source="--config")
        self.assertIn("TOTAL", out)
        total = self.expect(())["total"]
        line = [ln for ln in out.splitlines() if ln.startswith("TOTAL")][0]
        self.assertEqual(line.split()[1:6],
                         [str(total[k]) for k in ("callbacks", "sent",
                                                  "delivered", "failed",
                                                  "verified")])

    # -- after the daemon stopped -------------------------------------------
    def test_99_cli_after_stop(self):
        by = "source,provider,channel,country"
        api = stats_api(self.d, by=by, series="hourly", **self.window())
        self.d.stop()
        out = self.cli_json("--by", by, "--format", "json", "--hourly")
        self.assertEqual(json.loads(out), api)
        self.assert_report(json.loads(out), by.split(","), hourly=True)


if __name__ == "__main__":
    h.main()
