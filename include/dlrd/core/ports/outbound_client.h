// OutboundClient: the port through which the dispatcher sends HTTPS
// requests. The real implementation (src/https/https_client.*) uses
// Beast + OpenSSL on its own I/O thread; tests use a fake.
//
// Contract:
// - Send() never blocks; `done` runs exactly once, on the client's thread.
// - TLS always verifies the peer certificate against the system CA store
//   (plus ProviderConfig::ca_file when set) and the host name, with SNI.
// - `request_written` tells an ambiguous failure (the provider may have
//   acted) from one that proves nothing was sent (resolve/connect/TLS).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "dlrd/core/outbound/send_adapter.h"

namespace dlrd {

enum class TransportError {
  kNone,
  kResolve,   // DNS failure: nothing sent
  kConnect,   // refused / unreachable / connect timeout: nothing sent
  kTls,       // handshake or certificate failure: nothing sent
  kTimeout,   // no complete reply within the request timeout
  kReset,     // connection closed/reset after the request was written
  kProtocol,  // malformed HTTP reply, or one over the size limits;
              // also an invalid call (bad/non-https URL, CR/LF in a
              // header), then with request_written == false
};

struct ClientResult {
  TransportError error = TransportError::kNone;
  bool request_written = false;
  HttpReply reply;     // valid iff error == kNone
  std::string detail;  // e.g. "certificate verify failed"
};

struct CallOptions {
  std::string ca_file;  // extra trust anchors; empty: system store only
  int64_t connect_timeout_ms = 3000;
  int64_t request_timeout_ms = 10000;
};

class OutboundClient {
 public:
  using Done = std::function<void(ClientResult)>;
  virtual ~OutboundClient() = default;
  virtual void Send(HttpCall call, CallOptions options, Done done) = 0;
};

}  // namespace dlrd
