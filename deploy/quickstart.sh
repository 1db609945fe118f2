#!/usr/bin/env bash
# Runs dlrd with a demo config on a fresh Debian 12 machine:
# installs what is missing, builds, writes var/demo.jsonc (SQLite file
# var/dlrd.db, listeners on loopback, a literal demo secret), prints how to
# send a signed test callback, then runs the daemon in the foreground.
# Ctrl-C stops it cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."

bash deploy/install-deps.sh --runtime
# curl, openssl and sqlite3 are used by the printed example.
command -v curl >/dev/null && command -v openssl >/dev/null &&
  command -v sqlite3 >/dev/null || {
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get install -y -q --no-install-recommends curl openssl sqlite3
}

# Its own build tree: tests are not built, so their packages are not needed.
cmake -S . -B build-quickstart -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DDLRD_BUILD_TESTS=OFF >/dev/null
cmake --build build-quickstart -j"$(nproc)" --target dlrd

mkdir -p var
secret=demo-secret-change-me
cat > var/demo.jsonc <<JSON
// Demo config written by deploy/quickstart.sh. "demo": true allows the
// literal secret below; real configs use "env:NAME" or "file:PATH".
{
  "demo": true,
  "listen": "127.0.0.1:8080",
  "admin_listen": "127.0.0.1:9464",
  "database": "var/dlrd.db",
  "sources": {
    "verifynow": {
      "format": "verifynow",
      "signature": { "scheme": "hmac", "header": "X-Signature",
                     "algorithm": "sha256", "encoding": "hex",
                     "prefix": "sha256=", "secrets": ["$secret"] }
    }
  }
}
JSON

cat <<MSG

dlrd is starting on 127.0.0.1:8080 (admin 127.0.0.1:9464, database var/dlrd.db).
In another terminal, send a signed test callback:

  body='{"verificationId":"demo-1","deliveryStatus":"DELIVERED","channel":"SMS","latencyMs":1800}'
  sig=\$(printf '%s' "\$body" | openssl dgst -sha256 -hmac '$secret' | sed 's/^.*= //')
  curl -i http://127.0.0.1:8080/webhooks/verifynow \\
       -H 'Content-Type: application/json' -H "X-Signature: sha256=\$sig" -d "\$body"

Then look at it:
  sqlite3 var/dlrd.db 'select source, verification_id, channel, status from delivery_events'
  curl -s http://127.0.0.1:9464/metrics | grep dlrd_delivery_events_total

MSG
exec ./build-quickstart/dlrd serve --config var/demo.jsonc
