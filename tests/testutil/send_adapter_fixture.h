// Scaffolding shared by the send adapter tests (src/core/providers/<name>/
// <name>_send_test.cc and tests/core/outbound/send_adapter_test.cc): one
// configuration per provider with recognisable fake credentials, the request
// every case sends, the case tables' shapes (the exact request built, a
// refused request, the class of a reply) and the checks run on each, and that
// no detail or error text carries the recipient number or a credential.
// Numbers are from fictional ranges only (UK 07700 900xxx, NANP 555-01xx).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dlrd/core/outbound/send_adapter.h"
#include "testutil/status_matchers.h"

namespace dlrd::testutil {

inline constexpr char kBase[] = "https://mock.test:8443/api";
inline constexpr char kNumber[] = "+447700900123";
// Sun, 06 Nov 1994 08:49:37 GMT
inline constexpr int64_t kNowMs = 784111777000;

// Substrings that must never appear in a detail or an error message.
inline constexpr const char* kSecrets[] = {
    "7700900",       "vn-secret-token", "C-CUST1",  "tw-secret-token",
    "ACtestsid",     "vonage-secret-1", "vkey1",    "sinch-secret-1",
    "sinch-app-key", "QUN0ZXN0",        "dmtleTE6", "c2luY2gt"};

inline void ExpectNoSecrets(std::string_view text) {
  for (const char* s : kSecrets) {
    EXPECT_EQ(text.find(s), std::string_view::npos)
        << "'" << text << "' contains '" << s << "'";
  }
}

inline ProviderConfig ConfigFor(std::string_view name) {
  ProviderConfig c;
  c.name = std::string(name);
  c.base_url = kBase;
  if (name == "verifynow") {
    c.credentials = {{"auth_token", "vn-secret-token"},
                     {"customer_id", "C-CUST1"}};
  } else if (name == "twilio") {
    c.credentials = {{"account_sid", "ACtestsid"},
                     {"auth_token", "tw-secret-token"},
                     {"service_sid", "VAservice1"}};
  } else if (name == "vonage") {
    c.credentials = {{"api_key", "vkey1"},
                     {"api_secret", "vonage-secret-1"},
                     {"brand", "Acme"},
                     {"whatsapp_from", "447700400080"}};
  } else if (name == "sinch") {
    c.credentials = {{"application_key", "sinch-app-key"},
                     {"application_secret", "sinch-secret-1"}};
  }
  return c;
}

inline std::unique_ptr<SendAdapter> AdapterFor(std::string_view name) {
  auto made = MakeSendAdapter(ConfigFor(name));
  EXPECT_OK(made);
  return made.ok() ? std::move(made).value() : nullptr;
}

inline SendRequest RequestFor(Channel channel,
                              std::string recipient = kNumber) {
  SendRequest r;
  r.root_id = "root-1";
  r.step = 1;
  r.channel = channel;
  r.recipient = std::move(recipient);
  r.idempotency_key = "root-1:1";
  return r;
}

// --- Build: the exact request -------------------------------------------

struct BuildCase {
  const char* provider;
  Channel channel;
  const char* url;
  HeaderList headers;
  const char* body;
};

inline void PrintTo(const BuildCase& c, std::ostream* os) {
  *os << c.provider << "/" << ToString(c.channel);
}

// The provider's adapter builds exactly this POST for RequestFor(channel).
inline void ExpectExactRequest(const BuildCase& c) {
  auto adapter = AdapterFor(c.provider);
  ASSERT_NE(adapter, nullptr);
  Result<HttpCall> call = adapter->Build(RequestFor(c.channel));
  ASSERT_OK(call);
  EXPECT_EQ(call.value().method, "POST");
  EXPECT_EQ(call.value().url, c.url);
  EXPECT_EQ(call.value().headers, c.headers);
  EXPECT_EQ(call.value().body, c.body);
}

struct BuildErrorCase {
  const char* provider;
  Channel channel;
  const char* recipient;
  const char* error;
};

inline void PrintTo(const BuildErrorCase& c, std::ostream* os) {
  *os << c.provider << "/" << ToString(c.channel) << "/" << c.recipient;
}

// The provider's adapter refuses the request with exactly c.error, which
// carries no secret.
inline void ExpectRefused(const BuildErrorCase& c) {
  auto adapter = AdapterFor(c.provider);
  ASSERT_NE(adapter, nullptr);
  auto call = adapter->Build(RequestFor(c.channel, c.recipient));
  ASSERT_FALSE(call.ok());
  EXPECT_EQ(call.status().message(), c.error);
  ExpectNoSecrets(call.status().message());
}

// --- Classify: every reply class ----------------------------------------

struct ClassifyCase {
  const char* name;
  const char* provider;
  int status;
  const char* retry_after;  // nullptr: no header
  const char* body;
  SendErrorClass error;
  const char* provider_ref;
  int64_t retry_after_ms;
  const char* provider_code;
  const char* detail;
};

inline void PrintTo(const ClassifyCase& c, std::ostream* os) { *os << c.name; }

// The gtest name of a classify case: its name.
struct ClassifyCaseName {
  std::string operator()(
      const ::testing::TestParamInfo<ClassifyCase>& info) const {
    return std::string(info.param.name);
  }
};

// The provider's adapter classifies the reply (at kNowMs) as the case says,
// and neither the detail nor the provider code carries a secret.
inline void ExpectOutcome(const ClassifyCase& c) {
  auto adapter = AdapterFor(c.provider);
  ASSERT_NE(adapter, nullptr);
  HttpReply reply;
  reply.status = c.status;
  reply.headers = {{"Content-Type", "application/json"}};
  if (c.retry_after) reply.headers.emplace_back("retry-after", c.retry_after);
  reply.body = c.body;
  SendOutcome out = adapter->Classify(reply, kNowMs);
  EXPECT_EQ(ToString(out.error), ToString(c.error));
  EXPECT_EQ(out.accepted(), c.error == SendErrorClass::kNone);
  EXPECT_EQ(out.provider_ref, c.provider_ref);
  EXPECT_EQ(out.retry_after_ms, c.retry_after_ms);
  EXPECT_EQ(out.provider_code, c.provider_code);
  EXPECT_EQ(out.detail, c.detail);
  ExpectNoSecrets(out.detail);
  ExpectNoSecrets(out.provider_code);
}

// Every class an HTTP reply can have has a case of `provider` in `cases`;
// the transport classes (kTimeout, kNetwork) never come from Classify().
template <typename Cases>
void ExpectCoversTheReplyClasses(std::string_view provider,
                                 const Cases& cases) {
  using E = SendErrorClass;
  std::vector<E> seen;
  for (const ClassifyCase& c : cases) {
    if (std::string_view(c.provider) == provider) seen.push_back(c.error);
  }
  for (E want : {E::kNone, E::kInvalidNumber, E::kFraud, E::kRateLimited,
                 E::kServer, E::kRejected}) {
    EXPECT_NE(std::find(seen.begin(), seen.end(), want), seen.end())
        << provider << " has no case for " << ToString(want);
  }
}

}  // namespace dlrd::testutil
