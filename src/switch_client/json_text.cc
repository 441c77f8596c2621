#include "switch_client/json_text.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace msclient {

namespace {

class Reader {
 public:
  explicit Reader(std::string_view text) : s_(text) {}

  Json ParseDocument() {
    Json v = ParseValue(0);
    SkipSpace();
    if (pos_ != s_.size()) Fail("end of input");
    return v;
  }

 private:
  // Deeply nested input must not exhaust the stack.
  static constexpr int kMaxDepth = 512;

  [[noreturn]] void Fail(const char* expected) {
    throw std::runtime_error("invalid JSON at offset " + std::to_string(pos_) + ": expected " +
                             expected);
  }

  void SkipSpace() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool Consume(std::string_view word) {
    if (s_.substr(pos_, word.size()) == word) {
      pos_ += word.size();
      return true;
    }
    return false;
  }

  Json ParseValue(int depth) {
    if (depth > kMaxDepth) Fail("less nesting");
    SkipSpace();
    if (pos_ >= s_.size()) Fail("a value");
    char c = s_[pos_];
    if (c == '{') return ParseObject(depth);
    if (c == '[') return ParseArray(depth);
    if (c == '"') return Json(ParseString());
    if (Consume("true")) return Json(true);
    if (Consume("false")) return Json(false);
    if (Consume("null")) return Json(nullptr);
    if (Consume("NaN")) return Json(std::nan(""));
    if (Consume("Infinity")) return Json(INFINITY);
    if (Consume("-Infinity")) return Json(-INFINITY);
    if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber();
    Fail("a value");
  }

  Json ParseObject(int depth) {
    ++pos_;  // '{'
    Json obj = Json::object();
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return obj;
    }
    for (;;) {
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != '"') Fail("a string key");
      std::string key = ParseString();
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != ':') Fail("':'");
      ++pos_;
      obj[key] = ParseValue(depth + 1);
      SkipSpace();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == '}') {
        ++pos_;
        return obj;
      }
      Fail("',' or '}'");
    }
  }

  Json ParseArray(int depth) {
    ++pos_;  // '['
    Json arr = Json::array();
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return arr;
    }
    for (;;) {
      arr.push_back(ParseValue(depth + 1));
      SkipSpace();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == ']') {
        ++pos_;
        return arr;
      }
      Fail("',' or ']'");
    }
  }

  unsigned Hex4() {
    if (pos_ + 4 > s_.size()) Fail("four hex digits");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= c - '0';
      else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
      else Fail("a hex digit");
    }
    return v;
  }

  static void AppendUtf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string ParseString() {
    ++pos_;  // '"'
    std::string out;
    for (;;) {
      // Copy the plain run in one go: payloads can be long.
      size_t start = pos_;
      while (pos_ < s_.size() && s_[pos_] != '"' && s_[pos_] != '\\') ++pos_;
      out.append(s_.substr(start, pos_ - start));
      if (pos_ >= s_.size()) Fail("a closing '\"'");
      if (s_[pos_] == '"') {
        ++pos_;
        return out;
      }
      ++pos_;  // backslash
      if (pos_ >= s_.size()) Fail("an escape");
      char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = Hex4();
          if (cp >= 0xD800 && cp < 0xDC00 && s_.substr(pos_, 2) == "\\u") {
            pos_ += 2;
            unsigned lo = Hex4();
            if (lo >= 0xDC00 && lo < 0xE000) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else {
              AppendUtf8(out, cp);
              cp = lo;
            }
          }
          AppendUtf8(out, cp);
          break;
        }
        default:
          --pos_;
          Fail("a valid escape");
      }
    }
  }

  Json ParseNumber() {
    size_t start = pos_;
    bool is_float = false;
    if (s_[pos_] == '-') ++pos_;
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c >= '0' && c <= '9') {
        ++pos_;
      } else if (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
        is_float = true;
        ++pos_;
      } else {
        break;
      }
    }
    std::string text(s_.substr(start, pos_ - start));
    if (text == "-") Fail("a digit");
    char* end = nullptr;
    if (!is_float) {
      errno = 0;
      long long v = std::strtoll(text.c_str(), &end, 10);
      if (errno == 0 && end && *end == '\0') return Json(static_cast<int64_t>(v));
    }
    double d = std::strtod(text.c_str(), &end);
    if (!end || *end != '\0') {
      pos_ = start;
      Fail("a number");
    }
    return Json(d);
  }

  std::string_view s_;
  size_t pos_ = 0;
};

void Print(const Json& v, std::string& out) {
  switch (v.type()) {
    case Json::value_t::null: out += "null"; break;
    case Json::value_t::boolean: out += v.get<bool>() ? "true" : "false"; break;
    case Json::value_t::number_integer: out += std::to_string(v.get<int64_t>()); break;
    case Json::value_t::number_unsigned: out += std::to_string(v.get<uint64_t>()); break;
    case Json::value_t::number_float: out += PrintJsonFloat(v.get<double>()); break;
    case Json::value_t::string: out += QuoteJsonString(v.get_ref<const std::string&>()); break;
    case Json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v) {
        if (!first) out += ',';
        first = false;
        Print(e, out);
      }
      out += ']';
      break;
    }
    case Json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [k, e] : v.items()) {
        if (!first) out += ',';
        first = false;
        out += QuoteJsonString(k);
        out += ':';
        Print(e, out);
      }
      out += '}';
      break;
    }
    default: out += "null"; break;
  }
}

}  // namespace

Json ParseJson(std::string_view text) { return Reader(text).ParseDocument(); }

bool IsJson(std::string_view text) {
  try {
    ParseJson(text);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

std::string PrintJson(const Json& value) {
  std::string out;
  Print(value, out);
  return out;
}

std::string QuoteJsonString(std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
  return out;
}

std::string PrintJsonFloat(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.16g", d);
  if (std::strtod(buf, nullptr) != d) std::snprintf(buf, sizeof buf, "%.17g", d);
  std::string s(buf);
  bool integral = true;
  for (char c : s) {
    if (!(c == '-' || (c >= '0' && c <= '9'))) integral = false;
  }
  if (integral) s += ".0";
  return s;
}

}  // namespace msclient
