// Loading an IDL tree: every `*.smapi` file below a directory, lexed, parsed, merged into
// packages and checked. This is the front end's single entry point for the command line and
// for tests.
#pragma once

#include <filesystem>
#include <optional>

#include "idl/diagnostics.h"
#include "idl/model.h"

namespace idl {

// Reads every `*.smapi` file below `dir` (recursively, sorted by path), parses and checks them.
// Returns the model when there were no errors; otherwise records every error found in
// `diagnostics` and returns nullopt. File names in locations are `dir`-relative paths joined
// onto `dir` as given (so `check idl` reports `idl/smapiv3/volume.smapi:12:3: ...`).
std::optional<Model> LoadModel(const std::filesystem::path& dir, Diagnostics& diagnostics);

}  // namespace idl
