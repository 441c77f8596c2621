#include "copy_worker.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "datapath.h"
#include "nbd_client.h"
#include "volume_state.h"

namespace qdisk {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// Requests of at most this size: well under the 32 MiB qemu's NBD server accepts.
constexpr uint64_t kChunk = 1 << 20;

int ConnectTcp(const std::string& host, const std::string& port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) throw NbdError("cannot resolve " + host + ": " + ::gai_strerror(rc));
  int fd = -1;
  for (addrinfo* a = res; a; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(res);
  if (fd < 0) throw NbdError("cannot connect to " + host + ":" + port);
  return fd;
}

// Connects to the destination named by `remote` (any form NbdNodeOptionsJson accepts).
NbdClient ConnectRemote(const std::string& remote) {
  json node = json::parse(NbdNodeOptionsJson(remote));
  const json& server = node["server"];
  std::string export_name = node["export"];
  if (server["type"] == "unix") return NbdClient::ConnectUnix(server["path"], export_name);
  return NbdClient(ConnectTcp(server["host"], server["port"]), export_name);
}

}  // namespace

std::string ProgressPath(const std::string& record_path) {
  std::string base = record_path;
  if (base.size() > 5 && base.compare(base.size() - 5, 5, ".json") == 0) base.resize(base.size() - 5);
  return base + ".progress";
}

void WriteProgress(const std::string& record_path, const std::string& state, uint64_t done,
                   uint64_t total, const std::string& error) {
  json p = {{"state", state}, {"done", done}, {"total", total}};
  if (!error.empty()) p["error"] = error;
  WriteFileAtomically(ProgressPath(record_path), p.dump() + "\n");
}

json ReadProgress(const std::string& record_path) {
  std::ifstream in(ProgressPath(record_path));
  json p = json::parse(in, nullptr, false);
  if (p.is_discarded() || !p.is_object()) {
    return {{"state", "failed"}, {"done", 0}, {"total", 0},
            {"error", "no progress file " + ProgressPath(record_path)}};
  }
  return p;
}

int RunCopyWorker(const std::string& record_path) {
  uint64_t done = 0, total = 0;
  try {
    std::ifstream in(record_path);
    json op = json::parse(in, nullptr, false);
    if (op.is_discarded() || !op.is_object()) {
      throw std::runtime_error("cannot read the operation record " + record_path);
    }
    uint64_t bs = op.at("blocksize").get<uint64_t>();
    std::vector<std::pair<uint64_t, uint64_t>> ranges;  // bytes: (offset, length)
    for (const json& r : op.at("ranges")) {
      ranges.emplace_back(r.at(0).get<uint64_t>() * bs, r.at(1).get<uint64_t>() * bs);
      total += ranges.back().second;
    }
    WriteProgress(record_path, "running", 0, total);
    NbdClient src = NbdClient::ConnectUnix(op.at("source_socket"), op.at("source_export"));
    NbdClient dst = ConnectRemote(op.at("remote"));
    if (dst.read_only()) throw std::runtime_error("the destination export is read-only");
    // Every range is checked before anything is written: a bad list changes nothing.
    for (const auto& [offset, length] : ranges) {
      for (const auto& [what, size] : {std::pair<const char*, uint64_t>{"volume", src.size()},
                                       {"destination", dst.size()}}) {
        if (offset + length > size) {
          throw std::runtime_error("block range [" + std::to_string(offset) + ", " +
                                   std::to_string(offset + length) +
                                   ") bytes lies beyond the end of the " + what + " (" +
                                   std::to_string(size) + " bytes)");
        }
      }
    }
    std::string buf(kChunk, '\0');
    Clock::time_point last_report = Clock::now();
    for (const auto& [offset, length] : ranges) {
      for (uint64_t at = offset; at < offset + length;) {
        uint32_t n = static_cast<uint32_t>(std::min(kChunk, offset + length - at));
        src.Read(at, n, buf.data());
        dst.Write(at, n, buf.data());
        at += n;
        done += n;
        // Progress at most every 50 ms: cheap, and fresh enough for a poller.
        if (Clock::now() - last_report > std::chrono::milliseconds(50)) {
          WriteProgress(record_path, "running", done, total);
          last_report = Clock::now();
        }
      }
    }
    dst.Flush();
    dst.Disconnect();
    src.Disconnect();
    WriteProgress(record_path, "complete", done, total);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qdisk copy worker: %s\n", e.what());
    try {
      WriteProgress(record_path, "failed", done, total, e.what());
    } catch (const std::exception&) {
    }
    return 1;
  }
}

}  // namespace qdisk
