#!/usr/bin/env python3
"""Fallback on PostgreSQL across two replicas, through the real binary.

Two dlrd replicas share one PostgreSQL database (h.PgDatabase) and the same
Twilio fallback source (tw: sms -> whatsapp -> voice), pointed at ONE mock
provider over real TLS with a test CA (tests/mock_provider). What is
asserted is what reaches the provider (the mock's request log) plus the
shared outbox rows (claimed_by, lease_until_ms, idempotency_key):

  ExactlyOnceAcrossReplicas
    N SMS-failure callbacks for distinct verifications, alternating between
    the replicas, each posted to BOTH (the second is a duplicate the shared
    store absorbs): every recipient gets exactly one WhatsApp send, and,
    after the WhatsApp deadline, exactly one voice send (a deadline
    escalation is decided on one replica only).
  TakeoverAfterLease
    the replica that claimed a WhatsApp send to the mock's slow number
    (0504: the reply is held SLOW_DELAY_S) is SIGKILLed while the job is
    in_flight; the survivor re-sends that step only after the dead claim's
    lease (outbox.in_flight_lease_ms) ran out, on the same job (same
    idempotency key), the documented unknown-outcome re-send: two sends of
    that step in total, never a third.
  FallbackEndToEndOnPostgres
    test_fallback_e2e.py's FallbackEndToEnd (escalation within a second,
    deadlines, duplicates, Retry-After, invalid numbers, unknown outcomes,
    POST and GET /v1/verifications) on one replica on PostgreSQL.

The suite's own PostgreSQL (ctest fixture `pg`) is found through
DLRD_TEST_PG_STATE. Replicas are spawned from the main thread (the harness
ties each child to the spawning thread with PR_SET_PDEATHSIG).
"""

import os
import sys
import time
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "mock_provider"))
import dlrd_harness as h  # noqa: E402
import test_fallback_e2e as fe  # noqa: E402  (helpers only)
from mock_provider import MockProvider, make_test_ca  # noqa: E402

ADMIN_TOKEN = fe.ADMIN_TOKEN


def make_replica(mock, ca_file, db_uri, deadlines, request_timeout_ms,
                 lease_ms):
    sources = {
        "tw": {"format": "twilio-messaging",
               "signature": {"scheme": "twilio", "public_url": fe.PUBLIC_TW,
                             "secrets": ["env:DLRD_IT_TWILIO"]},
               "fallback": {"provider": "twilio",
                            "chain": ["sms", "whatsapp", "voice"],
                            "deadline_s": dict(deadlines),
                            "max_steps": 3}},
        "tv": {"format": "twilio-verify-events",
               "signature": {"scheme": "twilio", "public_url": fe.PUBLIC_TV,
                             "secrets": ["env:DLRD_IT_TWILIO"]}},
    }
    provider = fe.provider_config(mock, ca_file, request_timeout_ms)
    provider["connect_timeout_ms"] = 1000
    extra = {
        "admin_token": "env:DLRD_IT_ADMIN",
        "io_threads": 2,
        "providers": {"twilio": provider},
        "outbox": {"poll_ms": 50, "backoff_base_ms": 100,
                   "backoff_cap_ms": 500, "max_attempts": 3,
                   "in_flight_lease_ms": lease_ms},
    }
    secrets = {"DLRD_IT_TWILIO": fe.WEBHOOK_TOKEN,
               "DLRD_IT_ADMIN": ADMIN_TOKEN,
               "DLRD_IT_TWILIO_SEND": mock.credentials["twilio"]["auth_token"]}
    return h.Dlrd(sources, secrets, extra_config=extra, database=db_uri)


def outbox(db, root):
    """[(step, channel, state, attempts, recovered, claimed_by,
    lease_until_ms, idempotency_key, provider_ref)] of one root."""
    rows = db.query(
        "SELECT step, channel, state, attempts, recovered, claimed_by,"
        " lease_until_ms, idempotency_key, provider_ref FROM outbox"
        " WHERE source = 'tw' AND root_id = '%s' ORDER BY step" % root)
    return [(int(r[0]), r[1], r[2], int(r[3]), int(r[4]), r[5], int(r[6]),
             r[7], r[8]) for r in rows]


