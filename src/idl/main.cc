// smapi-idl: the IDL compiler's command line. Each subcommand loads and checks an IDL tree
// (see docs/idl-format.md), then reports on it or generates code from it.
//
// Exit codes: 0 success, 1 the IDL has errors (printed as FILE:LINE:COL: message), 2 usage or
// I/O errors.
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "idl/diagnostics.h"
#include "idl/diff.h"
#include "idl/emitter.h"
#include "idl/loader.h"
#include "idl/model.h"

namespace {

namespace fs = std::filesystem;

constexpr int kOk = 0;
constexpr int kIdlErrors = 1;
constexpr int kUsageError = 2;

// Loads `dir`, printing diagnostics to stderr. Sets `exit_code` when it fails.
std::optional<idl::Model> Load(const std::string& dir, int& exit_code) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    std::cerr << "smapi-idl: " << dir << ": not a directory\n";
    exit_code = kUsageError;
    return std::nullopt;
  }
  idl::Diagnostics diagnostics;
  std::optional<idl::Model> model = idl::LoadModel(dir, diagnostics);
  diagnostics.Print(std::cerr);
  if (!model) {
    std::cerr << "smapi-idl: " << diagnostics.errors().size() << " error"
              << (diagnostics.errors().size() == 1 ? "" : "s") << " in " << dir << "\n";
    exit_code = kIdlErrors;
  }
  return model;
}

// ---- check / list ------------------------------------------------------------------------

int Check(const std::string& dir) {
  int exit_code = kOk;
  Load(dir, exit_code);
  return exit_code;
}

int List(const std::string& dir, bool all) {
  int exit_code = kOk;
  std::optional<idl::Model> model = Load(dir, exit_code);
  if (!model) return exit_code;
  for (const auto& package : model->packages) {
    for (const auto& iface : package.interfaces) {
      for (const auto& method : iface.methods) {
        if (all || (!method.lifecycle.IsRemoved() && !iface.lifecycle.IsRemoved())) {
          std::cout << method.wire_name << '\n';
        }
      }
    }
  }
  return kOk;
}

// ---- show --------------------------------------------------------------------------------

std::string Where(const idl::SourceLocation& l) {
  return l.file + ":" + std::to_string(l.line) + ":" + std::to_string(l.column);
}

// Prints the four lifecycle stages of an item; an item without @introduced exists since the
// package's first release.
void PrintLifecycle(const idl::Package& package, const idl::Lifecycle& lifecycle,
                    std::ostream& out) {
  using Kind = idl::LifecycleEvent::Kind;
  const std::pair<Kind, const char*> kStages[] = {{Kind::kIntroduced, "introduced"},
                                                  {Kind::kChanged, "changed"},
                                                  {Kind::kDeprecated, "deprecated"},
                                                  {Kind::kRemoved, "removed"}};
  for (const auto& [kind, label] : kStages) {
    bool any = false;
    for (const auto& e : lifecycle.events) {
      if (e.kind != kind) continue;
      out << "  " << label << ": " << e.release << (e.note.empty() ? "" : " (" + e.note + ")")
          << '\n';
      any = true;
    }
    if (any) continue;
    if (kind == Kind::kIntroduced && !package.releases.empty()) {
      out << "  " << label << ": " << package.releases.front().name << " (first release)\n";
    } else if (kind != Kind::kChanged) {
      out << "  " << label << ": -\n";
    }
  }
}

void PrintDoc(const std::string& doc, std::ostream& out) {
  std::istringstream lines(doc);
  for (std::string line; std::getline(lines, line);) out << "  | " << line << '\n';
}

// One item `show` can describe: how to print it, and the names it answers to.
struct ShowEntry {
  std::vector<std::string> names;
  std::function<void(std::ostream&)> print;
};

