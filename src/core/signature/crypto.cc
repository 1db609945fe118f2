#include "dlrd/core/signature/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace dlrd {
namespace {

const EVP_MD* Md(HashAlgorithm alg) {
  switch (alg) {
    case HashAlgorithm::kMd5:
      return EVP_md5();
    case HashAlgorithm::kSha1:
      return EVP_sha1();
    case HashAlgorithm::kSha256:
      return EVP_sha256();
    case HashAlgorithm::kSha512:
      return EVP_sha512();
  }
  return EVP_sha256();
}

// OpenSSL may treat a null pointer as "no key/data"; never pass one.
const unsigned char* Bytes(std::string_view s) {
  static const unsigned char kEmpty[1] = {0};
  return s.empty() ? kEmpty : reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

std::optional<HashAlgorithm> ParseHashAlgorithm(std::string_view name) {
  if (name == "md5") return HashAlgorithm::kMd5;
  if (name == "sha1") return HashAlgorithm::kSha1;
  if (name == "sha256") return HashAlgorithm::kSha256;
  if (name == "sha512") return HashAlgorithm::kSha512;
  return std::nullopt;
}

size_t DigestSize(HashAlgorithm alg) {
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

std::optional<std::string> Hmac(HashAlgorithm alg, std::string_view key,
                                std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(Md(alg), Bytes(key), static_cast<int>(key.size()), Bytes(data),
           data.size(), out, &len) == nullptr) {
    return std::nullopt;
  }
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::optional<std::string> Digest(HashAlgorithm alg, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(Bytes(data), data.size(), out, &len, Md(alg), nullptr) != 1) {
    return std::nullopt;
  }
  return std::string(reinterpret_cast<const char*>(out), len);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size() || a.empty()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool MacEquals(const std::optional<std::string>& computed,
               std::string_view given) {
  return computed.has_value() && ConstantTimeEquals(*computed, given);
}

}  // namespace dlrd
