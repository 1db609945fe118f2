#!/usr/bin/env python3
"""dlrd fallback benchmark driver (Python 3 standard library only).

Started by bench/fallback.sh, which builds dlrd and owns the temp dir; see
bench/README.md, "Fallback benchmark". What it measures, against the
Release binary and tests/mock_provider/mock_provider.py (run unmodified as
its own process) over real TLS on loopback with a throwaway test CA:

  1. ack -> send latency: --latency-n signed Twilio SMS "failed" status
     callbacks (twilio-messaging carries the recipient in `To`, so the
     callback alone starts the fallback), each with its own MessageSid,
     sent open loop at --rate/s. For each: the moment the driver has read
     dlrd's 200 to the moment the mock recorded the WhatsApp send
     (the mock's record `time`, taken when the request has arrived).
     Both are time.time() on this machine.
  2. sustained sends/s: --burst callbacks fired as fast as 4 keep-alive
     connections allow, then the rate at which accepted sends reach the
     mock over the steady window (after the last callback was acked, from
     the 5th to the 95th percentile of arrivals), --rounds times, each on
     a fresh dlrd + database + mock.
  3. the mock's capacity: a direct client against the mock, keep-alive and
     one new TLS connection per request, and the mock's CPU in every run.
  4. two diagnostic rounds (a half and a quarter of the callbacks):
     --diag-poll-ms instead of --poll-ms, and the mock with socketserver's
     listen backlog of 5.

The mock runs unmodified except for its listen backlog (run_mock below:
`fallback_bench.py mock ...` calls mock_provider.main() after raising
_Server.request_queue_size), because dlrd opens up to 32 TLS connections
at once and a backlog of 5 drops SYNs (1 s retransmission each).

Every run is checked: each callback acked 200 "accepted", each root has
exactly one outbox job (step 1, whatsapp, accepted, 1 attempt), and the
mock's log holds exactly one accepted WhatsApp send per root, matched by
the provider id (the VE sid the mock returned and dlrd stored as the job's
provider_ref) and the recipient. Anything else marks the run INVALID.
"""

import argparse
import base64
import ctypes
import hashlib
import hmac
import http.client
import json
import os
import platform
import signal
import socket
import sqlite3
import ssl
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MOCK_DIR = os.path.join(ROOT, "tests", "mock_provider")
MOCK_PY = os.path.join(MOCK_DIR, "mock_provider.py")
sys.path.insert(0, MOCK_DIR)
from mock_provider import DEFAULT_CREDENTIALS, make_test_ca  # noqa: E402

LOOPBACK = "127.0.0.1"
PUBLIC_TW = "https://hooks.example.com/webhooks/tw"
SPECIAL_LAST4 = {"0400", "0403", "0429", "0503", "0504", "0505"}
# Ofcom's drama range +44 7700 900000-900999, minus the mock's special
# numbers: fictional, and every one of them "accepted" by the mock.
RECIPIENTS = ["+447700900%03d" % i for i in range(1000)
              if ("0%03d" % i) not in SPECIAL_LAST4]
CLK_TCK = os.sysconf("SC_CLK_TCK")

# ---------------------------------------------------------------- processes

CHILDREN = []


def _pdeathsig():
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


def spawn(cmd, log_path, env=None, stdout=None):
    log = open(log_path, "ab")
    p = subprocess.Popen(cmd, stdout=stdout if stdout else log, stderr=log,
                         env=env, preexec_fn=_pdeathsig)
    p._bench_log = log
    CHILDREN.append(p)
    return p


def stop(p, timeout=20.0):
    """SIGTERM, wait, SIGKILL; returns the exit code."""
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
    p._bench_log.close()
    if p in CHILDREN:
        CHILDREN.remove(p)
    return p.returncode


def stop_all():
    for p in list(CHILDREN):
        try:
            stop(p, 5.0)
        except Exception:
            pass


def _on_signal(signum, _frame):
    stop_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def free_port():
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def quiet(max_wait, threshold):
    """Waits up to max_wait s for two seconds in a row in which the
    machine used less than `threshold` cores (a shared box: builds)."""
    deadline = time.time() + max_wait
    calm, said = 0, False
    while time.time() < deadline:
        b0 = machine_busy()
        time.sleep(1)
        load = machine_busy() - b0
        calm = calm + 1 if load < threshold else 0
        if calm >= 2:
            return
        if not said:
            print("fallback: machine busy (%.2f cores used by others); "
                  "waiting up to %d s" % (load, max_wait), flush=True)
            said = True
    print("fallback: machine still busy; measuring anyway", flush=True)


def cpu_seconds(pid):
    """utime + stime of a process (all threads), seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy():
    """Busy and total jiffies of the whole machine (user+nice+system)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2]) / CLK_TCK


