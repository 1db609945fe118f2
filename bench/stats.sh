#!/usr/bin/env bash
# Analytics benchmark: "with 10 million events in the database, a 24 h stats
# query answers in under 250 ms".
#
#   bench/stats.sh [--events 10000000] [--days 30] [--seed 1] [--runs 20]
#                  [--db PATH] [--regen] [--cache-dir DIR]
#                  [--bin PATH [--bin-desc TEXT]] [--jobs 1] [--no-build]
#                  [--quiet-wait 180] [--out bench/stats_results.md]
#
# 1. Builds dlrd in Release in build-bench/ when needed (incremental, -j1 by
#    default: the machine is shared), unless --bin names a binary.
# 2. Generates the database with bench/gen_stats_db.py (schema version 2,
#    --events delivery events over --days days ending now) unless a cached
#    one fits: by default $TMPDIR/dlrd-stats-cache/stats-<events>-<days>d-
#    s<seed>.db, reused when its history ended less than 6 h ago (--regen
#    forces a new one); --db PATH uses (or creates) that file instead.
# 3. bench/stats_bench.py: the first `dlrd serve` on the file runs migration
#    0003 (timed; kept in <db>.bench.json), then the 24 h / 7 d / hourly /
#    30 d queries are timed --runs times through `dlrd stats` and
#    GET /v1/stats, and the 24 h report is checked against GROUP BYs over
#    the raw tables (before the queries it waits up to --quiet-wait s for
#    the machine to be idle). Writes --out and prints it.
# Installs nothing, listens on free loopback ports only, and stops every
# process it started (also on Ctrl-C). Needs python3 (and cmake + the build
# dependencies to build). About 4 min to generate 10 M events on a 2-CPU
# VM, ~1 min to migrate, ~1 min of queries.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
events=10000000
days=30
seed=1
runs=20
db=""
regen=0
cache="${TMPDIR:-/tmp}/dlrd-stats-cache"
bin=""
bin_desc=""
jobs=1
build=1
out="$here/stats_results.md"
quiet_wait=180
cmdline="bench/stats.sh $*"

while [ $# -gt 0 ]; do
  case "$1" in
    --events) events="$2"; shift 2 ;;
    --days) days="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --db) db="$2"; shift 2 ;;
    --regen) regen=1; shift ;;
    --cache-dir) cache="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    --bin-desc) bin_desc="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --out) out="$2"; shift 2 ;;
    --quiet-wait) quiet_wait="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | grep '^#'; exit 0 ;;
    *) echo "stats.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

command -v python3 >/dev/null || { echo "stats.sh: python3 is required" >&2; exit 2; }

work="$(mktemp -d "${TMPDIR:-/tmp}/dlrd-stats-bench.XXXXXX")"
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do
    [ -n "$p" ] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. Binary.
if [ -z "$bin" ]; then
  bin="$root/build-bench/dlrd"
  if [ "$build" = 1 ]; then
    command -v cmake >/dev/null || { echo "stats.sh: cmake is required to build (or pass --bin)" >&2; exit 2; }
    echo "== building Release in build-bench/ (-j$jobs)"
    cmake -S "$root" -B "$root/build-bench" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$root/build-bench" -j"$jobs" --target dlrd
  fi
fi
[ -x "$bin" ] || { echo "stats.sh: no dlrd binary at $bin" >&2; exit 2; }

# 2. Database.
if [ -z "$db" ]; then
  mkdir -p "$cache"
  db="$cache/stats-${events}-${days}d-s${seed}.db"
fi
gen_json="$db.gen.json"
fresh=0
if [ -f "$db" ] && [ -f "$gen_json" ] && [ "$regen" = 0 ]; then
  fresh=$(python3 - "$gen_json" <<'EOF'
import json, sys, time
g = json.load(open(sys.argv[1]))
print(1 if time.time() * 1000 - g["end_ms"] < 6 * 3600 * 1000 else 0)
EOF
)
fi
if [ "$fresh" = 1 ]; then
  echo "== reusing $db (history ends $(python3 -c "import json,time;print(time.strftime('%F %T UTC',time.gmtime(json.load(open('$gen_json'))['end_ms']/1000)))"))"
else
  echo "== generating $events events over $days days into $db"
  rm -f "$db.bench.json"
  python3 "$here/gen_stats_db.py" --out "$db" --events "$events" \
    --days "$days" --seed "$seed" > "$work/gen.json" &
  pids+=($!)
  wait "${pids[-1]}"
  cp "$work/gen.json" "$gen_json"
  cat "$gen_json"
fi

# 3. Migrate, time, check, report.
echo "== benchmark"
python3 "$here/stats_bench.py" --bin "$bin" --db "$db" --runs "$runs" \
  --gen-json "$gen_json" --out "$out" --work "$work" \
  --quiet-wait "$quiet_wait" \
  --command "$cmdline" ${bin_desc:+--bin-desc "$bin_desc"} &
pids+=($!)
set +e
wait "${pids[-1]}"
rc=$?
set -e
echo "== report written to $out (exit $rc)"
exit $rc
