// Scaffolding shared by the payload normalizer tests (tests/core/
// *_normalizer_test.cc): fixture bodies under src/core/providers/<name>/testdata/<dir>, the webhook
// and context they are normalized with, gtest names for fixture-driven
// cases, and the assertions every format repeats. Needs DLRD_TEST_DATA_DIR.
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "dlrd/core/model/delivery.h"
#include "dlrd/core/model/inbound_webhook.h"
#include "dlrd/core/normalize/payload_normalizer.h"

#ifndef DLRD_TEST_DATA_DIR
#error "normalizer_fixture.h needs DLRD_TEST_DATA_DIR (tests/data)"
#endif

namespace dlrd::testutil {

// dlrd's clock and a signature event id, the same in every format's tests.
inline constexpr int64_t kReceivedAtMs = 1735689600123;
inline constexpr char kEventId[] = "msg_2b7Jd9QkzX1c0mVnW4pA";

inline constexpr char kJsonType[] = "application/json";
inline constexpr char kFormType[] = "application/x-www-form-urlencoded";

// src/core/providers/<name>/testdata/<dir>: one format's fixtures.
inline std::filesystem::path FixtureDir(std::string_view dir) {
  return std::filesystem::path(DLRD_TEST_DATA_DIR) / dir;
}

// Reads src/core/providers/<name>/testdata/<dir>/<name> byte for byte; fails the test if it cannot
// be opened.
inline std::string ReadFixture(std::string_view dir, std::string_view name) {
  std::ifstream in(FixtureDir(dir) / name, std::ios::binary);
  EXPECT_TRUE(in.is_open()) << "cannot open fixture " << dir << "/" << name;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The names of the regular files in src/core/providers/<name>/testdata/<dir> but its README.md;
// fails the test (and returns none) if the directory does not exist.
inline std::multiset<std::string> ListFixtures(std::string_view dir) {
  std::multiset<std::string> names;
  const std::filesystem::path path = FixtureDir(dir);
  if (!std::filesystem::is_directory(path)) {
    ADD_FAILURE() << "not a directory: " << path;
    return names;
  }
  for (const std::filesystem::directory_entry& e :
       std::filesystem::directory_iterator(path)) {
    std::string name = e.path().filename().string();
    if (e.is_regular_file() && name != "README.md") names.insert(name);
  }
  return names;
}

// A POST of `body` to /webhooks/<source> with that Content-Type.
inline InboundWebhook MakeHook(std::string_view source,
                               std::string_view content_type,
                               std::string body) {
  InboundWebhook hook;
  hook.source = source;
  hook.method = "POST";
  hook.target = "/webhooks/" + std::string(source);
  hook.headers = {{"Content-Type", std::string(content_type)}};
  hook.body = std::move(body);
  return hook;
}

inline NormalizeContext MakeContext(std::string_view source,
                                    int64_t received_at_ms,
                                    std::string event_id) {
  NormalizeContext ctx;
  ctx.source = source;
  ctx.received_at_ms = received_at_ms;
  ctx.event_id = std::move(event_id);
  return ctx;
}

// A gtest name for a fixture file: its name up to the first '.', with every
// character but a letter or digit turned into '_'.
inline std::string FixtureTestName(std::string_view file) {
  std::string name;
  for (char c : file.substr(0, file.find('.'))) {
    name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  }
  return name;
}

// The name generator of INSTANTIATE_TEST_SUITE_P for a parameter that is a
// fixture file name or a case with a `file` member.
struct FixtureParamName {
  template <typename Case>
  std::string operator()(const testing::TestParamInfo<Case>& info) const {
    if constexpr (std::is_convertible_v<const Case&, std::string_view>) {
      return FixtureTestName(info.param);
    } else {
      return FixtureTestName(info.param.file);
    }
  }
};

// A fixture the format rejects, and the exact error message it gives.
struct InvalidCase {
  const char* file;
  const char* error;
};

inline void PrintTo(const InvalidCase& c, std::ostream* os) { *os << c.file; }

// The country a fixture recipient is expected to resolve to. Fixtures use
// only +44 7700 900xxx (GB) and +1 202 555-01xx (US); "" for no recipient.
inline std::string_view FixtureCountry(std::string_view recipient) {
  if (recipient.empty()) return "";
  if (recipient.starts_with("+44")) return "GB";
  if (recipient.starts_with("+1")) return "US";
  return "?";
}

inline testing::AssertionResult HasNoDigit(std::string_view text) {
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      return testing::AssertionFailure()
             << "\"" << text << "\" contains a digit";
    }
  }
  return testing::AssertionSuccess();
}

