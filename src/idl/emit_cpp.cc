// The C++ emitter: per package, `smapi/<package>.h` and `smapi/<package>.cc`.
//
// The generated code is meant to be read: plain structs for records, a struct holding a
// std::variant of per-constructor structs for variants, one client class and one handler class
// per interface, and a package-level server entry point. It stands on the smapi_rpc runtime
// (src/rpc/), which holds every wire rule; the generated code only says which rule applies to
// which field. docs/cpp-bindings.md describes the generated API.
//
// Layout of this file: naming and type spelling first, then one function per section of the
// header and of the source, then EmitCpp, which decides the order of each whole file.
#include <algorithm>
#include <functional>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "idl/code_writer.h"
#include "idl/emitter.h"

namespace idl {
namespace {

// ---- Names ----------------------------------------------------------------------------------

const std::set<std::string>& CppKeywords() {
  static const std::set<std::string> kKeywords = {
      "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break",
      "case", "catch", "char", "char8_t", "char16_t", "char32_t", "class", "compl", "concept",
      "const", "consteval", "constexpr", "constinit", "const_cast", "continue", "co_await",
      "co_return", "co_yield", "decltype", "default", "delete", "do", "double", "dynamic_cast",
      "else", "enum", "explicit", "export", "extern", "false", "float", "for", "friend", "goto",
      "if", "inline", "int", "long", "mutable", "namespace", "new", "noexcept", "not", "not_eq",
      "nullptr", "operator", "or", "or_eq", "private", "protected", "public", "register",
      "reinterpret_cast", "requires", "return", "short", "signed", "sizeof", "static",
      "static_assert", "static_cast", "struct", "switch", "template", "this", "thread_local",
      "throw", "true", "try", "typedef", "typeid", "typename", "union", "unsigned", "using",
      "virtual", "void", "volatile", "wchar_t", "while", "xor", "xor_eq",
      // Names the generated code uses unqualified wherever IDL names appear.
      "std", "rpc", "nlohmann", "int64_t", "int32_t"};
  return kKeywords;
}

// An IDL identifier as a C++ identifier: reserved words get a trailing underscore.
std::string SafeId(const std::string& name) {
  return CppKeywords().count(name) ? name + "_" : name;
}

// A method argument: also not a local of the generated client and dispatch functions.
std::string ArgId(const std::string& name) {
  static const std::set<std::string> kLocals = {"params", "result", "wire_method", "params_object"};
  return kLocals.count(name) ? name + "_" : SafeId(name);
}

// A method: also not a member the generated classes define themselves.
std::string MethodId(const std::string& name) {
  static const std::set<std::string> kMembers = {"Call", "Dispatch", "transport_"};
  return kMembers.count(name) ? name + "_" : SafeId(name);
}

// Like SafeId, but a member may also not share its class's name.
std::string MemberId(const std::string& name, const std::string& class_name) {
  return name == class_name ? name + "_" : SafeId(name);
}

// The C++ namespace of a package: @cpp("a::b"), else the package name.
std::string NamespaceOf(const Package& package) { return package.AttributeOr("cpp", package.name); }

// Concatenation by appending. (g++ 12 at -O3 reports a bogus -Wrestrict for some chains of
// `"literal" + std::string&&`; appending sidesteps it.)
std::string Cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) out += p;
  return out;
}

// A C++ string literal holding `s`.
std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          const char* hex = "0123456789abcdef";
          out += "\\x";
          out += hex[(c >> 4) & 0xf];
          out += hex[c & 0xf];
          out += "\"\"";  // ends the hex escape so that a following hex digit is not absorbed
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// snake_case -> PascalCase, for the names of generated constants.
std::string Pascal(const std::string& name) {
  std::string out;
  bool upper = true;
  for (char c : name) {
    if (c == '_') {
      upper = true;
    } else {
      out += upper && c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
      upper = false;
    }
  }
  return out;
}

// The lifecycle of a declaration as comment text, one line per event; empty when none.
std::string LifecycleText(const Lifecycle& lifecycle) {
  std::string out;
  for (const LifecycleEvent& e : lifecycle.events) {
    switch (e.kind) {
      case LifecycleEvent::Kind::kIntroduced: out += "Introduced in release " + e.release; break;
      case LifecycleEvent::Kind::kChanged: out += "Changed in release " + e.release; break;
      case LifecycleEvent::Kind::kDeprecated: out += "Deprecated in release " + e.release; break;
      case LifecycleEvent::Kind::kRemoved: out += "Removed in release " + e.release; break;
    }
    out += e.note.empty() ? "." : ": " + e.note;
    out += "\n";
  }
  return out;
}

// A section rule: "// ---- <title> ----...", 100 columns wide.
std::string Rule(const std::string& title) {
  std::string line = "// ---- " + title + " ";
  if (line.size() < 100) line += std::string(100 - line.size(), '-');
  return line;
}

// A declaration or call `head(params...)tail`, on one line when it fits in `width` columns,
// else with the parameters on continuation lines indented by four.
std::string Wrap(const std::string& head, const std::vector<std::string>& params,
                 const std::string& tail, size_t width, const std::string& open = "(",
                 const std::string& close = ")") {
  std::string joined;
  for (const std::string& p : params) joined += (joined.empty() ? "" : ", ") + p;
  std::string one = head + open + joined + close + tail;
  if (one.size() <= width || params.empty()) return one;
  if (joined.size() + 5 + tail.size() <= width) {
    return head + open + "\n    " + joined + close + tail;
  }
  std::string out = head + open;
  for (size_t i = 0; i < params.size(); ++i) {
    out += "\n    " + params[i] + (i + 1 < params.size() ? "," : close + tail);
  }
  return out;
}

