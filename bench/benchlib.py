#!/usr/bin/env python3
"""Helpers for bench/run.sh (standard library only).

Subcommands:
  ports N                      print N free loopback TCP ports
  wait-http URL SECONDS [PID]  wait until URL answers 200 (and PID lives)
  wait-tcp PORT SECONDS [PID]  wait until 127.0.0.1:PORT accepts
  proc PID...                  JSON: summed VmHWM/VmRSS (kB) and CPU seconds
  run JSON -- CMD...           run CMD (wrk); JSON: its wall/CPU time and the
                               machine's busy CPU time meanwhile
  fsync DIR                    JSON: fdatasync p50/p99 of 4 KiB appends in DIR
  quiet MAX_WAIT CORES         wait for 2 s in a row with < CORES busy
  scrape URL FILE              save a /metrics page
  pgcpu POSTMASTER_PID         JSON: CPU seconds of a PostgreSQL server (the
                               postmaster, its live children and the
                               children it has reaped)
  rows DB                      rows in delivery_events
  record ...                   append one run's record to a JSONL file
                               (exit 4: clean but the machine was busy);
                               prefill=N: the database held N events before;
                               wrk=, clock=, metrics= may list several files
                               (two replicas, one wrk each), comma-separated;
                               backend=postgres replicas=N pg0= pg=: the
                               PostgreSQL server's CPU before/after (pgcpu)
  set-aside FILE ASIDE         move FILE's last record to ASIDE (retried)
  median-rate FILE TARGET IO [BACKEND REPLICAS]
                               median good req/s of the max-rate runs (on
                               an empty database; default sqlite 1)
  report FILE META OUT         print the markdown report and write it to OUT

Shared by run.sh, stats.sh and restart.sh (one copy of each step):
  build ROOT JOBS              configure build-bench/ in Release when needed
                               and build dlrd (incremental)
  cached-db --events N ...     print the path of a cached database holding N
                               generated events (gen_stats_db.py), generating
                               it when missing or stale and, with --bin,
                               migrating it once (timed; see cmd_cached_db)
  config OUT PORT ADMIN DB IO [MAX_CONN IDLE_MS]
                               write the benchmark's dlrd config: one
                               `verifynow` source, HMAC secret env:BENCH_SECRET
  copy-db SRC DST              copy a cached database for one run (cp
                               --reflink=auto, then fsync); JSON: seconds, bytes
stats_bench.py and restart_bench.py import Daemon, migrate() and the other
helpers below.
"""
import argparse
import fcntl
import json
import os
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT_DIR = os.path.dirname(HERE)
# Where cached databases live (stats.sh, run.sh --prefill, restart.sh).
DEFAULT_CACHE = os.path.join(os.environ.get("TMPDIR") or "/tmp",
                             "dlrd-bench-cache")


def cmd_ports(n):
    socks, ports = [], []
    for _ in range(int(n)):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    print(" ".join(map(str, ports)))


def alive(pid):
    if pid is None:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def cmd_wait_http(url, seconds, pid=None):
    deadline = time.time() + float(seconds)
    while time.time() < deadline:
        if not alive(pid):
            print(f"process {pid} exited", file=sys.stderr)
            return 1
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return 0
        except Exception:
            pass
        time.sleep(0.05)
    print(f"timeout waiting for {url}", file=sys.stderr)
    return 1


def cmd_wait_tcp(port, seconds, pid=None):
    deadline = time.time() + float(seconds)
    while time.time() < deadline:
        if not alive(pid):
            print(f"process {pid} exited", file=sys.stderr)
            return 1
        try:
            with socket.create_connection(("127.0.0.1", int(port)), timeout=1):
                return 0
        except OSError:
            time.sleep(0.05)
    print(f"timeout waiting for port {port}", file=sys.stderr)
    return 1


def cmd_proc(*pids):
    hwm = rss = 0
    cpu = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    hwm += int(line.split()[1])
                elif line.startswith("VmRSS:"):
                    rss += int(line.split()[1])
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(") ", 1)[1].split()
        cpu += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    print(json.dumps({"hwm_kb": hwm, "rss_kb": rss, "cpu_s": round(cpu, 3),
                      "pids": len(pids)}))


