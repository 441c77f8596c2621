// Checker tests load real files through LoadModel, so the FILE:LINE:COL of every message is the
// one a user would see.
#include "idl/checker.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "idl/loader.h"

namespace idl {
namespace {

namespace fs = std::filesystem;

// Ten lines every case starts with: a package, two releases and an errors variant.
constexpr const char* kPrelude = R"(package p;
/// R1.
release "1";
/// R2.
release "2";
/// E.
errors exns {
  /// X.
  X;
})";

class CheckerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "idl_checker_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& name, const std::string& text) {
    fs::create_directories((dir_ / name).parent_path());
    std::ofstream(dir_ / name) << text;
  }

  // Loads the tree and returns the diagnostics with the temp dir removed from file names.
  std::string Load() {
    Diagnostics diagnostics;
    model_ = LoadModel(dir_, diagnostics);
    std::ostringstream out;
    diagnostics.Print(out);
    std::string text = out.str();
    std::string prefix = dir_.string() + "/";
    for (size_t at; (at = text.find(prefix)) != std::string::npos;) text.erase(at, prefix.size());
    return text;
  }

  // The diagnostics of a single file made of the prelude and `body` (starting on line 11).
  std::string CheckBody(const std::string& body) {
    Write("t.smapi", std::string(kPrelude) + "\n" + body);
    return Load();
  }

  fs::path dir_;
  std::optional<Model> model_;
};

struct CheckCase {
  const char* body;
  const char* errors;
};

TEST_F(CheckerTest, PreludeAloneIsClean) {
  EXPECT_EQ(CheckBody(""), "");
  ASSERT_TRUE(model_.has_value());
  EXPECT_EQ(model_->packages.size(), 1u);
}

