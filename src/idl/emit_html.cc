// The HTML emitter: a self-contained, hyperlinked reference of every package.
//
// Pages:
//   index.html               introduction (plugin anatomy, the failure report, the datapath
//                            lifecycle) and a table of contents of every package and group
//   <package>.html           the package: releases, groups, and every type and error with its
//                            fields/constructors and where it is used
//   <package>-<group>.html   one per group: its interfaces and methods, each with arguments,
//                            result, errors, lifecycle, a JSON example and a Python plugin example
//
// Anchors are stable so that tests and other pages can link to them: "T-<type>",
// "T-<type>.<field or constructor>", "I-<interface>", "M-<wire name>", "M-<wire name>.<argument>",
// "G-<group>". No external assets: the CSS is inline; pages reflow on a phone.
#include <map>
#include <set>
#include <sstream>

#include "idl/emitter.h"

namespace idl {
namespace {

constexpr const char* kStyle = R"CSS(
:root { --fg: #1d2129; --muted: #5b6270; --line: #d9dde3; --bg-code: #f4f6f8; --link: #0b5cad; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); }
main { max-width: 60rem; margin: 0 auto; padding: 1rem; }
nav.top { background: #203040; padding: .5rem 1rem; }
nav.top a { color: #fff; margin-right: 1rem; text-decoration: none; }
a { color: var(--link); }
h1 { font-size: 1.8rem; } h2 { font-size: 1.4rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.15rem; margin-top: 2rem; } h4 { font-size: 1rem; margin-bottom: .25rem; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: .9em; }
code { background: var(--bg-code); padding: 0 .2em; border-radius: 3px; }
pre { background: var(--bg-code); padding: .75rem; overflow-x: auto; border-radius: 4px; }
pre code { padding: 0; background: none; }
.table { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; }
th, td { border: 1px solid var(--line); padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: var(--bg-code); }
td > p:first-child { margin-top: 0; } td > p:last-child { margin-bottom: 0; }
.life { color: var(--muted); font-size: .9em; }
.deprecated { color: #a33; }
.used { color: var(--muted); font-size: .9em; }
section.item { border-left: 3px solid var(--line); padding-left: .75rem; margin: 1.5rem 0; }
li, p { overflow-wrap: anywhere; }
@media (max-width: 40rem) {
  body { font-size: 15px; } main { padding: .5rem; } h1 { font-size: 1.4rem; }
  /* Tables become one card per row: four columns do not fit a phone. */
  table, tbody, tr, td { display: block; width: 100%; }
  tr:first-child { display: none; }
  tr { border: 1px solid var(--line); margin-bottom: .5rem; }
  td { border: none; padding: .1rem .4rem; }
  td p { margin: .2rem 0; }
  td:nth-child(-n+3) { display: inline-block; width: auto; }
}
)CSS";

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// Doc text: blank lines separate paragraphs, `x` becomes <code>x</code>.
std::string Prose(const std::string& doc) {
  if (doc.empty()) return "";
  std::string out = "<p>";
  bool in_code = false;
  for (size_t i = 0; i < doc.size(); ++i) {
    char c = doc[i];
    if (c == '`') {
      out += in_code ? "</code>" : "<code>";
      in_code = !in_code;
    } else if (c == '\n' && i + 1 < doc.size() && doc[i + 1] == '\n') {
      if (in_code) out += "</code>";
      in_code = false;
      out += "</p>\n<p>";
      while (i + 1 < doc.size() && doc[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += ' ';
    } else {
      out += Escape(std::string(1, c));
    }
  }
  if (in_code) out += "</code>";
  return out + "</p>\n";
}

// The lifecycle of a member (field, constructor, argument): only its own events.
std::string MemberLifeline(const Package& pkg, const Lifecycle& lifecycle);

std::string Lifeline(const Package& pkg, const Lifecycle& lifecycle) {
  using K = LifecycleEvent::Kind;
  std::string out;
  bool introduced = false;
  for (const auto& e : lifecycle.events) {
    std::string what;
    switch (e.kind) {
      case K::kIntroduced: what = "introduced in "; introduced = true; break;
      case K::kChanged: what = "changed in "; break;
      case K::kDeprecated: what = "deprecated in "; break;
      case K::kRemoved: what = "removed in "; break;
    }
    what += Escape(e.release);
    if (!e.note.empty()) what += " (" + Escape(e.note) + ")";
    out += (out.empty() ? "" : "; ") + what;
  }
  if (!introduced && !pkg.releases.empty()) {
    out = "introduced in " + Escape(pkg.releases.front().name) + (out.empty() ? "" : "; ") + out;
  }
  if (out.empty()) return "";
  std::string cls = "life";
  for (const auto& e : lifecycle.events) {
    if (e.kind == K::kDeprecated) cls = "life deprecated";
  }
  return "<p class=\"" + cls + "\">Lifecycle: " + out + "</p>\n";
}

std::string MemberLifeline(const Package& pkg, const Lifecycle& lifecycle) {
  return lifecycle.events.empty() ? "" : Lifeline(pkg, lifecycle);
}

std::string PackagePage(const Package& pkg) { return pkg.name + ".html"; }
std::string GroupPage(const Package& pkg, const std::string& group) {
  return pkg.name + "-" + group + ".html";
}

// A type expression with every named type linked to its definition.
std::string TypeHtml(const Package& pkg, const TypeRef& t) {
  using K = TypeRef::Kind;
  switch (t.kind) {
    case K::kString: return "string";
    case K::kInt: return "int";
    case K::kInt32: return "int32";
    case K::kInt64: return "int64";
    case K::kBool: return "bool";
    case K::kFloat: return "float";
    case K::kUnit: return "unit";
    case K::kJson: return "json";
    case K::kNamed:
      return "<a href=\"" + PackagePage(pkg) + "#T-" + Escape(t.name) + "\">" + Escape(t.name) +
             "</a>";
    case K::kList: return "list&lt;" + TypeHtml(pkg, t.args[0]) + "&gt;";
    case K::kArray: return "array&lt;" + TypeHtml(pkg, t.args[0]) + "&gt;";
    case K::kOption: return "option&lt;" + TypeHtml(pkg, t.args[0]) + "&gt;";
    case K::kMap:
      return "map&lt;" + TypeHtml(pkg, t.args[0]) + ", " + TypeHtml(pkg, t.args[1]) + "&gt;";
    case K::kTuple: {
      std::string out = "(";
      for (size_t i = 0; i < t.args.size(); ++i) out += (i ? ", " : "") + TypeHtml(pkg, t.args[i]);
      return out + ")";
    }
  }
  return "";
}

// A sample wire value of a type, for the examples. Optional fields are shown when present.
nlohmann::ordered_json Sample(const Package& pkg, const TypeRef& type, const std::string& hint,
                      int depth) {
  const TypeRef& t = pkg.Resolve(type);
  using K = TypeRef::Kind;
  switch (t.kind) {
    case K::kString: return hint.empty() ? "string" : hint;
    case K::kInt: case K::kInt32: case K::kInt64: return 0;
    case K::kBool: return true;
    case K::kFloat: return 0.5;
    case K::kUnit: case K::kJson: return nullptr;
    case K::kOption: return Sample(pkg, t.args[0], hint, depth + 1);
    case K::kList: case K::kArray:
      if (depth > 4) return nlohmann::ordered_json::array();
      return nlohmann::ordered_json::array({Sample(pkg, t.args[0], "", depth + 1)});
    case K::kMap: return nlohmann::ordered_json::object({{"key", Sample(pkg, t.args[1], "value", depth + 1)}});
    case K::kTuple: {
      nlohmann::ordered_json out = nlohmann::ordered_json::array();
      for (const auto& a : t.args) out.push_back(Sample(pkg, a, "", depth + 1));
      return out;
    }
    case K::kNamed: break;
  }
  const TypeDecl* decl = pkg.FindType(t.name);
  if (decl == nullptr || depth > 6) return nullptr;
  if (decl->kind == TypeDecl::Kind::kRecord) {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (const auto& f : decl->fields) {
      if (!f.lifecycle.IsRemoved()) out[f.name] = Sample(pkg, f.type, f.name, depth + 1);
    }
    return out;
  }
  for (const auto& c : decl->constructors) {
    if (c.lifecycle.IsRemoved()) continue;
    if (c.payload.empty()) return c.name;
    if (c.payload.size() == 1) return {c.name, Sample(pkg, c.payload[0], "", depth + 1)};
    nlohmann::ordered_json payload = nlohmann::ordered_json::array();
    for (const auto& p : c.payload) payload.push_back(Sample(pkg, p, "", depth + 1));
    return {c.name, payload};
  }
  return nullptr;
}

// A JSON value as a Python literal, for the plugin examples.
std::string PythonLiteral(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return "None";
    case nlohmann::ordered_json::value_t::boolean: return j.get<bool>() ? "True" : "False";
    case nlohmann::ordered_json::value_t::array: {
      std::string out = "[";
      for (size_t i = 0; i < j.size(); ++i) out += (i ? ", " : "") + PythonLiteral(j[i]);
      return out + "]";
    }
    case nlohmann::ordered_json::value_t::object: {
      std::string out = "{";
      bool first = true;
      for (const auto& [k, v] : j.items()) {
        out += (first ? "" : ", ") + nlohmann::ordered_json(k).dump() + ": " + PythonLiteral(v);
        first = false;
      }
      return out + "}";
    }
    default: return j.dump();
  }
}

std::string PythonModule(const Package& pkg) {
  for (const auto& a : pkg.attributes) {
    if (a.name == "python" && !a.args.empty()) return a.args[0];
  }
  return "xapi.storage." + pkg.name;
}

// Where each named type is used: (link, text) pairs, in model order.
using Uses = std::map<std::string, std::vector<std::pair<std::string, std::string>>>;

void CollectUses(const TypeRef& t, const std::string& link, const std::string& text, Uses& uses) {
  if (t.kind == TypeRef::Kind::kNamed) {
    auto& list = uses[t.name];
    if (list.empty() || list.back().first != link) list.push_back({link, text});
  }
  for (const auto& a : t.args) CollectUses(a, link, text, uses);
}

Uses FindUses(const Package& pkg) {
  Uses uses;
  for (const auto& t : pkg.types) {
    if (t.lifecycle.IsRemoved()) continue;
    std::string link = PackagePage(pkg) + "#T-" + t.name;
    if (t.kind == TypeDecl::Kind::kAlias) CollectUses(t.alias_target, link, t.name, uses);
    for (const auto& f : t.fields) {
      if (!f.lifecycle.IsRemoved()) CollectUses(f.type, link + "." + f.name, t.name + "." + f.name, uses);
    }
    for (const auto& c : t.constructors) {
      if (c.lifecycle.IsRemoved()) continue;
      for (const auto& p : c.payload) CollectUses(p, link + "." + c.name, t.name + "." + c.name, uses);
    }
  }
  for (const auto& i : pkg.interfaces) {
    if (i.lifecycle.IsRemoved()) continue;
    TypeRef errors;
    errors.kind = TypeRef::Kind::kNamed;
    errors.name = i.error_type;
    CollectUses(errors, GroupPage(pkg, i.group) + "#I-" + i.name, "interface " + i.name, uses);
    for (const auto& m : i.methods) {
      if (m.lifecycle.IsRemoved()) continue;
      std::string link = GroupPage(pkg, i.group) + "#M-" + m.wire_name;
      for (const auto& a : m.arguments) {
        if (!a.lifecycle.IsRemoved()) CollectUses(a.type, link, m.wire_name, uses);
      }
      CollectUses(m.result.type, link, m.wire_name, uses);
    }
  }
  return uses;
}

std::string Page(const std::string& title, const std::string& body,
                 const std::vector<const Package*>& packages) {
  std::ostringstream out;
  out << "<!DOCTYPE html>\n<!-- Generated by smapi-idl; do not edit. -->\n"
      << "<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      << "<title>" << Escape(title) << "</title>\n<style>" << kStyle << "</style>\n"
      << "</head>\n<body>\n<nav class=\"top\"><a href=\"index.html\">Index</a>";
  for (const Package* p : packages) {
    out << "<a href=\"" << PackagePage(*p) << "\">" << Escape(p->name) << "</a>";
  }
  out << "</nav>\n<main>\n" << body << "</main>\n</body>\n</html>\n";
  return out.str();
}

std::string TypeSection(const Package& pkg, const TypeDecl& t, const Uses& uses) {
  std::ostringstream out;
  const char* kind = t.kind == TypeDecl::Kind::kAlias    ? "alias"
                     : t.kind == TypeDecl::Kind::kRecord ? "record"
                     : t.is_error                        ? "errors"
                                                         : "variant";
  out << "<section class=\"item\" id=\"T-" << Escape(t.name) << "\">\n<h3>" << kind << " <code>"
      << Escape(t.name) << "</code></h3>\n"
      << Prose(t.doc) << Lifeline(pkg, t.lifecycle);
  if (t.kind == TypeDecl::Kind::kAlias) {
    out << "<p>Definition: <code>" << TypeHtml(pkg, t.alias_target) << "</code></p>\n";
  } else if (t.kind == TypeDecl::Kind::kRecord) {
    out << "<h4>Fields</h4>\n<div class=\"table\"><table>\n"
        << "<tr><th>Name</th><th>Type</th><th>Default</th><th>Description</th></tr>\n";
    for (const auto& f : t.fields) {
      if (f.lifecycle.IsRemoved()) continue;
      out << "<tr id=\"T-" << Escape(t.name) << "." << Escape(f.name) << "\"><td><code>"
          << Escape(f.name) << "</code></td><td><code>" << TypeHtml(pkg, f.type)
          << "</code></td><td>"
          << (f.default_value ? "<code>" + Escape(f.default_value->dump()) + "</code>" : "")
          << "</td><td>" << Prose(f.doc) << MemberLifeline(pkg, f.lifecycle) << "</td></tr>\n";
    }
    out << "</table></div>\n";
  } else {
    out << "<h4>Constructors</h4>\n<div class=\"table\"><table>\n"
        << "<tr><th>Name</th><th>Payload</th><th>Description</th></tr>\n";
    for (const auto& c : t.constructors) {
      if (c.lifecycle.IsRemoved()) continue;
      std::string payload;
      for (size_t i = 0; i < c.payload.size(); ++i) {
        payload += (i ? ", " : "") + TypeHtml(pkg, c.payload[i]);
      }
      out << "<tr id=\"T-" << Escape(t.name) << "." << Escape(c.name) << "\"><td><code>"
          << Escape(c.name) << "</code>" << (c.fallback ? " (fallback)" : "") << "</td><td>"
          << (payload.empty() ? "none" : "<code>" + payload + "</code>") << "</td><td>"
          << Prose(c.doc) << MemberLifeline(pkg, c.lifecycle) << "</td></tr>\n";
    }
    out << "</table></div>\n";
  }
  nlohmann::ordered_json sample = Sample(pkg, TypeRef{TypeRef::Kind::kNamed, t.name, {}, {}}, "", 0);
  out << "<h4>Example</h4>\n<pre><code>" << Escape(sample.dump()) << "</code></pre>\n";
  auto it = uses.find(t.name);
  if (it != uses.end()) {
    out << "<p class=\"used\">Used by: ";
    for (size_t i = 0; i < it->second.size(); ++i) {
      out << (i ? ", " : "") << "<a href=\"" << Escape(it->second[i].first) << "\">"
          << Escape(it->second[i].second) << "</a>";
    }
    out << "</p>\n";
  }
  out << "</section>\n";
  return out.str();
}

std::string PackageBody(const Package& pkg, const Uses& uses) {
  std::ostringstream out;
  out << "<h1>Package <code>" << Escape(pkg.name) << "</code></h1>\n" << Prose(pkg.doc)
      << "<p>Python module: <code>" << Escape(PythonModule(pkg)) << "</code></p>\n";
  if (!pkg.releases.empty()) {
    out << "<h2 id=\"releases\">Releases</h2>\n<div class=\"table\"><table>\n"
        << "<tr><th>Release</th><th>What it brought</th></tr>\n";
    for (const auto& r : pkg.releases) {
      out << "<tr><td><code>" << Escape(r.name) << "</code></td><td>" << Prose(r.doc)
          << "</td></tr>\n";
    }
    out << "</table></div>\n";
  }
  out << "<h2 id=\"groups\">Groups</h2>\n<ul>\n";
  for (const auto& g : pkg.groups) {
    out << "<li><a href=\"" << GroupPage(pkg, g.name) << "\">" << Escape(g.title) << "</a> ("
        << Escape(g.name) << ")</li>\n";
  }
  out << "</ul>\n";
  if (!pkg.params.empty()) {
    out << "<h2 id=\"params\">Shared parameters</h2>\n<div class=\"table\"><table>\n"
        << "<tr><th>Name</th><th>Type</th><th>Description</th></tr>\n";
    for (const auto& p : pkg.params) {
      out << "<tr><td><code>" << Escape(p.name) << "</code></td><td><code>"
          << TypeHtml(pkg, p.type) << "</code></td><td>" << Prose(p.doc) << "</td></tr>\n";
    }
    out << "</table></div>\n";
  }
  out << "<h2 id=\"errors\">Errors</h2>\n";
  for (const auto& t : pkg.types) {
    if (!t.lifecycle.IsRemoved() && t.is_error) out << TypeSection(pkg, t, uses);
  }
  out << "<h2 id=\"types\">Types</h2>\n";
  for (const auto& t : pkg.types) {
    if (!t.lifecycle.IsRemoved() && !t.is_error) out << TypeSection(pkg, t, uses);
  }
  return out.str();
}

std::string MethodSection(const Package& pkg, const Interface& iface, const Method& m,
                          const std::string& group) {
  std::ostringstream out;
  out << "<section class=\"item\" id=\"M-" << Escape(m.wire_name) << "\">\n<h3>Method <code>"
      << Escape(m.wire_name) << "</code></h3>\n"
      << Prose(m.doc) << Lifeline(pkg, m.lifecycle)
      << "<div class=\"table\"><table>\n"
      << "<tr><th>Name</th><th>Direction</th><th>Type</th><th>Description</th></tr>\n";
  nlohmann::ordered_json params = nlohmann::ordered_json::object();
  std::string signature = "self";
  for (const auto& a : m.arguments) {
    if (a.lifecycle.IsRemoved()) continue;
    params[a.name] = Sample(pkg, a.type, a.name, 0);
    signature += ", " + a.name;
    out << "<tr id=\"M-" << Escape(m.wire_name) << "." << Escape(a.name) << "\"><td><code>"
        << Escape(a.name) << "</code></td><td>in</td><td><code>" << TypeHtml(pkg, a.type)
        << "</code></td><td>" << Prose(a.doc) << MemberLifeline(pkg, a.lifecycle) << "</td></tr>\n";
  }
  out << "<tr><td>" << (m.result.name.empty() ? "<i>unnamed</i>" : "<code>" + Escape(m.result.name) + "</code>")
      << "</td><td>out</td><td><code>" << TypeHtml(pkg, m.result.type) << "</code></td><td>"
      << Prose(m.result.doc) << "</td></tr>\n</table></div>\n";
  out << "<p>Errors: <a href=\"" << PackagePage(pkg) << "#T-" << Escape(iface.error_type)
      << "\"><code>" << Escape(iface.error_type) << "</code></a>, and through a plugin script "
      << "any <a href=\"index.html#failure\">failure report</a>.</p>\n";

  nlohmann::ordered_json result = Sample(pkg, m.result.type, "", 0);
  nlohmann::ordered_json request = {{"method", m.wire_name}, {"params", {params}}, {"id", 1}};
  nlohmann::ordered_json response = {{"result", result}, {"error", nullptr}, {"id", 1}};
  out << "<h4>JSON-RPC request and response</h4>\n<pre><code>" << Escape(request.dump())
      << "\n" << Escape(response.dump()) << "</code></pre>\n"
      << "<p>A plugin script <code>" << Escape(m.wire_name) << "</code> receives the params "
      << "object on stdin and prints the result:</p>\n<pre><code>$ echo '"
      << Escape(params.dump()) << "' | ./" << Escape(m.wire_name) << " --json\n"
      << Escape(result.dump()) << "</code></pre>\n";

  std::string module = PythonModule(pkg) + "." + group;
  std::string body = m.result.type.kind == TypeRef::Kind::kUnit
                         ? "        pass"
                         : "        return " + PythonLiteral(result);
  out << "<h4>Python plugin</h4>\n<pre><code>" << Escape(
             "#!/usr/bin/env python3\n"
             "import " + module + "\n\n\n"
             "class Implementation(" + module + "." + iface.name + "_skeleton):\n"
             "    def " + m.name + "(" + signature + "):\n" + body + "\n\n\n"
             "if __name__ == \"__main__\":\n"
             "    cmd = " + module + "." + iface.name + "_commandline(Implementation())\n"
             "    cmd." + m.name + "()\n")
      << "</code></pre>\n</section>\n";
  return out.str();
}

std::string GroupBody(const Package& pkg, const Group& group) {
  std::ostringstream out;
  out << "<h1 id=\"G-" << Escape(group.name) << "\">" << Escape(group.title) << "</h1>\n"
      << "<p>Package <a href=\"" << PackagePage(pkg) << "\"><code>" << Escape(pkg.name)
      << "</code></a>, group <code>" << Escape(group.name) << "</code>; Python module <code>"
      << Escape(PythonModule(pkg) + "." + group.name) << "</code>.</p>\n"
      << Prose(group.doc);
  std::vector<const Interface*> interfaces;
  for (const auto& name : group.interfaces) {
    for (const auto& i : pkg.interfaces) {
      if (i.name == name && !i.lifecycle.IsRemoved()) interfaces.push_back(&i);
    }
  }
  out << "<ul>\n";
  for (const Interface* i : interfaces) {
    out << "<li><a href=\"#I-" << Escape(i->name) << "\">" << Escape(i->name) << "</a>: ";
    bool first = true;
    for (const auto& m : i->methods) {
      if (m.lifecycle.IsRemoved()) continue;
      out << (first ? "" : ", ") << "<a href=\"#M-" << Escape(m.wire_name) << "\">"
          << Escape(m.name) << "</a>";
      first = false;
    }
    out << "</li>\n";
  }
  out << "</ul>\n";
  for (const Interface* i : interfaces) {
    out << "<h2 id=\"I-" << Escape(i->name) << "\">Interface <code>" << Escape(i->name)
        << "</code></h2>\n"
        << Prose(i->doc) << "<p class=\"life\">Version " << Escape(i->version)
        << "; wire namespace <code>" << Escape(i->wire_namespace.empty() ? "(none)" : i->wire_namespace)
        << "</code>; errors <a href=\"" << PackagePage(pkg) << "#T-" << Escape(i->error_type)
        << "\"><code>" << Escape(i->error_type) << "</code></a>.</p>\n"
        << Lifeline(pkg, i->lifecycle);
    for (const auto& m : i->methods) {
      if (!m.lifecycle.IsRemoved()) out << MethodSection(pkg, *i, m, group.name);
    }
  }
  return out.str();
}

constexpr const char* kIntroduction = R"HTML(<h1>Storage interfaces reference</h1>
<p>This reference is generated from the IDL under <code>idl/</code>, the single source of the
wire protocol. Every type name links to its definition; every definition lists where it is
used.</p>
<h2 id="anatomy">Anatomy of a plugin</h2>
<p>A storage plugin is a directory of executables, <b>one per method</b>, each named exactly
like the method's wire name: <code>Plugin.query</code>, <code>SR.attach</code>,
<code>Volume.create</code>, <code>Datapath.activate</code>. A volume plugin lives in
<code>volume/org.xen.xapi.storage.&lt;type&gt;/</code> and implements the Plugin, SR and Volume
interfaces; a datapath plugin lives in <code>datapath/&lt;scheme&gt;/</code>, is chosen by the
scheme of a volume's URI, and implements Plugin, Datapath and (optionally) Data. Every plugin
must implement <code>Plugin.query</code>.</p>
<p>The daemon runs a script as <code>&lt;script&gt; --json</code>, writes the call's named
arguments as one JSON object on its <b>stdin</b> and closes it, then reads <b>stdout</b> to the
end. On success the script exits 0 and prints exactly one JSON value, the result
(<code>null</code> for a method without result). Optional record fields are left out rather
than set to <code>null</code>.</p>
<h2 id="failure">The failure report</h2>
<p>On failure the script exits non-zero and prints one JSON object:</p>
<pre><code>{"code": "SR_BACKEND_FAILURE", "params": ["Volume_does_not_exist", "k"],
 "backtrace": {"error": "k", "files": ["volume.py"], "lines": [42]}}</code></pre>
<p><code>code</code> is a xapi error code, <code>params</code> a list of strings, and all three
<code>backtrace</code> fields are required (<code>lines</code> are integers). The Python
bindings print this report for any exception raised by an implementation: the exception's
<code>code</code> (default <code>SR_BACKEND_FAILURE</code>) and <code>params</code> (default
<code>[class name, message]</code>).</p>
<h2 id="datapath">The datapath lifecycle</h2>
<p>A volume reaches a virtual machine in steps, each idempotent and each undone in reverse
order:</p>
<ol>
<li><code>Datapath.open</code>: before the disk is used; <code>persistent=false</code> means
writes may be discarded at close.</li>
<li><code>Datapath.attach</code>: prepare the connection for a domain; returns the
implementations (block device, Xen disk, file, NBD) the toolstack may use. May happen on
several hosts at once, during migration.</li>
<li><code>Datapath.activate</code> (or <code>activate_readonly</code>): just before the VM does
I/O. This is the hand-over point during migration, so it must be quick.</li>
<li><code>Datapath.deactivate</code>, <code>Datapath.detach</code>,
<code>Datapath.close</code>: the way back.</li>
</ol>
)HTML";

std::string IndexBody(const Model& model) {
  std::ostringstream out;
  out << kIntroduction << "<h2 id=\"contents\">Contents</h2>\n";
  for (const auto& pkg : model.packages) {
    out << "<h3>Package <a href=\"" << PackagePage(pkg) << "\"><code>" << Escape(pkg.name)
        << "</code></a></h3>\n<ul>\n";
    for (const auto& g : pkg.groups) {
      out << "<li><a href=\"" << GroupPage(pkg, g.name) << "\">" << Escape(g.title)
          << "</a>: ";
      bool first = true;
      for (const auto& name : g.interfaces) {
        out << (first ? "" : ", ") << "<a href=\"" << GroupPage(pkg, g.name) << "#I-"
            << Escape(name) << "\">" << Escape(name) << "</a>";
        first = false;
      }
      out << "</li>\n";
    }
    out << "<li><a href=\"" << PackagePage(pkg) << "#types\">Types</a> and <a href=\""
        << PackagePage(pkg) << "#errors\">errors</a></li>\n</ul>\n";
  }
  return out.str();
}

}  // namespace

std::vector<OutputFile> EmitHtml(const Model& model) {
  std::vector<const Package*> packages;
  for (const auto& p : model.packages) packages.push_back(&p);
  std::vector<OutputFile> files;
  files.push_back({"index.html", Page("Storage interfaces reference", IndexBody(model), packages)});
  for (const auto& pkg : model.packages) {
    Uses uses = FindUses(pkg);
    files.push_back({PackagePage(pkg), Page("Package " + pkg.name, PackageBody(pkg, uses), packages)});
    for (const auto& g : pkg.groups) {
      files.push_back({GroupPage(pkg, g.name), Page(g.title, GroupBody(pkg, g), packages)});
    }
  }
  return files;
}

}  // namespace idl