def cmd_pgcpu(pm):
    """CPU seconds (utime + stime) of a PostgreSQL server: the postmaster,
    every live child (backends, checkpointer, WAL writer, ...), and the
    children that already exited (the postmaster's cutime + cstime), so a
    backend that ends during a run is not lost."""
    tick = os.sysconf("SC_CLK_TCK")
    pm = int(pm)
    total, n = 0, 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(") ", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        pid, ppid = int(d), int(fields[1])
        if pid == pm:
            total += sum(int(x) for x in fields[11:15])  # + cutime cstime
            n += 1
        elif ppid == pm:
            total += int(fields[11]) + int(fields[12])
            n += 1
    if not n:
        raise SystemExit(f"pgcpu: no postmaster {pm}")
    print(json.dumps({"cpu_s": round(total / tick, 3), "procs": n}))


def busy_seconds():
    """All CPUs' non-idle time since boot, in seconds (from /proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal (guest is inside user).
    # irq/softirq are left out: loopback TCP is processed there and is
    # charged to no process, so it is not "someone else's" load.
    return (v[0] + v[1] + v[2]) / os.sysconf("SC_CLK_TCK")


def cmd_quiet(max_wait, threshold):
    """Wait (up to max_wait s) for two consecutive seconds in which the
    machine used less than `threshold` cores; say so if they never came."""
    deadline = time.time() + float(max_wait)
    said = False
    calm = 0
    while True:
        b0 = busy_seconds()
        time.sleep(1)
        load = busy_seconds() - b0
        calm = calm + 1 if load < float(threshold) else 0
        if calm >= 2:  # builds are bursty: one calm second proves little
            return 0
        if time.time() >= deadline:
            print(f"  bench: machine still busy ({load:.2f} cores used by "
                  "others); measuring anyway", file=sys.stderr)
            return 0
        if not said and load >= float(threshold):
            print(f"  bench: machine busy ({load:.2f} cores used by others); "
                  f"waiting up to {max_wait} s for it to calm down",
                  file=sys.stderr)
            said = True


def steal_seconds():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[7] / os.sysconf("SC_CLK_TCK")


def cmd_fsync(directory, n=200):
    """fdatasync latency of 4 KiB appends in `directory` (the disk dlrd's
    commits wait for), as JSON {p50_ms, p99_ms}."""
    path = os.path.join(directory, "fsync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    lat = []
    try:
        for _ in range(int(n)):
            os.write(fd, b"x" * 4096)
            t = time.perf_counter()
            os.fdatasync(fd)
            lat.append((time.perf_counter() - t) * 1000)
    finally:
        os.close(fd)
        os.unlink(path)
    lat.sort()
    print(json.dumps({"p50_ms": lat[len(lat) // 2],
                      "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))]}))


def cmd_run(out, dashdash, *cmd):
    assert dashdash == "--"
    import subprocess
    t0, b0, s0 = time.time(), busy_seconds(), steal_seconds()
    import signal
    p = subprocess.Popen(list(cmd))

    def forward(signum, _frame):  # run.sh's cleanup stops us: stop wrk too
        p.send_signal(signal.SIGTERM)
        p.wait()
        sys.exit(128 + signum)
    signal.signal(signal.SIGTERM, forward)
    _, status, ru = os.wait4(p.pid, 0)
    t1, b1, s1 = time.time(), busy_seconds(), steal_seconds()
    with open(out, "w") as f:
        json.dump({"wall_s": t1 - t0, "busy_s": b1 - b0, "steal_s": s1 - s0,
                   "cpu_s": ru.ru_utime + ru.ru_stime}, f)
    return os.waitstatus_to_exitcode(status)


def cmd_scrape(url, path):
    with urllib.request.urlopen(url, timeout=5) as r:
        data = r.read()
    with open(path, "wb") as f:
        f.write(data)


def cmd_rows(db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        print(con.execute("SELECT count(*) FROM delivery_events").fetchone()[0])
    finally:
        con.close()


def parse_metrics(path):
    """Prometheus text -> {name_with_labels: value} (no label parsing needed)."""
    out = {}
    with open(path) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            name, _, value = line.rpartition(" ")
            try:
                out[name.strip()] = float(value)
            except ValueError:
                pass
    return out


def merge_wrk(ws):
    """Two wrk summaries of one run (one wrk per replica, at the same time)
    as one: counts summed, duration the longer one, latency percentiles the
    max of the two (wrk gives no histogram to merge), ok_rps the sum of
    each wrk's own rate."""
    if len(ws) == 1:
        w = ws[0]
        w["good_rps"] = w["n2xx"] / (w["duration_us"] / 1e6)
        w["wrk_rps"] = w["requests"] / (w["duration_us"] / 1e6)
        return w
    out = {"duration_us": max(w["duration_us"] for w in ws),
           "good_rps": sum(w["n2xx"] / (w["duration_us"] / 1e6) for w in ws),
           "wrk_rps": sum(w["requests"] / (w["duration_us"] / 1e6)
                          for w in ws),
           "latency_us": {k: max(w["latency_us"][k] for w in ws)
                          for k in ws[0]["latency_us"]},
           "codes": {}, "errors": {}}
    for k in ("requests", "n200", "n2xx", "nbad", "ndup", "wrapped", "sent"):
        out[k] = sum(w[k] for w in ws)
    for k in ("codes", "errors"):
        for w in ws:
            for c, n in w[k].items():
                out[k][c] = out[k].get(c, 0) + n
    return out


def merge_clock(cs):
    """Clocks of wrk processes run at once: the machine's busy time over
    (about) the same interval is taken once, the wrk CPU summed."""
    return {"wall_s": max(c["wall_s"] for c in cs),
            "busy_s": max(c["busy_s"] for c in cs),
            "steal_s": max(c.get("steal_s", 0.0) for c in cs),
            "cpu_s": sum(c["cpu_s"] for c in cs)}


def cmd_record(*argv):
    """record FILE key=value ... (values that are paths to JSON are loaded)."""
    path = argv[0]
    rec = {}
    for kv in argv[1:]:
        k, _, v = kv.partition("=")
        rec[k] = v
    wrk = merge_wrk([json.load(open(p)) for p in rec.pop("wrk").split(",")])
    proc = json.loads(rec.pop("proc"))
    proc0 = json.loads(rec.pop("proc0"))
    clock = merge_clock([json.load(open(p))
                         for p in rec.pop("clock").split(",")])
    pg0, pg1 = rec.pop("pg0", ""), rec.pop("pg", "")
    if rec.get("backend"):
        rec["replicas"] = int(rec.get("replicas") or 1)
    rec["round"] = int(rec["round"])
    rec["io_threads"] = int(rec.get("io_threads") or 0)
    rec["connections"] = int(rec["connections"])
    rec["target_rate"] = float(rec.get("target_rate") or 0)
    rec["prefill"] = int(rec.get("prefill") or 0)
    dur_s = wrk["duration_us"] / 1e6
    rec.update({
        "duration_s": dur_s,
        "requests": wrk["requests"],
        "wrk_rps": wrk["wrk_rps"],
        "good_rps": wrk["good_rps"],
        "n200": wrk["n200"], "n2xx": wrk["n2xx"], "nbad": wrk["nbad"],
        "ndup": wrk["ndup"], "wrapped": wrk["wrapped"], "sent": wrk["sent"],
        "codes": wrk["codes"], "errors": wrk["errors"],
        "p50_ms": wrk["latency_us"]["p50"] / 1000,
        "p90_ms": wrk["latency_us"]["p90"] / 1000,
        "p99_ms": wrk["latency_us"]["p99"] / 1000,
        "p999_ms": wrk["latency_us"]["p999"] / 1000,
        "max_ms": wrk["latency_us"]["max"] / 1000,
        "hwm_mib": proc["hwm_kb"] / 1024,
        "cpu_s": proc["cpu_s"] - proc0["cpu_s"],   # server, during wrk
        "wrk_cpu_s": clock["cpu_s"],
        "procs": proc["pids"],
    })
    if pg0:  # PostgreSQL does the database work in its own processes
        rec["pg_cpu_s"] = json.loads(pg1)["cpu_s"] - json.loads(pg0)["cpu_s"]
    # CPU used meanwhile by processes that are neither wrk nor the server
    # (nor its PostgreSQL server; a build running next to the benchmark
    # makes the numbers meaningless).
    rec["other_cores"] = max(0.0, clock["busy_s"] - clock["cpu_s"]
                             - rec["cpu_s"] - rec.get("pg_cpu_s", 0.0)
                             ) / clock["wall_s"]
    # Time the hypervisor gave our vCPUs to someone else.
    rec["steal_cores"] = clock.get("steal_s", 0.0) / clock["wall_s"]
    fs = json.loads(rec.pop("fsync"))
    rec["fsync_p50_ms"], rec["fsync_p99_ms"] = fs["p50_ms"], fs["p99_ms"]
    warnings = []
    if rec["other_cores"] > 0.15:
        warnings.append(f"other processes used {rec['other_cores']:.2f} "
                        "cores on average during this run")
    if rec["steal_cores"] > 0.15:
        warnings.append(f"the hypervisor stole {rec['steal_cores']:.2f} "
                        "cores on average during this run")
    problems = []
    # A wrap means repeated verificationIds: dlrd would answer them from the
    # cheaper duplicate path. nginx keeps no state, so for it a wrap is moot.
    if wrk["wrapped"] and rec["target"] == "dlrd":
        problems.append(f"corpus wrapped {wrk['wrapped']}x (duplicates sent)")
    if wrk["nbad"]:
        problems.append("non-2xx: " + ", ".join(
            f"{c}x{n}" for c, n in sorted(wrk["codes"].items())))
    errs = {k: v for k, v in wrk["errors"].items() if v and k != "status"}
    if errs:
        problems.append("socket errors: " + ", ".join(
            f"{k} {v}" for k, v in sorted(errs.items())))
    if rec["target"] == "dlrd":
        m = {}
        for mp in rec.pop("metrics").split(","):  # one page per replica
            for k, v in parse_metrics(mp).items():
                m[k] = m.get(k, 0) + v
        cnt = m.get("dlrd_store_commit_batch_size_count", 0)
        rec["batch_mean"] = (m.get("dlrd_store_commit_batch_size_sum", 0) / cnt
                             if cnt else None)
        rec["commits"] = cnt
        dc = m.get("dlrd_store_commit_duration_seconds_count", 0)
        rec["commit_ms"] = (m.get("dlrd_store_commit_duration_seconds_sum", 0)
                            / dc * 1000 if dc else None)
        rec["metrics_rss_mib"] = m.get("process_resident_memory_bytes", 0) / 2**20
        # A prefilled run's database held `prefill` events before it.
        rec["rows_total"] = int(rec["rows"])
        rows = rec["rows_total"] - rec["prefill"]
        rec["rows"] = rows
        # Server CPU per stored event: dlrd alone, and dlrd + PostgreSQL.
        rec["cpu_us_per_event"] = rec["cpu_s"] / rows * 1e6 if rows else None
        if "pg_cpu_s" in rec:
            rec["cpu_pg_us_per_event"] = ((rec["cpu_s"] + rec["pg_cpu_s"])
                                          / rows * 1e6 if rows else None)
        # wrk stops while up to one request per connection is in flight:
        # dlrd commits those, wrk never sees their 200s. Anything else means
        # an acked event is missing or an unacked one was stored twice.
        rec["in_flight_at_stop"] = rows - wrk["n200"]
        if wrk["ndup"]:
            problems.append(f"{wrk['ndup']} duplicate answers")
        if not (0 <= rows - wrk["n200"] <= rec["connections"]):
            problems.append(f"DB rows {rows} != 200s {wrk['n200']} "
                            f"(+0..{rec['connections']} in flight)"
                            + (f" (counted: {rec['rows_total']} - "
                               f"{rec['prefill']} stored before)"
                               if rec["prefill"] else ""))
    if rec["target_rate"] and rec["good_rps"] < 0.95 * rec["target_rate"]:
        problems.append(f"achieved {rec['good_rps']:.0f}/s < 95% of target "
                        f"{rec['target_rate']:.0f}/s")
    rec["problems"] = problems
    rec["warnings"] = warnings
    with open(path, "a") as f:
        f.write(json.dumps(rec) + "\n")
    label = run_label(rec)
    line = (f"  {label:<9} {rec['mode']:<5} r{rec['round']}: "
            f"{rec['good_rps']:9.0f} ok/s  p50 {rec['p50_ms']:6.2f} ms  "
            f"p99 {rec['p99_ms']:6.2f} ms  HWM {rec['hwm_mib']:5.1f} MiB")
    if rec["target"] == "dlrd":
        line += (f"  batch {rec['batch_mean'] or 0:5.1f} "
                 f"commit {rec['commit_ms'] or 0:5.2f} ms  rows {rec['rows']} "
                 f"(200s {rec['n200']} +{rec['in_flight_at_stop']})"
                 + (f" on top of {rec['prefill']}" if rec["prefill"] else ""))
        if "pg_cpu_s" in rec:
            line += (f"  CPU/event dlrd {fmt(rec['cpu_us_per_event'], '.0f')}"
                     f" +postgres {fmt(rec['cpu_pg_us_per_event'], '.0f')} µs")
    print(line)
    for p in problems:
        print(f"  !!! INVALID {label} {rec['mode']} round {rec['round']}: {p}",
              file=sys.stderr)
    for w in warnings:
        print(f"  !!! WARNING {label} {rec['mode']} round {rec['round']}: {w}",
              file=sys.stderr)
    return 4 if warnings and not problems else 0


def store_key(r):
    """("sqlite", 1) or ("postgres", replicas)."""
    return (r.get("backend") or "sqlite", r.get("replicas") or 1)


def run_label(r):
    """dlrd io1, dlrd io2+10000000 (prefilled), dlrd pg×2 io2, nginx."""
    b, n = store_key(r)
    return (r["target"] + (f" pg×{n}" if b == "postgres" else "")
            + (f" io{r['io_threads']}" if r["io_threads"] else "")
            + (f"+{r['prefill']}" if r.get("prefill") else ""))


def cmd_set_aside(path, aside):
    """Move the last record of `path` to `aside` (a run that is retried)."""
    with open(path) as f:
        lines = [line for line in f if line.strip()]
    with open(aside, "a") as f:
        f.write(lines[-1])
    with open(path, "w") as f:
        f.writelines(lines[:-1])


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def cmd_median_rate(path, target, io, backend="sqlite", replicas="1"):
    vals = [r["good_rps"] for r in load(path)
            if r["target"] == target and r["mode"] == "max"
            and r["io_threads"] == int(io) and not r.get("prefill")
            and store_key(r) == (backend, int(replicas))]
    print(f"{statistics.median(vals):.0f}" if vals else "0")


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, spec):
    return "n/a" if x is None else format(x, spec)


