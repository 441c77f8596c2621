#include "idl/model.h"

namespace idl {

std::optional<std::string> Lifecycle::ReleaseOf(LifecycleEvent::Kind kind) const {
  for (const auto& event : events) {
    if (event.kind == kind) return event.release;
  }
  return std::nullopt;
}

const Constructor* TypeDecl::FallbackConstructor() const {
  for (const auto& c : constructors) {
    if (c.fallback) return &c;
  }
  return nullptr;
}

const TypeDecl* Package::FindType(const std::string& name) const {
  for (const auto& t : types) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

const Interface* Package::FindInterface(const std::string& name) const {
  for (const auto& i : interfaces) {
    if (i.name == name) return &i;
  }
  return nullptr;
}

const Group* Package::FindGroup(const std::string& name) const {
  for (const auto& g : groups) {
    if (g.name == name) return &g;
  }
  return nullptr;
}

std::string Package::AttributeOr(const std::string& attribute, const std::string& fallback) const {
  for (const auto& a : attributes) {
    if (a.name == attribute && !a.args.empty()) return a.args[0];
  }
  return fallback;
}

const TypeRef& Package::Resolve(const TypeRef& type) const {
  // The checker rejects alias cycles; the bound only keeps an unchecked model from looping.
  const TypeRef* current = &type;
  for (size_t hops = 0; hops <= types.size(); ++hops) {
    if (current->kind != TypeRef::Kind::kNamed) return *current;
    const TypeDecl* decl = FindType(current->name);
    if (decl == nullptr || decl->kind != TypeDecl::Kind::kAlias) return *current;
    current = &decl->alias_target;
  }
  return *current;
}

const Package* Model::FindPackage(const std::string& name) const {
  for (const auto& p : packages) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::string ToString(const TypeRef& type) {
  // Built by appending: `"x" + std::string` trips a false -Wrestrict in GCC 12 at -O3.
  auto wrap = [&type](const char* open, const char* close) {
    std::string s = open;
    for (size_t i = 0; i < type.args.size(); ++i) {
      if (i > 0) s += ", ";
      s += ToString(type.args[i]);
    }
    s += close;
    return s;
  };
  switch (type.kind) {
    case TypeRef::Kind::kString: return "string";
    case TypeRef::Kind::kInt: return "int";
    case TypeRef::Kind::kInt32: return "int32";
    case TypeRef::Kind::kInt64: return "int64";
    case TypeRef::Kind::kBool: return "bool";
    case TypeRef::Kind::kFloat: return "float";
    case TypeRef::Kind::kUnit: return "unit";
    case TypeRef::Kind::kJson: return "json";
    case TypeRef::Kind::kNamed: return type.name;
    case TypeRef::Kind::kList: return wrap("list<", ">");
    case TypeRef::Kind::kArray: return wrap("array<", ">");
    case TypeRef::Kind::kOption: return wrap("option<", ">");
    case TypeRef::Kind::kMap: return wrap("map<", ">");
    case TypeRef::Kind::kTuple: return wrap("(", ")");
  }
  return "?";
}

std::string JsonText(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace idl