class Sampler(threading.Thread):
    """Samples CPU seconds of some pids and of the machine every 0.2 s."""

    def __init__(self, pids):
        super().__init__(daemon=True)
        self.pids = pids
        self.samples = []  # (t, {name: cpu}, machine)
        self.done = threading.Event()

    def sample(self):
        row = {}
        for name, pid in self.pids.items():
            try:
                row[name] = cpu_seconds(pid)
            except OSError:
                row[name] = None
        self.samples.append((time.time(), row, machine_busy()))

    def run(self):
        while not self.done.is_set():
            self.sample()
            self.done.wait(0.2)
        self.sample()

    def cores(self, t0, t1):
        """Average cores used in [t0, t1] per pid, 'machine' and 'others'."""
        def at(t):
            return min(self.samples, key=lambda s: abs(s[0] - t))
        a, b = at(t0), at(t1)
        dt = b[0] - a[0]
        if dt <= 0:
            return {}
        out = {}
        for name in self.pids:
            if a[1].get(name) is not None and b[1].get(name) is not None:
                out[name] = (b[1][name] - a[1][name]) / dt
        out["machine"] = (b[2] - a[2]) / dt
        out["others"] = out["machine"] - sum(
            v for k, v in out.items() if k != "machine")
        return out

# ---------------------------------------------------------------- mock


def run_mock(argv):
    """`fallback_bench.py mock [--backlog N] MOCK_ARGS...`: the unmodified
    tests/mock_provider/mock_provider.py main(), with only its listen
    backlog raised. socketserver listens with request_queue_size = 5;
    dlrd opens up to 32 TLS connections at once (32 jobs in flight, 4 idle
    connections kept), so with 5 the kernel drops SYNs (ListenOverflows)
    and dlrd's connects wait for the 1 s SYN retransmission: a limit of
    the mock, not of dlrd or of a real provider."""
    import mock_provider
    backlog = 256
    if argv[:1] == ["--backlog"]:
        backlog, argv = int(argv[1]), argv[2:]
    mock_provider._Server.request_queue_size = backlog
    return mock_provider.main(argv)


def tcp_counters():
    """Machine-wide TCP counters: accepted connections (PassiveOpens),
    listen queue overflows and SYN retransmissions."""
    out = {}
    for path, prefix in (("/proc/net/snmp", "Tcp:"),
                         ("/proc/net/netstat", "TcpExt:")):
        with open(path) as f:
            lines = [l.split() for l in f if l.startswith(prefix)]
        for names, values in zip(lines[0::2], lines[1::2]):
            out.update(zip(names[1:], (int(v) for v in values[1:])))
    return {k: out.get(k, 0) for k in ("PassiveOpens", "ListenOverflows",
                                        "TCPSynRetrans")}


class Mock:
    def __init__(self, work, ca, tag, backlog):
        """backlog 0: tests/mock_provider/mock_provider.py as it is
        (listen backlog 5); else run_mock() with that backlog."""
        self.ca = ca
        args = ["--cert", ca.server_cert, "--key", ca.server_key,
                "--port", "0"]
        if backlog:
            cmd = [sys.executable, os.path.abspath(__file__), "mock",
                   "--backlog", str(backlog)] + args
        else:
            cmd = [sys.executable, MOCK_PY] + args
        self.proc = spawn(cmd, os.path.join(work, tag + ".mock.log"),
                          stdout=subprocess.PIPE)
        line = self.proc.stdout.readline().decode().strip()
        if not line.isdigit():
            raise RuntimeError("mock did not print its port: %r" % line)
        self.port = int(line)
        self.base_url = "https://%s:%d" % (LOOPBACK, self.port)
        self.ctx = ssl.create_default_context(cafile=ca.ca_cert)

    def requests(self):
        c = http.client.HTTPSConnection(LOOPBACK, self.port, context=self.ctx,
                                        timeout=120)
        c.request("GET", "/_requests")
        r = c.getresponse()
        body = r.read()
        c.close()
        if r.status != 200:
            raise RuntimeError("GET /_requests: %d" % r.status)
        return json.loads(body)

    def stop(self):
        stop(self.proc)

# ---------------------------------------------------------------- dlrd


