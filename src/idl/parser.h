// The IDL parser: turns the tokens of one `.smapi` file into a package fragment, following the
// grammar in docs/idl-format.md.
//
// The parser checks syntax only. It keeps attributes as written (the checker turns them into
// lifecycles and flags), leaves bare arguments (`dbg;`) for the checker to resolve against the
// package's shared params, and fills what the file alone decides: each interface's group and
// default wire namespace. A syntax error is recorded as "expected X, got Y"; the parser then
// skips to the end of the broken declaration or member and goes on.
#pragma once

#include <vector>

#include "idl/diagnostics.h"
#include "idl/lexer.h"
#include "idl/model.h"

namespace idl {

// Parses one file's tokens (as returned by Lex, ending in kEnd). The result holds every
// declaration that parsed; `name` is empty when the file has no valid `package` line, in which
// case an error was recorded.
Package ParseFile(const std::vector<Token>& tokens, Diagnostics& diagnostics);

}  // namespace idl
