// HttpsClient: the production OutboundClient. HTTP/1.1 over TLS with Beast
// and OpenSSL (boost::asio::ssl), on one I/O thread of its own.
//
// Per call:
//   1. parse HttpCall::url (https only, no userinfo); resolve the host,
//      connect over TCP and do the TLS handshake, all within
//      CallOptions::connect_timeout_ms, unless an idle pooled connection
//      to the same (host, port, ca_file) can be reused;
//   2. write the request and read the whole reply within
//      CallOptions::request_timeout_ms.
//
// TLS: TLS 1.2 minimum; the peer certificate is verified against the system
// CA store plus CallOptions::ca_file when set, and against the URL's host
// (DNS name, or IP address for an IP literal); SNI is sent for names. One
// SSL context per distinct ca_file, built on first use and kept until the
// client is destroyed (a changed ca_file is not re-read).
//
// Failures are values (ClientResult), never logged here. `detail` holds the
// OpenSSL or system reason (e.g. "certificate verify failed (SSL routines):
// self-signed certificate") and never a header value or the URL.
// Mapping:
//   bad URL / non-https / CR-LF in a header   -> kProtocol, nothing sent
//   DNS failure or resolve timeout            -> kResolve
//   TCP refused/unreachable, connect timeout,
//     TLS handshake timeout                    -> kConnect
//   handshake or certificate failure,
//     unreadable ca_file                       -> kTls
//   request timeout once the write started    -> kTimeout, written
//   EOF/reset/write error after writing       -> kReset, written
//   unparsable reply, reply over the limits   -> kProtocol, written
// `request_written` is false only when nothing of the request can have
// reached the server (failure before the write, or a write that failed
// with zero bytes taken).
//
// Keep-alive pool: a connection whose reply allowed keep-alive goes back to
// an idle pool keyed by (host, port, ca_file), at most
// Options::max_idle_per_host per key (the oldest is closed beyond that),
// and for at most Options::idle_timeout_ms. Before reuse, a pooled
// connection is checked for readability (a FIN, a TLS alert or stray
// bytes all mean it is dead) and dropped if so.
//
// Stale-connection retry: a REUSED connection that fails before any byte
// of the reply arrived (write error, EOF, reset, TLS truncation) is retried
// once on a fresh connection when that cannot duplicate a request the
// server acted on, i.e. when the write failed with zero bytes taken, or the
// request is replayable: an idempotent method (GET, HEAD, OPTIONS, TRACE,
// PUT, DELETE) or one carrying an Idempotency-Key / X-Idempotency-Key
// header. A non-idempotent POST without a key is NOT retried: it fails
// with kReset, request_written = true, and the caller's outbox decides.
// This is Go net/http's rule, stricter than curl's (which re-sends any
// request on a dead reused connection); the readability check above keeps
// the remaining window to a server closing the connection in the same
// instant as our write. Fresh connections are never retried.
//
// Headers: the client sets Host, Content-Length and keep-alive itself;
// caller values for Host, Content-Length, Transfer-Encoding and Connection
// are ignored. User-Agent defaults to "dlrd".
//
// Threading: Send() is thread-safe and never blocks; `done` runs exactly
// once, on the client's thread, and must not throw or call Stop(). Start()
// and Stop() are called from one owning thread (the composition root).
//
// Lifetime: Stop() (also run by the destructor) completes every pending
// call with an error (kConnect if nothing was sent yet, else kReset;
// detail "client stopped"), closes pooled connections and joins the
// thread. It can wait for an in-progress getaddrinfo() to return. A Send()
// before Start() or after Stop() runs `done` inline on the caller's thread
// with kConnect, detail "client not running".
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>

#include "dlrd/core/ports/outbound_client.h"

namespace dlrd {

class HttpsClient : public OutboundClient {
 public:
  struct Options {
    // Largest reply body accepted; beyond it the call fails with kProtocol.
    // Provider replies are small JSON documents; 1 MiB bounds memory per
    // call with ample room.
    size_t max_reply_body_bytes = 1024 * 1024;
    // Largest reply header block (status line + fields).
    uint32_t max_reply_header_bytes = 16 * 1024;
    // Idle keep-alive connections kept per (host, port, ca_file).
    size_t max_idle_per_host = 32;  // the dispatcher keeps 32 in flight
    // An idle connection older than this is closed instead of reused. Kept
    // below common server keep-alive timeouts (nginx 75 s, ALB 60 s) so we
    // rarely race a server-side close.
    int64_t idle_timeout_ms = 30000;
    // Called on the client's thread when a handler throws; the thread then
    // goes on serving other calls. May be empty.
    std::function<void(std::exception_ptr)> on_internal_error;
  };

  explicit HttpsClient(Options options);
  HttpsClient() : HttpsClient(Options{}) {}
  ~HttpsClient() override;  // Stop()

  HttpsClient(const HttpsClient&) = delete;
  HttpsClient& operator=(const HttpsClient&) = delete;

  // Starts the I/O thread. REQUIRES: called at most once.
  void Start();
  // Completes pending calls (see above) and joins the I/O thread.
  // Idempotent. REQUIRES: not called from a `done` callback.
  void Stop();

  void Send(HttpCall call, CallOptions options, Done done) override;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dlrd
