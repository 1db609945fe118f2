// Form/query parsing used by the Twilio and Vonage schemes.
#include "dlrd/core/util/form.h"

#include <gtest/gtest.h>

namespace dlrd {
namespace {

TEST(ParseForm, DecodesInWireOrder) {
  auto p = ParseForm("To=%2B447700900123&Body=It%27s+amazing&flag&Digits=1&Digits=2");
  ASSERT_TRUE(p.has_value());
  FormParams want = {{"To", "+447700900123"},
                     {"Body", "It's amazing"},
                     {"flag", ""},
                     {"Digits", "1"},
                     {"Digits", "2"}};
  EXPECT_EQ(*p, want);
}

TEST(ParseForm, EdgeCases) {
  EXPECT_EQ(ParseForm("")->size(), 0u);
  EXPECT_EQ(ParseForm("a=1&&b=2")->size(), 2u);
  EXPECT_EQ((*ParseForm("a=%3D%26"))[0].second, "=&");
  EXPECT_FALSE(ParseForm("a=%zz").has_value());
  EXPECT_FALSE(ParseForm("a=%2").has_value());
}

TEST(Target, PathAndQuery) {
  EXPECT_EQ(PathOf("/webhooks/t?x=1"), "/webhooks/t");
  EXPECT_EQ(QueryOf("/webhooks/t?x=1&y"), "x=1&y");
  EXPECT_EQ(PathOf("/webhooks/t"), "/webhooks/t");
  EXPECT_EQ(QueryOf("/webhooks/t"), "");
}

}  // namespace
}  // namespace dlrd
