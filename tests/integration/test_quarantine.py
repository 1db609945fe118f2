#!/usr/bin/env python3
"""Quarantine (docs/reliability.md §6.3, schema/0005_quarantine.sql).

A source configured with a WRONG secret answers its provider's genuine
callbacks 401; providers such as Twilio Event Streams, Vonage and Sinch
drop those for good. dlrd keeps them, capped, and `dlrd quarantine replay`
ingests the ones that verify under the secrets configured now:
  1. genuine callbacks (signed with the right secret) and forged ones are
     answered 401 and kept in the quarantine; nothing is an event;
  2. `quarantine list` shows one line per row, without bodies or secrets;
  3. the config file is fixed (the right secret) and `quarantine replay`
     runs while the daemon runs: exactly the genuine callbacks are stored,
     with their original receive time, a callback sent twice is stored
     once (normal dedupe), and the forged rows stay;
  4. replay again stores nothing new;
  5. with quarantine.max_rows small, a forged flood keeps at most max_rows
     rows and counts every drop (dlrd_quarantine_dropped_total).
The gauges dlrd_quarantine_rows/_bytes follow the table within their
one-second refresh. test_postgres.py runs this class again on PostgreSQL.

Run: DLRD_BIN=./build/dlrd python3 tests/integration/test_quarantine.py
"""

import json
import os
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dlrd_harness as h  # noqa: E402

RIGHT = "quarantine-right-secret-4b1d"
WRONG = "quarantine-mistyped-secret-4b1e"
FORGER = "forger-guessing-secret-0000"


