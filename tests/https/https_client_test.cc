// HttpsClient against real TLS servers on loopback. A test CA and the
// server certificates are generated in memory at start (no checked-in
// keys); only the CA certificate is written to a temporary file, because
// CallOptions::ca_file is a path.
#include "dlrd/https/https_client.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace dlrd {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

// --- test PKI ----------------------------------------------------------------

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* x) const { X509_free(x); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

void AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) std::abort();
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// Self-signed when `issuer` is null.
Cert MakeCert(EVP_PKEY* key, const char* cn, const char* san, bool ca,
              X509* issuer, EVP_PKEY* issuer_key) {
  static long serial = 1;
  Cert cert(X509_new());
  X509* x = cert.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
  X509_set_pubkey(x, key);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn), -1, -1,
                             0);
  X509* signer = issuer != nullptr ? issuer : x;
  X509_set_issuer_name(x, X509_get_subject_name(signer));
  AddExt(x, signer, NID_basic_constraints,
         ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  AddExt(x, signer, NID_key_usage,
         ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
  AddExt(x, signer, NID_subject_key_identifier, "hash");
  if (!ca) AddExt(x, signer, NID_ext_key_usage, "serverAuth");
  if (san != nullptr) AddExt(x, signer, NID_subject_alt_name, san);
  X509_sign(x, issuer_key != nullptr ? issuer_key : key, EVP_sha256());
  return cert;
}

struct Pki {
  Pki() {
    ca =
        MakeCert(ca_key.get(), "dlrd test CA", nullptr, true, nullptr, nullptr);
    const char* kLoopback = "IP:127.0.0.1,DNS:localhost";
    good = MakeCert(key.get(), "localhost", kLoopback, false, ca.get(),
                    ca_key.get());
    other_host = MakeCert(key.get(), "other.example", "DNS:other.example",
                          false, ca.get(), ca_key.get());
    self_signed =
        MakeCert(key.get(), "localhost", kLoopback, false, nullptr, nullptr);
    ca_file =
        (std::filesystem::temp_directory_path() /
         ("dlrd_https_client_test_" + std::to_string(::getpid()) + ".pem"))
            .string();
    FILE* f = std::fopen(ca_file.c_str(), "w");
    if (f == nullptr || PEM_write_X509(f, ca.get()) != 1) std::abort();
    std::fclose(f);
  }
  ~Pki() { std::filesystem::remove(ca_file); }

  Key ca_key{EVP_EC_gen("P-256")};
  Key key{EVP_EC_gen("P-256")};  // shared by the server certificates
  Cert ca;
  Cert good;         // by the CA: IP:127.0.0.1, DNS:localhost
  Cert other_host;   // by the CA: DNS:other.example only
  Cert self_signed;  // not by the CA
  std::string ca_file;
};

const Pki& GetPki() {
  static Pki pki;
  return pki;
}

// --- a scripted TLS server ---------------------------------------------------

enum class Action {
  kReply,           // send `res`; keep the connection if the client may
  kReplyThenClose,  // send `res` saying keep-alive, then close anyway
  kHang,            // never answer (until the server stops)
  kClose,           // close without answering (no close_notify)
  kRaw,             // send `raw` bytes as the reply, then close
};

struct Exchange {
  int connection = 0;  // index of the accepted connection
  int request = 0;     // index of the request on that connection
  std::string sni;     // server name the client sent, if any
  http::request<http::string_body> req;
};

using Script = std::function<Action(
    const Exchange&, http::response<http::string_body>&, std::string& raw)>;

// Accepts on 127.0.0.1, one thread per connection, blocking I/O. Stop()
// unblocks everything with shutdown(2) and joins.
class TlsServer {
 public:
  TlsServer(X509* cert, Script script) : script_(std::move(script)) {
    SSL_CTX_use_certificate(ctx_.native_handle(), cert);
    SSL_CTX_use_PrivateKey(ctx_.native_handle(), GetPki().key.get());
    acceptor_.open(tcp::v4());
    acceptor_.bind({net::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~TlsServer() { Stop(); }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      stopping_ = true;
      for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
      cv_.notify_all();
    }
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    accept_thread_.join();
    for (auto& t : threads_) t.join();
  }

  uint16_t port() const { return port_; }
  std::string url(const char* host = "127.0.0.1") const {
    return std::string("https://") + host + ":" + std::to_string(port_) +
           "/v1/send?x=1";
  }
  int connections() {
    std::lock_guard<std::mutex> lock(mu_);
    return connections_;
  }
  int requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  std::vector<Exchange> exchanges() {
    std::lock_guard<std::mutex> lock(mu_);
    return exchanges_;
  }
  // Bounded waits on the server's counters.
  bool WaitRequests(int n) {
    return WaitFor([&] { return requests_ >= n; });
  }
  bool WaitClosed(int n) {
    return WaitFor([&] { return closed_ >= n; });
  }

 private:
  template <typename Pred>
  bool WaitFor(Pred pred) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, 5s, pred);
  }

  void AcceptLoop() {
    for (;;) {
      tcp::socket socket(ioc_);
      beast::error_code ec;
      acceptor_.accept(socket, ec);
      std::lock_guard<std::mutex> lock(mu_);
      if (ec || stopping_) return;
      threads_.emplace_back(&TlsServer::Serve, this, std::move(socket),
                            connections_++);
    }
  }

  void Serve(tcp::socket socket, int index) {
    const int fd = socket.native_handle();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      open_fds_.insert(fd);
    }
    {
      ssl::stream<tcp::socket> s(std::move(socket), ctx_);
      beast::error_code ec;
      s.handshake(ssl::stream_base::server, ec);
      const char* sni =
          SSL_get_servername(s.native_handle(), TLSEXT_NAMETYPE_host_name);
      beast::flat_buffer buffer;
      for (int n = 0; !ec; ++n) {
        Exchange ex;
        ex.connection = index;
        ex.request = n;
        ex.sni = sni != nullptr ? sni : "";
        http::read(s, buffer, ex.req, ec);
        if (ec) break;
        http::response<http::string_body> res{http::status::ok, 11};
        std::string raw;
        const Action action = script_(ex, res, raw);
        const bool client_keep_alive = ex.req.keep_alive();
        {
          std::lock_guard<std::mutex> lock(mu_);
          ++requests_;
          exchanges_.push_back(std::move(ex));
          cv_.notify_all();
        }
        if (action == Action::kClose) break;
        if (action == Action::kHang) {
          std::unique_lock<std::mutex> lock(mu_);
          cv_.wait(lock, [&] { return stopping_; });
          break;
        }
        if (action == Action::kRaw) {
          net::write(s, net::buffer(raw), ec);
          break;
        }
        res.keep_alive(action == Action::kReplyThenClose || client_keep_alive);
        res.prepare_payload();
        http::write(s, res, ec);
        if (action == Action::kReplyThenClose || !res.keep_alive()) break;
      }
      // Forget the fd before it is closed, so Stop() never shuts down a
      // descriptor number that was reused meanwhile.
      std::lock_guard<std::mutex> lock(mu_);
      open_fds_.erase(fd);
    }
    std::lock_guard<std::mutex> lock(mu_);
    ++closed_;
    cv_.notify_all();
  }

  Script script_;
  net::io_context ioc_;
  ssl::context ctx_{ssl::context::tls_server};
  tcp::acceptor acceptor_{ioc_};
  uint16_t port_ = 0;
  std::thread accept_thread_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::set<int> open_fds_;
  std::vector<std::thread> threads_;
  std::vector<Exchange> exchanges_;
  int connections_ = 0;
  int requests_ = 0;
  int closed_ = 0;
};

