// The JSON value codec used by the generated bindings: C++ values <-> JSON with the reference
// shapes (docs/cpp-bindings.md; spec idl.md §3.1-§3.3).
//
// Decoding follows the reference (OCaml rpclib) reader exactly:
//   string  only a JSON string          int/int64/int32  an integer, or a string holding one
//   bool    only true/false             float            a number, or a numeric string
//   unit    only null                   list/array       a JSON array
//   map     a JSON object               tuple            an array of exactly N elements
//   option (top level, e.g. a constructor payload)      [] -> nullopt, [x] -> x
// Failures throw DecodeError whose what() is the reference's text, e.g.
// "Expected string, got 'N'", "Too many items in a tuple!".
//
// Generated code defines `FromJson(const Json&, T&)` and `ToJson(const T&)` for each IDL type
// in the package's namespace, and calls rpc::Decode<T>() / rpc::Encode() for every value, so
// that argument-dependent lookup finds both these overloads and the generated ones.
//
// Thread-safe: no shared state.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "rpc/json_text.h"

namespace rpc {

// The IDL `unit` type: a value that carries nothing; null on the wire.
struct Unit {
  bool operator==(const Unit&) const = default;
};

// A JSON value does not have the shape of the expected type. what() is the reference's text.
class DecodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The reference's debug rendering of a value, used inside error texts: N (null), B(true),
// I(12), F(1.5), S(text), [a, b], {k: v}.
std::string Describe(const Json& value);

// "Expected <what>, got '<Describe(value)>'".
[[noreturn]] void ThrowExpected(std::string_view what, const Json& value);

// ASCII case-insensitive equality, the reference's rule for record keys and variant tags.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// --- Builtin types -------------------------------------------------------------------------
void FromJson(const Json& j, std::string& out);
void FromJson(const Json& j, int64_t& out);
void FromJson(const Json& j, int32_t& out);
void FromJson(const Json& j, double& out);
void FromJson(const Json& j, bool& out);
void FromJson(const Json& j, Unit& out);
void FromJson(const Json& j, Json& out);  // the IDL `json` type: any value

Json ToJson(const std::string& v);
Json ToJson(int64_t v);
Json ToJson(int32_t v);
Json ToJson(double v);
Json ToJson(bool v);
Json ToJson(Unit v);
Json ToJson(const Json& v);

// --- Containers (declared first so that they can nest in any order) --------------------------
template <typename T> void FromJson(const Json& j, std::vector<T>& out);
template <typename T> void FromJson(const Json& j, std::map<std::string, T>& out);
template <typename T> void FromJson(const Json& j, std::optional<T>& out);
template <typename... Ts> void FromJson(const Json& j, std::tuple<Ts...>& out);
template <typename T> Json ToJson(const std::vector<T>& v);
template <typename T> Json ToJson(const std::map<std::string, T>& v);
template <typename T> Json ToJson(const std::optional<T>& v);
template <typename... Ts> Json ToJson(const std::tuple<Ts...>& v);

// Decodes `j` as a T. Throws DecodeError.
template <typename T>
T Decode(const Json& j) {
  T out{};
  FromJson(j, out);
  return out;
}

// Encodes `v` with its reference shape.
template <typename T>
Json Encode(const T& v) {
  return ToJson(v);
}

// REQUIRES: j is an array. Throws DecodeError unless it has exactly `n` elements.
void CheckTupleSize(const Json& j, size_t n);

template <typename T>
void FromJson(const Json& j, std::vector<T>& out) {
  if (!j.is_array()) ThrowExpected("list", j);
  out.clear();
  out.reserve(j.size());
  for (const Json& item : j) out.push_back(Decode<T>(item));
}

template <typename T>
void FromJson(const Json& j, std::map<std::string, T>& out) {
  if (!j.is_object()) ThrowExpected("dict", j);
  out.clear();
  for (const auto& [key, value] : j.items()) out.emplace(key, Decode<T>(value));
}

template <typename T>
void FromJson(const Json& j, std::optional<T>& out) {
  if (!j.is_array()) ThrowExpected("option ([] or [value])", j);
  if (j.empty()) {
    out.reset();
    return;
  }
  if (j.size() != 1) ThrowExpected("option ([] or [value])", j);
  out = Decode<T>(j[0]);
}

template <typename... Ts>
void FromJson(const Json& j, std::tuple<Ts...>& out) {
  if (!j.is_array()) ThrowExpected("tuple", j);
  CheckTupleSize(j, sizeof...(Ts));
  [&]<size_t... I>(std::index_sequence<I...>) {
    ((std::get<I>(out) = Decode<Ts>(j[I])), ...);
  }(std::index_sequence_for<Ts...>{});
}

template <typename T>
Json ToJson(const std::vector<T>& v) {
  Json j = Json::array();
  for (const T& item : v) j.push_back(Encode(item));
  return j;
}

template <typename T>
Json ToJson(const std::map<std::string, T>& v) {
  Json j = Json::object();
  for (const auto& [key, value] : v) j[key] = Encode(value);
  return j;
}

template <typename T>
Json ToJson(const std::optional<T>& v) {
  Json j = Json::array();
  if (v) j.push_back(Encode(*v));
  return j;
}

template <typename... Ts>
Json ToJson(const std::tuple<Ts...>& v) {
  Json j = Json::array();
  std::apply([&](const auto&... item) { (j.push_back(Encode(item)), ...); }, v);
  return j;
}

// --- Records -------------------------------------------------------------------------------
// Reads the members of one JSON object as the fields of the record `type_name`, with the
// reference's rules: keys match case-insensitively (an exact-case key is preferred), unknown
// members are ignored, and a field's default replaces a malformed value.
class RecordReader {
 public:
  // Throws DecodeError "Expecting Rpc.Dict when unmarshalling a '<type_name>'" unless `j` is an
  // object. `j` must outlive the reader.
  RecordReader(const Json& j, std::string_view type_name);

