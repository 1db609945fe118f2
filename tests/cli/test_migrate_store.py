#!/usr/bin/env python3
"""`dlrd migrate-store` through the binary, on the suite's PostgreSQL server.

A SQLite file is created and migrated by the real daemon (`dlrd serve`,
started once and stopped), then every table is filled with rows that stress
the copy: bytes with NUL and every byte value, NULL latency_ms, unicode and
control characters in text, int64 extremes. After the copy, PostgreSQL must
hold exactly the same rows, table by table and column by column (ordered by
key, bytea compared byte for byte), the outbox's PostgreSQL-only columns keep
their defaults, each BIGSERIAL continues after the copied ids,
quarantine_totals equals the sums over quarantine (not doubled). A second run
is refused (target not empty), a SQLite file at another schema version is
refused with a message naming `dlrd serve`, a value PostgreSQL refuses in the
LAST table leaves the target empty (one transaction), and usage errors exit 2.

Needs DLRD_BIN and DLRD_TEST_PG_STATE (ctest fixture `pg`).
"""
import glob
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import dlrd_harness  # noqa: E402

SCHEMA_DIR = os.path.join(HERE, "..", "..", "schema")
LATEST = max(int(os.path.basename(p)[:4])
             for p in glob.glob(os.path.join(SCHEMA_DIR, "[0-9]*.sql")))

# Tables the copy must carry (quarantine_totals is rebuilt by triggers).
TABLES = [
    "raw_requests", "delivery_events", "verifications", "dedupe_keys",
    "fallback_roots", "fallback_steps", "outbox", "opt_outs",
    "fallback_decisions", "stats_hourly", "stats_latency", "stats_errors",
    "stats_daily", "stats_latency_daily", "stats_errors_daily", "quarantine",
]
SERIAL_TABLES = ["raw_requests", "delivery_events", "outbox",
                 "fallback_decisions", "quarantine"]

N_EVENTS = int(os.environ.get("DLRD_MIGRATE_EVENTS", "3000"))
ALL_BYTES = bytes(range(256))
UNICODE = "Zoë 東京 ✓ 🚀"
NASTY = "tab\there\nnew\rline back\\slash \\N |pipe, \"quote\" 'single'"


def pg_uri_admin():
    state = os.environ.get("DLRD_TEST_PG_STATE")
    if not state:
        raise AssertionError("DLRD_TEST_PG_STATE is not set: run via ctest (fixture pg)")
    with open(os.path.join(state, "uri")) as f:
        return f.readline().strip()


def psql(uri, sql):
    r = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", uri],
                       input=sql, capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError("psql: %s: %s" % (sql, r.stderr))
    return r.stdout.rstrip("\n")