Action EchoOk(const Exchange& ex, http::response<http::string_body>& res,
              std::string&) {
  res.set("X-Reply", "yes");
  res.set(http::field::content_type, "application/json");
  res.body() = "{\"echo\":\"" + ex.req.body() + "\"}";
  return Action::kReply;
}

// --- client side helpers -----------------------------------------------------

// Collects completions; counts them to prove "exactly once".
struct Completion {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<ClientResult> results;
  std::vector<std::thread::id> threads;

  OutboundClient::Done Callback() {
    return [this](ClientResult r) {
      std::lock_guard<std::mutex> lock(mu);
      results.push_back(std::move(r));
      threads.push_back(std::this_thread::get_id());
      cv.notify_all();
    };
  }
  bool WaitCount(size_t n, std::chrono::milliseconds limit = 5s) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, limit, [&] { return results.size() >= n; });
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu);
    return results.size();
  }
};

CallOptions Trusting(int64_t request_timeout_ms = 3000) {
  CallOptions o;
  o.ca_file = GetPki().ca_file;
  o.connect_timeout_ms = 3000;
  o.request_timeout_ms = request_timeout_ms;
  return o;
}

HttpCall Post(const std::string& url, std::string body = "hello") {
  HttpCall call;
  call.method = "POST";
  call.url = url;
  call.headers = {{"Content-Type", "application/json"},
                  {"Authorization", "Bearer secret-token-123"}};
  call.body = std::move(body);
  return call;
}

