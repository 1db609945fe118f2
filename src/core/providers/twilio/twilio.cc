#include "core/providers/twilio/twilio.h"

#include "core/providers/twilio/twilio_normalizer.h"
#include "core/providers/twilio/twilio_send.h"
#include "core/providers/twilio/twilio_verifier.h"
#include "core/providers/twilio/twilio_verify_normalizer.h"

namespace dlrd {
namespace {

constexpr VerifierFactory kVerifiers[] = {
    {"twilio", MakeTwilioVerifier},
};
constexpr NormalizerFactory kNormalizers[] = {
    {"twilio-messaging", MakeTwilioMessagingNormalizer},
    {"twilio-verify-events", MakeTwilioVerifyEventsNormalizer},
};
constexpr SenderFactory kSenders[] = {{"twilio", MakeTwilioSendAdapter}};

}  // namespace

const Provider kTwilioProvider = {"twilio", kVerifiers, kNormalizers, kSenders};

}  // namespace dlrd
