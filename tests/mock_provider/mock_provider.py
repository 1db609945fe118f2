#!/usr/bin/env python3
"""A loopback HTTPS server that plays four OTP providers' send APIs.

It answers the requests dlrd's send adapters build (src/core/outbound/*_send.cc)
at the providers' own paths, under any path prefix:

  verifynow  POST .../verification/v3/send?countryCode=&customerId=&flowType=
             &mobileNumber=                           header authToken
  twilio     POST .../v2/Services/<sid>/Verifications  form To, Channel
  vonage     POST .../v2/verify                        JSON brand, workflow
  sinch      POST .../verification/v1/verifications    JSON identity, method

checks the credentials (401 when wrong) and decides by the LAST FOUR DIGITS
of the recipient (see README.md):

  0001-0099  accepted, with a new unique id       0504  too slow: answers
  0400       invalid number                             (accepted) only after
  0403       fraud / blocked                            slow_delay_s
  0429       429 with Retry-After                 0505  reset after accepting:
  0503       503                                        recorded as accepted,
  anything else: accepted                               then the TCP
                                                        connection is reset

Every request is recorded (provider, channel, recipient, path, headers
without credentials, body, outcome, time) and can be read with
MockProvider.requests() or GET /_requests (JSON array; DELETE clears it).

Python 3 standard library only; make_test_ca() uses the openssl CLI.

As a module:
    ca = make_test_ca(tmpdir)
    with MockProvider(ca.server_cert, ca.server_key) as mock:
        ...  # dlrd with providers.<name>.base_url = mock.base_url,
             # ca_file = ca.ca_cert, credentials = mock.credentials[<name>]
        mock.wait_for_requests(1, provider="twilio")
As a program:
    python3 mock_provider.py --cert server.pem --key server.key --port 0
prints the port on its first line of stdout and serves until SIGINT/SIGTERM.
"""

import argparse
import base64
import collections
import copy
import datetime
import http.server
import itertools
import json
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

PROVIDERS = ("verifynow", "twilio", "vonage", "sinch")

# Credentials the mock accepts unless told otherwise (MockProvider(...,
# credentials=...) or --credentials FILE, same shape; missing keys keep
# these defaults).
DEFAULT_CREDENTIALS = {
    "verifynow": {"auth_token": "mock-verifynow-token",
                  "customer_id": "C-MOCK0001"},
    "twilio": {"account_sid": "ACmock0001", "auth_token": "mock-twilio-token",
               "service_sid": "VAmock0001"},
    "vonage": {"api_key": "mockvonagekey", "api_secret": "mock-vonage-secret",
               "brand": "dlrd-test"},
    "sinch": {"application_key": "mock-sinch-key",
              "application_secret": "mock-sinch-secret"},
}

# Behaviours, by the recipient's last four digits.
ACCEPTED = "accepted"
INVALID = "invalid"
FRAUD = "fraud"
RATE_LIMITED = "rate_limited"
UNAVAILABLE = "unavailable"
SLOW = "slow"
RESET = "reset"
SPECIAL = {"0400": INVALID, "0403": FRAUD, "0429": RATE_LIMITED,
           "0503": UNAVAILABLE, "0504": SLOW, "0505": RESET}
# Outcomes that are not behaviours (recorded only).
UNAUTHORIZED = "unauthorized"
BAD_REQUEST = "bad_request"
DUPLICATE = "duplicate"  # sinch: a reference it already accepted

# Paths, matched at the END of the request path so a base_url may carry a
# prefix ("https://127.0.0.1:port/twilio").
ROUTES = (
    ("verifynow", re.compile(r"/verification/v3/send$")),
    ("twilio", re.compile(r"/v2/Services/([A-Za-z0-9]+)/Verifications$")),
    ("vonage", re.compile(r"/v2/verify$")),
    ("sinch", re.compile(r"/verification/v1/verifications$")),
)
AUTH_HEADERS = ("authorization", "authtoken")
MAX_BODY = 1 << 20


