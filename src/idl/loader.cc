#include "idl/loader.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <system_error>
#include <tuple>

#include "idl/checker.h"
#include "idl/lexer.h"
#include "idl/parser.h"

namespace idl {
namespace {

// Appends the declarations of one file's package fragment to the package of that name.
void Merge(Package fragment, Model& model) {
  for (auto& package : model.packages) {
    if (package.name != fragment.name) continue;
    if (package.doc.empty()) package.doc = std::move(fragment.doc);
    auto append = [](auto& to, auto& from) {
      std::move(from.begin(), from.end(), std::back_inserter(to));
    };
    append(package.attributes, fragment.attributes);
    append(package.releases, fragment.releases);
    append(package.params, fragment.params);
    append(package.types, fragment.types);
    append(package.groups, fragment.groups);
    append(package.interfaces, fragment.interfaces);
    return;
  }
  model.packages.push_back(std::move(fragment));
}

}  // namespace

std::optional<Model> LoadModel(const std::filesystem::path& dir, Diagnostics& diagnostics) {
  namespace fs = std::filesystem;
  SourceLocation top{dir.string(), 1, 1};
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    diagnostics.Error(top, "not a directory");
    return std::nullopt;
  }
  std::vector<fs::path> files;
  fs::recursive_directory_iterator it(dir, fs::directory_options::follow_directory_symlink, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->path().extension() == ".smapi" && it->is_regular_file(ec)) {
      files.push_back(dir / fs::relative(it->path(), dir, ec));
    }
  }
  if (ec) {
    diagnostics.Error(top, "cannot list directory: " + ec.message());
    return std::nullopt;
  }
  if (files.empty()) {
    diagnostics.Error(top, "no .smapi files found");
    return std::nullopt;
  }
  std::sort(files.begin(), files.end());

  // Errors are gathered here, then handed over in file and line order: the parser and the
  // checker find them in different passes, but a reader fixes them top to bottom.
  Diagnostics found;
  Model model;
  for (const auto& path : files) {
    std::string name = path.string();
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in.is_open() || in.bad()) {
      found.Error({name, 1, 1}, "cannot read file");
      continue;
    }
    Package fragment = ParseFile(Lex(text.str(), name, found), found);
    if (!fragment.name.empty()) Merge(std::move(fragment), model);
  }
  Check(model, found);
  std::vector<Diagnostic> errors = found.errors();
  std::stable_sort(errors.begin(), errors.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.location.file, a.location.line, a.location.column) <
           std::tie(b.location.file, b.location.line, b.location.column);
  });
  for (auto& e : errors) diagnostics.Error(e.location, std::move(e.message));
  if (found.HasErrors()) return std::nullopt;
  return model;
}

}  // namespace idl
