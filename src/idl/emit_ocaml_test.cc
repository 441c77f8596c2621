// Tests of the OCaml emitter over the small model of emit_python_test.cc: layout, type
// definitions, the wire codecs and the client/server modules. Compiling and running the output
// is the job of the bindings tests (bindings/ocaml_test), which use the real IDL.
#include <gtest/gtest.h>

#include "idl/emitter.h"

namespace idl {
namespace testing {
Model BindingsTestModel();
// The fixture of tests/golden/idl, and a check of output against tests/golden/<lang>; both
// in emit_python_test.cc.
Model GoldenFixtureModel();
void ExpectGolden(const std::vector<OutputFile>& files, const std::string& lang);
}  // namespace testing

namespace {

const std::string& Text(const std::vector<OutputFile>& files, const std::string& path) {
  static const std::string missing = "<missing>";
  for (const auto& f : files) {
    if (f.path == path) return f.text;
  }
  return missing;
}

TEST(EmitOcaml, FixtureMatchesTheGoldenFiles) {
  testing::ExpectGolden(EmitOcaml(testing::GoldenFixtureModel()), "ocaml");
}

TEST(EmitOcaml, WritesADuneProject) {
  auto files = EmitOcaml(testing::BindingsTestModel());
  std::vector<std::string> paths;
  for (const auto& f : files) paths.push_back(f.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"dune-project", "rpc/dune", "rpc/smapi_rpc.ml",
                                             "demo/dune", "demo/types.ml", "demo/volume.ml"}));
  EXPECT_NE(Text(files, "demo/dune").find("(libraries yojson smapi_rpc)"), std::string::npos);
}

TEST(EmitOcaml, WritesTypesAndCodecs) {
  const std::string types = Text(EmitOcaml(testing::BindingsTestModel()), "demo/types.ml");
  for (const char* fragment : {
           "type key = string\n",
           "and volume_type =\n  | Data\n",
           "  | Pair of int * float\n",
           "  uuid : (string) option;\n",
           // Nullary constructors are bare strings; payloads are [tag, payload].
           "  | Data -> `String \"Data\"\n",
           "  | Healthy p -> `List [`String \"Healthy\"; `String p]\n",
           // Record members in reverse declaration order, absent options left out.
           "    (match v.volume_type with None -> [] | Some x -> [(\"volume_type\", "
           "volume_type_to_json x)]);\n    [(\"keys\",",
           // The default applies to a present but malformed optional field.
           "Smapi_rpc.optional fields \"volume_type\" (Some (`String \"Data\"))",
           "Smapi_rpc.required fields \"volume\" \"name\" None",
           "  | \"cbt_metadata\" -> Smapi_rpc.unit_of_json payload; (CBT_Metadata : volume_type)\n",
       }) {
    EXPECT_NE(types.find(fragment), std::string::npos) << fragment;
  }
}

TEST(EmitOcaml, WritesClientAndServer) {
  const std::string group = Text(EmitOcaml(testing::BindingsTestModel()), "demo/volume.ml");
  for (const char* fragment : {
           "module Volume_client (T : Smapi_rpc.TRANSPORT) = struct\n",
           "  let create (dbg : string) (sr : string) (name : string) (size : int64) "
           "(sharable : bool) : (Types.volume, Types.exns) result =\n"
           "    Smapi_rpc.call T.rpc \"Volume.create\" (List.concat [[(\"sharable\", `Bool "
           "sharable)]; [(\"size\", Smapi_rpc.int64_to_json size)]; [(\"name\", `String "
           "name)]; [(\"sr\", `String sr)]; [(\"dbg\", `String dbg)]])\n",
           "module type SR_impl = sig\n",
           "  val destroy : string -> string -> Types.key -> (unit, Types.exns) result\n",
           "module SR_server (Impl : SR_impl) = struct\n",
           "    | \"SR.stat\" ->\n      let a_dbg = Smapi_rpc.arg args \"dbg\"",
       }) {
    EXPECT_NE(group.find(fragment), std::string::npos) << fragment;
  }
}

}  // namespace
}  // namespace idl