def behaviour_for(recipient):
    """The behaviour the recipient's last four digits select."""
    digits = "".join(c for c in recipient if c.isdigit())
    last4 = digits[-4:]
    if len(last4) == 4 and last4 in SPECIAL:
        return SPECIAL[last4]
    return ACCEPTED  # 0001-0099 and everything else


def _basic(user, password):
    token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    return "Basic " + token


def _now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


class Reply:
    """What the handler sends back (or does instead)."""

    def __init__(self, status, body=None, headers=None, reset=False,
                 delay=0.0):
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.reset = reset
        self.delay = delay
        self.new_id = None  # accepted: the id the reply carries


class _Parsed:
    """The parts of a send request the mock needs."""

    def __init__(self, recipient="", channel="", raw_channel="", extra=None,
                 error=None):
        self.recipient = recipient  # E.164 with "+", "" when missing
        self.channel = channel      # sms | whatsapp | voice | ""
        self.raw_channel = raw_channel
        self.extra = extra or {}
        self.error = error          # a Reply for a malformed request


# --- per-provider request parsing and reply bodies ------------------------

def _problem(status, code, title, detail, **more):
    body = {"type": "https://developer.vonage.com/en/api-errors/verify-v2#"
                    + code, "title": title, "detail": detail,
            "instance": str(uuid.uuid4())}
    body.update(more)
    return Reply(status, body, {"Content-Type": "application/problem+json"})


class _VerifyNow:
    name = "verifynow"

    @staticmethod
    def auth_ok(handler, creds, query):
        return handler.headers.get("authToken") == creds["auth_token"]

    @staticmethod
    def parse(handler, query, body):
        cc = query.get("countryCode", "")
        mobile = query.get("mobileNumber", "")
        flow = query.get("flowType", "")
        channel = {"SMS": "sms", "WHATSAPP": "whatsapp"}.get(flow, "")
        if not (cc.isdigit() and mobile.isdigit()) or not channel:
            return _Parsed(raw_channel=flow, error=Reply(
                400, {"responseCode": 400, "message": "BAD_REQUEST",
                      "data": None}))
        creds = handler.server.credentials["verifynow"]
        if query.get("customerId") != creds["customer_id"]:
            return _Parsed("+" + cc + mobile, channel, flow, error=Reply(
                400, {"responseCode": 501, "message": "INVALID_CUSTOMER_ID",
                      "data": None}))
        return _Parsed("+" + cc + mobile, channel, flow,
                       {"mobileNumber": mobile})

    @staticmethod
    def unauthorized():
        return Reply(401, {"responseCode": 401, "message": "UNAUTHORIZED",
                           "data": None})

    @staticmethod
    def accepted(server, parsed, new_id):
        return Reply(200, {"responseCode": 200, "message": "SUCCESS", "data": {
            "verificationId": new_id,
            "mobileNumber": parsed.extra["mobileNumber"],
            "responseCode": "200", "errorMessage": None, "timeout": "60",
            "smsCLI": None, "transactionId": None}})

    @staticmethod
    def failure(server, parsed, behaviour):
        if behaviour == INVALID:
            return Reply(400, {"responseCode": 511,
                               "message": "INVALID_COUNTRY_CODE",
                               "data": None})
        if behaviour == FRAUD:
            # Not documented by Message Central: dlrd's assumption.
            return Reply(403, {"responseCode": 403,
                               "message": "FRAUD_DETECTED", "data": None})
        if behaviour == RATE_LIMITED:
            return Reply(429, {"responseCode": 429,
                               "message": "TOO_MANY_REQUESTS", "data": None})
        return Reply(503, {"responseCode": 500, "message": "SERVER_ERROR",
                           "data": None})

    @staticmethod
    def new_id(server):
        return str(server.next_number())


