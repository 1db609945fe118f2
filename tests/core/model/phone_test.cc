// E.164 normalization and country from calling code / NANP area code.
// Numbers are from fictional ranges only (UK 07700 900xxx, NANP 555-01xx,
// AU 0491 570 xxx) or zero-filled prefixes.
#include "dlrd/core/model/phone.h"

#include <gtest/gtest.h>

namespace dlrd {
namespace {

TEST(NormalizeRecipient, Forms) {
  const struct {
    const char* raw;
    bool assume_international;
    const char* e164;  // nullptr: rejected
    const char* region;
  } cases[] = {
      {"+447700900123", false, "+447700900123", "GB"},
      {"+44 7700 900123", false, "+447700900123", "GB"},
      {"0044 (7700) 900-123", false, "+447700900123", "GB"},
      {"whatsapp:+447700900123", false, "+447700900123", "GB"},
      {"tel:+1-416-555-0123", false, "+14165550123", "CA"},
      {"+1 (212) 555-0123", false, "+12125550123", "US"},
      {"+1 876 555 0123", false, "+18765550123", "JM"},
      {"+1 787 555 0123", false, "+17875550123", "PR"},
      {"+61 491 570 156", false, "+61491570156", "AU"},
      {"447700900123", true, "+447700900123", "GB"},
      {"447700900123", false, nullptr, ""},   // national or international?
      {"07700900123", true, nullptr, ""},     // leading 0: not international
      {"+44770", false, nullptr, ""},         // too short
      {"+4477009001234567", false, nullptr, ""},  // too long
      {"+44 7700 9001x3", false, nullptr, ""},
      {"", false, nullptr, ""},
      {"+", false, nullptr, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.raw);
    auto r = NormalizeRecipient(c.raw, c.assume_international);
    if (!c.e164) {
      EXPECT_FALSE(r.has_value());
      continue;
    }
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->e164, c.e164);
    EXPECT_EQ(r->region, c.region);
  }
}

TEST(RegionOf, LongestCallingCodePrefix) {
  EXPECT_EQ(RegionOf("+4900000000"), "DE");
  EXPECT_EQ(RegionOf("+3530000000"), "IE");   // 353, not 35x or 3
  EXPECT_EQ(RegionOf("+9710000000"), "AE");
  EXPECT_EQ(RegionOf("+2000000000"), "EG");   // 20
  EXPECT_EQ(RegionOf("+2590000000"), "");     // 259 is unassigned
  EXPECT_EQ(RegionOf("4400000000"), "");      // no "+"
  EXPECT_EQ(RegionOf("+1"), "US");
}

}  // namespace
}  // namespace dlrd
