#include "dlrd/http/http_session.h"

#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>

#include "http/framing.h"
#include "http/response_bytes.h"

namespace dlrd {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(HttpSocket socket, std::shared_ptr<ListenerShared> shared)
      : socket_(std::move(socket)),
        deadline_(socket_.get_executor()),
        shared_(std::move(shared)),
        buffer_(BufferLimit(shared_->limits)) {
    // Beast < 1.91 does not bound chunk extensions, which do not count
    // against body_limit: cap their total per request.
    on_chunk_header_ = [this](std::uint64_t, beast::string_view ext,
                              beast::error_code& ec) {
      chunk_ext_bytes_ += ext.size();
      if (chunk_ext_bytes_ > kMaxChunkExtensionBytes) {
        ec = http::error::bad_chunk_extension;
      }
    };
    beast::error_code ec;
    auto ep = socket_.remote_endpoint(ec);
    if (!ec) peer_ip_ = ep.address().to_string();
  }

  ~HttpSession() {
    shared_->open.fetch_sub(1);
    if (shared_->metrics) {
      shared_->metrics->connections_open(shared_->name).Decrement();
    }
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->sessions.erase(this);
  }

  void Run() {
    net::dispatch(socket_.get_executor(),
                  beast::bind_front_handler(&HttpSession::StartRequest,
                                            shared_from_this()));
  }

  // Called on any thread.
  void Drain() {
    net::post(socket_.get_executor(), [self = shared_from_this()] {
      self->draining_ = true;
      if (self->awaiting_first_byte_) self->Close();
    });
  }

 private:
  static size_t BufferLimit(const ListenerLimits& l) {
    return std::max<size_t>(16 * 1024, l.max_header_bytes + 4096);
  }

  void StartRequest() {
    if (draining_) return Close();
    if (buffer_.size() == 0) return AwaitFirstByte();
    // Pipelined: the next request's first bytes are already here.
    BeginRequest();
    ScanHeader();
  }

  // The first byte of a request is here (or about to be read): a parser
  // for it, and the header timeout from now on.
  void BeginRequest() {
    parser_ = std::make_unique<Parser>();
    parser_->header_limit(
        static_cast<std::uint32_t>(shared_->limits.max_header_bytes));
    parser_->body_limit(shared_->limits.max_body_bytes);
    chunk_ext_bytes_ = 0;
    parser_->on_chunk_header(on_chunk_header_);
    SetDeadline(shared_->limits.header_timeout_ms, "header");
  }

  // An idle keep-alive connection holds no read buffer and no parser: the
  // buffer's storage is released and the session waits for the socket to
  // become readable (no bytes are read, so none need a buffer), under the
  // idle timeout; ReadMore() allocates the buffer again once the next
  // request starts arriving.
  void AwaitFirstByte() {
    buffer_.shrink_to_fit();  // size 0: frees the storage
    awaiting_first_byte_ = true;
    SetDeadline(shared_->limits.idle_timeout_ms, "idle");
    socket_.async_wait(tcp::socket::wait_read,
                       beast::bind_front_handler(&HttpSession::OnReadable,
                                                 shared_from_this()));
  }

  void OnReadable(beast::error_code ec) {
    if (!awaiting_first_byte_) return;  // closed meanwhile
    awaiting_first_byte_ = false;
    if (ec || timed_out_) return Close();  // closed by Drain(), or an error
    // Readable: data, EOF or an error; ReadMore() finds out which.
    BeginRequest();
    ReadMore();
  }

  // One deadline per phase (idle, header, body, write, linger), on one
  // timer: when it passes, the socket is closed, which ends the pending
  // read, write or wait, and every completion handler checks timed_out_.
  // `phase` names the dlrd_http_timeouts_total series (null: not counted).
  void SetDeadline(int64_t ms, const char* phase) {
    ++deadline_gen_;
    timeout_phase_ = phase;
    deadline_.expires_after(std::chrono::milliseconds(ms));
    deadline_.async_wait(beast::bind_front_handler(
        &HttpSession::OnDeadline, shared_from_this(), deadline_gen_));
  }

  void ClearDeadline() {
    ++deadline_gen_;
    timeout_phase_ = nullptr;
    deadline_.cancel();
  }

  void OnDeadline(std::uint32_t gen, beast::error_code ec) {
    // A deadline that expired just as its phase ended (the completion and
    // the expiry were both queued on the strand) is stale once the phase
    // has moved on: the generation tells.
    if (ec || gen != deadline_gen_ || timed_out_) return;
    timed_out_ = true;
    if (timeout_phase_) CountTimeout(timeout_phase_);
    Close();
  }

