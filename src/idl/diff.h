// Comparing two IDL models: which types, fields, constructors, interfaces, methods and arguments
// were added, removed or changed between an old and a new tree (`smapi-idl diff OLD NEW`).
//
// Items are identified by package, kind and path (`smapiv3/volume.cbt_enabled`), so a rename
// shows as one removal and one addition. Children of an added or removed item are not listed
// separately. Documentation is not compared: it does not change the interface.
#pragma once

#include <string>
#include <vector>

#include "idl/model.h"

namespace idl {

struct Change {
  enum class Kind { kAdded, kRemoved, kChanged };
  Kind kind = Kind::kChanged;
  std::string item;    // "type", "field", "constructor", "interface", "method", "argument"
  std::string path;    // "<package>/<name>[.<member>...]", e.g. "smapiv3/Volume.create.size"
  std::string detail;  // kChanged only: "type int -> int64; position 2 -> 3"
};

// The changes from `before` to `after`, sorted by package and path (a parent before its
// members), so the output is stable and diff-friendly.
std::vector<Change> DiffModels(const Model& before, const Model& after);

// One line, without newline: "added method smapiv3/Volume.revert",
// "changed argument smapiv3/Volume.create.size: type int -> int64".
std::string FormatChange(const Change& change);

}  // namespace idl
