#!/usr/bin/env python3
"""Bytes per event and migration time of schema/0004_dedupe_keys.sql.

Builds a schema-3 database of N events (Twilio-shaped keys, as the ingest
writer would store them: one delivery_events row, one raw_requests row,
one verifications row each), then reports
  - bytes per event by table and index (dbstat), before 0004;
  - the time to apply 0004 to it (what `dlrd serve` does at start-up);
  - bytes per event after 0004 (dlrd writes no dedupe_keys row at ingest);
  - bytes per key in dedupe_keys once retention has moved the keys there;
  - for comparison, the bytes per event of a dedupe table written at
    ingest with the key text, (source, dedupe_key, first_seen_ms).

  python3 bench/dedupe_keys_bench.py [--events 1000000] [--dir /tmp]

Uses Python's sqlite3 with the repository's schema files; needs a SQLite
built with dbstat (Debian's is). The database is deleted afterwards.
"""
import argparse
import hashlib
import os
import pathlib
import sqlite3
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
T0 = 1_760_000_000_000


def schema(version_max, version_min=1):
    files = sorted((ROOT / "schema").glob("*.sql"))
    return [(int(f.name[:4]), f.read_text()) for f in files
            if version_min <= int(f.name[:4]) <= version_max]


def migrate(db, files):
    for version, sql in files:
        db.executescript("BEGIN IMMEDIATE;\n" + sql +
                         f"\nPRAGMA user_version={version};\nCOMMIT;")


def key(i):
    return f"SM{i:032x}:delivered"


def fill(db, n):
    head = b"POST /webhooks/sms HTTP/1.1\r\nHost: x\r\n\r\n"
    body = b"MessageSid=SM...&MessageStatus=delivered"
    db.execute("BEGIN")
    batch = 50_000
    for start in range(0, n, batch):
        rows = range(start, min(n, start + batch))
        db.executemany(
            "INSERT INTO raw_requests(id, source, received_at_ms, target,"
            " head, body) VALUES (?, 'twilio-sms', ?, '/webhooks/twilio-sms',"
            " ?, ?)", ((i + 1, T0 + i, head, body) for i in rows))
        db.executemany(
            "INSERT INTO delivery_events(source, provider, dedupe_key,"
            " verification_id, channel, status, raw_status, recipient,"
            " country, received_at_ms, raw_request_id) VALUES"
            " ('twilio-sms', 'twilio', ?, ?, 'sms', 'delivered', 'delivered',"
            " '+447700900123', 'GB', ?, ?)",
            ((key(i), key(i)[:34], T0 + i, i + 1) for i in rows))
        db.executemany(
            "INSERT INTO verifications(source, verification_id, provider,"
            " channel, status, status_rank, recipient, country,"
            " first_event_at_ms, updated_at_ms) VALUES ('twilio-sms', ?,"
            " 'twilio', 'sms', 'delivered', 4, '+447700900123', 'GB', ?, ?)",
            ((key(i)[:34], T0 + i, T0 + i) for i in rows))
    db.execute("COMMIT")


def sizes(db):
    return dict(db.execute(
        "SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall())


def report(title, by_name, n, names=None):
    print(f"\n{title}")
    total = 0
    for name, size in sorted(by_name.items(), key=lambda kv: -kv[1]):
        total += size
        if (names is None and size / n >= 0.05) or (names and name in names):
            print(f"  {name:40s} {size / n:8.1f} B/event")
    print(f"  {'total (file)':40s} {total / n:8.1f} B/event")
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--dir", default=tempfile.gettempdir())
    a = ap.parse_args()
    n = a.events
    with tempfile.TemporaryDirectory(dir=a.dir) as d:
        path = os.path.join(d, "dlrd.db")
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        migrate(db, schema(3))
        t = time.monotonic()
        fill(db, n)
        print(f"{n} events at schema 3 built in {time.monotonic() - t:.1f} s")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        before = report("before 0004 (schema 3)", sizes(db), n)

        t = time.monotonic()
        migrate(db, schema(99, 4))
        print(f"\n0004 applied to {n} events in "
              f"{(time.monotonic() - t) * 1000:.1f} ms")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        after = report("after 0004, at ingest", sizes(db), n)
        print(f"  extra per stored event: {(after - before) / n:.1f} B")

        # Retention moved every key to dedupe_keys (hash + first_seen_ms).
        t = time.monotonic()
        db.execute("BEGIN")
        source = b"twilio-sms\0"
        db.executemany(
            "INSERT INTO dedupe_keys(key_hash, first_seen_ms) VALUES (?, ?)",
            ((hashlib.sha256(source + key(i).encode()).digest()[:16], T0 + i)
             for i in range(n)))
        db.execute("COMMIT")
        print(f"\n{n} keys archived in {time.monotonic() - t:.1f} s")
        report("dedupe_keys once the events are pruned", sizes(db), n,
               {"dedupe_keys", "dedupe_keys_by_time"})

        # The alternative: the key text written at ingest, per event.
        db.executescript(
            "CREATE TABLE alt_keys (source TEXT NOT NULL, dedupe_key TEXT"
            " NOT NULL, first_seen_ms INTEGER NOT NULL, PRIMARY KEY (source,"
            " dedupe_key)) WITHOUT ROWID;"
            "CREATE INDEX alt_keys_by_time ON alt_keys (first_seen_ms);")
        t = time.monotonic()
        db.execute("INSERT INTO alt_keys SELECT source, dedupe_key,"
                   " received_at_ms FROM delivery_events")
        print(f"\nalternative backfill (INSERT ... SELECT of {n} text keys):"
              f" {time.monotonic() - t:.1f} s")
        report("alternative: (source, dedupe_key) text written at ingest",
               sizes(db), n, {"alt_keys", "alt_keys_by_time"})
        db.close()


if __name__ == "__main__":
    main()
