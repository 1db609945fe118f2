#include "dlrd/core/util/field_reader.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace dlrd {
namespace {

using nlohmann::json;

TEST(ParseTimestampMs, AcceptsTheFormsProvidersSend) {
  const struct {
    const char* text;
    int64_t ms;
  } kCases[] = {
      {"1970-01-01T00:00:00Z", 0},
      {"2024-05-01T10:00:00Z", 1714557600000},
      {"2024-05-01T10:00:00.123Z", 1714557600123},
      {"2024-05-01T10:00:00.1Z", 1714557600100},
      {"2024-05-01T10:00:00.123456Z", 1714557600123},
      {"2024-05-01T12:00:00+02:00", 1714557600000},
      {"2024-05-01T08:30:00-0130", 1714557600000},
      {"2024-05-01 10:00:00", 1714557600000},
      {"2024-02-29T00:00:00Z", 1709164800000},
      {"2000-03-01T00:00:00z", 951868800000},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(ParseTimestampMs(c.text), std::optional<int64_t>(c.ms));
  }
}

TEST(ParseTimestampMs, RejectsOtherText) {
  for (const char* text :
       {"", "2024-05-01", "2024-05-01T10:00Z", "2024-13-01T10:00:00Z",
        "2024-05-01T24:00:00Z", "2024-05-01T10:00:00.Z", "2024-05-01T10:00:00Q",
        "2024-05-01T10:00:00Z ", "1714557600", "24-05-01T10:00:00Z",
        "2024-05-01T10:00:00+2"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(ParseTimestampMs(text), std::nullopt);
  }
}

TEST(FieldReader, ReadStringNamesTheFieldNotTheValue) {
  json obj = json::parse(R"({"a":"x","n":7,"e":"","z":null})");
  EXPECT_EQ(ReadString(obj, "a", "data.a", true).value(), "x");
  EXPECT_EQ(ReadString(obj, "z", "data.z", true).status().message(),
            "data.z: missing");
  EXPECT_EQ(ReadString(obj, "n", "data.n", false).status().message(),
            "data.n: must be a string");
  EXPECT_EQ(ReadString(obj, "e", "e", true).status().message(),
            "e: must not be empty");
  EXPECT_EQ(ReadString(obj, "missing", "m", false).value(), "");
  EXPECT_EQ(ReadString(json::array(), "a", "a", false).value(), "");
}

TEST(FieldReader, ReadStringOrIntegerTakesEither) {
  json obj = json::parse(R"({"s":"12","u":12,"i":-3,"f":1.5,"b":true})");
  EXPECT_EQ(ReadStringOrInteger(obj, "s", "s", true).value(), "12");
  EXPECT_EQ(ReadStringOrInteger(obj, "u", "u", true).value(), "12");
  EXPECT_EQ(ReadStringOrInteger(obj, "i", "i", true).value(), "-3");
  EXPECT_EQ(ReadStringOrInteger(obj, "f", "f", true).status().message(),
            "f: must be a string or integer");
  EXPECT_FALSE(ReadStringOrInteger(obj, "b", "b", false).ok());
}

TEST(FieldReader, FormReadRefusesRepeats) {
  FormParams p = {{"a", "1"}, {"b", ""}, {"c", "2"}, {"c", "3"}};
  EXPECT_EQ(FormRead(p, "a", true).value(), "1");
  EXPECT_EQ(FormRead(p, "b", true).status().message(), "b: must not be empty");
  EXPECT_EQ(FormRead(p, "b", false).value(), "");
  EXPECT_EQ(FormRead(p, "c", false).status().message(), "c: repeated");
  EXPECT_EQ(FormRead(p, "d", true).status().message(), "d: missing");
}

TEST(FieldReader, ParseJsonBodyErrors) {
  EXPECT_EQ(ParseJsonBody("").status().message(), "body: empty");
  EXPECT_EQ(ParseJsonBody("{").status().message(), "body: not valid JSON");
  EXPECT_TRUE(ParseJsonBody("[1]").ok());
  EXPECT_EQ(ParseJsonObject("[1]").status().message(),
            "body: not a JSON object");
  EXPECT_EQ(FieldPath("", "a"), "a");
  EXPECT_EQ(FieldPath("data", "a"), "data.a");
  EXPECT_EQ(FieldPath("", 2), "[2]");
}

}  // namespace
}  // namespace dlrd
