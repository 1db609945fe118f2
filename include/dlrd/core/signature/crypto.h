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

// Raw (binary) HMAC of `data` under `key`; nullopt when OpenSSL fails.
// A failure must reject the signature: never compare a placeholder.
std::optional<std::string> Hmac(HashAlgorithm alg, std::string_view key,
                 std::string_view data);
// Bytes in a digest (and so in an HMAC) of `alg`.
size_t DigestSize(HashAlgorithm alg);

// Raw (binary) digest of `data`; nullopt when OpenSSL fails.
std::optional<std::string> Digest(HashAlgorithm alg, std::string_view data);

// Constant-time equality (CRYPTO_memcmp). Different lengths compare unequal;
// the length itself is not secret. Empty inputs compare unequal too: an
// empty MAC, digest or token is never a match.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// A computed MAC or digest against the one a request carries: false when
// the computation failed.
bool MacEquals(const std::optional<std::string>& computed,
               std::string_view given);

}  // namespace dlrd
