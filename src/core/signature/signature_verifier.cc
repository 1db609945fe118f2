#include "dlrd/core/signature/signature_verifier.h"

#include <utility>

#include "dlrd/core/signature/crypto.h"
#include "dlrd/core/signature/hmac_verifier.h"
#include "dlrd/core/signature/standard_webhooks_verifier.h"
#include "core/providers/registry.h"

namespace dlrd {
namespace {

using VerifierResult = Result<std::unique_ptr<SignatureVerifier>>;

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string SecretKey(size_t i) { return "secrets[" + std::to_string(i) + "]"; }

}  // namespace

VerifierResult MakeHmacVerifier(const SignatureConfig& config) {
  if (config.header.empty()) return VerifierResult::Error("header: empty");
  std::optional<HashAlgorithm> alg = ParseHashAlgorithm(config.algorithm);
  if (!alg || *alg == HashAlgorithm::kMd5) {
    return VerifierResult::Error("algorithm: " + Quoted(config.algorithm) +
                                 " is not one of sha1, sha256, sha512");
  }
  HmacVerifier::Encoding encoding;
  if (config.encoding == "hex") {
    encoding = HmacVerifier::Encoding::kHex;
  } else if (config.encoding == "base64") {
    encoding = HmacVerifier::Encoding::kBase64;
  } else {
    return VerifierResult::Error("encoding: " + Quoted(config.encoding) +
                                 " is not one of hex, base64");
  }
  if (Status s = ValidateSecrets(config); !s.ok()) return s;
  return std::unique_ptr<SignatureVerifier>(std::make_unique<HmacVerifier>(
      config.header, *alg, encoding, config.prefix, config.secrets));
}

VerifierResult MakeStandardWebhooksVerifier(const SignatureConfig& config) {
  if (config.tolerance_s < 0) {
    return VerifierResult::Error("tolerance_s: must be >= 0");
  }
  if (Status s = ValidateSecrets(config); !s.ok()) return s;
  std::vector<std::string> keys;
  keys.reserve(config.secrets.size());
  for (size_t i = 0; i < config.secrets.size(); ++i) {
    std::optional<std::string> key =
        StandardWebhooksVerifier::DecodeSecret(config.secrets[i]);
    if (!key) {
      return VerifierResult::Error(SecretKey(i) +
                                   ": not a valid whsec_/base64 secret");
    }
    keys.push_back(std::move(*key));
  }
  return std::unique_ptr<SignatureVerifier>(
      std::make_unique<StandardWebhooksVerifier>(std::move(keys),
                                                 config.tolerance_s));
}

Status ValidateSecrets(const SignatureConfig& config) {
  if (config.secrets.empty()) {
    return Status::Error("secrets: at least one secret is required");
  }
  for (size_t i = 0; i < config.secrets.size(); ++i) {
    if (config.secrets[i].empty()) {
      return Status::Error(SecretKey(i) + ": empty secret");
    }
  }
  return Status::Ok();
}

std::optional<int64_t> ParseUnixSeconds(std::string_view digits) {
  constexpr size_t kMaxDigits = 18;  // fits int64 without overflow
  if (digits.empty() || digits.size() > kMaxDigits) return std::nullopt;
  int64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::string_view ToString(RejectReason r) {
  switch (r) {
    case RejectReason::kNone:
      return "none";
    case RejectReason::kMissingHeader:
      return "missing_header";
    case RejectReason::kDuplicateHeader:
      return "duplicate_header";
    case RejectReason::kBadEncoding:
      return "bad_encoding";
    case RejectReason::kBadTimestamp:
      return "bad_timestamp";
    case RejectReason::kTimestampSkew:
      return "timestamp_skew";
    case RejectReason::kMismatch:
      return "mismatch";
    case RejectReason::kUrlMismatch:
      return "url_mismatch";
    case RejectReason::kPayloadHashMismatch:
      return "payload_hash_mismatch";
    case RejectReason::kAlgNotAllowed:
      return "alg_not_allowed";
    case RejectReason::kBadToken:
      return "bad_token";
    case RejectReason::kStale:
      return "stale";
    case RejectReason::kFuture:
      return "future";
    case RejectReason::kKeyMismatch:
      return "key_mismatch";
  }
  return "none";
}

Result<std::unique_ptr<SignatureVerifier>> MakeSignatureVerifier(
    const SignatureConfig& config) {
  std::string names;
  for (const Provider* p : Providers()) {
    for (const VerifierFactory& f : p->verifiers) {
      if (f.name == config.scheme) {
        if (config.secrets.empty()) {
          return VerifierResult::Error(
              "secrets: at least one secret is required");
        }
        return f.make(config);
      }
      names += (names.empty() ? "" : ", ") + std::string(f.name);
    }
  }
  return VerifierResult::Error("scheme: " + Quoted(config.scheme) +
                               " is not one of " + names);
}

}  // namespace dlrd
