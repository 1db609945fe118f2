#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine:
#   1. installs what is missing (deploy/install-deps.sh, Debian packages only);
#   2. builds with -Wall -Wextra -Werror and runs every ctest test
#      (unit, store, app, HTTP, integration against the real binary, crash,
#      promtool);
#   3. builds again with AddressSanitizer + UndefinedBehaviorSanitizer and
#      runs the suite once more.
# Set DLRD_SKIP_SANITIZE=1 to skip step 3 while iterating.
set -euo pipefail
cd "$(dirname "$0")/.."

bash deploy/install-deps.sh

jobs=$(nproc)

echo "== build (Werror) =="
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDLRD_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
echo "== tests =="
ctest --test-dir build --output-on-failure -j"$jobs"

if [[ "${DLRD_SKIP_SANITIZE:-0}" != 1 ]]; then
  echo "== build (ASan+UBSan) =="
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDLRD_WERROR=ON \
    -DDLRD_SANITIZE=ON >/dev/null
  cmake --build build-asan -j"$jobs"
  echo "== tests under ASan+UBSan =="
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs"
fi

# Fuzzing (fuzz/README.md): re-runs the saved crash inputs, then fuzzes each
# libFuzzer target for DLRD_FUZZ_SECONDS (default 20). DLRD_SKIP_FUZZ=1
# skips it.
if [[ "${DLRD_SKIP_FUZZ:-0}" != 1 ]]; then
  echo "== fuzz (libFuzzer, ${DLRD_FUZZ_SECONDS:-20} s per target) =="
  DLRD_FUZZ_JOBS="$jobs" fuzz/run.sh "${DLRD_FUZZ_SECONDS:-20}"
fi
