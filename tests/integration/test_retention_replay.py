#!/usr/bin/env python3
"""A captured callback replayed after retention pruned its event is still a
duplicate (schema/0004_dedupe_keys.sql, store/sqlite_retention.h).

The `hmac` scheme signs only the body, with no timestamp: the same bytes
verify forever, so only the dedupe key tells a replay from a new callback.
dlrd has no injectable clock, so the test ages the stored rows instead:
  1. a callback is accepted and stored;
  2. dlrd stops; the rows are moved 10 days into the past;
  3. dlrd restarts with retention.events_days = 2; its first pass prunes
     the event, raw request and verification;
  4. the exact request bytes, sent again, are answered 200 "duplicate" and
     nothing is stored; a callback never seen before is still accepted.

Run: DLRD_BIN=./build/dlrd python3 tests/integration/test_retention_replay.py
"""

import os
import sys
import time
import unittest

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dlrd_harness as h  # noqa: E402

SECRET = "retention-replay-secret-7f2c"
DAY_MS = 86_400_000


class RetentionReplayTest(unittest.TestCase):
    def setUp(self):
        self.tmp = h.make_tempdir()
        self.d = h.Dlrd({"vn": h.verifynow_source(["VN_SECRET"])},
                        {"VN_SECRET": SECRET}, workdir=self.tmp.name,
                        extra_config={"retention": {"events_days": 2,
                                                    "interval_s": 1}})
        self.addCleanup(self.tmp.cleanup)
        self.addCleanup(self.d.cleanup)

    def post(self, body):
        return h.post_signed(self.d.port, "vn", SECRET, body)

    def count(self, table):
        return self.d.count("SELECT COUNT(*) FROM %s" % table)

    def test_replay_after_retention_is_duplicate(self):
        body = h.verifynow_body(h.unique_id("replay"), "DELIVERED", "SMS",
                                with_recipient=True)
        self.d.start()
        r = self.post(body)
        self.assertEqual((r.status, r.json()), (200, {"status": "accepted"}))
        self.d.stop()

        with h.closing_db(self.d.db_path) as c:
            shift = 10 * DAY_MS
            c.execute("UPDATE delivery_events SET received_at_ms ="
                      " received_at_ms - ?", (shift,))
            c.execute("UPDATE raw_requests SET received_at_ms ="
                      " received_at_ms - ?", (shift,))
            c.execute("UPDATE verifications SET first_event_at_ms ="
                      " first_event_at_ms - ?, updated_at_ms ="
                      " updated_at_ms - ?", (shift, shift))
            c.commit()

        self.d.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (
                self.count("delivery_events") or self.count("raw_requests")
                or self.count("verifications")):
            time.sleep(0.1)
        self.assertEqual(self.count("delivery_events"), 0, self.d.log_tail())
        self.assertEqual(self.count("raw_requests"), 0, self.d.log_tail())
        self.assertEqual(self.count("dedupe_keys"), 1)

        # The captured request, byte for byte: still valid, still a duplicate.
        r = self.post(body)
        self.assertEqual((r.status, r.json()), (200, {"status": "duplicate"}))
        self.assertEqual(self.count("delivery_events"), 0)
        self.assertEqual(self.count("raw_requests"), 0)
        self.assertEqual(self.count("verifications"), 0)

        fresh = h.verifynow_body(h.unique_id("fresh"), "DELIVERED", "SMS")
        r = self.post(fresh)
        self.assertEqual((r.status, r.json()), (200, {"status": "accepted"}))
        self.assertEqual(self.count("delivery_events"), 1)
        self.d.stop()


if __name__ == "__main__":
    h.main()
