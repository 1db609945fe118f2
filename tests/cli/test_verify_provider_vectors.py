#!/usr/bin/env python3
"""Every provider signature vector through `dlrd verify`, via the binary.

Vectors: src/core/providers/<name>/testdata/vectors/<name>.json. Each one is
turned into a request exactly as its unit test (tests/core/<provider>_verifier
_test.cc) turns it into an InboundWebhook: same method, target, headers (in
order), body bytes, SignatureConfig and `now`. The request is written as a raw
HTTP/1.1 file (those headers plus Content-Length, nothing else), the secret
into a file referenced as file:PATH, and

    dlrd verify --config C --source S --request F --at NOW

must exit 0 (valid) or 1 (invalid) and print {valid, reason, secret_index}
with the answer the unit test expects of the library -- including the vectors
the unit tests deliberately expect to be rejected (vonage JWT vectors whose
body is unpublished, the sinch vector whose x-timestamp value carries a
literal "x-timestamp:" prefix, vonage-sig vectors that carry no timestamp).

Per vector the unit tests' own side checks are mirrored too: vonage-sig
vectors are delivered three ways (query, form body, JSON body), and valid
vonage vectors are also checked under a wrong secret (must be `mismatch`).
"""
import calendar
import collections
import json
import os
import re
import time
import unittest

from verify_helpers import HERE, VerifyTestCase, http_request

PROVIDERS = os.path.join(HERE, "..", "..", "src", "core", "providers")


def load(name):
    path = os.path.join(PROVIDERS, name, "testdata", "vectors", name + ".json")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def is_hex(s):
    """dlrd::HexDecode succeeds: even length, hex digits only."""
    return len(s) % 2 == 0 and re.fullmatch(r"[0-9a-fA-F]*", s) is not None


def byte_sorted(mapping):
    """(key, value) pairs in key byte order: how nlohmann::json iterates."""
    return sorted(mapping.items(), key=lambda kv: kv[0].encode("utf-8"))


# A request as the unit test builds it, plus what it must answer.
# headers: [(name, value)] in order; body: bytes; sig: the source's
# "signature" object without secrets; reason: "" when valid.
Case = collections.namedtuple(
    "Case", "group label sig secret method target headers body now valid reason")


# ---------------------------------------------------------------------------
# Twilio (src/core/providers/twilio/twilio_verifier_test.cc: ConfigFor, HookFor, RunVectors)

TWILIO_FORM_TYPE = "application/x-www-form-urlencoded"


def twilio_form_encode(s):
    """FormEncode: unreserved A-Za-z0-9 - . _ *, space as '+', else %XX."""
    out = []
    for b in s.encode("utf-8"):
        c = chr(b)
        if c.isascii() and (c.isalnum() or c in "-._*"):
            out.append(c)
        elif c == " ":
            out.append("+")
        else:
            out.append("%%%02X" % b)
    return "".join(out)


def twilio_form_body(params):
    """FormBody: pairs in name byte order, array values in given order, then
    the whole list reversed (so the verifier has to sort)."""
    pairs = []
    for name, value in byte_sorted(params):
        for v in value if isinstance(value, list) else [value]:
            pairs.append((name, v))
    return "&".join(twilio_form_encode(k) + "=" + twilio_form_encode(v)
                    for k, v in reversed(pairs))


def twilio_split(url):
    """SplitUrl: "https://h/p?q" -> public_url "https://h/p", target "/p?q"."""
    q = url.find("?")
    if q < 0:
        q = len(url)
    path = url.find("/", url.find("://") + 3)
    public_url = url[:q]
    target = url[path:] if 0 <= path < q else "/" + url[q:]
    return public_url, target


def twilio_reason(v):
    if "expected_reason" in v:
        return v["expected_reason"]
    return ("payload_hash_mismatch" if "body was tampered" in v["note"]
            else "url_mismatch")


def twilio_cases():
    data = load("twilio")
    cases = []
    for section in ("vectors", "upstream_extras"):
        for i, v in enumerate(data[section]):
            assert v["scheme"].startswith("twilio"), v["scheme"]
            inputs = v["inputs"]
            public_url, target = twilio_split(
                inputs.get("url_as_received", inputs["url_as_signed"]))
            headers = [("X-Twilio-Signature", v["expected_signature"])]
            method, body = "POST", ""
            if "form_params" in inputs:
                headers.append(("Content-Type", TWILIO_FORM_TYPE))
                body = twilio_form_body(inputs["form_params"])
            elif "body" in inputs:
                headers.append(("Content-Type", "application/json"))
                body = inputs["body"]
            else:
                method = "GET"
            cases.append(Case(
                group="twilio", label=f"twilio {section}[{i}]: {v['note'][:50]}",
                sig={"scheme": "twilio", "public_url": public_url},
                secret=v["secret"], method=method, target=target,
                headers=headers, body=body.encode("utf-8"), now=0,
                valid=v["valid"], reason="" if v["valid"] else twilio_reason(v)))
    return cases


