#!/usr/bin/env python3
"""Times dlrd's analytics queries on a big database (bench/stats.sh runs
it; Python 3 standard library only).

  stats_bench.py --bin DLRD --db DB [--runs 20] [--out bench/stats_results.md]
                 [--gen-json FILE] [--command TEXT] [--work DIR]

1. Migration. When DB is still at schema version 2 (gen_stats_db.py's
   output), `dlrd serve` is started on it once: migration 0003 builds the
   hourly rollups from every stored row before the daemon reports ready.
   The time from spawn to /readyz 200 is recorded (minus a baseline start
   of the same binary on an empty database) and kept next to the database
   in DB.bench.json, so a later run on the migrated file still reports it.
2. Queries, each --runs times, with `dlrd serve` running on the database
   (idle: nothing is posted), the window ending at the last event of the
   generated history (`--to`; the same as "now" right after generation):
     cli  `dlrd stats --db DB --to END --since 24h --by
          channel,provider,country --format json`: the whole process, from
          exec to exit (page cache warm after the first run);
     api  GET /v1/stats?to=END&since=24h&by=channel,provider,country on the
          admin listener, one new loopback connection per request, from
          connect to the last byte of the body;
   the same for 7 days, and for 24 h with the hourly series.
3. Correctness on the big database: the 24 h report (by
   channel,provider,country) must equal a direct GROUP BY over the raw
   tables for the same whole-hour window: callbacks, provider-latency count
   and error counts by the events' received hour, sent/delivered/failed/
   verified by verifications.first_event_at_ms.
Writes a markdown report to --out and prints it.
"""

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (DAEMON_ADMIN_TOKEN as ADMIN_TOKEN, ROOT_DIR,  # noqa: E402
                      Daemon, busy_cpus, cpu_times, exit_on_signals,
                      http_get, kill_children, migrate, wait_quiet)

HOUR_MS = 3_600_000
BY = "channel,provider,country"


