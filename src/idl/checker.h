// The IDL checker: validates a merged model and fills in what the parser left open, so that
// emitters get a complete, consistent model. See docs/idl-format.md, "Meaning" and "Checks".
//
// Check runs every rule over every package and records each problem in `diagnostics` as it goes
// (it never stops at the first one). On the way it:
//   - resolves bare arguments (`dbg;`) into full Arguments from the package's shared params,
//   - turns @introduced/@changed/@deprecated/@removed into Lifecycles and @fallback into flags,
//   - fills each Method's wire_name.
// The model is usable by emitters only when no error was recorded.
#pragma once

#include "idl/diagnostics.h"
#include "idl/model.h"

namespace idl {

void Check(Model& model, Diagnostics& diagnostics);

}  // namespace idl
