// Every signature scheme's header parsing and Verify()
// (include/dlrd/core/signature/signature_verifier.h).
//
// Input: byte 0 picks one of the configurations below; the rest is a
// request as text (fuzz_util.h) whose first line is
// "<now_unix> <METHOD> <target>" (a missing or non-numeric now is
// 1735689600). The secrets are fuzz-only values that appear in no seed, so
// a valid signature cannot be produced by chance: the invariant is that
// nothing is accepted, and every rejection carries a reason the scheme
// declares in Reasons().
#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dlrd/core/signature/signature_verifier.h"
#include "fuzz_util.h"

namespace {

using dlrd::SignatureConfig;

// base64 of "fuzz-only-key-0123456789abcdef" (decodes, as sinch and
// standard-webhooks require) and a second, rotated one.
constexpr char kB64Secret[] = "ZnV6ei1vbmx5LWtleS0wMTIzNDU2Nzg5YWJjZGVm";
constexpr char kB64Secret2[] = "c2Vjb25kLWZ1enotb25seS1rZXk=";

std::vector<SignatureConfig> Configs() {
  std::vector<SignatureConfig> out;
  auto add = [&](auto&& fill) {
    SignatureConfig c;
    c.secrets = {"fuzz-only-secret-a", "fuzz-only-secret-b"};
    fill(c);
    out.push_back(std::move(c));
  };
  add([](SignatureConfig& c) { c.scheme = "hmac"; });
  add([](SignatureConfig& c) {
    c.scheme = "hmac";
    c.header = "X-Hub-Signature";
    c.algorithm = "sha1";
    c.encoding = "base64";
    c.prefix = "sha1=";
  });
  add([](SignatureConfig& c) {
    c.scheme = "hmac";
    c.header = "X-Hub-Signature-256";
    c.algorithm = "sha512";
    c.prefix = "sha512=";
  });
  add([](SignatureConfig& c) {
    c.scheme = "standard-webhooks";
    c.secrets = {std::string("whsec_") + kB64Secret, kB64Secret2};
  });
  add([](SignatureConfig& c) {
    c.scheme = "twilio";
    c.public_url = "https://dlrd.example.com/webhooks/twilio";
  });
  add([](SignatureConfig& c) { c.scheme = "vonage-jwt"; });
  add([](SignatureConfig& c) {
    c.scheme = "vonage-sig";
    c.algorithm = "sha256";
  });
  add([](SignatureConfig& c) {
    c.scheme = "vonage-sig";
    c.algorithm = "md5hash";
  });
  add([](SignatureConfig& c) {
    c.scheme = "sinch";
    c.variant = "application";
    c.application_key = "5f3c2a1e-fuzz-4b1d-9e7a-000000000000";
    c.secrets = {kB64Secret, kB64Secret2};
  });
  add([](SignatureConfig& c) {
    c.scheme = "sinch";
    c.variant = "nonce";
    c.secrets = {kB64Secret, kB64Secret2};
  });
  add([](SignatureConfig& c) {
    c.scheme = "sinch";
    c.variant = "numbers";
    c.secrets = {kB64Secret, kB64Secret2};
  });
  add([](SignatureConfig& c) {
    c.scheme = "stripe";
    c.secrets = {"whsec_fuzz_only_a", "whsec_fuzz_only_b"};
  });
  return out;
}

struct Scheme {
  std::unique_ptr<dlrd::SignatureVerifier> verifier;
  std::vector<dlrd::RejectReason> reasons;
};

const std::vector<Scheme>& Schemes() {
  static const auto* all = [] {
    auto* v = new std::vector<Scheme>;
    for (const SignatureConfig& c : Configs()) {
      auto made = dlrd::MakeSignatureVerifier(c);
      if (!made.ok()) {
        dlrd::fuzz::Fail("MakeSignatureVerifier failed",
                         made.status().message());
      }
      Scheme s;
      s.verifier = std::move(made).value();
      s.reasons = s.verifier->Reasons();
      v->push_back(std::move(s));
    }
    return v;
  }();
  return *all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const auto& schemes = Schemes();
  const Scheme& s = schemes[data[0] % schemes.size()];

  dlrd::fuzz::TextMessage m = dlrd::fuzz::ParseTextMessage(
      std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  std::string_view first = m.first_line;
  int64_t now = 1735689600;
  size_t sp = first.find(' ');
  std::string_view now_text = first.substr(0, sp);
  if (!now_text.empty()) {
    int64_t n = 0;
    auto [p, ec] =
        std::from_chars(now_text.data(), now_text.data() + now_text.size(), n);
    if (ec == std::errc() && p == now_text.data() + now_text.size()) now = n;
  }
  auto [method, target] = dlrd::fuzz::MethodAndTarget(
      sp == std::string_view::npos ? std::string_view() : first.substr(sp + 1));

  dlrd::InboundWebhook hook;
  hook.source = "fuzz";
  hook.method = method.empty() ? "POST" : method;
  hook.target = target.empty() ? "/webhooks/fuzz" : target;
  hook.headers = std::move(m.headers);
  hook.body = std::move(m.body);
  hook.client_ip = "192.0.2.1";

  dlrd::SignatureCheck check = s.verifier->Verify(hook, now);
  DLRD_FUZZ_CHECK(!check.valid, hook.Head());
  DLRD_FUZZ_CHECK(check.secret_index == -1, hook.Head());
  DLRD_FUZZ_CHECK(check.reason != dlrd::RejectReason::kNone, hook.Head());
  DLRD_FUZZ_CHECK(std::find(s.reasons.begin(), s.reasons.end(),
                            check.reason) != s.reasons.end(),
                  dlrd::ToString(check.reason));
  return 0;
}