// The columns left on a line of `w` at its current indentation (of two spaces per level).
size_t Width(const CodeWriter& w) { return 100 - 2 * static_cast<size_t>(w.depth()); }

// Writes a declaration's doc and lifecycle as // comments.
void DocComment(CodeWriter& w, const std::string& doc, const Lifecycle& lifecycle = {}) {
  w.Comment("// ", doc);
  std::string events = LifecycleText(lifecycle);
  if (!doc.empty() && !events.empty()) w.Line("//");
  w.Comment("// ", events);
}

// ---- Types ----------------------------------------------------------------------------------

class CppTypes {
 public:
  explicit CppTypes(const Package& package)
      : package_(package), prefix_("::" + NamespaceOf(package) + "::") {}

  // The C++ spelling of an IDL type expression; named types fully qualified.
  std::string Spell(const TypeRef& type) const {
    using K = TypeRef::Kind;
    switch (type.kind) {
      case K::kString: return "std::string";
      case K::kInt: case K::kInt64: return "int64_t";
      case K::kInt32: return "int32_t";
      case K::kBool: return "bool";
      case K::kFloat: return "double";
      case K::kUnit: return "rpc::Unit";
      case K::kJson: return "nlohmann::json";
      case K::kNamed: return Qualified(type.name);
      case K::kList: case K::kArray: return "std::vector<" + Spell(type.args.at(0)) + ">";
      case K::kOption: return "std::optional<" + Spell(type.args.at(0)) + ">";
      case K::kMap: return "std::map<std::string, " + Spell(type.args.at(1)) + ">";
      case K::kTuple: {
        std::string s = "std::tuple<";
        for (size_t i = 0; i < type.args.size(); ++i) s += (i ? ", " : "") + Spell(type.args[i]);
        return s + ">";
      }
    }
    return "void";
  }

  std::string Qualified(const std::string& name) const { return prefix_ + SafeId(name); }

  // How a value of `type` is passed as a parameter: by value for scalars, else const&.
  std::string Parameter(const TypeRef& type) const {
    return IsScalar(type) ? Spell(type) : "const " + Spell(type) + "&";
  }

  // The result type of a method: void for unit.
  std::string Result(const TypeRef& type) const {
    return IsUnit(type) ? "void" : Spell(type);
  }

  bool IsScalar(const TypeRef& type) const {
    using K = TypeRef::Kind;
    K k = package_.Resolve(type).kind;
    return k == K::kInt || k == K::kInt32 || k == K::kInt64 || k == K::kBool || k == K::kFloat;
  }
  bool IsUnit(const TypeRef& type) const {
    return package_.Resolve(type).kind == TypeRef::Kind::kUnit;
  }
  bool IsOption(const TypeRef& type) const {
    return package_.Resolve(type).kind == TypeRef::Kind::kOption;
  }

  // A C++ initializer for a field whose default is a plain literal of a scalar or string
  // type, e.g. " = true"; empty otherwise (the decoder still applies every default).
  std::string Initializer(const Field& f) const {
    using K = TypeRef::Kind;
    K k = package_.Resolve(f.type).kind;
    if (f.default_value) {
      const nlohmann::json& d = *f.default_value;
      if (k == K::kString && d.is_string()) return " = " + Quote(d.get<std::string>());
      if (k == K::kBool && d.is_boolean()) return d.get<bool>() ? " = true" : " = false";
      if ((k == K::kInt || k == K::kInt64 || k == K::kInt32) && d.is_number_integer()) {
        return " = " + d.dump();
      }
      if (k == K::kFloat && d.is_number()) return " = " + nlohmann::json(d.get<double>()).dump();
    }
    return IsScalar(f.type) ? "{}" : "";
  }

 private:
  const Package& package_;
  std::string prefix_;
};

bool Live(const Lifecycle& lifecycle) { return !lifecycle.IsRemoved(); }

// Named types referenced by `type`, in order of appearance.
void CollectNames(const TypeRef& type, std::vector<std::string>& out) {
  if (type.kind == TypeRef::Kind::kNamed) out.push_back(type.name);
  for (const TypeRef& arg : type.args) CollectNames(arg, out);
}

// The package's live types, each after the types it uses (C++ needs complete types for
// std::optional, std::variant and members), otherwise in declaration order.
std::vector<const TypeDecl*> TypesInDependencyOrder(const Package& package) {
  std::vector<const TypeDecl*> order;
  std::set<std::string> done;
  std::set<std::string> visiting;
  std::function<void(const TypeDecl&)> visit = [&](const TypeDecl& t) {
    if (done.count(t.name) || visiting.count(t.name)) return;
    visiting.insert(t.name);
    std::vector<std::string> uses;
    CollectNames(t.alias_target, uses);
    for (const Field& f : t.fields) {
      if (Live(f.lifecycle)) CollectNames(f.type, uses);
    }
    for (const Constructor& c : t.constructors) {
      if (!Live(c.lifecycle)) continue;
      for (const TypeRef& p : c.payload) CollectNames(p, uses);
    }
    for (const std::string& name : uses) {
      if (const TypeDecl* used = package.FindType(name)) visit(*used);
    }
    visiting.erase(t.name);
    done.insert(t.name);
    order.push_back(&t);
  };
  for (const TypeDecl& t : package.types) {
    if (Live(t.lifecycle)) visit(t);
  }
  return order;
}

