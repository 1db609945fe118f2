#!/usr/bin/env bash
# Installs dlrd's build, test and benchmark dependencies from Debian 12 packages.
# Idempotent: packages already present are skipped, and apt is only called when
# something is missing. Run as root (or through sudo).
#
#   deploy/install-deps.sh            build + runtime + test peers + fuzzing
#   deploy/install-deps.sh --runtime  only what the daemon needs to build and run
set -euo pipefail

build_pkgs=(
  build-essential cmake pkg-config
  libboost1.81-dev        # Beast + Asio (1.81: has the Beast #2201 body-limit fix)
  libboost-url1.81-dev    # Boost.URL: request-target and form parsing
  libssl-dev              # HMAC, hashes, CRYPTO_memcmp, TLS client
  libsqlite3-dev          # the store (embedded default)
  libpq-dev               # the PostgreSQL store (database = postgresql://...)
  nlohmann-json3-dev      # config and payload JSON
  prometheus-cpp-dev      # metric registry + text serializer (core only is linked)
  libcli11-dev            # command-line parsing
)
test_pkgs=(
  libgtest-dev libgmock-dev   # unit tests
  sqlite3                      # tests inspect the database with the CLI
  python3                      # test drivers (crash, framing, e2e)
  curl                         # integration tests
  prometheus                   # promtool check metrics / test rules
  prometheus-alertmanager      # amtool check-config on deploy/alertmanager
  nginx-light                  # real reverse proxy in tests and the benchmark baseline
  openssl                      # test CA and certificates for the TLS tests
  wrk                          # benchmark
  fiu-utils                    # fsync fault injection test (libfiu)
  postgresql-15                # the suite starts its own server (initdb + pg_ctl)
  # tests/deploy_files/test_container_image.py builds and runs the real image
  # without Docker or a registry: rootful podman with the runc runtime, and a
  # debootstrap'ed bookworm root imported as the base image.
  podman runc debootstrap
)
# Fuzzing (fuzz/, tests/run.sh fuzz step): clang with libFuzzer and the
# sanitizer runtimes. libclang-rt-16-dev (ASan/UBSan/libFuzzer runtimes) is
# only a Recommends of clang-16, which --no-install-recommends skips.
fuzz_pkgs=(
  clang-16 libfuzzer-16-dev libclang-rt-16-dev
)

pkgs=("${build_pkgs[@]}")
if [[ "${1:-}" != "--runtime" ]]; then
  pkgs+=("${test_pkgs[@]}" "${fuzz_pkgs[@]}")
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# --no-install-recommends keeps prometheus from pulling node-exporter and friends.
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
