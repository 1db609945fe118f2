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
// Timeouts: one timer per session holds the deadline of the current phase
// (idle, header, body, write); when it passes, the socket is closed and the
// phase is counted in dlrd_http_timeouts_total.
//
// Memory: an idle keep-alive connection holds no read buffer, parser or
// response; it waits for the socket to become readable without a pending
// read, and allocates them when the next request arrives (bench/idle.sh
// measures what it does hold).
//
// Threading: each session runs on its own strand; the handler's response
// may arrive on any thread and is posted back onto the strand.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>

#include "dlrd/core/config/config.h"
#include "dlrd/app/log/logger.h"
#include "dlrd/app/metrics/metrics.h"
#include "dlrd/http/http_types.h"

namespace dlrd {

class HttpSession;

// Each connection runs on its own strand; its socket has the strand's
// concrete type (a socket accepted with this executor has it).
using HttpExecutor = boost::asio::strand<boost::asio::io_context::executor_type>;
using HttpSocket =
    boost::asio::basic_stream_socket<boost::asio::ip::tcp, HttpExecutor>;

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
void StartHttpSession(HttpSocket socket,
                      std::shared_ptr<ListenerShared> shared);

// Asks every session of `shared` to finish its current request and close;
// idle ones close at once. Thread-safe.
void DrainHttpSessions(ListenerShared& shared);

}  // namespace dlrd