# ---------------------------------------------------------------------------
# Vonage (src/core/providers/vonage/vonage_verifier_test.cc: VonageSigVectorsTest and
# VonageJwtVectorsTest)

VONAGE_DEFAULT_BODY = ('{"message_uuid":"aaaaaaaa-bbbb-cccc-dddd-0123456789ab",'
                       '"status":"delivered"}')
WRONG_SECRET = "not-the-secret"


def vonage_percent_encode(s):
    """PercentEncode: unreserved A-Za-z0-9 - _ . ~, everything else %XX."""
    out = []
    for b in s.encode("utf-8"):
        c = chr(b)
        out.append(c if c.isascii() and (c.isalnum() or c in "-_.~")
                   else "%%%02X" % b)
    return "".join(out)


def vonage_form(params):
    return "&".join(vonage_percent_encode(k) + "=" + vonage_percent_encode(v)
                    for k, v in params)


def json_dump(obj):
    """nlohmann::json::dump(): keys in byte order, no spaces, UTF-8 kept."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def vonage_sig_cases(test):
    """Each sig vector three ways; returns [(vector label, [Case])]."""
    out = []
    for i, v in enumerate(load("vonage")):
        if not v["scheme"].startswith("vonage-legacy-sig"):
            continue
        inputs = v["inputs"]
        method = inputs["signature_method"]
        sig = v["expected_signature"]
        params, obj = [], {}
        for k, value in byte_sorted(inputs["params"]):
            if k == "sig":
                test.assertEqual(value, sig)
                continue
            params.append((k, value if isinstance(value, str) else json_dump(value)))
            obj[k] = value
        obj["sig"] = sig
        now, has_timestamp = 0, False
        for k, value in params:
            if k == "timestamp":
                now, has_timestamp = int(value), True
        if not v["valid"]:
            want = "mismatch" if is_hex(sig) else "bad_encoding"
        elif has_timestamp:
            want = ""
        else:
            want = "bad_timestamp"  # MAC matched; no timestamp to check
        signed = params + [("sig", sig)]
        deliveries = [
            ("query", "GET", "/webhooks/dlr?" + vonage_form(signed), [], ""),
            ("form", "POST", "/webhooks/dlr",
             [("Content-Type", "application/x-www-form-urlencoded")],
             vonage_form(signed)),
            ("json", "POST", "/webhooks/dlr",
             [("Content-Type", "application/json")], json_dump(obj)),
        ]
        label = f"vonage-sig [{i}] {method}: {v['note'][:40]}"
        cases = []
        for name, http_method, target, headers, body in deliveries:
            config = {"scheme": "vonage-sig", "algorithm": method, "tolerance_s": 300}
            common = dict(method=http_method, target=target, headers=headers,
                          body=body.encode("utf-8"), now=now, sig=config)
            cases.append(Case(group="vonage-sig", label=f"{label} / {name}",
                              secret=v["secret"], valid=want == "", reason=want,
                              **common))
            if v["valid"]:
                cases.append(Case(group="vonage-sig-wrong-secret",
                                  label=f"{label} / {name} / wrong secret",
                                  secret=WRONG_SECRET, valid=False,
                                  reason="mismatch", **common))
        out.append((label, cases))
    return out


def vonage_jwt_cases():
    out = []
    for i, v in enumerate(load("vonage")):
        if not v["scheme"].startswith("vonage-signed-webhook-jwt"):
            continue
        inputs = v["inputs"]
        claims = inputs["decoded_claims"]
        authorization = inputs.get("Authorization") or "Bearer " + inputs["token"]
        has_body = "body" in inputs
        body = inputs["body"] if has_body else VONAGE_DEFAULT_BODY
        now = inputs["now_unix"] if "now_unix" in inputs else claims["iat"]
        tolerance = inputs.get("iat_tolerance_s", 300)
        if v["valid"] and has_body:
            want = ""
        elif v["valid"] or has_body:
            want = "payload_hash_mismatch"  # MAC matched; body unpublished/tampered
        else:
            want = "mismatch"
        common = dict(
            sig={"scheme": "vonage-jwt", "algorithm": "sha256", "tolerance_s": tolerance},
            method="POST", target="/webhooks/vonage",
            headers=[("Content-Type", "application/json"),
                     ("Authorization", authorization)],
            body=body.encode("utf-8"), now=now)
        label = f"vonage-jwt [{i}]: {v['note'][:50]}"
        cases = [Case(group="vonage-jwt", label=label, secret=v["secret"],
                      valid=want == "", reason=want, **common)]
        if v["valid"]:
            cases.append(Case(group="vonage-jwt-wrong-secret",
                              label=label + " / wrong secret", secret=WRONG_SECRET,
                              valid=False, reason="mismatch", **common))
        out.append((label, cases))
    return out


# ---------------------------------------------------------------------------
# Sinch (src/core/providers/sinch/sinch_verifier_test.cc: ConfigFor, HookFor, NowFor,
# ExpectedReason)

SINCH_APP_KEY = "669E367E-6BBA-48AB-AF15-266871C28135"


def sinch_variant(v):
    scheme = v["scheme"]
    if scheme.startswith("sinch-application-signed-callback"):
        return "application"
    if scheme.startswith("sinch-webhook-signature-nonce"):
        return "nonce"
    if scheme.startswith("sinch-x-sinch-signature"):
        return "numbers"
    raise AssertionError("unknown Sinch scheme " + scheme)


def unix_of(iso):
    """UnixOf: whole seconds of "YYYY-MM-DDTHH:MM:SS[.f]Z", fraction dropped."""
    return calendar.timegm(time.strptime(iso[:19], "%Y-%m-%dT%H:%M:%S"))


def sinch_cases():
    cases = []
    for i, v in enumerate(load("sinch")):
        variant = sinch_variant(v)
        inputs = v["inputs"]
        sig = v["expected_signature"]
        config = {"scheme": "sinch", "variant": variant}
        if variant == "application":
            config["application_key"] = SINCH_APP_KEY
            headers = [
                ("Authorization", f"Application {SINCH_APP_KEY}:{sig}"),
                ("x-timestamp", inputs["x-timestamp"]),
                ("Content-Type", inputs["content_type"]),
                ("Content-MD5", inputs["content_md5"]),
            ]
            ts = inputs["x-timestamp"]
            now = unix_of(ts[len("x-timestamp:"):] if ts.startswith("x-timestamp:") else ts)
        elif variant == "nonce":
            headers = list(inputs["headers"].items())
            now = int(inputs["headers"]["x-sinch-webhook-signature-timestamp"])
        else:
            headers = [("X-Sinch-Signature", sig)]
            now = 1700000000  # numbers: no timestamp
        # The Node SDK test whose x-timestamp value starts with "x-timestamp:"
        # is refused before the MAC, by design.
        if variant == "application" and inputs["x-timestamp"].startswith("x-timestamp:"):
            want = "bad_timestamp"
        elif v["valid"]:
            want = ""
        elif variant == "numbers" and not is_hex(sig):
            want = "bad_encoding"
        else:
            want = "mismatch"
        cases.append(Case(
            group=f"sinch-{variant}", label=f"sinch {variant} [{i}]: {v['note'][:50]}",
            sig=config, secret=v["secret"], method=inputs.get("method", "POST"),
            target=inputs.get("path", "/sinch"), headers=headers,
            body=inputs["body"].encode("utf-8"), now=now,
            valid=want == "", reason=want))
    return cases


# ---------------------------------------------------------------------------
# Stripe (src/core/providers/stripe/stripe_verifier_test.cc: EveryVectorVerifiesAsExpected)

def stripe_reason(v):
    if "Stale" in v["note"]:
        return "stale"
    if "Only a v0" in v["note"]:
        return "bad_encoding"
    return "mismatch"  # wrong secret


def stripe_cases():
    cases = []
    for i, v in enumerate(load("stripe")):
        assert v["scheme"].startswith("stripe"), v["scheme"]
        inputs = v["inputs"]
        cases.append(Case(
            group="stripe", label=f"stripe [{i}]: {v['note'][:50]}",
            sig={"scheme": "stripe", "tolerance_s": inputs["tolerance_s"]},
            secret=v["secret"], method="POST", target="/webhooks/stripe",
            headers=[("Stripe-Signature", inputs["Stripe-Signature"])],
            body=inputs["body"].encode("utf-8"), now=inputs["now_unix"],
            valid=v["valid"], reason="" if v["valid"] else stripe_reason(v)))
    return cases


# ---------------------------------------------------------------------------

# Vectors per scheme, and what each run must answer (group -> reason -> runs;
# "" is accepted). Fixed here so the test cannot pass vacuously.
EXPECTED_VECTORS = {"twilio": 23, "vonage-sig": 11, "vonage-jwt": 5,
                    "sinch": 11, "stripe": 6}
EXPECTED_OUTCOMES = {
    "twilio": {"": 16, "url_mismatch": 4, "payload_hash_mismatch": 1,
               "bad_encoding": 1, "mismatch": 1},
    "vonage-sig": {"": 24, "bad_timestamp": 6, "bad_encoding": 3},
    "vonage-sig-wrong-secret": {"mismatch": 30},
    "vonage-jwt": {"": 1, "payload_hash_mismatch": 2, "mismatch": 2},
    "vonage-jwt-wrong-secret": {"mismatch": 2},
    "sinch-application": {"": 3, "bad_timestamp": 1, "mismatch": 2},
    "sinch-nonce": {"": 2, "mismatch": 1},
    "sinch-numbers": {"": 1, "bad_encoding": 1},
    "stripe": {"": 3, "stale": 1, "bad_encoding": 1, "mismatch": 1},
}


class ProviderVectorsCli(VerifyTestCase):
    def prepare(self, cases):
        """One source per case in a single config; one request file each."""
        sources, prepared = {}, []
        for n, c in enumerate(cases):
            sig = dict(c.sig)
            sig["secrets"] = [self.secret_ref(f"secret{n}", c.secret)]
            sources[f"p{n}"] = {"format": "verifynow", "signature": sig}
            request = http_request(c.method, c.target, c.headers, c.body)
            prepared.append((f"p{n}", self.write(f"req{n}.http", request), c))
        return self.config(sources), prepared

    def check(self, config, source, request, c, outcomes):
        r = self.run_verify("--config", config, "--source", source,
                            "--request", request, "--at", str(c.now))
        lines = r.stdout.decode().splitlines()
        self.assertEqual(len(lines), 1, r.stdout + r.stderr)
        out = json.loads(lines[0])
        self.assertEqual(set(out), {"valid", "reason", "secret_index"}, out)
        self.assertEqual(out["valid"], c.valid, out)
        self.assertEqual(r.returncode, 0 if c.valid else 1, r.stderr)
        self.assertEqual(out["reason"], c.reason, out)
        self.assertEqual(out["secret_index"], 0 if c.valid else -1, out)
        self.assertNotIn(c.secret.encode(), r.stdout + r.stderr)
        outcomes[c.group][out["reason"]] += 1

    def test_every_provider_vector(self):
        # (vector label, [runs]) -- one subTest per vector.
        vectors = [(c.label, [c]) for c in twilio_cases()]
        vectors += vonage_sig_cases(self)
        vectors += vonage_jwt_cases()
        vectors += [(c.label, [c]) for c in sinch_cases()]
        vectors += [(c.label, [c]) for c in stripe_cases()]

        # A vector's first run is the vector itself (never a wrong-secret run).
        per_scheme = collections.Counter(
            "sinch" if runs[0].group.startswith("sinch-") else runs[0].group
            for _, runs in vectors)
        self.assertEqual(dict(per_scheme), EXPECTED_VECTORS)

        all_cases = [c for _, runs in vectors for c in runs]
        config, prepared = self.prepare(all_cases)
        by_case = {id(c): (source, req) for source, req, c in prepared}
        outcomes = collections.defaultdict(collections.Counter)
        for label, runs in vectors:
            with self.subTest(vector=label):
                for c in runs:
                    with self.subTest(run=c.label):
                        source, req = by_case[id(c)]
                        self.check(config, source, req, c, outcomes)
        self.assertEqual({g: dict(o) for g, o in outcomes.items()},
                         EXPECTED_OUTCOMES)

    def test_body_is_carried_byte_exact(self):
        """Stripe signs the raw bytes: Content-Length bounds the body exactly,
        so trailing bytes past it are ignored and one byte short is a
        mismatch (cf. StripeVectorsTest.BodyWithoutTrailingNewlineIsMismatch)."""
        v = load("stripe")[0]
        inputs = v["inputs"]
        body = inputs["body"].encode("utf-8")
        self.assertTrue(body.endswith(b"\n"))
        self.assertEqual(len(body), inputs["body_len_bytes"])
        config = self.config({"s": {"format": "verifynow", "signature": {
            "scheme": "stripe", "tolerance_s": inputs["tolerance_s"],
            "secrets": [self.secret_ref("secret", v["secret"])]}}})
        headers = [("Stripe-Signature", inputs["Stripe-Signature"])]
        at = str(inputs["now_unix"])
        for name, request, want in [
                ("exact", http_request("POST", "/webhooks/s", headers, body), ""),
                ("trailing garbage past Content-Length",
                 http_request("POST", "/webhooks/s", headers, body) + b"\r\nGARBAGE", ""),
                ("trailing newline dropped",
                 http_request("POST", "/webhooks/s", headers, body[:-1]), "mismatch")]:
            with self.subTest(request=name):
                r = self.run_verify("--config", config, "--source", "s",
                                    "--request", self.write("r.http", request), "--at", at)
                out = json.loads(r.stdout)
                self.assertEqual(out["reason"], want, out)
                self.assertEqual(r.returncode, 0 if want == "" else 1)


if __name__ == "__main__":
    unittest.main()