TEST_F(CheckerTest, EachRuleReportsExactTextAndLocation) {
  const CheckCase kCases[] = {
      // unknown types, anywhere in a type expression
      {"/// A.\nalias a = list<nosuch>;", "t.smapi:12:16: unknown type 'nosuch'\n"},
      {"/// A.\nalias a = map<string, (int, nope)>;", "t.smapi:12:29: unknown type 'nope'\n"},
      // map keys
      {"/// A.\nalias a = map<int, string>;", "t.smapi:12:15: map key must be a string, got 'int'\n"},
      {"/// K.\nalias k = string;\n/// A.\nalias a = map<k, int>;", ""},
      // duplicates at every level
      {"/// A.\nalias a = int;\n/// A.\nalias a = int;",
       "t.smapi:14:7: duplicate type 'a' (first declared at t.smapi:12:7)\n"},
      {"/// R.\nrelease \"1\";", "t.smapi:12:9: duplicate release '1' (first declared at t.smapi:3:9)\n"},
      {"/// R.\nrecord r {\n  /// F.\n  f: int;\n  /// F.\n  f: int;\n}",
       "t.smapi:16:3: duplicate field 'f' in record 'r' (first declared at t.smapi:14:3)\n"},
      {"/// V.\nvariant v {\n  /// C.\n  C;\n  /// C.\n  C;\n}",
       "t.smapi:16:3: duplicate constructor 'C' in variant 'v' (first declared at t.smapi:14:3)\n"},
      {"/// I.\ninterface I version \"1.0.0\" errors exns {}\n/// I.\ninterface I version \"1.0.0\" errors exns {}",
       "t.smapi:14:11: duplicate interface 'I' (first declared at t.smapi:12:11)\n"},
      {"/// I.\ninterface I version \"1.0.0\" errors exns {\n  /// M.\n  method m {}\n  /// M.\n  method m {}\n}",
       "t.smapi:16:10: duplicate method 'm' in interface 'I' (first declared at t.smapi:14:10)\n"
       "t.smapi:16:10: duplicate wire name 'I.m' (first declared at t.smapi:14:10)\n"},
      {"/// I.\ninterface I version \"1.0.0\" errors exns {\n  /// M.\n  method m {\n    /// A.\n    a: int;\n    /// A.\n    a: int;\n  }\n}",
       "t.smapi:18:5: duplicate argument 'a' in method 'I.m' (first declared at t.smapi:16:5)\n"},
      {"/// I.\ninterface I namespace \"N\" version \"1.0.0\" errors exns {\n  /// M.\n  method m {}\n}\n"
       "/// J.\ninterface J namespace \"N\" version \"1.0.0\" errors exns {\n  /// M.\n  method m {}\n}",
       "t.smapi:19:10: duplicate wire name 'N.m' (first declared at t.smapi:14:10)\n"},
      {"/// G.\ngroup g \"G\";\n/// G.\ngroup g \"G\";",
       "t.smapi:14:7: duplicate group 'g' (first declared at t.smapi:12:7)\n"},
      {"/// D.\nparam d: string;\n/// D.\nparam d: string;",
       "t.smapi:14:7: duplicate param 'd' (first declared at t.smapi:12:7)\n"},
      {"/// S.\nalias string = int;",
       "t.smapi:12:7: type name 'string' is reserved for a builtin type\n"},
      // missing documentation
      {"alias a = int;", "t.smapi:11:7: missing doc comment on alias 'a'\n"},
      {"record r {\n  f: int;\n}",
       "t.smapi:11:8: missing doc comment on record 'r'\n"
       "t.smapi:12:3: missing doc comment on field 'f' of record 'r'\n"},
      {"variant v {\n  C;\n}",
       "t.smapi:11:9: missing doc comment on variant 'v'\n"
       "t.smapi:12:3: missing doc comment on constructor 'C' of variant 'v'\n"},
      {"errors e {\n  /// C.\n  C;\n}", "t.smapi:11:8: missing doc comment on errors 'e'\n"},
      {"group g \"G\";", "t.smapi:11:7: missing doc comment on group 'g'\n"},
      {"param d: string;", "t.smapi:11:7: missing doc comment on param 'd'\n"},
      {"interface I version \"1.0.0\" errors exns {\n  method m {\n    a: int;\n    returns int;\n  }\n}",
       "t.smapi:11:11: missing doc comment on interface 'I'\n"
       "t.smapi:12:10: missing doc comment on method 'I.m'\n"
       "t.smapi:13:5: missing doc comment on argument 'a' of method 'I.m'\n"
       "t.smapi:14:5: missing doc comment on result of method 'I.m'\n"},
      // shared params
      {"/// I.\ninterface I version \"1.0.0\" errors exns {\n  /// M.\n  method m {\n    dbg;\n  }\n}",
       "t.smapi:15:5: unknown shared param 'dbg' (declare `param dbg: TYPE;` or write `dbg: TYPE;`)\n"},
      {"param dbg: string;\n/// I.\ninterface I version \"1.0.0\" errors exns {\n  /// M.\n  method m {\n    dbg;\n  }\n}",
       "t.smapi:11:7: missing doc comment on param 'dbg'\n"},
      // attributes and lifecycles
      {"/// A.\n@frob\nalias a = int;", "t.smapi:12:1: unknown attribute @frob\n"},
      {"/// A.\n@introduced(\"9\")\nalias a = int;",
       "t.smapi:12:1: @introduced names undeclared release \"9\"\n"},
      {"/// A.\n@introduced(\"1\", \"x\")\nalias a = int;",
       "t.smapi:12:1: @introduced takes one release, got 2 arguments\n"},
      {"/// A.\n@deprecated\nalias a = int;",
       "t.smapi:12:1: @deprecated takes a release and an optional note, got 0 arguments\n"},
      {"/// A.\n@deprecated(\"1\")\n@introduced(\"1\")\nalias a = int;",
       "t.smapi:13:1: lifecycle out of order: @introduced must come before @deprecated\n"},
      {"/// A.\n@introduced(\"2\")\n@changed(\"1\", \"x\")\nalias a = int;",
       "t.smapi:13:1: lifecycle out of order: @changed(\"1\") is older than @introduced(\"2\")\n"},
      {"/// A.\n@removed(\"1\")\n@removed(\"2\")\nalias a = int;",
       "t.smapi:13:1: @removed given more than once\n"},
      {"/// A.\n@introduced(\"1\")\n@changed(\"2\", \"x\")\n@changed(\"2\", \"y\")\n@deprecated(\"2\")\n"
       "@removed(\"2\")\nalias a = int;",
       ""},
      {"/// A.\n@fallback\nalias a = int;",
       "t.smapi:12:1: @fallback is only allowed on a variant constructor\n"},
      {"/// A.\n@python(\"x\")\nalias a = int;",
       "t.smapi:12:1: @python is only allowed on the package line\n"},
      // @fallback
      {"/// V.\nvariant v {\n  /// C.\n  @fallback\n  C(int);\n}",
       "t.smapi:15:3: @fallback constructor 'C' must have no payload\n"},
      {"/// V.\nvariant v {\n  /// C.\n  @fallback\n  C;\n  /// D.\n  @fallback\n  D;\n}",
       "t.smapi:18:3: more than one @fallback constructor in variant 'v' (first is 'C')\n"},
      {"/// V.\nvariant v {\n  /// C.\n  @fallback(\"x\")\n  C;\n}",
       "t.smapi:14:3: @fallback takes no arguments, got 1 argument\n"},
      {"/// V.\nvariant v {\n}", "t.smapi:12:9: variant 'v' has no constructors\n"},
      // defaults
      {"/// R.\nrecord r {\n  /// F.\n  f: string = 1;\n}",
       "t.smapi:14:3: default 1 does not fit type 'string' of field 'f'\n"},
      {"/// R.\nrecord r {\n  /// F.\n  f: string = user;\n}",
       "t.smapi:14:3: default user does not fit type 'string' of field 'f'\n"},
      {"/// R.\nrecord r {\n  /// F.\n  f: option<bool> = \"true\";\n}",
       "t.smapi:14:3: default \"true\" does not fit type 'option<bool>' of field 'f'\n"},
      {"/// R.\nrecord r {\n  /// F.\n  f: option<exns> = Y;\n}",
       "t.smapi:14:3: default Y does not fit type 'option<exns>' of field 'f'\n"},
      {"/// R.\nrecord r {\n  /// F.\n  f: int32 = 3000000000;\n}",
       "t.smapi:14:3: default 3000000000 does not fit type 'int32' of field 'f'\n"},
      {"/// R.\nrecord r {\n  /// F.\n  a: option<exns> = X;\n  /// F.\n  b: float = 1;\n"
       "  /// F.\n  c: map<string, int> = {};\n  /// F.\n  d: list<int> = [];\n  /// F.\n"
       "  e: option<int> = null;\n  /// F.\n  g: json = \"x\";\n}",
       ""},
      // found by idl_parser_fuzz: a default that is not valid UTF-8 used to abort in dump()
      {"/// R.\nrecord r {\n  /// F.\n  f: bool = \"\xFF\";\n}",
       "t.smapi:14:3: default \"\" does not fit type 'bool' of field 'f'\n"
       "t.smapi:14:13: string literal is not valid UTF-8\n"},
      // interface header
      {"/// I.\ninterface I version \"5.0\" errors exns {}",
       "t.smapi:12:11: version \"5.0\" of interface 'I' is not MAJOR.MINOR.PATCH\n"},
      {"/// I.\ninterface I version \"1.0.0\" errors nope {}",
       "t.smapi:12:11: unknown errors variant 'nope' in interface 'I'\n"},
      {"/// V.\nvariant v {\n  /// C.\n  C;\n}\n/// I.\ninterface I version \"1.0.0\" errors v {}",
       "t.smapi:17:11: 'v' named by interface 'I' is not an errors variant\n"},
      // aliases that go round in circles
      {"/// A.\nalias a = b;\n/// B.\nalias b = a;\n/// C.\nalias c = map<a, int>;",
       "t.smapi:12:7: alias 'a' refers to itself\n"
       "t.smapi:14:7: alias 'b' refers to itself\n"},
  };
  for (const auto& c : kCases) {
    EXPECT_EQ(CheckBody(c.body), c.errors) << c.body;
    EXPECT_EQ(model_.has_value(), std::string(c.errors).empty()) << c.body;
  }
}