def cmd_report(path, meta_path, out):
    recs = load(path)
    meta = json.load(open(meta_path))
    prefill = meta.get("prefill") or 0
    # With --backend postgres|both: rows per store (SQLite, PostgreSQL with
    # one replica, with two) and the CPU per event columns.
    has_pg = any(store_key(r)[0] == "postgres" for r in recs)
    SQ = ("sqlite", 1)
    groups = {}
    for r in recs:
        key = (r["target"], r["io_threads"], r["mode"], r.get("prefill", 0),
               *store_key(r))
        groups.setdefault(key, []).append(r)

    def store_name(b, n):
        return "SQLite" if b == "sqlite" else (
            "PostgreSQL ×1" if n == 1 else f"PostgreSQL ×{n} replicas")

    def label(t, io, pf=0, b="sqlite", n=1):
        if t == "nginx":
            return "nginx (`return 200;`)"
        if has_pg:
            return (f"dlrd on **{store_name(b, n)}**, io_threads {io}"
                    + (" each" if n > 1 else ""))
        return f"dlrd, io_threads {io}" + (f", **{pf:,} events stored**"
                                           if pf else "")

    def pf_ratios(io):
        """Prefilled / empty ok req/s: per round (the two runs are next to
        each other in a round) and ratio of the medians."""
        empty = {r["round"]: r["good_rps"]
                 for r in groups.get(("dlrd", io, "max", 0, *SQ), [])}
        full = {r["round"]: r["good_rps"]
                for r in groups.get(("dlrd", io, "max", prefill, *SQ), [])}
        per_round = [full[k] / empty[k] for k in sorted(full)
                     if empty.get(k)]
        e, f = med(list(empty.values())), med(list(full.values()))
        return (f / e if (e and f) else None), per_round

    def cpu_cols(t, b, rs):
        if t != "dlrd":
            return " — | — |"
        own = med([r.get("cpu_us_per_event") for r in rs])
        both = (med([r.get("cpu_pg_us_per_event") for r in rs])
                if b == "postgres" else own)
        return f" {fmt(own, '.0f')} µs | {fmt(both, '.0f')} µs |"

    L = []
    L.append(f"### Results: dlrd vs nginx on loopback ({meta['date']})")
    L.append("")
    L.append(f"Medians of {meta['rounds']} rounds (nginx and dlrd alternate in "
             f"each round), wrk `-t{meta['threads']} -c{meta['connections']} "
             f"-d{meta['duration']}s`, {meta['corpus']} pre-signed unique "
             "events. *ok/s* counts 2xx answers only. *Peak RSS* is VmHWM "
             "read just before stopping the server (nginx: master + workers "
             "summed), max over rounds.")
    L.append("")
    if prefill:
        db = meta.get("prefill_db") or {}
        gen = db.get("gen") or {}
        mig = db.get("migration") or {}
        L.append(
            f"**Prefill: {prefill:,} events.** In phase 1 each round also "
            "runs dlrd, right after its run on an empty database, on a copy "
            f"of a database that already holds {prefill:,} delivery events "
            f"({gen.get('verifications', 0):,} verifications over "
            f"{gen.get('days', '?')} days, `bench/gen_stats_db.py` seed "
            f"{gen.get('seed', '?')}; {db.get('bytes', 0) / 1e9:.2f} GB, "
            "migrated once to the current schema"
            + (f" in {mig['migration_s']:.1f} s" if "migration_s" in mig
               else "") +
            "). Each copy is made with `cp --reflink=auto` and fsynced "
            "before dlrd starts, so it is in the page cache (a warm "
            "restart). The DB-row check compares the rows added (rows "
            f"counted − {prefill:,}) with the 200s. Fixed-rate runs use an "
            "empty database only.")
        L.append("")
    if has_pg:
        L.append(
            "**PostgreSQL rows.** dlrd on a PostgreSQL server started by "
            "the benchmark (`tests/testutil/pg_server.sh`: same machine, "
            "loopback TCP, `fsync` and `synchronous_commit` on, "
            "shared_buffers 64MB), a fresh database per run: 2xx only "
            "after the batch's COMMIT is durable. *PostgreSQL ×1*: one "
            "replica, driven like the SQLite row. *PostgreSQL ×2 "
            "replicas*: two dlrd processes on the same database, each "
            "driven by its own wrk (half the threads, disjoint corpus "
            "slices, half the connections, half the fixed rate) at the "
            "same time, so no proxy's cost lands on dlrd's figure; "
            "*ok req/s* is the sum of the two wrk processes' rates, "
            "p50/p99 are the **max of the two wrk processes' "
            "percentiles** (wrk gives no histogram to merge), peak RSS "
            "the two replicas' VmHWM summed. *CPU/event* is utime + stime "
            "from /proc over the wrk run divided by the rows stored: "
            "*dlrd* counts the dlrd process(es) only; *dlrd + postgres* "
            "adds every process of the PostgreSQL server (postmaster, "
            "backends, WAL writer, checkpointer, and children reaped "
            "meanwhile), where the database work is done. For SQLite the "
            "two are the same.")
        L.append("")
    L.append("| target | load | ok req/s | p50 | p99 | peak RSS | "
             "commit batch (mean) | commit time (mean) | non-2xx / socket errors "
             "| vs nginx |" + (" vs empty |" if prefill else "")
             + (" CPU/event dlrd | CPU/event dlrd + postgres |" if has_pg
                else ""))
    L.append("|---|---|---:|---:|---:|---:|---:|---:|---|---:|"
             + ("---:|" if prefill else "") + ("---:|---:|" if has_pg else ""))
    nginx_max = med([r["good_rps"] for r in
                     groups.get(("nginx", 0, "max", 0, *SQ), [])])
    order = sorted(groups, key=lambda k: (k[2] != "max", k[0] != "nginx",
                                          k[1], k[3], k[4] != "sqlite", k[5]))
    for key in order:
        t, io, mode, pf, b, n = key
        rs = groups[key]
        rps = med([r["good_rps"] for r in rs])
        if mode == "max":
            load_s = "max (closed loop)"
        else:
            load_s = f"fixed {med([r['target_rate'] for r in rs]):.0f}/s"
        bad = sum(r["nbad"] for r in rs)
        sock = sum(v for r in rs for k, v in r["errors"].items() if k != "status")
        ratio = ""
        if t == "dlrd" and mode == "max" and nginx_max:
            ratio = f"{rps / nginx_max:.0%}"
        vs_empty = ""
        if pf:
            r_pf, _ = pf_ratios(io)
            vs_empty = fmt(r_pf, ".1%") if r_pf is not None else "n/a"
        L.append(
            f"| {label(t, io, pf, b, n)} | {load_s} | {rps:,.0f} | "
            f"{med([r['p50_ms'] for r in rs]):.2f} ms | "
            f"{med([r['p99_ms'] for r in rs]):.2f} ms | "
            f"{max(r['hwm_mib'] for r in rs):.1f} MiB | "
            f"{fmt(med([r.get('batch_mean') for r in rs]), '.1f') if t == 'dlrd' else '—'} | "
            f"{fmt(med([r.get('commit_ms') for r in rs]), '.2f') + ' ms' if t == 'dlrd' else '—'} | "
            f"{bad} / {sock} | {ratio} |" + (f" {vs_empty} |" if prefill
                                              else "")
            + (cpu_cols(t, b, rs) if has_pg else ""))
    L.append("")

    # Targets.
    L.append("**Targets** (from the issue): dlrd ≥ 50 % of nginx req/s; "
             "p99 < 10 ms at half the rate dlrd reached; peak RSS < 64 MiB"
             + (f"; ingest rate with {prefill:,} events stored ≥ 90 % of the "
                "rate on an empty database" if prefill else "") + ".")
    L.append("")
    L.append(("| dlrd " if has_pg else "| io_threads ")
             + "| ok req/s vs nginx | p99 at half rate | peak RSS |"
             + (f" {prefill:,} stored vs empty (per round) |" if prefill
                else ""))
    L.append("|---|---|---|---|" + ("---|" if prefill else ""))
    ios = sorted({(k[1], k[4] != "sqlite", k[5], k[4]) for k in groups
                  if k[0] == "dlrd"})
    for io, _, n, b in ios:
        mx = groups.get(("dlrd", io, "max", 0, b, n), [])
        fx = groups.get(("dlrd", io, "rate", 0, b, n), [])
        mx_pf = (groups.get(("dlrd", io, "max", prefill, b, n), [])
                 if prefill else [])
        rps = med([r["good_rps"] for r in mx])
        ratio = rps / nginx_max if (rps and nginx_max) else None
        p99 = med([r["p99_ms"] for r in fx])
        rss = max([r["hwm_mib"] for r in mx + fx + mx_pf], default=None)

        def verdict(ok):
            return "**met**" if ok else "**MISSED**"
        c1 = (f"{ratio:.0%} {verdict(ratio >= 0.5)}" if ratio is not None else "n/a")
        c2 = (f"{p99:.2f} ms {verdict(p99 < 10)}" if p99 is not None else "not run")
        c3 = f"{rss:.1f} MiB {verdict(rss < 64)}" if rss is not None else "n/a"
        c4 = ""
        if prefill:
            r_pf, per_round = pf_ratios(io)
            c4 = (f" {r_pf:.1%} {verdict(r_pf >= 0.9)} ("
                  + ", ".join(f"{x:.0%}" for x in per_round) + ") |"
                  if r_pf is not None else " n/a |")
        first = (f"{store_name(b, n)}, io_threads {io}" if has_pg else io)
        L.append(f"| {first} | {c1} | {c2} | {c3} |{c4}")
    L.append("")
    if prefill:
        L.append("Prefilled vs empty is the ratio of the medians; the "
                 "per-round ratios (each pair of runs back to back) show "
                 "how much it moves from round to round.")
        L.append("")

    invalid = [r for r in recs if r["problems"]]
    if invalid:
        L.append("**⚠ INVALID RUNS — these numbers are not clean:**")
        L.append("")
        for r in invalid:
            L.append(f"- {run_label(r)} {r['mode']} round "
                     f"{r['round']}: " + "; ".join(r["problems"]))
        L.append("")
    else:
        L.append("All runs clean: 0 non-2xx, 0 socket errors, no corpus "
                 "wrap-around, no duplicate answers; after every dlrd run the "
                 "database held exactly the acknowledged events plus at most one "
                 "in-flight request per connection (answered after wrk stopped "
                 "reading)" + (f", counted beyond the {prefill:,} events a "
                               "prefilled copy held before" if prefill else "")
                 + ".")
        L.append("")

    aside = meta.get("retried", 0)
    if aside:
        L.append(f"{aside} run(s) were measured again because other processes "
                 "used more than 0.15 cores during them; only the repeat counts "
                 "(the discarded attempts are in the temp dir's retried.jsonl).")
        L.append("")
    warned = [r for r in recs if r.get("warnings")]
    if warned:
        L.append("**⚠ The machine was not quiet** (CPU used by processes "
                 "other than wrk and the server; the figures of these runs "
                 "are low by an unknown amount):")
        L.append("")
        for r in warned:
            L.append(f"- {run_label(r)} {r['mode']} round "
                     f"{r['round']}: " + "; ".join(r["warnings"]))
        L.append("")

    L.append("<details><summary>Every run</summary>")
    L.append("")
    L.append("| # | target | load | round | ok req/s | wrk req/s | p50 | p99 | "
             "p99.9 | max | VmHWM | server CPU s | wrk CPU s | other cores | steal | "
             "fsync p50/p99 before |"
             " "
             "commits | batch mean | commit ms (mean) | stored before | "
             "DB rows added | 200s | in flight at stop |"
             + (" postgres CPU s | CPU/event dlrd | CPU/event dlrd + postgres |"
                if has_pg else ""))
    L.append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
             "---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
             + ("---:|---:|---:|" if has_pg else ""))
    for n, r in enumerate(recs, 1):
        load_s = "max" if r["mode"] == "max" else f"{r['target_rate']:.0f}/s"
        tgt = run_label(r)
        d = r["target"] == "dlrd"
        L.append(
            f"| {n} | {tgt} | {load_s} | {r['round']} | {r['good_rps']:,.0f} | "
            f"{r['wrk_rps']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
            f"{r['p999_ms']:.2f} | {r['max_ms']:.1f} | {r['hwm_mib']:.1f} MiB | "
            f"{r['cpu_s']:.1f} | {r['wrk_cpu_s']:.1f} | {r['other_cores']:.2f} | "
            f"{fmt(r.get('steal_cores'), '.2f')} | "
            + (f"{r['fsync_p50_ms']:.2f}/{r['fsync_p99_ms']:.2f} ms | "
               if r.get("fsync_p50_ms") is not None else "n/a | ") +
            f"{int(r['commits']) if d else '—'} | "
            f"{fmt(r.get('batch_mean'), '.1f') if d else '—'} | "
            f"{fmt(r.get('commit_ms'), '.2f') if d else '—'} | "
            f"{r.get('prefill', 0) if d else '—'} | "
            f"{r['rows'] if d else '—'} | {r['n200']} | "
            f"{r['in_flight_at_stop'] if d else '—'} |"
            + ((f" {fmt(r.get('pg_cpu_s'), '.1f')} |" if "pg_cpu_s" in r
                else " — |") + cpu_cols(r["target"], store_key(r)[0], [r])
               if has_pg else ""))
    L.append("")
    L.append("</details>")
    L.append("")
    L.append("Machine: " + meta["machine"])
    L.append("")
    L.append("Versions: " + meta["versions"])
    L.append("")
    L.append("Command:")
    L.append("")
    L.append("```")
    L.append(meta["command"])
    L.append("# each run, against a fresh server (dlrd: fresh database"
             + (", or a fresh copy of the prefilled one" if prefill else "")
             + "):")
    L.append(meta["wrk_cmd"])
    L.append("```")
    L.append("")
    L.append(meta["method"])
    wraps = [r for r in recs if r["target"] == "nginx" and r["wrapped"]]
    if wraps:
        L.append("")
        L.append(f"nginx went through the corpus more than once in {len(wraps)} "
                 "run(s) (it is several times faster than dlrd); that is "
                 "harmless, since nginx keeps no per-event state. " +
                 ("dlrd never wrapped." if not any(
                     r["wrapped"] for r in recs if r["target"] == "dlrd")
                  else "dlrd DID wrap: see the INVALID runs above."))
    text = "\n".join(L) + "\n"
    with open(out, "w") as f:
        f.write(text)
    sys.stdout.write(text)
    return 0 if not invalid else 3