std::vector<ShowEntry> ShowIndex(const idl::Model& model) {
  std::vector<ShowEntry> index;
  auto named = [](const idl::Package& p, const std::string& name) {
    return std::vector<std::string>{name, p.name + "." + name};
  };
  for (const auto& p : model.packages) {
    for (const auto& t : p.types) {
      const char* kind = t.kind == idl::TypeDecl::Kind::kAlias    ? "alias"
                         : t.kind == idl::TypeDecl::Kind::kRecord ? "record"
                         : t.is_error                             ? "errors"
                                                                  : "variant";
      index.push_back({named(p, t.name), [&p, &t, kind](std::ostream& out) {
                         out << p.name << ": " << kind << ' ' << t.name;
                         if (t.kind == idl::TypeDecl::Kind::kAlias) {
                           out << " = " << idl::ToString(t.alias_target);
                         }
                         out << "  (" << Where(t.location) << ")\n";
                         PrintDoc(t.doc, out);
                         PrintLifecycle(p, t.lifecycle, out);
                         for (const auto& f : t.fields) {
                           out << "  field " << f.name << ": " << idl::ToString(f.type) << '\n';
                         }
                         for (const auto& c : t.constructors) {
                           out << "  constructor " << c.name
                               << (c.payload.empty() ? "" : "(...)")
                               << (c.fallback ? " @fallback" : "") << '\n';
                         }
                       }});
      for (const auto& f : t.fields) {
        index.push_back({named(p, t.name + "." + f.name), [&p, &t, &f](std::ostream& out) {
                           out << p.name << ": field " << t.name << '.' << f.name << ": "
                               << idl::ToString(f.type);
                           if (f.default_value) out << " = " << idl::JsonText(*f.default_value);
                           out << "  (" << Where(f.location) << ")\n";
                           PrintDoc(f.doc, out);
                           PrintLifecycle(p, f.lifecycle, out);
                         }});
      }
      for (const auto& c : t.constructors) {
        index.push_back({named(p, t.name + "." + c.name), [&p, &t, &c](std::ostream& out) {
                           out << p.name << ": constructor " << t.name << '.' << c.name;
                           if (!c.payload.empty()) {
                             out << '(';
                             for (size_t i = 0; i < c.payload.size(); ++i) {
                               out << (i ? ", " : "") << idl::ToString(c.payload[i]);
                             }
                             out << ')';
                           }
                           out << "  (" << Where(c.location) << ")\n";
                           PrintDoc(c.doc, out);
                           PrintLifecycle(p, c.lifecycle, out);
                         }});
      }
    }
    for (const auto& i : p.interfaces) {
      index.push_back({named(p, i.name), [&p, &i](std::ostream& out) {
                         out << p.name << ": interface " << i.name << " version " << i.version
                             << " errors " << i.error_type << "  (" << Where(i.location) << ")\n";
                         PrintDoc(i.doc, out);
                         PrintLifecycle(p, i.lifecycle, out);
                         for (const auto& m : i.methods) out << "  method " << m.wire_name << '\n';
                       }});
      for (const auto& m : i.methods) {
        std::vector<std::string> names = named(p, i.name + "." + m.name);
        if (m.wire_name != i.name + "." + m.name) {
          names.push_back(m.wire_name);
          names.push_back(p.name + "." + m.wire_name);
        }
        index.push_back({names, [&p, &m](std::ostream& out) {
                           out << p.name << ": method " << m.wire_name << "  ("
                               << Where(m.location) << ")\n";
                           PrintDoc(m.doc, out);
                           PrintLifecycle(p, m.lifecycle, out);
                           for (const auto& a : m.arguments) {
                             out << "  argument " << a.name << ": " << idl::ToString(a.type)
                                 << '\n';
                           }
                           out << "  returns " << (m.result.name.empty() ? "" : m.result.name + ": ")
                               << idl::ToString(m.result.type) << '\n';
                         }});
        for (const auto& a : m.arguments) {
          std::vector<std::string> arg_names;
          for (const auto& n : names) arg_names.push_back(n + "." + a.name);
          index.push_back({arg_names, [&p, &m, &a](std::ostream& out) {
                             out << p.name << ": argument " << a.name << " of " << m.wire_name
                                 << ": " << idl::ToString(a.type) << "  (" << Where(a.location)
                                 << ")\n";
                             PrintDoc(a.doc, out);
                             PrintLifecycle(p, a.lifecycle, out);
                           }});
        }
      }
    }
  }
  return index;
}