TEST_F(CheckerTest, FillsWireNamesResultsSharedParamsAndLifecycles) {
  ASSERT_EQ(CheckBody(R"(/// Debug context.
param dbg: string;
/// A volume.
record volume {
  /// A flag.
  @introduced("2")
  @deprecated("2", "not needed")
  flag: option<bool> = false;
}
/// G.
group g "Title";
/// Volumes.
interface Volume version "5.0.0" errors exns {
  /// Remove.
  method destroy {
    dbg;
    /// A local doc.
    dbg2: string;
  }
  /// Get.
  method stat {
    /// Overridden doc.
    dbg;
    /// The volume.
    returns volume;
  }
}
/// Top-level calls.
interface Top namespace "" version "1.0.0" errors exns {
  /// Find.
  @introduced("2")
  method get_by_name {}
}
)"),
            "");
  ASSERT_TRUE(model_.has_value());
  const Package& p = model_->packages[0];
  const Interface& volume = p.interfaces[0];
  EXPECT_EQ(volume.group, "g");
  EXPECT_EQ(volume.methods[0].wire_name, "Volume.destroy");
  EXPECT_EQ(volume.methods[0].result.type.kind, TypeRef::Kind::kUnit);
  const Argument& dbg = volume.methods[0].arguments[0];
  EXPECT_EQ(dbg.type.kind, TypeRef::Kind::kString);
  EXPECT_EQ(dbg.doc, "Debug context.");
  EXPECT_EQ(volume.methods[1].arguments[0].doc, "Overridden doc.");
  EXPECT_EQ(ToString(volume.methods[1].result.type), "volume");
  EXPECT_EQ(p.interfaces[1].methods[0].wire_name, "get_by_name");
  EXPECT_EQ(p.interfaces[1].methods[0].lifecycle.ReleaseOf(LifecycleEvent::Kind::kIntroduced), "2");
  const Field& flag = p.FindType("volume")->fields[0];
  ASSERT_EQ(flag.lifecycle.events.size(), 2u);
  EXPECT_EQ(flag.lifecycle.events[1].note, "not needed");
  EXPECT_TRUE(flag.lifecycle.IsDeprecated());
  EXPECT_FALSE(flag.lifecycle.IsRemoved());
  EXPECT_EQ(p.groups[0].interfaces, (std::vector<std::string>{"Volume", "Top"}));
}