ClientResult SendAndWait(HttpsClient& client, HttpCall call,
                         CallOptions options) {
  Completion c;
  client.Send(std::move(call), std::move(options), c.Callback());
  EXPECT_TRUE(c.WaitCount(1, 10s));
  std::lock_guard<std::mutex> lock(c.mu);
  if (c.results.empty()) return ClientResult{};
  EXPECT_EQ(c.results.size(), 1u);
  return c.results.front();
}

std::string HeaderValue(const HeaderList& headers, const std::string& name) {
  for (const auto& [k, v] : headers) {
    if (beast::iequals(k, name)) return v;
  }
  return "";
}

class HttpsClientTest : public ::testing::Test {
 protected:
  void SetUp() override { client_.Start(); }
  HttpsClient client_;
};

// --- cases -------------------------------------------------------------------

TEST_F(HttpsClientTest, RoundTripReturnsStatusHeadersAndBody) {
  TlsServer server(GetPki().good.get(), EchoOk);
  HttpCall call = Post(server.url(), "abc");
  call.headers.emplace_back("X-Custom", "42");
  ClientResult r = SendAndWait(client_, std::move(call), Trusting());

  ASSERT_EQ(r.error, TransportError::kNone) << r.detail;
  EXPECT_TRUE(r.request_written);
  EXPECT_EQ(r.reply.status, 200);
  EXPECT_EQ(HeaderValue(r.reply.headers, "x-reply"), "yes");
  EXPECT_EQ(HeaderValue(r.reply.headers, "Content-Type"), "application/json");
  EXPECT_EQ(r.reply.body, "{\"echo\":\"abc\"}");

  auto seen = server.exchanges();
  ASSERT_EQ(seen.size(), 1u);
  const auto& req = seen[0].req;
  EXPECT_EQ(req.method(), http::verb::post);
  EXPECT_EQ(req.target(), "/v1/send?x=1");
  EXPECT_EQ(req[http::field::host],
            "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(req[http::field::content_length], "3");
  EXPECT_EQ(req[http::field::user_agent], "dlrd");
  EXPECT_EQ(req["X-Custom"], "42");
  EXPECT_EQ(req[http::field::authorization], "Bearer secret-token-123");
  EXPECT_EQ(seen[0].sni, "") << "no SNI for an IP literal";
}

TEST_F(HttpsClientTest, HostNameIsVerifiedAndSentAsSni) {
  TlsServer server(GetPki().good.get(), EchoOk);
  ClientResult r =
      SendAndWait(client_, Post(server.url("localhost")), Trusting());
  ASSERT_EQ(r.error, TransportError::kNone) << r.detail;
  auto seen = server.exchanges();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].sni, "localhost");
}

TEST_F(HttpsClientTest, SequentialCallsReuseOneConnection) {
  TlsServer server(GetPki().good.get(), EchoOk);
  for (int i = 0; i < 3; ++i) {
    ClientResult r = SendAndWait(client_, Post(server.url()), Trusting());
    ASSERT_EQ(r.error, TransportError::kNone) << r.detail;
  }
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(server.requests(), 3);
}

TEST_F(HttpsClientTest, UntrustedSelfSignedCertificateFailsWithTls) {
  TlsServer server(GetPki().self_signed.get(), EchoOk);
  ClientResult r = SendAndWait(client_, Post(server.url()), Trusting());
  EXPECT_EQ(r.error, TransportError::kTls);
  EXPECT_FALSE(r.request_written);
  EXPECT_NE(r.detail.find("certificate verify failed"), std::string::npos)
      << r.detail;
  EXPECT_EQ(server.requests(), 0);
}

