#!/usr/bin/env python3
"""Fills a dlrd database (schema version 2, i.e. before the analytics
migration) with a synthetic but realistic delivery-callback history, for
bench/stats_bench.py. Python 3 standard library only.

  gen_stats_db.py --out DB [--events 10000000] [--days 30] [--seed 1]
                  [--end-ms MS]

What it writes (deterministic for a given --seed and --end-ms):
  * schema/0001_delivery_events.sql + schema/0002_fallback.sql, applied with
    executescript, PRAGMA user_version = 2, journal_mode = WAL. The first
    `dlrd serve` on the file then runs migration 0003, which builds the
    hourly rollups from these rows (that is what the bench times).
  * one raw_requests row (every event points at it: raw_request_id is NOT
    NULL, and the analytics never read the raw requests);
  * --events delivery_events over the --days days ending at --end-ms
    (default: now), in verifications of 1-3 events each:
      - providers (= source names): verifynow 40 %, twilio 30 %, vonage 18 %,
        sinch 12 %; channels sms 80 %, whatsapp 15 %, voice 5 %;
      - 20 countries, skewed (IN 22 %, US 14 %, BR 10 %, ... down to 1 %);
      - traffic follows the time of day (trough at 03:00 UTC, peak ~15:00);
      - an intermediate `sent` callback for 85 % of verifications, then the
        terminal one: delivered 93 % / failed 7 % (an error code per
        provider, skewed); 12 % of delivered ones later report `verified`;
      - latency_ms (provider submit -> handset) on delivered callbacks only,
        lognormal: median 2.5 s sms, 1.2 s whatsapp, 9 s voice (sigma 0.9),
        so a few land past the last histogram bound;
  * the matching `verifications` rows: channel, country, best status and
    its rank (include/dlrd/core/model/delivery.h: sent 2, failed 3, delivered 4,
    verified 6), first_event_at_ms = the first callback's time.
Verifications are written newest first, in big transactions with
synchronous=OFF; the WAL is checkpointed and truncated at the end.
"""

import argparse
import bisect
import json
import math
import os
import random
import sqlite3
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(HERE, "..", "schema")
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS

PROVIDERS = [("verifynow", 40), ("twilio", 30), ("vonage", 18), ("sinch", 12)]
CHANNELS = [("sms", 80), ("whatsapp", 15), ("voice", 5)]
COUNTRIES = [("IN", 22), ("US", 14), ("BR", 10), ("ID", 7), ("GB", 6),
             ("MX", 5), ("NG", 5), ("DE", 4), ("FR", 4), ("PH", 3),
             ("TR", 3), ("ES", 3), ("IT", 2), ("PK", 2), ("EG", 2),
             ("VN", 2), ("CO", 2), ("AR", 2), ("CA", 1), ("AU", 1)]
# Fictional / test-range numbers only (a prefix + 4 digits); countries
# without a published fictional range get a prefix the tests never dial.
PREFIX = {"GB": "+447700900", "US": "+1202555", "CA": "+1613555",
          "AU": "+6149157", "FR": "+3363998"}
# Raw failure codes per provider, skewed (first is most common).
ERRORS = {
    "verifynow": ["800", "801", "805", "510"],
    "twilio": ["30008", "30003", "30005", "30006", "30007", "63016"],
    "vonage": ["1", "6", "29", "99", "7"],
    "sinch": ["403", "404", "408", "500"],
}
ERROR_WEIGHTS = [50, 20, 12, 8, 6, 4]
RAW = {  # (sent, delivered, failed, verified) raw statuses per provider
    "verifynow": ("PENDING", "DELIVERED", "FAILED", "VERIFIED"),
    "twilio": ("sent", "delivered", "undelivered", "approved"),
    "vonage": ("accepted", "delivered", "failed", "completed"),
    "sinch": ("Dispatched", "Delivered", "Failed", "SUCCESSFUL"),
}
STATUS = {"sent": ("sent", 2), "delivered": ("delivered", 4),
          "failed": ("failed", 3), "verified": ("verified", 6)}
MEDIAN_LATENCY_MS = {"sms": 2500.0, "whatsapp": 1200.0, "voice": 9000.0}


def cum(weights):
    out, s = [], 0
    for _, w in weights:
        s += w
        out.append(s)
    return out