class Dlrd:
    def __init__(self, binary, work, tag, mock, poll_ms, secrets):
        self.dir = os.path.join(work, tag)
        os.makedirs(self.dir)
        self.db = os.path.join(self.dir, "dlrd.db")
        self.port, self.admin_port = free_port(), free_port()
        while self.admin_port == self.port:
            self.admin_port = free_port()
        creds = DEFAULT_CREDENTIALS["twilio"]
        long_s = 86400  # no deadline fires during a run: sends are events'
        self.config = {
            "listen": "%s:%d" % (LOOPBACK, self.port),
            "admin_listen": "%s:%d" % (LOOPBACK, self.admin_port),
            "database": self.db,
            "log_level": "warn",
            "admin_token": "env:BENCH_ADMIN",
            "sources": {
                "tw": {"format": "twilio-messaging",
                       "signature": {"scheme": "twilio",
                                     "public_url": PUBLIC_TW,
                                     "secrets": ["env:BENCH_TWILIO"]},
                       "fallback": {"provider": "twilio",
                                    "chain": ["sms", "whatsapp", "voice"],
                                    "deadline_s": {"sms": long_s,
                                                   "whatsapp": long_s,
                                                   "voice": long_s},
                                    "max_steps": 3,
                                    # The defaults (3/hour, 600/min) are
                                    # production guards; lifted so every
                                    # callback is a send.
                                    "max_per_recipient_per_hour": 1000,
                                    "max_per_minute": 1000000}},
            },
            "providers": {"twilio": {
                "base_url": mock.base_url, "ca_file": mock.ca.ca_cert,
                "account_sid": creds["account_sid"],
                "auth_token": "env:BENCH_TWILIO_SEND",
                "service_sid": creds["service_sid"]}},
            "outbox": {"poll_ms": poll_ms},
        }
        self.config_path = os.path.join(self.dir, "dlrd.json")
        with open(self.config_path, "w") as f:
            json.dump(self.config, f, indent=1)
        env = dict(os.environ)
        env.update(secrets)
        self.proc = spawn([binary, "serve", "--config", self.config_path],
                          os.path.join(self.dir, "dlrd.log"), env=env)
        deadline = time.monotonic() + 15
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("dlrd exited %d; log in %s"
                                   % (self.proc.returncode, self.dir))
            try:
                if self.get("/readyz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("dlrd not ready; log in %s" % self.dir)
            time.sleep(0.05)

    def get(self, path):
        c = http.client.HTTPConnection(LOOPBACK, self.admin_port, timeout=5)
        try:
            c.request("GET", path)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def accepted(self):
        with sqlite3.connect("file:%s?mode=ro" % self.db, uri=True,
                             timeout=5) as c:
            return c.execute("SELECT COUNT(*) FROM outbox WHERE state ="
                             " 'accepted'").fetchone()[0]

    def outbox(self):
        c = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True, timeout=5)
        try:
            return c.execute(
                "SELECT root_id, step, channel, state, attempts, provider_ref,"
                " recipient, last_error FROM outbox WHERE source = 'tw'"
            ).fetchall()
        finally:
            c.close()

    def metrics(self):
        status, body = self.get("/metrics")
        return body.decode() if status == 200 else ""

    def stop(self):
        return stop(self.proc)


def metric_lines(text, names):
    """The non-zero samples of the named metrics."""
    return [l for l in text.splitlines() if l.split("{")[0] in names
            and not l.endswith(" 0")]


def metric_sum(text, name):
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total

# ---------------------------------------------------------------- callbacks


def sign(token, url, params):
    signed = url + "".join(k + v for k, v in sorted(params.items()))
    mac = hmac.new(token.encode(), signed.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def make_callbacks(n, token, offset=0):
    """n signed SMS 'failed' status callbacks, each with its own
    MessageSid (the verification id) and a drama-range recipient."""
    out = []
    for i in range(n):
        sid = "SM" + uuid.uuid4().hex
        to = RECIPIENTS[(offset + i) % len(RECIPIENTS)]
        params = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": "failed",
                  "SmsStatus": "failed", "To": to, "From": "+12025550142",
                  "AccountSid": "AC" + "0" * 32, "ApiVersion": "2010-04-01",
                  "ErrorCode": "30008"}
        body = urllib.parse.urlencode(params).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "X-Twilio-Signature": sign(token, PUBLIC_TW, params)}
        out.append((sid, to, body, headers))
    return out


