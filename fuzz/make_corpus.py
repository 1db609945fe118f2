#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/ from tests/data and a
few hand-written requests. Re-run after changing the input layout of a
target (fuzz/README.md); libFuzzer's own findings are never written here.

Usage: fuzz/make_corpus.py   (from anywhere; paths are relative to the repo)
"""
import hashlib
import json
import os
import shutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data")
PROVIDERS = os.path.join(ROOT, "src", "core", "providers")


def provider_data(dirname):
    """src/core/providers/<p>/testdata/<dirname>: fixtures of one format."""
    for p in sorted(os.listdir(PROVIDERS)):
        d = os.path.join(PROVIDERS, p, "testdata", dirname)
        if os.path.isdir(d):
            return d
    raise FileNotFoundError(dirname)
OUT = os.path.join(ROOT, "fuzz", "corpus")

FORMATS = ["verifynow", "twilio-messaging", "twilio-verify-events",
           "vonage-messages", "vonage-sms-dlr", "vonage-verify",
           "sinch-verification", "sinch-sms"]  # KnownFormats() order (the provider registry)
FORMAT_DIRS = ["verifynow", "twilio", "twilio_verify", "vonage_messages",
               "vonage_sms_dlr", "vonage_verify", "sinch_verification",
               "sinch_sms"]
SCHEMES = ["hmac-sha256", "hmac-sha1-b64", "hmac-sha512", "standard-webhooks",
           "twilio", "vonage-jwt", "vonage-sig-sha256", "vonage-sig-md5hash",
           "sinch-application", "sinch-nonce", "sinch-numbers", "stripe"]
PROVIDERS = ["verifynow", "twilio", "vonage", "sinch"]


def write(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def vectors(name):
    v = json.load(open(os.path.join(PROVIDERS, name.split(".")[0], "testdata", "vectors", name)))
    return v["vectors"] if isinstance(v, dict) else v


def read(path):
    with open(path, "rb") as f:
        return f.read()


def request(first, headers, body=b""):
    if isinstance(body, str):
        body = body.encode()
    head = first + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    return head.encode() + b"\r\n" + body


def fixtures(dirname, limit, max_bytes=1500):
    d = provider_data(dirname)
    names = sorted(n for n in os.listdir(d) if n != "README.md")
    picked = [n for n in names if os.path.getsize(os.path.join(d, n)) <= max_bytes]
    # Spread the picks over the (alphabetical) list.
    step = max(1, len(picked) // limit)
    return [os.path.join(d, n) for n in picked[::step][:limit]]


def framing():
    reqs = [
        b"POST /webhooks/verifynow HTTP/1.1\r\nHost: dlrd\r\nContent-Length: 2\r\n\r\n{}",
        b"POST /webhooks/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
        b"GET / HTTP/1.1\nHost: a\n\n",
        b"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"PUT / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    ]
    for i, r in enumerate(reqs):
        write("framing", bytes([(i * 37) % 256]) + r)


def form():
    for t in ["a=1&b=x+y%21", "a=1&&b=2", "%zz", "=", "a", "/p?q=1&r",
              "/webhooks/verifynow?x=%2F&y", "a=%00%ff&%C3%A9=%E2%82%AC"]:
        write("form", t)
    for p in fixtures("twilio", 6) + fixtures("vonage_sms_dlr", 20):
        if p.endswith(".txt"):
            write("form", read(p))


def normalizer():
    for i, (fmt, d) in enumerate(zip(FORMATS, FORMAT_DIRS)):
        for p in fixtures(d, 9):
            is_form = p.endswith(".txt") or "form" in os.path.basename(p)
            ctype = 1 if is_form else 0  # json / form (normalizer_fuzz.cc)
            write("normalizer", bytes([i, ctype]) + read(p))


def signature():
    idx = {s: i for i, s in enumerate(SCHEMES)}
    for v in json.load(open(os.path.join(DATA, "signature_vectors.json"))):
        inp = v["inputs"]
        scheme = "standard-webhooks" if "standard" in v["scheme"] or "svix" in v["scheme"] else "hmac-sha256"
        now = inp.get("now_unix", 1735689600)
        hdrs = list(inp.get("headers", {}).items())
        write("signature", bytes([idx[scheme]]) + request(
            f"{now} POST /webhooks/x", hdrs + [("Content-Type", "application/json")],
            inp.get("body", "")))
    for v in vectors("stripe.json")[:3]:
        inp = v["inputs"]
        write("signature", bytes([idx["stripe"]]) + request(
            "1533204620 POST /webhooks/stripe",
            [("Stripe-Signature", inp["Stripe-Signature"])], inp["body"]))
    for v in vectors("twilio.json")[:4]:
        inp = v["inputs"]
        url = inp.get("url_as_signed", "")
        path = "/webhooks/twilio" + (url[url.find("?"):] if "?" in url else "")
        body = "&".join(f"{k}={val}" for k, val in inp.get("form_params", {}).items())
        write("signature", bytes([idx["twilio"]]) + request(
            f"1735689600 POST {path}",
            [("Content-Type", "application/x-www-form-urlencoded"),
             ("X-Twilio-Signature", v.get("expected_signature", ""))], body))
    for v in vectors("vonage.json"):
        inp = v["inputs"]
        if "params" in inp:
            method = inp.get("signature_method", "md5hash")
            params = dict(inp["params"])
            params["sig"] = v.get("expected_signature", "")
            body = "&".join(f"{k}={val}".replace(" ", "+") for k, val in params.items())
            scheme = "vonage-sig-md5hash" if method == "md5hash" else "vonage-sig-sha256"
            write("signature", bytes([idx[scheme]]) + request(
                f"{params.get('timestamp', '1385047698')} POST /webhooks/vonage",
                [("Content-Type", "application/x-www-form-urlencoded")], body))
        else:
            auth = inp.get("Authorization") or "Bearer " + inp.get("token", "")
            write("signature", bytes([idx["vonage-jwt"]]) + request(
                f"{inp.get('now_unix', 1735689600)} POST /webhooks/vonage",
                [("Authorization", auth), ("Content-Type", "application/json")],
                inp.get("body", "{}")))
    for v in vectors("sinch.json"):
        inp = v["inputs"]
        if "path" in inp:
            write("signature", bytes([idx["sinch-application"]]) + request(
                f"1411556381 {inp['method']} {inp['path']}",
                [("Content-Type", inp["content_type"]),
                 ("X-Timestamp", inp["x-timestamp"]),
                 ("Content-MD5", inp["content_md5"]),
                 ("Authorization", "Application 5f3c2a1e-fuzz-4b1d-9e7a-000000000000:"
                  + v.get("expected_signature", ""))], inp["body"]))
        elif "headers" in inp:
            ts = inp["headers"].get("x-sinch-webhook-signature-timestamp", "0")
            write("signature", bytes([idx["sinch-nonce"]]) + request(
                f"{ts} POST /webhooks/sinch", list(inp["headers"].items()), inp["body"]))
        else:
            write("signature", bytes([idx["sinch-numbers"]]) + request(
                "1735689600 POST /webhooks/sinch",
                [("X-Sinch-Signature", v.get("expected_signature", ""))], inp["body"]))
    for i in range(len(SCHEMES)):
        write("signature", bytes([i]) + request("1735689600 POST /webhooks/x", [("X-Signature", "sha256=00")], "{}"))


def config():
    write("config", read(os.path.join(ROOT, "deploy", "dlrd.example.jsonc")))
    write("config", '{"demo": true, "sources": {"a": {"format": "verifynow", '
          '"signature": {"scheme": "hmac", "secrets": ["s"]}}}}')
    write("config", '{"sources": {"s": {"format": "sinch-verification", '
          '"format_options": {"request_action": "deny"}, "allow_ips": ["192.0.2.0/24"], '
          '"signature": {"scheme": "sinch", "variant": "application", '
          '"application_key": "k", "secrets": ["env:SINCH"]}}}, '
          '"rate_limit": {"per_ip_per_s": 1.5, "burst": 3}, '
          '"retention": {"events_days": 2}, "admin_token": "file:/missing"}')
    write("config", '{"listen": "[::1]:8080", "limits": {"max_body_bytes": 0}, "sources": {}}')


def stats_query():
    for t in ["source,provider\n24h\n\n\n", "channel,country\n90m\n2024-05-01T10:00:00Z\n2024-05-02T10:00:00.123Z\nhourly",
              "\n7d\n\n2024-05-01T10:00:00+02:00\n", "source,source\n0s\n2024-05-01 10:00:00\n\n",
              "bogus\n3600s\n1969-12-31T23:59:59Z\n9999-12-31T23:59:59.999Z\nhourly",
              "country\n99999999999d\n2024-02-30T00:00:00Z\n2024-13-01T00:00:00-23:59\n"]:
        write("stats_query", t)


def retry_after():
    for i, t in enumerate(["120", "0", "-5", " 30 ", "99999999999999999999",
                           "Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
                           "Sun Nov  6 08:49:37 1994", "Wed, 01 Jan 2025 00:00:10 GMT",
                           "Thu, 31 Dec 9999 23:59:59 GMT", "Mon, 29 Feb 2100 00:00:00 GMT", "soon"]):
        write("retry_after", bytes([i % 4]) + t.encode())


def send_reply():
    replies = {
        "verifynow": [("200", '{"verificationId":"vn-123","status":"PENDING"}'),
                      ("400", '{"error":{"code":"INVALID_NUMBER","message":"bad"}}'),
                      ("429", '{"error":"slow down"}')],
        "twilio": [("201", '{"sid":"VE0123456789abcdef0123456789abcdef","status":"pending"}'),
                   ("400", '{"code":60200,"message":"Invalid parameter","status":400}'),
                   ("403", '{"code":60410,"message":"fraud","status":403}'),
                   ("400", '{"code":21610,"message":"unsubscribed"}')],
        "vonage": [("202", '{"request_id":"c11236f4-00bf-4b89-84ba-88b25df97315"}'),
                   ("409", '{"title":"Conflict","detail":"Concurrent verifications to the same number are not allowed","request_id":"x"}'),
                   ("422", '{"type":"https://developer.vonage.com/api-errors#invalid-param","title":"Invalid params","invalid_parameters":[{"name":"to"}]}')],
        "sinch": [("200", '{"id":"1234567890","_links":[]}'),
                  ("409", '{"errorCode":40900,"message":"duplicate reference"}'),
                  ("403", '{"errorCode":40300,"message":"blocked"}'),
                  ("503", "<html>down</html>")],
    }
    for i, p in enumerate(PROVIDERS):
        for status, body in replies[p]:
            write("send_reply", bytes([i]) + request(status, [("Content-Type", "application/json"),
                                                               ("Retry-After", "3")], body))


def handlers():
    vn = read(os.path.join(provider_data("verifynow"), sorted(os.listdir(provider_data("verifynow")))[1]))
    auth = ("Authorization", "Bearer fuzz-admin-token")
    web = [
        request("POST /webhooks/verifynow", [("Host", "dlrd"), ("Content-Type", "application/json"),
                                             ("X-Signature", "sha256=" + "0" * 64)], vn),
        request("POST /webhooks/locked", [("Host", "dlrd"), ("X-Forwarded-For", "198.51.100.1, 10.0.0.9")], "{}"),
        request("GET /webhooks/verifynow", [("Host", "dlrd")]),
        request("POST /webhooks/nope?x=1", [("Host", "dlrd")], "{}"),
        request("POST /elsewhere", [("Host", "dlrd")]),
        request("POST /webhooks/twilio-sms", [("Content-Type", "application/x-www-form-urlencoded"),
                                              ("X-Twilio-Signature", "AAAA")], "MessageSid=SM1&MessageStatus=delivered"),
        request("POST /webhooks/vonage-messages", [("Authorization", "Bearer a.b.c"),
                                                   ("Content-Type", "application/json")], "{}"),
        request("POST /webhooks/sinch", [("x-sinch-webhook-signature", "AA=="),
                                         ("x-sinch-webhook-signature-nonce", "n"),
                                         ("x-sinch-webhook-signature-timestamp", "1735689600")], "{}"),
        request("POST /webhooks/stdwebhooks", [("webhook-id", "msg_1"), ("webhook-timestamp", "1735689600"),
                                               ("webhook-signature", "v1,AAAA")], "{}"),
    ]
    for i, r in enumerate(web):
        write("handlers", bytes([(i % 2) | ((i % 4) << 2)]) + r)
    admin = [
        request("GET /metrics", []), request("GET /healthz", []), request("HEAD /readyz", []),
        request("POST /metrics", []), request("GET /nothing", []),
        request("GET /v1/stats?since=7d&by=source,channel&series=hourly", [auth]),
        request("GET /v1/stats?from=2024-05-01T00:00:00Z&to=2024-05-02T00:00:00Z", [auth]),
        request("GET /v1/stats?bogus=1", [auth]), request("GET /v1/stats", []),
        request("POST /v1/stats", [auth]),
        request("POST /v1/verifications", [auth, ("Content-Type", "application/json")],
                '{"verification_id":"v-1","source":"twilio-sms","recipient":"+14155550100","channel":"sms"}'),
        request("POST /v1/verifications", [auth],
                '{"verification_id":"conflict-1","source":"twilio-sms","recipient":"+14155550100",'
                '"channel":"whatsapp","sent_at":"2024-12-31T23:59:00Z"}'),
        request("POST /v1/verifications", [auth], '{"verification_id":"v","source":"other"}'),
        request("POST /v1/verifications", [auth], "not json"),
        request("GET /v1/verifications/v-1", [auth]),
        request("GET /v1/verifications/none-1", [auth]),
        request("DELETE /v1/verifications/fail-1", [auth]),
        request("GET /v1/verifications/v-1", [("Authorization", "Bearer wrong")]),
    ]
    for i, r in enumerate(admin):
        write("handlers", bytes([2 + (i % 2) | ((i % 4) << 2)]) + r)


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    for f in (framing, form, normalizer, signature, config, stats_query,
              retry_after, send_reply, handlers):
        f()


if __name__ == "__main__":
    main()
