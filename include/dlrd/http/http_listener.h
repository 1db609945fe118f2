// HttpListener: accepts TCP connections and starts an HttpSession for each.
//
// It enforces max_connections at accept (connections beyond it are closed
// at once and counted), and on Shutdown() stops accepting and drains the
// open sessions: in-flight requests finish and are answered, idle keep-alive
// connections close. Listen() reports bind failures as errors instead of
// leaving a listener that never accepts (the caveat in docs/design.md §6.2).
#pragma once

#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "dlrd/http/http_session.h"

namespace dlrd {

class HttpListener : public std::enable_shared_from_this<HttpListener> {
 public:
  struct Options {
    std::string name;             // "public" | "admin"
    std::string default_handler;  // metric label for framing errors
    ListenerLimits limits;
  };

  static Result<std::shared_ptr<HttpListener>> Listen(
      boost::asio::io_context& ioc, const Endpoint& endpoint, Options options,
      HttpHandler& handler, Metrics* metrics, Logger& log);

  void Start();
  // Stop accepting and drain sessions. Thread-safe.
  void Shutdown();
  size_t open_connections() const { return shared_->open.load(); }
  uint16_t port() const { return port_; }

 private:
  HttpListener(boost::asio::io_context& ioc,
               std::shared_ptr<ListenerShared> shared);
  void Accept();

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_;  // pause after a failed accept
  std::shared_ptr<ListenerShared> shared_;
  uint16_t port_ = 0;
};

}  // namespace dlrd