class _Twilio:
    name = "twilio"

    @staticmethod
    def auth_ok(handler, creds, query):
        return handler.headers.get("Authorization") == _basic(
            creds["account_sid"], creds["auth_token"])

    @staticmethod
    def parse(handler, query, body):
        form = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"),
                                           keep_blank_values=True))
        to = form.get("To", "")
        raw = form.get("Channel", "")
        channel = {"sms": "sms", "whatsapp": "whatsapp", "call": "voice"}.get(
            raw, "")
        if not re.fullmatch(r"\+[1-9][0-9]{7,14}", to) or not channel:
            return _Parsed(to, channel, raw, error=Reply(400, {
                "code": 60200, "message": "Invalid parameter",
                "more_info": "https://www.twilio.com/docs/errors/60200",
                "status": 400}))
        return _Parsed(to, channel, raw,
                       {"service_sid": handler.route_match.group(1)})

    @staticmethod
    def unauthorized():
        return Reply(401, {"code": 20003, "message": "Authenticate",
                           "more_info":
                               "https://www.twilio.com/docs/errors/20003",
                           "status": 401})

    @staticmethod
    def accepted(server, parsed, new_id):
        now = _now_iso()
        service = parsed.extra["service_sid"]
        account = server.credentials["twilio"]["account_sid"]
        return Reply(201, {
            "sid": new_id, "service_sid": service, "account_sid": account,
            "to": parsed.recipient, "channel": parsed.raw_channel,
            "status": "pending", "valid": False, "lookup": {},
            "amount": None, "payee": None,
            "send_code_attempts": [{"attempt_sid": "VL" + uuid.uuid4().hex,
                                    "channel": parsed.raw_channel,
                                    "time": now}],
            "date_created": now, "date_updated": now, "sna": None,
            "url": "https://verify.twilio.com/v2/Services/%s/Verifications/%s"
                   % (service, new_id)})

    @staticmethod
    def failure(server, parsed, behaviour):
        def err(status, code, message):
            return Reply(status, {
                "code": code, "message": message, "status": status,
                "more_info": "https://www.twilio.com/docs/errors/%d" % code})
        if behaviour == INVALID:
            return err(400, 21211,
                       "Invalid 'To' Phone Number: " + parsed.recipient)
        if behaviour == FRAUD:
            return err(403, 60410, "Verification delivery attempt blocked")
        if behaviour == RATE_LIMITED:
            return err(429, 20429, "Too Many Requests")
        return err(503, 20503, "Service Unavailable")

    @staticmethod
    def new_id(server):
        return "VE" + uuid.uuid4().hex


class _Vonage:
    name = "vonage"

    @staticmethod
    def auth_ok(handler, creds, query):
        return handler.headers.get("Authorization") == _basic(
            creds["api_key"], creds["api_secret"])

    @staticmethod
    def parse(handler, query, body):
        def invalid(name, reason):
            return _problem(422, "invalid-params", "Invalid params",
                            "The value of one or more parameters is invalid.",
                            invalid_parameters=[{"name": name,
                                                 "reason": reason}])
        try:
            doc = json.loads(body.decode("utf-8"))
        except ValueError:
            return _Parsed(error=invalid("body", "not JSON"))
        if not isinstance(doc, dict) or not doc.get("brand"):
            return _Parsed(error=invalid("brand", "Brand is required"))
        flow = doc.get("workflow")
        if not isinstance(flow, list) or not flow or not isinstance(
                flow[0], dict):
            return _Parsed(error=invalid("workflow", "Workflow is required"))
        step = flow[0]
        raw = step.get("channel", "")
        channel = {"sms": "sms", "whatsapp": "whatsapp",
                   "voice": "voice"}.get(raw, "")
        to = str(step.get("to", ""))
        if not re.fullmatch(r"[1-9][0-9]{7,14}", to):
            return _Parsed("+" + to if to else "", channel, raw,
                           error=invalid("to", "Invalid phone number"))
        if not channel:
            return _Parsed("+" + to, "", raw,
                           error=invalid("channel", "Invalid channel"))
        if channel == "whatsapp" and not step.get("from"):
            return _Parsed("+" + to, channel, raw,
                           error=invalid("from", "From is required"))
        return _Parsed("+" + to, channel, raw)

    @staticmethod
    def unauthorized():
        return _problem(401, "unauthorized", "Unauthorized",
                        "You did not provide correct credentials.")

    @staticmethod
    def accepted(server, parsed, new_id):
        return Reply(202, {"request_id": new_id})

    @staticmethod
    def failure(server, parsed, behaviour):
        if behaviour == INVALID:
            return _problem(422, "invalid-params", "Invalid params",
                            "The value of one or more parameters is invalid.",
                            invalid_parameters=[
                                {"name": "to",
                                 "reason": "Invalid phone number"}])
        if behaviour == FRAUD:
            # Vonage documents network blocks in callbacks only: a
            # synchronous 403 is dlrd's assumption.
            return _problem(403, "fraud-check", "Forbidden",
                            "Fraud Check: the request was blocked.")
        if behaviour == RATE_LIMITED:
            return _problem(429, "throttled", "Rate Limit Hit",
                            "Please wait, then retry your request")
        return _problem(503, "internal-error", "Internal error",
                        "There was an error processing your request in "
                        "the Platform.")

    @staticmethod
    def new_id(server):
        return str(uuid.uuid4())


