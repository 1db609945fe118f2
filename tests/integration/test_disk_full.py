#!/usr/bin/env python3
"""Disk full (ENOSPC): 503 with Retry-After, no acknowledged loss, and
ingest resumes by itself once space returns.

The database lives on a real, small tmpfs (mounted by the test, so it needs
root, as CI has). A filler file takes the free space while signed clients
post unique events. Then:
  - requests are answered 503 with Retry-After (never 200 for an event that
    did not commit), and the store error is counted as error="full";
  - the daemon keeps running: a failed write() is not a failed fsync, and
    the kernel dropped no dirty page, so SQLite rolls back and carries on;
  - once the filler is removed, the same daemon accepts events again;
  - every event answered 200 is in the database, and integrity_check is ok.
"""

import os
import subprocess
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dlrd_harness as h  # noqa: E402

SECRET = "disk-full-it-secret-41a0"
SOURCE = "verifynow"



class Poster(threading.Thread):
    """Posts unique ~1 KiB signed events until stopped."""

    def __init__(self, port, tag, stop):
        super().__init__(daemon=True)
        self.port, self.tag, self.stop = port, tag, stop
        self.acked, self.n503, self.no_retry_after, self.other = [], 0, 0, []
        self.lock = threading.Lock()

    def run(self):
        n = 0
        while not self.stop.is_set():
            n += 1
            vid = "%s-%d-%s" % (self.tag, n, "x" * 900)
            try:
                r = h.post_signed(self.port, SOURCE, SECRET,
                                  h.verifynow_body(vid), timeout=10)
            except OSError as e:
                self.other.append(repr(e))
                continue
            with self.lock:
                if r.status == 200:
                    self.acked.append(vid)
                elif r.status == 503:
                    self.n503 += 1
                    if r.header("Retry-After") is None:
                        self.no_retry_after += 1
                else:
                    self.other.append((r.status, r.body))

    def snapshot(self):
        with self.lock:
            return len(self.acked), self.n503


def fill(path):
    """Writes zeros to `path` until the filesystem is full."""
    with open(path, "wb") as f:
        block = b"\0" * 65536
        try:
            while True:
                f.write(block)
                f.flush()
        except OSError:
            pass
        try:
            os.fsync(f.fileno())
        except OSError:
            pass


def wait_until(pred, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


class DiskFull(unittest.TestCase):
    def setUp(self):
        self.tmp = h.make_tempdir(prefix="dlrd-full-")
        self.addCleanup(self.tmp.cleanup)
        self.mnt = os.path.join(self.tmp.name, "mnt")
        os.mkdir(self.mnt)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs",
                        self.mnt], check=True, timeout=10)
        self.addCleanup(subprocess.run, ["umount", "-l", self.mnt],
                        timeout=10)

    def test_enospc_answers_503_then_ingest_resumes_without_restart(self):
        db = os.path.join(self.mnt, "dlrd.db")
        d = h.Dlrd({SOURCE: h.verifynow_source(["DLRD_IT_FULL"])},
                   {"DLRD_IT_FULL": SECRET}, workdir=self.tmp.name,
                   extra_config={"database": db})
        d.db_path = db
        self.addCleanup(d.cleanup)
        d.start()

        stop = threading.Event()
        posters = [Poster(d.port, "p%d" % i, stop) for i in range(3)]
        for p in posters:
            p.start()
        try:
            self.assertTrue(wait_until(
                lambda: sum(p.snapshot()[0] for p in posters) >= 30, 30),
                "load did not get going")
            filler = os.path.join(self.mnt, "filler")
            fill(filler)
            # The WAL reuses its own space for a while; then it must grow.
            self.assertTrue(wait_until(
                lambda: sum(p.snapshot()[1] for p in posters) >= 20, 60),
                "no 503 after the disk filled; log:\n" + d.log_tail())
            self.assertTrue(d.running(), d.log_tail())
            m = h.parse_metrics(h.http_get(d.admin_port, "/metrics")
                                .body.decode())[0]
            full = sum(v for k, v in m.items()
                       if k[0] == "dlrd_store_errors_total"
                       and dict(k[1]).get("error") == "full")
            self.assertGreater(full, 0)

            # Space returns: the same process accepts events again.
            acked_before = sum(p.snapshot()[0] for p in posters)
            os.unlink(filler)
            self.assertTrue(wait_until(
                lambda: sum(p.snapshot()[0] for p in posters)
                >= acked_before + 30, 30),
                "ingest did not resume; log:\n" + d.log_tail())
            self.assertTrue(d.running())
        finally:
            stop.set()
            for p in posters:
                p.join(timeout=15)

        self.assertEqual(sum(p.no_retry_after for p in posters), 0)
        self.assertEqual([o for p in posters for o in p.other], [])
        d.stop()
        acked = [v for p in posters for v in p.acked]
        with h.closing_db(db) as c:
            self.assertEqual(c.execute("PRAGMA integrity_check").fetchall(),
                             [("ok",)])
            stored = {r[0] for r in c.execute(
                "SELECT verification_id FROM delivery_events")}
        lost = [v[:12] for v in acked if v not in stored]
        self.assertEqual(lost, [], "acknowledged but not stored")


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("test_disk_full: needs root to mount a tmpfs; skipped")
        sys.exit(h.SKIP_EXIT_CODE)
    h.main()
