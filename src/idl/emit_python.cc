// Placeholder until the Python emitter exists.
#include "idl/emitter.h"

namespace idl {

std::vector<OutputFile> EmitPython(const Model&) { return {}; }

}  // namespace idl
