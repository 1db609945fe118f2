#!/usr/bin/env python3
"""SIGHUP rotates secrets without a restart (src/cli/reload.h).

Checked here, against the real binary with `file:` secrets:
  - after the secret file changes and SIGHUP arrives, callbacks signed with
    the new secret are accepted and the old one is refused (401); the
    process id stays the same and nothing stored before is lost;
  - during a rotation window (two secrets listed), both are accepted;
  - the admin token rotates the same way (/v1/stats: old 401, new 200);
  - a config that no longer loads (missing secret file), adds a source or
    changes a setting that needs a restart (allow_ips) is refused with
    `reload_failed` naming the key, and the daemon keeps serving with what
    it had.

Run: DLRD_BIN=./build/dlrd python3 tests/integration/test_reload.py
"""

import json
import os
import signal
import sys
import time
import unittest

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dlrd_harness as h  # noqa: E402

OLD = "reload-old-secret-4d1e"
NEW = "reload-new-secret-a93c"
TOKEN_OLD = "reload-admin-token-old-0001"
TOKEN_NEW = "reload-admin-token-new-0002"


class ReloadTest(unittest.TestCase):
    def setUp(self):
        self.tmp = h.make_tempdir()
        self.dir = self.tmp.name
        self.secret_file = os.path.join(self.dir, "vn.secret")
        self.second_file = os.path.join(self.dir, "vn2.secret")
        self.token_file = os.path.join(self.dir, "admin.token")
        self.write(self.secret_file, OLD)
        self.write(self.token_file, TOKEN_OLD)
        self.sig = h.hmac_signature_config([])
        self.sig["secrets"] = ["file:" + self.secret_file]
        self.d = h.Dlrd({"vn": {"format": "verifynow", "signature": self.sig}},
                        {}, workdir=self.dir,
                        extra_config={"admin_token": "file:" + self.token_file},
                        database=self.database())
        self.d.start()
        self.n = 0

    def database(self):
        """None: SQLite in the work dir (test_postgres.py runs this class
        again on PostgreSQL)."""
        return None

    def tearDown(self):
        self.d.cleanup()
        self.tmp.cleanup()

    def write(self, path, text):
        with open(path, "w") as f:
            f.write(text + "\n")

    def post(self, secret):
        self.n += 1
        body = h.verifynow_body("reload-%d" % self.n)
        return h.post_signed(self.d.port, "vn", secret, body).status

    def stats(self, token):
        return h.request(self.d.admin_port, "GET", "/v1/stats?since=1h",
                         [("Authorization", "Bearer " + token)]).status

    def hangup(self, expect):
        """SIGHUP, then wait for the log line that says how it went."""
        before = self.d.log_text().count("event=" + expect + " ")
        self.d.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.d.log_text().count("event=" + expect + " ") > before:
                return
            self.assertIsNone(self.d.proc.poll(), "dlrd exited on SIGHUP")
            time.sleep(0.02)
        self.fail("no %s log line after SIGHUP:\n%s" % (expect,
                                                        self.d.log_tail()))

    def test_rotation(self):
        pid = self.d.proc.pid
        self.assertEqual(self.post(OLD), 200)
        self.assertEqual(self.post(NEW), 401)
        self.assertEqual(self.stats(TOKEN_OLD), 200)

        # A rotation window: both secrets listed.
        self.write(self.second_file, NEW)
        self.sig["secrets"] = ["file:" + self.secret_file,
                               "file:" + self.second_file]
        self.d.write_config()
        self.hangup("reloaded")
        self.assertEqual(self.post(OLD), 200)
        self.assertEqual(self.post(NEW), 200)

        # The old secret retired, the admin token rotated.
        self.write(self.secret_file, NEW)
        self.sig["secrets"] = ["file:" + self.secret_file]
        self.d.write_config()
        self.write(self.token_file, TOKEN_NEW)
        self.hangup("reloaded")
        self.assertEqual(self.post(OLD), 401)
        self.assertEqual(self.post(NEW), 200)
        self.assertEqual(self.stats(TOKEN_OLD), 401)
        self.assertEqual(self.stats(TOKEN_NEW), 200)

        self.assertEqual(self.d.proc.pid, pid)
        self.assertIsNone(self.d.proc.poll())
        # Every 200 above is stored: 4 accepted callbacks.
        self.d.stop()
        self.assertEqual(self.d.count(), 4)

    def test_bad_config_keeps_old_secrets(self):
        self.assertEqual(self.post(OLD), 200)
        # A secret file that is gone: the whole reload is refused.
        self.sig["secrets"] = ["file:" + self.secret_file + ".missing"]
        self.d.write_config()
        self.write(self.token_file, TOKEN_NEW)
        self.hangup("reload_failed")
        self.assertIn(".missing", self.d.log_text())
        self.assertEqual(self.post(OLD), 200)
        self.assertEqual(self.stats(TOKEN_OLD), 200)
        self.assertEqual(self.stats(TOKEN_NEW), 401)

        # A source added needs a restart; the error says which.
        self.sig["secrets"] = ["file:" + self.secret_file]
        self.d.sources["vn2"] = {"format": "verifynow", "signature": self.sig}
        self.d.write_config()
        self.hangup("reload_failed")
        self.assertIn("sources.vn2", self.d.log_text())
        del self.d.sources["vn2"]

        # A setting that is not a secret (an allow-list) needs a restart:
        # refused by name, never half-applied.
        self.d.sources["vn"]["allow_ips"] = ["10.9.9.9/32"]
        self.d.write_config()
        self.hangup("reload_failed")
        self.assertIn("sources.vn.allow_ips: changed", self.d.log_text())
        self.assertEqual(self.post(OLD), 200)
        self.assertIsNone(self.d.proc.poll())
        self.d.stop()
        self.assertEqual(self.d.count(), 3)


if __name__ == "__main__":
    h.main()
