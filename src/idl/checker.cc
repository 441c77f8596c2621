#include "idl/checker.h"

#include <cstdint>
#include <map>
#include <regex>
#include <set>

namespace idl {
namespace {

std::string Where(const SourceLocation& l) {
  return l.file + ":" + std::to_string(l.line) + ":" + std::to_string(l.column);
}

std::string Quote(const std::string& s) { return "'" + s + "'"; }

// What an attribute may be attached to.
enum class Target { kPackage, kType, kField, kConstructor, kInterface, kMethod, kArgument };

// Records the first declaration of each name in one scope and reports the later ones.
class NameScope {
 public:
  NameScope(Diagnostics& diagnostics, std::string what, std::string where = "")
      : diagnostics_(diagnostics), what_(std::move(what)), where_(std::move(where)) {}

  // Returns false (after reporting) when `name` was already declared in this scope.
  bool Declare(const std::string& name, const SourceLocation& location) {
    auto [it, inserted] = first_.emplace(name, location);
    if (!inserted) {
      diagnostics_.Error(location, "duplicate " + what_ + " " + Quote(name) + where_ +
                                       " (first declared at " + Where(it->second) + ")");
    }
    return inserted;
  }

 private:
  Diagnostics& diagnostics_;
  std::string what_;
  std::string where_;
  std::map<std::string, SourceLocation> first_;
};

class PackageChecker {
 public:
  PackageChecker(Package& package, Diagnostics& diagnostics)
      : package_(package), diagnostics_(diagnostics) {}

  void Run() {
    CheckPackageAttributes();
    CheckReleases();
    CheckParams();
    CheckTypes();
    CheckGroups();
    CheckInterfaces();
  }

 private:
  void Error(const SourceLocation& location, std::string message) {
    diagnostics_.Error(location, std::move(message));
  }

  void RequireDoc(const std::string& doc, const SourceLocation& location, const std::string& what) {
    if (doc.empty()) Error(location, "missing doc comment on " + what);
  }

  // ---- Attributes and lifecycles -----------------------------------------------------------

  void CheckPackageAttributes() {
    std::map<std::string, const Attribute*> seen;
    for (const auto& a : package_.attributes) {
      if (a.name != "python" && a.name != "ocaml" && a.name != "cpp") {
        CheckAttribute(a, Target::kPackage, nullptr, nullptr);
        continue;
      }
      if (!CheckArgCount(a, 1, 1, "a name")) continue;
      auto [it, inserted] = seen.emplace(a.name, &a);
      if (!inserted && it->second->args != a.args) {
        Error(a.location, "conflicting @" + a.name + " for package " + Quote(package_.name) +
                              ": \"" + a.args[0] + "\" here, \"" + it->second->args[0] +
                              "\" at " + Where(it->second->location));
      }
    }
  }

  bool CheckArgCount(const Attribute& a, size_t min, size_t max, const std::string& what) {
    if (a.args.size() >= min && a.args.size() <= max) return true;
    Error(a.location, "@" + a.name + " takes " + what + ", got " + std::to_string(a.args.size()) +
                          (a.args.size() == 1 ? " argument" : " arguments"));
    return false;
  }

  // Checks one attribute on a declaration of kind `target`, adding lifecycle events to
  // `lifecycle` and setting `*fallback` for @fallback. Either pointer may be null when the
  // target cannot hold that information.
  void CheckAttribute(const Attribute& a, Target target, Lifecycle* lifecycle, bool* fallback) {
    static const std::map<std::string, LifecycleEvent::Kind> kLifecycle = {
        {"introduced", LifecycleEvent::Kind::kIntroduced},
        {"changed", LifecycleEvent::Kind::kChanged},
        {"deprecated", LifecycleEvent::Kind::kDeprecated},
        {"removed", LifecycleEvent::Kind::kRemoved},
    };
    if (auto it = kLifecycle.find(a.name); it != kLifecycle.end()) {
      if (target == Target::kPackage || lifecycle == nullptr) {
        Error(a.location, "@" + a.name + " is not allowed on a package");
        return;
      }
      bool ok = a.name == "introduced" ? CheckArgCount(a, 1, 1, "one release")
                                       : CheckArgCount(a, 1, 2, "a release and an optional note");
      if (!ok) return;
      if (release_index_.count(a.args[0]) == 0) {
        Error(a.location, "@" + a.name + " names undeclared release \"" + a.args[0] + "\"");
        return;
      }
      lifecycle->events.push_back(
          {it->second, a.args[0], a.args.size() > 1 ? a.args[1] : "", a.location});
      return;
    }
    if (a.name == "fallback") {
      if (target != Target::kConstructor || fallback == nullptr) {
        Error(a.location, "@fallback is only allowed on a variant constructor");
        return;
      }
      if (CheckArgCount(a, 0, 0, "no arguments")) *fallback = true;
      return;
    }
    if (a.name == "python" || a.name == "ocaml" || a.name == "cpp") {
      Error(a.location, "@" + a.name + " is only allowed on the package line");
      return;
    }
    Error(a.location, "unknown attribute @" + a.name);
  }

