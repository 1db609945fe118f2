// Trimming and ASCII case-insensitive comparison (dlrd/core/util/strings.h).
#include "dlrd/core/util/strings.h"

#include <gtest/gtest.h>

namespace dlrd {
namespace {

TEST(TrimOws, StripsSpacesAndTabsOnBothEnds) {
  EXPECT_EQ(TrimOws(" \t a b \t "), "a b");
  EXPECT_EQ(TrimOws("ab"), "ab");
  EXPECT_EQ(TrimOws(""), "");
  EXPECT_EQ(TrimOws(" \t\t "), "");
}

TEST(TrimOws, KeepsCrLfAndOtherWhitespace) {
  EXPECT_EQ(TrimOws(" a\r\n"), "a\r\n");
  EXPECT_EQ(TrimOws("\r a"), "\r a");
  EXPECT_EQ(TrimOws("\va\f"), "\va\f");
}

TEST(TrimLeftRight, StripOnlyTheirSideAndTheirCharacters) {
  EXPECT_EQ(TrimLeft("  a  ", " "), "a  ");
  EXPECT_EQ(TrimRight("  a  ", " "), "  a");
  EXPECT_EQ(TrimLeft("\t a", " "), "\t a");
  EXPECT_EQ(TrimRight("a \r\t\r", " \t\r"), "a");
  EXPECT_EQ(TrimLeft("\ra", " \t"), "\ra");
  EXPECT_EQ(Trim("xxaxx", "x"), "a");
  EXPECT_EQ(Trim("abc", ""), "abc");
}

TEST(TrimOws, ReturnsAViewIntoTheArgument) {
  std::string_view s = "  ab ";
  EXPECT_EQ(TrimOws(s).data(), s.data() + 2);
}

TEST(EqualsIgnoreCase, ComparesAsciiLettersWithoutCase) {
  EXPECT_TRUE(EqualsIgnoreCase("Content-Type", "content-type"));
  EXPECT_TRUE(EqualsIgnoreCase("", ""));
  EXPECT_FALSE(EqualsIgnoreCase("abc", "abcd"));
  EXPECT_FALSE(EqualsIgnoreCase("abc", "abd"));
  // Only A-Z fold: '@' (0x40) and '`' (0x60) stay distinct, as do bytes
  // above 0x7f.
  EXPECT_FALSE(EqualsIgnoreCase("@", "`"));
  EXPECT_FALSE(EqualsIgnoreCase("\xc3\x84", "\xc3\xa4"));
  EXPECT_TRUE(EqualsIgnoreCase("\xc3\x84", "\xc3\x84"));
}

TEST(StartsWithIgnoreCase, MatchesAPrefixWithoutCase) {
  EXPECT_TRUE(StartsWithIgnoreCase("HTTPS://x", "https://"));
  EXPECT_TRUE(StartsWithIgnoreCase("abc", ""));
  EXPECT_TRUE(StartsWithIgnoreCase("Tel:", "tel:"));
  EXPECT_FALSE(StartsWithIgnoreCase("tel", "tel:"));
  EXPECT_FALSE(StartsWithIgnoreCase("xtel:", "tel:"));
}

TEST(ContainsIgnoreCase, FindsASubstringWithoutCase) {
  EXPECT_TRUE(ContainsIgnoreCase("Number is BLOCKED", "blocked"));
  EXPECT_TRUE(ContainsIgnoreCase("fraud", "FRAUD"));
  EXPECT_TRUE(ContainsIgnoreCase("abc", ""));
  EXPECT_TRUE(ContainsIgnoreCase("", ""));
  EXPECT_FALSE(ContainsIgnoreCase("", "a"));
  EXPECT_FALSE(ContainsIgnoreCase("num ber", "number"));
  EXPECT_FALSE(ContainsIgnoreCase("ab", "abc"));
}

}  // namespace
}  // namespace dlrd
