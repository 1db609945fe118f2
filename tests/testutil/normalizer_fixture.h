// Scaffolding shared by the payload normalizer tests
// (src/core/providers/<name>/*_normalizer_test.cc): fixture bodies under
// src/core/providers/<name>/testdata/<dir>, the webhook and context they are
// normalized with, gtest names for fixture-driven cases, and the assertions
// every format repeats (FixtureFormat and the Expect*Fixture* helpers below),
// so that a format's test file holds its case tables and what only that
// format does. Needs DLRD_TEST_DATA_DIR.
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
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

// Reads src/core/providers/<name>/testdata/<dir>/<name> byte for byte; fails
// the test if it cannot be opened.
inline std::string ReadFixture(std::string_view dir, std::string_view name) {
  std::ifstream in(FixtureDir(dir) / name, std::ios::binary);
  EXPECT_TRUE(in.is_open()) << "cannot open fixture " << dir << "/" << name;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The names of the regular files in src/core/providers/<name>/testdata/<dir>
// but its README.md; fails the test (and returns none) if the directory does
// not exist.
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

// --- One format's fixtures and the checks every format repeats -------------

// A payload format under test: where its fixtures are, the source they are
// posted to, the provider its events name, and how a fixture arrives.
struct FixtureFormat {
  std::string_view dir;       // src/core/providers/<name>/testdata/<dir>
  std::string_view source;    // the configured source (context and path)
  std::string_view provider;  // DeliveryEvent::provider
  std::string_view content_type = kJsonType;
  // Fixtures whose name ends in this are form bodies, posted as kFormType
  // ("": none but those of a format whose content_type is kFormType).
  std::string_view form_suffix = "";
  // Its fixtures carry no trailing newline (form bodies never do: a newline
  // would be part of the last value).
  bool no_trailing_newline = false;
  // It may answer a webhook with a reply body (else every valid fixture is
  // checked to have none).
  bool replies = false;

  std::string_view ContentTypeOf(std::string_view file) const {
    if (!form_suffix.empty() && file.ends_with(form_suffix)) return kFormType;
    return content_type;
  }
  // A POST of `body` to /webhooks/<source> with the format's content type.
  InboundWebhook HookWithBody(std::string body) const {
    return MakeHook(source, content_type, std::move(body));
  }
  // A POST of fixture `file`, with the content type it is sent with.
  InboundWebhook Hook(std::string_view file) const {
    return MakeHook(source, ContentTypeOf(file), ReadFixture(dir, file));
  }
  NormalizeContext Context(std::string event_id = "") const {
    return MakeContext(source, kReceivedAtMs, std::move(event_id));
  }
};

// The fixture file of a table entry: the entry itself or its `file` member.
template <typename Case>
std::string FixtureFileOf(const Case& c) {
  if constexpr (std::is_convertible_v<const Case&, std::string_view>) {
    return std::string(std::string_view(c));
  } else {
    return std::string(c.file);
  }
}

// The case tables cover the fixture directory exactly (`on_disk` files but
// its README.md), so no test passes vacuously and no fixture goes unchecked.
template <typename... Tables>
void ExpectTablesCoverFixtureDir(std::string_view dir, size_t on_disk,
                                 const Tables&... tables) {
  std::multiset<std::string> listed;
  (
      [&listed](const auto& table) {
        for (const auto& c : table) listed.insert(FixtureFileOf(c));
      }(tables),
      ...);
  const std::multiset<std::string> names = ListFixtures(dir);
  EXPECT_EQ(names.size(), on_disk);
  EXPECT_EQ(listed, names);
}

// What one event normalized from a fixture carries; source, provider and
// received_at_ms come from the format and the context.
struct EventFields {
  std::string verification_id;
  std::string message_id;
  Channel channel;
  DeliveryStatus status;
  std::string raw_status;
  std::string error_code;
  std::optional<int64_t> latency_ms;
  std::string recipient;
  std::string country;
  std::string dedupe_key;  // without a signature event id
};

inline void ExpectEventFields(const FixtureFormat& f, const EventFields& want,
                              const DeliveryEvent& e) {
  EXPECT_EQ(e.source, f.source);
  EXPECT_EQ(e.provider, f.provider);
  EXPECT_EQ(e.verification_id, want.verification_id);
  EXPECT_EQ(e.message_id, want.message_id);
  EXPECT_EQ(e.channel, want.channel) << ToString(e.channel);
  EXPECT_EQ(e.status, want.status) << ToString(e.status);
  EXPECT_EQ(e.raw_status, want.raw_status);
  EXPECT_EQ(e.error_code, want.error_code);
  EXPECT_EQ(e.latency_ms, want.latency_ms);
  EXPECT_EQ(e.recipient, want.recipient);
  EXPECT_EQ(e.country, want.country);
  EXPECT_EQ(e.received_at_ms, kReceivedAtMs);
}

// Normalizes fixture `file` without a signature event id: it succeeds with
// the events `want` in body order, each keyed by its dedupe_key, and no reply
// unless the format replies. `also`, if given, checks the result further.
inline void ExpectValidFixture(
    const PayloadNormalizer& normalizer, const FixtureFormat& f,
    std::string_view file, const std::vector<EventFields>& want,
    const std::function<void(const Normalized&)>& also = nullptr) {
  const InboundWebhook hook = f.Hook(file);
  ASSERT_FALSE(hook.body.empty());
  if (f.no_trailing_newline || f.ContentTypeOf(file) == kFormType) {
    ASSERT_NE(hook.body.back(), '\n') << "fixtures carry no trailing newline";
  }
  Result<Normalized> r = normalizer.Normalize(hook, f.Context());
  ASSERT_TRUE(r.ok()) << r.status().message();
  if (!f.replies) {
    EXPECT_FALSE(r.value().reply.has_value());
  }
  const std::vector<DeliveryEvent>& events = r.value().events;
  ASSERT_EQ(events.size(), want.size());
  for (size_t i = 0; i < events.size(); ++i) {
    SCOPED_TRACE("event " + std::to_string(i));
    ExpectEventFields(f, want[i], events[i]);
    EXPECT_EQ(events[i].dedupe_key, want[i].dedupe_key);
  }
  if (also) also(r.value());
}

// Checks the dedupe key of event `i` normalized with the signature event id
// kEventId.
using EventIdKeyCheck = std::function<void(size_t i, const std::string& key)>;

// Normalizes fixture `file` with the signature event id kEventId: the same
// events as without, keys distinct within the body, each key checked by
// `key_check` (by default: the key is kEventId itself, as for a format whose
// bodies are one event).
inline void ExpectValidFixtureWithEventId(
    const PayloadNormalizer& normalizer, const FixtureFormat& f,
    std::string_view file, const std::vector<EventFields>& want,
    const EventIdKeyCheck& key_check = nullptr) {
  Result<Normalized> r =
      normalizer.Normalize(f.Hook(file), f.Context(kEventId));
  ASSERT_TRUE(r.ok()) << r.status().message();
  const std::vector<DeliveryEvent>& events = r.value().events;
  ASSERT_EQ(events.size(), want.size());
  for (size_t i = 0; i < events.size(); ++i) {
    SCOPED_TRACE("event " + std::to_string(i));
    ExpectEventFields(f, want[i], events[i]);
    if (key_check) {
      key_check(i, events[i].dedupe_key);
    } else {
      EXPECT_EQ(events[i].dedupe_key, kEventId);
    }
  }
  EXPECT_TRUE(HaveDistinctDedupeKeys(events));
}

// A body the format accepts without an event (an inbound message, a callback
// type it does not know): no event, no reply.
inline void ExpectAcceptedWithoutEvents(const PayloadNormalizer& normalizer,
                                        const FixtureFormat& f,
                                        std::string_view file) {
  Result<Normalized> r = normalizer.Normalize(f.Hook(file), f.Context());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r.value().events.empty());
  EXPECT_FALSE(r.value().reply.has_value());
}

