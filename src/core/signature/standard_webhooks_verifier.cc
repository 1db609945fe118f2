// Check order: headers present and single, id/timestamp well-formed,
// timestamp within tolerance, at least one well-formed v1 entry, then MACs.
// The timestamp is checked before any MAC so stale replays are reported as
// such; the skew is computed in uint64 so no `now` value can overflow it.
#include "dlrd/core/signature/standard_webhooks_verifier.h"

#include <utility>

#include "dlrd/core/util/encoding.h"
#include "dlrd/core/signature/crypto.h"

namespace dlrd {
namespace {

constexpr std::string_view kSecretPrefix = "whsec_";
constexpr size_t kMacSize = 32;             // HMAC-SHA256

// Reads a header that must appear exactly once with a non-empty value.
RejectReason SingleHeader(const InboundWebhook& hook, std::string_view name,
                          std::string_view* value) {
  int count = hook.HeaderCount(name);
  if (count == 0) return RejectReason::kMissingHeader;
  if (count > 1) return RejectReason::kDuplicateHeader;
  *value = *hook.Header(name);
  return value->empty() ? RejectReason::kMissingHeader : RejectReason::kNone;
}

struct SignedHeaders {
  std::string_view id, timestamp, signature;
};

// All three svix-* names are read when svix-id is present, otherwise all
// three webhook-* names; a mixed set is treated as missing a header.
RejectReason ReadHeaders(const InboundWebhook& hook, SignedHeaders* out) {
  const std::string prefix =
      hook.HeaderCount("svix-id") > 0 ? "svix-" : "webhook-";
  RejectReason r = SingleHeader(hook, prefix + "id", &out->id);
  if (r == RejectReason::kNone) {
    r = SingleHeader(hook, prefix + "timestamp", &out->timestamp);
  }
  if (r == RejectReason::kNone) {
    r = SingleHeader(hook, prefix + "signature", &out->signature);
  }
  return r;
}

bool WithinTolerance(int64_t ts, int64_t now, int64_t tolerance) {
  // Unsigned wrap-around gives the exact distance for any pair of int64s.
  uint64_t diff = now >= ts
                      ? static_cast<uint64_t>(now) - static_cast<uint64_t>(ts)
                      : static_cast<uint64_t>(ts) - static_cast<uint64_t>(now);
  return diff <= static_cast<uint64_t>(tolerance);
}

// Decoded v1 signatures of the header; other versions and malformed
// entries are skipped.
std::vector<std::string> V1Signatures(std::string_view header) {
  std::vector<std::string> out;
  while (!header.empty()) {
    size_t space = header.find(' ');
    std::string_view entry = header.substr(0, space);
    header = space == std::string_view::npos ? std::string_view()
                                             : header.substr(space + 1);
    size_t comma = entry.find(',');
    if (comma == std::string_view::npos || entry.substr(0, comma) != "v1") {
      continue;
    }
    std::optional<std::string> sig = Base64Decode(entry.substr(comma + 1));
    if (sig && sig->size() == kMacSize) out.push_back(std::move(*sig));
  }
  return out;
}

}  // namespace

std::optional<std::string> StandardWebhooksVerifier::DecodeSecret(
    std::string_view secret) {
  if (secret.starts_with(kSecretPrefix)) {
    secret.remove_prefix(kSecretPrefix.size());
  }
  std::optional<std::string> key = Base64Decode(secret);
  if (!key || key->empty()) return std::nullopt;
  return key;
}

StandardWebhooksVerifier::StandardWebhooksVerifier(
    std::vector<std::string> keys, int64_t tolerance_s)
    : keys_(std::move(keys)), tolerance_s_(tolerance_s) {}

SignatureCheck StandardWebhooksVerifier::Verify(const InboundWebhook& hook,
                                                int64_t now_unix) const {
  SignedHeaders h;
  RejectReason r = ReadHeaders(hook, &h);
  const std::string event_id(h.id);  // empty until the id header is read
  if (r != RejectReason::kNone) return Rejected(r, event_id);
  const std::string_view id = h.id, ts = h.timestamp;
  if (id.find('.') != std::string_view::npos ||
      ts.find('.') != std::string_view::npos) {
    return Rejected(RejectReason::kBadEncoding, event_id);
  }
  std::optional<int64_t> ts_value = ParseUnixSeconds(ts);
  if (!ts_value) return Rejected(RejectReason::kBadTimestamp, event_id);
  if (!WithinTolerance(*ts_value, now_unix, tolerance_s_)) {
    return Rejected(RejectReason::kTimestampSkew, event_id);
  }
  std::vector<std::string> sigs = V1Signatures(h.signature);
  if (sigs.empty()) return Rejected(RejectReason::kBadEncoding, event_id);

  std::string signed_content;
  signed_content.reserve(id.size() + ts.size() + hook.body.size() + 2);
  signed_content.append(id).append(".").append(ts).append(".").append(
      hook.body);
  for (size_t i = 0; i < keys_.size(); ++i) {
    std::optional<std::string> mac =
        Hmac(HashAlgorithm::kSha256, keys_[i], signed_content);
    for (const std::string& s : sigs) {
      if (MacEquals(mac, s)) {
        SignatureCheck ok;
        ok.valid = true;
        ok.secret_index = static_cast<int>(i);
        ok.event_id = event_id;
        return ok;
      }
    }
  }
  return Rejected(RejectReason::kMismatch, event_id);
}

std::vector<std::string> StandardWebhooksVerifier::HeadersRead() const {
  return {"webhook-id", "webhook-timestamp", "webhook-signature",
          "svix-id",    "svix-timestamp",    "svix-signature"};
}

std::vector<RejectReason> StandardWebhooksVerifier::Reasons() const {
  return {RejectReason::kMissingHeader, RejectReason::kDuplicateHeader,
          RejectReason::kBadEncoding,   RejectReason::kBadTimestamp,
          RejectReason::kTimestampSkew, RejectReason::kMismatch};
}

}  // namespace dlrd
