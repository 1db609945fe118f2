#include "core/providers/sinch/sinch.h"

#include "core/providers/sinch/sinch_send.h"
#include "core/providers/sinch/sinch_sms_normalizer.h"
#include "core/providers/sinch/sinch_verification_normalizer.h"
#include "core/providers/sinch/sinch_verifier.h"

namespace dlrd {
namespace {

constexpr VerifierFactory kVerifiers[] = {
    {"sinch", MakeSinchVerifier},
};
constexpr NormalizerFactory kNormalizers[] = {
    {"sinch-verification", MakeSinchVerificationNormalizer},
    {"sinch-sms", MakeSinchSmsNormalizer},
};
constexpr SenderFactory kSenders[] = {{"sinch", MakeSinchSendAdapter}};

}  // namespace

const Provider kSinchProvider = {"sinch", kVerifiers, kNormalizers, kSenders};

}  // namespace dlrd
