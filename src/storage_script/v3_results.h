// Shape checks for what SMAPIv3 scripts print on success (idl.md §2, §3.3): each wire method's
// result type is checked before the translation reads it, so a script that prints valid JSON of
// the wrong shape gets a clear SCRIPT_FAILED instead of a crash deeper in.
//
// Rules follow the reference decoder: record fields are required unless they are options, extra
// fields are ignored, option fields may be absent or null. Unit results accept any value.
// Pure functions; thread-safe.
#ifndef STORAGE_SCRIPT_V3_RESULTS_H_
#define STORAGE_SCRIPT_V3_RESULTS_H_

#include <string>

#include "storage_script/errors.h"

namespace storage {

// Returns "" when `value` has the shape of `method`'s result, else a description of the first
// problem, e.g. `Volume.stat result: field "key": expected a string, got null`. Methods that are
// not SMAPIv3 methods are accepted unchecked.
std::string CheckV3Result(const std::string& method, const Json& value);

}  // namespace storage

#endif  // STORAGE_SCRIPT_V3_RESULTS_H_