class Poster:
    """One keep-alive connection to dlrd's webhook listener."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def post(self, body, headers):
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(LOOPBACK, self.port,
                                                       timeout=10)
            try:
                self.conn.request("POST", "/webhooks/tw", body, headers)
                r = self.conn.getresponse()
                data = r.read()
                return r.status, data, time.time()
            except (http.client.RemoteDisconnected, ConnectionResetError,
                    BrokenPipeError):
                # A closed idle keep-alive connection before anything was
                # answered; re-sending is safe (dlrd dedupes the sid).
                self.conn.close()
                self.conn = None
                if attempt:
                    raise

    def close(self):
        if self.conn is not None:
            self.conn.close()


def fire(port, callbacks, connections, rate=0.0):
    """Posts every callback; rate > 0: open loop at `rate`/s (absolute
    schedule; a free connection takes the next slot, late slots are sent
    at once), rate 0: as fast as the connections allow. Returns
    ({sid: (to, ack_time)}, errors, t_start, t_end, max_lateness_s)."""
    acks, errors = {}, []
    lock = threading.Lock()
    state = {"next": 0, "late": 0.0}
    t0 = time.time() + 0.2

    def worker():
        p = Poster(port)
        try:
            while True:
                with lock:
                    i = state["next"]
                    if i >= len(callbacks):
                        return
                    state["next"] = i + 1
                if rate > 0:
                    slot = t0 + i / rate
                    wait = slot - time.time()
                    if wait > 0:
                        time.sleep(wait)
                    else:
                        with lock:
                            state["late"] = max(state["late"], -wait)
                sid, to, body, headers = callbacks[i]
                try:
                    status, data, ack = p.post(body, headers)
                except OSError as e:
                    with lock:
                        errors.append("%s: %s" % (sid, e))
                    continue
                with lock:
                    if status == 200 and b'"accepted"' in data:
                        acks[sid] = (to, ack)
                    else:
                        errors.append("%s: %d %r" % (sid, status, data[:80]))
        finally:
            p.close()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    if rate == 0:
        t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return acks, errors, t0, time.time(), state["late"]


def wait_drained(d, want, idle_timeout=15.0, settle=1.0):
    """Waits until dlrd's outbox has `want` accepted jobs (or no progress
    for idle_timeout), then `settle` s more so a late duplicate would
    show. Returns the count."""
    last, last_change = -1, time.monotonic()
    while True:
        n = d.accepted()
        if n != last:
            last, last_change = n, time.monotonic()
        if n >= want or time.monotonic() - last_change > idle_timeout:
            break
        time.sleep(0.1)
    time.sleep(settle)
    return d.accepted()


def check(acks, fire_errors, rows, records):
    """Exactly one accepted WhatsApp send per acked callback. Returns
    (problems, {root: mock record})."""
    problems = list(fire_errors[:5])
    if len(fire_errors) > 5:
        problems.append("... %d callback errors in all" % len(fire_errors))
    by_root = {}
    for root, step, channel, state, attempts, ref, to, err in rows:
        by_root.setdefault(root, []).append(
            (step, channel, state, attempts, ref, to, err))
    by_ref = {}
    bad_rows = 0
    for root, jobs in by_root.items():
        if root not in acks:
            problems.append("outbox job for a root not sent: %s" % root)
            continue
        if len(jobs) != 1 or jobs[0][:4] != (1, "whatsapp", "accepted", 1) \
                or not jobs[0][4] or jobs[0][5] != acks[root][0]:
            bad_rows += 1
            if bad_rows <= 5:
                problems.append("root %s: jobs %r" % (root, jobs))
            continue
        by_ref[jobs[0][4]] = root
    if bad_rows > 5:
        problems.append("... %d roots with unexpected jobs" % bad_rows)
    no_job = [r for r in acks if r not in by_root]
    if no_job:
        problems.append("%d acked callbacks have no outbox job (e.g. %s)"
                        % (len(no_job), no_job[0]))
    matched, extra = {}, []
    for rec in records:
        root = by_ref.get(rec.get("provider_id"))
        ok = (rec.get("provider") == "twilio" and rec.get("channel")
              == "whatsapp" and rec.get("outcome") == "accepted")
        if root is None or not ok or root in matched or \
                rec.get("recipient") != acks[root][0]:
            extra.append(rec)
        else:
            matched[root] = rec
    if extra:
        problems.append("%d sends at the mock that are not exactly-once "
                        "accepted sends of a root (duplicates, retries or "
                        "other channels), e.g. %r" % (
                            len(extra), {k: extra[0].get(k) for k in (
                                "channel", "recipient", "outcome",
                                "provider_id")}))
    missing = [r for r in acks if r not in matched]
    if missing:
        problems.append("%d of %d roots have no send at the mock"
                        % (len(missing), len(acks)))
    return problems, matched

# ---------------------------------------------------------------- stats


def pct(sorted_vals, p):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_vals:
        return float("nan")
    k = max(0, min(len(sorted_vals) - 1,
                   int(-(-p * len(sorted_vals) // 100)) - 1))
    return sorted_vals[k]


def histogram_mean(text, name):
    s, c = metric_sum(text, name + "_sum"), metric_sum(text, name + "_count")
    return s / c if c else float("nan")

# ---------------------------------------------------------------- phases


class Bench:
    def __init__(self, args):
        self.a = args
        self.work = args.work
        self.ca = make_test_ca(os.path.join(self.work, "ca"))
        self.secrets = {
            "BENCH_TWILIO": "bench-" + uuid.uuid4().hex,
            "BENCH_ADMIN": "bench-admin-" + uuid.uuid4().hex,
            "BENCH_TWILIO_SEND": DEFAULT_CREDENTIALS["twilio"]["auth_token"],
        }
        self.invalid = []
        self.diag_findings = []  # diag rounds: reported, not fatal

    def log(self, msg):
        print("fallback: " + msg, flush=True)

    def start(self, tag, poll_ms, backlog):
        quiet(self.a.quiet_wait, 0.15)
        mock = Mock(self.work, self.ca, tag, backlog)
        d = Dlrd(self.a.bin, self.work, tag, mock, poll_ms, self.secrets)
        return mock, d

    def finish(self, tag, mock, d, acks, errors):
        """Collects metrics, the outbox and the mock's log, stops both;
        checks exactly-once. Returns (problems, matched, metrics text)."""
        metrics = d.metrics()
        with open(os.path.join(d.dir, "metrics.txt"), "w") as f:
            f.write(metrics)
        rows = d.outbox()
        records = mock.requests()
        rc = d.stop()
        mock.stop()
        problems, matched = check(acks, errors, rows, records)
        if rc != 0:
            problems.append("dlrd exited %d" % rc)
        diag = tag.startswith("diag")
        for p in problems:
            print("fallback: %s %s: %s" % ("(diag)" if diag else "!!!", tag,
                                           p), flush=True)
        if problems:
            (self.diag_findings if diag else self.invalid).append(
                (tag, problems, metric_lines(
                    metrics, ("dlrd_provider_request_errors_total",
                              "dlrd_fallback_sends_total"))))
        return problems, matched, metrics

    def latency(self):
        a = self.a
        self.log("phase 1: ack -> send latency, %d callbacks at %g/s open "
                 "loop, outbox.poll_ms %d" % (a.latency_n, a.rate, a.poll_ms))
        mock, d = self.start("latency", a.poll_ms, a.mock_backlog)
        cbs = make_callbacks(a.latency_n, self.secrets["BENCH_TWILIO"])
        tcp0 = tcp_counters()
        acks, errors, t0, t1, late = fire(d.port, cbs, 4, a.rate)
        wait_drained(d, len(acks))
        tcp = {k: v - tcp0[k] for k, v in tcp_counters().items()}
        problems, matched, metrics = self.finish("latency", mock, d, acks,
                                                 errors)
        lat = sorted(matched[r]["time"] - acks[r][1] for r in matched)
        res = {
            "n": len(lat), "sent": len(cbs), "rate": a.rate,
            "achieved_rate": len(cbs) / (t1 - t0), "max_late_ms":
                late * 1000, "poll_ms": a.poll_ms,
            "p50": pct(lat, 50), "p90": pct(lat, 90), "p99": pct(lat, 99),
            "max": lat[-1] if lat else float("nan"),
            "min": lat[0] if lat else float("nan"),
            "mean": statistics.mean(lat) if lat else float("nan"),
            "send_rtt_mean": histogram_mean(
                metrics, "dlrd_provider_request_duration_seconds"),
            "valid": not problems, "problems": problems, "tcp": tcp,
        }
        with open(os.path.join(self.work, "latency.json"), "w") as f:
            json.dump({"summary": res, "latencies_s": lat}, f)
        self.log("ack -> send: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max "
                 "%.1f ms (n %d)%s" % (res["p50"] * 1e3, res["p90"] * 1e3,
                                       res["p99"] * 1e3, res["max"] * 1e3,
                                       res["n"],
                                       "" if res["valid"] else "  INVALID"))
        return res

    def sustained(self, tag, poll_ms, backlog, burst):
        mock, d = self.start(tag, poll_ms, backlog)
        cbs = make_callbacks(burst, self.secrets["BENCH_TWILIO"])
        sampler = Sampler({"dlrd": d.proc.pid, "mock": mock.proc.pid})
        sampler.start()
        tcp0 = tcp_counters()
        acks, errors, t0, t1, _ = fire(d.port, cbs, 4, 0.0)
        wait_drained(d, len(acks))
        tcp = {k: v - tcp0[k] for k, v in tcp_counters().items()}
        sampler.done.set()
        sampler.join()
        problems, matched, metrics = self.finish(tag, mock, d, acks, errors)
        times = sorted(r["time"] for r in matched.values())
        res = {"tag": tag, "poll_ms": poll_ms, "burst": len(cbs),
               "backlog": backlog or 5, "tcp": tcp,
               "acked": len(acks), "sends": len(times),
               "ingest_rate": len(cbs) / (t1 - t0),
               "valid": not problems, "problems": problems}
        if len(times) >= 20:
            lo = times[int(0.05 * (len(times) - 1))]
            hi = times[int(0.95 * (len(times) - 1))]
            start = max(t1, lo)
            inwin = [t for t in times if start < t <= hi]
            res["window_s"] = hi - start
            res["window_sends"] = len(inwin)
            res["rate"] = (len(inwin) / (hi - start) if hi > start
                           else float("nan"))
            res["overall_rate"] = (len(times) - 1) / (times[-1] - times[0])
            res["sends_during_ingest"] = sum(1 for t in times if t <= t1)
            res["cores"] = sampler.cores(start, hi) if hi > start else {}
        else:
            res["rate"] = float("nan")
        res["send_rtt_mean"] = histogram_mean(
            metrics, "dlrd_provider_request_duration_seconds")
        res["commit_mean"] = histogram_mean(
            metrics, "dlrd_store_commit_duration_seconds")
        self.log("%s: %d sends, %.1f sends/s over %.1f s steady window "
                 "(ingest %.0f callbacks/s; mock %.2f cores, dlrd %.2f "
                 "cores; %d TCP accepts, %d listen overflows)%s" % (
                     tag, len(times), res.get("rate", float("nan")),
                     res.get("window_s", 0), res["ingest_rate"],
                     res.get("cores", {}).get("mock", float("nan")),
                     res.get("cores", {}).get("dlrd", float("nan")),
                     tcp["PassiveOpens"], tcp["ListenOverflows"],
                     "" if res["valid"] else "  INVALID"))
        return res

    def hammer(self, seconds, fresh, threads=32):
        """A direct Python client against the mock: `threads` threads
        posting Twilio sends (keep-alive, or a new TLS connection per
        request when `fresh`). Returns req/s and the mock's cores."""
        tag = "hammer-" + ("fresh" if fresh else "keepalive")
        quiet(self.a.quiet_wait, 0.15)
        mock = Mock(self.work, self.ca, tag, self.a.mock_backlog)
        creds = DEFAULT_CREDENTIALS["twilio"]
        auth = "Basic " + base64.b64encode(("%s:%s" % (
            creds["account_sid"], creds["auth_token"])).encode()).decode()
        path = "/v2/Services/%s/Verifications" % creds["service_sid"]
        ctx = ssl.create_default_context(cafile=self.ca.ca_cert)
        count, bad = [0], [0]
        lock = threading.Lock()
        end = time.time() + seconds

        def worker(k):
            conn = None
            n = 0
            while time.time() < end:
                if conn is None:
                    conn = http.client.HTTPSConnection(
                        LOOPBACK, mock.port, context=ctx, timeout=10)
                to = RECIPIENTS[(k * 7919 + n) % len(RECIPIENTS)]
                body = urllib.parse.urlencode({"To": to,
                                               "Channel": "whatsapp"})
                try:
                    conn.request("POST", path, body, {
                        "Authorization": auth, "Content-Type":
                            "application/x-www-form-urlencoded"})
                    r = conn.getresponse()
                    r.read()
                    ok = r.status == 201
                except OSError:
                    ok = False
                    conn.close()
                    conn = None
                if fresh and conn is not None:
                    conn.close()
                    conn = None
                n += 1
                with lock:
                    count[0] += ok
                    bad[0] += not ok
            if conn is not None:
                conn.close()

        sampler = Sampler({"mock": mock.proc.pid, "client": os.getpid()})
        sampler.start()
        t0 = time.time()
        ts = [threading.Thread(target=worker, args=(k,))
              for k in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        t1 = time.time()
        sampler.done.set()
        sampler.join()
        mock.stop()
        res = {"mode": "new TLS connection per request" if fresh
               else "keep-alive", "threads": threads,
               "rate": count[0] / (t1 - t0), "errors": bad[0],
               "cores": sampler.cores(t0, t1)}
        self.log("direct client -> mock (%s, %d threads): %.0f req/s, mock "
                 "%.2f cores, client %.2f cores" % (
                     res["mode"], threads, res["rate"],
                     res["cores"].get("mock", float("nan")),
                     res["cores"].get("client", float("nan"))))
        return res

# ---------------------------------------------------------------- report


def machine_info(work):
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) / 1048576
    fs = subprocess.run(["df", "-T", work], stdout=subprocess.PIPE,
                        universal_newlines=True).stdout.splitlines()
    fs = fs[1].split()[1] if len(fs) > 1 else "?"
    return ("nproc %d, %s, %.1f GiB RAM, kernel %s, Python %s, database on "
            "%s under /tmp" % (os.cpu_count(), cpu, mem, platform.release(),
                               platform.python_version(), fs))


