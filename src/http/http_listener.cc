#include "dlrd/http/http_listener.h"

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

namespace dlrd {

namespace net = boost::asio;
using tcp = net::ip::tcp;

HttpListener::HttpListener(net::io_context& ioc,
                           std::shared_ptr<ListenerShared> shared)
    : ioc_(ioc),
      acceptor_(net::make_strand(ioc)),
      retry_(acceptor_.get_executor()),
      shared_(std::move(shared)) {}

Result<std::shared_ptr<HttpListener>> HttpListener::Listen(
    net::io_context& ioc, const Endpoint& endpoint, Options options,
    HttpHandler& handler, Metrics* metrics, Logger& log) {
  using R = Result<std::shared_ptr<HttpListener>>;
  auto shared = std::make_shared<ListenerShared>();
  shared->name = options.name;
  shared->default_handler = options.default_handler;
  shared->limits = options.limits;
  shared->handler = &handler;
  shared->metrics = metrics;
  shared->log = &log;

  std::shared_ptr<HttpListener> l(new HttpListener(ioc, shared));
  boost::system::error_code ec;
  auto addr = net::ip::make_address(endpoint.host, ec);
  if (ec) return R::Error("invalid address \"" + endpoint.host + "\"");
  tcp::endpoint ep(addr, endpoint.port);
  const std::string where = endpoint.host + ":" + std::to_string(endpoint.port);
  l->acceptor_.open(ep.protocol(), ec);
  if (!ec) l->acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) l->acceptor_.bind(ep, ec);
  if (!ec) l->acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return R::Error("cannot listen on " + where + ": " + ec.message());
  l->port_ = l->acceptor_.local_endpoint(ec).port();
  return l;
}

void HttpListener::Start() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] { self->Accept(); });
}

void HttpListener::Accept() {
  acceptor_.async_accept(
      net::make_strand(ioc_),
      [self = shared_from_this()](boost::system::error_code ec,
                                  HttpSocket socket) {
        if (ec == net::error::operation_aborted || !self->acceptor_.is_open()) {
          return;
        }
        if (!ec) {
          if (self->shared_->open.load() >= self->shared_->limits.max_connections) {
            if (self->shared_->metrics) {
              self->shared_->metrics->connections_rejected(self->shared_->name)
                  .Increment();
            }
            boost::system::error_code ignored;
            socket.close(ignored);
          } else {
            boost::system::error_code ignored;
            socket.set_option(tcp::no_delay(true), ignored);
            StartHttpSession(std::move(socket), self->shared_);
          }
        }
        // Transient accept errors (EMFILE, ENFILE, ECONNABORTED) must not
        // stop the listener, nor spin it: retry after a short pause.
        if (ec) {
          self->retry_.expires_after(std::chrono::milliseconds(50));
          self->retry_.async_wait(
              [self](boost::system::error_code) { self->Accept(); });
          return;
        }
        self->Accept();
      });
}

void HttpListener::Shutdown() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ec;
    self->acceptor_.close(ec);
    DrainHttpSessions(*self->shared_);
  });
}

}  // namespace dlrd