std::vector<const Field*> LiveFields(const TypeDecl& t) {
  std::vector<const Field*> out;
  for (const Field& f : t.fields) {
    if (Live(f.lifecycle)) out.push_back(&f);
  }
  return out;
}

std::vector<const Constructor*> LiveConstructors(const TypeDecl& t) {
  std::vector<const Constructor*> out;
  for (const Constructor& c : t.constructors) {
    if (Live(c.lifecycle)) out.push_back(&c);
  }
  return out;
}

std::vector<const Method*> LiveMethods(const Interface& i) {
  std::vector<const Method*> out;
  for (const Method& m : i.methods) {
    if (Live(m.lifecycle)) out.push_back(&m);
  }
  return out;
}

std::vector<const Interface*> LiveInterfaces(const Package& package) {
  std::vector<const Interface*> out;
  for (const Interface& i : package.interfaces) {
    if (Live(i.lifecycle)) out.push_back(&i);
  }
  return out;
}

// The C++ name of a constructor's struct inside its variant.
// `value` and `Tag` are members of every variant struct.
std::string ConstructorId(const Constructor& c, const TypeDecl& t) {
  if (c.name == "value" || c.name == "Tag") return c.name + "_";
  return MemberId(c.name, t.name);
}

// The member names of a constructor's payload: `value` for one, `arg0`.. for several.
std::vector<std::string> PayloadMembers(const Constructor& c) {
  if (c.payload.size() == 1) return {"value"};
  std::vector<std::string> names;
  for (size_t i = 0; i < c.payload.size(); ++i) names.push_back("arg" + std::to_string(i));
  return names;
}

// The name of the exception class of an error variant.
std::string ExceptionName(const std::string& error_type) { return error_type + "_exception"; }

// Whether `t` has a constructor `name` with exactly one payload that resolves to a string:
// the shape the server uses for "Unimplemented" and "Internal_error" answers.
bool HasStringConstructor(const Package& package, const TypeDecl* t, const std::string& name) {
  if (t == nullptr) return false;
  for (const Constructor* c : LiveConstructors(*t)) {
    if (c->name == name && c->payload.size() == 1 &&
        package.Resolve(c->payload[0]).kind == TypeRef::Kind::kString) {
      return true;
    }
  }
  return false;
}

// ---- Header sections ------------------------------------------------------------------------

// An access label, one space in from its class, as the style guide has it.
void Access(CodeWriter& w, const std::string& label) {
  w.Dedent();
  w.Line(" " + label + ":");
  w.Indent();
}

void Banner(CodeWriter& w, const Package& package) {
  w.Line("// Generated by smapi-idl (gen cpp) from the IDL package `" + package.name + "`.");
  w.Line("// Do not edit: change the IDL and rebuild. See docs/cpp-bindings.md for the API.");
}

void HeaderType(CodeWriter& w, const Package& package, const CppTypes& types, const TypeDecl& t) {
  DocComment(w, t.doc, t.lifecycle);
  std::string name = SafeId(t.name);
  switch (t.kind) {
    case TypeDecl::Kind::kAlias:
      w.Line("using " + name + " = " + types.Spell(t.alias_target) + ";");
      return;
    case TypeDecl::Kind::kRecord:
      w.Open("struct " + name + " {");
      for (const Field* f : LiveFields(t)) {
        std::string doc = f->doc;
        if (f->default_value) {
          doc += (doc.empty() ? "" : "\n") + std::string("Default (wire JSON): ") +
                 f->default_value->dump();
        }
        DocComment(w, doc, f->lifecycle);
        w.Line(types.Spell(f->type) + " " + MemberId(f->name, name) + types.Initializer(*f) + ";");
      }
      if (!t.fields.empty()) w.Line();
      w.Line("bool operator==(const " + name + "&) const = default;");
      w.Close("};");
      break;
    case TypeDecl::Kind::kVariant: {
      w.Open("struct " + name + " {");
      for (const Constructor* c : LiveConstructors(t)) {
        std::string doc = c->doc;
        if (c->fallback) doc += std::string(doc.empty() ? "" : "\n") + "Decodes any unknown tag.";
        DocComment(w, doc, c->lifecycle);
        std::string cname = ConstructorId(*c, t);
        std::vector<std::string> members = PayloadMembers(*c);
        w.Open("struct " + cname + " {");
        for (size_t i = 0; i < c->payload.size(); ++i) {
          // No default member initializer here: it would make the struct not yet
          // default-constructible inside its enclosing class, which std::variant requires.
          w.Line(types.Spell(c->payload[i]) + " " + members[i] + ";");
        }
        w.Line("bool operator==(const " + cname + "&) const = default;");
        w.Close("};");
      }
      w.Line();
      std::vector<std::string> names;
      for (const Constructor* c : LiveConstructors(t)) names.push_back(ConstructorId(*c, t));
      w.Line(Wrap("std::variant", names, " value;", Width(w), "<", ">"));
      w.Line();
      w.Line("// The wire tag of the constructor held, e.g. " +
             (t.constructors.empty() ? std::string("\"\"") : Quote(t.constructors[0].name)) + ".");
      w.Line("std::string_view Tag() const;");
      w.Line("bool operator==(const " + name + "&) const = default;");
      w.Close("};");
      break;
    }
  }
  w.Line("void FromJson(const nlohmann::json& j, " + name + "& out);");
  w.Line("nlohmann::json ToJson(const " + name + "& v);");
  (void)package;
}

