#include "idl/parser.h"

#include <charconv>
#include <cstdlib>
#include <string_view>

namespace idl {
namespace {

// Thrown inside the parser only, to unwind to the nearest recovery point. The diagnostic has
// already been recorded when it is thrown; it never escapes ParseFile.
struct SyntaxError {};

// Types nest (list<option<...>>); a bound keeps hostile input from exhausting the stack.
constexpr int kMaxTypeDepth = 32;

bool IsTopLevelKeyword(std::string_view word) {
  for (std::string_view k : {"package", "release", "param", "alias", "record", "variant", "errors",
                             "group", "interface"}) {
    if (word == k) return true;
  }
  return false;
}

// Doc comment lines and attributes written before a declaration, in any order.
struct Preamble {
  std::string doc;
  bool has_doc = false;
  SourceLocation doc_location;
  std::vector<Attribute> attributes;
};

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, Diagnostics& diagnostics)
      : tokens_(tokens), diagnostics_(diagnostics) {}

  Package Run() {
    Package package;
    ParsePackageLine(package);
    while (Peek().kind != Token::Kind::kEnd) {
      size_t start = pos_;
      try {
        ParseTopLevel(package);
      } catch (const SyntaxError&) {
        Recover(start, /*top_level=*/true);
      }
    }
    return package;
  }

 private:
  // ---- Token access ------------------------------------------------------------------------

  const Token& Peek(size_t ahead = 0) const {
    size_t i = pos_ + ahead;
    return i < tokens_.size() ? tokens_[i] : tokens_.back();
  }
  const Token& Next() {
    const Token& token = Peek();
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return token;
  }
  bool IsPunct(std::string_view p, size_t ahead = 0) const {
    return Peek(ahead).kind == Token::Kind::kPunct && Peek(ahead).text == p;
  }
  bool IsWord(std::string_view w, size_t ahead = 0) const {
    return Peek(ahead).kind == Token::Kind::kIdent && Peek(ahead).text == w;
  }
  // True when the current token is the first on its line: recovery stops there, since the
  // format puts one declaration or member per line.
  bool StartsLine() const {
    return pos_ == 0 || tokens_[pos_ - 1].location.line != Peek().location.line;
  }

  [[noreturn]] void Fail(const std::string& expected) {
    diagnostics_.Error(Peek().location, "expected " + expected + ", got " + Describe(Peek()));
    throw SyntaxError{};
  }
  const Token& ExpectPunct(std::string_view p) {
    if (IsPunct(p)) return Next();
    if (StartsLine() && pos_ > 0) {
      // Punctuation missing at the end of a line: point just past the line's last token,
      // where it belongs, rather than at whatever the next line starts with.
      const Token& previous = tokens_[pos_ - 1];
      diagnostics_.Error({previous.location.file, previous.location.line, previous.end_column},
                         "expected '" + std::string(p) + "', got " + Describe(Peek()));
      throw SyntaxError{};
    }
    Fail("'" + std::string(p) + "'");
  }
  void ExpectWord(std::string_view w) {
    if (!IsWord(w)) Fail("'" + std::string(w) + "'");
    Next();
  }
  const Token& ExpectIdent(const std::string& what) {
    if (Peek().kind != Token::Kind::kIdent) Fail(what);
    return Next();
  }
  const Token& ExpectString(const std::string& what) {
    if (Peek().kind != Token::Kind::kString) Fail(what);
    return Next();
  }

  // Skips the rest of a broken declaration or member: up to and including the next ';' or the
  // '}' that closes a body it opened, or up to (not including) the next line of a member, or the
  // next line that starts a top-level declaration. Always makes progress.
  void Recover(size_t start, bool top_level) {
    if (pos_ == start && Peek().kind != Token::Kind::kEnd && !(!top_level && IsPunct("}"))) {
      Next();
    }
    int depth = 0;
    while (Peek().kind != Token::Kind::kEnd) {
      // Members are one per line, so a member's recovery ends at the next line; a top-level
      // declaration may span lines, so its recovery ends only where another one clearly starts.
      if (depth == 0 && StartsLine() &&
          (!top_level || Peek().kind == Token::Kind::kDoc || IsPunct("@") ||
           (Peek().kind == Token::Kind::kIdent && IsTopLevelKeyword(Peek().text)))) {
        return;
      }
      if (IsPunct(";") && depth == 0) {
        Next();
        return;
      }
      if (IsPunct("{")) {
        ++depth;
      } else if (IsPunct("}")) {
        if (depth == 0) {
          if (top_level) Next();  // a stray '}' at top level
          return;
        }
        if (--depth == 0) {
          Next();
          return;
        }
      }
      Next();
    }
  }