// Error messages name fields, never values. Every rejecting fixture that
// carries a number uses +44 7700 900xxx: the message may not echo it, nor
// contain any digit at all.
inline void ExpectNoNumberLeak(const std::string& message) {
  EXPECT_EQ(message.find("7700"), std::string::npos) << message;
  EXPECT_TRUE(HasNoDigit(message));
}

// Success iff no two of `events` share a dedupe key.
inline testing::AssertionResult HaveDistinctDedupeKeys(
    const std::vector<DeliveryEvent>& events) {
  std::set<std::string> keys;
  for (const DeliveryEvent& e : events) {
    if (!keys.insert(e.dedupe_key).second) {
      return testing::AssertionFailure()
             << "two events share the key " << e.dedupe_key;
    }
  }
  return testing::AssertionSuccess();
}

// How a provider's retry of `hook` differs from the first delivery while
// carrying the same body: it is signed again (a new signature timestamp and
// signature), carries retry/idempotency headers, its headers come in
// another order and case (a proxy or HTTP/2 hop lowercases them), and it may
// come from another of the provider's addresses.
inline InboundWebhook ProviderRetryOf(const InboundWebhook& hook) {
  InboundWebhook retry = hook;
  retry.headers.assign(hook.headers.rbegin(), hook.headers.rend());
  for (auto& [name, value] : retry.headers) {
    for (char& c : name) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  retry.headers.insert(
      retry.headers.begin(),
      {{"webhook-timestamp", "1735689717"},
       {"webhook-signature", "v1,cmV0cnktc2lnbmF0dXJlLW5vdC10aGUtZmlyc3Q="},
       {"X-Twilio-Signature", "bm90LXRoZS1maXJzdC1zaWduYXR1cmU="},
       {"I-Twilio-Idempotency-Token", "8f1c2d3e-retry-2"},
       {"X-Retry-Count", "2"},
       {"Date", "Wed, 01 Jan 2025 00:01:57 GMT"}});
  retry.client_ip = "198.51.100.23";
  return retry;
}

// Normalizes `hook` and a provider's retry of it (ProviderRetryOf(hook),
// received ~2 minutes later by dlrd's clock, with the same signature event
// id): both succeed, with the same dedupe keys in the same order, so the
// retry is dropped as a duplicate.
inline void ExpectStableDedupeKeys(const PayloadNormalizer& normalizer,
                                   const InboundWebhook& hook,
                                   const NormalizeContext& ctx) {
  const InboundWebhook retry = ProviderRetryOf(hook);
  NormalizeContext retry_ctx = ctx;
  retry_ctx.received_at_ms += 117'000;
  Result<Normalized> a = normalizer.Normalize(hook, ctx);
  Result<Normalized> b = normalizer.Normalize(retry, retry_ctx);
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok()) << b.status().message();
  const std::vector<DeliveryEvent>& x = a.value().events;
  const std::vector<DeliveryEvent>& y = b.value().events;
  ASSERT_EQ(x.size(), y.size());
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(x[i].dedupe_key, y[i].dedupe_key) << "event " << i;
    // The retry really was seen later: the key ignores when it arrived.
    EXPECT_EQ(y[i].received_at_ms, retry_ctx.received_at_ms) << "event " << i;
  }
}

// The events take their source from the context (the configured source),
// never from the webhook: `hook` arrives with another source, and every
// event it normalizes to carries ctx.source.
inline void ExpectSourceFromContext(const PayloadNormalizer& normalizer,
                                    InboundWebhook hook,
                                    const NormalizeContext& ctx) {
  hook.source = "path-segment";
  Result<Normalized> r = normalizer.Normalize(hook, ctx);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_FALSE(r.value().events.empty());
  for (const DeliveryEvent& e : r.value().events) {
    EXPECT_EQ(e.source, ctx.source);
  }
}

}  // namespace dlrd::testutil
