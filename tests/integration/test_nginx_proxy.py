#!/usr/bin/env python3
"""dlrd behind the shipped nginx site (deploy/nginx/dlrd.conf), over real TLS.

The shipped file is adapted textually only (loopback test ports, a throwaway
CA-signed certificate, dlrd's port as the upstream); each replacement must
match exactly once, so a drift in the shipped file fails here. Then:
  - a Twilio-signed callback to source A, whose public_url is the https URL
    the client used, goes through nginx -> 200 and is stored, with the
    X-Forwarded-For / -Proto / Host that nginx set; dlrd logs the client
    address nginx appended, not the one the client claimed;
  - the same signed request to source B (other public_url) -> 401, counted
    as reason url_mismatch; unsigned or tampered -> 401; nothing stored;
  - a body of exactly dlrd's limit passes; one byte more -> 413 from nginx;
  - port 80 only redirects; /metrics and other paths are not proxied.
nginx missing is a failure: deploy/install-deps.sh installs nginx-light.
"""

import base64
import hashlib
import hmac
import http.client
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import time
import unittest
import urllib.parse

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import dlrd_harness as h  # noqa: E402

SHIPPED = os.path.join(HERE, "..", "..", "deploy", "nginx", "dlrd.conf")
TOKEN = "nginx-it-twilio-token-5c1e"
CLIENT = "127.0.0.2"      # the test client's address: not nginx's, not trusted
SPOOFED = "203.0.113.7"   # what the client claims in its own X-Forwarded-For
FORM = "application/x-www-form-urlencoded"
MAX_BODY = 65536          # dlrd's default limits.max_body_bytes


def find_tool(env, default, name):
    path = os.environ.get(env) or default
    if not os.access(path, os.X_OK):
        path = shutil.which(name)
    if not path:
        raise AssertionError("%s not found ($%s, %s, PATH): run "
                             "deploy/install-deps.sh" % (name, env, default))
    return path


