#include "idl/parser.h"

#include <sstream>

#include <gtest/gtest.h>

namespace idl {
namespace {

class ParserTest : public ::testing::Test {
 protected:
  Package Parse(const std::string& source) {
    return ParseFile(Lex(source, "f.smapi", diagnostics_), diagnostics_);
  }
  std::string Errors() const {
    std::ostringstream out;
    diagnostics_.Print(out);
    return out.str();
  }
  Diagnostics diagnostics_;
};

TEST_F(ParserTest, ParsesEveryDeclarationKind) {
  Package p = Parse(R"(/// The package.
@python("a.b")
package demo;
/// First.
release "1.0";
/// Debug context.
param dbg: string;
/// A key.
alias key = string;
/// A record.
record volume {
  /// The key.
  key: key;
  /// Some flags.
  @introduced("1.0")
  flags: option<map<string, list<(int, bool)>>> = {};
  kind: kind = Data;
}
/// Kinds.
variant kind {
  /// Data.
  Data;
  Pair(string, int64);
}
errors exns {
  @fallback
  Unknown;
}
/// The group.
group g "The group title";
/// An interface.
interface Volume namespace "V.ol" version "1.2.3" errors exns {
  /// Snapshot.
  method snapshot {
    dbg;
    /// The SR.
    sr: string;
    /// The result.
    returns volume: volume;
  }
  method destroy { dbg; }
}
)");
  EXPECT_EQ(Errors(), "");
  EXPECT_EQ(p.name, "demo");
  EXPECT_EQ(p.doc, "The package.");
  ASSERT_EQ(p.attributes.size(), 1u);
  EXPECT_EQ(p.attributes[0].name, "python");
  EXPECT_EQ(p.attributes[0].args, std::vector<std::string>{"a.b"});
  ASSERT_EQ(p.releases.size(), 1u);
  EXPECT_EQ(p.releases[0].name, "1.0");
  ASSERT_EQ(p.params.size(), 1u);
  EXPECT_EQ(p.params[0].doc, "Debug context.");
  ASSERT_EQ(p.types.size(), 4u);
  EXPECT_EQ(p.types[0].kind, TypeDecl::Kind::kAlias);
  const TypeDecl& volume = p.types[1];
  EXPECT_EQ(volume.kind, TypeDecl::Kind::kRecord);
  EXPECT_EQ(volume.location.line, 11);
  EXPECT_EQ(volume.location.column, 8);
  ASSERT_EQ(volume.fields.size(), 3u);
  EXPECT_EQ(ToString(volume.fields[1].type), "option<map<string, list<(int, bool)>>>");
  EXPECT_EQ(volume.fields[1].default_value, nlohmann::json::object());
  EXPECT_EQ(volume.fields[1].attributes.size(), 1u);
  EXPECT_EQ(volume.fields[2].default_value, "Data");
  EXPECT_TRUE(volume.fields[2].default_is_name);
  EXPECT_EQ(p.types[2].constructors[1].payload.size(), 2u);
  EXPECT_TRUE(p.types[3].is_error);
  ASSERT_EQ(p.groups.size(), 1u);
  EXPECT_EQ(p.groups[0].title, "The group title");
  EXPECT_EQ(p.groups[0].interfaces, std::vector<std::string>{"Volume"});
  ASSERT_EQ(p.interfaces.size(), 1u);
  const Interface& iface = p.interfaces[0];
  EXPECT_EQ(iface.wire_namespace, "V.ol");
  EXPECT_EQ(iface.version, "1.2.3");
  EXPECT_EQ(iface.error_type, "exns");
  EXPECT_EQ(iface.group, "g");
  ASSERT_EQ(iface.methods.size(), 2u);
  const Method& snapshot = iface.methods[0];
  ASSERT_EQ(snapshot.arguments.size(), 2u);
  EXPECT_TRUE(snapshot.arguments[0].from_shared_param);
  EXPECT_FALSE(snapshot.arguments[1].from_shared_param);
  EXPECT_EQ(snapshot.arguments[1].doc, "The SR.");
  EXPECT_EQ(snapshot.result.name, "volume");
  EXPECT_EQ(snapshot.result.doc, "The result.");
  EXPECT_EQ(ToString(snapshot.result.type), "volume");
}

TEST_F(ParserTest, KeywordsMayNameFieldsArgumentsAndMethods) {
  Package p = Parse(R"(package p;
record r { package: int; method: int; returns: int; }
interface I version "1.0.0" errors e { method open { record: string; interface; } }
)");
  EXPECT_EQ(Errors(), "");
  ASSERT_EQ(p.types.size(), 1u);
  EXPECT_EQ(p.types[0].fields.size(), 3u);
  EXPECT_EQ(p.interfaces[0].methods[0].name, "open");
  EXPECT_EQ(p.interfaces[0].methods[0].arguments.size(), 2u);
}

TEST_F(ParserTest, DocBlockJoinsLinesAndSurvivesABlankLine) {
  Package p = Parse("package p;\n/// One.\n///   Two.\n\nalias a = int;\n");
  ASSERT_EQ(p.types.size(), 1u);
  EXPECT_EQ(p.types[0].doc, "One.\n  Two.");
}

TEST_F(ParserTest, LiteralsBecomeWireJson) {
  Package p = Parse(R"(package p;
record r {
  a: string = "user";
  b: int = -3;
  c: float = 2.5;
  d: bool = true;
  e: list<int> = [];
  f: option<int> = null;
}
)");
  EXPECT_EQ(Errors(), "");
  const auto& f = p.types[0].fields;
  EXPECT_EQ(*f[0].default_value, "user");
  EXPECT_FALSE(f[0].default_is_name);
  EXPECT_EQ(*f[1].default_value, -3);
  EXPECT_EQ(*f[2].default_value, 2.5);
  EXPECT_EQ(*f[3].default_value, true);
  EXPECT_EQ(*f[4].default_value, nlohmann::json::array());
  EXPECT_TRUE(f[5].default_value->is_null());
}

struct SyntaxCase {
  const char* source;  // after "package p;\n", so line 2 is the first line here
  const char* errors;
};

TEST_F(ParserTest, SyntaxErrorsSayWhatWasExpected) {
  const SyntaxCase kCases[] = {
      {"alias a = string", "f.smapi:2:17: expected ';', got end of file\n"},
      {"alias a string;", "f.smapi:2:9: expected '=', got identifier 'string'\n"},
      {"record r { a int; }", "f.smapi:2:14: expected ':', got identifier 'int'\n"},
      {"record r { a: list<int; }", "f.smapi:2:23: expected '>', got ';'\n"},
      {"record r { a: map<string>; }", "f.smapi:2:25: expected ',', got '>'\n"},
      {"record r { a: (int); }", "f.smapi:2:19: expected ',', got ')'\n"},
      {"record r { a: ; }", "f.smapi:2:15: expected a type, got ';'\n"},
      {"record r { a: int = ; }", "f.smapi:2:21: expected a default value, got ';'\n"},
      {"record r { a: int = 99999999999999999999; }",
       "f.smapi:2:21: integer 99999999999999999999 is out of range\n"},
      {"variant v { A(int; }", "f.smapi:2:18: expected ')', got ';'\n"},
      {"frobnicate x;",
       "f.smapi:2:1: expected a declaration (release, param, alias, record, variant, errors, "
       "group, interface), got identifier 'frobnicate'\n"},
      {"release 5;", "f.smapi:2:9: expected a release name string, got integer 5\n"},
      {"group g;", "f.smapi:2:8: expected a group title string, got ';'\n"},
      {"interface I errors e {}", "f.smapi:2:13: expected 'version', got identifier 'errors'\n"},
      {"interface I version \"1.0.0\" {}", "f.smapi:2:29: expected 'errors', got '{'\n"},
      {"interface I version \"1.0.0\" errors e { open {} }",
       "f.smapi:2:40: expected 'method' or '}', got identifier 'open'\n"},
      {"interface I version \"1.0.0\" errors e { method m { returns int; a: int; } }",
       "f.smapi:2:64: argument 'a' comes after 'returns'\n"},
      {"interface I version \"1.0.0\" errors e { method m { returns int; returns int; } }",
       "f.smapi:2:64: method 'm' has more than one 'returns'\n"},
      {"record r { @ 5 a: int; }", "f.smapi:2:14: expected an attribute name, got integer 5\n"},
      {"@introduced(1) alias a = int;", "f.smapi:2:13: expected a string, got integer 1\n"},
      {"package q;", "f.smapi:2:1: a file holds one 'package' line, at its top\n"},
      {"/// Dangling.\n", "f.smapi:2:1: doc comment is not followed by a declaration\n"},
      {"record r {\n  a: int;\n  /// Dangling.\n}", "f.smapi:4:3: doc comment is not followed by a declaration\n"},
      {"@introduced(\"1\") release \"1\";",
       "f.smapi:2:1: attribute @introduced is not allowed on a release\n"},
      {"interface I version \"1.0.0\" errors e { method m { @introduced(\"1\") returns int; } }",
       "f.smapi:2:51: attribute @introduced is not allowed on a result\n"},
      {"alias a = list<list<list<list<list<list<list<list<list<list<list<list<list<list<list<"
       "list<list<list<list<list<list<list<list<list<list<list<list<list<list<list<list<list<"
       "list<int>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>;",
       "f.smapi:2:176: type expression nested too deeply\n"},
  };
  for (const auto& c : kCases) {
    Diagnostics d;
    ParseFile(Lex(std::string("package p;\n") + c.source, "f.smapi", d), d);
    std::ostringstream out;
    d.Print(out);
    EXPECT_EQ(out.str(), c.errors) << c.source;
  }
}

TEST_F(ParserTest, MissingPackageLineIsReportedAndTheRestIsStillParsed) {
  Parse("alias a = int;\nrecord r { x int; }\n");
  EXPECT_EQ(Errors(),
            "f.smapi:1:1: expected 'package' on the first line, got identifier 'alias'\n"
            "f.smapi:2:14: expected ':', got identifier 'int'\n");
}

TEST_F(ParserTest, RecoversAtTheNextMemberAndFindsEveryError) {
  Package p = Parse(R"(package p;
record r {
  a int;
  b: list<;
  c: int;
}
alias x = ;
alias y = string;
)");
  EXPECT_EQ(Errors(),
            "f.smapi:3:5: expected ':', got identifier 'int'\n"
            "f.smapi:4:11: expected a type, got ';'\n"
            "f.smapi:7:11: expected a type, got ';'\n");
  ASSERT_EQ(p.types.size(), 2u);
  ASSERT_EQ(p.types[0].fields.size(), 1u);
  EXPECT_EQ(p.types[0].fields[0].name, "c");
  EXPECT_EQ(p.types[1].name, "y");
}

TEST_F(ParserTest, MissingSemicolonStopsAtTheNextLine) {
  Package p = Parse("package p;\nrecord r {\n  a: int\n  b: int;\n}\n");
  EXPECT_EQ(Errors(), "f.smapi:3:9: expected ';', got identifier 'b'\n");
  ASSERT_EQ(p.types[0].fields.size(), 1u);
  EXPECT_EQ(p.types[0].fields[0].name, "b");
}

TEST_F(ParserTest, MissingCloseBraceIsReportedWhereTheNextDeclarationStarts) {
  Package p = Parse("package p;\nrecord r {\n  a: int;\n/// Doc.\nrecord s {\n  b: int;\n}\n");
  EXPECT_EQ(Errors(), "f.smapi:5:1: expected '}', got identifier 'record'\n");
  ASSERT_EQ(p.types.size(), 2u);
  EXPECT_EQ(p.types[1].name, "s");
  EXPECT_EQ(p.types[1].doc, "Doc.");
}

TEST_F(ParserTest, UnterminatedBodyAtEndOfFile) {
  Package p = Parse("package p;\nrecord r {\n  a: int;\n");
  EXPECT_EQ(Errors(), "f.smapi:4:1: expected '}', got end of file\n");
  EXPECT_EQ(p.types.size(), 1u);
}

}  // namespace
}  // namespace idl