# ------------------------------------------------------------------ shared
# Used by stats_bench.py and restart_bench.py (imported) and by the
# cached-db / copy-db / build subcommands.

CHILDREN = []  # Popen objects still running; kill_children() stops them


def kill_children():
    for p in list(CHILDREN):
        if p.poll() is None:
            try:
                if getattr(p, "own_group", False):  # cmake and its compilers
                    os.killpg(p.pid, signal.SIGTERM)
                else:
                    p.terminate()
                p.wait(20)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                p.kill()
                p.wait()
        if p in CHILDREN:
            CHILDREN.remove(p)


def exit_on_signals():
    """SIGTERM / SIGINT: stop every child in CHILDREN, then exit 130."""
    def handler(signum, _frame):
        kill_children()
        sys.exit(130)
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path, token=None, timeout=60.0):
    """GET with Connection: close; returns (status, body, seconds)."""
    t0 = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        head = "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" \
            % path
        if token:
            head += "Authorization: Bearer %s\r\n" % token
        s.sendall((head + "\r\n").encode())
        buf = bytearray()
        while True:
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            buf += chunk
    dt = time.perf_counter() - t0
    head, _, body = bytes(buf).partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head else 0
    return status, body, dt


# The daemon the Python benchmarks start: one VerifyNow source signed with
# HMAC-SHA256 (X-Signature: sha256=<hex>), an admin token (so the stats API
# and its reader are set up, as in production), everything else default.
DAEMON_ADMIN_TOKEN = "stats-bench-admin-token-5e0a7c"
DAEMON_SECRET = "stats-bench-hmac-secret"


