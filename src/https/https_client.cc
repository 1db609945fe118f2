#include "dlrd/https/https_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

namespace dlrd {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
namespace urls = boost::urls;
using tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

// Where a call goes, from HttpCall::url.
struct Target {
  std::string host;  // DNS name or IP literal (no brackets)
  bool is_ip = false;
  uint16_t port = 443;
  std::string host_field;  // Host header value
  std::string target;      // origin-form: /path[?query]
};

Result<Target> ParseUrl(std::string_view url) {
  auto parsed = urls::parse_uri(url);
  if (!parsed) return Result<Target>::Error("invalid url");
  const urls::url_view& u = *parsed;
  if (u.scheme_id() != urls::scheme::https) {
    return Result<Target>::Error("url scheme is not https");
  }
  // Credentials in a URL would end up in logs and Host handling; refuse.
  if (u.has_userinfo()) return Result<Target>::Error("url carries userinfo");
  Target t;
  switch (u.host_type()) {
    case urls::host_type::name:
      t.host = std::string(u.encoded_host());
      if (t.host.find('%') != std::string::npos) {
        return Result<Target>::Error("invalid url host");
      }
      break;
    case urls::host_type::ipv4:
      t.host = u.host_ipv4_address().to_string();
      t.is_ip = true;
      break;
    case urls::host_type::ipv6:
      t.host = u.host_ipv6_address().to_string();
      t.is_ip = true;
      break;
    default:
      return Result<Target>::Error("invalid url host");
  }
  if (t.host.empty()) return Result<Target>::Error("invalid url host");
  if (u.has_port() && !u.port().empty()) {
    t.port = u.port_number();  // 0 when out of range
    if (t.port == 0) return Result<Target>::Error("invalid url port");
  }
  t.host_field =
      u.host_type() == urls::host_type::ipv6 ? "[" + t.host + "]" : t.host;
  if (t.port != 443) t.host_field += ":" + std::to_string(t.port);
  t.target = std::string(u.encoded_target());
  if (t.target.empty() || t.target.front() != '/') t.target.insert(0, "/");
  return t;
}

bool IsToken(std::string_view s) {
  static constexpr std::string_view kSeparators = "()<>@,;:\\\"/[]?={}";
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f ||
        kSeparators.find(static_cast<char>(c)) != std::string_view::npos) {
      return false;
    }
  }
  return true;
}

bool IsFieldValue(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) ==
         std::string_view::npos;
}

// May this request be sent twice without risk of acting twice? (Go
// net/http's isReplayable.)
bool IsReplayable(const HttpCall& call) {
  static constexpr std::string_view kIdempotent[] = {"GET",   "HEAD", "OPTIONS",
                                                     "TRACE", "PUT",  "DELETE"};
  for (std::string_view m : kIdempotent) {
    if (call.method == m) return true;
  }
  for (const auto& [name, value] : call.headers) {
    if (beast::iequals(name, "idempotency-key") ||
        beast::iequals(name, "x-idempotency-key")) {
      return true;
    }
  }
  return false;
}

// The peer went away: a stale keep-alive connection looks like this.
bool IsConnectionLoss(const beast::error_code& ec) {
  return ec == net::error::eof || ec == http::error::end_of_stream ||
         ec == http::error::partial_message ||
         ec == net::error::connection_reset ||
         ec == net::error::connection_aborted ||
         ec == net::error::broken_pipe || ec == ssl::error::stream_truncated;
}

bool IsHttpError(const beast::error_code& ec) {
  return ec.category() ==
         http::make_error_code(http::error::bad_version).category();
}

Result<std::shared_ptr<ssl::context>> MakeTlsContext(
    const std::string& ca_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  ctx->set_options(ssl::context::default_workarounds |
                   ssl::context::no_compression | SSL_OP_NO_RENEGOTIATION);
  ctx->set_verify_mode(ssl::verify_peer);
  beast::error_code ec;
  ctx->set_default_verify_paths(ec);
  if (ec)
    return Result<std::shared_ptr<ssl::context>>::Error("system CA store: " +
                                                        ec.message());
  if (!ca_file.empty()) {
    ctx->load_verify_file(ca_file, ec);
    if (ec) {
      return Result<std::shared_ptr<ssl::context>>::Error("ca_file: " +
                                                          ec.message());
    }
  }
  return ctx;
}