  // True when the tokens ahead look like a new top-level declaration (say `record b {`) rather
  // than a member: used to report a missing '}' where it is missing instead of one line later.
  bool AtDeclarationStart(bool include_method) const {
    size_t i = 0;
    while (Peek(i).kind == Token::Kind::kDoc) ++i;
    const Token& word = Peek(i);
    const Token& next = Peek(i + 1);
    if (word.kind != Token::Kind::kIdent) return false;
    bool keyword = IsTopLevelKeyword(word.text) || (include_method && word.text == "method");
    return keyword &&
           (next.kind == Token::Kind::kIdent || next.kind == Token::Kind::kString);
  }

  // ---- Pieces ------------------------------------------------------------------------------

  Preamble ParsePreamble() {
    Preamble p;
    while (true) {
      if (Peek().kind == Token::Kind::kDoc) {
        if (!p.has_doc) p.doc_location = Peek().location;
        if (p.has_doc) p.doc += '\n';
        p.doc += Next().text;
        p.has_doc = true;
      } else if (IsPunct("@")) {
        p.attributes.push_back(ParseAttribute());
      } else {
        return p;
      }
    }
  }

  Attribute ParseAttribute() {
    Attribute attribute;
    attribute.location = ExpectPunct("@").location;
    attribute.name = ExpectIdent("an attribute name").text;
    if (IsPunct("(")) {
      Next();
      attribute.args.push_back(ExpectString("a string").text);
      while (IsPunct(",")) {
        Next();
        attribute.args.push_back(ExpectString("a string").text);
      }
      ExpectPunct(")");
    }
    return attribute;
  }

  // Reports a doc block or attributes that reach the end of a body or file with nothing to
  // attach to. Returns true when it did.
  bool ReportDangling(const Preamble& p) {
    if (p.has_doc) {
      diagnostics_.Error(p.doc_location, "doc comment is not followed by a declaration");
    }
    for (const auto& a : p.attributes) {
      diagnostics_.Error(a.location, "attribute @" + a.name + " is not followed by a declaration");
    }
    return p.has_doc || !p.attributes.empty();
  }

  void ForbidAttributes(const Preamble& p, const std::string& what) {
    for (const auto& a : p.attributes) {
      diagnostics_.Error(a.location, "attribute @" + a.name + " is not allowed on " + what);
    }
  }

  TypeRef ParseType(int depth) {
    TypeRef type;
    type.location = Peek().location;
    if (depth > kMaxTypeDepth) {
      diagnostics_.Error(type.location, "type expression nested too deeply");
      throw SyntaxError{};
    }
    if (IsPunct("(")) {
      Next();
      type.kind = TypeRef::Kind::kTuple;
      type.args.push_back(ParseType(depth + 1));
      ExpectPunct(",");
      type.args.push_back(ParseType(depth + 1));
      while (IsPunct(",")) {
        Next();
        type.args.push_back(ParseType(depth + 1));
      }
      ExpectPunct(")");
      return type;
    }
    const std::string& word = ExpectIdent("a type").text;
    static const std::pair<std::string_view, TypeRef::Kind> kBuiltins[] = {
        {"string", TypeRef::Kind::kString}, {"int", TypeRef::Kind::kInt},
        {"int32", TypeRef::Kind::kInt32},   {"int64", TypeRef::Kind::kInt64},
        {"bool", TypeRef::Kind::kBool},     {"float", TypeRef::Kind::kFloat},
        {"unit", TypeRef::Kind::kUnit},     {"json", TypeRef::Kind::kJson},
    };
    for (const auto& [name, kind] : kBuiltins) {
      if (word == name) {
        type.kind = kind;
        return type;
      }
    }
    if (word == "list" || word == "array" || word == "option") {
      type.kind = word == "list"    ? TypeRef::Kind::kList
                  : word == "array" ? TypeRef::Kind::kArray
                                    : TypeRef::Kind::kOption;
      ExpectPunct("<");
      type.args.push_back(ParseType(depth + 1));
      ExpectPunct(">");
      return type;
    }
    if (word == "map") {
      type.kind = TypeRef::Kind::kMap;
      ExpectPunct("<");
      type.args.push_back(ParseType(depth + 1));
      ExpectPunct(",");
      type.args.push_back(ParseType(depth + 1));
      ExpectPunct(">");
      return type;
    }
    type.kind = TypeRef::Kind::kNamed;
    type.name = word;
    return type;
  }