def seed(db, n_events):
    """Fills every table of a migrated SQLite file; returns nothing."""
    c = sqlite3.connect(db)
    c.execute("PRAGMA foreign_keys=ON")
    base = 1_709_251_200_000
    raw, events = [], []
    for i in range(1, n_events + 1):
        head = b"POST /cb HTTP/1.1\r\nX-Nul: a\x00b\r\n\r\n"
        body = (ALL_BYTES if i % 7 == 0 else b'{"id":"v%d","s":"\x00"}' % i)
        raw.append((i * 2, "src\u00e9", base + i, "/cb?q=%d&u=" % i + UNICODE,
                    head, body))
        events.append((i * 3, "src\u00e9", "verifynow", "key-%d" % i,
                       "ver-%d" % i, "msg-%d" % i, "sms",
                       "delivered" if i % 3 else "failed", "DELIVRD",
                       "" if i % 5 else "E%d" % i,
                       None if i % 4 == 0 else i * 10,
                       "+447700900%03d" % (i % 1000),
                       "GB" if i % 2 else "", base + i, i * 2))
    c.executemany("INSERT INTO raw_requests VALUES (?,?,?,?,?,?)", raw)
    c.executemany("INSERT INTO delivery_events VALUES "
                  "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", events)
    c.executemany("INSERT INTO verifications VALUES (?,?,?,?,?,?,?,?,?,?)",
                  [("src\u00e9", "ver-%d" % i, "verifynow", "sms", "delivered",
                    4, UNICODE if i == 1 else "+447700900%03d" % (i % 1000),
                    "GB", base + i, base + i + 5)
                   for i in range(1, n_events + 1)])
    c.executemany("INSERT INTO dedupe_keys VALUES (?,?)",
                  [(bytes([0, i % 256, 0, 255]) + b"\x00" * 12, base - i)
                   for i in range(1, 200)])
    c.executemany("INSERT INTO fallback_roots VALUES (?,?,?,?,?,?,?)",
                  [("s", "root-%d" % i, "+4477009001%02d" % i, "GB", i % 2,
                    0, base + i) for i in range(1, 51)])
    c.executemany("INSERT INTO fallback_steps VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                  [("s", "root-%d" % i, step, "sms" if step == 0 else "voice",
                    "verifynow", "fv-%d-%d" % (i, step), "delivered", 4,
                    base + i, base + i + 60000, step, step % 2)
                   for i in range(1, 51) for step in range(3)])
    c.executemany("INSERT INTO outbox (id, source, root_id, step, provider, "
                  "channel, recipient, state, attempts, next_attempt_at_ms, "
                  "last_error, provider_ref, idempotency_key, recovered, "
                  "created_at_ms, updated_at_ms) "
                  "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                  [(i * 5, "s", "root-%d" % i, 1, "verifynow", "voice",
                    "+4477009001%02d" % i, "dead" if i % 3 == 0 else "accepted",
                    i % 4, base + i, NASTY if i == 1 else "", "ref-%d" % i,
                    "idem-%d" % i, i % 2, base, base + i)
                   for i in range(1, 51)])
    c.executemany("INSERT INTO opt_outs VALUES (?,?,?,?)",
                  [("+4477009002%02d" % i, "s", "STOP " + UNICODE, base + i)
                   for i in range(1, 21)])
    c.executemany("INSERT INTO fallback_decisions VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                  [(i * 7, "s", "root-%d" % i, 0, "deadline", "sms", "voice",
                    "escalate", NASTY, i % 2, base + i) for i in range(1, 51)])
    hours = [base + h * 3_600_000 for h in range(48)]
    c.executemany("INSERT INTO stats_hourly VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                  [(h, "s", "verifynow", "sms", "GB", 10, 9, 8, 1, 7, 2, 1, 1,
                    0) for h in hours])
    c.executemany("INSERT INTO stats_latency VALUES (?,?,?,?,?,?,?,?,?)",
                  [(h, "s", "verifynow", "sms", "GB", "provider", -1, b, b + 1)
                   for h in hours for b in range(19)])
    c.executemany("INSERT INTO stats_errors VALUES (?,?,?,?,?,?,?)",
                  [(h, "s", "verifynow", "sms", "GB", "E" + UNICODE, 3)
                   for h in hours])
    days = [base, base + 86_400_000]
    c.executemany("INSERT INTO stats_daily VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                  [(d, "s", "verifynow", "sms", "GB", 240, 216, 192, 24, 168,
                    48, 24, 24, 2**62) for d in days])
    c.executemany("INSERT INTO stats_latency_daily VALUES (?,?,?,?,?,?,?,?,?)",
                  [(d, "s", "verifynow", "sms", "GB", "derived", 1, b, -(2**63))
                   for d in days for b in range(19)])
    c.executemany("INSERT INTO stats_errors_daily VALUES (?,?,?,?,?,?,?)",
                  [(d, "s", "verifynow", "sms", "", "E" + UNICODE, 72)
                   for d in days])
    c.executemany("INSERT INTO quarantine VALUES (?,?,?,?,?,?)",
                  [(i * 11, "s", base + i, "bad_signature",
                    b"POST / HTTP/1.1\r\n\x00\r\n\r\n", ALL_BYTES * (i % 3))
                   for i in range(1, 41)])
    c.commit()
    c.close()


