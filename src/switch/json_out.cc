#include "switch/json_out.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace msw {

void AppendJsonString(std::string* out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  std::size_t run = 0;  // start of the pending run of bytes that need no escaping
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    const char* esc = nullptr;
    switch (c) {
      case '"': esc = "\\\""; break;
      case '\\': esc = "\\\\"; break;
      case '\b': esc = "\\b"; break;
      case '\f': esc = "\\f"; break;
      case '\n': esc = "\\n"; break;
      case '\r': esc = "\\r"; break;
      case '\t': esc = "\\t"; break;
      default:
        if (c >= 0x20 && c != 0x7f) continue;
    }
    out->append(s.data() + run, i - run);
    run = i + 1;
    if (esc != nullptr) {
      out->append(esc);
    } else {
      char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
      out->append(u, 6);
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

void AppendJsonFloat(std::string* out, double v) {
  if (std::isnan(v)) { out->append("NaN"); return; }
  if (std::isinf(v)) { out->append(v > 0 ? "Infinity" : "-Infinity"); return; }
  char buf[40];
  int n = std::snprintf(buf, sizeof buf, "%.16g", v);
  if (std::strtod(buf, nullptr) != v) n = std::snprintf(buf, sizeof buf, "%.17g", v);
  out->append(buf, static_cast<std::size_t>(n));
  bool integral = true;
  for (int i = 0; i < n; ++i) {
    if (buf[i] != '-' && (buf[i] < '0' || buf[i] > '9')) { integral = false; break; }
  }
  if (integral) out->append(".0");
}

void AppendJsonInt(std::string* out, int64_t v) { out->append(std::to_string(v)); }

std::string TruncateForTrace(std::string_view s, std::size_t truncate) {
  if (s.size() < truncate) return std::string(s);
  std::string r(s.substr(0, truncate));
  r.append("\xe2\x80\xa6");  // U+2026 HORIZONTAL ELLIPSIS
  return r;
}

void AppendCompactJson(std::string* out, const nlohmann::ordered_json& value,
                       std::size_t truncate) {
  using V = nlohmann::ordered_json::value_t;
  switch (value.type()) {
    case V::null: out->append("null"); break;
    case V::boolean: out->append(value.get<bool>() ? "true" : "false"); break;
    case V::number_integer: AppendJsonInt(out, value.get<int64_t>()); break;
    case V::number_unsigned: out->append(std::to_string(value.get<uint64_t>())); break;
    case V::number_float: AppendJsonFloat(out, value.get<double>()); break;
    case V::string: {
      const auto& s = value.get_ref<const std::string&>();
      if (s.size() < truncate) AppendJsonString(out, s);
      else AppendJsonString(out, TruncateForTrace(s, truncate));
      break;
    }
    case V::array: {
      out->push_back('[');
      bool first = true;
      for (const auto& item : value) {
        if (!first) out->push_back(',');
        first = false;
        AppendCompactJson(out, item, truncate);
      }
      out->push_back(']');
      break;
    }
    case V::object: {
      out->push_back('{');
      bool first = true;
      for (const auto& [key, item] : value.items()) {
        if (!first) out->push_back(',');
        first = false;
        if (key.size() < truncate) AppendJsonString(out, key);
        else AppendJsonString(out, TruncateForTrace(key, truncate));
        out->push_back(':');
        AppendCompactJson(out, item, truncate);
      }
      out->push_back('}');
      break;
    }
    default: out->append("null"); break;  // binary / discarded: never produced by parse()
  }
}

}  // namespace msw
