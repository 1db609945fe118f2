// Hash and MAC primitives for signature schemes. Pure functions; OpenSSL is
// used only inside crypto.cc so no OpenSSL type leaks into callers.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dlrd {

enum class HashAlgorithm { kMd5, kSha1, kSha256, kSha512 };

// "md5", "sha1", "sha256", "sha512" (lowercase only).
std::optional<HashAlgorithm> ParseHashAlgorithm(std::string_view name);

// Raw (binary) HMAC of `data` under `key`.
std::string Hmac(HashAlgorithm alg, std::string_view key,
                 std::string_view data);
// Bytes in a digest (and so in an HMAC) of `alg`.
size_t DigestSize(HashAlgorithm alg);

// Raw (binary) digest of `data`.
std::string Digest(HashAlgorithm alg, std::string_view data);

// Constant-time equality (CRYPTO_memcmp). Different lengths compare unequal;
// the length itself is not secret.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace dlrd
