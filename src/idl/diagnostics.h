// Collected user errors of the IDL compiler. Errors are recorded, not thrown, so that one run
// reports as many as it can find. Each prints as `FILE:LINE:COL: message`.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "idl/model.h"

namespace idl {

struct Diagnostic {
  SourceLocation location;
  std::string message;
};

class Diagnostics {
 public:
  void Error(const SourceLocation& location, std::string message) {
    errors_.push_back({location, std::move(message)});
  }
  bool HasErrors() const { return !errors_.empty(); }
  const std::vector<Diagnostic>& errors() const { return errors_; }

  // Writes each error as "FILE:LINE:COL: message\n", in the order recorded.
  void Print(std::ostream& out) const {
    for (const auto& e : errors_) {
      out << e.location.file << ':' << e.location.line << ':' << e.location.column << ": "
          << e.message << '\n';
    }
  }

 private:
  std::vector<Diagnostic> errors_;
};

}  // namespace idl