void HeaderException(CodeWriter& w, const CppTypes& types, const TypeDecl& t) {
  std::string name = ExceptionName(t.name);
  std::string type = types.Qualified(t.name);
  w.Line("// `" + t.name + "` as an exception: thrown by handlers and clients of the interfaces");
  w.Line("// whose errors are `" + t.name + "`. what() is the error's wire JSON.");
  w.Open("class " + name + " : public std::runtime_error {");
  Access(w, "public");
  w.Line("explicit " + name + "(" + type + " error);");
  w.Line("const " + type + "& error() const { return error_; }");
  w.Line();
  Access(w, "private");
  w.Line(type + " error_;");
  w.Close("};");
}

// The parameters of a method: every argument but unit-typed ones (which carry nothing).
std::vector<std::string> Parameters(const CppTypes& types, const Method& m, bool named) {
  std::vector<std::string> out;
  for (const Argument& a : m.arguments) {
    if (types.IsUnit(a.type)) continue;
    out.push_back(types.Parameter(a.type) + (named ? " " + ArgId(a.name) : " /*" + a.name + "*/"));
  }
  return out;
}

void MethodComment(CodeWriter& w, const Method& m, const std::string& error_type) {
  DocComment(w, m.doc, m.lifecycle);
  w.Line("// Wire method " + Quote(m.wire_name) + "; errors: " + ExceptionName(error_type) + ".");
}

void HeaderInterface(CodeWriter& w, const Package& package, const CppTypes& types,
                     const Interface& i) {
  w.Line(Rule("Interface " + i.name + " (version " + i.version + ", errors " + i.error_type + ")"));
  w.Line();
  DocComment(w, i.doc, i.lifecycle);
  w.Line("//");
  w.Line("// Client: each method sends one call through the transport and decodes its result.");
  w.Line("// A server error reply is thrown as " + ExceptionName(i.error_type) +
         " (rpc::RemoteError when it does not");
  w.Line("// decode as `" + i.error_type +
         "`); a result that does not decode throws rpc::DecodeError.");
  w.Open("class " + i.name + "Client {");
  Access(w, "public");
  w.Line("explicit " + i.name +
         "Client(rpc::Transport transport) : transport_(std::move(transport)) {}");
  for (const Method* m : LiveMethods(i)) {
    w.Line();
    MethodComment(w, *m, i.error_type);
    w.Line(Wrap(types.Result(m->result.type) + " " + MethodId(m->name), Parameters(types, *m, true),
                ";", Width(w)));
  }
  w.Line();
  Access(w, "private");
  w.Line("nlohmann::json Call(const std::string& wire_method, nlohmann::json params);");
  w.Line();
  w.Line("rpc::Transport transport_;");
  w.Close("};");
  w.Line();

  const TypeDecl* error = package.FindType(i.error_type);
  bool unimplemented = HasStringConstructor(package, error, "Unimplemented");
  w.Line("// Server side of " + i.name + ": derive, override the methods you implement and");
  w.Line(unimplemented ? "// call Dispatch. Each default throws " + i.error_type +
                             "::Unimplemented naming the wire method."
                       : "// call Dispatch. Each default throws rpc::UnknownMethod.");
  w.Open("class " + i.name + "Handler {");
  Access(w, "public");
  w.Line("virtual ~" + i.name + "Handler() = default;");
  for (const Method* m : LiveMethods(i)) {
    w.Line();
    MethodComment(w, *m, i.error_type);
    w.Line(Wrap("virtual " + types.Result(m->result.type) + " " + MethodId(m->name),
                Parameters(types, *m, true), ";", Width(w)));
  }
  w.Line();
  w.Line("// Decodes the named arguments of `wire_method` from `params_object`, calls the method");
  w.Line("// and returns its encoded result (null for unit). Throws rpc::UnknownMethod for a");
  w.Line("// method not in " + i.name + ", rpc::DecodeError for a missing or malformed argument");
  w.Line("// (\"Expecting named argument '<name>'\"), and whatever the method throws.");
  w.Line(Wrap("nlohmann::json Dispatch",
              {"const std::string& wire_method", "const nlohmann::json& params_object"}, ";",
              Width(w)));
  w.Close("};");
}

