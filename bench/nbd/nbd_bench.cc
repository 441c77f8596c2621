// nbd-bench: how fast is a volume served by the qdisk datapath plugin?
//
// In a temporary directory it makes an SR with one qcow2 volume, attaches and activates it by
// running the plugin's method links (as xapi-storage-script does), and then times:
//   - sequential and random 4 KiB writes and reads through the volume's NBD export (pipelined,
//     `--depth` requests in flight), against the same I/O with pwrite/pread on a plain file in
//     the same directory; writes end with a flush (NBD_CMD_FLUSH / fdatasync);
//   - Datapath.activate and Datapath.deactivate, each a whole plugin run (process start, lock,
//     state file, QMP), `--cycles` times: p50 and p99.
// Nothing is asserted: the figures are printed for docs/performance/qdisk.md.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nbd_client.h"
#include "process.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr uint32_t kBlock = 4096;

struct Config {
  std::string plugin_dir;
  uint64_t size_mib = 256;
  int random_ops = 20000;
  int depth = 16;
  int cycles = 50;
};

const char* kUsage =
    "usage: nbd-bench [--size-mib N] [--random-ops N] [--depth N] [--cycles N] <build dir>\n"
    "Times 4 KiB I/O through a qdisk volume's NBD export against a plain file, and the\n"
    "latency of Datapath.activate/deactivate. Uses <build dir>/plugins/datapath/qdisk.\n";

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Runs one plugin method; exits the benchmark with the plugin's report on failure.
json Call(const Config& c, const std::string& dir, const std::string& method, json params) {
  params["dbg"] = "bench";
  std::string in = dir + "/in.json", out = dir + "/out.json";
  std::ofstream(in) << params.dump();
  std::string cmd = "'" + c.plugin_dir + "/" + method + "' --json <'" + in + "' >'" + out + "'";
  int status = std::system(cmd.c_str());
  std::ifstream f(out);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "nbd-bench: %s failed: %s\n", method.c_str(), text.c_str());
    std::exit(1);
  }
  return json::parse(text);
}

std::vector<uint64_t> Offsets(uint64_t size, int n, bool random) {
  std::vector<uint64_t> out;
  uint64_t blocks = size / kBlock;
  std::mt19937_64 rng(42);
  for (int i = 0; i < n; ++i) {
    out.push_back(random ? (rng() % blocks) * kBlock : (static_cast<uint64_t>(i) % blocks) * kBlock);
  }
  return out;
}

// MiB/s of `offsets.size()` 4 KiB requests through the export, `depth` in flight.
double NbdRun(qdisk::NbdClient& c, const std::vector<uint64_t>& offsets, bool write, int depth) {
  std::vector<char> buf(static_cast<size_t>(kBlock) * depth, 'w');
  auto start = Clock::now();
  size_t next = 0;
  while (next < offsets.size() || c.in_flight() > 0) {
    while (next < offsets.size() && c.in_flight() < static_cast<size_t>(depth)) {
      char* slot = buf.data() + (next % depth) * kBlock;
      if (write) {
        c.SubmitWrite(offsets[next], kBlock, slot);
      } else {
        c.SubmitRead(offsets[next], kBlock, slot);
      }
      ++next;
    }
    // Refill in batches (the client sends a batch in one system call) rather than one by one.
    do {
      c.Complete();
    } while (c.in_flight() > static_cast<size_t>(depth) / 2);
  }
  if (write) c.Flush();
  return offsets.size() * double(kBlock) / (1 << 20) / Seconds(Clock::now() - start);
}