// One TLS connection; pooled between calls when idle.
struct Connection {
  Connection(net::io_context& ioc, ssl::context& ctx) : stream(ioc, ctx) {}

  // No close_notify: the reply was framed (or the call failed), so nothing
  // depends on a clean TLS shutdown, and waiting for the peer's would only
  // add a round trip.
  void Close() { beast::get_lowest_layer(stream).close(); }

  // An idle connection must have nothing to read: a FIN, a TLS alert or
  // unsolicited bytes all mean it cannot carry another request.
  bool LooksReusable() {
    if (buffer.size() != 0 || SSL_pending(stream.native_handle()) > 0) {
      return false;
    }
    pollfd p{};
    p.fd = beast::get_lowest_layer(stream).socket().native_handle();
    p.events = POLLIN;
    return ::poll(&p, 1, 0) == 0;
  }

  ssl::stream<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  SteadyClock::time_point idle_since;
};

class Engine;

class Call : public std::enable_shared_from_this<Call> {
 public:
  Call(Engine& engine, HttpCall call, CallOptions options,
       OutboundClient::Done done);

  void Run();
  // Stop(): complete now with "client stopped".
  void Abort();

 private:
  enum class Phase { kResolve, kConnect, kHandshake, kWrite, kRead };

  Status BuildRequest();
  void Connect();
  void OnResolve(beast::error_code ec, tcp::resolver::results_type results);
  void OnConnect(beast::error_code ec, tcp::endpoint);
  void OnHandshake(beast::error_code ec);
  void Write();
  void OnWrite(beast::error_code ec, std::size_t bytes);
  void Read();
  void OnRead(beast::error_code ec, std::size_t);
  bool MayRetry(bool nothing_written) const;
  void Retry();
  void ArmTimer(int64_t ms);
  void OnDeadline();
  void Fail(TransportError error, std::string detail);
  void Finish(ClientResult result);

  Engine& engine_;
  HttpCall call_;
  CallOptions options_;
  OutboundClient::Done done_;
  const bool replayable_;

  Target target_;
  std::string pool_key_;
  http::request<http::string_body> req_;
  std::optional<http::response_parser<http::string_body>> parser_;
  tcp::resolver resolver_;
  net::steady_timer timer_;
  uint64_t timer_generation_ = 0;
  std::unique_ptr<Connection> conn_;
  std::unique_ptr<Connection> retired_;  // the stale one, after a retry
  Phase phase_ = Phase::kResolve;
  bool reused_ = false;
  bool retried_ = false;
  bool request_written_ = false;
  bool reply_started_ = false;
  bool finished_ = false;
};

// The client's state. Everything below "I/O thread only" is touched by the
// I/O thread alone, so it needs no lock.
class Engine {
 public:
  explicit Engine(HttpsClient::Options options)
      : options_(std::move(options)), ioc_(1) {}
  ~Engine() { Stop(); }