  // The member named `field` (case-insensitively), or nullptr.
  const Json* Find(std::string_view field) const;

  // A field without default. Absent: DecodeError
  // "No value found for key: '<field>' when unmarshalling '<type>'".
  template <typename T>
  void Required(std::string_view field, T& out) const {
    const Json* value = Find(field);
    if (value == nullptr) ThrowMissing(field);
    out = Decode<T>(*value);
  }

  // A non-option field with a default (wire JSON): used when absent or malformed.
  template <typename T>
  void RequiredOr(std::string_view field, T& out, const Json& fallback) const {
    const Json* value = Find(field);
    if (value != nullptr) {
      try {
        out = Decode<T>(*value);
        return;
      } catch (const DecodeError&) {
      }
    }
    out = Decode<T>(fallback);
  }

  // An option field: absent -> nullopt; present -> the bare value (null is an error).
  template <typename T>
  void Optional(std::string_view field, std::optional<T>& out) const {
    const Json* value = Find(field);
    if (value == nullptr) {
      out.reset();
      return;
    }
    out = Decode<T>(*value);
  }

  // An option field with a default: absent -> nullopt (even so); present but malformed ->
  // the default.
  template <typename T>
  void OptionalOr(std::string_view field, std::optional<T>& out, const Json& fallback) const {
    const Json* value = Find(field);
    if (value == nullptr) {
      out.reset();
      return;
    }
    try {
      out = Decode<T>(*value);
    } catch (const DecodeError&) {
      out = Decode<T>(fallback);
    }
  }

 private:
  [[noreturn]] void ThrowMissing(std::string_view field) const;

  const Json& object_;
  std::string type_name_;
};

// --- Variants ------------------------------------------------------------------------------
// Splits a variant's wire form into tag and payload: "Tag" (payload null) or ["Tag", payload]
// with exactly two elements.
class VariantReader {
 public:
  // Throws DecodeError for any other shape. `j` must outlive the reader.
  explicit VariantReader(const Json& j);

  const std::string& tag() const { return tag_; }
  // null for the bare-string form.
  const Json& payload() const { return *payload_; }
  // Whether the tag is `name`, case-insensitively.
  bool Is(std::string_view name) const { return EqualsIgnoreCase(tag_, name); }
  // The payload of a constructor with `n` >= 2 arguments: an array of exactly `n` elements.
  const Json& Arguments(size_t n) const;
  // Throws DecodeError "Unknown tag '<tag>'".
  [[noreturn]] void ThrowUnknownTag() const;

 private:
  std::string tag_;
  const Json* payload_;
};

// The wire form of a constructor: the bare tag when the payload is null (nullary, or a unit
// payload), ["Tag", payload] otherwise.
Json VariantJson(std::string_view tag, Json payload);

}  // namespace rpc
