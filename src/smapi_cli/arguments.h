// Turning command-line flags into the named-argument object of one IDL method call, guided by
// the generated method metadata (rpc::MethodInfo). Nothing here knows a method by name: the
// flags, their types and the help all come from the IDL.
//
// Flag spelling: `--<argument name with '_' replaced by '-'>` (`--device-config`), given as
// `--flag value` or `--flag=value`. How a value is read depends on the argument's IDL type:
//   string (and aliases of it)   the text as it is
//   int, int32, int64            a decimal integer
//   float                        a number
//   bool                         true / false
//   map<string, V>               a JSON object, or `key=value` (repeat the flag for more pairs)
//   list<T> / array<T>           a JSON array, or one element per repetition of the flag
//   option<T>                    as T; the argument may be left out
//   anything else (records, variants, tuples, json)
//                                JSON; for a record also `key=value` pairs; a bare word that is
//                                not JSON is taken as a string (a nullary variant: `Data`)
// Pure functions; thread-safe.
#ifndef SMAPI_CLI_ARGUMENTS_H_
#define SMAPI_CLI_ARGUMENTS_H_

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "rpc/json_text.h"
#include "rpc/method_info.h"

namespace smapicli {

// A command-line mistake; what() names the flag and what was wrong with it.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "device_config" -> "--device-config".
std::string FlagName(const std::string& argument_name);

// The flags of one call in command-line order: (flag without the leading "--", value).
using Flags = std::vector<std::pair<std::string, std::string>>;

// Splits `args` (what follows the method name) into flags. Throws UsageError for a word that is
// not a flag or a flag without a value.
Flags SplitFlags(const std::vector<std::string>& args);

// Builds the named-argument object for `method` from `flags`. A missing `dbg` argument gets
// `default_dbg`. Throws UsageError naming the flag for an unknown flag, a value that does not
// fit the argument's type, a non-repeatable flag given twice, or a missing required argument.
rpc::Json BuildParams(const rpc::MethodInfo& method, const Flags& flags,
                      const std::string& default_dbg);

// Reads one value of IDL type `type` (already resolved through top-level aliases). `flag` is
// only used in error messages. Throws UsageError.
rpc::Json ParseValue(const std::string& type, const std::string& text, const std::string& flag);

}  // namespace smapicli

#endif  // SMAPI_CLI_ARGUMENTS_H_
