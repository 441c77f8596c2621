// nbd-bench: how fast is a volume served by the qdisk datapath plugin?
//
// In a temporary directory it makes an SR with one qcow2 volume, attaches and activates it by
// running the plugin's method links (as xapi-storage-script does), and then times:
//   - 4 KiB sequential and random (a fixed large stride that visits every block once) writes
//     and reads through the volume's NBD export against the same I/O on a plain raw file in
//     the same directory, like with like: the same I/O engine for both (`qemu-img bench`), the
//     same queue depth (1 and 16), and no page cache on either side (the plain file is opened
//     O_DIRECT with Linux native AIO, `-t none -i native`; the plugin's qemu-storage-daemon
//     opens the image the same way, which is how it serves a VM disk);
//   - Datapath.activate and Datapath.deactivate, each a whole plugin run (process start, lock,
//     state file, QMP), `--cycles` times: p50 and p99.
// Nothing is asserted: the figures are printed for docs/performance/qdisk.md.
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
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "process.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr uint32_t kBlock = 4096;

struct Config {
  std::string plugin_dir;
  uint64_t size_mib = 64;
  int cycles = 50;
};

const char* kUsage =
    "usage: nbd-bench [--size-mib N] [--cycles N] <build dir>\n"
    "Times 4 KiB I/O (qemu-img bench, O_DIRECT, queue depth 1 and 16) through a qdisk\n"
    "volume's NBD export against a plain file, and the latency of Datapath.activate/\n"
    "deactivate. Uses <build dir>/plugins/datapath/qdisk.\n";

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

// Runs `qemu-img bench` with `args` and returns MiB/s of `count` 4 KiB requests. Exits the
// benchmark with qemu-img's output if it fails.
double QemuImgBench(const std::vector<std::string>& args, uint64_t count) {
  std::vector<std::string> argv = {"qemu-img", "bench"};
  argv.insert(argv.end(), args.begin(), args.end());
  qdisk::RunResult r = qdisk::Run(argv, std::chrono::minutes(10));
  size_t at = r.output.find("Run completed in ");
  if (r.exit_code != 0 || at == std::string::npos) {
    std::string cmd;
    for (const std::string& a : argv) cmd += a + " ";
    std::fprintf(stderr, "nbd-bench: %sfailed: %s\n", cmd.c_str(), r.output.c_str());
    std::exit(1);
  }
  double seconds = std::strtod(r.output.c_str() + at + 17, nullptr);
  return static_cast<double>(count) * kBlock / (1 << 20) / seconds;
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
  std::string nbd_uri =
      "nbd+unix:///" + rest.substr(colon + 12) + "?socket=" + rest.substr(0, colon);
  std::string plain = root + "/plain.raw";
  r = qdisk::Run({"qemu-img", "create", "-q", "-f", "raw", plain, std::to_string(size)},
                 std::chrono::seconds(30));
  if (r.exit_code != 0) {
    std::fprintf(stderr, "nbd-bench: qemu-img failed: %s\n", r.output.c_str());
    return 1;
  }
  uint64_t count = size / kBlock;
  // A stride of 10007 blocks (odd, so coprime with the power-of-two block count) visits every
  // block once in a scattered order; qemu-img bench wraps offsets at the end of the image.
  std::string random_step = std::to_string(uint64_t{10007} * kBlock);
  std::printf("nbd-bench: %llu MiB qcow2 volume, 4 KiB requests, qemu-img bench on both sides; "
              "plain file O_DIRECT + native AIO in the same directory (%s)\n",
              static_cast<unsigned long long>(c.size_mib), root.c_str());
  struct Phase {
    const char* name;
    bool write;
    std::string step;
  } phases[] = {{"sequential write", true, std::to_string(kBlock)},
                {"sequential read", false, std::to_string(kBlock)},
                {"random write", true, random_step},
                {"random read", false, random_step}};
  for (int depth : {1, 16}) {
    for (const Phase& p : phases) {
      std::vector<std::string> common = {"-q", "-c", std::to_string(count), "-d",
                                         std::to_string(depth), "-s", std::to_string(kBlock),
                                         "-S", p.step};
      if (p.write) common.push_back("-w");
      std::vector<std::string> on_nbd = common, on_plain = common;
      on_nbd.insert(on_nbd.end(), {"-f", "raw", nbd_uri});
      on_plain.insert(on_plain.end(), {"-f", "raw", "-t", "none", "-i", "native", plain});
      double n = QemuImgBench(on_nbd, count);
      double f = QemuImgBench(on_plain, count);
      std::printf("  depth %2d %-17s nbd %8.1f MiB/s  plain %8.1f MiB/s  nbd/plain %5.1f%%\n",
                  depth, p.name, n, f, 100.0 * n / f);
      std::fflush(stdout);
    }
  }
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
