// Placeholder until the Html emitter exists.
#include "idl/emitter.h"

namespace idl {

std::vector<OutputFile> EmitHtml(const Model&) { return {}; }

}  // namespace idl