def proc_cpu(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            v = f.read().rsplit(") ", 1)[1].split()
        return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


class OtherLoad:
    """CPU seconds the rest of the machine used while a block ran: all
    busy time (/proc/stat) minus this process, its children (the CLI runs)
    and the daemon."""

    def __init__(self, daemon_pid):
        self.pid = daemon_pid

    def _sample(self):
        total, idle = cpu_times()
        t = os.times()
        mine = t.user + t.system + t.children_user + t.children_system + \
            proc_cpu(self.pid)
        hz = os.sysconf("SC_CLK_TCK")
        return (total - idle) / hz, mine, time.monotonic()

    def __enter__(self):
        self.a = self._sample()
        return self

    def __exit__(self, *exc):
        b = self._sample()
        wall = max(1e-6, b[2] - self.a[2])
        self.cpus = max(0.0, ((b[0] - self.a[0]) - (b[1] - self.a[1]))
                        / wall)


def history(db):
    c = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        n = c.execute("SELECT MAX(id) FROM delivery_events").fetchone()[0]
        lo, hi = c.execute("SELECT MIN(received_at_ms), MAX(received_at_ms)"
                           " FROM delivery_events").fetchone()
        v = c.execute("SELECT COUNT(*) FROM verifications").fetchone()[0]
        return {"events": n, "verifications": v, "first_ms": lo,
                "last_ms": hi}
    finally:
        c.close()


def rfc3339(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + \
        ".%03dZ" % (ms % 1000)


def summary(xs):
    xs = sorted(xs)
    p90 = xs[min(len(xs) - 1, max(0, -(-9 * len(xs) // 10) - 1))]
    return {"n": len(xs), "median_ms": statistics.median(xs) * 1000,
            "p90_ms": p90 * 1000, "max_ms": xs[-1] * 1000,
            "min_ms": xs[0] * 1000, "first_ms": None}


def time_cli(args, extra, runs):
    cmd = [args.bin, "stats", "--db", args.db, "--format", "json"] + extra
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        dt = time.perf_counter() - t0
        if p.returncode != 0:
            raise SystemExit("%s: exit %d: %s" % (" ".join(cmd), p.returncode,
                                                  p.stderr.decode()))
        times.append(dt)
        out = p.stdout
    return times, json.loads(out), " ".join(
        ["dlrd"] + cmd[1:]).replace(args.db, "DB")


def time_api(port, query, runs):
    times, body = [], None
    for _ in range(runs):
        st, body, dt = http_get(port, "/v1/stats?" + query, ADMIN_TOKEN)
        if st != 200:
            raise SystemExit("GET /v1/stats?%s: %d %s" % (query, st, body))
        times.append(dt)
    return times, json.loads(body)


def parse_ts(text):
    import datetime
    dt = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    return int(dt.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)


def check(db, report):
    """Compares a by=channel,provider,country report with GROUP BYs over
    the raw tables; returns (ok, details)."""
    lo, hi = parse_ts(report["from"]), parse_ts(report["to"])
    c = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    t0 = time.perf_counter()
    want = {}

    def row(key):
        return want.setdefault(key, {"callbacks": 0, "sent": 0,
                                     "delivered": 0, "failed": 0,
                                     "verified": 0, "latency_n": 0,
                                     "errors": {}})
    for ch, pr, co, n, lat in c.execute(
            "SELECT channel, provider, country, COUNT(*),"
            " SUM(latency_ms IS NOT NULL AND status = 'delivered')"
            " FROM delivery_events WHERE received_at_ms >= ?"
            " AND received_at_ms < ? GROUP BY 1, 2, 3", (lo, hi)):
        r = row((ch, pr, co))
        r["callbacks"], r["latency_n"] = n, lat
    for ch, pr, co, code, n in c.execute(
            "SELECT channel, provider, country, error_code, COUNT(*)"
            " FROM delivery_events WHERE received_at_ms >= ?"
            " AND received_at_ms < ? AND error_code != ''"
            " GROUP BY 1, 2, 3, 4", (lo, hi)):
        row((ch, pr, co))["errors"][code] = n
    for ch, pr, co, n, d, f, v in c.execute(
            "SELECT channel, provider, country, COUNT(*),"
            " SUM(status_rank >= 4), SUM(status_rank = 3),"
            " SUM(status_rank = 6) FROM verifications"
            " WHERE first_event_at_ms >= ? AND first_event_at_ms < ?"
            " GROUP BY 1, 2, 3", (lo, hi)):
        r = row((ch, pr, co))
        r["sent"], r["delivered"], r["failed"], r["verified"] = n, d, f, v
    sql_s = time.perf_counter() - t0
    c.close()
    got = {}
    for g in report["groups"]:
        got[(g["channel"], g["provider"], g["country"])] = g
    problems = []
    if set(got) != set(want):
        problems.append("groups differ: only in report %s, only in SQL %s"
                        % (sorted(set(got) - set(want))[:5],
                           sorted(set(want) - set(got))[:5]))
    for key in sorted(set(got) & set(want)):
        g, w = got[key], want[key]
        for k in ("callbacks", "sent", "delivered", "failed", "verified"):
            if g[k] != w[k]:
                problems.append("%s %s: report %d, SQL %d" % (key, k, g[k],
                                                              w[k]))
        if g["latency"]["count"] != w["latency_n"]:
            problems.append("%s latency count: %d vs %d"
                            % (key, g["latency"]["count"], w["latency_n"]))
        top = sorted(w["errors"].items(), key=lambda kv: (-kv[1], kv[0]))[:5]
        if [(e["code"], e["count"]) for e in g["top_errors"]] != top:
            problems.append("%s top errors: %s vs %s"
                            % (key, g["top_errors"], top))
    totals = {k: sum(w[k] for w in want.values())
              for k in ("callbacks", "sent", "delivered", "failed",
                        "verified")}
    for k, v in totals.items():
        if report["total"][k] != v:
            problems.append("total %s: report %d, SQL %d"
                            % (k, report["total"][k], v))
    return not problems, {"groups": len(want), "totals": totals,
                          "sql_seconds": round(sql_s, 2),
                          "problems": problems[:20]}


def fmt_ms(x):
    return "%.1f" % x


def machine():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            mem = "%.1f GiB RAM" % (int(f.readline().split()[1]) / 2**20)
    except OSError:
        pass
    return "%s, %d CPUs, %s, Linux %s, SQLite (Python's) %s" % (
        cpu, os.cpu_count(), mem, platform.release(), sqlite3.sqlite_version)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--out", default="")
    ap.add_argument("--gen-json", default="")
    ap.add_argument("--command", default="")
    ap.add_argument("--bin-desc", default="")
    ap.add_argument("--work", default="")
    ap.add_argument("--quiet-wait", type=int, default=180,
                    help="wait up to this long for an idle machine before "
                    "the queries")
    args = ap.parse_args()
    exit_on_signals()
    work = args.work or tempfile.mkdtemp(prefix="dlrd-stats-bench.")
    try:
        run(args, work)
    finally:
        kill_children()
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


def run(args, work):
    gen = {}
    if args.gen_json and os.path.exists(args.gen_json):
        with open(args.gen_json) as f:
            gen = json.load(f)
    side = migrate(args.bin, args.db, work, args.quiet_wait)
    hist = history(args.db)
    end = hist["last_ms"] + 1
    to = rfc3339(end)
    d = Daemon(args.bin, args.db, work, "serve").start()
    results = []
    try:
        quiet, busy = wait_quiet(args.quiet_wait)
        print("machine %s before the queries (%.2f CPUs busy)"
              % ("quiet" if quiet else "BUSY", busy), flush=True)
        load0 = (os.getloadavg()[0], busy, quiet)
        queries = [
            ("24 h, by channel,provider,country",
             ["--to", to, "--since", "24h", "--by", BY],
             "to=%s&since=24h&by=%s" % (to, BY)),
            ("7 d, by channel,provider,country",
             ["--to", to, "--since", "7d", "--by", BY],
             "to=%s&since=7d&by=%s" % (to, BY)),
            ("24 h hourly series, by channel,provider,country",
             ["--to", to, "--since", "24h", "--by", BY, "--hourly"],
             "to=%s&since=24h&by=%s&series=hourly" % (to, BY)),
            ("30 d, no grouping", ["--to", to, "--since", "30d"],
             "to=%s&since=30d" % to),
        ]
        reports = {}
        for name, cli, api in queries:
            with OtherLoad(d.proc.pid) as other:
                ct, crep, ccmd = time_cli(args, cli, args.runs)
                at, arep = time_api(d.admin, api, args.runs)
            if crep != arep:
                raise SystemExit("CLI and API reports differ for " + name)
            reports[name] = crep
            rows = len(crep["groups"]) + len(crep.get("series", []))
            cs, as_ = summary(ct), summary(at)
            cs["first_ms"], as_["first_ms"] = ct[0] * 1000, at[0] * 1000
            results.append({"name": name, "cli": cs, "api": as_,
                            "rows": rows, "cli_cmd": ccmd,
                            "api_path": "/v1/stats?" + api.replace(to, "END"),
                            "other_cpus": other.cpus,
                            "callbacks": crep["total"]["callbacks"],
                            "sent": crep["total"]["sent"]})
            print("%-48s cli median %6.1f ms p90 %6.1f max %6.1f | api median"
                  " %6.1f ms p90 %6.1f max %6.1f | %d rows, %d callbacks"
                  % (name, cs["median_ms"], cs["p90_ms"], cs["max_ms"],
                     as_["median_ms"], as_["p90_ms"], as_["max_ms"], rows,
                     crep["total"]["callbacks"]), flush=True)
        # "now" literally, as an operator would type it.
        now_note = ""
        if time.time() * 1000 - end < HOUR_MS:
            ct, _, _ = time_cli(args, ["--since", "24h", "--by", BY],
                                args.runs)
            s = summary(ct)
            now_note = ("`dlrd stats --db DB --since 24h --by %s --format "
                        "json` (window ending now): median %.1f ms, p90 "
                        "%.1f ms, max %.1f ms." % (BY, s["median_ms"],
                                                   s["p90_ms"], s["max_ms"]))
        else:
            now_note = ("The history ends %.1f h before this run (a cached "
                        "database): the windows end at its last event."
                        % ((time.time() * 1000 - end) / HOUR_MS))
        load1 = (os.getloadavg()[0], busy_cpus())
    finally:
        d.stop()
    ok, detail = check(args.db, reports[queries[0][0]])
    print("correctness (24 h report vs GROUP BY over the raw tables): %s %s"
          % ("OK" if ok else "MISMATCH", json.dumps(detail)), flush=True)
    text = report_md(args, gen, side, hist, results, ok, detail, now_note,
                     load0, load1)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    print(text)
    if not ok:
        sys.exit(1)
    worst = results[0]
    if max(worst["cli"]["median_ms"], worst["api"]["median_ms"]) >= 250:
        print("24 h query median is not under 250 ms", file=sys.stderr)
        sys.exit(3)


def report_md(args, gen, side, hist, results, ok, detail, now_note, load0,
              load1):
    commit = subprocess.run(
        ["git", "-C", os.path.dirname(os.path.abspath(__file__)),
         "describe", "--always", "--dirty"], stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL).stdout.decode().strip()
    ver = subprocess.run([args.bin, "--version"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL).stdout.decode().strip()
    size = os.path.getsize(args.db)
    L = []
    L.append("# dlrd analytics benchmark (`GET /v1/stats`, `dlrd stats`)\n")
    L.append("- Date: %s" % time.strftime("%Y-%m-%d %H:%M UTC",
                                          time.gmtime()))
    L.append("- Machine: %s" % machine())
    L.append("- Other work on the machine: %.2f CPUs busy just before the "
             "queries (%s), %.2f just after; load average %.2f / %.2f. The "
             "machine is shared: figures taken while it was busy are slower "
             "than an idle machine's." % (
                 load0[1], "quiet" if load0[2] else
                 "NOT quiet after --quiet-wait %d s" % args.quiet_wait,
                 load1[1], load0[0], load1[0]))
    L.append("- Commit: `%s`; binary: `%s` (%s)%s" % (
        commit, ver, os.path.relpath(args.bin, ROOT_DIR)
        if os.path.abspath(args.bin).startswith(ROOT_DIR + os.sep)
        else os.path.basename(args.bin),
        "; " + args.bin_desc if args.bin_desc else ""))
    if args.command:
        L.append("- Command: `` %s ``" % args.command)
    L.append("")
    L.append("## Database\n")
    L.append("%d delivery events and %d verifications over %.1f days "
             "(`bench/gen_stats_db.py`, seed %s), %.2f GB. Mix: providers "
             "verifynow/twilio/vonage/sinch 40/30/18/12 %%, channels sms/"
             "whatsapp/voice 80/15/5 %%, 20 countries (skewed, IN 22 %% "
             "... AU 1 %%), a day-shaped arrival rate, ~2 callbacks per "
             "verification (sent, then delivered 93 %% / failed 7 %% with "
             "an error code; 12 %% of delivered ones later verified), "
             "lognormal provider latency on delivered callbacks."
             % (hist["events"], hist["verifications"],
                (hist["last_ms"] - hist["first_ms"]) / 86_400_000,
                gen.get("seed", "?"), size / 1e9))
    L.append("")
    if gen:
        L.append("- Generation (schema version 2, Python sqlite3, "
                 "synchronous=OFF): %.0f s" % gen["seconds"])
    if side:
        L.append("- Migration 0003 (backfill of the rollups from every "
                 "stored row) on first `dlrd serve`: **%.1f s** to /readyz "
                 "(%.2f s spawn-to-ready, of which %.3f s is an empty "
                 "database's start; %s CPUs busy with other work just "
                 "before), %s" % (
                     side["migration_s"], side["migration_ready_s"],
                     side["empty_start_s"], side.get("busy_cpus_before", "?"),
                     side.get("migrated_at", "")))
        L.append("  dlrd answers nothing (not even /readyz) while it "
                 "migrates: this is the upgrade's downtime on such a "
                 "database.")
    L.append("")
    L.append("## Query latency (%d runs each)\n" % args.runs)
    L.append("The window ends at the last generated event (`--to`; the same "
             "data as \"now\" right after generation). CLI = `dlrd stats` "
             "process from exec to exit (opening the database included); "
             "API = one new loopback connection per request to "
             "`dlrd serve` on the same database, connect to last byte. "
             "First = the first run of that query (page cache colder). "
             "Other load = CPUs the rest of the machine kept busy meanwhile "
             "(all busy time minus the bench, its dlrd processes; 2 CPUs "
             "in all).\n")
    L.append("| Query | rows | callbacks | CLI median | CLI p90 | CLI max |"
             " CLI first | API median | API p90 | API max | API first |"
             " other load |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        c, a = r["cli"], r["api"]
        L.append("| %s | %d | %d | %s ms | %s ms | %s ms | %s ms | %s ms | "
                 "%s ms | %s ms | %s ms | %.2f CPUs |" % (
                     r["name"], r["rows"], r["callbacks"],
                     fmt_ms(c["median_ms"]), fmt_ms(c["p90_ms"]),
                     fmt_ms(c["max_ms"]), fmt_ms(c["first_ms"]),
                     fmt_ms(a["median_ms"]), fmt_ms(a["p90_ms"]),
                     fmt_ms(a["max_ms"]), fmt_ms(a["first_ms"]),
                     r["other_cpus"]))
    L.append("")
    L.append(now_note)
    L.append("")
    L.append("Commands: `%s`; `GET %s`." % (results[0]["cli_cmd"],
                                            results[0]["api_path"]))
    L.append("")
    w = results[0]
    verdict = max(w["cli"]["median_ms"], w["api"]["median_ms"],
                  w["cli"]["p90_ms"], w["api"]["p90_ms"]) < 250
    L.append("**Requirement (24 h query under 250 ms with 10 M events): %s** "
             "— CLI median %.1f ms / p90 %.1f ms, API median %.1f ms / p90 "
             "%.1f ms." % ("met" if verdict else "NOT met",
                           w["cli"]["median_ms"], w["cli"]["p90_ms"],
                           w["api"]["median_ms"], w["api"]["p90_ms"]))
    L.append("")
    L.append("## Correctness on this database\n")
    L.append("The 24 h report by channel,provider,country against GROUP BYs "
             "over `delivery_events` (callbacks, provider-latency count, top "
             "errors, by received hour) and `verifications` (sent, "
             "delivered, failed, verified, by first_event_at_ms hour) for "
             "the same whole-hour window: **%s** (%d groups; totals %s; the "
             "raw GROUP BYs took %.1f s)." % (
                 "identical" if ok else "MISMATCH", detail["groups"],
                 ", ".join("%s %d" % kv for kv in detail["totals"].items()),
                 detail["sql_seconds"]))
    for p in detail["problems"]:
        L.append("- " + p)
    L.append("")
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    main()