class Daemon:
    def __init__(self, binary, db, work, name, port=0, admin=0):
        self.binary, self.db, self.work, self.name = binary, db, work, name
        self.port, self.admin = port, admin
        self.proc = None
        self.log = None

    def spawn(self):
        """Writes the config and starts `dlrd serve`; returns the
        perf_counter() taken just before the fork."""
        self.port = self.port or free_port()
        self.admin = self.admin or free_port()
        cfg = {"listen": "127.0.0.1:%d" % self.port,
               "admin_listen": "127.0.0.1:%d" % self.admin,
               "database": self.db, "log_level": "info",
               "admin_token": "env:BENCH_DAEMON_ADMIN",
               "sources": {"verifynow": {"format": "verifynow", "signature": {
                   "scheme": "hmac", "header": "X-Signature",
                   "algorithm": "sha256", "encoding": "hex",
                   "prefix": "sha256=",
                   "secrets": ["env:BENCH_DAEMON_SECRET"]}}}}
        path = os.path.join(self.work, self.name + ".json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        env = dict(os.environ, BENCH_DAEMON_ADMIN=DAEMON_ADMIN_TOKEN,
                   BENCH_DAEMON_SECRET=DAEMON_SECRET)
        self.log = open(os.path.join(self.work, self.name + ".log"), "wb")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen([self.binary, "serve", "--config", path],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env)
        CHILDREN.append(self.proc)
        return t0

    def start(self, timeout=1800):
        t0 = self.spawn()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("dlrd exited with %d; see %s"
                                 % (self.proc.returncode, self.log.name))
            try:
                st, _, _ = http_get(self.admin, "/readyz", timeout=1)
                if st == 200:
                    self.ready_s = time.perf_counter() - t0
                    return self
            except OSError:
                pass
            time.sleep(0.01)
        raise SystemExit("dlrd not ready within %d s" % timeout)

    def stop(self):
        """SIGTERM; returns the seconds it took to exit. Raises SystemExit
        when dlrd exits non-zero."""
        dt = 0.0
        if self.proc and self.proc.poll() is None:
            t0 = time.perf_counter()
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
            dt = time.perf_counter() - t0
            if rc != 0:
                raise SystemExit("dlrd exited with %d on SIGTERM; see %s"
                                 % (rc, self.log.name))
        if self.proc in CHILDREN:
            CHILDREN.remove(self.proc)
        if self.log:
            self.log.close()
        return dt