  void ScanHeader() {
    auto data = buffer_.cdata();
    std::string_view bytes(static_cast<const char*>(data.data()), data.size());
    HeaderScan scan = ScanHeaderBlock(bytes, shared_->limits.max_header_bytes);
    switch (scan.kind) {
      case HeaderScan::kNeedMore:
        return ReadMore();
      case HeaderScan::kTooLarge:
        return Reject(431, "header too large");
      case HeaderScan::kBad:
        return Reject(400, scan.reason);
      case HeaderScan::kComplete:
        return ParseHeader(scan.length);
    }
  }

  void ReadMore() {
    size_t room = buffer_.max_size() - buffer_.size();
    socket_.async_read_some(buffer_.prepare(std::min<size_t>(room, 8192)),
                            beast::bind_front_handler(&HttpSession::OnReadSome,
                                                      shared_from_this()));
  }

  void OnReadSome(beast::error_code ec, std::size_t n) {
    if (ec || timed_out_) return Close();  // EOF, reset or header timeout
    buffer_.commit(n);
    ScanHeader();
  }

  void ParseHeader(size_t header_length) {
    started_ = std::chrono::steady_clock::now();
    beast::error_code ec;
    auto data = buffer_.cdata();
    size_t used = parser_->put(net::buffer(data.data(), header_length), ec);
    if (!ec && !parser_->is_header_done()) ec = http::error::partial_message;
    if (ec == http::error::body_limit) return Reject(413, "body too large");
    if (ec) return Reject(400, ec.message());
    raw_head_.assign(static_cast<const char*>(data.data()), header_length);
    buffer_.consume(used);

    FieldCheck check = CheckParsedFields();
    if (check.status != 0) return Reject(check.status, check.reason);

    // Usually the whole body came with the header (or there is none): parse
    // it here. async_read would post its completion, an executor hop and a
    // handler allocation per request. A chunked or partial body goes the
    // async way.
    const auto length = parser_->content_length();
    if (parser_->is_done() ||
        (!parser_->chunked() && length && buffer_.size() >= *length)) {
      beast::error_code body_ec;
      if (!parser_->is_done()) {
        buffer_.consume(parser_->put(buffer_.data(), body_ec));
        if (!body_ec && !parser_->is_done()) {
          body_ec = http::error::partial_message;
        }
      }
      return OnBody(body_ec, 0);
    }
    SetDeadline(shared_->limits.body_timeout_ms, "body");
    http::async_read(
        socket_, buffer_, *parser_,
        beast::bind_front_handler(&HttpSession::OnBody, shared_from_this()));
  }

  void OnBody(beast::error_code ec, std::size_t) {
    if (timed_out_) return Close();  // body timeout
    if (ec == http::error::body_limit) return Reject(413, "body too large");
    if (ec == http::error::end_of_stream || ec == net::error::eof ||
        ec == net::error::connection_reset) {
      return Close();
    }
    if (ec) return Reject(400, ec.message());

    // Beast (< 1.92) merges chunked trailers into the header fields and lets
    // them carry framing fields; re-checking the merged set catches a
    // trailer that adds Content-Length, Transfer-Encoding or Host.
    if (parser_->chunked() && CheckParsedFields().status != 0) {
      return Reject(400, "framing field in chunked trailer");
    }
    auto msg = parser_->release();
    HttpRequest req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    req.version = msg.version();
    for (const auto& f : msg) {
      req.headers.emplace_back(std::string(f.name_string()),
                               std::string(f.value()));
    }
    req.body = std::move(msg.body());
    req.raw_head = std::move(raw_head_);
    req.peer_ip = peer_ip_;
    keep_alive_ = msg.keep_alive();
    head_request_ = msg.method() == http::verb::head;
    parser_.reset();

    // No deadline while the handler works: a store commit decides that.
    ClearDeadline();
    auto self = shared_from_this();
    shared_->handler->Handle(std::move(req), [self](HttpResponse resp) {
      net::post(self->socket_.get_executor(),
                [self, resp = std::move(resp)]() mutable {
                  self->Write(std::move(resp));
                });
    });
  }

  FieldCheck CheckParsedFields() const {
    const auto& req = parser_->get();
    std::vector<std::pair<std::string_view, std::string_view>> fields;
    for (const auto& f : req) fields.emplace_back(f.name_string(), f.value());
    return CheckFields(req.version(), req.method_string(), fields,
                       shared_->limits.max_body_bytes);
  }

  // Framing failure: answer, then close without reading anything more.
  void Reject(unsigned status, const std::string& reason) {
    if (shared_->log && status != 413 && status != 431) {
      shared_->log->Info("http_rejected", {{"listener", shared_->name},
                                           {"status", status},
                                           {"reason", reason},
                                           {"client", peer_ip_}});
    }
    if (started_ == std::chrono::steady_clock::time_point{}) {
      started_ = std::chrono::steady_clock::now();
    }
    HttpResponse resp = PlainResponse(status, shared_->default_handler);
    resp.close = true;
    keep_alive_ = false;
    head_request_ = false;  // the method may not even have parsed
    Write(std::move(resp));
  }

