// message-switch: the queue broker of the Xen toolstack, wire-compatible with the reference.
// Reads its settings (defaults, then --config FILE, then the command line), restores state from
// --statedir if given, and serves HTTP/1.1 on a Unix socket until SIGTERM/SIGINT or a shutdown
// request. See docs/switch.md.
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "switch/broker.h"
#include "switch/config.h"
#include "switch/journal.h"
#include "switch/server.h"

namespace {

bool ResolveGroup(const std::string& name, gid_t* gid, std::string* error) {
  if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos) {
    *gid = static_cast<gid_t>(std::stoul(name));
    return true;
  }
  group grp{};
  group* found = nullptr;
  std::vector<char> buf(16384);
  if (::getgrnam_r(name.c_str(), &grp, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    *error = "unknown group: " + name;
    return false;
  }
  *gid = grp.gr_gid;
  return true;
}

bool WritePidfile(const std::string& path, std::string* error) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    *error = "cannot write pidfile " + path + ": " + std::strerror(errno);
    return false;
  }
  std::string text = std::to_string(::getpid()) + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!ok) *error = "cannot write pidfile " + path;
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  msw::SwitchConfig config;
  CLI::App app{
      "message-switch: the message broker of the Xen toolstack (xapi). Serves the switch "
      "protocol (HTTP/1.1) on a Unix socket. Options given on the command line override the "
      "config file."};
  std::string path, pidfile, config_file, statedir, group;
  std::size_t trace_entries = 0, trace_truncate = 0, trace_max_bytes = 0, max_body = 0,
              max_queue = 0, max_connections = 0;
  bool fsync = false;
  auto* o_path = app.add_option("--path", path, "Unix socket to listen on (default " +
                                                    config.path + ")");
  auto* o_pid = app.add_option("--pidfile", pidfile, "Write the process id to this file");
  app.add_option("--config", config_file,
                 "Read settings from this s-expression file, e.g. "
                 "((path /run/sock)(statedir (/var/lib/switch)))");
  auto* o_state = app.add_option(
      "--statedir", statedir,
      "Persist queues in this existing directory (journal + snapshot); without it the switch "
      "keeps everything in memory");
  auto* o_fsync = app.add_flag("--fsync", fsync,
                               "With --statedir: make each change durable (fdatasync) before "
                               "answering the request that made it");
  auto* o_group = app.add_option(
      "--group", group, "Also admit members of this group (name or gid); the socket becomes 0660");
  auto* o_te = app.add_option("--trace-entries", trace_entries,
                              "Events kept in the trace ring (default 16; 0 keeps none)");
  auto* o_tt = app.add_option("--trace-truncate", trace_truncate,
                              "Cut traced strings of this many bytes or more (default 256)");
  auto* o_tb = app.add_option("--trace-max-bytes", trace_max_bytes,
                              "Bound on the trace ring's stored bytes (default 4194304)");
  auto* o_mb = app.add_option("--max-body-bytes", max_body,
                              "Largest request body accepted; larger gets 413 (default 16777216)");
  auto* o_mq = app.add_option(
      "--max-queue-messages", max_queue,
      "Most messages one queue may hold; a send beyond it gets 507 (default 500000)");
  auto* o_mc = app.add_option("--max-connections", max_connections,
                              "Most simultaneous client connections (default 1024)");
  CLI11_PARSE(app, argc, argv);

  auto logger = spdlog::stderr_color_mt("message-switch");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %l message-switch: %v");

  if (!config_file.empty()) {
    std::ifstream in(config_file);
    if (!in) {
      spdlog::error("cannot read config file {}", config_file);
      return 2;
    }
    std::stringstream text;
    text << in.rdbuf();
    std::string error;
    if (!msw::ParseConfigFile(text.str(), &config, &error)) {
      spdlog::error("{}: {}", config_file, error);
      return 2;
    }
  }
  if (*o_path) config.path = path;
  if (*o_pid) config.pidfile = pidfile;
  if (*o_state) config.statedir = statedir;
  if (*o_fsync) config.fsync = fsync;
  if (*o_group) config.group = group;
  if (*o_te) config.trace_entries = trace_entries;
  if (*o_tt) config.trace_truncate = trace_truncate;
  if (*o_tb) config.trace_max_bytes = trace_max_bytes;
  if (*o_mb) config.max_body_bytes = max_body;
  if (*o_mq) config.max_queue_messages = max_queue;
  if (*o_mc) config.max_connections = max_connections;
  if (config.trace_truncate == 0) config.trace_truncate = 1;

  ::signal(SIGPIPE, SIG_IGN);

  // Two clocks, as in the reference: switch-monotonic ns since start, and wall-clock seconds.
  const auto start = std::chrono::steady_clock::now();
  const int64_t wall_start_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
  auto mono = [start]() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now() - start)
        .count();
  };
  auto wall = []() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };

  msw::BrokerOptions bopts;
  bopts.trace_entries = config.trace_entries;
  bopts.trace_truncate = config.trace_truncate;
  bopts.trace_max_bytes = config.trace_max_bytes;
  bopts.max_queue_messages = config.max_queue_messages;
  msw::Broker broker(bopts, mono, wall, nullptr);

  std::unique_ptr<msw::Journal> journal;
  if (config.statedir) {
    std::string error;
    journal = msw::Journal::Open(*config.statedir, config.fsync, wall_start_ns, &broker.store(),
                                 &error);
    if (!journal) {
      spdlog::error("{}", error);
      return 1;
    }
    if (journal->dropped_tail_bytes() > 0) {
      spdlog::warn("cut {} bytes of an incomplete record off the journal in {}",
                   journal->dropped_tail_bytes(), *config.statedir);
    }
    spdlog::info("restored {} queues holding {} messages from {}", broker.store().queues().size(),
                 broker.store().message_count(), *config.statedir);
    broker.set_journal(journal.get());
    broker.AdoptRestoredState();
  }

  msw::ServerOptions sopts;
  sopts.path = config.path;
  sopts.max_connections = config.max_connections;
  sopts.limits.max_body_bytes = config.max_body_bytes;
  if (config.group) {
    gid_t gid;
    std::string error;
    if (!ResolveGroup(*config.group, &gid, &error)) {
      spdlog::error("{}", error);
      return 2;
    }
    sopts.group = gid;
  }
  msw::Server server(sopts, &broker, journal.get());
  std::string error;
  if (!server.Listen(&error)) {
    spdlog::error("{}", error);
    return 1;
  }
  if (config.pidfile && !WritePidfile(*config.pidfile, &error)) {
    spdlog::error("{}", error);
    return 1;
  }
  spdlog::info("listening on {}", config.path);
  int rc = server.Run();
  if (config.pidfile) ::unlink(config.pidfile->c_str());
  return rc;
}
