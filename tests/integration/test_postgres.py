"""Several dlrd replicas on one PostgreSQL, through the real binary.

  - two replicas behind nginx (an upstream with both), signed unique
    callbacks from several clients; one replica is killed with SIGKILL
    mid-run: every callback acknowledged with 200 is in PostgreSQL, the
    survivor keeps answering, and both replicas, the restarted one too,
    give the same GET /v1/stats figures;
  - the PostgreSQL server stops during load (its own private server):
    callbacks get 503 with Retry-After and /readyz turns 503 while it is
    down; no acknowledged callback is lost; once the server is back, dlrd
    answers 2xx again and /readyz is 200 within RECOVERY_BOUND_S, without a
    restart;
  - `dlrd check-config` connects and reports the server version and the
    schema state;
  - SIGHUP secret rotation (test_reload.py's tests) and the quarantine
    with `dlrd quarantine list|replay` (test_quarantine.py's) on a
    PostgreSQL replica.

The suite's own PostgreSQL (tests/testutil/pg_server.sh, ctest fixture
`pg`) is found through DLRD_TEST_PG_STATE; without it the test fails.
"""

import json
import os
import re
import subprocess
import sys
import threading
import time
import unittest

import dlrd_harness as h
import test_quarantine
import test_reload

SOURCE = "vn"
SECRET = "pg-it-secret-6a1f0c"
ADMIN_TOKEN = "pg-it-admin-token-0123456789"
CLIENTS = 6
# The reconnect backoff tops out at 5 s (src/postgres/pg_event_store.h), so
# a replica is serving again at most that long after the server is back.
RECOVERY_BOUND_S = 6.0


def config():
    return {"admin_token": "env:DLRD_IT_PG_ADMIN", "io_threads": 2}


def secrets():
    return {"DLRD_IT_PG": SECRET, "DLRD_IT_PG_ADMIN": ADMIN_TOKEN}


def sources():
    return {SOURCE: h.verifynow_source(["DLRD_IT_PG"])}


class Client(threading.Thread):
    """A provider: posts unique signed callbacks; 200 = acknowledged."""

    def __init__(self, port, tag, stop):
        super().__init__(daemon=True)
        self.port, self.tag, self.stop = port, tag, stop
        self.acked = []
        self.n503 = 0
        self.retry_after = set()
        self.failed = 0      # connection errors, 502 (replica killed)
        self.unexpected = []

    def run(self):
        n = 0
        while not self.stop.is_set():
            n += 1
            vid = "%s-%d" % (self.tag, n)
            body = h.verifynow_body(vid, "DELIVERED", "SMS", n % 5000)
            try:
                r = h.post_signed(self.port, SOURCE, SECRET, body, timeout=10)
            except OSError:
                self.failed += 1
                self.stop.wait(0.01)
                continue
            if r.status == 200:
                self.acked.append(vid)
            elif r.status == 503:
                self.n503 += 1
                self.retry_after.add(r.header("retry-after"))
                self.stop.wait(0.02)
            elif r.status in (502, 504):
                self.failed += 1
            else:
                self.unexpected.append((vid, r.status, r.body[:200]))


def run_clients(port, seconds, during=None, tag="c"):
    stop = threading.Event()
    clients = [Client(port, "%s%d" % (tag, i), stop) for i in range(CLIENTS)]
    for c in clients:
        c.start()
    if during:
        during()
    time.sleep(seconds)
    stop.set()
    for c in clients:
        c.join(30)
    return clients


def stored_ids(db):
    return {row[0] for row in db.query(
        "SELECT verification_id FROM delivery_events")}


SHIPPED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                       "deploy", "nginx", "dlrd-replicas.conf")


def shipped_replica_config(ports):
    """The shipped upstream block with our replicas' ports, and its
    proxy_next_upstream lines (deploy/nginx/dlrd-replicas.conf)."""
    with open(SHIPPED) as f:
        text = f.read()
    m = re.search(r"^upstream dlrd \{.*?^\}", text, re.S | re.M)
    if not m:
        raise AssertionError("dlrd-replicas.conf: no upstream block")
    upstream = m.group(0)
    servers = re.findall(r"^\s*server \S+( [^;]*);", upstream, re.M)
    if len(servers) < 2:
        raise AssertionError("dlrd-replicas.conf: fewer than two servers")
    lines = "".join("    server 127.0.0.1:%d%s;\n" % (p, servers[0])
                    for p in ports)
    upstream = re.sub(r"(^\s*server [^\n]*\n)+", lines, upstream, count=1,
                      flags=re.M)
    nexts = re.findall(r"^#\s+(proxy_next_upstream[^\n]*;)", text, re.M)
    if len(nexts) != 3:
        raise AssertionError("dlrd-replicas.conf: proxy_next_upstream lines")
    return upstream, nexts


