#include "dlrd/core/model/delivery.h"
#include "dlrd/core/util/encoding.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace dlrd {
namespace {

std::string AllBytes() {
  std::string s;
  for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
  return s;
}

TEST(HexTest, EncodeIsLowercase) {
  EXPECT_EQ(HexEncode(""), "");
  EXPECT_EQ(HexEncode(std::string("\x00\xff\xAB", 3)), "00ffab");
}

TEST(HexTest, DecodeAcceptsBothCases) {
  EXPECT_EQ(HexDecode(""), "");
  EXPECT_EQ(HexDecode("00ffab"), std::string("\x00\xff\xab", 3));
  EXPECT_EQ(HexDecode("00FFAB"), std::string("\x00\xff\xab", 3));
  EXPECT_EQ(HexDecode("aBcD"), "\xab\xcd");
}

TEST(HexTest, DecodeRejectsMalformed) {
  for (const char* bad : {"0", "abc", "0g", "g0", "zz", " 00", "00 ", "0x00",
                          "+0", "-0", "0\n"}) {
    EXPECT_EQ(HexDecode(bad), std::nullopt) << '"' << bad << '"';
  }
  EXPECT_EQ(HexDecode(std::string("0\0", 2)), std::nullopt);
}

TEST(HexTest, RoundTripsEveryByte) {
  EXPECT_EQ(HexDecode(HexEncode(AllBytes())), AllBytes());
}

// RFC 4648 §10.
TEST(Base64Test, EncodeRfc4648) {
  const std::pair<const char*, const char*> cases[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : cases) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    EXPECT_EQ(Base64Decode(encoded), plain) << encoded;
  }
}

TEST(Base64Test, DecodeAcceptsMissingPadding) {
  EXPECT_EQ(Base64Decode("Zg"), "f");
  EXPECT_EQ(Base64Decode("Zm8"), "fo");
  EXPECT_EQ(Base64Decode("Zm9vYg"), "foob");
  EXPECT_EQ(Base64Decode("Zm9vYmE"), "fooba");
}

TEST(Base64Test, DecodeUsesStandardAlphabet) {
  EXPECT_EQ(Base64Decode("+/+/"), "\xfb\xff\xbf");
  EXPECT_EQ(Base64Decode("-_-_"), std::nullopt);  // base64url is refused
}

TEST(Base64Test, DecodeRejectsMalformed) {
  for (const char* bad : {
           "Z",         // dangling 6 bits
           "Zm9vY",     // dangling 6 bits after a full group
           "=",         // padding only
           "==",        // padding only
           "====",      // padding only
           "Zg=",       // one '=' where two are needed
           "Zm8==",     // too much padding for the length
           "Zg===",     // three '='
           "Z===",      // three '='
           "Zg==Zg==",  // padding in the middle
           "Zm=9",      // '=' inside a group
           "Zm9v\n",    // whitespace
           " Zm9v",     // whitespace
           "Zm 9v",     // whitespace
           "Zm9v!",     // outside the alphabet
           "!!!!",      // the whsec_!!!! case
       }) {
    EXPECT_EQ(Base64Decode(bad), std::nullopt) << '"' << bad << '"';
  }
  EXPECT_EQ(Base64Decode(std::string("Zg\0=", 4)), std::nullopt);
}

TEST(Base64Test, DecodeEmptyIsEmpty) { EXPECT_EQ(Base64Decode(""), ""); }

TEST(Base64Test, RoundTripsEveryLength) {
  const std::string all = AllBytes();
  for (size_t n = 0; n <= all.size(); ++n) {
    std::string plain = all.substr(all.size() - n);
    std::string encoded = Base64Encode(plain);
    EXPECT_EQ(encoded.size() % 4, 0u);
    EXPECT_EQ(Base64Decode(encoded), plain) << n;
    while (!encoded.empty() && encoded.back() == '=') encoded.pop_back();
    EXPECT_EQ(Base64Decode(encoded), plain) << "unpadded " << n;
  }
}

TEST(Utf8Test, ValidTextIsKeptAsIs) {
  for (std::string_view t :
       {"", "plain", "caf\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80",
        "\xEF\xBF\xBD", "\xF4\x8F\xBF\xBF"}) {
    SCOPED_TRACE(t);
    EXPECT_TRUE(IsValidUtf8(t));
    EXPECT_EQ(ToValidUtf8(t), t);
  }
}

TEST(Utf8Test, IllFormedBytesBecomeReplacementCharacters) {
  const struct {
    std::string_view in;
    std::string_view out;
  } cases[] = {
      {"\xFF\xFE", "\xEF\xBF\xBD\xEF\xBF\xBD"},   // not UTF-8 at all
      {"a\xC3(b", "a\xEF\xBF\xBD(b"},              // truncated sequence
      {"\xC0\xAF", "\xEF\xBF\xBD"},                 // overlong '/'
      {"\xE0\x80\xAF", "\xEF\xBF\xBD"},             // overlong, 3 bytes
      {"\xED\xA0\x80", "\xEF\xBF\xBD"},             // surrogate U+D800
      {"\xF4\x90\x80\x80", "\xEF\xBF\xBD"},         // above U+10FFFF
      {"\x80x", "\xEF\xBF\xBDx"},                   // lone continuation
      {"\xE2\x82", "\xEF\xBF\xBD"},                 // cut at the end
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(HexEncode(c.in));
    EXPECT_FALSE(IsValidUtf8(c.in));
    EXPECT_EQ(ToValidUtf8(c.in), c.out);
    EXPECT_TRUE(IsValidUtf8(ToValidUtf8(c.in)));
  }
}

TEST(Utf8Test, EventTextIsMadeValidButTheDedupeKeyIsNot) {
  DeliveryEvent e;
  e.error_code = "\xFF\xFE";
  e.raw_status = "ok";
  e.verification_id = "id\xC3";
  e.dedupe_key = "key\xFF";
  MakeTextValidUtf8(e);
  EXPECT_EQ(e.error_code, "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(e.raw_status, "ok");
  EXPECT_EQ(e.verification_id, "id\xEF\xBF\xBD");
  EXPECT_EQ(e.dedupe_key, "key\xFF");
}

TEST(Utf8Test, NulBytesInEventTextBecomeReplacementCharacters) {
  DeliveryEvent e;
  e.verification_id = std::string("a\0b\0", 4);
  e.error_code = std::string("\0", 1);
  e.dedupe_key = "k";
  MakeTextValidUtf8(e);
  EXPECT_EQ(e.verification_id, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD");
  EXPECT_EQ(e.error_code, "\xEF\xBF\xBD");
  EXPECT_FALSE(HasNulInDedupeKey(e));
  e.dedupe_key = std::string("k\0x", 3);
  EXPECT_TRUE(HasNulInDedupeKey(e));
}

}  // namespace
}  // namespace dlrd
