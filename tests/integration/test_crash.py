#!/usr/bin/env python3
"""T1 (docs/reliability.md §7.1), scaled to CI: kill -9 under load, acked ⊆ stored.

Each round starts dlrd on the same database, drives it with CLIENTS threads
posting unique signed events (one connection per request), records every id
answered 200 "accepted", and `kill -9`s dlrd after a random 0.5-2.5 s. After
every round (dlrd dead, WAL not checkpointed) and at the end:
  - every acked id has exactly one row in delivery_events (lost = 0),
  - no id has two rows (dup_rows = 0),
  - PRAGMA integrity_check = ok and PRAGMA foreign_key_check is empty.
The run must ack more than MIN_ACKED events so it cannot pass vacuously.

Seed: $DLRD_IT_SEED (printed on every run for reproduction).
Run: DLRD_BIN=./build/dlrd python3 tests/integration/test_crash.py
"""

import os
import random
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dlrd_harness as h  # noqa: E402

SECRET = "crash-it-secret-5e0a"
SOURCE = "verifynow"
ROUNDS = 5
CLIENTS = 8
MIN_ACKED = 200
KILL_AFTER_S = (0.5, 2.5)


class Client(threading.Thread):
    def __init__(self, port, tag, stop):
        super().__init__(daemon=True)
        self.port, self.tag, self.stop = port, tag, stop
        self.acked = []       # ids answered 200 accepted
        self.ambiguous = 0    # sent, no response (killed mid-request)
        self.unexpected = []  # (id, status, body) for anything else
        self.n503 = 0

    def run(self):
        n = 0
        while not self.stop.is_set():
            n += 1
            vid = "%s-%d" % (self.tag, n)
            body = h.verifynow_body(vid, "DELIVERED", "SMS", n % 5000)
            try:
                r = h.post_signed(self.port, SOURCE, SECRET, body, timeout=5)
            except OSError:
                # Refused once dead; reset/EOF if killed mid-request.
                self.ambiguous += 1
                if not self.stop.wait(0.005):
                    continue
                return
            if r.status == 200 and r.json() == {"status": "accepted"}:
                self.acked.append(vid)
            elif r.status == 503:
                self.n503 += 1
            else:
                self.unexpected.append((vid, r.status, r.body))


class CrashRecovery(unittest.TestCase):
    def setUp(self):
        self.seed = int(os.environ.get("DLRD_IT_SEED", random.randrange(1 << 30)))
        print("\ntest_crash: seed=%d (set DLRD_IT_SEED to reproduce)"
              % self.seed, file=sys.stderr)
        self.rng = random.Random(self.seed)
        self.tmp = h.make_tempdir(prefix="dlrd-crash-")
        self.addCleanup(self.tmp.cleanup)
        self.d = h.Dlrd({SOURCE: h.verifynow_source(["DLRD_IT_CRASH"])},
                        {"DLRD_IT_CRASH": SECRET}, workdir=self.tmp.name,
                        extra_config={"io_threads": 2})
        self.addCleanup(self.d.cleanup)

    def check_db(self, acked, label):
        with h.closing_db(self.d.db_path) as c:
            self.assertEqual(c.execute("PRAGMA integrity_check").fetchall(),
                             [("ok",)], "%s: integrity_check" % label)
            self.assertEqual(c.execute("PRAGMA foreign_key_check").fetchall(),
                             [], "%s: foreign_key_check" % label)
            stored = {}
            for vid, n in c.execute(
                    "SELECT verification_id, COUNT(*) FROM delivery_events"
                    " WHERE source=? GROUP BY verification_id", (SOURCE,)):
                stored[vid] = n
        lost = [v for v in acked if v not in stored]
        self.assertEqual(lost[:20], [], "%s: %d acked ids lost (first 20 shown)"
                         % (label, len(lost)))
        dups = {v: n for v, n in stored.items() if n != 1}
        self.assertEqual(dups, {}, "%s: duplicate rows" % label)
        return len(stored)

    def test_kill9_under_load_loses_no_acked_event(self):
        t0 = time.monotonic()
        acked = []
        ambiguous = n503 = 0
        ready_times = []
        for rnd in range(1, ROUNDS + 1):
            self.d.start()
            ready_times.append(self.d.ready_after_s)
            stop = threading.Event()
            clients = [Client(self.d.port, "r%d-c%d" % (rnd, i), stop)
                       for i in range(CLIENTS)]
            for c in clients:
                c.start()
            time.sleep(self.rng.uniform(*KILL_AFTER_S))
            self.d.kill()  # SIGKILL: no shutdown path runs
            stop.set()
            for c in clients:
                c.join(timeout=15)
                self.assertFalse(c.is_alive(), "client thread hung")
            round_acked = [v for c in clients for v in c.acked]
            unexpected = [u for c in clients for u in c.unexpected]
            self.assertEqual(unexpected, [], "round %d: unexpected answers"
                             % rnd)
            acked += round_acked
            ambiguous += sum(c.ambiguous for c in clients)
            n503 += sum(c.n503 for c in clients)
            rows = self.check_db(acked, "round %d" % rnd)
            print("test_crash: round %d acked=%d total_acked=%d rows=%d "
                  "ready_after=%.3fs" % (rnd, len(round_acked), len(acked),
                                         rows, ready_times[-1]),
                  file=sys.stderr)

        # dlrd restarts cleanly on the crashed database and still ingests.
        self.d.start()
        vid = "final-%d" % self.seed
        r = h.post_signed(self.d.port, SOURCE, SECRET,
                          h.verifynow_body(vid, "DELIVERED", "SMS", 1))
        self.assertEqual(r.status, 200, r)
        self.d.stop(expect_rc=0)
        acked.append(vid)
        rows = self.check_db(acked, "final")

        self.assertGreater(len(acked), MIN_ACKED,
                           "too few acks to mean anything")
        self.assertEqual(len(set(acked)), len(acked))
        print("test_crash: rounds=%d acked=%d rows=%d ambiguous=%d 503=%d "
              "max_ready=%.3fs elapsed=%.1fs"
              % (ROUNDS, len(acked), rows, ambiguous, n503, max(ready_times),
                 time.monotonic() - t0), file=sys.stderr)


if __name__ == "__main__":
    h.main()
