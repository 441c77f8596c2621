#include "switch_client/json_text.h"

#include <gtest/gtest.h>

namespace msclient {
namespace {

TEST(JsonText, RoundTripsCompactly) {
  const char* cases[] = {
      R"({"a":1,"b":[true,false,null],"c":"x"})",
      R"([1.5,-2,1e+100,30.0])",
      R"({"z":1,"a":2})",  // key order kept
      R"("tab\there")",
      R"("ctl\u0001\u007f")",
  };
  for (const char* c : cases) EXPECT_EQ(PrintJson(ParseJson(c)), c) << c;
}

TEST(JsonText, NormalisesSpacing) {
  EXPECT_EQ(PrintJson(ParseJson(" { \"a\" : [ 1 , 2 ] } ")), R"({"a":[1,2]})");
}

TEST(JsonText, KeepsRawHighBytes) {
  std::string s = "\"caf\xc3\xa9 \xff\"";
  EXPECT_EQ(ParseJson(s).get<std::string>(), "caf\xc3\xa9 \xff");
  EXPECT_EQ(PrintJson(ParseJson(s)), s);
}

TEST(JsonText, DecodesUnicodeEscapes) {
  EXPECT_EQ(ParseJson(R"("\u00e9\ud83d\ude00\/")").get<std::string>(),
            "\xc3\xa9\xf0\x9f\x98\x80/");
}

TEST(JsonText, FloatsLikeYojson) {
  EXPECT_EQ(PrintJsonFloat(30.0), "30.0");
  EXPECT_EQ(PrintJsonFloat(5), "5.0");
  EXPECT_EQ(PrintJsonFloat(0.1), "0.1");
  EXPECT_EQ(PrintJsonFloat(1712345678.123456), "1712345678.123456");
  EXPECT_EQ(PrintJsonFloat(1e100), "1e+100");
}

TEST(JsonText, RejectsBadInputWithOffset) {
  struct Case {
    const char* text;
    const char* error;
  } cases[] = {
      {"", "invalid JSON at offset 0: expected a value"},
      {"[1,", "invalid JSON at offset 3: expected a value"},
      {"{\"a\" 1}", "invalid JSON at offset 5: expected ':'"},
      {"\"abc", "invalid JSON at offset 4: expected a closing '\"'"},
      {"1 2", "invalid JSON at offset 2: expected end of input"},
  };
  for (const Case& c : cases) {
    try {
      ParseJson(c.text);
      ADD_FAILURE() << "accepted " << c.text;
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()), c.error);
    }
  }
  EXPECT_FALSE(IsJson(std::string(2000, '[')));
}

}  // namespace
}  // namespace msclient
