#include "smapi_cli/arguments.h"

#include <gtest/gtest.h>

namespace smapicli {
namespace {

rpc::ArgumentInfo Arg(std::string name, std::string type, bool optional = false) {
  rpc::ArgumentInfo a;
  a.name = std::move(name);
  a.type = type;
  a.resolved_type = std::move(type);
  a.optional = optional;
  return a;
}

rpc::MethodInfo Attach() {
  rpc::MethodInfo m;
  m.interface_name = "SR";
  m.name = "attach";
  m.wire_name = "SR.attach";
  m.arguments = {Arg("dbg", "string"), Arg("sr", "string"),
                 Arg("device_config", "map<string, string>"), Arg("size", "int64"),
                 Arg("read_write", "bool"), Arg("keys", "list<string>"),
                 Arg("note", "option<string>", true), Arg("info", "vdi_info", true)};
  return m;
}

TEST(FlagNameTest, UnderscoresBecomeDashes) {
  EXPECT_EQ(FlagName("device_config"), "--device-config");
  EXPECT_EQ(FlagName("sr"), "--sr");
}

TEST(SplitFlagsTest, SpaceAndEqualsForms) {
  Flags f = SplitFlags({"--sr", "a", "--device-config=path=/x"});
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0], (std::pair<std::string, std::string>{"sr", "a"}));
  EXPECT_EQ(f[1], (std::pair<std::string, std::string>{"device-config", "path=/x"}));
}

TEST(SplitFlagsTest, RejectsPositionalAndDanglingFlag) {
  EXPECT_THROW(SplitFlags({"oops"}), UsageError);
  try {
    SplitFlags({"--sr"});
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "--sr: a value is required");
  }
}

TEST(BuildParamsTest, TypesFollowTheIdl) {
  rpc::Json p = BuildParams(Attach(),
                            SplitFlags({"--sr", "sr1", "--device-config", "path=/srv/a",
                                        "--device-config", "mode=x", "--size", "67108864",
                                        "--read-write", "true", "--keys", "a", "--keys", "b"}),
                            "smapi");
  EXPECT_EQ(p, rpc::ParseJson(R"({"sr":"sr1","device_config":{"path":"/srv/a","mode":"x"},
      "size":67108864,"read_write":true,"keys":["a","b"],"dbg":"smapi"})"));
}

TEST(BuildParamsTest, JsonFormsAndRecordPairs) {
  rpc::Json p = BuildParams(
      Attach(),
      SplitFlags({"--dbg", "d", "--sr", "s", "--device-config", R"({"path":"/p"})", "--size",
                  "1", "--read-write", "false", "--keys", R"(["x"])", "--info", "name=v",
                  "--info", "virtual_size=5", "--note", "n"}),
      "smapi");
  EXPECT_EQ(p["device_config"], rpc::ParseJson(R"({"path":"/p"})"));
  EXPECT_EQ(p["keys"], rpc::ParseJson(R"(["x"])"));
  EXPECT_EQ(p["info"], rpc::ParseJson(R"({"name":"v","virtual_size":5})"));
  EXPECT_EQ(p["note"], "n");
  EXPECT_EQ(p["dbg"], "d");
}

TEST(BuildParamsTest, ErrorsNameTheFlag) {
  auto message = [](std::vector<std::string> args) -> std::string {
    try {
      BuildParams(Attach(), SplitFlags(args), "smapi");
    } catch (const UsageError& e) {
      return e.what();
    }
    return "no error";
  };
  std::vector<std::string> ok = {"--sr", "s", "--device-config", "a=b", "--size", "1",
                                 "--read-write", "true", "--keys", "k"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> v = ok;
    v.insert(v.end(), extra.begin(), extra.end());
    return v;
  };
  EXPECT_EQ(message(ok), "no error");
  EXPECT_EQ(message({"--sr", "s"}), "SR.attach: missing --device-config (map<string, string>)");
  EXPECT_EQ(message(with({"--size", "2"})), "--size given twice");
  EXPECT_EQ(message({"--sr", "s", "--size", "big"}), "--size: 'big' is not an integer");
  EXPECT_EQ(message({"--read-write", "yes"}), "--read-write: 'yes' is not true or false");
  EXPECT_EQ(message({"--device-config", "nokey"}),
            "--device-config: 'nokey' is not a JSON object or a key=value pair");
  EXPECT_EQ(message({"--device-config", "[1]"}), "--device-config: '[1]' is not a JSON object");
  EXPECT_EQ(message(with({"--device-config", "a=c"})), "--device-config: key 'a' given twice");
  EXPECT_EQ(message({"--bogus", "1"}),
            "unknown flag --bogus for SR.attach; it takes: --dbg --sr --device-config --size "
            "--read-write --keys --note --info");
}

TEST(ParseValueTest, BareWordIsAVariantTag) {
  EXPECT_EQ(ParseValue("volume_type", "Data", "t"), "Data");
  EXPECT_EQ(ParseValue("option<int>", "7", "t"), 7);
  EXPECT_EQ(ParseValue("float", "1.5", "t"), 1.5);
  EXPECT_THROW(ParseValue("int32", "99999999999", "t"), UsageError);
  EXPECT_THROW(ParseValue("float", "nan", "t"), UsageError);
}

}  // namespace
}  // namespace smapicli
