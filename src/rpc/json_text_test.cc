#include "rpc/json_text.h"

#include <gtest/gtest.h>

namespace rpc {
namespace {

TEST(JsonTextTest, FirstDuplicateKeyWins) {
  Json j = ParseJson(R"({"a":1,"b":{"c":1,"c":2},"a":2})");
  EXPECT_EQ(j["a"], 1);
  EXPECT_EQ(j["b"]["c"], 1);
}

TEST(JsonTextTest, RejectsGarbageAndDeepNesting) {
  EXPECT_THROW(ParseJson("{\"a\":"), JsonSyntaxError);
  EXPECT_THROW(ParseJson("[1] x"), JsonSyntaxError);
  EXPECT_THROW(ParseJson("4444442444444e4444"), JsonSyntaxError);  // found by rpc_decode_fuzz
  std::string deep(kMaxJsonDepth + 1, '[');
  deep += std::string(kMaxJsonDepth + 1, ']');
  try {
    ParseJson(deep);
    FAIL() << "accepted nesting deeper than the limit";
  } catch (const JsonSyntaxError& e) {
    EXPECT_EQ(std::string(e.what()), "JSON nested deeper than 512 levels");
  }
  std::string ok(kMaxJsonDepth, '[');
  ok += std::string(kMaxJsonDepth, ']');
  EXPECT_NO_THROW(ParseJson(ok));
}

TEST(JsonTextTest, PrintsLikeTheReference) {
  EXPECT_EQ(Serialize(Json("a\"b\\c\n\x01\xc3\xa9/")), R"("a\"b\\c\n\u0001é/")");
  EXPECT_EQ(Serialize(Json(1.0)), "1.0");
  EXPECT_EQ(Serialize(Json(0.0)), "0.0");
  EXPECT_EQ(Serialize(Json(0.25)), "0.25");
  EXPECT_EQ(Serialize(Json(1e20)), "1e+20");
  EXPECT_EQ(Serialize(Json(int64_t{9223372036854775807})), "9223372036854775807");
  EXPECT_EQ(Serialize(ParseJson(R"({"a":[1,{"b":null}]})")), R"({"a":[1,{"b":null}]})");
}

TEST(JsonTextTest, InvalidUtf8IsReplacedNotFatal) {
  EXPECT_EQ(Serialize(Json(std::string("a\xff"))), "\"a\xef\xbf\xbd\"");
}

}  // namespace
}  // namespace rpc
