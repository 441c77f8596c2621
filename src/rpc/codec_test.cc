#include "rpc/codec.h"

#include <gtest/gtest.h>

namespace rpc {
namespace {

// Decodes `text` as a T, returning the error text ("" on success).
template <typename T>
std::string DecodeErrorOf(const std::string& text) {
  try {
    Decode<T>(ParseJson(text));
    return "";
  } catch (const DecodeError& e) {
    return e.what();
  }
}

TEST(CodecTest, Integers) {
  EXPECT_EQ(Decode<int64_t>(ParseJson("123")), 123);
  EXPECT_EQ(Decode<int64_t>(ParseJson("\"123\"")), 123);
  EXPECT_EQ(Decode<int64_t>(ParseJson("\"-5\"")), -5);
  EXPECT_EQ(Decode<int64_t>(ParseJson("9223372036854775807")), INT64_MAX);
  EXPECT_EQ(DecodeErrorOf<int64_t>("1.0"), "Expected int64, got 'F(1.0)'");
  EXPECT_EQ(DecodeErrorOf<int64_t>("1e3"), "Expected int64, got 'F(1000.0)'");
  EXPECT_EQ(DecodeErrorOf<int64_t>("\"1.5\""), "Expected int64, got 'S(1.5)'");
  EXPECT_EQ(DecodeErrorOf<int64_t>("9223372036854775808"),
            "Expected int64, got 'I(9223372036854775808)'");
  EXPECT_EQ(DecodeErrorOf<int64_t>("true"), "Expected int64, got 'B(true)'");
  EXPECT_EQ(Decode<int32_t>(ParseJson("-7")), -7);
  EXPECT_EQ(DecodeErrorOf<int32_t>("2147483648"), "Expected int32, got 'I(2147483648)'");
}

TEST(CodecTest, Floats) {
  EXPECT_EQ(Decode<double>(ParseJson("1")), 1.0);
  EXPECT_EQ(Decode<double>(ParseJson("0.25")), 0.25);
  EXPECT_EQ(Decode<double>(ParseJson("\"2.5\"")), 2.5);
  EXPECT_EQ(DecodeErrorOf<double>("\"x\""), "Expected float, got 'S(x)'");
  EXPECT_EQ(DecodeErrorOf<double>("\" 1\""), "Expected float, got 'S( 1)'");
  EXPECT_EQ(DecodeErrorOf<double>("null"), "Expected float, got 'N'");
  EXPECT_EQ(DecodeErrorOf<double>("\"nan\""), "Expected float, got 'S(nan)'");
  EXPECT_EQ(DecodeErrorOf<double>("\"inf\""), "Expected float, got 'S(inf)'");
}

TEST(CodecTest, BoolStringUnit) {
  EXPECT_TRUE(Decode<bool>(ParseJson("true")));
  EXPECT_EQ(DecodeErrorOf<bool>("1"), "Expected bool, got 'I(1)'");
  EXPECT_EQ(DecodeErrorOf<bool>("\"true\""), "Expected bool, got 'S(true)'");
  EXPECT_EQ(Decode<std::string>(ParseJson("\"x\"")), "x");
  EXPECT_EQ(DecodeErrorOf<std::string>("null"), "Expected string, got 'N'");
  EXPECT_EQ(DecodeErrorOf<std::string>("1"), "Expected string, got 'I(1)'");
  EXPECT_EQ(DecodeErrorOf<Unit>("null"), "");
  EXPECT_EQ(DecodeErrorOf<Unit>("{}"), "Expected unit, got '{}'");
}

TEST(CodecTest, Containers) {
  using Map = std::map<std::string, std::string>;
  EXPECT_EQ(Decode<Map>(ParseJson(R"({"a":"b"})")), (Map{{"a", "b"}}));
  EXPECT_EQ(DecodeErrorOf<Map>("[]"), "Expected dict, got '[]'");
  EXPECT_EQ(DecodeErrorOf<Map>(R"({"a":1})"), "Expected string, got 'I(1)'");
  EXPECT_EQ(DecodeErrorOf<std::vector<std::string>>("{}"), "Expected list, got '{}'");
  using Pair = std::tuple<int64_t, int64_t>;
  EXPECT_EQ(Decode<Pair>(ParseJson("[0,16]")), (Pair{0, 16}));
  EXPECT_EQ(DecodeErrorOf<Pair>("[1,2,3]"), "Too many items in a tuple!");
  EXPECT_EQ(DecodeErrorOf<Pair>("[1]"), "Too few items in a tuple!");
  EXPECT_EQ(Encode(Pair{0, 16}), ParseJson("[0,16]"));
  using Opt = std::optional<std::string>;
  EXPECT_EQ(Decode<Opt>(ParseJson("[]")), std::nullopt);
  EXPECT_EQ(Decode<Opt>(ParseJson(R"(["ip"])")), Opt("ip"));
  EXPECT_EQ(Encode(Opt()), ParseJson("[]"));
  EXPECT_EQ(Encode(Opt("x")), ParseJson(R"(["x"])"));
  EXPECT_EQ(DecodeErrorOf<Opt>(R"(["a","b"])"), "Expected option ([] or [value]), got '[S(a), S(b)]'");
}

TEST(CodecTest, RecordReaderRules) {
  Json j = ParseJson(R"({"KEY":"k","Name":"n","bad":null,"uuid":null})");
  RecordReader r(j, "volume");
  std::string key;
  r.Required("key", key);
  EXPECT_EQ(key, "k");
  std::string missing;
  try {
    r.Required("description", missing);
    FAIL();
  } catch (const DecodeError& e) {
    EXPECT_STREQ(e.what(), "No value found for key: 'description' when unmarshalling 'volume'");
  }
  std::optional<std::string> uuid;
  EXPECT_THROW(r.Optional("uuid", uuid), DecodeError);
  std::optional<bool> flag;
  r.OptionalOr("absent", flag, Json(false));
  EXPECT_EQ(flag, std::nullopt);
  r.OptionalOr("bad", flag, Json(false));
  EXPECT_EQ(flag, false);
  std::string ty;
  r.RequiredOr("ty", ty, Json("user"));
  EXPECT_EQ(ty, "user");
  try {
    RecordReader bad(Json(nullptr), "sr_stat");
    FAIL();
  } catch (const DecodeError& e) {
    EXPECT_STREQ(e.what(), "Expecting Rpc.Dict when unmarshalling a 'sr_stat'");
  }
}

TEST(CodecTest, VariantShapes) {
  VariantReader bare(Json("Data"));
  EXPECT_TRUE(bare.Is("data"));
  EXPECT_TRUE(bare.payload().is_null());
  Json pair = ParseJson(R"(["Healthy","x"])");
  VariantReader tagged(pair);
  EXPECT_EQ(tagged.tag(), "Healthy");
  EXPECT_EQ(tagged.payload(), "x");
  EXPECT_THROW(VariantReader(ParseJson(R"(["Healthy"])")), DecodeError);
  EXPECT_THROW(VariantReader(ParseJson(R"(["Healthy","x","y"])")), DecodeError);
  EXPECT_THROW(VariantReader(ParseJson("{}")), DecodeError);
  try {
    bare.ThrowUnknownTag();
  } catch (const DecodeError& e) {
    EXPECT_STREQ(e.what(), "Unknown tag 'Data'");
  }
  EXPECT_EQ(VariantJson("Data", nullptr), Json("Data"));
  EXPECT_EQ(VariantJson("CopyV1", "k"), ParseJson(R"(["CopyV1","k"])"));
}

}  // namespace
}  // namespace rpc