// Normalizes rejected fixture `c.file` (with a signature event id): it fails
// with exactly `c.error`, and `leak_check` (by default ExpectNoNumberLeak)
// finds no value of the body in the message.
inline void ExpectInvalidFixture(const PayloadNormalizer& normalizer,
                                 const FixtureFormat& f, const InvalidCase& c,
                                 const std::function<void(const std::string&)>&
                                     leak_check = ExpectNoNumberLeak) {
  Result<Normalized> r =
      normalizer.Normalize(f.Hook(c.file), f.Context(kEventId));
  ASSERT_FALSE(r.ok());
  const std::string& message = r.status().message();
  EXPECT_EQ(message, c.error);
  leak_check(message);
}

// The normalizer accepts each of `accepted` Content-Types and none of
// `rejected`.
inline void ExpectContentTypes(const PayloadNormalizer& normalizer,
                               std::initializer_list<const char*> accepted,
                               std::initializer_list<const char*> rejected) {
  for (const char* type : accepted) {
    EXPECT_TRUE(normalizer.AcceptsContentType(type)) << '"' << type << '"';
  }
  for (const char* type : rejected) {
    EXPECT_FALSE(normalizer.AcceptsContentType(type)) << '"' << type << '"';
  }
}

// MakePayloadNormalizer(format) makes a `Normalizer` naming `provider`.
template <typename Normalizer>
void ExpectFactoryMakes(std::string_view format, std::string_view provider) {
  Result<std::unique_ptr<PayloadNormalizer>> r = MakePayloadNormalizer(format);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_NE(r.value(), nullptr);
  EXPECT_EQ(r.value()->provider(), provider);
  EXPECT_NE(dynamic_cast<Normalizer*>(r.value().get()), nullptr);
}

}  // namespace dlrd::testutil
