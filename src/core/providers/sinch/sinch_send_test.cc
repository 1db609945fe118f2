// Sinch send adapter: the exact request it builds, the requests it
// refuses and the class of every reply, checked by the shared send adapter
// fixture; numbers are from fictional ranges only.
#include "core/providers/sinch/sinch_send.h"

#include <gtest/gtest.h>

#include <string>

#include "dlrd/core/outbound/send_adapter.h"
#include "testutil/send_adapter_fixture.h"
#include "testutil/status_matchers.h"

namespace dlrd {
namespace {

using testutil::AdapterFor;
using testutil::BuildCase;
using testutil::BuildErrorCase;
using testutil::ClassifyCase;
using testutil::kNumber;
using testutil::RequestFor;
using E = SendErrorClass;

// --- Build: the exact request -------------------------------------------

const HeaderList kSinchHeaders = {
    {"Authorization", "Basic c2luY2gtYXBwLWtleTpzaW5jaC1zZWNyZXQtMQ=="},
    {"Content-Type", "application/json"}};

const BuildCase kBuildCases[] = {
    {"sinch", Channel::kSms,
     "https://mock.test:8443/api/verification/v1/verifications", kSinchHeaders,
     R"({"identity":{"endpoint":"+447700900123","type":"number"},)"
     R"("method":"sms","reference":"root-1:1"})"},
    {"sinch", Channel::kWhatsapp,
     "https://mock.test:8443/api/verification/v1/verifications", kSinchHeaders,
     R"({"identity":{"endpoint":"+447700900123","type":"number"},)"
     R"("method":"whatsapp","reference":"root-1:1"})"},
    {"sinch", Channel::kVoice,
     "https://mock.test:8443/api/verification/v1/verifications", kSinchHeaders,
     R"({"identity":{"endpoint":"+447700900123","type":"number"},)"
     R"("method":"callout","reference":"root-1:1"})"},
};

class BuildTest : public ::testing::TestWithParam<BuildCase> {};

TEST_P(BuildTest, ExactRequest) { testutil::ExpectExactRequest(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Sinch, BuildTest, ::testing::ValuesIn(kBuildCases));

const BuildErrorCase kBuildErrorCases[] = {
    {"sinch", Channel::kOther, kNumber, "sinch: channel other not supported"},
    // Not E.164: the error names the field, never the value.
    {"sinch", Channel::kSms, "+4477009",
     "sinch: recipient is not E.164 (+ and 8-15 digits)"},
    {"sinch", Channel::kSms, "",
     "sinch: recipient is not E.164 (+ and 8-15 digits)"},
};

class BuildErrorTest : public ::testing::TestWithParam<BuildErrorCase> {};

TEST_P(BuildErrorTest, Refused) { testutil::ExpectRefused(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Sinch, BuildErrorTest,
                         ::testing::ValuesIn(kBuildErrorCases));

// --- Classify: every reply class ----------------------------------------

const ClassifyCase kClassifyCases[] = {
    // Sinch.
    {"si_accepted", "sinch", 200, nullptr,
     R"({"id":"1234567890","method":"sms","sms":{"template":"Your code is )"
     R"({{CODE}}"},"_links":[]})",
     E::kNone, "1234567890", -1, "", "sinch 200: accepted"},
    {"si_no_id", "sinch", 200, nullptr, R"({"method":"sms"})", E::kRejected, "",
     -1, "", "sinch 200: no id in reply"},
    {"si_duplicate", "sinch", 409, nullptr,
     R"({"errorCode":40900,"message":"Reference already defined.",)"
     R"("reference":"a2028355"})",
     E::kNone, "", -1, "40900",
     "sinch 409 40900: duplicate reference, accepted earlier"},
    {"si_409_other", "sinch", 409, nullptr, R"({"errorCode":40901})",
     E::kRejected, "", -1, "40901", "sinch 409 40901: rejected"},
    {"si_blacklisted", "sinch", 403, nullptr,
     R"({"errorCode":40300,"message":"Identity is blacklisted."})", E::kFraud,
     "", -1, "40300", "sinch 403 40300: identity is blacklisted"},
    {"si_restricted", "sinch", 403, nullptr,
     R"({"errorCode":"40303","message":"Callback URL must be set"})",
     E::kRejected, "", -1, "40303", "sinch 403 40303: rejected"},
    {"si_invalid_number", "sinch", 400, nullptr,
     R"({"errorCode":40001,"message":"Number +447700900123 is invalid. )"
     R"(Too long."})",
     E::kInvalidNumber, "", -1, "40001", "sinch 400 40001: invalid number"},
    {"si_invalid_identity", "sinch", 400, nullptr,
     R"({"errorCode":"40003","message":"Invalid identity or code."})",
     E::kInvalidNumber, "", -1, "40003", "sinch 400 40003: invalid number"},
    {"si_invalid_method", "sinch", 400, nullptr,
     R"({"errorCode":40001,"message":"Method must be one of ..."})",
     E::kRejected, "", -1, "40001", "sinch 400 40001: rejected"},
    {"si_credit", "sinch", 402, nullptr,
     R"({"errorCode":40200,"message":"Not enough credit."})", E::kRejected, "",
     -1, "40200", "sinch 402 40200: not enough credit"},
    {"si_no_route", "sinch", 422, nullptr,
     R"({"errorCode":42201,"message":"No route to destination."})",
     E::kRejected, "", -1, "42201", "sinch 422 42201: no route to destination"},
    {"si_auth", "sinch", 401, nullptr,
     R"({"errorCode":40100,"message":"Invalid authorization header."})",
     E::kRejected, "", -1, "40100", "sinch 401 40100: unauthorized"},
    {"si_429", "sinch", 429, "2",
     R"({"errorCode":42901,"message":"Cannot initiate verification to the )"
     R"(same number too quickly."})",
     E::kRateLimited, "", 2000, "42901", "sinch 429 42901: too many requests"},
    {"si_503", "sinch", 503, "garbage",
     R"({"errorCode":50300,"message":"Service is temporarily unavailable"})",
     E::kServer, "", -1, "50300", "sinch 503 50300: server error"},
};

class ClassifyTest : public ::testing::TestWithParam<ClassifyCase> {};

TEST_P(ClassifyTest, Outcome) { testutil::ExpectOutcome(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Sinch, ClassifyTest,
                         ::testing::ValuesIn(kClassifyCases),
                         testutil::ClassifyCaseName());

TEST(Classify, CoversTheReplyClasses) {
  testutil::ExpectCoversTheReplyClasses("sinch", kClassifyCases);
}

// --- Sinch only ---

TEST(Build, SinchWithoutKeyOmitsReference) {
  auto sinch = AdapterFor("sinch");
  ASSERT_NE(sinch, nullptr);
  SendRequest r = RequestFor(Channel::kSms);
  r.idempotency_key.clear();
  auto call = sinch->Build(r);
  ASSERT_OK(call);
  EXPECT_EQ(call.value().body,
            R"({"identity":{"endpoint":"+447700900123","type":"number"},)"
            R"("method":"sms"})");
}

}  // namespace
}  // namespace dlrd