def cpu_times():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v), idle


def busy_cpus(seconds=1.0):
    t0, i0 = cpu_times()
    time.sleep(seconds)
    t1, i1 = cpu_times()
    total = max(1, t1 - t0)
    return (os.cpu_count() or 1) * (1 - (i1 - i0) / total)


def wait_quiet(max_wait, threshold=0.5):
    """Waits until the machine's other work uses < threshold CPUs for 2 s
    in a row (at most max_wait s); returns (quiet, busy CPUs last seen)."""
    deadline = time.monotonic() + max_wait
    calm = 0
    busy = busy_cpus()
    while True:
        calm = calm + 1 if busy < threshold else 0
        if calm >= 2:
            return True, busy
        if time.monotonic() >= deadline:
            return False, busy
        busy = busy_cpus()


def user_version(db):
    c = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        return c.execute("PRAGMA user_version").fetchone()[0]
    finally:
        c.close()


def latest_schema_version():
    """The newest migration in schema/ (what a dlrd built from this tree
    migrates a database to)."""
    vs = [int(m.group(1)) for f in os.listdir(os.path.join(ROOT_DIR, "schema"))
          if (m := re.match(r"(\d+)_.*\.sql$", f))]
    return max(vs)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def migrate(binary, db, work, quiet_wait):
    """Runs `dlrd serve` once on `db` when it is older than schema/'s newest
    migration (gen_stats_db.py writes version 2; migration 0003 then builds
    the hourly rollups from every stored row). The time from spawn to
    /readyz 200, minus a baseline start of the same binary on an empty
    database, is kept next to the database in DB.bench.json, so a later
    run on the migrated file still reports it. Returns that sidecar dict."""
    side_path = db + ".bench.json"
    side = {}
    if os.path.exists(side_path):
        with open(side_path) as f:
            side = json.load(f)
    before = user_version(db)
    if before >= latest_schema_version():
        return side
    # Baseline: the same binary's start on an empty database.
    empty = os.path.join(work, "empty.db")
    base = []
    for i in range(3):
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(empty + suffix):
                os.unlink(empty + suffix)
        d = Daemon(binary, empty, work, "empty%d" % i).start(60)
        base.append(d.ready_s)
        d.stop()
    size = os.path.getsize(db)
    quiet, busy = wait_quiet(quiet_wait)
    log("migrating %s (%.2f GB, schema version %d); machine %s (%.2f CPUs "
        "busy) ..." % (db, size / 1e9, before, "quiet" if quiet else "BUSY",
                       busy))
    d = Daemon(binary, db, work, "migrate").start()
    ready = d.ready_s
    d.stop()
    # dlrd checkpoints and removes the WAL when it closes the database;
    # make sure, so that the file alone can be copied.
    c = sqlite3.connect(db)
    try:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        c.close()
    side.update({"migration_ready_s": round(ready, 2),
                 "empty_start_s": round(statistics.median(base), 3),
                 "migration_s": round(ready - statistics.median(base), 2),
                 "migrated_from": before,
                 "migrated_to": user_version(db),
                 "migrated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                              time.gmtime()),
                 "migrated_with": binary,
                 "busy_cpus_before": round(busy, 2)})
    with open(side_path, "w") as f:
        json.dump(side, f, indent=1)
    log("migration: %.2f s to ready (empty database: %.3f s)"
        % (ready, statistics.median(base)))
    return side