  // literal := STRING | INT | FLOAT | true | false | null | IDENT | '[' ']' | '{' '}'
  nlohmann::json ParseLiteral(bool& is_name) {
    is_name = false;
    const Token& token = Peek();
    switch (token.kind) {
      case Token::Kind::kString:
        Next();
        return token.text;
      case Token::Kind::kInt: {
        int64_t value = 0;
        const char* end = token.text.data() + token.text.size();
        auto [ptr, ec] = std::from_chars(token.text.data(), end, value);
        if (ec != std::errc() || ptr != end) {
          diagnostics_.Error(token.location, "integer " + token.text + " is out of range");
          throw SyntaxError{};
        }
        Next();
        return value;
      }
      case Token::Kind::kFloat:
        Next();
        return std::strtod(token.text.c_str(), nullptr);
      case Token::Kind::kIdent:
        Next();
        if (token.text == "true") return true;
        if (token.text == "false") return false;
        if (token.text == "null") return nullptr;
        is_name = true;
        return token.text;
      default:
        break;
    }
    if (IsPunct("[")) {
      Next();
      ExpectPunct("]");
      return nlohmann::json::array();
    }
    if (IsPunct("{")) {
      Next();
      ExpectPunct("}");
      return nlohmann::json::object();
    }
    Fail("a default value");
  }

  // ---- Declarations ------------------------------------------------------------------------

  void ParsePackageLine(Package& package) {
    size_t start = pos_;
    try {
      Preamble p = ParsePreamble();
      if (!IsWord("package")) {
        diagnostics_.Error(Peek().location,
                           "expected 'package' on the first line, got " + Describe(Peek()));
        pos_ = start;  // the file's declarations still get parsed and checked for syntax
        return;
      }
      Next();
      const Token& name = ExpectIdent("a package name");
      package.name = name.text;
      package.location = name.location;
      package.doc = p.doc;
      package.attributes = p.attributes;
      ExpectPunct(";");
    } catch (const SyntaxError&) {
      Recover(start, /*top_level=*/true);
    }
  }

  void ParseTopLevel(Package& package) {
    Preamble p = ParsePreamble();
    if (Peek().kind == Token::Kind::kEnd && ReportDangling(p)) return;
    const Token& keyword = Peek();
    if (keyword.kind != Token::Kind::kIdent || !IsTopLevelKeyword(keyword.text) ||
        keyword.text == "package") {
      if (IsWord("package")) {
        diagnostics_.Error(keyword.location, "a file holds one 'package' line, at its top");
        throw SyntaxError{};
      }
      Fail("a declaration (release, param, alias, record, variant, errors, group, interface)");
    }
    std::string word = Next().text;
    if (word == "release") {
      ForbidAttributes(p, "a release");
      Release r;
      const Token& name = ExpectString("a release name string");
      r.name = name.text;
      r.location = name.location;
      r.doc = p.doc;
      ExpectPunct(";");
      package.releases.push_back(std::move(r));
    } else if (word == "param") {
      ForbidAttributes(p, "a param");
      SharedParam param;
      const Token& name = ExpectIdent("a parameter name");
      param.name = name.text;
      param.location = name.location;
      param.doc = p.doc;
      ExpectPunct(":");
      param.type = ParseType(0);
      ExpectPunct(";");
      package.params.push_back(std::move(param));
    } else if (word == "alias") {
      TypeDecl alias = StartType(TypeDecl::Kind::kAlias, p, "an alias name");
      ExpectPunct("=");
      alias.alias_target = ParseType(0);
      ExpectPunct(";");
      package.types.push_back(std::move(alias));
    } else if (word == "record") {
      TypeDecl record = StartType(TypeDecl::Kind::kRecord, p, "a record name");
      ParseBody([&] { ParseField(record); }, false);
      package.types.push_back(std::move(record));
    } else if (word == "variant" || word == "errors") {
      TypeDecl variant = StartType(TypeDecl::Kind::kVariant, p, "a variant name");
      variant.is_error = word == "errors";
      ParseBody([&] { ParseConstructor(variant); }, false);
      package.types.push_back(std::move(variant));
    } else if (word == "group") {
      ForbidAttributes(p, "a group");
      Group group;
      const Token& name = ExpectIdent("a group name");
      group.name = name.text;
      group.location = name.location;
      group.doc = p.doc;
      group.title = ExpectString("a group title string").text;
      ExpectPunct(";");
      current_group_ = group.name;
      current_group_index_ = package.groups.size();
      package.groups.push_back(std::move(group));
    } else {
      ParseInterface(package, p);
    }
  }

  TypeDecl StartType(TypeDecl::Kind kind, Preamble& p, const std::string& what) {
    TypeDecl decl;
    decl.kind = kind;
    const Token& name = ExpectIdent(what);
    decl.name = name.text;
    decl.location = name.location;
    decl.doc = p.doc;
    decl.attributes = std::move(p.attributes);
    return decl;
  }

  // Parses '{' member* '}', calling `member` for each member with its own error recovery.
  template <typename ParseMember>
  void ParseBody(ParseMember member, bool in_interface) {
    ExpectPunct("{");
    while (!IsPunct("}")) {
      if (Peek().kind == Token::Kind::kEnd || AtDeclarationStart(!in_interface)) {
        size_t at = 0;
        while (Peek(at).kind == Token::Kind::kDoc) ++at;
        diagnostics_.Error(Peek(at).location, "expected '}', got " + Describe(Peek(at)));
        return;
      }
      size_t start = pos_;
      try {
        member();
      } catch (const SyntaxError&) {
        Recover(start, /*top_level=*/false);
      }
    }
    Next();
  }