def sqlite_rows(db, table):
    """(columns, rows) of `table` in primary-key order, JSON-comparable."""
    c = sqlite3.connect(db)
    info = c.execute("SELECT name, pk FROM pragma_table_info(?)",
                     (table,)).fetchall()
    cols = [r[0] for r in info]
    key = [r[0] for r in sorted((r for r in info if r[1] > 0),
                                key=lambda r: r[1])]
    rows = c.execute("SELECT %s FROM %s ORDER BY %s" % (
        ", ".join(cols), table, ", ".join(key))).fetchall()
    c.close()
    out = [[("\\x" + v.hex()) if isinstance(v, bytes) else v for v in r]
           for r in rows]
    return cols, key, out


def pg_rows(uri, table, cols, key):
    text = psql(uri, "SELECT json_build_array(%s) FROM %s ORDER BY %s" % (
        ", ".join(cols), table, ", ".join(key)))
    return [json.loads(line) for line in text.split("\n")] if text else []


class MigrateStore(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="dlrd-migrate-")
        # The real daemon creates the file and migrates it to LATEST.
        d = dlrd_harness.Dlrd({"v": dlrd_harness.verifynow_source(["V_SECRET"])},
                              {"V_SECRET": "s3cret"}, workdir=cls.dir)
        d.start()
        d.stop()
        cls.db = d.db_path
        c = sqlite3.connect(cls.db)
        assert c.execute("PRAGMA user_version").fetchone()[0] == LATEST
        c.close()
        seed(cls.db, N_EVENTS)
        cls.admin = pg_uri_admin()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def new_pg(self):
        name = "mig_" + uuid.uuid4().hex[:12]
        psql(self.admin, "CREATE DATABASE " + name)
        self.addCleanup(psql, self.admin,
                        "DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
        return self.admin[:self.admin.rfind("/") + 1] + name

    def run_migrate(self, *args):
        return subprocess.run([os.environ["DLRD_BIN"], "migrate-store", *args],
                              capture_output=True, text=True, timeout=600)

    def copy_of(self, version=None):
        path = os.path.join(self.dir, "copy-%s.db" % uuid.uuid4().hex[:6])
        src = sqlite3.connect(self.db)
        dst = sqlite3.connect(path)
        src.backup(dst)
        if version is not None:
            dst.execute("PRAGMA user_version=%d" % version)
            dst.commit()
        src.close()
        dst.close()
        return path

    def test_copy_is_exact_and_complete(self):
        uri = self.new_pg()
        t0 = time.monotonic()
        r = self.run_migrate("--from", self.db, "--to", uri)
        elapsed = time.monotonic() - t0
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        sys.stderr.write("\n%s(wall %.3f s)\n" % (r.stdout, elapsed))
        # Every table, every row, every column.
        for table in TABLES:
            with self.subTest(table=table):
                cols, key, want = sqlite_rows(self.db, table)
                self.assertGreater(len(want), 0, "seed left %s empty" % table)
                got = pg_rows(uri, table, cols, key)
                self.assertEqual(len(got), len(want))
                self.assertEqual(got, want)
                self.assertRegex(r.stdout, r"\b%s\s+%d rows" % (table, len(want)))
        # The outbox's PostgreSQL-only columns keep their defaults.
        self.assertEqual(psql(uri, "SELECT DISTINCT claimed_by || '|' || "
                                   "lease_until_ms FROM outbox"), "|0")
        # Sequences continue after the copied ids.
        for table in SERIAL_TABLES:
            with self.subTest(sequence=table):
                top = int(psql(uri, "SELECT max(id) FROM " + table))
                cols = {
                    "raw_requests": "(source, received_at_ms, target, head, body) "
                                    "VALUES ('s', 1, '/', '\\x00', '')",
                    "delivery_events": "(source, provider, dedupe_key, "
                        "verification_id, channel, status, raw_status, "
                        "received_at_ms, raw_request_id) VALUES "
                        "('s','p','new','v','sms','sent','x',1,2)",
                    "outbox": "(source, root_id, step, provider, channel, "
                        "recipient, next_attempt_at_ms, idempotency_key, "
                        "created_at_ms, updated_at_ms) VALUES "
                        "('s','new',1,'p','sms','+1',1,'k',1,1)",
                    "fallback_decisions": "(source, root_id, step, trigger, "
                        "from_channel, result, at_ms) VALUES "
                        "('s','r',0,'event','sms','none',1)",
                    "quarantine": "(source, received_at_ms, reason, head, body)"
                                  " VALUES ('s', 1, 'r', '', '')",
                }[table]
                new_id = int(psql(uri, "INSERT INTO %s %s RETURNING id"
                                  % (table, cols)))
                psql(uri, "DELETE FROM %s WHERE id = %d" % (table, new_id))
                self.assertEqual(new_id, top + 1)
        # quarantine_totals: the sums over the copied rows, as in SQLite.
        totals = psql(uri, "SELECT rows || ',' || bytes FROM quarantine_totals")
        sums = psql(uri, "SELECT count(*) || ',' || "
                         "sum(length(head) + length(body)) FROM quarantine")
        self.assertEqual(totals, sums)
        c = sqlite3.connect(self.db)
        lite = "%d,%d" % c.execute(
            "SELECT rows, bytes FROM quarantine_totals").fetchone()
        c.close()
        self.assertEqual(totals, lite)

        # A second run finds the target not empty and changes nothing.
        before = psql(uri, "SELECT count(*) FROM delivery_events")
        again = self.run_migrate("--from", self.db, "--to", uri)
        self.assertEqual(again.returncode, 1, again.stdout)
        self.assertIn("not empty", again.stderr)
        self.assertEqual(psql(uri, "SELECT count(*) FROM delivery_events"), before)

    def test_other_schema_versions_are_refused(self):
        for version in (LATEST - 1, LATEST + 1):
            with self.subTest(version=version):
                uri = self.new_pg()
                r = self.run_migrate("--from", self.copy_of(version), "--to", uri)
                self.assertEqual(r.returncode, 1, r.stdout)
                self.assertIn("schema version %d" % version, r.stderr)
                if version < LATEST:
                    self.assertIn("dlrd serve", r.stderr)
                # Refused before the target was touched.
                self.assertEqual(psql(uri, "SELECT count(*) FROM pg_tables "
                                           "WHERE schemaname = 'public'"), "0")

    def test_a_refused_row_in_the_last_table_leaves_the_target_empty(self):
        path = self.copy_of()
        c = sqlite3.connect(path)
        # Not UTF-8: PostgreSQL refuses it, in the last table copied.
        c.execute("UPDATE quarantine SET reason = CAST(X'ff' AS TEXT) "
                  "WHERE id = (SELECT max(id) FROM quarantine)")
        c.commit()
        c.close()
        uri = self.new_pg()
        r = self.run_migrate("--from", path, "--to", uri)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("quarantine", r.stderr)
        self.assertIn("nothing was copied", r.stderr)
        for table in TABLES:
            self.assertEqual(psql(uri, "SELECT count(*) FROM " + table), "0",
                             table)
        self.assertEqual(psql(uri, "SELECT rows FROM quarantine_totals"), "0")

    def test_an_unknown_table_is_refused(self):
        path = self.copy_of()
        c = sqlite3.connect(path)
        c.execute("CREATE TABLE new_feature (x INTEGER)")
        c.commit()
        c.close()
        r = self.run_migrate("--from", path, "--to", self.new_pg())
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("new_feature", r.stderr)

    def test_usage_errors_exit_2(self):
        uri = "postgresql://nobody@127.0.0.1:1/x"
        for args in (["--from", self.db], ["--to", uri],
                     ["--from", "/no/such/file.db", "--to", uri],
                     ["--from", self.db, "--to", "/tmp/other.db"]):
            with self.subTest(args=args):
                self.assertEqual(self.run_migrate(*args).returncode, 2)

    def test_a_password_on_the_command_line_is_refused(self):
        r = self.run_migrate("--from", self.db, "--to",
                             "postgresql://dlrd:hunter2@127.0.0.1:1/x")
        self.assertEqual(r.returncode, 2)
        self.assertIn("contains a password", r.stderr)
        self.assertNotIn("hunter2", r.stderr)

    def test_unreachable_target_exits_1(self):
        r = self.run_migrate("--from", self.db, "--to",
                             "postgresql://nobody@127.0.0.1:1/x?connect_timeout=2")
        self.assertEqual(r.returncode, 1)
        self.assertIn("target", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
