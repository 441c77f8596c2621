#include "idl/lexer.h"

#include <cctype>
#include <cstdint>
#include <cstdio>

namespace idl {
namespace {

bool IsIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF). Strings and docs reach JSON and generated sources, which need valid UTF-8.
bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    size_t extra;
    uint32_t code;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= extra; ++k) {
      unsigned char cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      code = (code << 6) | (cc & 0x3F);
    }
    static const uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (code < kMin[extra] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

// Walks the source keeping line and column. Columns count code points, not bytes, so a caret
// under a non-ASCII doc line still lines up in an editor.
class Cursor {
 public:
  Cursor(std::string_view source, const std::string& file) : source_(source), file_(file) {}

  bool AtEnd() const { return pos_ >= source_.size(); }
  char Peek(size_t ahead = 0) const {
    return pos_ + ahead < source_.size() ? source_[pos_ + ahead] : '\0';
  }
  void Advance() {
    char c = source_[pos_++];
    if (c == '\n') {
      ++line_;
      column_ = 1;
    } else if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
      ++column_;
    }
  }
  size_t pos() const { return pos_; }
  std::string_view Slice(size_t from) const { return source_.substr(from, pos_ - from); }
  SourceLocation Here() const { return {file_, line_, column_}; }

 private:
  std::string_view source_;
  const std::string& file_;
  size_t pos_ = 0;
  int line_ = 1;
  int column_ = 1;
};

// Lexes a string literal; the cursor is on the opening quote. Stops at the end of the line
// when the closing quote is missing, so one bad string costs one diagnostic, not the file.
Token LexString(Cursor& in, Diagnostics& diagnostics) {
  Token token{Token::Kind::kString, "", in.Here()};
  in.Advance();
  while (true) {
    if (in.AtEnd() || in.Peek() == '\n') {
      diagnostics.Error(token.location, "unterminated string literal");
      return token;
    }
    char c = in.Peek();
    if (c == '"') {
      in.Advance();
      if (!IsValidUtf8(token.text)) {
        diagnostics.Error(token.location, "string literal is not valid UTF-8");
        token.text.clear();
      }
      return token;
    }
    if (c == '\\') {
      SourceLocation escape = in.Here();
      in.Advance();
      char e = in.Peek();
      switch (e) {
        case '"': token.text += '"'; break;
        case '\\': token.text += '\\'; break;
        case 'n': token.text += '\n'; break;
        case 't': token.text += '\t'; break;
        default: {
          std::string message = "unknown escape '\\";
          if (e != '\n' && e != '\0') message += e;
          message += "' in string literal (use \\\" \\\\ \\n \\t)";
          diagnostics.Error(escape, std::move(message));
          if (e == '\n' || in.AtEnd()) continue;  // the loop reports the unterminated string
        }
      }
      in.Advance();
      continue;
    }
    token.text += c;
    in.Advance();
  }
}

// Lexes `-?[0-9]+` with an optional fraction and exponent; the cursor is on '-' or a digit.
Token LexNumber(Cursor& in, Diagnostics& diagnostics) {
  Token token{Token::Kind::kInt, "", in.Here()};
  size_t start = in.pos();
  if (in.Peek() == '-') in.Advance();
  while (IsDigit(in.Peek())) in.Advance();
  if (in.Peek() == '.' && IsDigit(in.Peek(1))) {
    token.kind = Token::Kind::kFloat;
    in.Advance();
    while (IsDigit(in.Peek())) in.Advance();
  }
  if (in.Peek() == 'e' || in.Peek() == 'E') {
    size_t digits = (in.Peek(1) == '+' || in.Peek(1) == '-') ? 2 : 1;
    if (IsDigit(in.Peek(digits))) {
      token.kind = Token::Kind::kFloat;
      for (size_t i = 0; i < digits; ++i) in.Advance();
      while (IsDigit(in.Peek())) in.Advance();
    }
  }
  token.text = std::string(in.Slice(start));
  if (IsIdentChar(in.Peek())) {
    diagnostics.Error(in.Here(), "unexpected character '" + std::string(1, in.Peek()) +
                                     "' after number " + token.text);
    while (IsIdentChar(in.Peek())) in.Advance();
  }
  return token;
}

