#include "rpc/codec.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace rpc {
namespace {

const Json& NullJson() {
  static const Json kNull;
  return kNull;
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// An optional sign followed by decimal digits, within int64: the integer strings the reference
// reader accepts. Anything else (floats, spaces, empty) is not an integer.
std::optional<int64_t> ParseIntegerString(const std::string& s) {
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  if (i == s.size()) return std::nullopt;
  for (size_t k = i; k < s.size(); ++k) {
    if (s[k] < '0' || s[k] > '9') return std::nullopt;
  }
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno == ERANGE || end != s.c_str() + s.size()) return std::nullopt;
  return static_cast<int64_t>(v);
}

std::optional<int64_t> AsInt64(const Json& j) {
  if (j.is_number_integer() && !j.is_number_unsigned()) return j.get<int64_t>();
  if (j.is_number_unsigned()) {
    uint64_t u = j.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (j.is_string()) return ParseIntegerString(j.get_ref<const std::string&>());
  return std::nullopt;
}

}  // namespace

std::string Describe(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      return "N";
    case Json::value_t::boolean:
      return value.get<bool>() ? "B(true)" : "B(false)";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "I(" + value.dump() + ")";
    case Json::value_t::number_float:
      return "F(" + value.dump() + ")";
    case Json::value_t::string:
      return "S(" + value.get<std::string>() + ")";
    case Json::value_t::array: {
      std::string out = "[";
      for (size_t i = 0; i < value.size(); ++i) {
        if (i > 0) out += ", ";
        out += Describe(value[i]);
      }
      return out + "]";
    }
    case Json::value_t::object: {
      std::string out = "{";
      bool first = true;
      for (const auto& [key, member] : value.items()) {
        if (!first) out += ", ";
        first = false;
        out += key + ": " + Describe(member);
      }
      return out + "}";
    }
    default:
      return "?";
  }
}

void ThrowExpected(std::string_view what, const Json& value) {
  throw DecodeError("Expected " + std::string(what) + ", got '" + Describe(value) + "'");
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

void FromJson(const Json& j, std::string& out) {
  if (!j.is_string()) ThrowExpected("string", j);
  out = j.get<std::string>();
}

void FromJson(const Json& j, int64_t& out) {
  std::optional<int64_t> v = AsInt64(j);
  if (!v) ThrowExpected("int64", j);
  out = *v;
}

void FromJson(const Json& j, int32_t& out) {
  std::optional<int64_t> v = AsInt64(j);
  if (!v || *v < std::numeric_limits<int32_t>::min() || *v > std::numeric_limits<int32_t>::max()) {
    ThrowExpected("int32", j);
  }
  out = static_cast<int32_t>(*v);
}

void FromJson(const Json& j, double& out) {
  // Non-finite values are refused: JSON cannot carry them back (the reference would accept
  // "nan" and "inf" strings; see docs/compatibility/cpp-bindings.md).
  if (j.is_number()) {
    double v = j.get<double>();
    if (!std::isfinite(v)) ThrowExpected("float", j);
    out = v;
    return;
  }
  if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    char* end = nullptr;
    // strtod would skip leading blanks; the reference reader does not.
    bool plausible = !s.empty() && s[0] != ' ' && s[0] != '\t' && s[0] != '\n' && s[0] != '\r';
    double v = plausible ? std::strtod(s.c_str(), &end) : 0;
    if (plausible && end == s.c_str() + s.size() && std::isfinite(v)) {
      out = v;
      return;
    }
  }
  ThrowExpected("float", j);
}

void FromJson(const Json& j, bool& out) {
  if (!j.is_boolean()) ThrowExpected("bool", j);
  out = j.get<bool>();
}

void FromJson(const Json& j, Unit& out) {
  if (!j.is_null()) ThrowExpected("unit", j);
  out = Unit{};
}

void FromJson(const Json& j, Json& out) { out = j; }

Json ToJson(const std::string& v) { return Json(v); }
Json ToJson(int64_t v) { return Json(v); }
Json ToJson(int32_t v) { return Json(v); }
Json ToJson(double v) { return Json(v); }
Json ToJson(bool v) { return Json(v); }
Json ToJson(Unit) { return Json(nullptr); }
Json ToJson(const Json& v) { return v; }

void CheckTupleSize(const Json& j, size_t n) {
  if (j.size() > n) throw DecodeError("Too many items in a tuple!");
  if (j.size() < n) throw DecodeError("Too few items in a tuple!");
}

RecordReader::RecordReader(const Json& j, std::string_view type_name)
    : object_(j), type_name_(type_name) {
  if (!j.is_object()) {
    throw DecodeError("Expecting Rpc.Dict when unmarshalling a '" + type_name_ + "'");
  }
}

const Json* RecordReader::Find(std::string_view field) const {
  auto exact = object_.find(std::string(field));
  if (exact != object_.end()) return &*exact;
  for (auto it = object_.begin(); it != object_.end(); ++it) {
    if (EqualsIgnoreCase(it.key(), field)) return &*it;
  }
  return nullptr;
}

void RecordReader::ThrowMissing(std::string_view field) const {
  throw DecodeError("No value found for key: '" + std::string(field) + "' when unmarshalling '" +
                    type_name_ + "'");
}

VariantReader::VariantReader(const Json& j) : payload_(&NullJson()) {
  if (j.is_string()) {
    tag_ = j.get<std::string>();
    return;
  }
  if (j.is_array() && j.size() == 2 && j[0].is_string()) {
    tag_ = j[0].get<std::string>();
    payload_ = &j[1];
    return;
  }
  ThrowExpected("\"Tag\" or [\"Tag\", payload]", j);
}

const Json& VariantReader::Arguments(size_t n) const {
  if (!payload_->is_array()) ThrowExpected("tuple", *payload_);
  CheckTupleSize(*payload_, n);
  return *payload_;
}

void VariantReader::ThrowUnknownTag() const { throw DecodeError("Unknown tag '" + tag_ + "'"); }

Json VariantJson(std::string_view tag, Json payload) {
  if (payload.is_null()) return Json(std::string(tag));
  return Json::array({Json(std::string(tag)), std::move(payload)});
}

}  // namespace rpc