// Without a name: each package's releases, then every item that has lifecycle events.
void ShowHistory(const idl::Model& model) {
  for (const auto& p : model.packages) {
    std::cout << "package " << p.name << '\n';
    PrintDoc(p.doc, std::cout);
    for (const auto& r : p.releases) {
      std::cout << "  release " << r.name << (r.doc.empty() ? "" : ": ") << r.doc << '\n';
    }
    auto history = [&](const std::string& what, const idl::Lifecycle& lifecycle) {
      static const char* kNames[] = {"introduced", "changed", "deprecated", "removed"};
      for (const auto& e : lifecycle.events) {
        std::cout << "  " << what << ": " << kNames[static_cast<int>(e.kind)] << ' ' << e.release
                  << (e.note.empty() ? "" : " (" + e.note + ")") << '\n';
      }
    };
    for (const auto& t : p.types) {
      history(t.name, t.lifecycle);
      for (const auto& f : t.fields) history(t.name + "." + f.name, f.lifecycle);
      for (const auto& c : t.constructors) history(t.name + "." + c.name, c.lifecycle);
    }
    for (const auto& i : p.interfaces) {
      history(i.name, i.lifecycle);
      for (const auto& m : i.methods) {
        history(m.wire_name, m.lifecycle);
        for (const auto& a : m.arguments) history(m.wire_name + "." + a.name, a.lifecycle);
      }
    }
  }
}

int Show(const std::string& dir, const std::string& name) {
  int exit_code = kOk;
  std::optional<idl::Model> model = Load(dir, exit_code);
  if (!model) return exit_code;
  if (name.empty()) {
    ShowHistory(*model);
    return kOk;
  }
  bool found = false;
  for (const auto& entry : ShowIndex(*model)) {
    for (const auto& n : entry.names) {
      if (n != name) continue;
      if (found) std::cout << '\n';
      entry.print(std::cout);
      found = true;
      break;
    }
  }
  if (!found) {
    std::cerr << "smapi-idl: no type, field, constructor, interface, method or argument named '"
              << name << "' in " << dir << "\n";
    return kUsageError;
  }
  return kOk;
}

// ---- diff --------------------------------------------------------------------------------

int Diff(const std::string& old_dir, const std::string& new_dir) {
  int exit_code = kOk;
  std::optional<idl::Model> before = Load(old_dir, exit_code);
  std::optional<idl::Model> after = Load(new_dir, exit_code);
  if (!before || !after) return exit_code;
  for (const auto& change : idl::DiffModels(*before, *after)) {
    std::cout << idl::FormatChange(change) << '\n';
  }
  return kOk;
}

// ---- gen ---------------------------------------------------------------------------------

// Writes `text` to `path` unless it already holds exactly that, so that build tools see
// unchanged generated files as up to date. Writes to a temporary name and renames it into place
// so a reader never sees half a file. Returns an error message, or "" on success.
std::string WriteIfChanged(const fs::path& path, const std::string& text, bool& written) {
  written = false;
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream existing;
    existing << in.rdbuf();
    if (in.is_open() && existing.str() == text) return "";
  }
  fs::create_directories(path.parent_path(), ec);
  if (ec) return "cannot create directory " + path.parent_path().string() + ": " + ec.message();
  fs::path temp = path;
  temp += ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) return "cannot write " + temp.string();
  }
  fs::rename(temp, path, ec);
  if (ec) return "cannot rename " + temp.string() + " to " + path.string() + ": " + ec.message();
  written = true;
  return "";
}

// An emitter's output path must stay inside OUT.
bool IsSafeRelative(const std::string& path) {
  fs::path p(path);
  if (path.empty() || p.is_absolute()) return false;
  for (const auto& part : p) {
    if (part == "..") return false;
  }
  return true;
}