// Lexes one token, comment or stray character at the cursor.
void Lex1(Cursor& in, std::vector<Token>& tokens, Diagnostics& diagnostics) {
  char c = in.Peek();
  if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
    in.Advance();
  } else if (c == '/' && in.Peek(1) == '/') {
    // `///` is a doc line, but `////...` is a plain comment (a ruler or commented-out doc).
    bool doc = in.Peek(2) == '/' && in.Peek(3) != '/';
    Token token{Token::Kind::kDoc, "", in.Here()};
    for (int i = 0; i < (doc ? 3 : 2); ++i) in.Advance();
    if (doc && in.Peek() == ' ') in.Advance();
    size_t start = in.pos();
    while (!in.AtEnd() && in.Peek() != '\n') in.Advance();
    if (doc) {
      token.text = std::string(in.Slice(start));
      while (!token.text.empty() && (token.text.back() == '\r' || token.text.back() == ' ')) {
        token.text.pop_back();
      }
      if (!IsValidUtf8(token.text)) {
        diagnostics.Error(token.location, "doc comment is not valid UTF-8");
        token.text.clear();
      }
      tokens.push_back(std::move(token));
    }
  } else if (IsIdentStart(c)) {
    Token token{Token::Kind::kIdent, "", in.Here()};
    size_t start = in.pos();
    while (IsIdentChar(in.Peek())) in.Advance();
    token.text = std::string(in.Slice(start));
    tokens.push_back(std::move(token));
  } else if (c == '"') {
    tokens.push_back(LexString(in, diagnostics));
  } else if (IsDigit(c) || (c == '-' && IsDigit(in.Peek(1)))) {
    tokens.push_back(LexNumber(in, diagnostics));
  } else if (c == '-' && in.Peek(1) == '>') {
    tokens.push_back({Token::Kind::kPunct, "->", in.Here()});
    in.Advance();
    in.Advance();
  } else if (std::string_view(";:,={}()<>@[]").find(c) != std::string_view::npos) {
    tokens.push_back({Token::Kind::kPunct, std::string(1, c), in.Here()});
    in.Advance();
  } else {
    SourceLocation where = in.Here();
    // Report a whole UTF-8 sequence as one character.
    size_t start = in.pos();
    in.Advance();
    while (!in.AtEnd() && (static_cast<unsigned char>(in.Peek()) & 0xC0) == 0x80) in.Advance();
    std::string_view bad = in.Slice(start);
    std::string message = "unexpected character ";
    if ((bad.size() > 1 && IsValidUtf8(bad)) || std::isprint(static_cast<unsigned char>(bad[0]))) {
      message.append("'").append(bad).append("'");
    } else {
      char hex[8];
      snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned char>(bad[0]));
      message.append(hex);
    }
    diagnostics.Error(where, std::move(message));
  }
}

}  // namespace

std::vector<Token> Lex(std::string_view source, const std::string& file, Diagnostics& diagnostics) {
  std::vector<Token> tokens;
  Cursor in(source, file);
  while (!in.AtEnd()) {
    size_t count = tokens.size();
    Lex1(in, tokens, diagnostics);
    if (tokens.size() > count) tokens.back().end_column = in.Here().column;
  }
  tokens.push_back({Token::Kind::kEnd, "", in.Here(), in.Here().column});
  return tokens;
}

std::string Describe(const Token& token) {
  switch (token.kind) {
    case Token::Kind::kIdent: return "identifier '" + token.text + "'";
    case Token::Kind::kString: {
      // Re-escaped, so that a message stays on one line.
      std::string s = "string \"";
      for (char c : token.text) {
        if (c == '\n') {
          s += "\\n";
        } else if (c == '\t') {
          s += "\\t";
        } else if (c == '"' || c == '\\') {
          s += '\\';
          s += c;
        } else {
          s += c;
        }
      }
      return s + "\"";
    }
    case Token::Kind::kInt: return "integer " + token.text;
    case Token::Kind::kFloat: return "number " + token.text;
    case Token::Kind::kPunct: return "'" + token.text + "'";
    case Token::Kind::kDoc: return "doc comment";
    case Token::Kind::kEnd: return "end of file";
  }
  return "token";
}

}  // namespace idl
