// The built-in self-test (`--self-test-only=true`, spec storage-script.md §6.1): drives the
// SMAPIv2 handler of `<root>/volume/org.xen.xapi.storage.dummyv5` in-process, without a message
// switch, through query, diagnostics, SR create/detach/attach, VDI create/stat/destroy, SR
// stat/scan and (when the plugin has SR_PROBE) SR probe, logging as the reference does.
#ifndef STORAGE_SCRIPT_SELFTEST_H_
#define STORAGE_SCRIPT_SELFTEST_H_

#include "storage_script/config.h"
#include "storage_script/log.h"

namespace storage {

// Returns the process exit code: 0 on success (after logging `test thread shutdown cleanly`),
// 2 on failure (after logging `test thread failed with <error JSON>`).
int RunSelfTest(const Options& options, Logger& log);

}  // namespace storage

#endif  // STORAGE_SCRIPT_SELFTEST_H_