def nginx_conf(d, ports, listen_port):
    user = "user root;\n" if os.geteuid() == 0 else ""
    temps = "".join("    %s_temp_path %s/%s;\n" % (k, d, k) for k in
                    ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    upstream, nexts = shipped_replica_config(ports)
    return ("%sdaemon off;\nworker_processes 1;\npid %s/nginx.pid;\n"
            "error_log %s/error.log warn;\nevents { worker_connections 256; }\n"
            "http {\n    access_log off;\n%s%s\n"
            "    server {\n        listen 127.0.0.1:%d;\n"
            "        location /webhooks/ {\n            proxy_pass http://dlrd;\n"
            "            proxy_http_version 1.1;\n"
            "            proxy_set_header Connection \"\";\n"
            "            proxy_connect_timeout 2s;\n"
            "            %s\n        }\n    }\n}\n"
            % (user, d, d, temps, upstream, listen_port,
               "\n            ".join(nexts)))


def stats(d):
    r = h.request(d.admin_port, "GET", "/v1/stats?since=1h&by=channel",
                  [("Authorization", "Bearer " + ADMIN_TOKEN)])
    if r.status != 200:
        raise AssertionError("/v1/stats: %d %r" % (r.status, r.body[:300]))
    doc = json.loads(r.body)
    doc.pop("generated_at", None)
    doc.get("query", {}).pop("to", None)
    doc.get("query", {}).pop("from", None)
    return doc


class TwoReplicasBehindNginx(unittest.TestCase):
    def setUp(self):
        self.db = h.PgDatabase()
        self.addCleanup(self.db.cleanup)
        self.replicas = []
        for _ in range(2):
            d = h.Dlrd(sources(), secrets(),
                       extra_config=config(), database=self.db.uri)
            self.addCleanup(d.cleanup)
            self.replicas.append(d)

    def start_nginx(self):
        tmp = h.make_tempdir("dlrd-pg-nginx-")
        self.addCleanup(tmp.cleanup)
        port = h.free_port()
        with open(os.path.join(tmp.name, "nginx.conf"), "w") as f:
            f.write(nginx_conf(tmp.name, [d.port for d in self.replicas],
                               port))
        proc = subprocess.Popen(
            ["/usr/sbin/nginx", "-p", tmp.name, "-c", "nginx.conf",
             "-e", "error.log"], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (proc.terminate(), proc.wait(10)))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if os.path.exists(os.path.join(tmp.name, "nginx.pid")):
                return port
            time.sleep(0.02)
        raise AssertionError("nginx did not start")

    def test_kill9_loses_no_acknowledged_callback(self):
        # Both start at once against an empty database: one migrates, the
        # other waits on the advisory lock.
        # (Spawned from this thread: PR_SET_PDEATHSIG ties each child to
        # the thread that started it.)
        for d in self.replicas:
            d.port, d.admin_port = h.free_port(), h.free_port()
            d.write_config()
            d._spawn()
        for d in self.replicas:
            d.wait_ready(30)
        for d in self.replicas:
            self.assertTrue(d.running(), d.log_tail())
            self.assertEqual(h.http_get(d.admin_port, "/readyz").status, 200)
        self.assertEqual(self.db.scalar("SELECT count(*) FROM dlrd_schema"),
                         "1")
        port = self.start_nginx()
        victim, survivor = self.replicas

        def kill_later():
            threading.Timer(1.5, victim.kill).start()

        clients = run_clients(port, 4.0, during=kill_later)
        acked = [v for c in clients for v in c.acked]
        unexpected = [u for c in clients for u in c.unexpected]
        self.assertEqual(unexpected, [], "unexpected answers")
        self.assertGreater(len(acked), 200, "too little load to mean much")
        missing = set(acked) - stored_ids(self.db)
        self.assertEqual(missing, set(),
                         "%d acknowledged callbacks not in PostgreSQL"
                         % len(missing))
        self.assertEqual(len(set(acked)), len(acked))
        print("\ntest_postgres: %d acknowledged through nginx, %d connection"
              " errors/502 while one replica was killed"
              % (len(acked), sum(c.failed for c in clients)), file=sys.stderr)
        self.assertFalse(victim.running(), "the replica was not killed")
        self.assertTrue(survivor.running())
        self.assertEqual(h.http_get(survivor.admin_port, "/readyz").status,
                         200)
        # The survivor served after the kill: its own later callbacks.
        r = h.post_signed(survivor.port, SOURCE, SECRET,
                          h.verifynow_body("after-kill", "FAILED"))
        self.assertEqual(r.status, 200, r.body)

        # The killed replica comes back on the same database; both read
        # the same shared figures.
        victim.start()
        a, b = stats(victim), stats(survivor)
        self.assertEqual(a, b)
        total = sum(g["callbacks"] for g in a["groups"])
        self.assertEqual(total, int(self.db.scalar(
            "SELECT count(*) FROM delivery_events")))

    def test_duplicates_across_replicas_are_stored_once(self):
        for d in self.replicas:
            d.start()
        body = h.verifynow_body("dup-1", "DELIVERED")
        for d in self.replicas * 2:
            r = h.post_signed(d.port, SOURCE, SECRET, body)
            self.assertEqual(r.status, 200, r.body)
        self.assertEqual(self.db.scalar(
            "SELECT count(*) FROM delivery_events"
            " WHERE verification_id = 'dup-1'"), "1")
        self.assertEqual(self.db.scalar(
            "SELECT sum(callbacks) FROM stats_hourly"), "1")


class PostgresRestart(unittest.TestCase):
    def setUp(self):
        self.server = h.PgServer()
        self.addCleanup(self.server.cleanup)
        self.d = h.Dlrd(sources(), secrets(),
                        extra_config=config(), database=self.server.uri)
        self.addCleanup(self.d.cleanup)

    def test_server_down_is_503_and_recovery_needs_no_restart(self):
        self.d.start()
        down_for = {}
        readyz_while_down = []
        outages = []

        def outage():
            def run():
                time.sleep(1.0)
                self.server.ctl("halt")
                t0 = time.monotonic()
                time.sleep(1.0)
                readyz_while_down.append(
                    h.http_get(self.d.admin_port, "/readyz").status)
                time.sleep(1.0)
                down_for["s"] = time.monotonic() - t0
                self.server.ctl("resume")
                down_for["back_at"] = time.monotonic()
            t = threading.Thread(target=run, daemon=True)
            outages.append(t)
            t.start()

        clients = run_clients(self.d.port, 4.0, during=outage, tag="r")
        # Stopping and starting a server takes longer on a loaded machine
        # (or under ASan) than the 4 s of load: wait for the outage to end.
        outages[0].join(120)
        self.assertIn("back_at", down_for, "the outage did not complete")
        # Recovery: the first 200 after the server is back.
        deadline = down_for["back_at"] + RECOVERY_BOUND_S + 5
        first_ok = None
        while time.monotonic() < deadline:
            r = h.post_signed(self.d.port, SOURCE, SECRET,
                              h.verifynow_body(h.unique_id("rec"), "FAILED"))
            if r.status == 200:
                first_ok = time.monotonic()
                break
            time.sleep(0.05)
        self.assertIsNotNone(first_ok, "no 2xx after the server came back; "
                             "log:\n" + self.d.log_tail())
        recovery = max(0.0, first_ok - down_for["back_at"])
        print("\ntest_postgres: server down %.1f s; first 2xx %.2f s after"
              " it was back" % (down_for["s"], recovery), file=sys.stderr)
        self.assertLess(recovery, RECOVERY_BOUND_S)
        self.assertEqual(h.http_get(self.d.admin_port, "/readyz").status, 200)
        self.assertTrue(self.d.running(), "a lost database must not be fatal")

        self.assertEqual(readyz_while_down, [503])
        n503 = sum(c.n503 for c in clients)
        self.assertGreater(n503, 0, "no 503 while the server was down")
        retry_after = set().union(*(c.retry_after for c in clients))
        self.assertNotIn(None, retry_after, "a 503 without Retry-After")
        unexpected = [u for c in clients for u in c.unexpected]
        self.assertEqual(unexpected, [])
        acked = [v for c in clients for v in c.acked]
        db = h.PgDatabase.__new__(h.PgDatabase)
        db.uri = self.server.uri
        missing = set(acked) - stored_ids(db)
        self.assertEqual(missing, set(), "acknowledged callbacks lost")

    def test_check_config_reports_server_and_schema(self):
        self.d.port, self.d.admin_port = h.free_port(), h.free_port()
        self.d.write_config()
        env = dict(os.environ, **secrets())
        r = subprocess.run([self.d.binary, "check-config", "--config",
                            self.d.config_path], capture_output=True,
                           text=True, env=env, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("postgresql: server 15.", r.stdout)
        self.assertIn("schema 0 of", r.stdout)
        self.d.start()
        self.d.stop()
        r = subprocess.run([self.d.binary, "check-config", "--config",
                            self.d.config_path], capture_output=True,
                           text=True, env=env, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"schema (\d+) of \1\n")
        # The server down: check-config says so and fails.
        self.server.ctl("halt")
        r = subprocess.run([self.d.binary, "check-config", "--config",
                            self.d.config_path], capture_output=True,
                           text=True, env=env, timeout=30)
        self.server.ctl("resume")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("database: connect", r.stderr)


class ReloadOnPostgres(test_reload.ReloadTest):
    """SIGHUP on a replica on PostgreSQL: the same rotation tests."""

    def database(self):
        self.pg = h.PgDatabase()
        self.addCleanup(self.pg.cleanup)
        return self.pg.uri


class QuarantineOnPostgres(test_quarantine.QuarantineTest):
    """The quarantine on PostgreSQL: the same capture, caps, gauges, and
    `dlrd quarantine list|replay` against the shared database."""

    def database(self):
        self.pg = h.PgDatabase()
        self.addCleanup(self.pg.cleanup)
        return self.pg.uri


if __name__ == "__main__":
    h.main()
