// libFuzzer target for the IDL front end: any bytes go through the lexer, the parser and the
// checker. Bad input must give diagnostics, never a crash, a hang or a sanitizer report.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "idl/checker.h"
#include "idl/lexer.h"
#include "idl/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view source(reinterpret_cast<const char*>(data), size);
  idl::Diagnostics diagnostics;
  idl::Package package = idl::ParseFile(idl::Lex(source, "fuzz.smapi", diagnostics), diagnostics);
  if (!package.name.empty()) {
    idl::Model model;
    model.packages.push_back(std::move(package));
    idl::Check(model, diagnostics);
    // Exercise what emitters call on a checked model.
    for (const auto& p : model.packages) {
      for (const auto& t : p.types) {
        for (const auto& f : t.fields) (void)idl::ToString(p.Resolve(f.type));
      }
    }
  }
  return 0;
}