  // Lifecycle events must be in kind order (introduced, changed..., deprecated, removed), each
  // kind but `changed` at most once, and in release order.
  void CheckLifecycle(const Lifecycle& lifecycle) {
    auto name = [](LifecycleEvent::Kind k) {
      switch (k) {
        case LifecycleEvent::Kind::kIntroduced: return "@introduced";
        case LifecycleEvent::Kind::kChanged: return "@changed";
        case LifecycleEvent::Kind::kDeprecated: return "@deprecated";
        case LifecycleEvent::Kind::kRemoved: return "@removed";
      }
      return "@?";
    };
    const LifecycleEvent* previous = nullptr;
    for (const auto& event : lifecycle.events) {
      if (previous != nullptr) {
        if (event.kind == previous->kind && event.kind != LifecycleEvent::Kind::kChanged) {
          Error(event.location, std::string(name(event.kind)) + " given more than once");
        } else if (event.kind < previous->kind) {
          Error(event.location, std::string("lifecycle out of order: ") + name(event.kind) +
                                    " must come before " + name(previous->kind));
        } else if (release_index_[event.release] < release_index_[previous->release]) {
          Error(event.location, std::string("lifecycle out of order: ") + name(event.kind) +
                                    "(\"" + event.release + "\") is older than " +
                                    name(previous->kind) + "(\"" + previous->release + "\")");
        }
      }
      previous = &event;
    }
  }

  void ApplyAttributes(const std::vector<Attribute>& attributes, Target target,
                       Lifecycle& lifecycle, bool* fallback = nullptr) {
    lifecycle.events.clear();
    for (const auto& a : attributes) CheckAttribute(a, target, &lifecycle, fallback);
    CheckLifecycle(lifecycle);
  }

  // ---- Releases and params -----------------------------------------------------------------

  void CheckReleases() {
    NameScope scope(diagnostics_, "release");
    for (size_t i = 0; i < package_.releases.size(); ++i) {
      const Release& r = package_.releases[i];
      if (r.name.empty()) Error(r.location, "a release name must not be empty");
      if (scope.Declare(r.name, r.location)) release_index_[r.name] = i;
    }
  }

  void CheckParams() {
    NameScope scope(diagnostics_, "param");
    for (const auto& p : package_.params) {
      scope.Declare(p.name, p.location);
      RequireDoc(p.doc, p.location, "param " + Quote(p.name));
      CheckTypeRef(p.type);
    }
  }

  // ---- Types -------------------------------------------------------------------------------

  static bool IsBuiltinName(const std::string& name) {
    static const std::set<std::string> kNames = {"string", "int",   "int32", "int64", "bool",
                                                 "float",  "unit",  "json",  "list",  "array",
                                                 "option", "map"};
    return kNames.count(name) > 0;
  }

  // Reports unknown names and non-string map keys anywhere inside `type`.
  void CheckTypeRef(const TypeRef& type) {
    if (type.kind == TypeRef::Kind::kNamed && package_.FindType(type.name) == nullptr) {
      Error(type.location, "unknown type " + Quote(type.name));
    }
    for (const auto& arg : type.args) CheckTypeRef(arg);
    if (type.kind == TypeRef::Kind::kMap && !type.args.empty()) {
      const TypeRef& key = type.args[0];
      if (IsKnown(key) && package_.Resolve(key).kind != TypeRef::Kind::kString) {
        Error(key.location, "map key must be a string, got " + Quote(ToString(key)));
      }
    }
  }

  // True when every name in `type` is declared and no alias on the way is circular, so that
  // Resolve gives a meaningful answer.
  bool IsKnown(const TypeRef& type) const {
    if (type.kind == TypeRef::Kind::kNamed) {
      const TypeDecl* decl = package_.FindType(type.name);
      if (decl == nullptr || circular_.count(type.name)) return false;
      if (decl->kind == TypeDecl::Kind::kAlias) return IsKnown(decl->alias_target);
    }
    return true;
  }

