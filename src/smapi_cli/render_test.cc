#include "smapi_cli/render.h"

#include <gtest/gtest.h>

namespace smapicli {
namespace {

TEST(RenderTextTest, ScalarsObjectsAndLists) {
  EXPECT_EQ(RenderText(rpc::Json("sr1")), "sr1\n");
  EXPECT_EQ(RenderText(rpc::Json(nullptr)), "null\n");
  EXPECT_EQ(RenderText(rpc::ParseJson(R"({"a":1,"b":{"c":"x"},"d":["p",{"q":true}],"e":[]})")),
            "a: 1\nb:\n  c: x\nd:\n  - p\n  -\n    q: true\ne: []\n");
}

TEST(MethodHelpTest, ShowsFlagsTypesAndDocs) {
  rpc::MethodInfo m;
  m.wire_name = "Volume.create";
  m.doc = "Create a volume.\n\nMore text.";
  rpc::ArgumentInfo dbg{"dbg", "debug_info", "string", "Debug context", false};
  rpc::ArgumentInfo size{"size", "int64", "int64", "Size in bytes", false};
  m.arguments = {dbg, size};
  m.result_name = "volume";
  m.result_type = "volume";
  m.result_resolved_type = "volume";
  m.result_doc = "The new volume";
  EXPECT_EQ(MethodHelp(m, "smapi --plugin DIR"),
            "usage: smapi --plugin DIR Volume.create [--dbg dbg] --size size\n\n"
            "  Create a volume.\n\n  More text.\n\n"
            "arguments:\n"
            "  --dbg : debug_info (= string), default \"smapi\"\n      Debug context\n"
            "  --size : int64\n      Size in bytes\n"
            "result: volume : volume\n      The new volume\n");
}

TEST(MethodListTest, FirstSentenceOnly) {
  rpc::MethodInfo m;
  m.wire_name = "SR.ls";
  m.doc = "List volumes. Also more.";
  EXPECT_EQ(MethodList({m}), "  SR.ls  List volumes.\n");
}

}  // namespace
}  // namespace smapicli
