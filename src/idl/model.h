// The checked model of an IDL tree: what the parser builds and the checker validates, and the
// only thing the emitters see. See docs/idl-format.md for the source format.
//
// A Model is built once, checked, and then treated as immutable: emitters take it by const
// reference and never see syntax. Every declaration keeps its source location for diagnostics.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace idl {

struct SourceLocation {
  std::string file;  // path as given on the command line, e.g. "idl/smapiv3/volume.smapi"
  int line = 0;      // 1-based
  int column = 0;    // 1-based
};

// A generic `@name("arg", ...)` attribute as written in the source.
struct Attribute {
  std::string name;
  std::vector<std::string> args;
  SourceLocation location;
};

// One lifecycle event of a declaration, from @introduced/@changed/@deprecated/@removed.
struct LifecycleEvent {
  enum class Kind { kIntroduced, kChanged, kDeprecated, kRemoved };
  Kind kind = Kind::kIntroduced;
  std::string release;  // names a `release` of the package
  std::string note;     // "what changed" / "why"; may be empty
  SourceLocation location;
};

// The lifecycle of one declaration. Events are in source order, which the checker ensures is
// release order.
struct Lifecycle {
  std::vector<LifecycleEvent> events;

  // The release of the first event of `kind`, if any.
  std::optional<std::string> ReleaseOf(LifecycleEvent::Kind kind) const;
  bool IsRemoved() const { return ReleaseOf(LifecycleEvent::Kind::kRemoved).has_value(); }
  bool IsDeprecated() const { return ReleaseOf(LifecycleEvent::Kind::kDeprecated).has_value(); }
};

// A type expression.
struct TypeRef {
  enum class Kind {
    kString, kInt, kInt32, kInt64, kBool, kFloat, kUnit, kJson,  // builtins
    kNamed,                                                        // alias, record or variant
    kList, kArray, kOption,                                        // args: [element]
    kMap,                                                          // args: [key, value]
    kTuple,                                                        // args: two or more
  };
  Kind kind = Kind::kUnit;
  std::string name;            // kNamed only: the declared name within the package
  std::vector<TypeRef> args;   // see Kind
  SourceLocation location;
};

// A record field.
struct Field {
  std::string name;
  TypeRef type;
  std::string doc;
  // The wire JSON of the default, e.g. "Data" for a nullary constructor, false, 0, "user", {}.
  // Used when the field is present but malformed, and (for non-option fields) when absent.
  std::optional<nlohmann::json> default_value;
  // True when the default was written as a bare name (a constructor), not a string literal.
  bool default_is_name = false;
  std::vector<Attribute> attributes;
  Lifecycle lifecycle;
  SourceLocation location;
};

// A variant constructor. `payload` empty: nullary (bare string on the wire); one element: that
// payload; several: the payload is a JSON array of that many elements.
struct Constructor {
  std::string name;
  std::vector<TypeRef> payload;
  std::string doc;
  bool fallback = false;  // @fallback: unknown tags decode to this constructor
  std::vector<Attribute> attributes;
  Lifecycle lifecycle;
  SourceLocation location;
};

// A named type: an alias, a record or a variant (an `errors` variant has is_error set).
struct TypeDecl {
  enum class Kind { kAlias, kRecord, kVariant };
  Kind kind = Kind::kAlias;
  std::string name;
  std::string doc;
  TypeRef alias_target;                   // kAlias
  std::vector<Field> fields;              // kRecord, declaration order
  std::vector<Constructor> constructors;  // kVariant, declaration order
  bool is_error = false;                  // kVariant declared with `errors`
  std::vector<Attribute> attributes;
  Lifecycle lifecycle;
  SourceLocation location;

  // The fallback constructor, or nullptr.
  const Constructor* FallbackConstructor() const;
};

// A method argument. Shared parameters (`param dbg: string;` used as `dbg;`) are resolved by the
// parser/checker into a full Argument, with the shared doc unless the method overrides it.
struct Argument {
  std::string name;  // wire name, case-sensitive
  TypeRef type;
  std::string doc;
  bool from_shared_param = false;  // written as a bare name (`dbg;`) and resolved from a `param`
  std::vector<Attribute> attributes;
  Lifecycle lifecycle;
  SourceLocation location;
};

struct Result {
  std::string name;  // documentation only; may be empty
  TypeRef type;      // kUnit when the method has no `returns`
  std::string doc;   // empty only for unit results
  SourceLocation location;
};

struct Method {
  std::string name;       // as declared, e.g. "open", "attach3"
  std::string wire_name;  // e.g. "Datapath.open", "VDI.attach3", "get_by_name"
  std::string doc;
  std::vector<Argument> arguments;  // wire order
  Result result;
  std::vector<Attribute> attributes;
  Lifecycle lifecycle;
  SourceLocation location;
};

struct Interface {
  std::string name;       // identifier, e.g. "Datapath", "DATA_MIRROR"
  std::string wire_namespace;  // e.g. "Datapath", "DATA.MIRROR", "" (bare method names)
  std::string version;    // e.g. "5.0.0"
  std::string error_type; // names an `errors` variant of the package
  std::string group;      // the group it belongs to
  std::string doc;
  std::vector<Method> methods;  // declaration order
  std::vector<Attribute> attributes;
  Lifecycle lifecycle;
  SourceLocation location;
};

struct Group {
  std::string name;   // e.g. "volume": the Python module and HTML page name
  std::string title;  // e.g. "The Volume plugin interface"
  std::string doc;
  std::vector<std::string> interfaces;  // names, declaration order
  SourceLocation location;
};

struct Release {
  std::string name;
  std::string doc;
  SourceLocation location;
};

struct SharedParam {
  std::string name;
  TypeRef type;
  std::string doc;
  SourceLocation location;
};

struct Package {
  std::string name;  // e.g. "smapiv3"
  std::string doc;
  std::vector<Attribute> attributes;  // @python, @ocaml, @cpp
  std::vector<Release> releases;      // oldest first
  std::vector<SharedParam> params;
  std::vector<TypeDecl> types;        // declaration order (files in sorted path order)
  std::vector<Group> groups;          // declaration order
  std::vector<Interface> interfaces;  // declaration order
  SourceLocation location;

  const TypeDecl* FindType(const std::string& name) const;
  const Interface* FindInterface(const std::string& name) const;
  const Group* FindGroup(const std::string& name) const;
  // The first argument of a package attribute such as @python, or `fallback` when absent.
  std::string AttributeOr(const std::string& attribute, const std::string& fallback) const;
  // Follows aliases until a non-alias type; returns `type` itself when it is not kNamed or names
  // a record or variant.
  const TypeRef& Resolve(const TypeRef& type) const;
};

struct Model {
  std::vector<Package> packages;  // in order of first appearance (sorted file paths)

  const Package* FindPackage(const std::string& name) const;
};

// The IDL spelling of a type expression, e.g. "list<volume>", "map<string, string>", "(a, b)".
std::string ToString(const TypeRef& type);

// Compact JSON text of a value such as a field default, e.g. `"user"`, `false`, `{}`. Never
// throws: bytes that are not valid UTF-8 are replaced.
std::string JsonText(const nlohmann::json& value);

}  // namespace idl