  void FindCircularAliases() {
    for (const auto& t : package_.types) {
      if (t.kind != TypeDecl::Kind::kAlias) continue;
      std::set<std::string> seen = {t.name};
      const TypeRef* target = &t.alias_target;
      while (target->kind == TypeRef::Kind::kNamed) {
        const TypeDecl* next = package_.FindType(target->name);
        if (next == nullptr || next->kind != TypeDecl::Kind::kAlias) break;
        if (next->name == t.name) {
          Error(t.location, "alias " + Quote(t.name) + " refers to itself");
          circular_.insert(t.name);
          break;
        }
        if (!seen.insert(next->name).second) break;  // a cycle that does not include t
        target = &next->alias_target;
      }
    }
  }

  void CheckTypes() {
    NameScope scope(diagnostics_, "type");
    for (const auto& t : package_.types) {
      scope.Declare(t.name, t.location);
      if (IsBuiltinName(t.name)) {
        Error(t.location, "type name " + Quote(t.name) + " is reserved for a builtin type");
      }
    }
    FindCircularAliases();
    for (auto& t : package_.types) {
      const char* kind = t.kind == TypeDecl::Kind::kAlias    ? "alias"
                         : t.kind == TypeDecl::Kind::kRecord ? "record"
                         : t.is_error                        ? "errors"
                                                             : "variant";
      RequireDoc(t.doc, t.location, std::string(kind) + " " + Quote(t.name));
      ApplyAttributes(t.attributes, Target::kType, t.lifecycle);
      switch (t.kind) {
        case TypeDecl::Kind::kAlias:
          CheckTypeRef(t.alias_target);
          break;
        case TypeDecl::Kind::kRecord:
          CheckRecord(t);
          break;
        case TypeDecl::Kind::kVariant:
          CheckVariant(t, kind);
          break;
      }
    }
  }

  void CheckRecord(TypeDecl& record) {
    NameScope scope(diagnostics_, "field", " in record " + Quote(record.name));
    for (auto& f : record.fields) {
      scope.Declare(f.name, f.location);
      RequireDoc(f.doc, f.location, "field " + Quote(f.name) + " of record " + Quote(record.name));
      ApplyAttributes(f.attributes, Target::kField, f.lifecycle);
      CheckTypeRef(f.type);
      if (f.default_value && IsKnown(f.type) &&
          !DefaultFits(*f.default_value, f.default_is_name, f.type)) {
        std::string shown = f.default_is_name ? f.default_value->get<std::string>()
                                              : JsonText(*f.default_value);
        Error(f.location, "default " + shown + " does not fit type " + Quote(ToString(f.type)) +
                              " of field " + Quote(f.name));
      }
    }
  }

  bool DefaultFits(const nlohmann::json& value, bool is_name, const TypeRef& type) const {
    const TypeRef& t = package_.Resolve(type);
    switch (t.kind) {
      case TypeRef::Kind::kString: return value.is_string() && !is_name;
      case TypeRef::Kind::kInt:
      case TypeRef::Kind::kInt64: return value.is_number_integer();
      case TypeRef::Kind::kInt32:
        return value.is_number_integer() && value.get<int64_t>() >= INT32_MIN &&
               value.get<int64_t>() <= INT32_MAX;
      case TypeRef::Kind::kBool: return value.is_boolean();
      case TypeRef::Kind::kFloat: return value.is_number();
      case TypeRef::Kind::kUnit: return value.is_null();
      case TypeRef::Kind::kJson: return !is_name;
      case TypeRef::Kind::kList:
      case TypeRef::Kind::kArray: return value.is_array();
      case TypeRef::Kind::kMap: return value.is_object();
      case TypeRef::Kind::kTuple: return false;
      case TypeRef::Kind::kOption:
        return value.is_null() || DefaultFits(value, is_name, t.args[0]);
      case TypeRef::Kind::kNamed: break;
    }
    const TypeDecl* decl = package_.FindType(t.name);
    if (decl == nullptr) return true;  // reported as an unknown type already
    if (decl->kind == TypeDecl::Kind::kRecord) {
      // `{}` fits a record whose every field may be absent.
      if (!value.is_object()) return false;
      for (const auto& f : decl->fields) {
        if (f.type.kind != TypeRef::Kind::kOption && !f.default_value) return false;
      }
      return true;
    }
    // A variant: the name of one of its nullary constructors.
    if (!value.is_string()) return false;
    for (const auto& c : decl->constructors) {
      if (c.name == value.get<std::string>() && c.payload.empty()) return true;
    }
    return false;
  }