def make_certs(d):
    """A throwaway CA and a server certificate for 127.0.0.1 / localhost."""
    o = find_tool("OPENSSL", "/usr/bin/openssl", "openssl")
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints="
                "critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\nsubjectKeyIdentifier=hash\n"
                "authorityKeyIdentifier=keyid,issuer\n")
    for cmd in (["req", "-x509"] + key + ["-keyout", "ca.key", "-out",
                "ca.pem", "-days", "2", "-subj", "/CN=dlrd test CA"],
                ["req"] + key + ["-keyout", "server.key", "-out", "server.csr",
                 "-subj", "/CN=127.0.0.1"],
                ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem",
                 "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
                 "-extfile", "server.ext", "-out", "server.pem"]):
        p = subprocess.run([o] + cmd, cwd=d, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        if p.returncode != 0:
            raise AssertionError("openssl %s failed:\n%s" % (cmd, p.stdout))
    return [os.path.join(d, n) for n in ("ca.pem", "server.pem", "server.key")]


def replace(text, pattern, repl, count=1):
    new, n = re.subn(pattern, repl, text, flags=re.M)
    if n != count:
        raise AssertionError("deploy/nginx/dlrd.conf drifted: %r matched %d "
                             "time(s), expected %d" % (pattern, n, count))
    return new


def adapt(site, http_port, tls_port, dlrd_port, cert, key):
    """The shipped site with test ports, certificate and upstream."""
    site = replace(site, r"^\s*listen \[::\]:(80|443)( ssl)?;\n", "", 2)
    site = replace(site, r"^(\s*)listen 80;", r"\g<1>listen 127.0.0.1:%d;"
                   % http_port)
    site = replace(site, r"^(\s*)listen 443 ssl;",
                   r"\g<1>listen 127.0.0.1:%d ssl;" % tls_port)
    site = replace(site, r"ssl_certificate\s+/etc/ssl/dlrd/fullchain\.pem;",
                   "ssl_certificate %s;" % cert)
    site = replace(site, r"ssl_certificate_key\s+/etc/ssl/dlrd/privkey\.pem;",
                   "ssl_certificate_key %s;" % key)
    return replace(site, r"^(\s*)server 127\.0\.0\.1:8080;",
                   r"\g<1>server 127.0.0.1:%d;" % dlrd_port)


def nginx_conf(d, site_path):
    """A minimal top-level nginx.conf that keeps every file inside `d`."""
    temps = "".join("    %s_temp_path %s/%s;\n" % (k, d, k) for k in
                    ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    # As root, nginx would run its workers as nobody, who cannot use `d`.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return ("%sdaemon off;\nworker_processes 1;\npid %s/nginx.pid;\n"
            "error_log %s/error.log info;\nevents { worker_connections 64; }\n"
            "http {\n    access_log %s/access.log;\n%s    include %s;\n}\n"
            % (user, d, d, d, temps, site_path))


def die_with_parent():
    """In the child: SIGTERM (a clean nginx stop) when the test dies."""
    import ctypes
    ctypes.CDLL(None).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG


def sign(url, params):
    signed = url + "".join(k + v for k, v in sorted(params.items()))
    mac = hmac.new(TOKEN.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


def twilio_source(public_url):
    return {"format": "twilio-messaging",
            "signature": {"scheme": "twilio", "public_url": public_url,
                          "secrets": ["env:DLRD_IT_TWILIO"]}}


def status_params(status="delivered"):
    return {"MessageSid": "SM" + h.unique_id("n")[2:34],
            "MessageStatus": status, "To": h.TEST_E164,
            "From": "+12025550142", "AccountSid": "AC" + "0" * 32}


class NginxProxy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        nginx = find_tool("NGINX", "/usr/sbin/nginx", "nginx")
        tmp = h.make_tempdir("dlrd-nginx-")
        cls.addClassCleanup(tmp.cleanup)
        cls.dir = tmp.name
        cls.cafile, cert, key = make_certs(cls.dir)
        cls.ctx = ssl.create_default_context(cafile=cls.cafile)  # + hostname
        with open(SHIPPED) as f:
            shipped = f.read()
        for attempt in range(3):  # a probed free port may be taken meanwhile
            cls.http_port, cls.tls_port = h.free_port(), h.free_port()
            cls.public_a = "https://127.0.0.1:%d/webhooks/a" % cls.tls_port
            sources = {"a": twilio_source(cls.public_a),
                       "b": twilio_source("https://example.invalid/webhooks/b")}
            cls.d = h.Dlrd(sources, {"DLRD_IT_TWILIO": TOKEN}, extra_config={
                "trusted_proxies": ["127.0.0.1/32"]})
            cls.addClassCleanup(cls.d.cleanup)
            cls.d.start()
            site = os.path.join(cls.dir, "dlrd.conf")
            with open(site, "w") as f:
                f.write(adapt(shipped, cls.http_port, cls.tls_port, cls.d.port,
                              cert, key))
            with open(os.path.join(cls.dir, "nginx.conf"), "w") as f:
                f.write(nginx_conf(cls.dir, site))
            cls.nginx = subprocess.Popen(
                [nginx, "-p", cls.dir, "-c", "nginx.conf", "-e", "error.log"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
            cls.addClassCleanup(cls.stop_nginx)
            # nginx writes its pid file once every listener is bound.
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and cls.nginx.poll() is None:
                if os.path.exists(os.path.join(cls.dir, "nginx.pid")):
                    return
                time.sleep(0.05)
            cls.stop_nginx()
            cls.d.cleanup()
            with open(os.path.join(cls.dir, "error.log"), "a+") as f:
                f.seek(0)
                log = f.read()
            if "Address already in use" not in log or attempt == 2:
                raise AssertionError("nginx did not start:\n" + log[-4000:])

    @classmethod
    def stop_nginx(cls):
        if cls.nginx.poll() is None:
            cls.nginx.terminate()  # SIGTERM: fast shutdown, workers included
            try:
                cls.nginx.wait(10)
            except subprocess.TimeoutExpired:
                cls.nginx.kill()
                cls.nginx.wait(5)

    def request(self, path, body=b"", headers=None, method="POST", ctx=None,
                tls=True):
        """One request from CLIENT to nginx: (status, body, Location)."""
        if tls:
            c = http.client.HTTPSConnection(
                "127.0.0.1", self.tls_port, context=ctx or self.ctx,
                timeout=10, source_address=(CLIENT, 0))
        else:
            c = http.client.HTTPConnection("127.0.0.1", self.http_port,
                                           timeout=10)
        try:
            c.request(method, path, body, headers or {})
            r = c.getresponse()
            return r.status, r.read(), r.getheader("Location")
        finally:
            c.close()

    def post(self, source, params, sig=None, query="?attempt=1", ctx=None):
        headers = {"Content-Type": FORM, "X-Forwarded-For": SPOOFED}
        if sig is not None:
            headers["X-Twilio-Signature"] = sig
        return self.request("/webhooks/" + source + query,
                            urllib.parse.urlencode(params).encode(), headers,
                            ctx=ctx)

    def sign_a(self, params):
        """Signed as Twilio would sign a callback to A's URL + ?attempt=1."""
        return sign(self.public_a + "?attempt=1", params)

    def failures(self, source, reason):
        m, _ = h.parse_metrics(self.d.metrics())
        return h.metric(m, "dlrd_webhook_signature_failures_total",
                        source=source, provider="twilio", reason=reason)

    def stored(self, sid):
        return self.d.count("SELECT COUNT(*) FROM delivery_events WHERE "
                            "message_id=?", (sid,))

    def test_signed_callback_through_tls_is_stored(self):
        p = status_params()
        sig = self.sign_a(p)
        status, body, _ = self.post("a", p, sig)
        self.assertEqual((status, body), (200, b'{"status":"accepted"}\n'),
                         self.d.log_tail())
        self.assertEqual(self.stored(p["MessageSid"]), 1)
        with h.closing_db(self.d.db_path) as c:
            head = c.execute("SELECT r.head FROM raw_requests r JOIN "
                             "delivery_events e ON e.raw_request_id = r.id "
                             "WHERE e.message_id=?", (p["MessageSid"],)
                             ).fetchone()[0].decode()
        self.assertTrue(head.startswith("POST /webhooks/a?attempt=1 HTTP/1.1"))
        self.assertIn("\r\nX-Forwarded-For: %s, %s\r\n" % (SPOOFED, CLIENT),
                      head)
        self.assertIn("\r\nX-Forwarded-Proto: https\r\n", head)
        self.assertIn("\r\nHost: 127.0.0.1\r\n", head)
        # Twilio's retry, over TLS 1.2 (the oldest allowed): a duplicate.
        tls12 = ssl.create_default_context(cafile=self.cafile)
        tls12.maximum_version = ssl.TLSVersion.TLSv1_2
        self.assertEqual(self.post("a", p, sig, ctx=tls12)[:2],
                         (200, b'{"status":"duplicate"}\n'))

    def test_signature_for_a_sent_to_b_is_url_mismatch(self):
        p = status_params()
        status, body, _ = self.post("b", p, self.sign_a(p))
        self.assertEqual((status, body),
                         (401, b'{"error":"invalid signature"}\n'))
        self.assertEqual(self.stored(p["MessageSid"]), 0)
        self.assertEqual(self.failures("b", "url_mismatch"), 1)
        # The client is what nginx appended (trusted_proxies), not the spoof.
        self.assertRegex(self.d.log_text(), r"event=signature_rejected "
                         r"source=b reason=url_mismatch client=127\.0\.0\.2\b")

    def test_unsigned_and_tampered_are_401(self):
        p = status_params("failed")
        before = self.failures("a", "missing_header")
        self.assertEqual(self.post("a", p)[0], 401)
        self.assertEqual(self.failures("a", "missing_header"), before + 1)
        sig = self.sign_a(p)
        tampered = dict(p, MessageStatus="delivered")
        self.assertEqual(self.post("a", tampered, sig)[0], 401)
        self.assertEqual(self.post("a", p, sig, query="?attempt=2")[0], 401)
        self.assertEqual(self.stored(p["MessageSid"]), 0)

    def test_body_limit_matches_dlrd(self):
        got = []
        for size in (MAX_BODY, MAX_BODY + 1):
            p = dict(status_params(), Pad="")
            p["Pad"] = "x" * (size - len(urllib.parse.urlencode(p)))
            status, body, _ = self.post("a", p, self.sign_a(p))
            got.append((status, self.stored(p["MessageSid"]), body))
        self.assertEqual(got[0][:2], (200, 1), got[0])
        self.assertEqual(got[1][:2], (413, 0), got[1])
        self.assertIn(b"nginx", got[1][2], "the 413 must come from nginx")

    def test_only_webhooks_are_proxied_and_http_redirects(self):
        for path in ("/metrics", "/healthz", "/readyz", "/"):
            status, body, _ = self.request(path, method="GET")
            self.assertEqual(status, 404, path)
            self.assertIn(b"nginx", body, "answered by nginx, not dlrd")
        r = self.request("/webhooks/a?attempt=1", b"x=1",
                         {"Content-Type": FORM}, tls=False)
        self.assertEqual((r[0], r[2]),
                         (301, "https://127.0.0.1/webhooks/a?attempt=1"))


if __name__ == "__main__":
    h.main()