def diurnal_times(rng, n, start_ms, end_ms):
    """n sorted times in [start, end): a uniform grid warped by a day
    curve (rate ~ 1 + 0.6 sin(2 pi (h - 9) / 24), peak 15:00 UTC)."""
    # Inverse CDF over 1-minute cells of the window.
    cell = 60_000
    cells = max(1, (end_ms - start_ms) // cell)
    acc, c = [], 0.0
    for i in range(cells):
        t = start_ms + i * cell
        h = (t % DAY_MS) / HOUR_MS
        c += 1.0 + 0.6 * math.sin(2 * math.pi * (h - 9.0) / 24.0)
        acc.append(c)
    total = acc[-1]
    out = []
    for k in range(n):
        u = (k + rng.random()) / n * total
        i = bisect.bisect_left(acc, u)
        lo = acc[i - 1] if i else 0.0
        frac = (u - lo) / (acc[i] - lo)
        out.append(start_ms + i * cell + int(frac * cell))
    return out


def create(path):
    for suffix in ("", "-wal", "-shm"):
        try:
            os.unlink(path + suffix)
        except FileNotFoundError:
            pass
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    for name in ("0001_delivery_events.sql", "0002_fallback.sql"):
        with open(os.path.join(SCHEMA, name)) as f:
            db.executescript("BEGIN;" + f.read() + "COMMIT;")
    db.execute("PRAGMA user_version=2")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-262144")  # 256 MiB
    return db


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--end-ms", type=int, default=0,
                    help="end of the history (default: now)")
    ap.add_argument("--chunk", type=int, default=250_000,
                    help="verifications per transaction")
    args = ap.parse_args()
    t0 = time.monotonic()
    end_ms = args.end_ms or int(time.time() * 1000)
    start_ms = end_ms - args.days * DAY_MS
    rng = random.Random(args.seed)
    db = create(args.out)
    db.execute("INSERT INTO raw_requests(id, source, received_at_ms, target,"
               " head, body) VALUES (1, 'verifynow', ?, '/webhooks/verifynow',"
               " X'', X'')", (start_ms,))

    # ~2.06 events per verification with the probabilities below.
    p_sent, p_deliv, p_verif = 0.85, 0.93, 0.12
    per_v = p_sent + 1 + p_deliv * p_verif
    n_verif = int(args.events / per_v) + 1
    print("gen: %d events target, ~%d verifications over %d days ending %d"
          % (args.events, n_verif, args.days, end_ms), file=sys.stderr)
    # Newest first: if the estimate of n_verif overshoots, the verifications
    # left out are the oldest ones, so the last days are always complete.
    times = diurnal_times(rng, n_verif, start_ms, end_ms - 60_000)
    times.reverse()

    prov_names = [p for p, _ in PROVIDERS]
    chan_names = [c for c, _ in CHANNELS]
    ctry_names = [c for c, _ in COUNTRIES]
    prov_cum, chan_cum, ctry_cum = cum(PROVIDERS), cum(CHANNELS), \
        cum(COUNTRIES)
    ev_sql = ("INSERT INTO delivery_events(source, provider, dedupe_key,"
              " verification_id, message_id, channel, status, raw_status,"
              " error_code, latency_ms, recipient, country, received_at_ms,"
              " raw_request_id) VALUES (?,?,?,?,'',?,?,?,?,?,?,?,?,1)")
    v_sql = ("INSERT INTO verifications(source, verification_id, provider,"
             " channel, status, status_rank, recipient, country,"
             " first_event_at_ms, updated_at_ms) VALUES (?,?,?,?,?,?,?,?,?,?)")
    events = 0
    verifs = 0
    v = 0
    while events < args.events:
        # The estimate of n_verif may fall a little short of --events: the
        # last verifications then reuse random times of the window.
        if v >= n_verif:
            extra = [times[rng.randrange(n_verif)] + rng.randrange(1000)
                     for _ in range(1000)]
            times.extend(extra)
            n_verif += len(extra)
        k = min(args.chunk, n_verif - v)
        provs = rng.choices(prov_names, cum_weights=prov_cum, k=k)
        chans = rng.choices(chan_names, cum_weights=chan_cum, k=k)
        ctrys = rng.choices(ctry_names, cum_weights=ctry_cum, k=k)
        ev_rows, v_rows = [], []
        for i in range(k):
            if events >= args.events:
                break
            n = v + i
            t = times[n]
            prov, chan, ctry = provs[i], chans[i], ctrys[i]
            vid = "v%010d" % n
            raw = RAW[prov]
            pre = PREFIX.get(ctry)
            rcpt = "%s%04d" % (pre, n % 10000) if pre else ""
            first = None
            best = ("unknown", 0)
            evs = []
            if rng.random() < p_sent:
                at = t + rng.randrange(200, 2000)
                evs.append((at, "sent", raw[0], "", None))
            # Terminal callback.
            if rng.random() < p_deliv:
                lat = int(rng.lognormvariate(
                    math.log(MEDIAN_LATENCY_MS[chan]), 0.9))
                at = t + lat + rng.randrange(50, 1500)
                evs.append((at, "delivered", raw[1], "", lat))
                if rng.random() < p_verif:
                    at2 = at + rng.randrange(5_000, 120_000)
                    evs.append((at2, "verified", raw[3], "", None))
            else:
                code = rng.choices(ERRORS[prov],
                                   weights=ERROR_WEIGHTS[:len(ERRORS[prov])])[0]
                at = t + rng.randrange(2_000, 60_000)
                evs.append((at, "failed", raw[2], code, None))
            for at, st, raw_st, code, lat in evs:
                if events >= args.events:
                    break
                ev_rows.append((prov, prov, "%s|%s|%s" % (vid, chan, raw_st),
                                vid, chan, st, raw_st, code, lat, rcpt, ctry,
                                at))
                events += 1
                if first is None:
                    first = at
                if STATUS[st][1] > best[1]:
                    best = STATUS[st]
            if first is None:
                continue
            v_rows.append((prov, vid, prov, chan, best[0], best[1], rcpt, ctry,
                           first, max(e[0] for e in evs)))
        db.execute("BEGIN")
        db.executemany(ev_sql, ev_rows)
        db.executemany(v_sql, v_rows)
        db.execute("COMMIT")
        verifs += len(v_rows)
        v += k
        el = time.monotonic() - t0
        print("gen: %d events, %d verifications, %.0f s (%.0f events/s)"
              % (events, verifs, el, events / el), file=sys.stderr)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    el = time.monotonic() - t0
    size = os.path.getsize(args.out)
    summary = {"events": events, "verifications": verifs, "days": args.days,
               "seed": args.seed, "start_ms": start_ms, "end_ms": end_ms,
               "seconds": round(el, 1), "bytes": size}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