  void CheckVariant(TypeDecl& variant, const std::string& kind) {
    if (variant.constructors.empty()) {
      Error(variant.location, kind + " " + Quote(variant.name) + " has no constructors");
    }
    NameScope scope(diagnostics_, "constructor", " in " + kind + " " + Quote(variant.name));
    const Constructor* fallback = nullptr;
    for (auto& c : variant.constructors) {
      scope.Declare(c.name, c.location);
      RequireDoc(c.doc, c.location,
                 "constructor " + Quote(c.name) + " of " + kind + " " + Quote(variant.name));
      c.fallback = false;
      ApplyAttributes(c.attributes, Target::kConstructor, c.lifecycle, &c.fallback);
      for (const auto& p : c.payload) CheckTypeRef(p);
      if (!c.fallback) continue;
      if (!c.payload.empty()) {
        Error(c.location, "@fallback constructor " + Quote(c.name) + " must have no payload");
      }
      if (fallback != nullptr) {
        Error(c.location, "more than one @fallback constructor in " + kind + " " +
                              Quote(variant.name) + " (first is " + Quote(fallback->name) + ")");
      } else {
        fallback = &c;
      }
    }
  }

  // ---- Groups and interfaces ---------------------------------------------------------------

  void CheckGroups() {
    NameScope scope(diagnostics_, "group");
    for (const auto& g : package_.groups) {
      scope.Declare(g.name, g.location);
      RequireDoc(g.doc, g.location, "group " + Quote(g.name));
    }
  }

  void CheckInterfaces() {
    static const std::regex kVersion("[0-9]+\\.[0-9]+\\.[0-9]+");
    NameScope interfaces(diagnostics_, "interface");
    NameScope wire_names(diagnostics_, "wire name");
    for (auto& iface : package_.interfaces) {
      interfaces.Declare(iface.name, iface.location);
      RequireDoc(iface.doc, iface.location, "interface " + Quote(iface.name));
      ApplyAttributes(iface.attributes, Target::kInterface, iface.lifecycle);
      if (!std::regex_match(iface.version, kVersion)) {
        Error(iface.location, "version \"" + iface.version + "\" of interface " +
                                  Quote(iface.name) + " is not MAJOR.MINOR.PATCH");
      }
      const TypeDecl* errors = package_.FindType(iface.error_type);
      if (errors == nullptr) {
        Error(iface.location, "unknown errors variant " + Quote(iface.error_type) +
                                  " in interface " + Quote(iface.name));
      } else if (errors->kind != TypeDecl::Kind::kVariant || !errors->is_error) {
        Error(iface.location, Quote(iface.error_type) + " named by interface " +
                                  Quote(iface.name) + " is not an errors variant");
      }
      NameScope methods(diagnostics_, "method", " in interface " + Quote(iface.name));
      for (auto& m : iface.methods) {
        methods.Declare(m.name, m.location);
        m.wire_name = iface.wire_namespace.empty() ? m.name : iface.wire_namespace + "." + m.name;
        wire_names.Declare(m.wire_name, m.location);
        CheckMethod(m);
      }
    }
  }

  void CheckMethod(Method& method) {
    std::string of = " of method " + Quote(method.wire_name);
    RequireDoc(method.doc, method.location, "method " + Quote(method.wire_name));
    ApplyAttributes(method.attributes, Target::kMethod, method.lifecycle);
    NameScope arguments(diagnostics_, "argument", " in method " + Quote(method.wire_name));
    for (auto& a : method.arguments) {
      arguments.Declare(a.name, a.location);
      ApplyAttributes(a.attributes, Target::kArgument, a.lifecycle);
      if (a.from_shared_param) {
        const SharedParam* shared = FindParam(a.name);
        if (shared == nullptr) {
          Error(a.location, "unknown shared param " + Quote(a.name) + " (declare `param " +
                                a.name + ": TYPE;` or write `" + a.name + ": TYPE;`)");
          continue;
        }
        a.type = shared->type;
        if (a.doc.empty()) a.doc = shared->doc;
        if (shared->doc.empty()) continue;  // reported once, on the param
      } else {
        CheckTypeRef(a.type);
      }
      RequireDoc(a.doc, a.location, "argument " + Quote(a.name) + of);
    }
    Result& r = method.result;
    if (r.type.location.file.empty()) {  // no `returns`: the result is unit
      r.type.kind = TypeRef::Kind::kUnit;
      r.type.location = method.location;
      if (r.location.file.empty()) r.location = method.location;
      return;
    }
    CheckTypeRef(r.type);
    if (r.type.kind != TypeRef::Kind::kUnit) RequireDoc(r.doc, r.location, "result" + of);
  }

  const SharedParam* FindParam(const std::string& name) const {
    for (const auto& p : package_.params) {
      if (p.name == name) return &p;
    }
    return nullptr;
  }

  Package& package_;
  Diagnostics& diagnostics_;
  std::map<std::string, size_t> release_index_;  // release name -> declaration order
  std::set<std::string> circular_;               // aliases that refer to themselves
};

}  // namespace

void Check(Model& model, Diagnostics& diagnostics) {
  for (auto& package : model.packages) PackageChecker(package, diagnostics).Run();
}

}  // namespace idl
