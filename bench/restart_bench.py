#!/usr/bin/env python3
"""Restart time of dlrd on a big database (bench/restart.sh runs it;
Python 3 standard library only).

  restart_bench.py --bin DLRD --template DB --work DIR [--restarts 5]
                   [--page-cache both|warm|cold] [--poll-ms 2] [--timeout 120]
                   [--quiet-wait 60] [--out FILE] [--command TEXT]
                   [--bin-desc TEXT]

The figure: "restart to the first 2xx with a 1 GB database < 1 s".

1. DB (already migrated by `benchlib.py cached-db`) is copied once into
   WORK (cp --reflink=auto + fsync); every start below runs on that copy,
   as a restarted daemon runs on the database it left.
2. --restarts times, for each cache state (warm, then cold, with --page-cache
   both): wait up to --quiet-wait s for an idle machine; for a warm start,
   read the whole database once (every page cached); for a cold start,
   evict the database's pages from the page cache first
   (posix_fadvise(DONTNEED) on the file alone: nothing else is dropped);
   spawn `dlrd serve` (one VerifyNow source, HMAC-SHA256, an admin token)
   and, from the moment just before the fork, poll every --poll-ms ms in
   two threads:
     webhook  POST /webhooks/verifynow with a freshly signed, unique event
              (a new connection each time), until the first 2xx;
     readyz   GET /readyz on the admin listener, until the first 200.
   Recorded per start: spawn -> first accepted TCP connection (public
   listener), -> first 2xx, -> /readyz 200, -> the `event=started` log line
   (its timestamp, ms resolution), dlrd's CPU time at the first 2xx, the
   polls refused / answered non-2xx, the other CPU load meanwhile, and the
   SIGTERM -> exit time of the stop that follows (exit code must be 0).
3. Check: the copy gained exactly one delivery event per 2xx answer.
Writes a markdown report to --out and prints it. Exit 1 on a failed check,
3 when the first-2xx target (< 1 s, every start) is missed.
"""

import argparse
import calendar
import hashlib
import hmac
import json
import os
import platform
import re
import secrets
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (DAEMON_SECRET, ROOT_DIR, Daemon, busy_seconds,  # noqa: E402
                      copy_db, exit_on_signals, free_port, http_get,
                      kill_children, latest_schema_version, user_version,
                      wait_quiet)

TARGET_S = 1.0


def rows(db):
    c = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        return c.execute("SELECT count(*) FROM delivery_events").fetchone()[0]
    finally:
        c.close()


def evict(db):
    """Drops the database's (clean) pages from the page cache; returns the
    bytes still resident afterwards when fincore(1) is there, else None."""
    for suffix in ("", "-wal", "-shm"):
        path = db + suffix
        if not os.path.exists(path):
            continue
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)  # dirty pages cannot be dropped
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    return resident(db)


def warm(db):
    """Reads the whole database once, so that a warm start finds every page
    cached (also after a cold start, which reads only what it needs)."""
    with open(db, "rb", buffering=0) as f:
        while f.read(1 << 20):
            pass
    return resident(db)


def resident(path):
    if not shutil.which("fincore"):
        return None
    p = subprocess.run(["fincore", "--bytes", "--noheadings", "--output",
                        "RES", path], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL)
    try:
        return int(p.stdout.split()[0])
    except (ValueError, IndexError):
        return None


