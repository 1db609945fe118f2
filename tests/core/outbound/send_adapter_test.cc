// Send adapters across providers: the factory's errors and base URL forms,
// every provider's names and idempotency, unknown statuses by range, error
// class labels, Retry-After forms and calling codes. What one provider's
// adapter builds, refuses and classifies is tested beside it, in
// src/core/providers/<name>/<name>_send_test.cc, with the same scaffolding
// (tests/testutil/send_adapter_fixture.h): no detail or error text carries
// the recipient number or a credential.
// Numbers are from fictional ranges only (UK 07700 900xxx, NANP 555-01xx).
#include "dlrd/core/outbound/send_adapter.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dlrd/core/model/phone.h"
#include "core/providers/sinch/sinch_send.h"
#include "core/providers/twilio/twilio_send.h"
#include "core/providers/verifynow/verifynow_send.h"
#include "core/providers/vonage/vonage_send.h"
// dlrd_send_adapter_test links dlrd_core only (no dlrd_testutil target).
#include "testutil/send_adapter_fixture.h"
#include "testutil/status_matchers.h"

namespace dlrd {
namespace {

using testutil::AdapterFor;
using testutil::ConfigFor;
using testutil::ExpectNoSecrets;
using testutil::kNowMs;
using testutil::RequestFor;
using E = SendErrorClass;

// --- Classify: statuses no provider documents -----------------------------

TEST(Classify, UnknownStatusesByRange) {
  for (const char* provider : {"verifynow", "twilio", "vonage", "sinch"}) {
    SCOPED_TRACE(provider);
    auto adapter = AdapterFor(provider);
    ASSERT_NE(adapter, nullptr);
    for (int status : {400, 404, 405, 410, 413, 418}) {
      EXPECT_EQ(adapter->Classify({status, {}, ""}, kNowMs).error,
                E::kRejected);
    }
    for (int status : {500, 502, 503, 504, 599}) {
      EXPECT_EQ(adapter->Classify({status, {}, "{}"}, kNowMs).error,
                E::kServer);
    }
    EXPECT_EQ(adapter->Classify({429, {}, "null"}, kNowMs).error,
              E::kRateLimited);
  }
}

// --- Provider properties --------------------------------------------------

TEST(Adapters, NamesAndIdempotency) {
  const struct {
    const char* name;
    bool idempotent;
  } cases[] = {{"verifynow", false},
               {"twilio", false},
               {"vonage", false},
               {"sinch", true}};
  for (const auto& c : cases) {
    auto adapter = AdapterFor(c.name);
    ASSERT_NE(adapter, nullptr);
    EXPECT_EQ(adapter->provider(), c.name);
    EXPECT_EQ(adapter->supports_idempotency_key(), c.idempotent) << c.name;
  }
  EXPECT_NE(dynamic_cast<VerifyNowSendAdapter*>(AdapterFor("verifynow").get()),
            nullptr);
  EXPECT_NE(dynamic_cast<TwilioSendAdapter*>(AdapterFor("twilio").get()),
            nullptr);
  EXPECT_NE(dynamic_cast<VonageSendAdapter*>(AdapterFor("vonage").get()),
            nullptr);
  EXPECT_NE(dynamic_cast<SinchSendAdapter*>(AdapterFor("sinch").get()),
            nullptr);
}

TEST(SendErrorClass, SnakeCaseLabels) {
  EXPECT_EQ(ToString(E::kNone), "none");
  std::vector<std::string_view> labels;
  for (E c : kAllSendErrorClasses) {
    std::string_view label = ToString(c);
    EXPECT_NE(label, "unknown");
    for (char ch : label) {
      EXPECT_TRUE((ch >= 'a' && ch <= 'z') || ch == '_') << label;
    }
    EXPECT_EQ(std::find(labels.begin(), labels.end(), label), labels.end());
    labels.push_back(label);
  }
  EXPECT_EQ(ToString(E::kInvalidNumber), "invalid_number");
  EXPECT_EQ(ToString(E::kRateLimited), "rate_limited");
}

// --- ParseRetryAfterMs -----------------------------------------------------

TEST(ParseRetryAfterMs, Forms) {
  const struct {
    const char* value;
    int64_t now_ms;
    int64_t want;
  } cases[] = {
      {"2", kNowMs, 2000},
      {"0", kNowMs, 0},
      {" 120\t", kNowMs, 120000},
      {"007", kNowMs, 7000},
      {"-5", kNowMs, 0},  // negative: clamped
      {"99999999999999999999999", kNowMs, (int64_t{1} << 31) * 1000},
      {"", kNowMs, -1},
      {"   ", kNowMs, -1},
      {"-", kNowMs, -1},
      {"1.5", kNowMs, -1},
      {"2 s", kNowMs, -1},
      {"+2", kNowMs, -1},
      {"soon", kNowMs, -1},
      // IMF-fixdate, RFC 850 and asctime, each 10 s after now.
      {"Sun, 06 Nov 1994 08:49:47 GMT", kNowMs, 10000},
      {"Sunday, 06-Nov-94 08:49:47 GMT", kNowMs, 10000},
      {"Sun Nov  6 08:49:47 1994", kNowMs, 10000},
      {"Sun Nov 16 08:49:37 1994", kNowMs, 10 * 86400000LL},
      // In the past or now: 0.
      {"Sun, 06 Nov 1994 08:49:36 GMT", kNowMs, 0},
      {"Sun, 06 Nov 1994 08:49:37 GMT", kNowMs, 0},
      {"Thu, 01 Jan 1970 00:00:00 GMT", kNowMs, 0},
      // Surrounding OWS is skipped around a date too.
      {" Sun, 06 Nov 1994 08:49:47 GMT\t", kNowMs, 10000},
      // A malformed date is unparsable (the date forms themselves are
      // ParseHttpDateMs's tests).
      {"Sun, 29 Feb 2023 00:00:00 GMT", kNowMs, -1},
      {"2030-11-06T08:49:37Z", kNowMs, -1},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.value);
    EXPECT_EQ(ParseRetryAfterMs(c.value, c.now_ms), c.want);
  }
}

// --- MakeSendAdapter errors -------------------------------------------------

TEST(MakeSendAdapter, Errors) {
  const struct {
    const char* provider;
    const char* key;    // "credentials.<k>" edits a credential, else a field
    const char* value;  // nullptr: erase the credential
    const char* error;
  } cases[] = {
      {"", "", "", "providers: provider name missing"},
      {"x", "", "",
       "providers.x: unknown provider (verifynow, twilio, "
       "vonage, sinch)"},
      {"twilio", "credentials.service_sid", nullptr,
       "providers.twilio.credentials.service_sid: missing"},
      {"twilio", "credentials.account_sid", nullptr,
       "providers.twilio.credentials.account_sid: missing"},
      {"twilio", "credentials.auth_token", "",
       "providers.twilio.credentials.auth_token: missing"},
      {"twilio", "credentials.auth_token", "tw-secret-token\r\nX-Evil: 1",
       "providers.twilio.credentials.auth_token: contains control characters"},
      {"twilio", "credentials.service_sid", "VA/../Services",
       "providers.twilio.credentials.service_sid: must be letters and digits"},
      {"verifynow", "credentials.auth_token", nullptr,
       "providers.verifynow.credentials.auth_token: missing"},
      {"verifynow", "credentials.customer_id", nullptr,
       "providers.verifynow.credentials.customer_id: missing"},
      {"vonage", "credentials.api_key", nullptr,
       "providers.vonage.credentials.api_key: missing"},
      {"vonage", "credentials.api_secret", nullptr,
       "providers.vonage.credentials.api_secret: missing"},
      {"vonage", "credentials.brand", nullptr,
       "providers.vonage.credentials.brand: missing"},
      {"vonage", "credentials.brand", "A brand far too long for it",
       "providers.vonage.credentials.brand: 1-18 characters, none of / { } : "
       "$"},
      {"vonage", "credentials.brand", "Acme:1",
       "providers.vonage.credentials.brand: 1-18 characters, none of / { } : "
       "$"},
      {"vonage", "credentials.whatsapp_from", "+44-7700",
       "providers.vonage.credentials.whatsapp_from: must be letters and "
       "digits"},
      {"sinch", "credentials.application_key", nullptr,
       "providers.sinch.credentials.application_key: missing"},
      {"sinch", "credentials.application_secret", nullptr,
       "providers.sinch.credentials.application_secret: missing"},
      {"twilio", "base_url", "", "providers.twilio.base_url: missing"},
      {"twilio", "base_url", "/", "providers.twilio.base_url: missing"},
      {"twilio", "base_url", "http://verify.twilio.com",
       "providers.twilio.base_url: must be https://"},
      {"sinch", "base_url", "ftp://verification.api.sinch.com",
       "providers.sinch.base_url: must be https://"},
      {"twilio", "base_url", "verify.twilio.com",
       "providers.twilio.base_url: not an absolute URL"},
      {"twilio", "base_url", "https://verify twilio.com",
       "providers.twilio.base_url: not an absolute URL"},
      {"vonage", "base_url", "https://", "providers.vonage.base_url: no host"},
      {"vonage", "base_url", "https:/api.nexmo.com",
       "providers.vonage.base_url: no host"},
      {"vonage", "base_url", "https://api.nexmo.com?x=1",
       "providers.vonage.base_url: user info, query and fragment are not "
       "allowed"},
      {"vonage", "base_url", "https://vkey1:vonage-secret-1@api.nexmo.com",
       "providers.vonage.base_url: user info, query and fragment are not "
       "allowed"},
      {"vonage", "base_url", "https://api.nexmo.com#x",
       "providers.vonage.base_url: user info, query and fragment are not "
       "allowed"},
      {"sinch", "connect_timeout_ms", "0",
       "providers.sinch.connect_timeout_ms: must be > 0"},
      {"sinch", "request_timeout_ms", "-1",
       "providers.sinch.request_timeout_ms: must be > 0"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.provider) + " " + c.key);
    ProviderConfig config = ConfigFor(c.provider);
    config.name = c.provider;
    std::string_view key = c.key;
    if (key.starts_with("credentials.")) {
      std::string cred(key.substr(12));
      if (c.value) {
        config.credentials[cred] = c.value;
      } else {
        config.credentials.erase(cred);
      }
    } else if (key == "base_url") {
      config.base_url = c.value;
    } else if (key == "connect_timeout_ms") {
      config.connect_timeout_ms = std::stoll(c.value);
    } else if (key == "request_timeout_ms") {
      config.request_timeout_ms = std::stoll(c.value);
    }
    auto made = MakeSendAdapter(config);
    ASSERT_FALSE(made.ok());
    EXPECT_EQ(made.status().message(), c.error);
    ExpectNoSecrets(made.status().message());
  }
}