  void Start() {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_ != State::kIdle) return;
    work_.emplace(ioc_.get_executor());
    thread_ = std::thread([this] {
      // The thread's barrier: a handler that throws is reported and the
      // loop goes on, so other sends still complete.
      for (;;) {
        try {
          ioc_.run();
          return;
        } catch (...) {
          if (options_.on_internal_error) {
            options_.on_internal_error(std::current_exception());
          }
        }
      }
    });
    state_ = State::kRunning;
  }

  void Stop() {
    std::thread thread;
    {
      std::lock_guard<std::mutex> lock(mu_);
      const State was = state_;
      state_ = State::kStopped;
      if (was != State::kRunning) return;
      // Queued behind every call already posted by Send(), so each of them
      // is registered before Shutdown() aborts them.
      net::post(ioc_, [this] { Shutdown(); });
      work_.reset();
      thread = std::move(thread_);
    }
    thread.join();
  }

  void Send(HttpCall call, CallOptions options, OutboundClient::Done done) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (state_ == State::kRunning) {
        net::post(ioc_,
                  [this, call = std::move(call), options = std::move(options),
                   done = std::move(done)]() mutable {
                    Begin(std::move(call), std::move(options), std::move(done));
                  });
        return;
      }
    }
    ClientResult result;
    result.error = TransportError::kConnect;
    result.detail = "client not running";
    done(std::move(result));
  }

  // I/O thread only, from here on.
  const HttpsClient::Options& options() const { return options_; }
  net::io_context& ioc() { return ioc_; }
  bool stopping() const { return stopping_; }

  Result<std::shared_ptr<ssl::context>> TlsContext(const std::string& ca) {
    auto it = contexts_.find(ca);
    if (it != contexts_.end()) return it->second;
    auto made = MakeTlsContext(ca);
    if (made.ok()) contexts_.emplace(ca, made.value());  // failures re-tried
    return made;
  }

  std::unique_ptr<Connection> Checkout(const std::string& key) {
    PruneIdle();
    auto it = idle_.find(key);
    if (it == idle_.end()) return nullptr;
    std::unique_ptr<Connection> found;
    auto& queue = it->second;
    while (!queue.empty() && !found) {
      std::unique_ptr<Connection> c = std::move(queue.back());
      queue.pop_back();
      if (c->LooksReusable()) found = std::move(c);
    }
    if (queue.empty()) idle_.erase(it);
    return found;
  }

  void Checkin(const std::string& key, std::unique_ptr<Connection> conn) {
    if (stopping_ || options_.max_idle_per_host == 0) return;
    conn->idle_since = SteadyClock::now();
    auto& queue = idle_[key];
    queue.push_back(std::move(conn));
    while (queue.size() > options_.max_idle_per_host) queue.pop_front();
    PruneIdle();
  }

  void Unregister(const std::shared_ptr<Call>& call) { active_.erase(call); }

 private:
  enum class State { kIdle, kRunning, kStopped };

  void Begin(HttpCall call, CallOptions options, OutboundClient::Done done) {
    auto c = std::make_shared<Call>(*this, std::move(call), std::move(options),
                                    std::move(done));
    active_.insert(c);
    if (stopping_) return c->Abort();
    c->Run();
  }

  void Shutdown() {
    stopping_ = true;
    std::vector<std::shared_ptr<Call>> calls(active_.begin(), active_.end());
    for (auto& c : calls) c->Abort();
    idle_.clear();
  }

  // Each queue is ordered by idle_since, oldest first.
  void PruneIdle() {
    const auto cutoff = SteadyClock::now() -
                        std::chrono::milliseconds(options_.idle_timeout_ms);
    for (auto it = idle_.begin(); it != idle_.end();) {
      auto& queue = it->second;
      while (!queue.empty() && queue.front()->idle_since <= cutoff) {
        queue.pop_front();
      }
      it = queue.empty() ? idle_.erase(it) : std::next(it);
    }
  }

  const HttpsClient::Options options_;
  net::io_context ioc_;

  std::mutex mu_;
  State state_ = State::kIdle;  // guarded by mu_
  std::optional<net::executor_work_guard<net::io_context::executor_type>>
      work_;            // guarded by mu_
  std::thread thread_;  // guarded by mu_

  // I/O thread only. Contexts outlive the connections built on them.
  bool stopping_ = false;
  std::map<std::string, std::shared_ptr<ssl::context>> contexts_;
  std::map<std::string, std::deque<std::unique_ptr<Connection>>> idle_;
  std::unordered_set<std::shared_ptr<Call>> active_;
};

Call::Call(Engine& engine, HttpCall call, CallOptions options,
           OutboundClient::Done done)
    : engine_(engine),
      call_(std::move(call)),
      options_(std::move(options)),
      done_(std::move(done)),
      replayable_(IsReplayable(call_)),
      resolver_(engine.ioc()),
      timer_(engine.ioc()) {}

void Call::Run() {
  auto parsed = ParseUrl(call_.url);
  if (!parsed.ok()) {
    return Fail(TransportError::kProtocol, parsed.status().message());
  }
  target_ = std::move(parsed).value();
  if (Status s = BuildRequest(); !s.ok()) {
    return Fail(TransportError::kProtocol, s.message());
  }
  pool_key_ = target_.host + '\n' + std::to_string(target_.port) + '\n' +
              options_.ca_file;
  conn_ = engine_.Checkout(pool_key_);
  if (conn_) {
    reused_ = true;
    return Write();
  }
  Connect();
}

void Call::Abort() {
  Fail(request_written_ ? TransportError::kReset : TransportError::kConnect,
       "client stopped");
}