class _Sinch:
    name = "sinch"

    @staticmethod
    def auth_ok(handler, creds, query):
        return handler.headers.get("Authorization") == _basic(
            creds["application_key"], creds["application_secret"])

    @staticmethod
    def parse(handler, query, body):
        def invalid(message):
            return Reply(400, {"errorCode": 40001, "message": message,
                               "reference": str(uuid.uuid4())})
        try:
            doc = json.loads(body.decode("utf-8"))
        except ValueError:
            return _Parsed(error=invalid("Malformed JSON."))
        if not isinstance(doc, dict):
            return _Parsed(error=invalid("Malformed JSON."))
        identity = doc.get("identity")
        if not isinstance(identity, dict) or identity.get("type") != "number":
            return _Parsed(error=invalid("Identity type must be number."))
        endpoint = str(identity.get("endpoint", ""))
        raw = doc.get("method", "")
        channel = {"sms": "sms", "whatsapp": "whatsapp",
                   "callout": "voice"}.get(raw, "")
        if not re.fullmatch(r"\+[1-9][0-9]{7,14}", endpoint):
            return _Parsed(endpoint, channel, raw,
                           error=invalid("Number %s is invalid." % endpoint))
        if not channel:
            return _Parsed(endpoint, "", raw,
                           error=invalid("Method must be one of sms, "
                                         "whatsapp, callout."))
        reference = doc.get("reference")
        return _Parsed(endpoint, channel, raw,
                       {"reference": reference if isinstance(reference, str)
                        and reference else None})

    @staticmethod
    def unauthorized():
        return Reply(401, {"errorCode": 40100,
                           "message": "Invalid authorization header.",
                           "reference": str(uuid.uuid4())})

    @staticmethod
    def accepted(server, parsed, new_id):
        return Reply(200, {
            "id": new_id, "method": parsed.raw_channel,
            "_links": [{"rel": "status", "method": "GET",
                        "href": "https://verification.api.sinch.com/"
                                "verification/v1/verifications/id/" + new_id}]})

    @staticmethod
    def failure(server, parsed, behaviour):
        def err(status, code, message):
            return Reply(status, {"errorCode": code, "message": message,
                                  "reference": str(uuid.uuid4())})
        if behaviour == INVALID:
            return err(400, 40001, "Number %s is invalid." % parsed.recipient)
        if behaviour == FRAUD:
            return err(403, 40300, "Identity is blacklisted.")
        if behaviour == RATE_LIMITED:
            return err(429, 42900, "Request capacity exceeded.")
        return err(503, 50300, "Service is temporarily unavailable, please "
                               "try again later.")

    @staticmethod
    def new_id(server):
        return uuid.uuid4().hex


HANDLERS = {h.name: h for h in (_VerifyNow, _Twilio, _Vonage, _Sinch)}