class _PgWorld(unittest.TestCase):
    MOCK_OPTIONS = {}
    DEADLINES = {"sms": 60, "whatsapp": 60, "voice": 60}
    REQUEST_TIMEOUT_MS = 1000
    LEASE_MS = 5000

    @classmethod
    def setUpClass(cls):
        tmp = h.make_tempdir("dlrd-pgfallback-ca-")
        cls.addClassCleanup(tmp.cleanup)
        cls.ca = make_test_ca(tmp.name)
        cls.mock = MockProvider(cls.ca.server_cert, cls.ca.server_key,
                                **cls.MOCK_OPTIONS)
        cls.mock.start()
        cls.addClassCleanup(cls.mock.stop)
        cls.db = h.PgDatabase()
        cls.addClassCleanup(cls.db.cleanup)
        cls.replicas = []
        for _ in range(2):
            d = make_replica(cls.mock, cls.ca.ca_cert, cls.db.uri,
                             cls.DEADLINES, cls.REQUEST_TIMEOUT_MS,
                             cls.LEASE_MS)
            cls.addClassCleanup(d.cleanup)
            cls.replicas.append(d)
        # Both at once against an empty database (one migrates, the other
        # waits on the advisory lock), spawned from this (main) thread.
        for d in cls.replicas:
            d.port, d.admin_port = h.free_port(), h.free_port()
            while d.admin_port == d.port:
                d.admin_port = h.free_port()
            d.write_config()
            d._spawn()
        for d in cls.replicas:
            d.wait_ready(30)

    def sends(self, recipient, channel):
        return sorted(self.mock.requests(provider="twilio",
                                         recipient=recipient,
                                         channel=channel),
                      key=lambda r: r["seq"])

    def fail_sms(self, d, root, to):
        r, _ = fe.post_sms_status(d, fe.sms_status_params(root, to))
        self.assertEqual(r.status, 200, r)
        return r.json()["status"]

    def logs(self):
        return "".join("\nreplica %d log tail:\n%s" % (i, d.log_tail(30))
                       for i, d in enumerate(self.replicas))


class ExactlyOnceAcrossReplicas(_PgWorld):
    N = 20
    # WhatsApp's deadline brings voice: decided by one replica, once.
    DEADLINES = {"sms": 60, "whatsapp": 2, "voice": 60}

    def test_each_recipient_gets_one_send_per_step(self):
        a, b = self.replicas
        jobs = []  # (recipient, root)
        statuses = []
        for i in range(self.N):
            to = fe.number(11 + i)          # 0011..0030: accepted
            root = fe.new_sid("SM")
            first, second = (a, b) if i % 2 == 0 else (b, a)
            statuses.append((self.fail_sms(first, root, to),
                             self.fail_sms(second, root, to)))
            jobs.append((to, root))
        self.assertEqual(statuses, [("accepted", "duplicate")] * self.N)

        # Every step 1 (whatsapp) and step 2 (voice, after the 2 s
        # deadline) accepted; the chain ends there (max_steps 3), so nothing
        # is left that could send again.
        def settled():
            for _, root in jobs:
                rows = outbox(self.db, root)
                if [(r[0], r[2]) for r in rows] != [(1, "accepted"),
                                                    (2, "accepted")]:
                    return None
            return True
        try:
            fe.wait_until(settled, 30, interval=0.2,
                          what="whatsapp and voice jobs accepted")
        except AssertionError as e:
            raise AssertionError(str(e) + self.logs())
        time.sleep(1.0)  # a stray duplicate would show by now

        claimers = set()
        for to, root in jobs:
            wa = self.sends(to, "whatsapp")
            voice = self.sends(to, "voice")
            rows = outbox(self.db, root)
            self.assertEqual(len(wa), 1, (to, wa))
            self.assertEqual(len(voice), 1, (to, voice))
            # Attempts may exceed 1 on a loaded machine: a send that never
            # reached the mock (connect timeout) is retried, which is
            # right; the mock's log above is what proves one send each.
            self.assertEqual([(r[0], r[1], r[4]) for r in rows],
                             [(1, "whatsapp", 0), (2, "voice", 0)], rows)
            self.assertTrue(all(r[3] >= 1 for r in rows), rows)
            self.assertEqual(rows[0][8], wa[0]["provider_id"])
            self.assertEqual(rows[1][8], voice[0]["provider_id"])
            claimers.update(r[5] for r in rows)
        self.assertEqual(len(self.mock.requests(provider="twilio")),
                         2 * self.N)
        print("\n  [pg exactly once] %d roots x 2 callbacks over 2 replicas:"
              " %d whatsapp + %d voice sends; claimed by %d replica(s)"
              % (self.N, self.N, self.N, len(claimers)), file=sys.stderr)