void HeaderPackage(CodeWriter& w, const Package& package) {
  w.Line(Rule("The package's server"));
  w.Line();
  w.Line("// The handlers a server routes to, one per interface. Calls to an interface whose");
  w.Line("// handler is null are answered as unknown methods. The handlers are not owned.");
  w.Open("struct Handlers {");
  for (const Interface* i : LiveInterfaces(package)) {
    w.Line(i->name + "Handler* " + MemberId(i->name, "Handlers") + " = nullptr;");
  }
  w.Close("};");
  w.Line();
  w.Line("// Routes `wire_method` to the handler of its interface and returns the encoded result.");
  w.Line("// Throws rpc::UnknownMethod when no interface of the package has the method (or its");
  w.Line("// handler is null), and whatever the handler's Dispatch throws.");
  w.Line("nlohmann::json Dispatch(const Handlers& handlers, const std::string& wire_method,");
  w.Line("                        const nlohmann::json& params_object);");
  w.Line();
  w.Line("// Reads `result`, the answer of `wire_method`, as the method's IDL result type with the");
  w.Line("// reference reading rules, and returns it re-encoded (null for unit): what a client of");
  w.Line("// the method would make of the answer. Throws rpc::DecodeError (the reference text) when");
  w.Line("// the answer does not decode, rpc::UnknownMethod when the package has no such method.");
  w.Line("nlohmann::json DecodeResult(const std::string& wire_method, const nlohmann::json& result);");
  w.Line();
  w.Line("// Serves one JSON-RPC request (v1 envelope) and returns the response envelope, echoing");
  w.Line("// the request id (0 when it has none). Never throws: a typed error becomes");
  w.Line("// {\"result\":null,\"error\":<error JSON>,\"id\":..}; an unknown method the error");
  w.Line("// [\"Unimplemented\",\"<method>\"]; a malformed request, a missing or malformed "
         "argument or");
  w.Line("// any other exception [\"Internal_error\",\"<what happened>\"].");
  w.Line("nlohmann::json HandleRequest(const Handlers& handlers, const nlohmann::json& request);");
  w.Line("// The same on JSON text; text that is not JSON is answered as a malformed request.");
  w.Line("std::string HandleRequestText(const Handlers& handlers, std::string_view request_text);");
  w.Line();
  w.Line("// Metadata for tools: every interface and every method of the package, in IDL order.");
  w.Line("const std::vector<rpc::InterfaceInfo>& Interfaces();");
  w.Line("const std::vector<rpc::MethodInfo>& Methods();");
}

// ---- Source sections ------------------------------------------------------------------------

void SourceRecordCodec(CodeWriter& w, const CppTypes& types, const TypeDecl& t) {
  std::string name = SafeId(t.name);
  w.Open("void FromJson(const nlohmann::json& j, " + name + "& out) {");
  w.Line("rpc::RecordReader r(j, " + Quote(t.name) + ");");
  for (const Field* f : LiveFields(t)) {
    std::string member = "out." + MemberId(f->name, name);
    bool option = f->type.kind == TypeRef::Kind::kOption;
    if (f->default_value) {
      std::string fallback = "k" + Pascal(f->name) + "Default";
      w.Line(Wrap("static const nlohmann::json " + fallback + " = nlohmann::json::parse",
                  {Quote(f->default_value->dump())}, ";", Width(w)));
      w.Line(std::string(option ? "r.OptionalOr(" : "r.RequiredOr(") + Quote(f->name) + ", " +
             member + ", " + fallback + ");");
    } else {
      w.Line(std::string(option ? "r.Optional(" : "r.Required(") + Quote(f->name) + ", " + member +
             ");");
    }
  }
  w.Close("}");
  w.Line();
  w.Open("nlohmann::json ToJson(const " + name + "& v) {");
  w.Line("nlohmann::json j = nlohmann::json::object();");
  for (const Field* f : LiveFields(t)) {
    std::string member = "v." + MemberId(f->name, name);
    if (f->type.kind == TypeRef::Kind::kOption) {
      w.Line("if (" + member + ") j[" + Quote(f->name) + "] = rpc::Encode(*" + member + ");");
    } else {
      w.Line("j[" + Quote(f->name) + "] = rpc::Encode(" + member + ");");
    }
  }
  w.Line("return j;");
  w.Close("}");
  (void)types;
}

