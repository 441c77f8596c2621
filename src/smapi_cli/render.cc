#include "smapi_cli/render.h"

#include "smapi_cli/arguments.h"

namespace smapicli {
namespace {

bool IsLeaf(const rpc::Json& v) {
  return !(v.is_object() || v.is_array()) || v.empty();
}

std::string Leaf(const rpc::Json& v) {
  if (v.is_string()) return v.get<std::string>();
  return rpc::Serialize(v);
}

void Render(const rpc::Json& value, int indent, std::string& out) {
  std::string pad(indent, ' ');
  if (value.is_object()) {
    for (const auto& [k, v] : value.items()) {
      if (IsLeaf(v)) {
        out += pad + k + ": " + Leaf(v) + "\n";
      } else {
        out += pad + k + ":\n";
        Render(v, indent + 2, out);
      }
    }
  } else if (value.is_array()) {
    for (const rpc::Json& v : value) {
      if (IsLeaf(v)) {
        out += pad + "- " + Leaf(v) + "\n";
      } else {
        out += pad + "-\n";
        Render(v, indent + 2, out);
      }
    }
  }
}

// The doc text indented under a heading, blank lines kept.
std::string Indented(const std::string& text, const std::string& pad) {
  std::string out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    out += line.empty() ? "\n" : pad + line + "\n";
    start = end + 1;
  }
  return out;
}

std::string FirstSentence(const std::string& doc) {
  std::string s = doc.substr(0, doc.find("\n\n"));
  for (char& c : s) {
    if (c == '\n') c = ' ';
  }
  size_t dot = s.find(". ");
  if (dot != std::string::npos) s = s.substr(0, dot + 1);
  if (s.size() > 100) s = s.substr(0, 97) + "...";
  return s;
}

}  // namespace

std::string RenderText(const rpc::Json& value) {
  if (IsLeaf(value)) return Leaf(value) + "\n";
  std::string out;
  Render(value, 0, out);
  return out;
}

std::string MethodHelp(const rpc::MethodInfo& m, const std::string& how) {
  std::string out = "usage: " + how + " " + m.wire_name;
  for (const rpc::ArgumentInfo& a : m.arguments) {
    std::string flag = FlagName(a.name) + " " + a.name;
    for (char& c : flag) {
      if (c == '_') c = '-';
    }
    bool defaulted = a.optional || a.name == "dbg" || a.resolved_type == "unit";
    out += defaulted ? " [" + flag + "]" : " " + flag;
  }
  out += "\n\n";
  if (m.deprecated) out += "  (deprecated)\n\n";
  if (!m.doc.empty()) out += Indented(m.doc, "  ") + "\n";
  if (!m.arguments.empty()) out += "arguments:\n";
  for (const rpc::ArgumentInfo& a : m.arguments) {
    out += "  " + FlagName(a.name) + " : " + a.type;
    if (a.resolved_type != a.type) out += " (= " + a.resolved_type + ")";
    if (a.optional) out += ", optional";
    if (a.name == "dbg") out += ", default \"smapi\"";
    out += "\n";
    if (!a.doc.empty()) out += Indented(a.doc, "      ");
  }
  out += "result: ";
  out += m.result_name.empty() ? "" : m.result_name + " : ";
  out += m.result_type;
  if (m.result_resolved_type != m.result_type) out += " (= " + m.result_resolved_type + ")";
  out += "\n";
  if (!m.result_doc.empty()) out += Indented(m.result_doc, "      ");
  return out;
}

std::string MethodList(const std::vector<rpc::MethodInfo>& methods) {
  size_t width = 0;
  for (const rpc::MethodInfo& m : methods) width = std::max(width, m.wire_name.size());
  std::string out;
  for (const rpc::MethodInfo& m : methods) {
    out += "  " + m.wire_name + std::string(width - m.wire_name.size() + 2, ' ') +
           FirstSentence(m.doc) + (m.deprecated ? " (deprecated)" : "") + "\n";
  }
  return out;
}

}  // namespace smapicli