class TakeoverAfterLease(_PgWorld):
    SLOW_DELAY_S = 2.0
    MOCK_OPTIONS = {"slow_delay_s": SLOW_DELAY_S}
    # The survivor's re-send must outlast the mock's delay to be accepted;
    # the lease stays above connect_timeout_ms + request_timeout_ms.
    REQUEST_TIMEOUT_MS = 4000
    LEASE_MS = 6000

    def replica_named(self, claimed_by):
        for d in self.replicas:
            if claimed_by.endswith(" %d" % d.proc.pid):
                return d
        self.fail("claimed_by %r is neither replica (pids %s)"
                  % (claimed_by, [d.proc.pid for d in self.replicas]))

    def test_killed_replica_send_is_taken_over_once(self):
        to = fe.number(504)   # the mock holds the reply SLOW_DELAY_S
        root = fe.new_sid("SM")
        self.assertEqual(self.fail_sms(self.replicas[0], root, to),
                         "accepted")
        first = self.mock.wait_for_requests(1, timeout=10, recipient=to)[0]
        self.assertEqual((first["channel"], first["outcome"]),
                         ("whatsapp", "slow"))
        rows = outbox(self.db, root)
        self.assertEqual([(r[0], r[2], r[3], r[4]) for r in rows],
                         [(1, "in_flight", 1, 0)],
                         "the claim must be committed before the call")
        _, _, _, _, _, claimed_by, lease_until_ms, key, _ = rows[0]
        self.assertGreater(lease_until_ms, 0)
        self.assertNotEqual(key, "")
        victim = self.replica_named(claimed_by)
        survivor = [d for d in self.replicas if d is not victim][0]
        victim.kill()  # SIGKILL while the mock still holds the reply
        killed_after = time.time() - first["time"]
        self.assertLess(killed_after, self.SLOW_DELAY_S,
                        "the send was no longer in flight at the kill")

        # The survivor reclaims once the lease ran out and re-sends.
        try:
            sends = self.mock.wait_for_requests(
                2, timeout=self.LEASE_MS / 1000.0 + 20, recipient=to,
                channel="whatsapp")
        except TimeoutError as e:
            raise AssertionError("no takeover: %s%s" % (e, self.logs()))
        resent = sorted(sends, key=lambda r: r["seq"])[1]
        self.assertGreaterEqual(resent["time"] + 0.1, lease_until_ms / 1000.0,
                                "re-sent before the dead claim's lease ran out")

        def accepted():
            rows = outbox(self.db, root)
            return rows if rows and rows[0][2] == "accepted" else None
        try:
            rows = fe.wait_until(accepted, self.SLOW_DELAY_S + 15,
                                 interval=0.1, what="step 1 accepted")
        except AssertionError as e:
            raise AssertionError(str(e) + "\nrows: %r%s"
                                 % (outbox(self.db, root), self.logs()))
        step, channel, state, attempts, recovered, claimed_by2, _, key2, \
            ref = rows[0]
        self.assertEqual((step, channel, state, recovered),
                         (1, "whatsapp", "accepted", 1))
        self.assertIs(self.replica_named(claimed_by2), survivor)
        self.assertEqual(key2, key, "the re-send changed the idempotency key")
        self.assertEqual(ref, resent["provider_id"])
        self.assertEqual(resent["body"], first["body"])

        # Never a third: the job is accepted, and the killed replica,
        # restarted on the same database, does not send it again either.
        victim.start()
        time.sleep(self.LEASE_MS / 1000.0 / 2)
        wa = self.sends(to, "whatsapp")
        print("\n  [pg takeover] killed %.3f s after the send reached the"
              " mock; re-send %.3f s after it (lease %d ms); whatsapp sends:"
              " %d; attempts %d" % (killed_after,
                                    resent["time"] - first["time"],
                                    self.LEASE_MS, len(wa), attempts),
              file=sys.stderr)
        self.assertLessEqual(len(wa), 2, wa)
        self.assertEqual(len(wa), 2)   # the takeover did re-send
        self.assertTrue(survivor.running())


class FallbackEndToEndOnPostgres(fe.FallbackEndToEnd):
    """The single-replica fallback tests, on PostgreSQL."""

    @classmethod
    def setUpClass(cls):
        cls.pg = h.PgDatabase()
        cls.addClassCleanup(cls.pg.cleanup)  # runs last: after dlrd stops
        cls.start_world({"retry_after": fe.RETRY_AFTER_S},
                        database=cls.pg.uri)


if __name__ == "__main__":
    h.main()
