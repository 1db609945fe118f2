#!/usr/bin/env python3
"""Pre-signed, unique VerifyNow callbacks for the wrk benchmark.

Writes one file per wrk thread, PREFIX.t0 .. PREFIX.t<N-1>. Each file holds
complete raw HTTP/1.1 requests, each followed by a single NUL byte, so that
bench/signed.lua only splits the file at init and hands out ready strings in
its hot path (no signing, no formatting inside wrk).

Every request carries a distinct verificationId ("<run id>-t<thread>-<n>"),
so against a fresh database each one is a real insert, never a duplicate.
The run id is random per corpus, so two corpora never share an id either.

Standard library only.
"""
import argparse
import hashlib
import hmac
import json
import os
import secrets
import sys


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="output prefix (PREFIX.t0 ...)")
    ap.add_argument("--count", type=int, default=200_000,
                    help="total requests, split evenly over the threads")
    ap.add_argument("--threads", type=int, default=2, help="wrk threads")
    ap.add_argument("--secret-env", default="BENCH_SECRET",
                    help="environment variable holding the HMAC secret")
    ap.add_argument("--path", default="/webhooks/verifynow")
    args = ap.parse_args()

    secret = os.environ.get(args.secret_env, "")
    if not secret:
        print(f"gen_corpus: ${args.secret_env} is empty", file=sys.stderr)
        return 2
    key = secret.encode()
    run_id = secrets.token_hex(4)
    per_thread = -(-args.count // args.threads)  # ceil
    statuses = ("DELIVERED",)  # one status: one event (and one row) per request
    total_bytes = 0
    for t in range(args.threads):
        chunks = []
        for n in range(per_thread):
            body = json.dumps({
                "verificationId": f"{run_id}-t{t}-{n}",
                "deliveryStatus": statuses[n % len(statuses)],
                "channel": "SMS",
                "latencyMs": 200 + (n * 7919) % 5000,
            }, separators=(",", ":")).encode()
            sig = hmac.new(key, body, hashlib.sha256).hexdigest()
            head = (
                f"POST {args.path} HTTP/1.1\r\n"
                "Host: 127.0.0.1\r\n"
                "Content-Type: application/json\r\n"
                f"X-Signature: sha256={sig}\r\n"
                f"Content-Length: {len(body)}\r\n"
                "\r\n"
            ).encode()
            chunks.append(head + body + b"\0")
        data = b"".join(chunks)
        total_bytes += len(data)
        with open(f"{args.out}.t{t}", "wb") as f:
            f.write(data)
    print(json.dumps({"run_id": run_id, "threads": args.threads,
                      "per_thread": per_thread,
                      "total": per_thread * args.threads,
                      "bytes": total_bytes}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
