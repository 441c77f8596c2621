// The C++ emitter: the golden-file test of the fixture package (tests/golden/idl ->
// tests/golden/cpp), determinism, and the naming rules. The generated code itself is
// compiled and exercised by tests/golden (the fixture) and tests/cpp_bindings (smapiv2/v3).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include <gtest/gtest.h>

#include "idl/emitter.h"
#include "idl/loader.h"

namespace idl {
namespace {

namespace fs = std::filesystem;

fs::path SourceDir() {
  const char* dir = std::getenv("SMAPI_SOURCE_DIR");
  // Without the variable (a run outside ctest), this file's own location gives the tree.
  return dir != nullptr ? fs::path(dir) : fs::path(__FILE__).parent_path() / "../..";
}

Model LoadFixture() {
  Diagnostics diagnostics;
  std::optional<Model> model = LoadModel(SourceDir() / "tests/golden/idl", diagnostics);
  std::ostringstream errors;
  diagnostics.Print(errors);
  EXPECT_TRUE(model.has_value()) << errors.str();
  return model ? *model : Model{};
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// `diff -u` of two texts, for a readable failure message.
std::string UnifiedDiff(const std::string& expected, const std::string& actual,
                        const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("emit_cpp_test." + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "expected", std::ios::binary) << expected;
  std::ofstream(dir / "actual", std::ios::binary) << actual;
  std::string command = "diff -u --label expected/" + name + " --label actual/" + name + " " +
                        (dir / "expected").string() + " " + (dir / "actual").string();
  std::string out;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buffer[4096];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
    ::pclose(pipe);
  }
  fs::remove_all(dir);
  return out;
}

TEST(EmitCppTest, FixtureMatchesTheGoldenFiles) {
  std::vector<OutputFile> files = EmitCpp(LoadFixture());
  ASSERT_EQ(files.size(), 2u);
  for (const OutputFile& file : files) {
    fs::path golden = SourceDir() / "tests/golden/cpp" / file.path;
    ASSERT_TRUE(fs::exists(golden)) << golden << " is missing; run scripts/refresh-golden";
    std::string expected = ReadFile(golden);
    EXPECT_TRUE(expected == file.text)
        << file.path << " differs from its golden copy (refresh with scripts/refresh-golden "
        << "and review the diff):\n"
        << UnifiedDiff(expected, file.text, file.path);
  }
}

TEST(EmitCppTest, OutputIsDeterministic) {
  Model model = LoadFixture();
  std::vector<OutputFile> first = EmitCpp(model);
  std::vector<OutputFile> second = EmitCpp(model);
  ASSERT_EQ(first.size(), second.size());
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].path, second[i].path);
    EXPECT_EQ(first[i].text, second[i].text);
  }
}

// A package built in code, to pin down single rules without the front end.
Model SmallModel() {
  Package p;
  p.name = "tiny";
  p.attributes.push_back({"cpp", {"tiny::v1"}, {}});
  TypeDecl rec;
  rec.kind = TypeDecl::Kind::kRecord;
  rec.name = "rec";
  rec.doc = "A record.";
  Field f;
  f.name = "rec";  // same name as its struct
  f.type.kind = TypeRef::Kind::kString;
  f.doc = "Named like its record.";
  rec.fields.push_back(f);
  Field g;
  g.name = "new";  // a C++ keyword
  g.type.kind = TypeRef::Kind::kBool;
  g.doc = "A keyword.";
  g.default_value = nlohmann::json(true);
  rec.fields.push_back(g);
  p.types.push_back(rec);
  Model m;
  m.packages.push_back(p);
  return m;
}

TEST(EmitCppTest, EscapesNamesAndHonoursTheCppNamespace) {
  std::vector<OutputFile> files = EmitCpp(SmallModel());
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].path, "smapi/tiny.h");
  EXPECT_EQ(files[1].path, "smapi/tiny.cc");
  const std::string& header = files[0].text;
  EXPECT_NE(header.find("namespace tiny::v1 {"), std::string::npos);
  EXPECT_NE(header.find("  std::string rec_;"), std::string::npos);
  EXPECT_NE(header.find("  bool new_ = true;"), std::string::npos);
  const std::string& source = files[1].text;
  EXPECT_NE(source.find("r.Required(\"rec\", out.rec_);"), std::string::npos);
  EXPECT_NE(source.find("r.RequiredOr(\"new\", out.new_, kNewDefault);"), std::string::npos);
  EXPECT_NE(source.find("j[\"new\"] = rpc::Encode(v.new_);"), std::string::npos);
}

}  // namespace
}  // namespace idl
