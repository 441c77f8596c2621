// Placeholder until the Ocaml emitter exists.
#include "idl/emitter.h"

namespace idl {

std::vector<OutputFile> EmitOcaml(const Model&) { return {}; }

}  // namespace idl
