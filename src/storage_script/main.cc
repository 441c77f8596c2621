// xapi-storage-script: serves SMAPIv3 plugins to xapi over the message switch.
// Flags and config (config.h), logging (log.h), then either the self-test or the daemon.
#include <signal.h>

#include <cstdio>
#include <iostream>

#include "storage_script/config.h"
#ifdef SMAPI_HAVE_SWITCH_CLIENT
#include "storage_script/daemon.h"
#endif
#include "storage_script/log.h"
#include "storage_script/selftest.h"

#include <unistd.h>

int main(int argc, char** argv) {
  storage::ParsedOptions parsed = storage::LoadOptions(argc, argv);
  if (parsed.exit_now) {
    (parsed.exit_code == 0 ? std::cout : std::cerr) << parsed.message << (parsed.exit_code ? "\n" : "");
    return parsed.exit_code;
  }
  const storage::Options& options = parsed.options;
  if (access(options.root.c_str(), X_OK) != 0) {
    std::cerr << "xapi-storage-script: the plugin root " << options.root
              << " is not an accessible directory (option root)\n";
    return 2;
  }
  // A script that exits without reading its stdin must give a write error, not kill us.
  signal(SIGPIPE, SIG_IGN);
  storage::Logger log(stderr);

  if (options.self_test_only) return storage::RunSelfTest(options, log);

#ifndef SMAPI_HAVE_SWITCH_CLIENT
  log.Error("this build has no message-switch client: only --self-test-only=true works");
  return 1;
#else
  // SIGTERM/SIGINT are taken synchronously by this thread; every other thread blocks them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  storage::Daemon daemon(options, log);
  std::string error;
  if (!daemon.Start(&error)) {
    log.Error(error);
    return 1;
  }
  int sig = 0;
  sigwait(&stop_signals, &sig);
  log.Info(std::string("Caught ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") + ", shutting down");
  daemon.Stop();
  return 0;
#endif
}
