#include "switch/json_out.h"

#include <gtest/gtest.h>

namespace msw {
namespace {

std::string Str(std::string_view s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

std::string Float(double v) {
  std::string out;
  AppendJsonFloat(&out, v);
  return out;
}

TEST(JsonOut, StringsAreEscapedLikeYojson) {
  EXPECT_EQ(Str("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(Str("\b\f\n\r\t"), "\"\\b\\f\\n\\r\\t\"");
  EXPECT_EQ(Str(std::string("\x01\x1f\x7f", 3)), "\"\\u0001\\u001f\\u007f\"");
  EXPECT_EQ(Str("a/b"), "\"a/b\"");
  EXPECT_EQ(Str("\xff\xfe"), "\"\xff\xfe\"");  // raw bytes, no validation
  EXPECT_EQ(Str(std::string("\0", 1)), "\"\\u0000\"");
}

TEST(JsonOut, FloatsLikeYojson) {
  EXPECT_EQ(Float(30), "30.0");
  EXPECT_EQ(Float(5), "5.0");
  EXPECT_EQ(Float(-2), "-2.0");
  EXPECT_EQ(Float(0.5), "0.5");
  EXPECT_EQ(Float(0.1), "0.1");
  EXPECT_EQ(Float(1e30), "1e+30");
  EXPECT_EQ(Float(1712345678.123456), "1712345678.123456");
}

TEST(JsonOut, CompactTruncatesStringsAndKeys) {
  auto tree = nlohmann::ordered_json::parse(R"({ "zz": "abcdef", "a": [1, 2.5, null, true],
      "longkey": "x" })");
  std::string out;
  AppendCompactJson(&out, tree, 4);
  EXPECT_EQ(out, "{\"zz\":\"abcd\xe2\x80\xa6\",\"a\":[1,2.5,null,true],\"long\xe2\x80\xa6\":\"x\"}");
}

TEST(JsonOut, TruncationKeepsShorterStrings) {
  EXPECT_EQ(TruncateForTrace("abc", 4), "abc");
  EXPECT_EQ(TruncateForTrace("abcd", 4), "abcd\xe2\x80\xa6");  // exactly N bytes gains "…"
}

}  // namespace
}  // namespace msw