void SourceVariantCodec(CodeWriter& w, const CppTypes& types, const TypeDecl& t) {
  std::string name = SafeId(t.name);
  // Constructor structs are named relative to the package namespace, which the code is in.
  const std::string& qualified = name;
  const Constructor* fallback = nullptr;
  w.Open("void FromJson(const nlohmann::json& j, " + name + "& out) {");
  w.Line("rpc::VariantReader r(j);");
  for (const Constructor* c : LiveConstructors(t)) {
    if (c->fallback) fallback = c;
    std::string cname = qualified + "::" + ConstructorId(*c, t);
    w.Open("if (r.Is(" + Quote(c->name) + ")) {");
    if (c->payload.empty()) {
      w.Line("rpc::Decode<rpc::Unit>(r.payload());");
      w.Line("out.value = " + cname + "{};");
    } else if (c->payload.size() == 1) {
      w.Line(Wrap("out.value = " + cname, {"rpc::Decode<" + types.Spell(c->payload[0]) +
                  ">(r.payload())"}, ";", Width(w), "{", "}"));
    } else {
      w.Line("const nlohmann::json& args = r.Arguments(" + std::to_string(c->payload.size()) +
             ");");
      w.Line("out.value = " + cname + "{");
      for (size_t i = 0; i < c->payload.size(); ++i) {
        w.Line("    rpc::Decode<" + types.Spell(c->payload[i]) + ">(args[" + std::to_string(i) +
               "])" + (i + 1 < c->payload.size() ? "," : "};"));
      }
    }
    w.Line("return;");
    w.Close("}");
  }
  if (fallback != nullptr) {
    w.Line("out.value = " + qualified + "::" + ConstructorId(*fallback, t) + "{};  // @fallback");
  } else {
    w.Line("r.ThrowUnknownTag();");
  }
  w.Close("}");
  w.Line();
  w.Open("nlohmann::json ToJson(const " + name + "& v) {");
  for (const Constructor* c : LiveConstructors(t)) {
    std::string cname = qualified + "::" + ConstructorId(*c, t);
    if (c->payload.empty()) {
      w.Open("if (std::holds_alternative<" + cname + ">(v.value)) {");
      w.Line("return rpc::VariantJson(" + Quote(c->name) + ", nullptr);");
      w.Close("}");
      continue;
    }
    w.Open("if (const auto* c = std::get_if<" + cname + ">(&v.value)) {");
    if (c->payload.size() == 1) {
      w.Line("return rpc::VariantJson(" + Quote(c->name) + ", rpc::Encode(c->value));");
    } else {
      std::string items;
      for (const std::string& m : PayloadMembers(*c)) {
        items += std::string(items.empty() ? "" : ", ") + "rpc::Encode(c->" + m + ")";
      }
      w.Line("return rpc::VariantJson(" + Quote(c->name) + ",");
      w.Line("                        nlohmann::json::array({" + items + "}));");
    }
    w.Close("}");
  }
  w.Line("return nullptr;  // valueless after a failed assignment: nothing to encode");
  w.Close("}");
  w.Line();
  w.Open("std::string_view " + name + "::Tag() const {");
  std::vector<std::string> tags;
  for (const Constructor* c : LiveConstructors(t)) tags.push_back(Quote(c->name));
  w.Line(Wrap("static constexpr std::string_view kTags[] = ", tags, ";", Width(w), "{", "}"));
  w.Line("return value.valueless_by_exception() ? std::string_view() : kTags[value.index()];");
  w.Close("}");
}

void SourceException(CodeWriter& w, const CppTypes& types, const TypeDecl& t) {
  std::string name = ExceptionName(t.name);
  w.Line(name + "::" + name + "(" + types.Qualified(t.name) + " error)");
  w.Line("    : std::runtime_error(rpc::Serialize(ToJson(error))), error_(std::move(error)) {}");
}

// Statements that build `params` from the C++ arguments of `m`.
void BuildParams(CodeWriter& w, const CppTypes& types, const Method& m) {
  w.Line("nlohmann::json params = nlohmann::json::object();");
  for (const Argument& a : m.arguments) {
    std::string key = "params[" + Quote(a.name) + "]";
    if (types.IsUnit(a.type)) {
      w.Line(key + " = nullptr;");
    } else if (a.type.kind == TypeRef::Kind::kOption) {
      // An optional argument is left out when absent and is the bare value when present.
      w.Line("if (" + ArgId(a.name) + ") " + key + " = rpc::Encode(*" + ArgId(a.name) + ");");
    } else {
      w.Line(key + " = rpc::Encode(" + ArgId(a.name) + ");");
    }
  }
}

void SourceInterface(CodeWriter& w, const Package& package, const CppTypes& types,
                     const Interface& i) {
  std::string client = i.name + "Client";
  std::string handler = i.name + "Handler";
  std::string error = types.Qualified(i.error_type);
  std::string exception = ExceptionName(i.error_type);
  w.Line(Rule(i.name));
  w.Line();
  w.Open("nlohmann::json " + client +
         "::Call(const std::string& wire_method, nlohmann::json params) {");
  w.Open("try {");
  w.Line("return transport_(wire_method, std::move(params));");
  w.Close("} catch (const rpc::RemoteError& e) {");
  w.Indent();
  w.Line("std::optional<" + error + "> error;");
  w.Open("try {");
  w.Line("error = rpc::Decode<" + error + ">(e.error());");
  w.Close("} catch (const rpc::DecodeError&) {");
  w.Indent();
  w.Line("// Left empty: handled just below, where `throw;` rethrows the RemoteError.");
  w.Close("}");
  w.Line("if (!error) throw;  // not an error of this interface: the caller sees the raw reply");
  w.Line("throw " + exception + "(std::move(*error));");
  w.Close("}");
  w.Close("}");
  for (const Method* m : LiveMethods(i)) {
    w.Line();
    w.Open(Wrap(types.Result(m->result.type) + " " + client + "::" + MethodId(m->name),
                Parameters(types, *m, true), " {", Width(w)));
    BuildParams(w, types, *m);
    w.Line("nlohmann::json result = Call(" + Quote(m->wire_name) + ", std::move(params));");
    if (types.IsUnit(m->result.type)) {
      w.Line("rpc::Decode<rpc::Unit>(result);");
    } else {
      w.Line("return rpc::Decode<" + types.Spell(m->result.type) + ">(result);");
    }
    w.Close("}");
  }

  const TypeDecl* error_decl = package.FindType(i.error_type);
  bool unimplemented = HasStringConstructor(package, error_decl, "Unimplemented");
  for (const Method* m : LiveMethods(i)) {
    w.Line();
    w.Open(Wrap(types.Result(m->result.type) + " " + handler + "::" + MethodId(m->name),
                Parameters(types, *m, false), " {", Width(w)));
    if (unimplemented) {
      w.Line(Wrap("throw " + exception,
                  {error + "{" + error + "::Unimplemented{" + Quote(m->wire_name) + "}}"}, ";",
                  Width(w)));
    } else {
      w.Line("throw rpc::UnknownMethod(" + Quote(m->wire_name) + ");");
    }
    w.Close("}");
  }
  w.Line();
  w.Open(Wrap("nlohmann::json " + handler + "::Dispatch",
              {"const std::string& wire_method", "const nlohmann::json& params_object"}, " {",
              Width(w)));
  for (const Method* m : LiveMethods(i)) {
    w.Open("if (wire_method == " + Quote(m->wire_name) + ") {");
    std::vector<std::string> call_args;
    for (const Argument& a : m->arguments) {
      if (types.IsUnit(a.type)) continue;  // accepted missing or holding anything
      std::string local = ArgId(a.name);
      if (a.type.kind == TypeRef::Kind::kOption) {
        w.Line(Wrap("auto " + local + " = rpc::OptionalNamedArgument<" +
                        types.Spell(a.type.args.at(0)) + ">",
                    {"params_object", Quote(a.name)}, ";", Width(w)));
      } else {
        w.Line(Wrap("auto " + local + " = rpc::Decode<" + types.Spell(a.type) + ">",
                    {"rpc::NamedArgument(params_object, " + Quote(a.name) + ")"}, ";", Width(w)));
      }
      call_args.push_back(local);
    }
    if (types.IsUnit(m->result.type)) {
      w.Line(Wrap(MethodId(m->name), call_args, ";", Width(w)));
      w.Line("return nullptr;");
    } else {
      w.Line(Wrap("return rpc::Encode(" + MethodId(m->name), call_args, ");", Width(w)));
    }
    w.Close("}");
  }
  w.Line("throw rpc::UnknownMethod(wire_method);");
  w.Close("}");
}

