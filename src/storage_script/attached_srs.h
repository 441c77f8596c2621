// AttachedSrs: the table of attached SRs (SR uuid -> plugin SR handle and datasource uids), kept
// in the state file so it survives a daemon restart (spec storage-script.md §3.3).
//
// File format: the reference's S-expression, `((<uuid>((sr <handle>)(uids(<uid> ...)))) ...)`,
// sorted by uuid, atoms quoted when they hold blanks, parentheses, quotes or `;`.
// Every change rewrites the file atomically: a temp file in the same directory, fsync, rename,
// fsync of the directory. A file that cannot be parsed is reported and renamed to
// `<state>.corrupt` so start-up goes on with an empty table.
//
// Thread-safe: a mutex guards the table and serialises writes.
#ifndef STORAGE_SCRIPT_ATTACHED_SRS_H_
#define STORAGE_SCRIPT_ATTACHED_SRS_H_

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "storage_script/log.h"

namespace storage {

struct AttachedSr {
  std::string handle;             // what SR.attach returned
  std::vector<std::string> uids;  // datasource uids
};

class AttachedSrs {
 public:
  // `path` empty: in-memory only (the self-test). `log` must outlive this.
  AttachedSrs(std::string path, Logger& log) : path_(std::move(path)), log_(log) {}

  // Reads the state file if it exists. A corrupt file is logged and set aside.
  void Load();

  std::optional<AttachedSr> Find(const std::string& uuid) const;
  std::vector<std::string> List() const;
  // Add or replace, then rewrite the file. Returns false (logged) if the file write failed.
  bool Put(const std::string& uuid, AttachedSr sr);
  // Remove (if present), then rewrite the file.
  bool Remove(const std::string& uuid);

  // The format, exposed for tests.
  static std::string Serialize(const std::map<std::string, AttachedSr>& table);
  // Returns false with `error` set on malformed input.
  static bool Parse(const std::string& text, std::map<std::string, AttachedSr>* table,
                    std::string* error);

 private:
  bool SaveLocked();

  const std::string path_;
  Logger& log_;
  mutable std::mutex mu_;
  std::map<std::string, AttachedSr> table_;  // guarded by mu_
};

}  // namespace storage

#endif  // STORAGE_SCRIPT_ATTACHED_SRS_H_
