// SHA-256 (FIPS 180-4), used only to name a volume's runtime directory after its URI: the
// directory name must be the same whichever plugin (qdisk in C++, qcow2 in Python) computes it.
#ifndef SMAPI_PLUGINS_QDISK_SHA256_H_
#define SMAPI_PLUGINS_QDISK_SHA256_H_

#include <string>
#include <string_view>

namespace qdisk {

// The SHA-256 digest of `data` as 64 lowercase hex digits.
std::string Sha256Hex(std::string_view data);

}  // namespace qdisk

#endif  // SMAPI_PLUGINS_QDISK_SHA256_H_