  void ParseField(TypeDecl& record) {
    Preamble p = ParsePreamble();
    if (IsPunct("}") && ReportDangling(p)) return;
    Field field;
    const Token& name = ExpectIdent("a field name");
    field.name = name.text;
    field.location = name.location;
    field.doc = p.doc;
    field.attributes = std::move(p.attributes);
    ExpectPunct(":");
    field.type = ParseType(0);
    if (IsPunct("=")) {
      Next();
      field.default_value = ParseLiteral(field.default_is_name);
    }
    ExpectPunct(";");
    record.fields.push_back(std::move(field));
  }

  void ParseConstructor(TypeDecl& variant) {
    Preamble p = ParsePreamble();
    if (IsPunct("}") && ReportDangling(p)) return;
    Constructor c;
    const Token& name = ExpectIdent("a constructor name");
    c.name = name.text;
    c.location = name.location;
    c.doc = p.doc;
    c.attributes = std::move(p.attributes);
    if (IsPunct("(")) {
      Next();
      c.payload.push_back(ParseType(0));
      while (IsPunct(",")) {
        Next();
        c.payload.push_back(ParseType(0));
      }
      ExpectPunct(")");
    }
    ExpectPunct(";");
    variant.constructors.push_back(std::move(c));
  }

  void ParseInterface(Package& package, Preamble& p) {
    Interface iface;
    const Token& name = ExpectIdent("an interface name");
    iface.name = name.text;
    iface.location = name.location;
    iface.wire_namespace = name.text;
    iface.doc = p.doc;
    iface.attributes = std::move(p.attributes);
    iface.group = current_group_;
    if (IsWord("namespace")) {
      Next();
      iface.wire_namespace = ExpectString("a namespace string").text;
    }
    ExpectWord("version");
    iface.version = ExpectString("a version string").text;
    ExpectWord("errors");
    iface.error_type = ExpectIdent("an errors variant name").text;
    ParseBody([&] { ParseMethod(iface); }, true);
    if (!current_group_.empty()) package.groups[current_group_index_].interfaces.push_back(iface.name);
    package.interfaces.push_back(std::move(iface));
  }

  void ParseMethod(Interface& iface) {
    Preamble p = ParsePreamble();
    if (IsPunct("}") && ReportDangling(p)) return;
    if (!IsWord("method")) Fail("'method' or '}'");
    Next();
    Method method;
    const Token& name = ExpectIdent("a method name");
    method.name = name.text;
    method.location = name.location;
    method.doc = p.doc;
    method.attributes = std::move(p.attributes);
    method.result.location = name.location;
    bool has_result = false;
    ParseBody([&] { ParseMethodMember(method, has_result); }, false);
    iface.methods.push_back(std::move(method));
  }

  void ParseMethodMember(Method& method, bool& has_result) {
    Preamble p = ParsePreamble();
    if (IsPunct("}") && ReportDangling(p)) return;
    if (IsWord("returns") && !IsPunct(":", 1)) {
      SourceLocation at = Next().location;
      ForbidAttributes(p, "a result");
      if (has_result) {
        diagnostics_.Error(at, "method '" + method.name + "' has more than one 'returns'");
      }
      Result result;
      result.location = at;
      result.doc = p.doc;
      if (Peek().kind == Token::Kind::kIdent && IsPunct(":", 1)) {
        result.name = Next().text;
        Next();
      }
      result.type = ParseType(0);
      ExpectPunct(";");
      if (!has_result) method.result = std::move(result);
      has_result = true;
      return;
    }
    Argument argument;
    const Token& name = ExpectIdent("an argument name or 'returns'");
    if (has_result) {
      diagnostics_.Error(name.location, "argument '" + name.text + "' comes after 'returns'");
    }
    argument.name = name.text;
    argument.location = name.location;
    argument.doc = p.doc;
    argument.attributes = std::move(p.attributes);
    if (IsPunct(":")) {
      Next();
      argument.type = ParseType(0);
    } else {
      argument.from_shared_param = true;
    }
    ExpectPunct(";");
    method.arguments.push_back(std::move(argument));
  }

  const std::vector<Token>& tokens_;
  Diagnostics& diagnostics_;
  size_t pos_ = 0;
  std::string current_group_;  // the last `group` line of this file, if any
  size_t current_group_index_ = 0;
};

}  // namespace

Package ParseFile(const std::vector<Token>& tokens, Diagnostics& diagnostics) {
  if (tokens.empty()) return Package{};
  return Parser(tokens, diagnostics).Run();
}

}  // namespace idl
