// Runs the real smapi-idl binary on small trees in a temp dir and checks its output and exit
// codes (0 ok, 1 IDL errors, 2 usage or I/O errors).
#include <stdlib.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class SmapiIdlTest : public ::testing::Test {
 protected:
  struct Run {
    int exit_code = -1;
    std::string out;
    std::string err;
  };

  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "idl_cli_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs smapi-idl with `args` (already shell-safe: temp paths have no spaces).
  Run Idl(const std::string& args) {
    std::string command = std::string(SMAPI_IDL_BINARY) + " " + args + " >" +
                          (dir_ / "out").string() + " 2>" + (dir_ / "err").string();
    int status = std::system(command.c_str());
    Run run;
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    run.out = ReadFile(dir_ / "out");
    run.err = ReadFile(dir_ / "err");
    return run;
  }

  std::string WriteTree(const std::string& name, const std::string& text) {
    fs::create_directories(dir_ / name);
    std::ofstream(dir_ / name / "p.smapi") << text;
    return (dir_ / name).string();
  }

  fs::path dir_;
};

constexpr const char* kTree = R"(/// Demo.
package demo;
/// One.
release "1";
/// Two.
release "2";
/// Errors.
errors exns {
  /// X.
  X;
}
/// G.
group things "Things";
/// Things.
interface Thing version "1.0.0" errors exns {
  /// Get.
  method get {}
  /// Put.
  @introduced("2")
  @deprecated("2", "use get")
  method put {}
  /// Old.
  @removed("2", "gone")
  method old {}
}
/// Top level.
interface Top namespace "" version "1.0.0" errors exns {
  /// Find.
  method get_by_name {}
}
)";

TEST_F(SmapiIdlTest, CheckSucceedsOnASoundTree) {
  Run run = Idl("check " + WriteTree("t", kTree));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err, "");
}

TEST_F(SmapiIdlTest, CheckPrintsEachErrorAndExitsOne) {
  std::string tree = WriteTree("t", std::string(kTree) + "alias broken = nope\n");
  Run run = Idl("check " + tree);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.err, tree + "/p.smapi:31:20: expected ';', got end of file\n"
                     "smapi-idl: 1 error in " + tree + "\n");
}

TEST_F(SmapiIdlTest, UsageAndIoErrorsExitTwo) {
  EXPECT_EQ(Idl("").exit_code, 2);
  EXPECT_EQ(Idl("frobnicate").exit_code, 2);
  EXPECT_EQ(Idl("check").exit_code, 2);
  Run missing = Idl("check " + (dir_ / "missing").string());
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(missing.err, "smapi-idl: " + (dir_ / "missing").string() + ": not a directory\n");
}

TEST_F(SmapiIdlTest, HelpOnEverySubcommand) {
  for (const char* sub : {"", "check ", "list ", "show ", "diff ", "gen "}) {
    Run run = Idl(std::string(sub) + "--help");
    EXPECT_EQ(run.exit_code, 0) << sub;
    EXPECT_NE(run.out.find("Usage:"), std::string::npos) << sub;
  }
}

TEST_F(SmapiIdlTest, ListPrintsWireNamesInOrderWithoutRemovedMethods) {
  std::string tree = WriteTree("t", kTree);
  EXPECT_EQ(Idl("list " + tree).out, "Thing.get\nThing.put\nget_by_name\n");
  EXPECT_EQ(Idl("list --all " + tree).out, "Thing.get\nThing.put\nThing.old\nget_by_name\n");
}

TEST_F(SmapiIdlTest, ShowGivesDocumentationAndLifecycle) {
  std::string tree = WriteTree("t", kTree);
  Run run = Idl("show " + tree + " Thing.put");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "demo: method Thing.put  (" + tree + "/p.smapi:21:10)\n"
                     "  | Put.\n"
                     "  introduced: 2\n"
                     "  deprecated: 2 (use get)\n"
                     "  removed: -\n"
                     "  returns unit\n");
  run = Idl("show " + tree + " demo.get_by_name");
  EXPECT_NE(run.out.find("  introduced: 1 (first release)\n"), std::string::npos) << run.out;
  run = Idl("show " + tree);
  EXPECT_NE(run.out.find("  Thing.old: removed 2 (gone)\n"), std::string::npos) << run.out;
  run = Idl("show " + tree + " Nope");
  EXPECT_EQ(run.exit_code, 2);
}

TEST_F(SmapiIdlTest, DiffListsChangesAndExitsZero) {
  std::string before = WriteTree("old", kTree);
  std::string text = kTree;
  const std::string get = "  /// Get.\n  method get {}\n";
  text.replace(text.find(get), get.size(), "");
  std::string after = WriteTree("new", text);
  Run run = Idl("diff " + before + " " + after);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "removed method demo/Thing.get\n");
}

TEST_F(SmapiIdlTest, GenRewritesOnlyChangedFiles) {
  std::string tree = WriteTree("t", kTree);
  std::string out = (dir_ / "gen").string();
  Run first = Idl("gen -v python " + tree + " " + out);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ASSERT_NE(first.out.find("wrote "), std::string::npos) << first.out;
  Run second = Idl("gen -v python " + tree + " " + out);
  EXPECT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(second.out.find("wrote "), std::string::npos) << second.out;
  EXPECT_NE(second.out.find("unchanged "), std::string::npos) << second.out;
}

TEST_F(SmapiIdlTest, GenRejectsUnknownLanguageAndPackage) {
  std::string tree = WriteTree("t", kTree);
  EXPECT_EQ(Idl("gen cobol " + tree + " " + (dir_ / "gen").string()).exit_code, 2);
  Run run = Idl("gen python --package nope " + tree + " " + (dir_ / "gen").string());
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "smapi-idl: no package 'nope' in " + tree + "\n");
}

}  // namespace
