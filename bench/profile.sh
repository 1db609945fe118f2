#!/usr/bin/env bash
# CPU profile of dlrd under the benchmark's load: where each event's CPU goes.
#
#   bench/profile.sh [--duration 10] [--connections 64] [--threads 1]
#                    [--io-threads 1] [--out DIR] [--no-perf] [--bin PATH]
#
# Builds build-bench/ (Release) like run.sh (or takes --bin), starts one dlrd on a fresh
# database, drives it with wrk + bench/signed.lua (pre-signed unique events),
# and records `perf record -g` of the dlrd process for the whole wrk run.
# Prints: ok events/s, server CPU s per stored event (utime + stime from
# /proc over the run ÷ rows), the CPU split by thread (perf report --sort
# comm) and the top symbols per thread. Keeps perf.data and the reports in
# --out (default: a new /tmp/dlrd-profile.XXXXXX). Needs linux-perf (Debian
# `linux-perf`, installed by deploy/install-deps.sh --bench), wrk, python3.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
DURATION=10 CONNECTIONS=64 THREADS=1 IO=1 OUT="" PERF=1 BIN=""
while (($#)); do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --io-threads) IO=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --no-perf) PERF=0; shift ;;
    --bin) BIN=$2; shift 2 ;;
    *) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
for t in wrk python3; do command -v $t >/dev/null || { echo "profile: $t missing: run deploy/install-deps.sh --bench" >&2; exit 2; }; done
((PERF == 0)) || command -v perf >/dev/null || { echo "profile: perf missing: run deploy/install-deps.sh --bench" >&2; exit 2; }
if [[ -z "$BIN" ]]; then
  BIN="$ROOT/build-bench/dlrd"
  cmake -S "$ROOT" -B "$ROOT/build-bench" -DCMAKE_BUILD_TYPE=Release -DDLRD_BUILD_TESTS=OFF >/dev/null
  cmake --build "$ROOT/build-bench" -j"$(nproc)" --target dlrd >/dev/null
fi
OUT=${OUT:-$(mktemp -d /tmp/dlrd-profile.XXXXXX)}
mkdir -p "$OUT"
PY="python3 $HERE/benchlib.py"
read -r PORT ADMIN <<<"$($PY ports 2)"
export BENCH_SECRET="bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
python3 "$HERE/gen_corpus.py" --out "$OUT/corpus" --count $((DURATION * 40000 + 100000)) \
  --threads "$THREADS" >/dev/null
$PY config "$OUT/dlrd.jsonc" "$PORT" "$ADMIN" "$OUT/bench.db" "$IO"
"$BIN" serve --config "$OUT/dlrd.jsonc" 2>"$OUT/dlrd.log" &
PID=$!
PERF_PID=""
trap 'kill $PID ${PERF_PID} 2>/dev/null || true' EXIT
$PY wait-http "http://127.0.0.1:$ADMIN/readyz" 15 "$PID"
cpu() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
threads() {  # "comm=ticks ..." per thread (same-named threads summed)
  local t
  for t in /proc/$PID/task/*; do
    printf '%s=%s\n' "$(tr ' ' _ <"$t/comm")" "$(awk '{print $14 + $15}' "$t/stat")"
  done | awk -F= '{a[$1] += $2} END {for (k in a) printf "%s=%d ", k, a[k]}'
}
wchar() { awk '/^wchar/ {print $2}' "/proc/$PID/io"; }
c0=$(cpu)
t0=$(threads)
w0=$(wchar)
if ((PERF)); then
  perf record ${PERF_CALLGRAPH:--g} -F 999 -p "$PID" -o "$OUT/perf.data" -- sleep "$DURATION" 2>"$OUT/perf.log" &
  PERF_PID=$!
fi
BENCH_CORPUS="$OUT/corpus" BENCH_OUT="$OUT/wrk.json" BENCH_RATE=0 BENCH_THREADS="$THREADS" \
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$HERE/signed.lua" \
  "http://127.0.0.1:$PORT/webhooks/verifynow" >"$OUT/wrk.txt" 2>&1
c1=$(cpu)
t1=$(threads)
w1=$(wchar)
[[ -z "$PERF_PID" ]] || wait "$PERF_PID" || true
$PY scrape "http://127.0.0.1:$ADMIN/metrics" "$OUT/metrics"
kill -TERM "$PID"; wait "$PID" || true
rows=$($PY rows "$OUT/bench.db")
tck=$(getconf CLK_TCK)
python3 - "$OUT/wrk.txt" "$rows" "$c0" "$c1" "$tck" "$DURATION" "$t0" "$t1" "$w0" "$w1" <<'EOF' | tee "$OUT/summary.txt"
import re, sys
wrk, rows, c0, c1, tck, dur = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
parse = lambda s: {k: int(v) for k, v in (kv.split("=") for kv in s.split())}
t0, t1 = parse(sys.argv[7]), parse(sys.argv[8])
written = int(sys.argv[10]) - int(sys.argv[9])
text = open(wrk).read()
rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
p99 = re.search(r"99%\s+([\d.]+\w+)", text)
cpu = (c1 - c0) / tck
print(f"stored events: {rows}  wrk req/s: {rps.group(1) if rps else '?'}  p99: {p99.group(1) if p99 else '?'}")
print(f"server CPU: {cpu:.2f} s over {dur:.0f} s = {cpu / max(rows, 1) * 1e6:.1f} us per stored event")
print(f"bytes written (write/pwrite, all files): {written / max(rows, 1):.0f} per stored event")
for name in sorted(t1):
    d = (t1[name] - t0.get(name, 0)) / tck
    if d > 0.05:
        print(f"  thread {name}: {d:.2f} s = {d / max(rows, 1) * 1e6:.1f} us per event")
EOF
grep -E '^dlrd_store_commit_batch_size_(sum|count)' "$OUT/metrics" | tee -a "$OUT/summary.txt" || true
if ((PERF)); then
  perf report -i "$OUT/perf.data" --no-children --sort comm --stdio 2>/dev/null \
    | grep -v '^#' | grep -v '^$' | head -12 | tee "$OUT/by-thread.txt"
  perf report -i "$OUT/perf.data" --no-children --sort comm,dso,sym --stdio -g none 2>/dev/null \
    | grep -v '^#' | grep -v '^$' | head -60 >"$OUT/top-symbols.txt"
  echo "profile: top symbols in $OUT/top-symbols.txt; perf.data in $OUT"
fi