TEST(MakeSendAdapter, BaseUrlForms) {
  const struct {
    const char* base_url;
    const char* url;
  } cases[] = {
      {"https://verify.twilio.com",
       "https://verify.twilio.com/v2/Services/VAservice1/Verifications"},
      {"https://verify.twilio.com/",
       "https://verify.twilio.com/v2/Services/VAservice1/Verifications"},
      {"HTTPS://127.0.0.1:8443/twilio//",
       "HTTPS://127.0.0.1:8443/twilio/v2/Services/VAservice1/Verifications"},
      {"https://[::1]:9/",
       "https://[::1]:9/v2/Services/VAservice1/Verifications"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.base_url);
    ProviderConfig config = ConfigFor("twilio");
    config.base_url = c.base_url;
    auto made = MakeSendAdapter(config);
    ASSERT_OK(made);
    auto call = made.value()->Build(RequestFor(Channel::kSms));
    ASSERT_OK(call);
    EXPECT_EQ(call.value().url, c.url);
  }
}

// --- CallingCodeOf (added to core/phone.h for the VerifyNow split) -----------

TEST(CallingCodeOf, LongestAssignedPrefix) {
  const struct {
    const char* e164;
    const char* code;
  } cases[] = {
      {"+447700900123", "44"},
      {"+12125550123", "1"},
      {"+14165550123", "1"},
      {"+353855550123", "353"},
      {"+61491570156", "61"},
      {"+74955550123", "7"},
      {"+999770090012", ""},
      {"447700900123", ""},
      {"+", ""},
      {"", ""},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(CallingCodeOf(c.e164), c.code) << c.e164;
  }
}

}  // namespace
}  // namespace dlrd