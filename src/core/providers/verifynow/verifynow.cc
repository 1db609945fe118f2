#include "core/providers/verifynow/verifynow.h"

#include "core/providers/verifynow/verifynow_normalizer.h"
#include "core/providers/verifynow/verifynow_send.h"

namespace dlrd {
namespace {

constexpr NormalizerFactory kNormalizers[] = {
    {"verifynow", MakeVerifyNowNormalizer},
};
constexpr SenderFactory kSenders[] = {{"verifynow", MakeVerifyNowSendAdapter}};

}  // namespace

const Provider kVerifyNowProvider = {"verifynow", {}, kNormalizers, kSenders};

}  // namespace dlrd
