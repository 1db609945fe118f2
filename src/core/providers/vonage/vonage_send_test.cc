// Vonage send adapter: the exact request it builds, the requests it
// refuses and the class of every reply, checked by the shared send adapter
// fixture; numbers are from fictional ranges only.
#include "core/providers/vonage/vonage_send.h"

#include <gtest/gtest.h>

#include <string>

#include "dlrd/core/outbound/send_adapter.h"
#include "testutil/send_adapter_fixture.h"
#include "testutil/status_matchers.h"

namespace dlrd {
namespace {

using testutil::BuildCase;
using testutil::BuildErrorCase;
using testutil::ClassifyCase;
using testutil::ConfigFor;
using testutil::kNumber;
using testutil::RequestFor;
using E = SendErrorClass;

// --- Build: the exact request -------------------------------------------

const HeaderList kVonageHeaders = {
    {"Authorization", "Basic dmtleTE6dm9uYWdlLXNlY3JldC0x"},
    {"Content-Type", "application/json"}};

const BuildCase kBuildCases[] = {
    {"vonage", Channel::kSms, "https://mock.test:8443/api/v2/verify",
     kVonageHeaders,
     R"({"brand":"Acme","workflow":[{"channel":"sms","to":"447700900123"}]})"},
    {"vonage", Channel::kWhatsapp, "https://mock.test:8443/api/v2/verify",
     kVonageHeaders,
     R"({"brand":"Acme","workflow":[{"channel":"whatsapp",)"
     R"("from":"447700400080","to":"447700900123"}]})"},
    {"vonage", Channel::kVoice, "https://mock.test:8443/api/v2/verify",
     kVonageHeaders,
     R"({"brand":"Acme","workflow":[{"channel":"voice","to":"447700900123"}]})"},
};

class BuildTest : public ::testing::TestWithParam<BuildCase> {};

TEST_P(BuildTest, ExactRequest) { testutil::ExpectExactRequest(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Vonage, BuildTest, ::testing::ValuesIn(kBuildCases));

const BuildErrorCase kBuildErrorCases[] = {
    {"vonage", Channel::kOther, kNumber, "vonage: channel other not supported"},
    // Not E.164: the error names the field, never the value.
    {"vonage", Channel::kSms, "+0447700900",
     "vonage: recipient is not E.164 (+ and 8-15 digits)"},
};

class BuildErrorTest : public ::testing::TestWithParam<BuildErrorCase> {};

TEST_P(BuildErrorTest, Refused) { testutil::ExpectRefused(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Vonage, BuildErrorTest,
                         ::testing::ValuesIn(kBuildErrorCases));

// --- Classify: every reply class ----------------------------------------

const ClassifyCase kClassifyCases[] = {
    // Vonage: RFC 7807 problems.
    {"vo_accepted", "vonage", 202, nullptr,
     R"({"request_id":"c11236f4-00bf-4b89-84ba-88b25df97315"})", E::kNone,
     "c11236f4-00bf-4b89-84ba-88b25df97315", -1, "", "vonage 202: accepted"},
    {"vo_no_id", "vonage", 202, nullptr, "{}", E::kRejected, "", -1, "",
     "vonage 202: no id in reply"},
    {"vo_concurrent", "vonage", 409, nullptr,
     R"({"title":"Conflict","type":"https://developer.vonage.com/en/)"
     R"(api-errors/verify-v2#concurrent","detail":"Concurrent verifications )"
     R"(to the same number are not allowed.","instance":"738f9313"})",
     E::kRateLimited, "", -1, "concurrent",
     "vonage 409 concurrent: concurrent verification to the number"},
    {"vo_invalid_to", "vonage", 422, nullptr,
     R"({"title":"Invalid params","type":"https://developer.vonage.com/en/)"
     R"(api-errors#invalid-params","detail":"The value of one or more )"
     R"(parameters is invalid.","invalid_parameters":[{"name":)"
     R"("workflow[0].to","reason":"447700900123 is not a valid number"}]})",
     E::kInvalidNumber, "", -1, "invalid-params",
     "vonage 422 invalid-params: invalid number"},
    {"vo_invalid_to_plain", "vonage", 422, nullptr,
     R"({"title":"Invalid params","invalid_parameters":[{"name":"to"}]})",
     E::kInvalidNumber, "", -1, "", "vonage 422: invalid number"},
    {"vo_invalid_detail", "vonage", 422, nullptr,
     R"({"title":"Invalid params","detail":"Invalid phone number"})",
     E::kInvalidNumber, "", -1, "", "vonage 422: invalid number"},
    {"vo_invalid_brand", "vonage", 422, nullptr,
     R"({"title":"Invalid params","invalid_parameters":[{"name":"brand",)"
     R"("reason":"Brand is required"}]})",
     E::kRejected, "", -1, "", "vonage 422: invalid parameters"},
    {"vo_fraud", "vonage", 403, nullptr,
     R"({"title":"Forbidden","type":"https://developer.vonage.com/en/)"
     R"(api-errors/verify-v2#fraud-check","detail":"Fraud Check: the )"
     R"(request was blocked"})",
     E::kFraud, "", -1, "fraud-check",
     "vonage 403 fraud-check: fraud check blocked the request"},
    {"vo_forbidden", "vonage", 403, nullptr,
     R"({"title":"Forbidden","detail":"Templates management is not enabled"})",
     E::kRejected, "", -1, "", "vonage 403: forbidden"},
    {"vo_low_balance", "vonage", 402, nullptr,
     R"({"title":"Low balance","type":"https://developer.vonage.com/en/)"
     R"(api-errors/#low-balance"})",
     E::kRejected, "", -1, "low-balance",
     "vonage 402 low-balance: low balance"},
    {"vo_unauthorized", "vonage", 401, nullptr,
     R"({"title":"Unauthorized","type":"https://developer.vonage.com/)"
     R"(api-errors#unauthorized"})",
     E::kRejected, "", -1, "unauthorized",
     "vonage 401 unauthorized: unauthorized"},
    {"vo_429", "vonage", 429, "3",
     R"({"title":"Rate Limit Hit","type":"https://developer.vonage.com/en/)"
     R"(api-errors#throttled"})",
     E::kRateLimited, "", 3000, "throttled",
     "vonage 429 throttled: too many requests"},
    {"vo_500", "vonage", 500, nullptr,
     R"({"title":"Internal error","type":"https://developer.vonage.com/)"
     R"(api-errors#internal-error"})",
     E::kServer, "", -1, "internal-error",
     "vonage 500 internal-error: server error"},
    {"vo_weird_type", "vonage", 404, nullptr,
     R"({"type":"https://x#<script>"})", E::kRejected, "", -1, "",
     "vonage 404: rejected"},
};