# --- the server -------------------------------------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as dlrd's client expects
    server_version = "dlrd-mock-provider/1"
    route_match = None

    def setup(self):
        # The TLS handshake runs here, on the connection's own thread, so a
        # client that stalls or refuses the certificate blocks nobody else.
        self.request.settimeout(10)
        self.request.do_handshake()
        self.request.settimeout(self.server.idle_timeout_s)
        with self.server.lock:
            self.server.connections.add(self.request)
        super().setup()

    def finish(self):
        try:
            super().finish()
        finally:
            with self.server.lock:
                self.server.connections.discard(self.request)

    def log_message(self, fmt, *args):  # quiet: tests read requests()
        if self.server.verbose:
            sys.stderr.write("mock_provider: " + (fmt % args) + "\n")

    # -- plumbing --

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, reply):
        payload = b"" if reply.body is None else json.dumps(
            reply.body).encode()
        self.send_response(reply.status)
        headers = {"Content-Type": "application/json"}
        headers.update(reply.headers)
        for k, v in headers.items():
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()

    def _reset(self):
        """Closes the TCP connection with an RST and no TLS close_notify."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            # The descriptor closes (and the RST goes out) only once the
            # buffered reader on it is closed too. (wfile holds no
            # reference, and http.server still flushes it.)
            self.rfile.close()
            self.connection.close()
        except OSError:
            pass

    # -- routes --

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        if path.endswith("/_requests"):
            self._read_body()
            self._send(Reply(200, self.server.owner.requests()))
            return
        self._read_body()
        self._send(Reply(404, {"message": "not found"}))

    def do_DELETE(self):
        path = urllib.parse.urlsplit(self.path).path
        self._read_body()
        if path.endswith("/_requests"):
            self.server.owner.clear()
            self._send(Reply(204))
            return
        self._send(Reply(404, {"message": "not found"}))

    def do_POST(self):
        split = urllib.parse.urlsplit(self.path)
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            self._send(Reply(413, {"message": "body too large"}))
            return
        provider = None
        for name, pattern in ROUTES:
            self.route_match = pattern.search(split.path)
            if self.route_match:
                provider = name
                break
        if provider is None:
            self._send(Reply(404, {"message": "not found"}))
            return
        impl = HANDLERS[provider]
        query = dict(urllib.parse.parse_qsl(split.query,
                                            keep_blank_values=True))
        creds = self.server.credentials[provider]
        parsed = None
        if not impl.auth_ok(self, creds, query):
            outcome, reply = UNAUTHORIZED, impl.unauthorized()
        else:
            parsed = impl.parse(self, query, body)
            outcome, reply = self._decide(impl, parsed)
        record = {
            "time": time.time(),
            "method": self.command,
            "path": split.path,
            "query": query,
            "provider": provider,
            "channel": parsed.channel if parsed else "",
            "recipient": parsed.recipient if parsed else "",
            "headers": {k: v for k, v in self.headers.items()
                        if k.lower() not in AUTH_HEADERS},
            "body": body.decode("utf-8", "replace"),
            "outcome": outcome,
            "provider_id": reply.new_id,
            "reference": parsed.extra.get("reference") if parsed else None,
        }
        self.server.owner._record(record)
        if reply.delay:
            self.server.stopping.wait(reply.delay)
        if reply.reset:
            self._reset()
            return
        try:
            self._send(reply)
        except OSError:
            self.close_connection = True  # the client gave up (timeout test)
            return
        self.server.owner._replied(record)

    def _decide(self, impl, parsed):
        if parsed.error is not None:
            return BAD_REQUEST, parsed.error
        server = self.server
        behaviour = behaviour_for(parsed.recipient)
        reference = parsed.extra.get("reference")
        if behaviour in (ACCEPTED, SLOW, RESET):
            with server.lock:
                if reference is not None and reference in server.sinch_refs:
                    reply = Reply(409, {"errorCode": 40900,
                                        "message": "Reference already defined.",
                                        "reference": str(uuid.uuid4())})
                    return DUPLICATE, reply
                if reference is not None:
                    server.sinch_refs.add(reference)
            new_id = impl.new_id(server)
            reply = impl.accepted(server, parsed, new_id)
            reply.new_id = new_id
            if behaviour == SLOW:
                reply.delay = server.slow_delay_s
            elif server.accept_delay_s:
                reply.delay = server.accept_delay_s
            if behaviour == RESET:
                reply.reset = True
            return behaviour, reply
        reply = impl.failure(server, parsed, behaviour)
        if behaviour == RATE_LIMITED:
            reply.headers["Retry-After"] = str(server.retry_after)
        return behaviour, reply


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # Refused handshakes, resets and timeouts are the point of some
        # tests; anything else is a mock bug and is printed.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ssl.SSLError, ConnectionError, TimeoutError,
                            socket.timeout, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


class MockProvider:
    """The mock as an object: start() it, point dlrd at base_url, stop().

    Thread-safe: requests() may be called while the server runs.
    """

    def __init__(self, cert, key, host="127.0.0.1", port=0, credentials=None,
                 retry_after=2, slow_delay_s=5.0, idle_timeout_s=60.0,
                 verbose=False, accept_delay_s=0.0):
        self.cert = cert
        self.key = key
        self.host = host
        self.requested_port = port
        self.credentials = copy.deepcopy(DEFAULT_CREDENTIALS)
        for name, values in (credentials or {}).items():
            if name not in self.credentials:
                raise ValueError("unknown provider %r" % name)
            self.credentials[name].update(values)
        self.retry_after = retry_after
        self.slow_delay_s = slow_delay_s
        self.accept_delay_s = accept_delay_s
        self.idle_timeout_s = idle_timeout_s
        self.verbose = verbose
        self._lock = threading.Lock()
        self._records = []
        self._changed = threading.Condition(self._lock)
        self._server = None
        self._thread = None
        self.port = None

    # -- lifecycle --

    def start(self):
        """Binds, starts serving on a thread and returns the port."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.cert, self.key)
        server = _Server((self.host, self.requested_port), _Handler)
        server.socket = ctx.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
        server.owner = self
        server.credentials = self.credentials
        server.retry_after = self.retry_after
        server.slow_delay_s = self.slow_delay_s
        server.accept_delay_s = self.accept_delay_s
        server.idle_timeout_s = self.idle_timeout_s
        server.verbose = self.verbose
        server.lock = threading.Lock()
        server.sinch_refs = set()
        server.connections = set()
        server.stopping = threading.Event()
        counter = itertools.count(1000001)

        def next_number():
            with server.lock:
                return next(counter)
        server.next_number = next_number
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name="mock-provider", daemon=True)
        self._thread.start()
        return self.port

    def stop(self):
        if self._server is None:
            return
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        # Kept-alive connections would outlive the server: end them too.
        with self._server.lock:
            open_now = list(self._server.connections)
        for conn in open_now:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(timeout=10)
        self._server = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    @property
    def base_url(self):
        return "https://%s:%d" % (self.host, self.port)

    # -- the request log --

    def _record(self, record):
        with self._changed:
            record["seq"] = len(self._records) + 1
            self._records.append(record)
            self._changed.notify_all()

    def _replied(self, record):
        with self._changed:
            record["replied"] = time.time()
            self._changed.notify_all()

    def requests(self, provider=None, outcome=None, recipient=None,
                 channel=None):
        """Copies of the recorded requests, oldest first, filtered."""
        with self._lock:
            out = [copy.deepcopy(r) for r in self._records]
        for key, want in (("provider", provider), ("outcome", outcome),
                          ("recipient", recipient), ("channel", channel)):
            if want is not None:
                out = [r for r in out if r[key] == want]
        return out

    def clear(self):
        with self._lock:
            self._records.clear()
        if self._server is not None:
            with self._server.lock:
                self._server.sinch_refs.clear()

    def wait_for_requests(self, count, timeout=10.0, **filters):
        """Waits until at least `count` requests match `filters` (as for
        requests()); returns them, or raises TimeoutError."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.requests(**filters)
            if len(found) >= count:
                return found
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("%d of %d requests matching %r" %
                                   (len(found), count, filters))
            with self._changed:
                self._changed.wait(min(left, 0.1))


# --- test certificates ------------------------------------------------------

TestCA = collections.namedtuple(
    "TestCA", ["ca_cert", "ca_key", "server_cert", "server_key"])


def make_test_ca(directory, hosts=("127.0.0.1", "localhost"), openssl=None):
    """Creates a throwaway CA and a server certificate for `hosts` in
    `directory` with the openssl CLI; returns their paths (TestCA)."""
    tool = openssl or os.environ.get("OPENSSL") or shutil.which("openssl")
    if not tool:
        raise RuntimeError("openssl not found (set $OPENSSL)")
    os.makedirs(directory, exist_ok=True)
    sans = ",".join(("IP:" if re.fullmatch(r"[0-9.]+|.*:.*", h) else "DNS:")
                    + h for h in hosts)
    with open(os.path.join(directory, "server.ext"), "w") as f:
        f.write("subjectAltName=%s\nbasicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\nsubjectKeyIdentifier=hash\n"
                "authorityKeyIdentifier=keyid,issuer\n" % sans)
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    steps = (
        ["req", "-x509"] + key + ["-keyout", "ca.key", "-out", "ca.pem",
                                  "-days", "2", "-subj", "/CN=dlrd mock CA",
                                  "-addext",
                                  "basicConstraints=critical,CA:TRUE",
                                  "-addext",
                                  "keyUsage=critical,keyCertSign,cRLSign"],
        ["req"] + key + ["-keyout", "server.key", "-out", "server.csr",
                         "-subj", "/CN=" + hosts[0]],
        ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey",
         "ca.key", "-CAcreateserial", "-days", "2", "-extfile", "server.ext",
         "-out", "server.pem"],
    )
    for cmd in steps:
        p = subprocess.run([tool] + cmd, cwd=directory, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        if p.returncode != 0:
            raise RuntimeError("openssl %s failed:\n%s" %
                               (" ".join(cmd), p.stdout.decode(errors="replace")))
    return TestCA(*(os.path.join(directory, n) for n in
                    ("ca.pem", "ca.key", "server.pem", "server.key")))


# --- command line -----------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cert", help="server certificate (PEM)")
    ap.add_argument("--key", help="server private key (PEM)")
    ap.add_argument("--make-ca", metavar="DIR",
                    help="create a test CA and server certificate in DIR "
                         "and use them (instead of --cert/--key)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0: any free port")
    ap.add_argument("--retry-after", default="2",
                    help="Retry-After value of the 0429 replies")
    ap.add_argument("--slow-delay", type=float, default=5.0,
                    help="seconds the 0504 numbers wait before answering")
    ap.add_argument("--credentials", metavar="FILE",
                    help="JSON {provider: {key: value}} overriding the "
                         "defaults")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    if args.make_ca:
        ca = make_test_ca(args.make_ca)
        cert, key = ca.server_cert, ca.server_key
        sys.stderr.write("mock_provider: CA %s\n" % ca.ca_cert)
    elif args.cert and args.key:
        cert, key = args.cert, args.key
    else:
        ap.error("--cert and --key (or --make-ca DIR) are required")
    credentials = None
    if args.credentials:
        with open(args.credentials) as f:
            credentials = json.load(f)
    mock = MockProvider(cert, key, host=args.host, port=args.port,
                        credentials=credentials, retry_after=args.retry_after,
                        slow_delay_s=args.slow_delay, verbose=args.verbose)
    port = mock.start()
    print(port, flush=True)
    sys.stderr.write("mock_provider: serving %s\n" % mock.base_url)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    while not done.wait(1.0):
        pass
    mock.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
