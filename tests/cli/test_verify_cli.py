#!/usr/bin/env python3
"""`dlrd verify` against every official signature vector, through the binary.

For each vector in tests/data/signature_vectors.json a config (secret in a
file: reference) and a raw HTTP/1.1 request file are written; the command must
exit 0 for valid vectors and 1 for invalid ones, and print one JSON line with
`valid`, `reason` and `secret_index`. Usage and config errors exit 2.
"""
import json
import os
import subprocess
import sys
import unittest

from verify_helpers import DATA, DLRD, VerifyTestCase, raw_request

VECTORS = os.path.join(DATA, "signature_vectors.json")


def vector_request(v):
    """Returns (headers dict, body bytes, signature config dict)."""
    inputs = v["inputs"]
    if "body_repeat" in inputs:
        body = inputs["body_repeat"]["char"].encode() * inputs["body_repeat"]["count"]
    else:
        body = inputs["body"].encode("utf-8")
    if v["scheme"].startswith("github"):
        headers = {"X-Hub-Signature-256": v["expected_signature"]}
        sig = {"scheme": "hmac", "header": "X-Hub-Signature-256",
               "algorithm": "sha256", "encoding": "hex", "prefix": "sha256="}
    else:
        headers = dict(inputs.get("headers") or {
            "webhook-id": inputs["webhook-id"],
            "webhook-timestamp": inputs["webhook-timestamp"],
            "webhook-signature": v["expected_signature"],
        })
        sig = {"scheme": "standard-webhooks",
               "tolerance_s": inputs.get("tolerance_s", 300)}
    return headers, body, sig