TEST_F(HttpsClientTest, CertificateForAnotherHostFailsWithTls) {
  TlsServer server(GetPki().other_host.get(), EchoOk);
  ClientResult by_name =
      SendAndWait(client_, Post(server.url("localhost")), Trusting());
  EXPECT_EQ(by_name.error, TransportError::kTls);
  EXPECT_FALSE(by_name.request_written);
  EXPECT_NE(by_name.detail.find("hostname mismatch"), std::string::npos)
      << by_name.detail;

  ClientResult by_ip = SendAndWait(client_, Post(server.url()), Trusting());
  EXPECT_EQ(by_ip.error, TransportError::kTls);
  EXPECT_NE(by_ip.detail.find("IP address mismatch"), std::string::npos)
      << by_ip.detail;
  EXPECT_EQ(server.requests(), 0);
}

TEST_F(HttpsClientTest, WithoutCaFileTheTestCaIsNotTrusted) {
  TlsServer server(GetPki().good.get(), EchoOk);
  CallOptions system_only = Trusting();
  system_only.ca_file.clear();
  ClientResult r = SendAndWait(client_, Post(server.url()), system_only);
  EXPECT_EQ(r.error, TransportError::kTls);
  EXPECT_NE(r.detail.find("certificate verify failed"), std::string::npos);
}

TEST_F(HttpsClientTest, UnreadableCaFileFailsWithTls) {
  CallOptions o = Trusting();
  o.ca_file = "/nonexistent/dlrd-ca.pem";
  ClientResult r = SendAndWait(client_, Post("https://127.0.0.1:1/"), o);
  EXPECT_EQ(r.error, TransportError::kTls);
  EXPECT_FALSE(r.request_written);
  EXPECT_NE(r.detail.find("ca_file"), std::string::npos) << r.detail;
}

TEST_F(HttpsClientTest, ClosedPortFailsWithConnect) {
  net::io_context ioc;
  tcp::acceptor probe(ioc, {net::ip::make_address("127.0.0.1"), 0});
  const uint16_t port = probe.local_endpoint().port();
  probe.close();
  ClientResult r = SendAndWait(
      client_, Post("https://127.0.0.1:" + std::to_string(port) + "/"),
      Trusting());
  EXPECT_EQ(r.error, TransportError::kConnect);
  EXPECT_FALSE(r.request_written);
}

TEST_F(HttpsClientTest, UnresolvableHostFailsWithResolve) {
  CallOptions o = Trusting();
  o.connect_timeout_ms = 500;
  ClientResult r =
      SendAndWait(client_, Post("https://no-such-host.invalid/"), o);
  EXPECT_EQ(r.error, TransportError::kResolve) << r.detail;
  EXPECT_FALSE(r.request_written);
}

TEST_F(HttpsClientTest, SilentServerTimesOutAfterTheWrite) {
  TlsServer server(
      GetPki().good.get(),
      [](const Exchange&, auto&, std::string&) { return Action::kHang; });
  const auto start = std::chrono::steady_clock::now();
  ClientResult r = SendAndWait(client_, Post(server.url()), Trusting(300));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.error, TransportError::kTimeout);
  EXPECT_TRUE(r.request_written);
  EXPECT_LT(took, 3s);
  EXPECT_EQ(r.detail.find("secret-token"), std::string::npos);
}