  void Write(HttpResponse resp) {
    const bool close = resp.close || !keep_alive_ || draining_;
    out_ = ResponseBytes(resp, close, head_request_);
    status_ = resp.status;
    handler_label_ = std::move(resp.handler);
    SetDeadline(shared_->limits.write_timeout_ms, "write");
    net::async_write(socket_, net::buffer(out_),
                     beast::bind_front_handler(&HttpSession::OnWrite,
                                               shared_from_this(), close));
  }

  void OnWrite(bool close, beast::error_code ec, std::size_t) {
    if (shared_->metrics) {
      std::chrono::duration<double> took =
          std::chrono::steady_clock::now() - started_;
      shared_->metrics->http_duration(handler_label_, status_)
          .Observe(took.count());
    }
    std::string().swap(out_);  // an idle connection keeps no response
    started_ = {};
    head_request_ = false;
    if (ec || timed_out_) return Close();  // a write error or timeout
    if (close) return LingerClose();
    StartRequest();
  }

  // After an early reject the client may still be sending a body we never
  // read; closing with unread data makes the kernel send RST, which can
  // destroy our response before the client reads it. So: half-close, then
  // discard input briefly (bounded in time and bytes), then close.
  void LingerClose() {
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    buffer_.clear();
    SetDeadline(500, nullptr);
    Discard(256 * 1024);
  }

  void Discard(size_t budget) {
    if (budget == 0) return Close();
    socket_.async_read_some(
        buffer_.prepare(std::min<size_t>(buffer_.max_size(), 8192)),
        [self = shared_from_this(), budget](beast::error_code ec,
                                            std::size_t n) {
          if (ec || self->timed_out_ || n >= budget) return self->Close();
          self->Discard(budget - n);
        });
  }

  void CountTimeout(std::string_view phase) {
    if (shared_->metrics)
      shared_->metrics->timeouts(shared_->name, phase).Increment();
  }

  // Idempotent. Closing the socket ends any pending read, write or wait
  // (operation_aborted); cancelling the deadline lets the session go.
  void Close() {
    awaiting_first_byte_ = false;
    ClearDeadline();
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    socket_.close(ec);
  }

  static constexpr size_t kMaxChunkExtensionBytes = 1024;

  using Parser = http::request_parser<http::string_body>;
  using Timer =
      net::basic_waitable_timer<std::chrono::steady_clock,
                                net::wait_traits<std::chrono::steady_clock>,
                                HttpExecutor>;

  // Every member lives as long as the connection, idle or not, so what is
  // only needed during a request is allocated for it (parser_, out_, the
  // buffer's storage). The socket and timer use the strand's concrete
  // type: any_io_executor would make each of them, and each pending
  // operation, larger.
  HttpSocket socket_;
  Timer deadline_;
  const char* timeout_phase_ = nullptr;  // SetDeadline()'s `phase`
  std::uint32_t deadline_gen_ = 0;       // counts SetDeadline/ClearDeadline
  std::shared_ptr<ListenerShared> shared_;
  beast::flat_buffer buffer_;
  std::unique_ptr<Parser> parser_;  // from a request's first byte to its body
  std::string out_;  // the response's bytes while they are written
  std::function<void(std::uint64_t, beast::string_view, beast::error_code&)>
      on_chunk_header_;
  size_t chunk_ext_bytes_ = 0;
  std::string peer_ip_;
  std::string raw_head_;
  std::chrono::steady_clock::time_point started_{};
  std::string handler_label_;
  unsigned status_ = 0;
  bool keep_alive_ = true;
  bool head_request_ = false;  // the request being answered is HEAD
  bool awaiting_first_byte_ = false;
  bool timed_out_ = false;  // a deadline passed and closed the socket
  bool draining_ = false;
};

void StartHttpSession(HttpSocket socket,
                      std::shared_ptr<ListenerShared> shared) {
  auto session = std::make_shared<HttpSession>(std::move(socket), shared);
  shared->open.fetch_add(1);
  if (shared->metrics)
    shared->metrics->connections_open(shared->name).Increment();
  bool draining;
  {
    std::lock_guard<std::mutex> lock(shared->mu);
    shared->sessions[session.get()] = session;
    draining = shared->draining;
  }
  session->Run();
  if (draining) session->Drain();
}

void DrainHttpSessions(ListenerShared& shared) {
  std::vector<std::shared_ptr<HttpSession>> live;
  {
    std::lock_guard<std::mutex> lock(shared.mu);
    shared.draining = true;
    for (auto& [ptr, weak] : shared.sessions) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->Drain();
}

}  // namespace dlrd