class VerifyCli(VerifyTestCase):
    def test_every_official_vector(self):
        with open(VECTORS) as f:
            vectors = json.load(f)
        self.assertGreaterEqual(len(vectors), 19)
        sources = {}
        requests = []
        for i, v in enumerate(vectors):
            headers, body, sig = vector_request(v)
            secret_file = self.write(f"secret{i}", v["secret"])
            sig["secrets"] = [f"file:{secret_file}"]
            sources[f"v{i}"] = {"format": "verifynow", "signature": sig}
            requests.append((i, v, self.write(f"req{i}.http", raw_request(headers, body))))
        config = self.config(sources)
        outcomes = {True: 0, False: 0}
        for i, v, req in requests:
            with self.subTest(vector=i, note=v.get("note", "")[:60]):
                r = self.run_verify("--config", config, "--source", f"v{i}",
                                    "--request", req, "--at", str(v["inputs"].get("now_unix", 0)))
                out = json.loads(r.stdout.decode().strip())
                self.assertEqual(out["valid"], v["valid"], r.stdout)
                self.assertEqual(r.returncode, 0 if v["valid"] else 1)
                if v["valid"]:
                    self.assertEqual(out["secret_index"], 0)
                    self.assertEqual(out["reason"], "")
                else:
                    self.assertEqual(out["secret_index"], -1)
                    self.assertNotEqual(out["reason"], "")
                outcomes[v["valid"]] += 1
        self.assertGreater(outcomes[True], 0)
        self.assertGreater(outcomes[False], 0)

    def test_stdin_rotation_and_lf_only_file(self):
        body = b'{"verificationId":"x","deliveryStatus":"DELIVERED","channel":"SMS"}'
        import hashlib, hmac
        mac = hmac.new(b"new-secret", body, hashlib.sha256).hexdigest()
        old = self.write("old", "old-secret\n")
        new = self.write("new", "new-secret\n")
        config = self.config({"vn": {"format": "verifynow", "signature": {
            "scheme": "hmac", "header": "X-Signature", "prefix": "sha256=",
            "secrets": [f"file:{old}", f"file:{new}"]}}})
        req = raw_request({"X-Signature": "sha256=" + mac}, body)
        r = self.run_verify("--config", config, "--source", "vn", "--request", "-", stdin=req)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), {"valid": True, "reason": "", "secret_index": 1})
        # A hand-written file with LF line endings and no Content-Length.
        lf = (b"POST /webhooks/vn HTTP/1.1\nHost: x\nX-Signature: sha256=" + mac.encode()
              + b"\n\n" + body)
        r = self.run_verify("--config", config, "--source", "vn", "--request", "-", stdin=lf)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        tampered = req.replace(b"DELIVERED", b"DELIVERXD")
        r = self.run_verify("--config", config, "--source", "vn", "--request", "-", stdin=tampered)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(json.loads(r.stdout)["reason"], "mismatch")
        self.assertNotIn(mac.encode(), r.stdout + r.stderr)

    def test_usage_and_config_errors_exit_2(self):
        config = self.config({"vn": {"format": "verifynow", "signature": {
            "scheme": "hmac", "secrets": ["env:DLRD_TEST_UNSET_VARIABLE"]}}})
        req = self.write("r.http", raw_request({}, b"{}"))
        r = self.run_verify("--config", config, "--source", "vn", "--request", req)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"sources.vn.signature.secrets[0]", r.stderr)
        secret = self.write("s", "x")
        config = self.config({"vn": {"format": "verifynow", "signature": {
            "scheme": "hmac", "secrets": [f"file:{secret}"]}}})
        r = self.run_verify("--config", config, "--source", "nope", "--request", req)
        self.assertEqual(r.returncode, 2)
        r = self.run_verify("--config", config, "--source", "vn", "--request",
                            os.path.join(self.dir, "missing.http"))
        self.assertEqual(r.returncode, 2)
        r = self.run_verify("--config", config)  # missing required options
        self.assertEqual(r.returncode, 2)

    def test_check_config_and_version(self):
        bad = self.write("bad.json", '{"sources": {"vn": {"format": "verifynow", '
                         '"signature": {"scheme": "hmac", "algorithm": "md5", '
                         '"secrets": ["literal"]}}}, "demo": true}')
        r = subprocess.run([DLRD, "check-config", "--config", bad], capture_output=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"sources.vn.signature.algorithm", r.stderr)
        r = subprocess.run([DLRD, "--version"], capture_output=True)
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith(b"dlrd "))

    def test_shipped_example_config_is_valid(self):
        # deploy/dlrd.example.jsonc, with its env: secrets set and its file:
        # secret pointed at a temp file: check-config accepts it.
        root = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))
        with open(os.path.join(root, "deploy", "dlrd.example.jsonc")) as f:
            text = f.read()
        secret = self.write("std.secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        self.assertIn("file:/etc/dlrd/stdwebhooks.secret", text)
        text = text.replace("file:/etc/dlrd/stdwebhooks.secret", "file:" + secret)
        self.assertIn('"/var/lib/dlrd/dlrd.db"', text)
        text = text.replace('"/var/lib/dlrd/dlrd.db"',
                            json.dumps(os.path.join(self.dir, "dlrd.db")))
        config = self.write("example.jsonc", text)
        env = dict(os.environ)
        for name in ("VERIFYNOW_WEBHOOK_SECRET", "TWILIO_AUTH_TOKEN",
                     "VONAGE_SIGNATURE_SECRET", "SINCH_APP_SECRET",
                     "SINCH_SMS_WEBHOOK_SECRET", "DLRD_ADMIN_TOKEN"):
            env[name] = "c2VjcmV0LWZvci10ZXN0cw=="
        env["TWILIO_ACCOUNT_SID"] = "AC00000000000000000000000000000000"
        env["TWILIO_VERIFY_SERVICE_SID"] = "VA00000000000000000000000000000000"
        r = subprocess.run([DLRD, "check-config", "--config", config],
                           capture_output=True, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        # Every format the daemon knows appears in the example.
        for fmt in ("verifynow", "twilio-messaging", "twilio-verify-events",
                    "vonage-messages", "vonage-sms-dlr", "vonage-verify",
                    "sinch-verification", "sinch-sms"):
            self.assertIn('"format": "%s"' % fmt, text)


if __name__ == "__main__":
    unittest.main()
