#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-16, ASan + UBSan) into build-fuzz,
# re-runs every saved crash input under fuzz/regressions/<target>/, then
# fuzzes each target for a while over a scratch copy of its seed corpus
# (fuzz/corpus/<target>/ is never grown).
#
#   fuzz/run.sh [seconds_per_target] [target...]
#
# Defaults: 60 s per target, every target. Exits non-zero when a regression
# input fails or fuzzing finds anything; the crashing input is kept under
# build-fuzz/fuzz-artifacts/<target>/ and its log under build-fuzz/fuzz-logs/.
# DLRD_FUZZ_JOBS sets the build parallelism (default: nproc).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
all_targets=(framing form normalizer signature config stats_query retry_after
             send_reply handlers)
if (($# > 0)); then targets=("$@"); else targets=("${all_targets[@]}"); fi
jobs=${DLRD_FUZZ_JOBS:-$(nproc)}

build=build-fuzz
echo "== fuzz: build (clang-16, libFuzzer, ASan+UBSan) =="
cmake -S . -B "$build" -DCMAKE_CXX_COMPILER=clang++-16 -DDLRD_FUZZ=ON \
  -DDLRD_BUILD_TESTS=OFF >/dev/null
bins=()
for t in "${targets[@]}"; do bins+=("${t}_fuzz"); done
cmake --build "$build" --target "${bins[@]}" -j"$jobs"

# Symbolized stacks when a symbolizer is installed (llvm-16 or any llvm;
# install-deps.sh does not pull one in): else raw addresses.
if [[ -z ${ASAN_SYMBOLIZER_PATH:-} ]]; then
  for s in /usr/lib/llvm-16/bin/llvm-symbolizer llvm-symbolizer \
           llvm-symbolizer-16 llvm-symbolizer-14; do
    if command -v "$s" >/dev/null; then
      export ASAN_SYMBOLIZER_PATH=$(command -v "$s")
      break
    fi
  done
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

logs=$build/fuzz-logs
mkdir -p "$logs"
failed=()

echo "== fuzz: regressions =="
for t in "${targets[@]}"; do
  dir=fuzz/regressions/$t
  [[ -d $dir ]] || continue
  mapfile -t inputs < <(find "$dir" -type f ! -name '*.md' | sort)
  ((${#inputs[@]} > 0)) || continue
  if "$build/fuzz/${t}_fuzz" "${inputs[@]}" >"$logs/$t.regressions.log" 2>&1; then
    echo "$t: ${#inputs[@]} regression input(s) pass"
  else
    echo "$t: REGRESSION (log: $logs/$t.regressions.log)"
    tail -n 30 "$logs/$t.regressions.log"
    failed+=("$t:regression")
  fi
done

echo "== fuzz: ${seconds} s per target =="
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t" "$build/fuzz-artifacts/$t"
  cp -r "fuzz/corpus/$t/." "$scratch/$t/"
  extra=()
  # At a few hundred runs/s the input length limit would stay near the
  # seeds' for a whole short run: allow long requests from the start.
  [[ $t == handlers ]] && extra=(-len_control=0)
  if "$build/fuzz/${t}_fuzz" -max_total_time="$seconds" -timeout=5 \
      -rss_limit_mb=2048 -print_final_stats=1 "${extra[@]}" \
      -artifact_prefix="$build/fuzz-artifacts/$t/" \
      "$scratch/$t" >"$logs/$t.log" 2>&1; then
    stats=$(grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' \
      "$logs/$t.log" | tr '\n' ' ')
    echo "$t: ok ($stats)"
  else
    echo "$t: FINDING (log: $logs/$t.log; input under $build/fuzz-artifacts/$t/)"
    grep -E 'ERROR|SUMMARY|INVARIANT|runtime error|what\(\)' "$logs/$t.log" | head -n 10 || true
    failed+=("$t")
  fi
done

if ((${#failed[@]} > 0)); then
  echo "fuzz: FAILED: ${failed[*]}"
  echo "fuzz: $((${#targets[@]} - ${#failed[@]})) passed, ${#failed[@]} failed"
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets clean"
echo "fuzz: ${#targets[@]} passed, 0 failed"
