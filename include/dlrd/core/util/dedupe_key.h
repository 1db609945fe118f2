// DedupeKeyHash: the compact form of an event's idempotency key, as kept
// in the dedupe_keys table (schema/0004_dedupe_keys.sql, and the same
// table in schema/postgres/0001_init.sql) after the event itself was
// pruned. In core because every store computes it (the SQLite and the
// PostgreSQL retention and ingest) and the stored keys must agree.
//
// Contract: a pure function of (source, dedupe_key); 16 bytes, the first
// half of SHA-256(source || 0x00 || dedupe_key). Source names never hold
// a NUL byte, so distinct pairs hash distinct inputs; a collision of two
// real keys (odds about 2^-65 among four billion keys) would answer a new
// callback as a duplicate. Changing the function orphans every stored key:
// don't. nullopt when hashing failed: callers then fail the operation
// (never guess "not seen" or "seen").
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace dlrd {

inline constexpr size_t kDedupeKeyHashBytes = 16;

std::optional<std::string> DedupeKeyHash(std::string_view source, std::string_view key);

}  // namespace dlrd