int Gen(const std::string& language, const std::string& dir, const std::string& out_dir,
        const std::string& package, bool verbose) {
  using Emitter = std::vector<idl::OutputFile> (*)(const idl::Model&);
  const std::pair<const char*, Emitter> kEmitters[] = {
      {"cpp", idl::EmitCpp},
      {"python", idl::EmitPython},
      {"ocaml", idl::EmitOcaml},
      {"html", idl::EmitHtml},
  };
  Emitter emit = nullptr;
  for (const auto& [name, emitter] : kEmitters) {
    if (language == name) emit = emitter;
  }
  if (emit == nullptr) {
    std::cerr << "smapi-idl: unknown language '" << language << "'\n";
    return kUsageError;
  }
  int exit_code = kOk;
  std::optional<idl::Model> model = Load(dir, exit_code);
  if (!model) return exit_code;
  if (!package.empty()) {
    const idl::Package* wanted = model->FindPackage(package);
    if (wanted == nullptr) {
      std::cerr << "smapi-idl: no package '" << package << "' in " << dir << "\n";
      return kUsageError;
    }
    idl::Package kept = *wanted;
    model->packages = {std::move(kept)};
  }
  for (const auto& file : emit(*model)) {
    if (!IsSafeRelative(file.path)) {
      std::cerr << "smapi-idl: emitter produced an unsafe path '" << file.path << "'\n";
      return kUsageError;
    }
    fs::path path = fs::path(out_dir) / file.path;
    bool written = false;
    std::string error = WriteIfChanged(path, file.text, written);
    if (!error.empty()) {
      std::cerr << "smapi-idl: " << error << "\n";
      return kUsageError;
    }
    if (verbose) std::cout << (written ? "wrote " : "unchanged ") << path.string() << '\n';
  }
  return kOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"smapi-idl: check the SMAPI IDL tree, compare two trees, and generate code "
               "from it.\nExit codes: 0 ok, 1 IDL errors, 2 usage or I/O errors."};
  app.require_subcommand(1);
  std::function<int()> run;

  std::string dir;
  auto* check = app.add_subcommand("check", "Check every *.smapi file below DIR; print each "
                                            "error as FILE:LINE:COL: message");
  check->add_option("DIR", dir, "IDL directory")->required();
  check->callback([&] { run = [&] { return Check(dir); }; });

  bool all = false;
  auto* list = app.add_subcommand("list", "Print the wire name of every method, one per line");
  list->add_option("DIR", dir, "IDL directory")->required();
  list->add_flag("--all", all, "Also list methods marked @removed");
  list->callback([&] { run = [&] { return List(dir, all); }; });

  std::string name;
  auto* show = app.add_subcommand(
      "show", "Show an item's documentation and lifecycle (introduced, changed, deprecated, "
              "removed); without NAME, every package's releases and lifecycle events");
  show->add_option("DIR", dir, "IDL directory")->required();
  show->add_option("NAME", name,
                   "a type, Type.field, Variant.Constructor, Interface, Interface.method, wire "
                   "name or method.argument, optionally prefixed by 'package.'");
  show->callback([&] { run = [&] { return Show(dir, name); }; });

  std::string old_dir, new_dir;
  auto* diff = app.add_subcommand("diff", "List types, fields, constructors, interfaces, "
                                          "methods and arguments added, removed or changed");
  diff->add_option("OLD", old_dir, "the old IDL directory")->required();
  diff->add_option("NEW", new_dir, "the new IDL directory")->required();
  diff->callback([&] { run = [&] { return Diff(old_dir, new_dir); }; });

  std::string language, out_dir, package;
  bool verbose = false;
  auto* gen = app.add_subcommand("gen", "Generate code into OUT, rewriting only files whose "
                                        "content changed");
  gen->add_option("LANGUAGE", language, "cpp, python, ocaml or html")->required();
  gen->add_option("DIR", dir, "IDL directory")->required();
  gen->add_option("OUT", out_dir, "output directory (created if missing)")->required();
  gen->add_option("--package", package, "generate only this package (e.g. smapiv3)");
  gen->add_flag("-v,--verbose", verbose, "print each file written or left unchanged");
  gen->callback([&] { run = [&] { return Gen(language, dir, out_dir, package, verbose); }; });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kOk : kUsageError;
  }
  return run();
}
