#include "dlrd/signature/hmac_verifier.h"

#include <optional>
#include <utility>

#include "dlrd/core/encoding.h"

namespace dlrd {
namespace {

size_t MacSize(HashAlgorithm alg) {
  switch (alg) {
    case HashAlgorithm::kMd5:
      return 16;
    case HashAlgorithm::kSha1:
      return 20;
    case HashAlgorithm::kSha256:
      return 32;
    case HashAlgorithm::kSha512:
      return 64;
  }
  return 0;
}

SignatureCheck Reject(RejectReason reason) {
  SignatureCheck check;
  check.reason = reason;
  return check;
}

}  // namespace

HmacVerifier::HmacVerifier(std::string header, HashAlgorithm alg,
                           Encoding encoding, std::string prefix,
                           std::vector<std::string> secrets)
    : header_(std::move(header)),
      alg_(alg),
      encoding_(encoding),
      prefix_(std::move(prefix)),
      secrets_(std::move(secrets)) {}

SignatureCheck HmacVerifier::Verify(const InboundWebhook& hook,
                                    int64_t /*now_unix*/) const {
  int count = hook.HeaderCount(header_);
  if (count == 0) return Reject(RejectReason::kMissingHeader);
  if (count > 1) return Reject(RejectReason::kDuplicateHeader);
  std::string_view value = *hook.Header(header_);
  if (value.empty()) return Reject(RejectReason::kMissingHeader);
  if (!value.starts_with(prefix_)) return Reject(RejectReason::kBadEncoding);
  value.remove_prefix(prefix_.size());

  std::optional<std::string> given =
      encoding_ == Encoding::kHex ? HexDecode(value) : Base64Decode(value);
  if (!given || given->size() != MacSize(alg_)) {
    return Reject(RejectReason::kBadEncoding);
  }
  for (size_t i = 0; i < secrets_.size(); ++i) {
    if (ConstantTimeEquals(Hmac(alg_, secrets_[i], hook.body), *given)) {
      SignatureCheck ok;
      ok.valid = true;
      ok.secret_index = static_cast<int>(i);
      return ok;
    }
  }
  return Reject(RejectReason::kMismatch);
}

std::vector<RejectReason> HmacVerifier::Reasons() const {
  return {RejectReason::kMissingHeader, RejectReason::kDuplicateHeader,
          RejectReason::kBadEncoding, RejectReason::kMismatch};
}

}  // namespace dlrd