def proc_cpu(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            v = f.read().rsplit(") ", 1)[1].split()
        return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class Poller:
    """Signed webhook POSTs (a new connection and a new event each time)
    until the first 2xx; counts what came before."""

    def __init__(self, port, run_id, t0, deadline, poll_s, pid):
        self.port, self.run_id, self.t0 = port, run_id, t0
        self.deadline, self.poll_s, self.pid = deadline, poll_s, pid
        self.n = 0
        self.refused = 0
        self.errors = 0
        self.codes = {}
        self.connected_s = None
        self.first_2xx_s = None
        self.cpu_at_2xx = None
        self.accepted = 0  # 2xx answers (each is one stored event)
        self.stop = False

    def request(self):
        self.n += 1
        body = json.dumps({"verificationId": "restart-%s-%d"
                           % (self.run_id, self.n),
                           "deliveryStatus": "DELIVERED", "channel": "SMS",
                           "latencyMs": 1000}, separators=(",", ":")).encode()
        sig = hmac.new(DAEMON_SECRET.encode(), body,
                       hashlib.sha256).hexdigest()
        return ("POST /webhooks/verifynow HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Content-Type: application/json\r\n"
                "X-Signature: sha256=%s\r\nContent-Length: %d\r\n"
                "Connection: close\r\n\r\n" % (sig, len(body))).encode() + body

    def run(self):
        while not self.stop and time.perf_counter() < self.deadline:
            try:
                s = socket.create_connection(("127.0.0.1", self.port),
                                             timeout=30)
            except ConnectionRefusedError:
                self.refused += 1
                time.sleep(self.poll_s)
                continue
            except OSError:
                self.errors += 1
                time.sleep(self.poll_s)
                continue
            if self.connected_s is None:
                self.connected_s = time.perf_counter() - self.t0
            try:
                with s:
                    s.sendall(self.request())
                    buf = bytearray()
                    while True:
                        chunk = s.recv(65536)
                        if not chunk:
                            break
                        buf += chunk
                t = time.perf_counter() - self.t0
                m = re.match(rb"HTTP/1\.1 (\d{3})", bytes(buf))
                code = int(m.group(1)) if m else 0
            except OSError:
                self.errors += 1
                time.sleep(self.poll_s)
                continue
            if 200 <= code < 300:
                self.accepted += 1
                self.first_2xx_s = t
                self.cpu_at_2xx = proc_cpu(self.pid)
                return
            self.codes[code] = self.codes.get(code, 0) + 1
            time.sleep(self.poll_s)


class ReadyPoller:
    def __init__(self, port, t0, deadline, poll_s):
        self.port, self.t0, self.deadline, self.poll_s = port, t0, deadline, \
            poll_s
        self.ready_s = None
        self.stop = False

    def run(self):
        while not self.stop and time.perf_counter() < self.deadline:
            try:
                st, _, _ = http_get(self.port, "/readyz", timeout=30)
                if st == 200:
                    self.ready_s = time.perf_counter() - self.t0
                    return
            except OSError:
                pass
            time.sleep(self.poll_s)


def started_offset(log_path, t0_wall):
    """Seconds from spawn to dlrd's `event=started` log line."""
    try:
        with open(log_path, "rb") as f:
            for line in f:
                if b" event=started " not in line:
                    continue
                m = re.match(rb"ts=(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):"
                             rb"(\d\d)\.(\d{3})Z", line)
                if not m:
                    return None
                y, mo, d, h, mi, s, milli = (int(x) for x in m.groups())
                wall = calendar.timegm((y, mo, d, h, mi, s)) + milli / 1000
                return wall - t0_wall
    except OSError:
        pass
    return None


def one_start(args, db, work, ports, n, cache):
    quiet, busy_before = wait_quiet(args.quiet_wait, 0.3)
    res_before = evict(db) if cache == "cold" else warm(db)
    run_id = "%s-%d-%s" % (secrets.token_hex(3), n, cache)
    d = Daemon(args.bin, db, work, "start%d-%s" % (n, cache), *ports)
    b0 = busy_seconds()
    t0_wall = time.time()
    t0 = d.spawn()
    deadline = t0 + args.timeout
    post = Poller(d.port, run_id, t0, deadline, args.poll_ms / 1000,
                  d.proc.pid)
    ready = ReadyPoller(d.admin, t0, deadline, args.poll_ms / 1000)
    threads = [threading.Thread(target=post.run, daemon=True),
               threading.Thread(target=ready.run, daemon=True)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        if d.proc.poll() is not None:
            post.stop = ready.stop = True
        time.sleep(0.005)
    wall = time.perf_counter() - t0
    busy = busy_seconds() - b0
    cpu = proc_cpu(d.proc.pid)
    if d.proc.poll() is not None:
        raise SystemExit("dlrd exited with %d during start %d (%s); see %s"
                         % (d.proc.returncode, n, cache, d.log.name))
    stop_s = d.stop()
    rec = {"n": n, "cache": cache, "quiet_before": quiet,
           "busy_before": round(busy_before, 2),
           "resident_before": res_before,
           "connect_s": post.connected_s, "first_2xx_s": post.first_2xx_s,
           "ready_s": ready.ready_s,
           "started_log_s": started_offset(d.log.name, t0_wall),
           "dlrd_cpu_at_2xx_s": post.cpu_at_2xx,
           "refused": post.refused, "errors": post.errors,
           "non_2xx": post.codes, "accepted": post.accepted,
           "stop_s": round(stop_s, 3),
           # CPUs used meanwhile by everything but dlrd (this driver's
           # polling threads included).
           "other_cpus": round(max(0.0, busy - (cpu or 0)) / wall, 2)}
    print("  start %d %-4s: connect %s  first 2xx %s  readyz %s  'started' "
          "%s  dlrd CPU %s  refused %d  non-2xx %s  stop %.2f s  other %.2f "
          "CPUs" % (n, cache, fs(rec["connect_s"]), fs(rec["first_2xx_s"]),
                    fs(rec["ready_s"]), fs(rec["started_log_s"]),
                    fs(rec["dlrd_cpu_at_2xx_s"]), post.refused,
                    post.codes or 0, stop_s, rec["other_cpus"]), flush=True)
    return rec


def fs(x):
    return "n/a" if x is None else "%.3f s" % x


def ms(x):
    return "n/a" if x is None else "%.0f ms" % (x * 1000)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--template", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--restarts", type=int, default=5)
    ap.add_argument("--page-cache", choices=("both", "warm", "cold"),
                    default="both")
    ap.add_argument("--poll-ms", type=float, default=2.0)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--quiet-wait", type=int, default=60)
    ap.add_argument("--out", default="")
    ap.add_argument("--command", default="")
    ap.add_argument("--bin-desc", default="")
    args = ap.parse_args()
    exit_on_signals()
    try:
        return run(args)
    finally:
        kill_children()


def run(args):
    latest = latest_schema_version()
    if user_version(args.template) < latest:
        raise SystemExit("%s is not migrated (schema version %d < %d): get "
                         "it through benchlib.py cached-db --bin"
                         % (args.template, user_version(args.template),
                            latest))
    db = os.path.join(args.work, "restart.db")
    cp = copy_db(args.template, db)
    rows0 = rows(db)
    size = os.path.getsize(db)
    print("restart: %s (%d events, %.2f GB), copied in %.1f s"
          % (args.template, rows0, size / 1e9, cp["seconds"]), flush=True)
    ports = (free_port(), free_port())  # the same ones at every restart
    modes = ["warm", "cold"] if args.page_cache == "both" else [args.page_cache]
    recs = []
    for n in range(1, args.restarts + 1):
        for cache in modes:
            recs.append(one_start(args, db, args.work, ports, n, cache))
    accepted = sum(r["accepted"] for r in recs)
    rows1 = rows(db)
    problems = []
    if rows1 - rows0 != accepted:
        problems.append("the database gained %d events, but %d POSTs were "
                        "answered 2xx" % (rows1 - rows0, accepted))
    for r in recs:
        if r["first_2xx_s"] is None:
            problems.append("start %d (%s): no 2xx within %.0f s"
                            % (r["n"], r["cache"], args.timeout))
        if r["ready_s"] is None:
            problems.append("start %d (%s): /readyz not 200 within %.0f s"
                            % (r["n"], r["cache"], args.timeout))
    text = report(args, rows0, size, recs, modes, problems, accepted)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    print()
    print(text)
    if problems:
        return 1
    met = all(r["first_2xx_s"] < TARGET_S for r in recs)
    return 0 if met else 3


def report(args, rows0, size, recs, modes, problems, accepted):
    side = {}
    if os.path.exists(args.template + ".bench.json"):
        with open(args.template + ".bench.json") as f:
            side = json.load(f)
    gen = {}
    if os.path.exists(args.template + ".gen.json"):
        with open(args.template + ".gen.json") as f:
            gen = json.load(f)
    commit = subprocess.run(
        ["git", "-C", ROOT_DIR, "describe", "--always", "--dirty"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode(
        ).strip()
    ver = subprocess.run([args.bin, "--version"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL).stdout.decode().strip()
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    L = []
    L.append("# dlrd restart benchmark (spawn to the first 2xx)\n")
    L.append("- Date: %s" % time.strftime("%Y-%m-%d %H:%M UTC",
                                          time.gmtime()))
    L.append("- Machine: %s, %d CPUs, Linux %s; database on %s" % (
        cpu, os.cpu_count(), platform.release(),
        subprocess.run(["df", "--output=fstype", args.work],
                       stdout=subprocess.PIPE).stdout.decode().split()[-1]))
    L.append("- Commit: `%s`; binary: `%s`%s" % (
        commit, ver, "; " + args.bin_desc if args.bin_desc else ""))
    if args.command:
        L.append("- Command: `` %s ``" % args.command)
    L.append("- Database: %d delivery events (`bench/gen_stats_db.py`%s), "
             "**%.2f GB** (%.2f GiB), schema version %d%s." % (
                 rows0, ", %s days, seed %s" % (gen.get("days"),
                                                 gen.get("seed"))
                 if gen else "", size / 1e9, size / 2**30,
                 user_version(args.template),
                 "; migrated once beforehand (%s → %s) in %.1f s" % (
                     side.get("migrated_from"), side.get("migrated_to"),
                     side["migration_s"]) if "migration_s" in side else ""))
    busy = [r for r in recs if not r["quiet_before"] or r["other_cpus"] > 0.3]
    L.append("- Other work on the machine: %d of %d starts began on a busy "
             "machine or had more than 0.3 CPUs of other load (median other "
             "load %.2f of %d CPUs)%s." % (
                 len(busy), len(recs),
                 statistics.median(r["other_cpus"] for r in recs),
                 os.cpu_count(),
                 ": those times are upper bounds of an idle machine's"
                 if busy else ""))
    if size < 1e9:
        L.append("- **The database is smaller than 1 GB**: this run checks "
                 "the method, it is not the figure the target asks for.")
    L.append("")
    L.append("Each start: `dlrd serve` on the same database (the copy the "
             "previous start left), timed from just before the fork. "
             "*First 2xx*: a signed VerifyNow callback with a new event, "
             "POSTed on a new connection every %g ms until one is answered "
             "2xx (dlrd answers only after the commit is durable). "
             "*Connect*: the first TCP connection the public listener "
             "accepted. *'started'*: dlrd's `event=started` log line (ms "
             "resolution). *Warm*: the whole database was read just before, "
             "so its pages are in the page cache (the usual `systemctl "
             "restart`); *cold*: they were "
             "evicted just before (posix_fadvise DONTNEED on the file; the "
             "binary and libraries stay cached). *Other CPUs*: load from "
             "everything but dlrd meanwhile, this driver's polling "
             "included.\n" % args.poll_ms)
    L.append("| cache | starts | first 2xx median | first 2xx max | "
             "/readyz median | /readyz max | connect median | dlrd CPU at "
             "first 2xx (median) | stop (SIGTERM → exit) median |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    verdicts = []
    for mode in modes:
        rs = [r for r in recs if r["cache"] == mode]

        def col(k, f):
            xs = [r[k] for r in rs if r[k] is not None]
            return f(xs) if xs else None
        first = col("first_2xx_s", statistics.median)
        first_max = col("first_2xx_s", max)
        L.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s |" % (
            mode, len(rs), ms(first), ms(first_max),
            ms(col("ready_s", statistics.median)), ms(col("ready_s", max)),
            ms(col("connect_s", statistics.median)),
            ms(col("dlrd_cpu_at_2xx_s", statistics.median)),
            ms(col("stop_s", statistics.median))))
        if first_max is not None:
            verdicts.append("%s: max %s, median %s — **%s**" % (
                mode, ms(first_max), ms(first),
                "met" if first_max < TARGET_S and
                len([r for r in rs if r["first_2xx_s"] is None]) == 0
                else "MISSED"))
    L.append("")
    L.append("**Target: restart to the first 2xx with a 1 GB database "
             "< 1 s** (every start): " + "; ".join(verdicts) + "."
             + (" (The database is below 1 GB.)" if size < 1e9 else ""))
    L.append("")
    if problems:
        L.append("**⚠ CHECKS FAILED:**\n")
        for p in problems:
            L.append("- " + p)
    else:
        L.append("Check: the database gained exactly one delivery event per "
                 "2xx answer (%d), and every stop exited 0." % accepted)
    L.append("")
    L.append("<details><summary>Every start</summary>\n")
    L.append("| # | cache | resident before | connect | first 2xx | /readyz "
             "| 'started' logged | dlrd CPU at 2xx | refused polls | non-2xx "
             "| stop | other CPUs | quiet before |")
    L.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|")
    for r in recs:
        res = r["resident_before"]
        L.append("| %d | %s | %s | %s | %s | %s | %s | %s | %d | %s | %s | "
                 "%.2f | %s |" % (
                     r["n"], r["cache"],
                     "n/a" if res is None else "%.0f MB" % (res / 1e6),
                     ms(r["connect_s"]), ms(r["first_2xx_s"]),
                     ms(r["ready_s"]), ms(r["started_log_s"]),
                     ms(r["dlrd_cpu_at_2xx_s"]), r["refused"],
                     ", ".join("%sx%d" % kv for kv in
                               sorted(r["non_2xx"].items())) or "0",
                     ms(r["stop_s"]), r["other_cpus"],
                     "yes" if r["quiet_before"] else
                     "no (%.2f CPUs busy)" % r["busy_before"]))
    L.append("\n</details>\n")
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    sys.exit(main())