def git_rev():
    def git(*a):
        return subprocess.run(["git", "-C", ROOT] + list(a),
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              universal_newlines=True).stdout.strip()
    rev = git("rev-parse", "--short", "HEAD") or "unknown"
    if git("status", "--porcelain", "--", "src", "include", "schema",
           "CMakeLists.txt"):
        rev += " + uncommitted changes"
    return rev


def ms(x):
    return "%.1f ms" % (x * 1000)


def report(args, lat, rounds, diag, hammers, invalid, diag_findings,
           elapsed):
    L = []
    w = L.append
    nan = float("nan")
    backlog = args.mock_backlog or 5
    w("# dlrd fallback benchmark")
    w("")
    w("Written by `bench/fallback.sh`; method in bench/README.md, "
      "\"Fallback benchmark\".")
    w("")
    w("- Date: %s" % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    w("- Machine: %s; dlrd, the mock provider and the driver share the "
      "cores" % machine_info(args.work))
    w("- dlrd: %s" % (args.bin_desc or "Release build `build-bench/dlrd` "
                      "of the work tree at commit %s" % git_rev()))
    w("- Command: `%s` (%d s)" % (args.command.replace("`", "'"), elapsed))
    w("- Setup: source `twilio-messaging` with fallback "
      "sms → whatsapp → voice via provider `twilio`, pointed at "
      "`tests/mock_provider/mock_provider.py` in its own process over "
      "TLS on loopback with a throwaway test CA in "
      "`providers.twilio.ca_file`; the mock is unmodified except for its "
      "listen backlog (%d instead of socketserver's 5, see the "
      "`diag backlog 5` row). `outbox.poll_ms` = %d (%s), `io_threads` 2 "
      "(default), other outbox and provider settings default; "
      "`max_per_recipient_per_hour` 1000 and `max_per_minute` 1000000 "
      "(the defaults 3 and 600 would skip most sends); deadlines 1 day, so "
      "only the callbacks trigger sends." % (
          backlog, args.poll_ms,
          "the default" if args.poll_ms == 200 else "default is 200"))
    w("")
    w("## Results (%s)" % ("**INVALID**" if invalid else "valid"))
    w("")
    rates = [r["rate"] for r in rounds]
    w("| measure | value |")
    w("|---|---:|")
    w("| ack → send p50 / p90 / p99 / max (n %d, %g/s) | %s / %s / %s / %s |"
      % (lat["n"], lat["rate"], ms(lat["p50"]), ms(lat["p90"]),
         ms(lat["p99"]), ms(lat["max"])))
    w("| sustained sends/s, median of %d rounds | %.1f |"
      % (len(rounds), statistics.median(rates)))
    w("| per round | %s |" % ", ".join("%.1f" % r for r in rates))
    w("| bound from the dispatcher: 32 in flight / poll_ms | %.0f/s |"
      % (32 * 1000.0 / args.poll_ms))
    w("")
    w("### 1. Ack → send latency")
    w("")
    w("%d signed Twilio SMS `failed` status callbacks (unique MessageSid; "
      "the callback carries `To`, so no registration is needed) posted "
      "open loop at %g/s (achieved %.1f/s, worst slot lateness %.1f ms) "
      "over 4 keep-alive connections. Latency = the mock's arrival time "
      "of the WhatsApp send (`time` in its request log, taken when the "
      "request has been read) minus the moment the driver had read dlrd's "
      "200; both `time.time()` on this machine. %d of %d sends matched to "
      "their callback by provider id. TCP connections accepted on the "
      "machine during the run: %d (≈ new TLS connections from dlrd to the "
      "mock), listen overflows %d."
      % (lat["sent"], lat["rate"], lat["achieved_rate"], lat["max_late_ms"],
         lat["n"], lat["sent"], lat["tcp"]["PassiveOpens"],
         lat["tcp"]["ListenOverflows"]))
    w("")
    w("| n | min | p50 | p90 | p99 | max | mean | mean send RTT (dlrd "
      "metric) |")
    w("|---:|---:|---:|---:|---:|---:|---:|---:|")
    w("| %d | %s | %s | %s | %s | %s | %s | %s |" % (
        lat["n"], ms(lat["min"]), ms(lat["p50"]), ms(lat["p90"]),
        ms(lat["p99"]), ms(lat["max"]), ms(lat["mean"]),
        ms(lat["send_rtt_mean"])))
    w("")
    w("A job becomes due when the callback's commit writes it; the ingest "
      "writer then wakes the dispatcher, which claims it at once (the "
      "`outbox.poll_ms` tick is only the fallback for deadlines and "
      "retries), so the latency is the claim commit plus the send (a "
      "pooled connection, or a new TCP + TLS handshake). A negative "
      "minimum means the mock logged the send before the driver had read "
      "dlrd's 200 (the send can overtake the answer).")
    w("")
    w("### 2. Sustained fallback sends per second")
    w("")
    w("Per round: fresh dlrd, database and mock; %d callbacks fired as "
      "fast as 4 keep-alive connections allow (diag rounds: a half and a "
      "quarter of that); "
      "sends/s = accepted sends arriving at the mock in the steady window "
      "(after the last callback was acked, from the 5th to the 95th "
      "percentile of arrivals). Per poll = sends/s × poll_ms, against the "
      "dispatcher's 32 jobs in flight. Cores = CPU time / wall time in the window, from /proc. TCP "
      "accepts and listen overflows: machine-wide counter deltas over the "
      "round (the driver adds ~10 connections)." % args.burst)
    w("")
    w("| round | poll_ms | mock backlog | callbacks/s in | sends | sends/s "
      "| window | per poll (of 32) | mean send RTT | TCP accepts | listen overflows | dlrd cores | mock "
      "cores | other cores | valid |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
      "---:|---|")
    for r in rounds + diag:
        c = r.get("cores", {})
        w("| %s | %d | %d | %.0f | %d/%d | %.1f | %.1f s | %.1f | "
          "%s | %d | %d | %.2f | %.2f | %.2f | %s |" % (
              r["tag"], r["poll_ms"], r["backlog"], r["ingest_rate"],
              r["sends"], r["burst"], r["rate"], r.get("window_s", 0),
              r["rate"] * r["poll_ms"] / 1000.0, ms(r["send_rtt_mean"]), r["tcp"]["PassiveOpens"],
              r["tcp"]["ListenOverflows"], c.get("dlrd", nan),
              c.get("mock", nan), c.get("others", nan),
              "yes" if r["valid"] else "no (see below)"
              if r["tag"].startswith("diag") else "**INVALID**"))
    w("")
    if diag:
        w("The `diag` rows are not part of the median: `diag poll %d` is "
          "the same run with `outbox.poll_ms` = %d; `diag backlog 5` uses "
          "the mock exactly as in tests/ (listen backlog 5)." % (
              args.diag_poll_ms, args.diag_poll_ms))
        w("")
    w("Exactly-once check (every round and the latency run; the diag "
      "rounds are checked and reported but do not invalidate): every callback answered 200 `accepted`; each root has exactly "
      "one outbox job (step 1, whatsapp, accepted, 1 attempt); the mock's "
      "log holds exactly one accepted WhatsApp send per root, matched by "
      "the VE sid the mock returned (= the job's `provider_ref`) and the "
      "recipient, and no other send. %s" % (
          "**Failed:** see below." if invalid else "Passed."))
    w("")
    w("### 3. Is the mock the bottleneck?")
    w("")
    w("A direct Python client (32 threads, the same Twilio send request) "
      "against a fresh mock (backlog %d) for %d s each:" % (
          backlog, args.hammer_s))
    w("")
    w("| client | req/s | mock cores | client cores |")
    w("|---|---:|---:|---:|")
    for h in hammers:
        w("| %s | %.0f | %.2f | %.2f |" % (
            h["mode"], h["rate"], h["cores"].get("mock", nan),
            h["cores"].get("client", nan)))
    w("")
    for title, runs in (("INVALID runs", invalid),
                        ("Diagnostic rounds that were not exactly-once "
                         "(not counted as INVALID)", diag_findings)):
        if not runs:
            continue
        w("## " + title)
        w("")
        for tag, problems, samples in runs:
            for p in problems:
                w("- %s: %s" % (tag, p))
            if samples:
                w("- %s, non-zero counters: `%s`" % (tag, "`, `".join(
                    samples)))
        w("")
    return "\n".join(L) + "\n"


def main():
    if sys.argv[1:2] == ["mock"]:
        return run_mock(sys.argv[2:])
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--command", default="bench/fallback.sh")
    ap.add_argument("--bin-desc", default="",
                    help="what the binary is, for the report")
    ap.add_argument("--latency-n", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=50.0)
    ap.add_argument("--burst", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--poll-ms", type=int, default=200)
    ap.add_argument("--mock-backlog", type=int, default=256,
                    help="the mock's listen backlog; 0: the unmodified "
                         "mock (5)")
    ap.add_argument("--diag", type=int, default=1,
                    help="0: no diagnostic rounds")
    ap.add_argument("--diag-poll-ms", type=int, default=50)
    ap.add_argument("--hammer-s", type=int, default=5)
    ap.add_argument("--quiet-wait", type=int, default=60)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    t0 = time.time()
    try:
        b = Bench(args)
        lat = b.latency()
        b.log("phase 2: sustained sends, %d rounds of %d callbacks, "
              "outbox.poll_ms %d" % (args.rounds, args.burst, args.poll_ms))
        rounds = [b.sustained("r%d" % (i + 1), args.poll_ms,
                              args.mock_backlog, args.burst)
                  for i in range(args.rounds)]
        diag = []
        if args.diag:
            half = max(200, args.burst // 2)
            quarter = max(200, args.burst // 4)
            b.log("diagnostic rounds: outbox.poll_ms %d (%d callbacks); the "
                  "unmodified mock, listen backlog 5 (%d callbacks)"
                  % (args.diag_poll_ms, half, quarter))
            diag.append(b.sustained("diag poll %d" % args.diag_poll_ms,
                                    args.diag_poll_ms, args.mock_backlog,
                                    half))
            if args.mock_backlog:
                diag.append(b.sustained("diag backlog 5", args.poll_ms, 0,
                                        quarter))
        b.log("phase 3: direct client against the mock")
        hammers = [b.hammer(args.hammer_s, False),
                   b.hammer(args.hammer_s, True)]
    finally:
        stop_all()
    text = report(args, lat, rounds, diag, hammers, b.invalid,
                  b.diag_findings, int(time.time() - t0))
    with open(args.out, "w") as f:
        f.write(text)
    print()
    print(text)
    return 3 if b.invalid else 0


if __name__ == "__main__":
    sys.exit(main())