TEST_F(CheckerTest, FallbackConstructorIsFlagged) {
  ASSERT_EQ(CheckBody("/// E.\nerrors e {\n  /// U.\n  @fallback\n  Unknown_error;\n}"), "");
  const TypeDecl* e = model_->packages[0].FindType("e");
  ASSERT_NE(e->FallbackConstructor(), nullptr);
  EXPECT_EQ(e->FallbackConstructor()->name, "Unknown_error");
}

TEST_F(CheckerTest, PackagesSpanFilesAndNamesResolveAcrossThem) {
  Write("a/1.smapi", std::string(kPrelude) + "\n/// Key.\nalias key = string;\n");
  Write("b/2.smapi", "/// Q.\n@python(\"q\")\npackage p;\n/// Uses key.\nalias k2 = list<key>;\n");
  Write("c/3.smapi", "/// Other.\npackage other;\n/// Own key.\nalias key = int;\n");
  Write("c/notes.txt", "not idl");
  EXPECT_EQ(Load(), "");
  ASSERT_TRUE(model_.has_value());
  ASSERT_EQ(model_->packages.size(), 2u);
  EXPECT_EQ(model_->packages[0].name, "p");
  EXPECT_EQ(model_->packages[0].types.size(), 3u);
  EXPECT_EQ(model_->packages[0].AttributeOr("python", "-"), "q");
  EXPECT_EQ(model_->packages[1].FindType("key")->alias_target.kind, TypeRef::Kind::kInt);
}

TEST_F(CheckerTest, ConflictingPackageAttributes) {
  Write("1.smapi", "@python(\"a\")\npackage p;\n");
  Write("2.smapi", "@python(\"b\")\npackage p;\n");
  EXPECT_EQ(Load(), "2.smapi:1:1: conflicting @python for package 'p': \"b\" here, \"a\" at 1.smapi:1:1\n");
}

TEST_F(CheckerTest, SyntaxErrorsInOneFileAndCheckErrorsInAnotherAreAllReported) {
  Write("1.smapi", "package p;\nalias a = ;\n");
  Write("2.smapi", "package p;\nalias b = nope;\n");
  EXPECT_EQ(Load(),
            "1.smapi:2:11: expected a type, got ';'\n"
            "2.smapi:2:7: missing doc comment on alias 'b'\n"
            "2.smapi:2:11: unknown type 'nope'\n");
  EXPECT_FALSE(model_.has_value());
}

TEST_F(CheckerTest, EmptyOrMissingDirectory) {
  EXPECT_EQ(Load(), dir_.string() + ":1:1: no .smapi files found\n");
  fs::path gone = dir_ / "gone";
  Diagnostics d;
  EXPECT_FALSE(LoadModel(gone, d).has_value());
  ASSERT_EQ(d.errors().size(), 1u);
  EXPECT_EQ(d.errors()[0].message, "not a directory");
}

// The fixture under tests/idl/errors is a file full of mistakes; its expected diagnostics are
// in expected.txt beside it, with paths relative to that directory.
TEST(ErrorFixtureTest, DiagnosticsMatchTheExpectedFile) {
  const char* source_dir = getenv("SMAPI_SOURCE_DIR");
  fs::path fixture = fs::path(source_dir ? source_dir : SMAPI_IDL_SOURCE_DIR) / "tests/idl/errors";
  Diagnostics diagnostics;
  EXPECT_FALSE(LoadModel(fixture, diagnostics).has_value());
  std::ostringstream out;
  diagnostics.Print(out);
  std::string actual = out.str();
  std::string prefix = fixture.string() + "/";
  for (size_t at; (at = actual.find(prefix)) != std::string::npos;) actual.erase(at, prefix.size());
  std::ifstream in(fixture / "expected.txt");
  ASSERT_TRUE(in.is_open()) << fixture / "expected.txt";
  std::stringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(actual, expected.str());
}

}  // namespace
}  // namespace idl