void SourcePackage(CodeWriter& w, const Package& package, const CppTypes& types) {
  w.Line(Rule("The package's server"));
  w.Line();
  w.Line("nlohmann::json Dispatch(const Handlers& handlers, const std::string& wire_method,");
  w.Line("                        const nlohmann::json& params_object) {");
  w.Indent();
  for (const Interface* i : LiveInterfaces(package)) {
    std::string member = "handlers." + MemberId(i->name, "Handlers");
    std::string condition;
    for (const Method* m : LiveMethods(*i)) {
      condition += (condition.empty() ? "" : " ||\n    ") + std::string("wire_method == ") +
                   Quote(m->wire_name);
    }
    if (condition.empty()) continue;
    w.Open("if (" + condition + ") {");
    w.Line("if (" + member + " == nullptr) throw rpc::UnknownMethod(wire_method);");
    w.Line("return " + member + "->Dispatch(wire_method, params_object);");
    w.Close("}");
  }
  w.Line("throw rpc::UnknownMethod(wire_method);");
  w.Close("}");
  w.Line();

  // One test per wire name, in IDL order; a name two interfaces share is decoded as the first
  // one declares it, as Dispatch routes it.
  w.Open("nlohmann::json DecodeResult(const std::string& wire_method, const nlohmann::json& result) {");
  std::set<std::string> seen;
  for (const Interface* i : LiveInterfaces(package)) {
    for (const Method* m : LiveMethods(*i)) {
      if (!seen.insert(m->wire_name).second) continue;
      w.Open("if (wire_method == " + Quote(m->wire_name) + ") {");
      if (types.IsUnit(m->result.type)) {
        w.Line("rpc::Decode<rpc::Unit>(result);");
        w.Line("return nullptr;");
      } else {
        w.Line(Wrap("return rpc::Encode(rpc::Decode<" + types.Spell(m->result.type) + ">",
                    {"result"}, ");", Width(w)));
      }
      w.Close("}");
    }
  }
  w.Line("throw rpc::UnknownMethod(wire_method);");
  w.Close("}");
  w.Line();

  std::vector<std::string> error_types;
  for (const Interface* i : LiveInterfaces(package)) {
    if (std::find(error_types.begin(), error_types.end(), i->error_type) == error_types.end()) {
      error_types.push_back(i->error_type);
    }
  }
  w.Open("nlohmann::json HandleRequest(const Handlers& handlers, const nlohmann::json& request) {");
  w.Line("nlohmann::json id = rpc::ResponseId(request);");
  w.Open("try {");
  w.Line("rpc::Call call = rpc::ParseCall(request);");
  w.Line("return rpc::BuildSuccess(Dispatch(handlers, call.method, call.params), id);");
  for (const std::string& e : error_types) {
    w.Close("} catch (const " + ExceptionName(e) + "& e) {");
    w.Indent();
    w.Line("return rpc::BuildFailure(ToJson(e.error()), id);");
  }
  w.Close("} catch (const rpc::UnknownMethod& e) {");
  w.Indent();
  w.Line("return rpc::BuildFailure(rpc::VariantJson(\"Unimplemented\", e.method()), id);");
  w.Close("} catch (const std::exception& e) {");
  w.Indent();
  w.Line("return rpc::BuildFailure(rpc::VariantJson(\"Internal_error\", e.what()), id);");
  w.Close("}");
  w.Close("}");
  w.Line();
  w.Open("std::string HandleRequestText(const Handlers& handlers, "
         "std::string_view request_text) {");
  w.Line("nlohmann::json request;");
  w.Open("try {");
  w.Line("request = rpc::ParseJson(request_text);");
  w.Close("} catch (const rpc::JsonSyntaxError& e) {");
  w.Indent();
  w.Line("return rpc::Serialize(");
  w.Line("    rpc::BuildFailure(rpc::VariantJson(\"Internal_error\", e.what()), 0));");
  w.Close("}");
  w.Line("return rpc::Serialize(HandleRequest(handlers, request));");
  w.Close("}");
  w.Line();

  w.Open("const std::vector<rpc::InterfaceInfo>& Interfaces() {");
  w.Open("static const std::vector<rpc::InterfaceInfo> kInterfaces = {");
  for (const Interface* i : LiveInterfaces(package)) {
    w.Line(Cat({"{", Quote(i->name), ", ", Quote(i->wire_namespace), ", ", Quote(i->version), ", ",
                Quote(i->error_type), ","}));
    w.Line(" " + Quote(i->doc) + "},");
  }
  w.Close("};");
  w.Line("return kInterfaces;");
  w.Close("}");
  w.Line();
  w.Open("const std::vector<rpc::MethodInfo>& Methods() {");
  w.Open("static const std::vector<rpc::MethodInfo> kMethods = {");
  for (const Interface* i : LiveInterfaces(package)) {
    for (const Method* m : LiveMethods(*i)) {
      w.Open(Cat({"{", Quote(i->name), ", ", Quote(m->name), ", ", Quote(m->wire_name), ","}));
      w.Line(Quote(m->doc) + ",");
      w.Open("{");
      for (const Argument& a : m->arguments) {
        w.Line(Cat({"{", Quote(a.name), ", ", Quote(ToString(a.type)), ", ",
                    Quote(ToString(package.Resolve(a.type))), ", ", Quote(a.doc), ", ",
                    a.type.kind == TypeRef::Kind::kOption ? "true" : "false", "},"}));
      }
      w.Close("},");
      w.Line(Quote(m->result.name) + ", " + Quote(ToString(m->result.type)) + ", " +
             Quote(ToString(package.Resolve(m->result.type))) + ", " + Quote(m->result.doc) +
             ", " + (m->lifecycle.IsDeprecated() ? "true" : "false") + "},");
      w.Close();
    }
  }
  w.Close("};");
  w.Line("return kMethods;");
  w.Close("}");
  (void)types;
}

