#include "store/dedupe_key.h"

#include <stdexcept>

#include "dlrd/signature/crypto.h"

namespace dlrd {

std::string DedupeKeyHash(std::string_view source, std::string_view key) {
  std::string input;
  input.reserve(source.size() + 1 + key.size());
  input.append(source);
  input.push_back('\0');
  input.append(key);
  std::optional<std::string> digest = Digest(HashAlgorithm::kSha256, input);
  // OpenSSL failing a SHA-256 (allocation) is not a value a caller can
  // act on: the writer's barrier rolls the submission back alone (503).
  if (!digest) throw std::runtime_error("dedupe key: SHA-256 failed");
  digest->resize(kDedupeKeyHashBytes);
  return *std::move(digest);
}

}  // namespace dlrd
