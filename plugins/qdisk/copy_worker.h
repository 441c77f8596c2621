// The Data.copy worker: a background process (`qdisk-datapath --copy-worker <record>`) that
// copies exactly the blocks of a block list from the volume's NBD export to a remote NBD
// export, and reports its progress through a file. docs/qdisk-plugin.md, "Data.copy".
//
// The operation record `<run root>/operations/<id>.json` (written by Data.copy before the
// worker starts) names the source (`source_socket`, `source_export`: a read-only export of the
// volume's top node made for this copy), the `remote` and the `blocksize`/`ranges`. The worker
// writes `<id>.progress` atomically:
//   {"state":"running"|"complete"|"failed","done":<bytes>,"total":<bytes>,"error":"..."}
#ifndef SMAPI_PLUGINS_QDISK_COPY_WORKER_H_
#define SMAPI_PLUGINS_QDISK_COPY_WORKER_H_

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace qdisk {

// `<record without .json>.progress`: the progress file of the operation whose record is
// `record_path`.
std::string ProgressPath(const std::string& record_path);

// Writes the progress file of `record_path` atomically.
void WriteProgress(const std::string& record_path, const std::string& state, uint64_t done,
                   uint64_t total, const std::string& error = "");

// Reads the progress file; a missing or unreadable one gives {"state":"failed",...}.
nlohmann::json ReadProgress(const std::string& record_path);

// The worker's main: copies the record's ranges, then writes the final state. Returns 0 when
// every block was copied and flushed, 1 otherwise (the reason is in the progress file).
int RunCopyWorker(const std::string& record_path);

}  // namespace qdisk

#endif  // SMAPI_PLUGINS_QDISK_COPY_WORKER_H_
