#include "dlrd/core/signature/hmac_verifier.h"

#include <optional>
#include <utility>

#include "dlrd/core/util/encoding.h"

namespace dlrd {
namespace {

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
  if (count == 0) return Rejected(RejectReason::kMissingHeader);
  if (count > 1) return Rejected(RejectReason::kDuplicateHeader);
  std::string_view value = *hook.Header(header_);
  if (value.empty()) return Rejected(RejectReason::kMissingHeader);
  if (!value.starts_with(prefix_)) return Rejected(RejectReason::kBadEncoding);
  value.remove_prefix(prefix_.size());

  std::optional<std::string> given =
      encoding_ == Encoding::kHex ? HexDecode(value) : Base64Decode(value);
  if (!given || given->size() != DigestSize(alg_)) {
    return Rejected(RejectReason::kBadEncoding);
  }
  for (size_t i = 0; i < secrets_.size(); ++i) {
    if (MacEquals(Hmac(alg_, secrets_[i], hook.body), *given)) {
      SignatureCheck ok;
      ok.valid = true;
      ok.secret_index = static_cast<int>(i);
      return ok;
    }
  }
  return Rejected(RejectReason::kMismatch);
}

std::vector<RejectReason> HmacVerifier::Reasons() const {
  return {RejectReason::kMissingHeader, RejectReason::kDuplicateHeader,
          RejectReason::kBadEncoding, RejectReason::kMismatch};
}

}  // namespace dlrd