// ---- Whole files ----------------------------------------------------------------------------

std::string HeaderText(const Package& package) {
  CppTypes types(package);
  CodeWriter w;
  Banner(w, package);
  if (!package.doc.empty()) {
    w.Line("//");
    w.Comment("// ", package.doc);
  }
  w.Line("#pragma once");
  w.Line();
  for (const char* h : {"cstdint", "map", "optional", "stdexcept", "string", "string_view",
                        "tuple", "variant", "vector"}) {
    w.Line(std::string("#include <") + h + ">");
  }
  w.Line();
  w.Line("#include <nlohmann/json.hpp>");
  w.Line();
  w.Line("#include \"rpc/codec.h\"");
  w.Line("#include \"rpc/jsonrpc.h\"");
  w.Line("#include \"rpc/method_info.h\"");
  w.Line();
  w.Line("namespace " + NamespaceOf(package) + " {");
  w.Line();
  w.Line(Rule("Types"));
  for (const TypeDecl* t : TypesInDependencyOrder(package)) {
    w.Line();
    HeaderType(w, package, types, *t);
  }
  for (const TypeDecl* t : TypesInDependencyOrder(package)) {
    if (t->kind == TypeDecl::Kind::kVariant && t->is_error) {
      w.Line();
      HeaderException(w, types, *t);
    }
  }
  for (const Interface* i : LiveInterfaces(package)) {
    w.Line();
    HeaderInterface(w, package, types, *i);
  }
  w.Line();
  HeaderPackage(w, package);
  w.Line();
  w.Line("}  // namespace " + NamespaceOf(package));
  return w.Take();
}

std::string SourceText(const Package& package) {
  CppTypes types(package);
  CodeWriter w;
  Banner(w, package);
  w.Line("#include \"smapi/" + package.name + ".h\"");
  w.Line();
  w.Line("#include <utility>");
  w.Line();
  w.Line("namespace " + NamespaceOf(package) + " {");
  w.Line();
  w.Line(Rule("Types"));
  for (const TypeDecl* t : TypesInDependencyOrder(package)) {
    if (t->kind == TypeDecl::Kind::kAlias) continue;
    w.Line();
    if (t->kind == TypeDecl::Kind::kRecord) {
      SourceRecordCodec(w, types, *t);
    } else {
      SourceVariantCodec(w, types, *t);
      if (t->is_error) {
        w.Line();
        SourceException(w, types, *t);
      }
    }
  }
  for (const Interface* i : LiveInterfaces(package)) {
    w.Line();
    SourceInterface(w, package, types, *i);
  }
  w.Line();
  SourcePackage(w, package, types);
  w.Line();
  w.Line("}  // namespace " + NamespaceOf(package));
  return w.Take();
}

}  // namespace

std::vector<OutputFile> EmitCpp(const Model& model) {
  std::vector<OutputFile> files;
  for (const Package& package : model.packages) {
    files.push_back({"smapi/" + package.name + ".h", HeaderText(package)});
    files.push_back({"smapi/" + package.name + ".cc", SourceText(package)});
  }
  return files;
}

}  // namespace idl