class ClassifyTest : public ::testing::TestWithParam<ClassifyCase> {};

TEST_P(ClassifyTest, Outcome) { testutil::ExpectOutcome(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Vonage, ClassifyTest,
                         ::testing::ValuesIn(kClassifyCases),
                         testutil::ClassifyCaseName());

TEST(Classify, CoversTheReplyClasses) {
  testutil::ExpectCoversTheReplyClasses("vonage", kClassifyCases);
}

// --- Vonage only ---

TEST(Build, VonageWhatsappNeedsSender) {
  ProviderConfig c = ConfigFor("vonage");
  c.credentials.erase("whatsapp_from");
  auto made = MakeSendAdapter(c);
  ASSERT_OK(made);
  auto call = made.value()->Build(RequestFor(Channel::kWhatsapp));
  ASSERT_FALSE(call.ok());
  EXPECT_EQ(call.status().message(),
            "vonage: channel whatsapp needs credentials.whatsapp_from");
  EXPECT_OK(made.value()->Build(RequestFor(Channel::kSms)));
}

TEST(MakeSendAdapter, VonageSenderPlusIsDropped) {
  ProviderConfig config = ConfigFor("vonage");
  config.credentials["whatsapp_from"] = "+447700400080";
  auto made = MakeSendAdapter(config);
  ASSERT_OK(made);
  auto call = made.value()->Build(RequestFor(Channel::kWhatsapp));
  ASSERT_OK(call);
  EXPECT_NE(call.value().body.find(R"("from":"447700400080")"),
            std::string::npos);
}

}  // namespace
}  // namespace dlrd
