// Metadata about the methods of a generated package, for tools: help texts, command-line
// parsing of arguments, listing. Each generated package exposes
//   const std::vector<rpc::InterfaceInfo>& Interfaces();
//   const std::vector<rpc::MethodInfo>& Methods();
// in its namespace (see docs/cpp-bindings.md). Plain immutable data; safe to share.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rpc {

struct ArgumentInfo {
  std::string name;           // wire name, case-sensitive
  std::string type;           // IDL spelling, e.g. "key", "map<string, string>"
  std::string resolved_type;  // the same with top-level aliases followed, e.g. "string"
  std::string doc;
  bool optional = false;      // an option<...> argument: may be left out of the call
};

struct MethodInfo {
  std::string interface_name;  // e.g. "Volume", "DATA_MIRROR"
  std::string name;            // as declared, e.g. "create"
  std::string wire_name;       // e.g. "Volume.create", "get_by_name"
  std::string doc;
  std::vector<ArgumentInfo> arguments;  // wire order
  std::string result_name;              // documentation only; may be empty
  std::string result_type;              // IDL spelling; "unit" when nothing is returned
  std::string result_resolved_type;
  std::string result_doc;
  bool deprecated = false;
};

struct InterfaceInfo {
  std::string name;
  std::string wire_namespace;
  std::string version;
  std::string error_type;
  std::string doc;
};

// The entry of `methods` whose wire name is `wire_name`, or nullptr.
inline const MethodInfo* FindMethod(const std::vector<MethodInfo>& methods,
                                    std::string_view wire_name) {
  for (const MethodInfo& m : methods) {
    if (m.wire_name == wire_name) return &m;
  }
  return nullptr;
}

}  // namespace rpc
