// DedupeKeyHash is stored (dedupe_keys.key_hash): its value for a given
// key must never change, or every stored key stops matching. Pinned to
// SHA-256("sms" 0x00 "SM1:failed") truncated to 16 bytes.
#include "dlrd/core/model/dedupe_key.h"

#include <gtest/gtest.h>

#include "dlrd/core/util/encoding.h"

namespace dlrd {
namespace {

TEST(DedupeKeyHash, IsTheFirstHalfOfSha256OfSourceNulKey) {
  const std::optional<std::string> h = DedupeKeyHash("sms", "SM1:failed");
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->size(), kDedupeKeyHashBytes);
  EXPECT_EQ(HexEncode(*h), "e11c0d9f179ce294b1ab9c69d7dacc67");
}

TEST(DedupeKeyHash, TheSeparatorKeepsPairsApart) {
  // ("ab", "c") and ("a", "bc") hash different inputs.
  EXPECT_NE(DedupeKeyHash("ab", "c"), DedupeKeyHash("a", "bc"));
}

}  // namespace
}  // namespace dlrd
