#include "dlrd/core/util/dedupe_key.h"

#include "dlrd/core/signature/crypto.h"

namespace dlrd {

std::optional<std::string> DedupeKeyHash(std::string_view source, std::string_view key) {
  std::string input;
  input.reserve(source.size() + 1 + key.size());
  input.append(source);
  input.push_back('\0');
  input.append(key);
  std::optional<std::string> digest = Digest(HashAlgorithm::kSha256, input);
  if (digest) digest->resize(kDedupeKeyHashBytes);
  return digest;
}

}  // namespace dlrd