def cache_path(cache_dir, events, days, seed):
    return os.path.join(cache_dir, "events-%d-%dd-s%d.db" % (events, days, seed))


def cmd_cached_db(*argv):
    """Prints the path of a database holding --events generated events.

    The cache file is DIR/events-<events>-<days>d-s<seed>.db (or --db). It
    is reused when it exists with its .gen.json written by the generation
    that completed it, for the same events/days/seed, and (with --max-age-h)
    its history ended less than that many hours ago; otherwise
    gen_stats_db.py writes it anew (into PATH.tmp, renamed when complete, so
    an interrupted generation never leaves a file that looks finished).
    With --bin, a database older than schema/'s newest migration is
    migrated once by `dlrd serve` (timed, DB.bench.json). An exclusive
    lock on PATH.lock keeps two benchmarks from generating or migrating the
    same file at once."""
    ap = argparse.ArgumentParser(prog="benchlib.py cached-db")
    ap.add_argument("--events", type=int, required=True)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cache-dir", default=DEFAULT_CACHE)
    ap.add_argument("--db", default="", help="this file instead of the cache's")
    ap.add_argument("--regen", action="store_true")
    ap.add_argument("--max-age-h", type=float, default=0,
                    help="regenerate when the history ended longer ago "
                    "(0: any age)")
    ap.add_argument("--bin", default="", help="migrate with this dlrd")
    ap.add_argument("--quiet-wait", type=int, default=60)
    a = ap.parse_args(argv)
    exit_on_signals()
    path = os.path.abspath(a.db or cache_path(a.cache_dir, a.events, a.days,
                                              a.seed))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    gen_json = path + ".gen.json"
    with open(path + ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log("waiting for another benchmark that holds %s.lock" % path)
            fcntl.flock(lock, fcntl.LOCK_EX)
        why = ""
        gen = {}
        if a.regen:
            why = "--regen"
        elif not (os.path.exists(path) and os.path.exists(gen_json)):
            why = "not cached yet"
        else:
            with open(gen_json) as f:
                gen = json.load(f)
            if (gen.get("events"), gen.get("days"), gen.get("seed")) != \
                    (a.events, a.days, a.seed):
                why = "it holds %s events / %s days / seed %s" % (
                    gen.get("events"), gen.get("days"), gen.get("seed"))
            elif a.max_age_h and \
                    time.time() * 1000 - gen["end_ms"] > a.max_age_h * 3.6e6:
                why = "its history ended over %g h ago" % a.max_age_h
        if why:
            log("generating %d events over %d days into %s (%s) ..."
                % (a.events, a.days, path, why))
            for suffix in ("", "-wal", "-shm", ".gen.json", ".bench.json"):
                if os.path.exists(path + suffix):
                    os.unlink(path + suffix)
            tmp = path + ".tmp"
            p = subprocess.Popen(
                [sys.executable, os.path.join(HERE, "gen_stats_db.py"),
                 "--out", tmp, "--events", str(a.events), "--days",
                 str(a.days), "--seed", str(a.seed)], stdout=subprocess.PIPE)
            CHILDREN.append(p)
            out, _ = p.communicate()
            CHILDREN.remove(p)
            if p.returncode != 0:
                log("gen_stats_db.py failed (exit %d)" % p.returncode)
                return 1
            for suffix in ("-wal", "-shm"):
                if os.path.exists(tmp + suffix):
                    os.unlink(tmp + suffix)
            os.rename(tmp, path)
            gen = json.loads(out.decode().strip().splitlines()[-1])
            with open(gen_json, "w") as f:
                json.dump(gen, f)
            log("generated: " + json.dumps(gen))
        else:
            log("reusing %s (%d events, history ends %s)" % (
                path, gen["events"], time.strftime(
                    "%Y-%m-%d %H:%M UTC", time.gmtime(gen["end_ms"] / 1000))))
        if a.bin:
            work = tempfile.mkdtemp(prefix="dlrd-migrate.")
            try:
                migrate(a.bin, path, work, a.quiet_wait)
            finally:
                kill_children()
                for f in os.listdir(work):
                    os.unlink(os.path.join(work, f))
                os.rmdir(work)
    print(path)
    return 0


def copy_db(src, dst):
    """One run's copy of a cached database: cp --reflink=auto (a clone
    where the filesystem can, else a full copy), then fsync, so no
    writeback of the copy competes with the run's own commits. Returns
    {seconds, bytes}; raises SystemExit when SRC has a WAL with content."""
    wal = src + "-wal"
    if os.path.exists(wal) and os.path.getsize(wal) > 0:
        raise SystemExit("copy-db: %s has a non-empty WAL: is a dlrd or a "
                         "benchmark using it right now?" % src)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(dst + suffix):
            os.unlink(dst + suffix)
    t0 = time.perf_counter()
    subprocess.run(["cp", "--reflink=auto", src, dst], check=True)
    fd = os.open(dst, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return {"seconds": round(time.perf_counter() - t0, 2),
            "bytes": os.path.getsize(dst)}


def cmd_copy_db(src, dst):
    print(json.dumps(copy_db(src, dst)))


def cmd_build(root, jobs):
    """Configures ROOT/build-bench in Release (tests off) unless it already
    is, then builds the dlrd target with JOBS jobs. cmake runs in its own
    process group, so SIGTERM / SIGINT here stop the whole build."""
    build = os.path.join(root, "build-bench")
    logf = tempfile.NamedTemporaryFile("w+", prefix="dlrd-bench-build.",
                                       suffix=".log", delete=False)
    exit_on_signals()

    def run(cmd):
        p = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT,
                             start_new_session=True)
        p.own_group = True
        CHILDREN.append(p)
        rc = p.wait()
        CHILDREN.remove(p)
        return rc
    try:
        cache = os.path.join(build, "CMakeCache.txt")
        configured = os.path.exists(cache) and \
            "CMAKE_BUILD_TYPE:STRING=Release\n" in open(cache).read()
        rc = 0
        if not configured:
            log("bench: configuring a Release build in %s" % build)
            rc = run(["cmake", "-S", root, "-B", build,
                      "-DCMAKE_BUILD_TYPE=Release", "-DDLRD_BUILD_TESTS=OFF"])
        if rc == 0:
            log("bench: building dlrd (Release, incremental, -j%s)" % jobs)
            rc = run(["cmake", "--build", build, "-j%s" % jobs,
                      "--target", "dlrd"])
        if rc != 0:
            logf.seek(0)
            sys.stderr.write(logf.read())
            log("bench: build failed")
            return 1
        return 0
    finally:
        logf.close()
        os.unlink(logf.name)


def cmd_config(out, port, admin, db, io, max_conn=None, idle_ms=None):
    """The dlrd config every ingest benchmark runs: the same path and HMAC
    scheme as the corpus gen_corpus.py signs."""
    conf = {
        "listen": f"127.0.0.1:{int(port)}",
        "admin_listen": f"127.0.0.1:{int(admin)}",
        "database": db,
        "io_threads": int(io),
        "log_level": "info",
        "sources": {"verifynow": {"format": "verifynow", "signature": {
            "scheme": "hmac", "header": "X-Signature", "algorithm": "sha256",
            "encoding": "hex", "prefix": "sha256=",
            "secrets": ["env:BENCH_SECRET"]}}},
    }
    if max_conn is not None:
        conf["limits"] = {"max_connections": int(max_conn),
                          "idle_timeout_ms": int(idle_ms)}
    with open(out, "w") as f:
        f.write("// written by bench/benchlib.py config\n")
        json.dump(conf, f, indent=2)
        f.write("\n")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    fn = {
        "ports": cmd_ports, "wait-http": cmd_wait_http, "wait-tcp": cmd_wait_tcp,
        "proc": cmd_proc, "pgcpu": cmd_pgcpu, "run": cmd_run, "fsync": cmd_fsync, "quiet": cmd_quiet, "scrape": cmd_scrape, "rows": cmd_rows,
        "record": cmd_record, "set-aside": cmd_set_aside, "median-rate": cmd_median_rate,
        "report": cmd_report, "cached-db": cmd_cached_db,
        "copy-db": cmd_copy_db, "build": cmd_build, "config": cmd_config,
    }.get(cmd)
    if fn is None:
        print(__doc__, file=sys.stderr)
        return 2
    return fn(*args) or 0


if __name__ == "__main__":
    sys.exit(main())
