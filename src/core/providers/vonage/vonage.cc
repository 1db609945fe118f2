#include "core/providers/vonage/vonage.h"

#include "core/providers/vonage/vonage_messages_normalizer.h"
#include "core/providers/vonage/vonage_send.h"
#include "core/providers/vonage/vonage_sms_dlr_normalizer.h"
#include "core/providers/vonage/vonage_verifier.h"
#include "core/providers/vonage/vonage_verify_normalizer.h"

namespace dlrd {
namespace {

constexpr VerifierFactory kVerifiers[] = {
    {"vonage-jwt", MakeVonageJwtVerifier},
    {"vonage-sig", MakeVonageSigVerifier},
};
constexpr NormalizerFactory kNormalizers[] = {
    {"vonage-messages", MakeVonageMessagesNormalizer},
    {"vonage-sms-dlr", MakeVonageSmsDlrNormalizer},
    {"vonage-verify", MakeVonageVerifyNormalizer},
};
constexpr SenderFactory kSenders[] = {{"vonage", MakeVonageSendAdapter}};

}  // namespace

const Provider kVonageProvider = {"vonage", kVerifiers, kNormalizers, kSenders};

}  // namespace dlrd
