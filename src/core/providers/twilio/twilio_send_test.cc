// Twilio send adapter: the exact request it builds, the requests it
// refuses and the class of every reply, checked by the shared send adapter
// fixture; numbers are from fictional ranges only.
#include "core/providers/twilio/twilio_send.h"

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
using testutil::kNumber;
using E = SendErrorClass;

// --- Build: the exact request -------------------------------------------

const HeaderList kTwilioHeaders = {
    {"Authorization", "Basic QUN0ZXN0c2lkOnR3LXNlY3JldC10b2tlbg=="},
    {"Content-Type", "application/x-www-form-urlencoded"}};

const BuildCase kBuildCases[] = {
    {"twilio", Channel::kSms,
     "https://mock.test:8443/api/v2/Services/VAservice1/Verifications",
     kTwilioHeaders, "To=%2B447700900123&Channel=sms"},
    {"twilio", Channel::kWhatsapp,
     "https://mock.test:8443/api/v2/Services/VAservice1/Verifications",
     kTwilioHeaders, "To=%2B447700900123&Channel=whatsapp"},
    {"twilio", Channel::kVoice,
     "https://mock.test:8443/api/v2/Services/VAservice1/Verifications",
     kTwilioHeaders, "To=%2B447700900123&Channel=call"},
};

class BuildTest : public ::testing::TestWithParam<BuildCase> {};

TEST_P(BuildTest, ExactRequest) { testutil::ExpectExactRequest(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Twilio, BuildTest, ::testing::ValuesIn(kBuildCases));

const BuildErrorCase kBuildErrorCases[] = {
    {"twilio", Channel::kOther, kNumber, "twilio: channel other not supported"},
    // Not E.164: the error names the field, never the value.
    {"twilio", Channel::kSms, "+44 7700 900123",
     "twilio: recipient is not E.164 (+ and 8-15 digits)"},
    {"twilio", Channel::kSms, "+4477009001234567",
     "twilio: recipient is not E.164 (+ and 8-15 digits)"},
};

class BuildErrorTest : public ::testing::TestWithParam<BuildErrorCase> {};

TEST_P(BuildErrorTest, Refused) { testutil::ExpectRefused(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Twilio, BuildErrorTest,
                         ::testing::ValuesIn(kBuildErrorCases));

// --- Classify: every reply class ----------------------------------------

const ClassifyCase kClassifyCases[] = {
    // Twilio: code first, then status.
    {"tw_accepted", "twilio", 201, nullptr,
     R"({"sid":"VEaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","status":"pending",)"
     R"("to":"+447700900123","channel":"sms"})",
     E::kNone, "VEaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", -1, "",
     "twilio 201: accepted"},
    {"tw_no_sid", "twilio", 201, nullptr, R"({"status":"pending"})",
     E::kRejected, "", -1, "", "twilio 201: no id in reply"},
    {"tw_bad_sid", "twilio", 201, nullptr, R"({"sid":"VE\nforged log line"})",
     E::kRejected, "", -1, "", "twilio 201: malformed id in reply"},
    {"tw_21211", "twilio", 400, nullptr,
     R"({"code":21211,"message":"Invalid 'To' Phone Number: +447700900123",)"
     R"("more_info":"https://www.twilio.com/docs/errors/21211","status":400})",
     E::kInvalidNumber, "", -1, "21211", "twilio 400 21211: invalid To number"},
    {"tw_21614", "twilio", 400, nullptr,
     R"({"code":21614,"message":"'To' number is not a valid mobile number"})",
     E::kInvalidNumber, "", -1, "21614",
     "twilio 400 21614: not a mobile number"},
    {"tw_60200", "twilio", 400, nullptr,
     R"({"code":60200,"message":"Invalid parameter `To`: +447700900123",)"
     R"("status":400})",
     E::kInvalidNumber, "", -1, "60200",
     "twilio 400 60200: invalid parameter (To)"},
    {"tw_21610", "twilio", 400, nullptr,
     R"({"code":21610,"message":"Attempt to send to unsubscribed recipient"})",
     E::kInvalidNumber, "", -1, "21610",
     "twilio 400 21610: recipient unsubscribed"},
    {"tw_60410", "twilio", 403, nullptr,
     R"({"code":60410,"message":"Verification delivery attempt blocked",)"
     R"("status":403})",
     E::kFraud, "", -1, "60410",
     "twilio 403 60410: verification delivery blocked (fraud)"},
    {"tw_60412", "twilio", 403, nullptr, R"({"code":"60412"})", E::kFraud, "",
     -1, "60412", "twilio 403 60412: blocked as a fraudulent sign-up"},
    {"tw_60203", "twilio", 429, "600",
     R"({"code":60203,"message":"Max send attempts reached","status":429})",
     E::kRateLimited, "", 600000, "60203",
     "twilio 429 60203: max send attempts reached"},
    {"tw_20429", "twilio", 429, "2",
     R"({"code":20429,"message":"Too Many Requests","status":429})",
     E::kRateLimited, "", 2000, "20429", "twilio 429 20429: too many requests"},
    {"tw_429_plain", "twilio", 429, nullptr, "", E::kRateLimited, "", -1, "",
     "twilio 429: too many requests"},
    {"tw_60205", "twilio", 400, nullptr,
     R"({"code":60205,"message":"SMS is not supported by landline phone number"})",
     E::kRejected, "", -1, "60205",
     "twilio 400 60205: SMS not supported by landline"},
    {"tw_auth", "twilio", 401, nullptr,
     R"({"code":20003,"message":"Authenticate","status":401})", E::kRejected,
     "", -1, "20003", "twilio 401 20003: unauthorized"},
    {"tw_404", "twilio", 404, nullptr,
     R"({"code":20404,"message":"The requested resource was not found"})",
     E::kRejected, "", -1, "20404", "twilio 404 20404: rejected"},
    {"tw_503", "twilio", 503, "5",
     R"({"code":20503,"message":"Service unavailable"})", E::kServer, "", 5000,
     "20503", "twilio 503 20503: server error"},
    {"tw_500_no_ra", "twilio", 500, nullptr, "", E::kServer, "", -1, "",
     "twilio 500: server error"},
    {"tw_500_fraud_code", "twilio", 500, nullptr, R"({"code":60410})",
     E::kServer, "", -1, "60410", "twilio 500 60410: server error"},
};

class ClassifyTest : public ::testing::TestWithParam<ClassifyCase> {};

TEST_P(ClassifyTest, Outcome) { testutil::ExpectOutcome(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Twilio, ClassifyTest,
                         ::testing::ValuesIn(kClassifyCases),
                         testutil::ClassifyCaseName());

TEST(Classify, CoversTheReplyClasses) {
  testutil::ExpectCoversTheReplyClasses("twilio", kClassifyCases);
}

}  // namespace
}  // namespace dlrd
