"""Helpers shared by the `dlrd verify` CLI tests (Python 3 stdlib only).

- DLRD: the binary under test ($DLRD_BIN, else build/dlrd).
- http_request(): a raw HTTP/1.1 request file carrying exactly the given
  headers, in order, plus Content-Length, so `dlrd verify` sees the exact body
  bytes (src/cli/raw_request.cc truncates the body to Content-Length).
- raw_request(): the shorter form used for hmac / standard-webhooks vectors.
- VerifyTestCase: a temp dir per test, files in it, a config whose secrets are
  file: references, and a runner for `dlrd verify`.
"""
import json
import os
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")
DLRD = os.environ.get("DLRD_BIN", os.path.join(HERE, "..", "..", "build", "dlrd"))


def _text(s):
    return s.encode("utf-8") if isinstance(s, str) else s


def http_request(method, target, headers, body):
    """Raw request bytes: `METHOD TARGET HTTP/1.1`, each (name, value) of
    `headers` in order, `Content-Length`, a blank line, then `body` verbatim.

    Refuses what the raw-request parser could not carry unchanged (it trims
    header values and splits lines on LF), so a vector is never silently
    altered on its way into the file."""
    body = _text(body)
    method, target = _text(method), _text(target)
    if not method or b" " in method or not target or b" " in target:
        raise ValueError(f"request line cannot carry {method!r} {target!r}")
    head = [method + b" " + target + b" HTTP/1.1"]
    for name, value in headers:
        name, value = _text(name), _text(value)
        if (not name or b":" in name or any(c in name for c in b" \t\r\n")
                or any(c in value for c in b"\r\n") or value != value.strip(b" \t")):
            raise ValueError(f"header cannot be carried verbatim: {name!r}: {value!r}")
        if name.lower() == b"content-length":
            raise ValueError("Content-Length is written by http_request")
        head.append(name + b": " + value)
    head.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def raw_request(headers, body):
    """POST /webhooks/v with Host and a JSON Content-Type, then `headers`."""
    return http_request(
        "POST", "/webhooks/v",
        [("Host", "example.test"), ("Content-Type", "application/json"),
         *headers.items()],
        body)


class VerifyTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, data):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        return path

    def secret_ref(self, name, secret):
        """A file: reference to `secret`, written byte-exact (no newline)."""
        return "file:" + self.write(name, secret)

    def config(self, sources, name="config.json"):
        return self.write(name, json.dumps({
            "database": os.path.join(self.dir, "unused.db"), "sources": sources}))

    def run_verify(self, *args, stdin=None):
        return subprocess.run([DLRD, "verify", *args], input=stdin,
                              capture_output=True, timeout=30)