TEST_F(HttpsClientTest, StalledTlsHandshakeHitsTheConnectTimeout) {
  // A listener that never accepts: the kernel completes the TCP handshake,
  // nobody answers the ClientHello.
  net::io_context ioc;
  tcp::acceptor mute(ioc, {net::ip::make_address("127.0.0.1"), 0});
  CallOptions o = Trusting();
  o.connect_timeout_ms = 300;
  const auto start = std::chrono::steady_clock::now();
  ClientResult r = SendAndWait(
      client_,
      Post("https://127.0.0.1:" + std::to_string(mute.local_endpoint().port()) +
           "/"),
      o);
  EXPECT_EQ(r.error, TransportError::kConnect) << r.detail;
  EXPECT_FALSE(r.request_written);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST_F(HttpsClientTest, ServerClosingAfterTheRequestIsAReset) {
  TlsServer server(
      GetPki().good.get(),
      [](const Exchange&, auto&, std::string&) { return Action::kClose; });
  ClientResult r = SendAndWait(client_, Post(server.url()), Trusting());
  EXPECT_EQ(r.error, TransportError::kReset) << r.detail;
  EXPECT_TRUE(r.request_written);
  EXPECT_EQ(r.detail.find("secret-token"), std::string::npos);
  EXPECT_EQ(server.connections(), 1) << "a fresh connection is not retried";
}

TEST_F(HttpsClientTest, MalformedReplyIsAProtocolError) {
  TlsServer server(GetPki().good.get(),
                   [](const Exchange&, auto&, std::string& raw) {
                     raw = "HTTP/1.1 two-hundred OK\r\n\r\n";
                     return Action::kRaw;
                   });
  ClientResult r = SendAndWait(client_, Post(server.url()), Trusting());
  EXPECT_EQ(r.error, TransportError::kProtocol) << r.detail;
  EXPECT_TRUE(r.request_written);
}

TEST(HttpsClientLimitsTest, ReplyOverTheBodyLimitIsAProtocolError) {
  HttpsClient::Options options;
  options.max_reply_body_bytes = 1024;
  HttpsClient client(options);
  client.Start();
  TlsServer server(GetPki().good.get(),
                   [](const Exchange&, auto& res, std::string&) {
                     res.body() = std::string(4096, 'x');
                     return Action::kReply;
                   });
  ClientResult r = SendAndWait(client, Post(server.url()), Trusting());
  EXPECT_EQ(r.error, TransportError::kProtocol) << r.detail;
  EXPECT_TRUE(r.request_written);
}

TEST_F(HttpsClientTest, InvalidCallsFailBeforeSendingAnything) {
  struct Case {
    const char* name;
    std::string url;
    HeaderList headers;
  };
  const Case kCases[] = {
      {"plain http", "http://127.0.0.1:1/", {}},
      {"not a url", "https://exa mple.com/", {}},
      {"userinfo", "https://user:pw@127.0.0.1:1/", {}},
      {"port out of range", "https://127.0.0.1:70000/", {}},
      {"CRLF in header",
       "https://127.0.0.1:1/",
       {{"Authorization", "Bearer secret\r\nX-Injected: 1"}}},
      {"bad header name", "https://127.0.0.1:1/", {{"Bad Name", "v"}}},
  };
  for (const Case& c : kCases) {
    HttpCall call = Post(c.url);
    call.headers = c.headers;
    ClientResult r = SendAndWait(client_, std::move(call), Trusting());
    EXPECT_EQ(r.error, TransportError::kProtocol) << c.name;
    EXPECT_FALSE(r.request_written) << c.name;
    EXPECT_EQ(r.detail.find("secret"), std::string::npos) << c.name;
    EXPECT_EQ(r.detail.find("pw"), std::string::npos) << c.name;
  }
}

// First request on connection 0 is answered with keep-alive; the second
// one on that connection is read and dropped (a server that went away);
// any other connection is answered.
Action DropSecondRequestOnFirstConnection(
    const Exchange& ex, http::response<http::string_body>& res,
    std::string& raw) {
  if (ex.connection == 0 && ex.request == 1) return Action::kClose;
  return EchoOk(ex, res, raw);
}

TEST_F(HttpsClientTest, StaleConnectionIsRetriedWhenTheRequestIsReplayable) {
  TlsServer server(GetPki().good.get(), DropSecondRequestOnFirstConnection);
  ASSERT_EQ(SendAndWait(client_, Post(server.url()), Trusting()).error,
            TransportError::kNone);
  HttpCall call = Post(server.url(), "second");
  call.headers.emplace_back("Idempotency-Key", "attempt-1");
  ClientResult r = SendAndWait(client_, std::move(call), Trusting());
  ASSERT_EQ(r.error, TransportError::kNone) << r.detail;
  EXPECT_EQ(r.reply.body, "{\"echo\":\"second\"}");
  EXPECT_EQ(server.connections(), 2);
}

TEST_F(HttpsClientTest, StaleConnectionIsNotRetriedForAPlainPost) {
  TlsServer server(GetPki().good.get(), DropSecondRequestOnFirstConnection);
  ASSERT_EQ(SendAndWait(client_, Post(server.url()), Trusting()).error,
            TransportError::kNone);
  ClientResult r = SendAndWait(client_, Post(server.url()), Trusting());
  EXPECT_EQ(r.error, TransportError::kReset) << r.detail;
  EXPECT_TRUE(r.request_written);
  EXPECT_EQ(server.connections(), 1);
}

TEST_F(HttpsClientTest, IdleConnectionClosedByTheServerIsNotReused) {
  TlsServer server(GetPki().good.get(),
                   [](const Exchange& ex, auto& res, std::string& raw) {
                     EchoOk(ex, res, raw);
                     return Action::kReplyThenClose;
                   });
  ASSERT_EQ(SendAndWait(client_, Post(server.url()), Trusting()).error,
            TransportError::kNone);
  ASSERT_TRUE(server.WaitClosed(1));
  std::this_thread::sleep_for(50ms);  // let the FIN cross loopback
  ClientResult r = SendAndWait(client_, Post(server.url()), Trusting());
  ASSERT_EQ(r.error, TransportError::kNone) << r.detail;
  EXPECT_EQ(server.connections(), 2);
}

TEST(HttpsClientStopTest, StopCompletesAnInFlightCallExactlyOnce) {
  TlsServer server(
      GetPki().good.get(),
      [](const Exchange&, auto&, std::string&) { return Action::kHang; });
  HttpsClient client;
  client.Start();
  Completion c;
  client.Send(Post(server.url()), Trusting(30000), c.Callback());
  ASSERT_TRUE(server.WaitRequests(1));
  client.Stop();
  ASSERT_EQ(c.count(), 1u);
  EXPECT_EQ(c.results[0].error, TransportError::kReset);
  EXPECT_TRUE(c.results[0].request_written);
  EXPECT_EQ(c.results[0].detail, "client stopped");

  client.Stop();  // idempotent
  client.Send(Post(server.url()), Trusting(), c.Callback());
  ASSERT_EQ(c.count(), 2u) << "after Stop, done runs inline";
  EXPECT_EQ(c.results[1].error, TransportError::kConnect);
  EXPECT_FALSE(c.results[1].request_written);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(c.count(), 2u);
}

TEST(HttpsClientStopTest, StopCompletesCallsThatAreStillConnecting) {
  net::io_context ioc;  // a listener that never accepts, as above
  tcp::acceptor mute(ioc, {net::ip::make_address("127.0.0.1"), 0});
  const std::string url =
      "https://127.0.0.1:" + std::to_string(mute.local_endpoint().port()) + "/";
  HttpsClient client;
  client.Start();
  Completion c;
  for (int i = 0; i < 3; ++i) client.Send(Post(url), Trusting(), c.Callback());
  std::this_thread::sleep_for(100ms);
  client.Stop();
  ASSERT_EQ(c.count(), 3u);
  for (const auto& r : c.results) {
    EXPECT_EQ(r.error, TransportError::kConnect);
    EXPECT_FALSE(r.request_written);
    EXPECT_EQ(r.detail, "client stopped");
  }
}

TEST(HttpsClientStopTest, SendBeforeStartRunsDoneInline) {
  HttpsClient client;
  Completion c;
  client.Send(Post("https://127.0.0.1:1/"), Trusting(), c.Callback());
  ASSERT_EQ(c.count(), 1u);
  EXPECT_EQ(c.results[0].error, TransportError::kConnect);
  EXPECT_EQ(c.results[0].detail, "client not running");
}

TEST_F(HttpsClientTest, ConcurrentSendsFromSeveralThreads) {
  TlsServer server(GetPki().good.get(), EchoOk);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 8;
  Completion c;
  std::vector<std::thread> senders;
  std::set<std::thread::id> sender_ids;
  std::mutex ids_mu;
  for (int t = 0; t < kThreads; ++t) {
    senders.emplace_back([&, t] {
      {
        std::lock_guard<std::mutex> lock(ids_mu);
        sender_ids.insert(std::this_thread::get_id());
      }
      for (int i = 0; i < kPerThread; ++i) {
        client_.Send(Post(server.url(), std::to_string(t * 100 + i)),
                     Trusting(), c.Callback());
      }
    });
  }
  for (auto& s : senders) s.join();
  ASSERT_TRUE(c.WaitCount(kThreads * kPerThread, 10s));
  std::lock_guard<std::mutex> lock(c.mu);
  std::set<std::string> bodies;
  for (const auto& r : c.results) {
    EXPECT_EQ(r.error, TransportError::kNone) << r.detail;
    bodies.insert(r.reply.body);
  }
  EXPECT_EQ(bodies.size(), static_cast<size_t>(kThreads * kPerThread));
  std::set<std::thread::id> done_threads(c.threads.begin(), c.threads.end());
  ASSERT_EQ(done_threads.size(), 1u) << "done runs on the client's thread";
  EXPECT_EQ(sender_ids.count(*done_threads.begin()), 0u);
  EXPECT_NE(*done_threads.begin(), std::this_thread::get_id());
  EXPECT_LE(server.connections(), kThreads * kPerThread);
}

}  // namespace
}  // namespace dlrd
