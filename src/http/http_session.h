// HttpSession: one HTTP/1.1 connection (Beast), reading requests under the
// listener's limits and handing each complete request to an HttpHandler.
//
// Per request:
//   1. read raw bytes until the header block is complete, under the idle
//      timeout for the first byte and the header timeout after it;
//      ScanHeaderBlock() rejects bare LF, obs-fold, whitespace before colon
//      (400) and oversize headers (431) before Beast parses anything;
//   2. parse the header with Beast, then CheckFields() (CL/TE ambiguity,
//      Host, 411, 413);
//   3. read the body under the body timeout and the body limit (413);
//   4. call the handler; no timer runs while it works (the store commit
//      decides how long that takes), then write under the write timeout.
// Any framing error answers with Connection: close and closes, so nothing
// after a bad request on the same connection is ever processed.
//
// Threading: each session runs on its own strand; the handler's response
// may arrive on any thread and is posted back onto the strand.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include <boost/asio/ip/tcp.hpp>

#include "dlrd/config/config.h"
#include "dlrd/log/logger.h"
#include "dlrd/metrics/metrics.h"
#include "http/http_types.h"

namespace dlrd {

class HttpSession;

// State shared by a listener and its sessions; outlives both.
struct ListenerShared {
  std::string name;             // "public" | "admin" (metric label)
  std::string default_handler;  // metric label for framing errors
  ListenerLimits limits;
  HttpHandler* handler = nullptr;
  Metrics* metrics = nullptr;  // may be null
  Logger* log = nullptr;

  std::atomic<size_t> open{0};
  std::mutex mu;
  bool draining = false;
  std::unordered_map<HttpSession*, std::weak_ptr<HttpSession>> sessions;
};

// Starts serving `socket`; the session keeps itself alive.
void StartHttpSession(boost::asio::ip::tcp::socket socket,
                      std::shared_ptr<ListenerShared> shared);

// Asks every session of `shared` to finish its current request and close;
// idle ones close at once. Thread-safe.
void DrainHttpSessions(ListenerShared& shared);

}  // namespace dlrd