class QuarantineTest(unittest.TestCase):
    def database(self):
        """None: SQLite in the work dir."""
        return None

    def start(self, extra=None):
        self.tmp = h.make_tempdir()
        self.addCleanup(self.tmp.cleanup)
        self.d = h.Dlrd({"vn": h.verifynow_source(["VN_SECRET"])},
                        {"VN_SECRET": WRONG}, workdir=self.tmp.name,
                        extra_config=extra, database=self.database())
        self.addCleanup(self.d.cleanup)
        self.d.start()

    def on_postgres(self):
        return self.d.db_path.startswith("postgresql://")

    def hex(self, column):
        """SQL giving a bytes column as lower-case hex, on either backend."""
        if self.on_postgres():
            return "encode(%s, 'hex')" % column
        return "lower(hex(%s))" % column

    def rows(self, sql):
        """The rows of `sql` with every value as a string."""
        if self.on_postgres():
            return [tuple(r) for r in h.psql(self.d.db_path, sql)]
        with h.closing_db(self.d.db_path) as c:
            return [tuple(str(v) for v in r) for r in c.execute(sql)]

    def wait_gauge(self, name, want, timeout=10.0):
        """The gauge's value once it equals `want` (refreshed each second)."""
        deadline = time.monotonic() + timeout
        while True:
            got = h.metric(self.samples(), name)
            if got == want or time.monotonic() > deadline:
                return got
            time.sleep(0.1)

    def cli(self, *args):
        # No VN_SECRET in the CLI's environment: the fixed config file
        # names the right secret through file:.
        env = {k: v for k, v in os.environ.items() if k != "VN_SECRET"}
        p = subprocess.run([self.d.binary, "quarantine"] + list(args) +
                           ["--config", self.d.config_path],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        return p.stdout.decode()

    def fix_config(self):
        secret_file = os.path.join(self.d.dir, "vn.secret")
        with open(secret_file, "w") as f:
            f.write(RIGHT + "\n")
        os.chmod(secret_file, 0o600)
        with open(self.d.config_path) as f:
            cfg = json.load(f)
        cfg["sources"]["vn"]["signature"]["secrets"] = ["file:" + secret_file]
        with open(self.d.config_path, "w") as f:
            json.dump(cfg, f, indent=2)

    def samples(self):
        return h.parse_metrics(self.d.metrics())[0]

    def wait_rows(self, n, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.d.count("SELECT COUNT(*) FROM quarantine") >= n:
                return
            time.sleep(0.05)
        self.fail("quarantine never reached %d rows" % n)

    def test_genuine_callbacks_replay_once_and_forgeries_stay(self):
        # Room for every write even if the writer is slow (ASan, a loaded
        # machine): this test is about replay, not about the queue bound.
        self.start({"quarantine": {"max_queued": 64}})
        genuine = [h.verifynow_body(h.unique_id("genuine")) for _ in range(3)]
        forged = [h.verifynow_body(h.unique_id("forged")) for _ in range(4)]
        secret_header = ("Authorization", "Basic c2VjcmV0OnNlY3JldA==")
        for body in genuine:
            r = h.post_signed(self.d.port, "vn", RIGHT, body,
                              extra_headers=[secret_header])
            self.assertEqual(r.status, 401)
        # The provider's own retry of the first one: the same bytes.
        r = h.post_signed(self.d.port, "vn", RIGHT, genuine[0])
        self.assertEqual(r.status, 401)
        for body in forged:
            r = h.post_signed(self.d.port, "vn", FORGER, body)
            self.assertEqual(r.status, 401)
        self.wait_rows(8)
        self.assertEqual(self.d.count(), 0)  # never an event
        self.assertEqual(self.d.count("SELECT COUNT(*) FROM raw_requests"), 0)
        heads = [bytes.fromhex(x) for (x,) in
                 self.rows("SELECT %s FROM quarantine" % self.hex("head"))]
        # The first receive of each body (genuine[0] came twice).
        received = {bytes.fromhex(b): int(t) for b, t in self.rows(
            "SELECT %s, MIN(received_at_ms) FROM quarantine GROUP BY body"
            % self.hex("body"))}
        self.assertFalse(any(b"c2VjcmV0OnNlY3JldA" in x for x in heads),
                         "credentials must be redacted at rest")
        s = self.samples()
        self.assertEqual(h.metric(s, "dlrd_quarantine_stored_total",
                                  source="vn"), 8)
        # The size gauges follow the table.
        size = self.d.count("SELECT SUM(length(head) + length(body))"
                            " FROM quarantine")
        self.assertEqual(self.wait_gauge("dlrd_quarantine_rows", 8), 8)
        self.assertEqual(self.wait_gauge("dlrd_quarantine_bytes", size), size)

        listing = self.cli("list").strip().splitlines()
        self.assertEqual(len(listing), 8, listing)
        for line in listing:
            fields = line.split()
            self.assertEqual(len(fields), 5, line)
            self.assertEqual((fields[1], fields[3]), ("vn", "mismatch"))
        self.assertNotIn(RIGHT, "\n".join(listing))
        self.assertNotIn("verificationId", "\n".join(listing))

        self.fix_config()
        out = self.cli("replay", "--source", "vn")
        self.assertIn("replayed 4 (3 new events), still failing 4", out)
        events = {v: int(t) for v, t in self.rows(
            "SELECT verification_id, received_at_ms FROM delivery_events")}
        left = sorted(bytes.fromhex(b) for (b,) in self.rows(
            "SELECT %s FROM quarantine" % self.hex("body")))
        want = {json.loads(b)["verificationId"]: received[b] for b in genuine}
        self.assertEqual(events, want)  # original receive times
        self.assertEqual(left, sorted(forged))
        # Rows the CLI removed leave the gauge too.
        self.assertEqual(self.wait_gauge("dlrd_quarantine_rows", 4), 4)

        out = self.cli("replay")
        self.assertIn("replayed 0 (0 new events), still failing 4", out)
        self.assertEqual(self.d.count(), 3)
        # The daemon still ingests normally beside the CLI's writes.
        self.assertTrue(self.d.running())

    def test_cap_keeps_at_most_max_rows_and_counts_drops(self):
        self.start({"quarantine": {"max_rows": 5}})
        flood = 40
        for i in range(flood):
            body = h.verifynow_body(h.unique_id("flood"))
            self.assertEqual(
                h.post_signed(self.d.port, "vn", FORGER, body).status, 401)
            time.sleep(0.01)
        deadline = time.monotonic() + 10
        while True:
            s = self.samples()
            stored = h.metric(s, "dlrd_quarantine_stored_total", source="vn")
            dropped = h.metric_sum(s, "dlrd_quarantine_dropped_total")
            if stored + dropped >= flood or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(stored + dropped, flood)
        self.assertEqual(stored, 5)
        self.assertEqual(self.d.count("SELECT COUNT(*) FROM quarantine"), 5)
        self.assertEqual(self.d.count("SELECT rows FROM quarantine_totals"), 5)
        self.assertGreaterEqual(
            h.metric(s, "dlrd_quarantine_dropped_total", reason="full"), 1)
        self.assertEqual(
            h.metric(s, "dlrd_quarantine_dropped_total", reason="disabled"), 0)
        # A genuine callback with the right secret... still refused (the
        # config is wrong), and the full quarantine drops it: counted.
        r = h.post_signed(self.d.port, "vn", RIGHT, h.verifynow_body("late"))
        self.assertEqual(r.status, 401)


if __name__ == "__main__":
    h.main()
