#include "smapi_cli/arguments.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>

namespace smapicli {
namespace {

// "--" + name.
std::string Dashed(const std::string& name) {
  std::string out("--");
  out.append(name);
  return out;
}

bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// "map<string, V>" -> "V" when `type` is `<outer><...>`; "" otherwise.
std::string Inner(const std::string& type, const std::string& outer) {
  if (!StartsWith(type, outer + "<") || type.back() != '>') return "";
  return type.substr(outer.size() + 1, type.size() - outer.size() - 2);
}

bool IsMap(const std::string& type) { return StartsWith(type, "map<"); }
bool IsList(const std::string& type) {
  return StartsWith(type, "list<") || StartsWith(type, "array<");
}
std::string ListElement(const std::string& type) {
  std::string e = Inner(type, "list");
  return e.empty() ? Inner(type, "array") : e;
}
std::string MapValue(const std::string& type) {
  std::string inner = Inner(type, "map");
  size_t comma = inner.find(',');
  if (comma == std::string::npos) return "json";
  size_t start = inner.find_first_not_of(' ', comma + 1);
  return inner.substr(start);
}
bool IsScalar(const std::string& type) {
  return type == "string" || type == "int" || type == "int32" || type == "int64" ||
         type == "float" || type == "bool" || type == "unit";
}

// JSON text, or nothing when `text` does not parse.
bool TryJson(const std::string& text, rpc::Json* out) {
  try {
    *out = rpc::ParseJson(text);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

[[noreturn]] void Bad(const std::string& flag, const std::string& text, const std::string& want) {
  throw UsageError(Dashed(flag) + ": '" + text + "' is not " + want);
}

// Adds `key=value` to `object`, reading value as `value_type`.
void AddPair(rpc::Json& object, const std::string& text, const std::string& value_type,
             const std::string& flag) {
  size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) Bad(flag, text, "a JSON object or a key=value pair");
  std::string key = text.substr(0, eq);
  if (object.contains(key)) throw UsageError(Dashed(flag) + ": key '" + key + "' given twice");
  object[key] = ParseValue(value_type, text.substr(eq + 1), flag);
}

}  // namespace

std::string FlagName(const std::string& argument_name) {
  std::string flag = Dashed(argument_name);
  for (char& c : flag) {
    if (c == '_') c = '-';
  }
  return flag;
}

Flags SplitFlags(const std::vector<std::string>& args) {
  Flags flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& word = args[i];
    if (!StartsWith(word, "--") || word.size() == 2) {
      throw UsageError("unexpected argument '" + word + "': arguments are given as --name value");
    }
    size_t eq = word.find('=');
    if (eq != std::string::npos) {
      flags.emplace_back(word.substr(2, eq - 2), word.substr(eq + 1));
    } else if (i + 1 < args.size()) {
      flags.emplace_back(word.substr(2), args[++i]);
    } else {
      throw UsageError(word + ": a value is required");
    }
  }
  return flags;
}

rpc::Json ParseValue(const std::string& type, const std::string& text, const std::string& flag) {
  if (std::string inner = Inner(type, "option"); !inner.empty()) {
    return ParseValue(inner, text, flag);
  }
  if (type == "string") return text;
  if (type == "int" || type == "int32" || type == "int64") {
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || errno == ERANGE) Bad(flag, text, "an integer");
    if (type == "int32" && (v < INT32_MIN || v > INT32_MAX)) Bad(flag, text, "a 32-bit integer");
    return v;
  }
  if (type == "float") {
    errno = 0;
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v)) {
      Bad(flag, text, "a number");
    }
    return v;
  }
  if (type == "bool") {
    if (text == "true") return true;
    if (text == "false") return false;
    Bad(flag, text, "true or false");
  }
  if (type == "unit") return nullptr;
  rpc::Json json;
  if (IsMap(type)) {
    if (TryJson(text, &json)) {
      if (!json.is_object()) Bad(flag, text, "a JSON object");
      return json;
    }
    rpc::Json object = rpc::Json::object();
    AddPair(object, text, MapValue(type), flag);
    return object;
  }
  if (IsList(type)) {
    if (TryJson(text, &json) && json.is_array()) return json;
    return rpc::Json::array({ParseValue(ListElement(type), text, flag)});
  }
  // Records, variants, tuples, json: JSON when it parses; a record as key=value pairs; else a
  // bare word, which is how nullary variant constructors travel.
  if (TryJson(text, &json)) return json;
  if (text.find('=') != std::string::npos && !IsScalar(type)) {
    rpc::Json object = rpc::Json::object();
    AddPair(object, text, "json", flag);
    return object;
  }
  return text;
}

rpc::Json BuildParams(const rpc::MethodInfo& method, const Flags& flags,
                      const std::string& default_dbg) {
  rpc::Json params = rpc::Json::object();
  for (const auto& [flag, text] : flags) {
    const rpc::ArgumentInfo* arg = nullptr;
    for (const rpc::ArgumentInfo& a : method.arguments) {
      if (FlagName(a.name) == Dashed(flag) || a.name == flag) arg = &a;
    }
    if (arg == nullptr) {
      std::string known;
      for (const rpc::ArgumentInfo& a : method.arguments) known += " " + FlagName(a.name);
      throw UsageError("unknown flag --" + flag + " for " + method.wire_name +
                       (known.empty() ? " (it takes no arguments)" : "; it takes:" + known));
    }
    std::string type = arg->resolved_type;
    if (std::string inner = Inner(type, "option"); !inner.empty()) type = inner;
    rpc::Json value = ParseValue(type, text, flag);
    if (!params.contains(arg->name)) {
      params[arg->name] = std::move(value);
      continue;
    }
    // A repeated flag adds to a map, a list or a record given as pairs.
    rpc::Json& have = params[arg->name];
    if (have.is_object() && value.is_object()) {
      for (auto& [k, v] : value.items()) {
        if (have.contains(k)) throw UsageError(Dashed(flag) + ": key '" + k + "' given twice");
        have[k] = v;
      }
    } else if (IsList(type) && have.is_array() && value.is_array()) {
      for (auto& v : value) have.push_back(v);
    } else {
      throw UsageError(Dashed(flag) + " given twice");
    }
  }
  for (const rpc::ArgumentInfo& a : method.arguments) {
    if (params.contains(a.name) || a.optional) continue;
    if (a.name == "dbg") {
      params["dbg"] = default_dbg;
    } else if (a.resolved_type == "unit") {
      params[a.name] = nullptr;
    } else {
      throw UsageError(method.wire_name + ": missing " + FlagName(a.name) + " (" + a.type + ")");
    }
  }
  return params;
}

}  // namespace smapicli
