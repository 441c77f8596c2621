#include "idl/lexer.h"

#include <sstream>

#include <gtest/gtest.h>

namespace idl {
namespace {

// "kind:text" per token, without the final end token, for compact expectations.
std::vector<std::string> Kinds(const std::vector<Token>& tokens) {
  static const char* kNames[] = {"ident", "string", "int", "float", "punct", "doc", "end"};
  std::vector<std::string> out;
  for (const auto& t : tokens) {
    if (t.kind == Token::Kind::kEnd) continue;
    out.push_back(std::string(kNames[static_cast<int>(t.kind)]) + ":" + t.text);
  }
  return out;
}

std::string Errors(const Diagnostics& diagnostics) {
  std::ostringstream out;
  diagnostics.Print(out);
  return out.str();
}

TEST(LexerTest, TokensOfADeclaration) {
  Diagnostics d;
  auto tokens = Lex("record volume { key: map<string, int>; }", "f.smapi", d);
  EXPECT_FALSE(d.HasErrors());
  EXPECT_EQ(Kinds(tokens),
            (std::vector<std::string>{"ident:record", "ident:volume", "punct:{", "ident:key",
                                      "punct::", "ident:map", "punct:<", "ident:string",
                                      "punct:,", "ident:int", "punct:>", "punct:;", "punct:}"}));
  ASSERT_EQ(tokens.back().kind, Token::Kind::kEnd);
}

TEST(LexerTest, LocationsAreOneBasedLineAndColumn) {
  Diagnostics d;
  auto tokens = Lex("package p;\n  alias\tx = string;\n", "dir/f.smapi", d);
  ASSERT_GE(tokens.size(), 5u);
  EXPECT_EQ(tokens[0].location.file, "dir/f.smapi");
  EXPECT_EQ(tokens[0].location.line, 1);
  EXPECT_EQ(tokens[0].location.column, 1);
  EXPECT_EQ(tokens[2].location.column, 10);  // ';'
  EXPECT_EQ(tokens[3].location.line, 2);      // alias
  EXPECT_EQ(tokens[3].location.column, 3);
  EXPECT_EQ(tokens[4].location.column, 9);  // a tab counts as one column
}

TEST(LexerTest, ColumnsCountCodePoints) {
  Diagnostics d;
  auto tokens = Lex("/// é\n\"é\" x", "f", d);
  ASSERT_EQ(tokens.size(), 4u);
  EXPECT_EQ(tokens[1].text, "é");
  EXPECT_EQ(tokens[2].location.column, 5);
}

TEST(LexerTest, DocCommentsAndPlainComments) {
  Diagnostics d;
  auto tokens = Lex("// plain\n///  Two spaces.\n///\n//// ruler\nx // trailing\n", "f", d);
  EXPECT_FALSE(d.HasErrors());
  EXPECT_EQ(Kinds(tokens), (std::vector<std::string>{"doc: Two spaces.", "doc:", "ident:x"}));
}

TEST(LexerTest, LiteralsAndEscapes) {
  Diagnostics d;
  auto tokens = Lex(R"("a\"b\\c\nd\te" 12 -7 1.5 2e3 -0.25E-2 -> [ ])", "f", d);
  EXPECT_FALSE(d.HasErrors()) << Errors(d);
  EXPECT_EQ(Kinds(tokens), (std::vector<std::string>{"string:a\"b\\c\nd\te", "int:12", "int:-7",
                                                     "float:1.5", "float:2e3", "float:-0.25E-2",
                                                     "punct:->", "punct:[", "punct:]"}));
}

struct LexErrorCase {
  const char* source;
  const char* errors;
};

TEST(LexerTest, ErrorsAreReportedAndLexingGoesOn) {
  const LexErrorCase kCases[] = {
      {"a $ b", "f:1:3: unexpected character '$'\n"},
      {"a\x01z", "f:1:2: unexpected character 0x01\n"},
      {"x \"open\ny", "f:1:3: unterminated string literal\n"},
      {"\"a\\qb\"", "f:1:3: unknown escape '\\q' in string literal (use \\\" \\\\ \\n \\t)\n"},
      {"12ab", "f:1:3: unexpected character 'a' after number 12\n"},
      {"- 1", "f:1:1: unexpected character '-'\n"},
      {"€", "f:1:1: unexpected character '€'\n"},
      {"\"ok \xC3\x28\"", "f:1:1: string literal is not valid UTF-8\n"},
      {"\"\xE2\x82\"", "f:1:1: string literal is not valid UTF-8\n"},
      {"\"\xED\xA0\x80\"", "f:1:1: string literal is not valid UTF-8\n"},
      {"\"\xC0\xAF\"", "f:1:1: string literal is not valid UTF-8\n"},
      {"x\n/// bad \xFF", "f:2:1: doc comment is not valid UTF-8\n"},
  };
  for (const auto& c : kCases) {
    Diagnostics d;
    auto tokens = Lex(c.source, "f", d);
    EXPECT_EQ(Errors(d), c.errors) << c.source;
    EXPECT_EQ(tokens.back().kind, Token::Kind::kEnd);
  }
}

TEST(LexerTest, ValidUtf8IsKept) {
  Diagnostics d;
  auto tokens = Lex("\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"", "f", d);
  EXPECT_FALSE(d.HasErrors()) << Errors(d);
  EXPECT_EQ(tokens[0].text, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
}

TEST(LexerTest, UnterminatedStringKeepsFollowingLines) {
  Diagnostics d;
  auto tokens = Lex("\"abc\nnext", "f", d);
  EXPECT_EQ(Kinds(tokens), (std::vector<std::string>{"string:abc", "ident:next"}));
}

TEST(LexerTest, DescribeNamesTokensForMessages) {
  EXPECT_EQ(Describe({Token::Kind::kIdent, "foo", {}}), "identifier 'foo'");
  EXPECT_EQ(Describe({Token::Kind::kPunct, ";", {}}), "';'");
  EXPECT_EQ(Describe({Token::Kind::kString, "x", {}}), "string \"x\"");
  EXPECT_EQ(Describe({Token::Kind::kString, "a\n\"b", {}}), "string \"a\\n\\\"b\"");
  EXPECT_EQ(Describe({Token::Kind::kInt, "3", {}}), "integer 3");
  EXPECT_EQ(Describe({Token::Kind::kEnd, "", {}}), "end of file");
}

}  // namespace
}  // namespace idl