Status Call::BuildRequest() {
  if (!IsToken(call_.method)) return Status::Error("invalid request method");
  req_.method_string(call_.method);
  req_.target(target_.target);
  req_.version(11);
  req_.set(http::field::host, target_.host_field);
  bool has_user_agent = false;
  for (const auto& [name, value] : call_.headers) {
    // Never echo the value: it may be a credential.
    if (!IsToken(name) || !IsFieldValue(value)) {
      return Status::Error("invalid request header");
    }
    if (beast::iequals(name, "host") ||
        beast::iequals(name, "content-length") ||
        beast::iequals(name, "transfer-encoding") ||
        beast::iequals(name, "connection")) {
      continue;
    }
    has_user_agent = has_user_agent || beast::iequals(name, "user-agent");
    req_.insert(name, value);
  }
  if (!has_user_agent) req_.set(http::field::user_agent, "dlrd");
  req_.body() = std::move(call_.body);
  req_.prepare_payload();
  return Status::Ok();
}

void Call::Connect() {
  auto ctx = engine_.TlsContext(options_.ca_file);
  if (!ctx.ok()) return Fail(TransportError::kTls, ctx.status().message());
  conn_ = std::make_unique<Connection>(engine_.ioc(), *ctx.value());
  SSL* ssl = conn_->stream.native_handle();
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  const char* host = target_.host.c_str();
  if (target_.is_ip) {
    // No SNI for IP literals (RFC 6066 §3); match the IP SAN instead.
    if (X509_VERIFY_PARAM_set1_ip_asc(param, host) != 1) {
      return Fail(TransportError::kTls, "cannot verify this IP address");
    }
  } else {
    X509_VERIFY_PARAM_set_hostflags(param,
                                    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (SSL_set1_host(ssl, host) != 1 ||
        SSL_set_tlsext_host_name(ssl, host) != 1) {
      return Fail(TransportError::kTls, "cannot verify this host name");
    }
  }
  phase_ = Phase::kResolve;
  ArmTimer(options_.connect_timeout_ms);
  resolver_.async_resolve(
      target_.host, std::to_string(target_.port),
      target_.is_ip
          ? tcp::resolver::numeric_host | tcp::resolver::numeric_service
          : tcp::resolver::numeric_service,
      beast::bind_front_handler(&Call::OnResolve, shared_from_this()));
}

void Call::OnResolve(beast::error_code ec,
                     tcp::resolver::results_type results) {
  if (finished_) return;
  if (ec) return Fail(TransportError::kResolve, "resolve: " + ec.message());
  phase_ = Phase::kConnect;
  beast::get_lowest_layer(conn_->stream)
      .async_connect(results, beast::bind_front_handler(&Call::OnConnect,
                                                        shared_from_this()));
}

void Call::OnConnect(beast::error_code ec, tcp::endpoint) {
  if (finished_) return;
  if (ec) return Fail(TransportError::kConnect, "connect: " + ec.message());
  phase_ = Phase::kHandshake;
  conn_->stream.async_handshake(
      ssl::stream_base::client,
      beast::bind_front_handler(&Call::OnHandshake, shared_from_this()));
}

void Call::OnHandshake(beast::error_code ec) {
  if (finished_) return;
  if (ec) {
    std::string detail = ec.message();
    const long verify = SSL_get_verify_result(conn_->stream.native_handle());
    if (verify != X509_V_OK) {
      detail += ": ";
      detail += X509_verify_cert_error_string(verify);
    }
    return Fail(TransportError::kTls, std::move(detail));
  }
  Write();
}

void Call::Write() {
  phase_ = Phase::kWrite;
  ArmTimer(options_.request_timeout_ms);
  // From here on the server may see the request, unless the write fails
  // with nothing taken (OnWrite).
  request_written_ = true;
  http::async_write(
      conn_->stream, req_,
      beast::bind_front_handler(&Call::OnWrite, shared_from_this()));
}

void Call::OnWrite(beast::error_code ec, std::size_t bytes) {
  if (finished_) return;
  if (ec) {
    const bool nothing_written = bytes == 0;
    if (nothing_written) request_written_ = false;
    if (MayRetry(nothing_written)) return Retry();
    return Fail(TransportError::kReset, "write: " + ec.message());
  }
  phase_ = Phase::kRead;
  Read();
}

void Call::Read() {
  parser_.emplace();
  parser_->header_limit(engine_.options().max_reply_header_bytes);
  parser_->body_limit(engine_.options().max_reply_body_bytes);
  if (req_.method() == http::verb::head) parser_->skip(true);
  http::async_read(
      conn_->stream, conn_->buffer, *parser_,
      beast::bind_front_handler(&Call::OnRead, shared_from_this()));
}

void Call::OnRead(beast::error_code ec, std::size_t) {
  if (finished_) return;
  if (ec) {
    const bool nothing_read =
        !reply_started_ && !parser_->got_some() && conn_->buffer.size() == 0;
    if (IsConnectionLoss(ec) && nothing_read && MayRetry(false)) {
      return Retry();
    }
    const bool protocol = IsHttpError(ec) && !IsConnectionLoss(ec);
    return Fail(protocol ? TransportError::kProtocol : TransportError::kReset,
                "read: " + ec.message());
  }
  const unsigned status = parser_->get().result_int();
  if (status >= 100 && status < 200 && status != 101) {
    reply_started_ = true;  // interim reply (e.g. 103): the final one follows
    return Read();
  }
  const bool reusable = parser_->keep_alive() && status != 101;
  auto msg = parser_->release();
  ClientResult result;
  result.request_written = true;
  result.reply.status = static_cast<int>(status);
  for (const auto& field : msg) {
    result.reply.headers.emplace_back(std::string(field.name_string()),
                                      std::string(field.value()));
  }
  result.reply.body = std::move(msg.body());
  if (reusable) {
    ++timer_generation_;
    timer_.cancel();
    engine_.Checkin(pool_key_, std::move(conn_));
  }
  Finish(std::move(result));
}

bool Call::MayRetry(bool nothing_written) const {
  return reused_ && !retried_ && !engine_.stopping() &&
         (nothing_written || replayable_);
}

void Call::Retry() {
  retried_ = true;
  reused_ = false;
  request_written_ = false;
  // Its handler has run, but keep it alive with the call anyway: cheap,
  // and no composed operation can outlive its stream.
  retired_ = std::move(conn_);
  retired_->Close();
  Connect();
}

void Call::ArmTimer(int64_t ms) {
  // The generation makes a wait that completed before it was re-armed a
  // no-op, which cancel() alone cannot promise.
  const uint64_t generation = ++timer_generation_;
  timer_.expires_after(std::chrono::milliseconds(std::max<int64_t>(ms, 1)));
  timer_.async_wait(
      [self = shared_from_this(), generation](beast::error_code ec) {
        if (ec || generation != self->timer_generation_) return;
        self->OnDeadline();
      });
}

void Call::OnDeadline() {
  if (finished_) return;
  switch (phase_) {
    case Phase::kResolve:
      return Fail(TransportError::kResolve, "resolve timeout");
    case Phase::kConnect:
      return Fail(TransportError::kConnect, "connect timeout");
    case Phase::kHandshake:
      return Fail(TransportError::kConnect, "tls handshake timeout");
    case Phase::kWrite:
    case Phase::kRead:
      return Fail(TransportError::kTimeout, "request timeout");
  }
}

void Call::Fail(TransportError error, std::string detail) {
  ClientResult result;
  result.error = error;
  result.request_written = request_written_;
  result.detail = std::move(detail);
  Finish(std::move(result));
}

void Call::Finish(ClientResult result) {
  if (finished_) return;
  finished_ = true;
  ++timer_generation_;
  timer_.cancel();
  resolver_.cancel();
  // Closing makes pending operations complete (and see finished_); the
  // connection itself lives on with this call until they have.
  if (conn_) conn_->Close();
  auto self = shared_from_this();
  engine_.Unregister(self);
  OutboundClient::Done done = std::move(done_);
  done(std::move(result));
}

}  // namespace

class HttpsClient::Impl : public Engine {
 public:
  using Engine::Engine;
};

HttpsClient::HttpsClient(Options options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

HttpsClient::~HttpsClient() { Stop(); }

void HttpsClient::Start() { impl_->Start(); }

void HttpsClient::Stop() { impl_->Stop(); }

void HttpsClient::Send(HttpCall call, CallOptions options, Done done) {
  impl_->Send(std::move(call), std::move(options), std::move(done));
}

}  // namespace dlrd