double PlainRun(int fd, const std::vector<uint64_t>& offsets, bool write) {
  std::vector<char> buf(kBlock, 'w');
  auto start = Clock::now();
  for (uint64_t off : offsets) {
    ssize_t n = write ? ::pwrite(fd, buf.data(), kBlock, static_cast<off_t>(off))
                      : ::pread(fd, buf.data(), kBlock, static_cast<off_t>(off));
    if (n != kBlock) {
      std::perror("nbd-bench: plain file I/O");
      std::exit(1);
    }
  }
  if (write) ::fdatasync(fd);
  return offsets.size() * double(kBlock) / (1 << 20) / Seconds(Clock::now() - start);
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  std::string build;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> long {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "nbd-bench: %s needs a value\n%s", a.c_str(), kUsage);
        std::exit(2);
      }
      char* end;
      long v = std::strtol(argv[++i], &end, 10);
      if (*end || v <= 0) {
        std::fprintf(stderr, "nbd-bench: %s needs a positive number, got %s\n", a.c_str(), argv[i]);
        std::exit(2);
      }
      return v;
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--size-mib") {
      c.size_mib = static_cast<uint64_t>(next());
    } else if (a == "--random-ops") {
      c.random_ops = static_cast<int>(next());
    } else if (a == "--depth") {
      c.depth = static_cast<int>(next());
    } else if (a == "--cycles") {
      c.cycles = static_cast<int>(next());
    } else if (!a.empty() && a[0] != '-' && build.empty()) {
      build = a;
    } else {
      std::fprintf(stderr, "nbd-bench: unknown argument %s\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  if (build.empty()) build = "build";
  c.plugin_dir = fs::absolute(build).string() + "/plugins/datapath/qdisk";
  if (!fs::exists(c.plugin_dir + "/Datapath.attach")) {
    std::fprintf(stderr, "nbd-bench: no qdisk plugin in %s (build it first)\n", c.plugin_dir.c_str());
    return 1;
  }

  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/nbd-bench-XXXXXX";
  std::string root = ::mkdtemp(tmpl.data());
  std::string sr = root + "/sr";
  fs::create_directories(sr);
  ::setenv("QDISK_RUN_DIR", (root + "/run").c_str(), 1);
  uint64_t size = c.size_mib << 20;
  qdisk::RunResult r = qdisk::Run({"qemu-img", "create", "-q", "-f", "qcow2", sr + "/bench.qcow2",
                                   std::to_string(size)},
                                  std::chrono::seconds(30));
  if (r.exit_code != 0) {
    std::fprintf(stderr, "nbd-bench: qemu-img failed: %s\n", r.output.c_str());
    return 1;
  }
  fs::create_symlink("bench.qcow2", sr + "/bench.current");
  std::string uri = "qdisk://" + sr + "/bench";

  Call(c, root, "Datapath.open", {{"uri", uri}, {"persistent", true}});
  json backend = Call(c, root, "Datapath.attach", {{"uri", uri}, {"domain", "0"}});
  Call(c, root, "Datapath.activate", {{"uri", uri}, {"domain", "0"}});
  std::string nbd;
  for (const json& impl : backend["implementations"]) {
    if (impl[0] == "Nbd") nbd = impl[1]["uri"];
  }
  std::string rest = nbd.substr(9);
  size_t colon = rest.rfind(":exportname=");
  qdisk::NbdClient client =
      qdisk::NbdClient::ConnectUnix(rest.substr(0, colon), rest.substr(colon + 12));

  int plain = ::open((root + "/plain.img").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (plain < 0 || ::ftruncate(plain, static_cast<off_t>(size)) != 0) {
    std::perror("nbd-bench: plain file");
    return 1;
  }
  int seq_ops = static_cast<int>(size / kBlock);
  std::vector<uint64_t> seq = Offsets(size, seq_ops, false);
  std::vector<uint64_t> rnd = Offsets(size, c.random_ops, true);

  std::printf("nbd-bench: %llu MiB qcow2 volume, 4 KiB requests, NBD depth %d; plain file: "
              "pread/pwrite, same directory (%s)\n",
              static_cast<unsigned long long>(c.size_mib), c.depth, root.c_str());
  struct Phase {
    const char* name;
    const std::vector<uint64_t>* offsets;
    bool write;
  } phases[] = {{"sequential write", &seq, true},
                {"sequential read", &seq, false},
                {"random write", &rnd, true},
                {"random read", &rnd, false}};
  for (const Phase& p : phases) {
    double n = NbdRun(client, *p.offsets, p.write, c.depth);
    double f = PlainRun(plain, *p.offsets, p.write);
    std::printf("  %-17s nbd %8.1f MiB/s  plain %8.1f MiB/s  nbd/plain %5.1f%%\n", p.name, n, f,
                100.0 * n / f);
  }
  client.Disconnect();
  ::close(plain);
  Call(c, root, "Datapath.deactivate", {{"uri", uri}, {"domain", "0"}});

  std::vector<double> act, deact;
  for (int i = 0; i < c.cycles; ++i) {
    auto t0 = Clock::now();
    Call(c, root, "Datapath.activate", {{"uri", uri}, {"domain", "0"}});
    auto t1 = Clock::now();
    Call(c, root, "Datapath.deactivate", {{"uri", uri}, {"domain", "0"}});
    auto t2 = Clock::now();
    act.push_back(Seconds(t1 - t0) * 1000);
    deact.push_back(Seconds(t2 - t1) * 1000);
  }
  std::printf("  Datapath.activate   p50 %6.2f ms  p99 %6.2f ms  (%d runs of the plugin)\n",
              Percentile(act, 0.5), Percentile(act, 0.99), c.cycles);
  std::printf("  Datapath.deactivate p50 %6.2f ms  p99 %6.2f ms\n", Percentile(deact, 0.5),
              Percentile(deact, 0.99));

  Call(c, root, "Datapath.detach", {{"uri", uri}, {"domain", "0"}});
  Call(c, root, "Datapath.close", {{"uri", uri}});
  fs::remove_all(root);
  return 0;
}
