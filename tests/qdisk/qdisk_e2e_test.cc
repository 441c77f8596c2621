// End-to-end tests of the qdisk datapath plugin: each test lays out an SR directory with
// qcow2 images, runs the plugin's method links (build/plugins/datapath/qdisk/<method>) as
// xapi-storage-script would (params on stdin, result or failure report on stdout), and moves
// real data through the NBD exports of real qemu-storage-daemon processes.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "nbd_client.h"
#include "process.h"
#include "qmp.h"
#include "volume_state.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using qdisk::NbdClient;

constexpr uint64_t kSize = 16 << 20;

// The build tree: $SMAPI_BUILD_DIR, else the parent of $SMAPI_BIN_DIR, else the parent of the
// directory holding this test binary (<build>/tests/). (Under ctest only the first variable of
// the test's ENVIRONMENT list may arrive, so no single one is relied on.)
std::string BuildDir() {
  if (const char* b = std::getenv("SMAPI_BUILD_DIR"); b && *b) return b;
  if (const char* b = std::getenv("SMAPI_BIN_DIR"); b && *b) {
    return fs::path(b).parent_path().string();
  }
  return fs::read_symlink("/proc/self/exe").parent_path().parent_path().string();
}

std::string PluginDir() { return BuildDir() + "/plugins/datapath/qdisk"; }

struct Reply {
  int exit_code;
  json value;
  std::string text;
};

class QdiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/qdisk-e2e-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    sr_ = root_ + "/sr";
    fs::create_directories(sr_);
    ::setenv("QDISK_RUN_DIR", (root_ + "/run").c_str(), 1);
  }

  void TearDown() override {
    // Whatever a failed test left running is stopped, and a leak fails the test.
    for (const auto& entry : fs::directory_iterator(root_ + "/run", ec_)) {
      std::ifstream in(entry.path() / "state.json");
      json s = json::parse(in, nullptr, false);
      if (!s.is_object()) continue;
      int pid = s.value("pid", 0);
      if (pid > 0 && qdisk::IsOurProcess(pid, {"qemu-storage-daemon"})) {
        ADD_FAILURE() << "qemu-storage-daemon " << pid << " left running";
        ::kill(pid, SIGKILL);
      }
    }
    fs::remove_all(root_);
  }

  // A volume `key` in the SR: a qcow2 image and its `.current` symlink. Returns its URI.
  std::string MakeVolume(const std::string& key) {
    std::string image = sr_ + "/" + key + ".qcow2";
    qdisk::RunResult r = qdisk::Run({"qemu-img", "create", "-q", "-f", "qcow2", image,
                                     std::to_string(kSize)},
                                    std::chrono::seconds(10));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    fs::create_symlink(key + ".qcow2", sr_ + "/" + key + ".current");
    return "qdisk://" + sr_ + "/" + key;
  }

  // Runs `method` with `params` on stdin; the method name is the link's basename.
  Reply Call(const std::string& method, json params) {
    params["dbg"] = "test";
    std::string in = root_ + "/stdin.json";
    std::ofstream(in) << params.dump();
    std::string out = root_ + "/stdout.json";
    std::string cmd = "'" + PluginDir() + "/" + method + "' --json < '" + in + "' > '" + out +
                      "' 2>/dev/null";
    int status = std::system(cmd.c_str());
    std::ifstream f(out);
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    Reply r{WIFEXITED(status) ? WEXITSTATUS(status) : -1, json::parse(text, nullptr, false),
            text};
    return r;
  }

  json Ok(const std::string& method, const json& params) {
    Reply r = Call(method, params);
    EXPECT_EQ(r.exit_code, 0) << method << " " << params.dump() << " -> " << r.text;
    return r.value;
  }

  // The failure report's params[0] (the error kind); fails the test if the call succeeded.
  json Fails(const std::string& method, const json& params) {
    Reply r = Call(method, params);
    EXPECT_EQ(r.exit_code, 1) << method << " -> " << r.text;
    EXPECT_TRUE(r.value.is_object() && r.value.contains("code") &&
                r.value.contains("backtrace") && r.value["params"].size() == 2)
        << r.text;
    return r.value.value("params", json::array());
  }

  json Attach(const std::string& uri, const std::string& domain) {
    return Ok("Datapath.attach", {{"uri", uri}, {"domain", domain}});
  }
  void Activate(const std::string& uri, const std::string& domain) {
    Ok("Datapath.activate", {{"uri", uri}, {"domain", domain}});
  }
  void Deactivate(const std::string& uri, const std::string& domain) {
    Ok("Datapath.deactivate", {{"uri", uri}, {"domain", domain}});
  }
  void Detach(const std::string& uri, const std::string& domain) {
    Ok("Datapath.detach", {{"uri", uri}, {"domain", domain}});
  }

  json State(const std::string& uri) {
    for (const auto& entry : fs::directory_iterator(root_ + "/run")) {
      std::ifstream in(entry.path() / "state.json");
      json s = json::parse(in, nullptr, false);
      if (s.is_object() && s.value("uri", "") == uri) return s;
    }
    return json::object();
  }

  // The Nbd implementation's socket and export name, parsed from nbd:unix:<sock>:exportname=.
  static std::pair<std::string, std::string> NbdOf(const json& backend) {
    for (const json& impl : backend["implementations"]) {
      if (impl[0] == "Nbd") {
        std::string uri = impl[1]["uri"];
        std::string rest = uri.substr(std::string("nbd:unix:").size());
        size_t c = rest.rfind(":exportname=");
        return {rest.substr(0, c), rest.substr(c + 12)};
      }
    }
    ADD_FAILURE() << "no Nbd implementation in " << backend.dump();
    return {};
  }

  static std::string NbdUri(const json& backend) {
    for (const json& impl : backend["implementations"]) {
      if (impl[0] == "Nbd") return impl[1]["uri"];
    }
    return "";
  }

  static bool Alive(int pid) { return pid > 0 && qdisk::IsOurProcess(pid, {}); }

  // Reads [offset, offset+n) of the image file behind `key` (the volume must not be attached).
  std::string ImageBytes(const std::string& image, uint64_t offset, uint64_t n) {
    std::string raw = root_ + "/dump.raw";
    qdisk::RunResult r = qdisk::Run({"qemu-img", "convert", "-O", "raw", image, raw},
                                    std::chrono::seconds(10));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::ifstream in(raw, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(offset));
    std::string buf(n, '\0');
    in.read(buf.data(), static_cast<std::streamsize>(n));
    return buf;
  }

  std::string root_, sr_;
  std::error_code ec_;
};

TEST_F(QdiskTest, QueryAdvertisesVersionAndFeatures) {
  json q = Ok("Plugin.query", json::object());
  EXPECT_EQ(q["plugin"], "qdisk");
  EXPECT_EQ(q["required_api_version"], "5.0");
  EXPECT_EQ(q["features"],
            json::array({"NONPERSISTENT", "VDI_MIRROR_IN", "VDI_ACTIVATE_READONLY"}));
  EXPECT_EQ(Ok("Plugin.ls", json::object()), json::array());
  json diagnostics = Ok("Plugin.diagnostics", json::object());
  ASSERT_TRUE(diagnostics.is_string());
  EXPECT_NE(diagnostics.get<std::string>().find(root_ + "/run"), std::string::npos);
}

TEST_F(QdiskTest, AttachReturnsNbdAndXenDisk) {
  std::string uri = MakeVolume("v1");
  Ok("Datapath.open", {{"uri", uri}, {"persistent", true}});
  json b = Attach(uri, "7");
  ASSERT_EQ(b["implementations"].size(), 2u);
  EXPECT_EQ(b["implementations"][0][0], "XenDisk");
  EXPECT_EQ(b["implementations"][0][1]["backend_type"], "qdisk");
  std::string nbd = NbdUri(b);
  // xapi's parser: exactly four ':'-separated parts, the last starting with exportname=.
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= nbd.size(); ++i) {
    if (i == nbd.size() || nbd[i] == ':') {
      parts.push_back(nbd.substr(start, i - start));
      start = i + 1;
    }
  }
  ASSERT_EQ(parts.size(), 4u) << nbd;
  EXPECT_EQ(parts[0], "nbd");
  EXPECT_EQ(parts[1], "unix");
  EXPECT_EQ(parts[3], "exportname=v1");
  Detach(uri, "7");
  Ok("Datapath.close", {{"uri", uri}});
}

TEST_F(QdiskTest, DataWrittenThroughTheExportReachesTheImage) {
  std::string uri = MakeVolume("v1");
  Ok("Datapath.open", {{"uri", uri}, {"persistent", true}});
  auto [sock, name] = NbdOf(Attach(uri, "1"));
  Activate(uri, "1");
  int pid = State(uri)["pid"];
  EXPECT_TRUE(Alive(pid));
  {
    NbdClient c = NbdClient::ConnectUnix(sock, name);
    EXPECT_EQ(c.size(), kSize);
    EXPECT_FALSE(c.read_only());
    std::string pattern(65536, 'Q');
    c.Write(1 << 20, static_cast<uint32_t>(pattern.size()), pattern.data());
    c.Flush();
    std::string back(pattern.size(), '\0');
    c.Read(1 << 20, static_cast<uint32_t>(back.size()), back.data());
    EXPECT_EQ(back, pattern);
    c.Disconnect();
  }
  Deactivate(uri, "1");
  Detach(uri, "1");
  EXPECT_FALSE(Alive(pid)) << "qemu-storage-daemon outlived detach";
  Ok("Datapath.close", {{"uri", uri}});
  EXPECT_EQ(ImageBytes(sr_ + "/v1.qcow2", 1 << 20, 65536), std::string(65536, 'Q'));
}

TEST_F(QdiskTest, CallsAreIdempotentAndReferenceCounted) {
  std::string uri = MakeVolume("v1");
  Ok("Datapath.open", {{"uri", uri}, {"persistent", true}});
  Ok("Datapath.open", {{"uri", uri}, {"persistent", true}});
  json b1 = Attach(uri, "1");
  int pid = State(uri)["pid"];
  EXPECT_EQ(Attach(uri, "1"), b1);
  EXPECT_EQ(Attach(uri, "2"), b1);
  EXPECT_EQ(State(uri)["pid"], pid) << "one daemon per volume";
  EXPECT_EQ(State(uri)["domains"], json::array({"1", "2"}));
  Activate(uri, "1");
  Activate(uri, "1");
  Activate(uri, "2");
  Deactivate(uri, "1");
  // Still active for domain 2: the export stays.
  auto [sock, name] = NbdOf(b1);
  NbdClient::ConnectUnix(sock, name).Disconnect();
  Deactivate(uri, "1");
  Deactivate(uri, "2");
  EXPECT_THROW(NbdClient::ConnectUnix(sock, name), qdisk::NbdError) << "export after deactivate";
  Detach(uri, "1");
  Detach(uri, "1");
  EXPECT_TRUE(Alive(pid)) << "domain 2 still attached";
  Detach(uri, "2");
  EXPECT_FALSE(Alive(pid));
  Detach(uri, "2");
  Ok("Datapath.close", {{"uri", uri}});
  Ok("Datapath.close", {{"uri", uri}});
}

TEST_F(QdiskTest, ReadOnlyActivation) {
  std::string uri = MakeVolume("v1");
  auto [sock, name] = NbdOf(Attach(uri, "1"));
  Attach(uri, "2");
  Ok("Datapath.activate_readonly", {{"uri", uri}, {"domain", "1"}});
  Ok("Datapath.activate_readonly", {{"uri", uri}, {"domain", "1"}});
  {
    NbdClient c = NbdClient::ConnectUnix(sock, name);
    EXPECT_TRUE(c.read_only());
    char buf[512] = {1};
    EXPECT_THROW(c.Write(0, sizeof buf, buf), qdisk::NbdError);
  }
  json err = Fails("Datapath.activate", {{"uri", uri}, {"domain", "2"}});
  EXPECT_EQ(err[0], "Activation_conflict");
  Deactivate(uri, "1");
  Activate(uri, "2");
  EXPECT_FALSE(NbdClient::ConnectUnix(sock, name).read_only());
  Detach(uri, "1");
  Detach(uri, "2");
  Ok("Datapath.close", {{"uri", uri}});
}

TEST_F(QdiskTest, NonPersistentWritesAreDiscardedAtClose) {
  std::string uri = MakeVolume("v1");
  Ok("Datapath.open", {{"uri", uri}, {"persistent", false}});
  std::string overlay = State(uri)["overlay"];
  EXPECT_TRUE(fs::exists(overlay));
  auto [sock, name] = NbdOf(Attach(uri, "1"));
  Activate(uri, "1");
  {
    NbdClient c = NbdClient::ConnectUnix(sock, name);
    std::string pattern(4096, 'N');
    c.Write(0, 4096, pattern.data());
    std::string back(4096, '\0');
    c.Read(0, 4096, back.data());
    EXPECT_EQ(back, pattern);
  }
  Deactivate(uri, "1");
  Detach(uri, "1");
  Ok("Datapath.close", {{"uri", uri}});
  EXPECT_FALSE(fs::exists(overlay));
  EXPECT_EQ(ImageBytes(sr_ + "/v1.qcow2", 0, 4096), std::string(4096, '\0'));
}

TEST_F(QdiskTest, ImportActivateTakesAnNbdClientFdBySCMRights) {
  std::string uri = MakeVolume("v1");
  Attach(uri, "1");
  Reply r = Call("Datapath.import_activate", {{"uri", uri}, {"domain", "1"}});
  ASSERT_EQ(r.exit_code, 0) << r.text;
  std::string path = r.value;
  int relay = State(uri)["relay_pid"];
  EXPECT_TRUE(Alive(relay));
  EXPECT_EQ(Ok("Datapath.import_activate", {{"uri", uri}, {"domain", "1"}}), path);

  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  int ctl = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::connect(ctl, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  char byte = 0;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &pair[1], sizeof(int));
  ASSERT_EQ(::sendmsg(ctl, &msg, 0), 1);
  ::close(pair[1]);
  ::close(ctl);
  {
    NbdClient client(pair[0], "v1");
    EXPECT_EQ(client.size(), kSize);
    std::string pattern(8192, 'I');
    client.Write(4096, 8192, pattern.data());
    std::string back(8192, '\0');
    client.Read(4096, 8192, back.data());
    EXPECT_EQ(back, pattern);
    client.Disconnect();
  }
  Deactivate(uri, "1");
  EXPECT_FALSE(Alive(relay)) << "relay outlived deactivate";
  Detach(uri, "1");
  Ok("Datapath.close", {{"uri", uri}});
  EXPECT_EQ(ImageBytes(sr_ + "/v1.qcow2", 4096, 8192), std::string(8192, 'I'));
}

TEST_F(QdiskTest, CopyAndMirrorToAnotherNbdExport) {
  std::string src = MakeVolume("src");
  std::string dst = MakeVolume("dst");
  auto [ssock, sname] = NbdOf(Attach(src, "1"));
  Activate(src, "1");
  json dst_backend = Attach(dst, "2");
  Activate(dst, "2");
  NbdClient s = NbdClient::ConnectUnix(ssock, sname);
  std::string first(1 << 20, 'C');
  s.Write(0, static_cast<uint32_t>(first.size()), first.data());
  s.Flush();

  json op = Ok("Data.copy", {{"uri", src}, {"domain", "1"}, {"remote", NbdUri(dst_backend)},
                             {"blocklist", {{"blocksize", 65536}, {"ranges", {{0, 16}}}}}});
  ASSERT_TRUE(op.is_array() && op[0] == "CopyV1") << op.dump();
  EXPECT_EQ(Ok("Data.ls", json::object()), json::array({op}));
  json st;
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);;) {
    st = Ok("Data.stat", {{"operation", op}});
    if (st["complete"] == true || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(st, json({{"failed", false}, {"complete", true}, {"progress", 1.0}}));
  Ok("Data.cancel", {{"operation", op}});  // finished already: a no-op
  Ok("Data.destroy", {{"operation", op}});
  EXPECT_EQ(Ok("Data.ls", json::object()), json::array());
  EXPECT_EQ(Fails("Data.stat", {{"operation", op}})[0], "Unknown_operation");
  auto [dsock, dname] = NbdOf(dst_backend);
  {
    NbdClient d = NbdClient::ConnectUnix(dsock, dname);
    std::string back(first.size(), '\0');
    d.Read(0, static_cast<uint32_t>(back.size()), back.data());
    EXPECT_EQ(back, first);
  }

  json mop = Ok("Data.mirror", {{"uri", src}, {"domain", "1"}, {"remote", NbdUri(dst_backend)}});
  ASSERT_TRUE(mop.is_array() && mop[0] == "MirrorV1") << mop.dump();
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);;) {
    st = Ok("Data.stat", {{"operation", mop}});
    if (st["complete"] == true || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(st["failed"], false);
  EXPECT_EQ(st["complete"], true);
  // In sync: a new write to the source reaches the destination before it completes.
  std::string second(65536, 'M');
  s.Write(8 << 20, static_cast<uint32_t>(second.size()), second.data());
  {
    NbdClient d = NbdClient::ConnectUnix(dsock, dname);
    std::string back(second.size(), '\0');
    d.Read(8 << 20, static_cast<uint32_t>(back.size()), back.data());
    EXPECT_EQ(back, second);
  }
  Ok("Data.destroy", {{"operation", mop}});
  EXPECT_EQ(Ok("Data.ls", json::object()), json::array());
  s.Disconnect();
  Deactivate(src, "1");
  Detach(src, "1");
  Deactivate(dst, "2");
  Detach(dst, "2");
}

// Polls Data.stat until the operation completes (or 30 s pass); returns the last status.
#define WAIT_COMPLETE(op, st)                                                            \
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);;) {  \
    st = Ok("Data.stat", {{"operation", op}});                                           \
    if (st["complete"] == true || std::chrono::steady_clock::now() > deadline) break;    \
    std::this_thread::sleep_for(std::chrono::milliseconds(10));                          \
  }

TEST_F(QdiskTest, CopyWritesExactlyTheBlocksOfTheList) {
  constexpr uint32_t kBlock = 65536;
  std::string src = MakeVolume("src");
  std::string dst = MakeVolume("dst");
  auto [ssock, sname] = NbdOf(Attach(src, "1"));
  Activate(src, "1");
  json dst_backend = Attach(dst, "2");
  Activate(dst, "2");
  auto [dsock, dname] = NbdOf(dst_backend);
  // Every block of the source is 'S' followed by its number; every block of the destination 'D'.
  auto pattern = [](char c, uint64_t block) {
    std::string b(kBlock, c);
    std::snprintf(b.data(), 16, "%c%llu", c, static_cast<unsigned long long>(block));
    return b;
  };
  {
    NbdClient s = NbdClient::ConnectUnix(ssock, sname);
    NbdClient d = NbdClient::ConnectUnix(dsock, dname);
    for (uint64_t b = 0; b < kSize / kBlock; ++b) {
      std::string sp = pattern('S', b), dp = pattern('D', b);
      s.Write(b * kBlock, kBlock, sp.data());
      d.Write(b * kBlock, kBlock, dp.data());
    }
    s.Flush();
    d.Flush();
  }
  // Blocks 1-2, 10, 100-102 and the last one (the list's blocksize is 64 KiB).
  std::set<uint64_t> listed = {1, 2, 10, 100, 101, 102, kSize / kBlock - 1};
  json ranges = {{1, 2}, {10, 1}, {100, 3}, {kSize / kBlock - 1, 1}, {50, 0}};
  json op = Ok("Data.copy", {{"uri", src}, {"domain", "1"}, {"remote", NbdUri(dst_backend)},
                             {"blocklist", {{"blocksize", kBlock}, {"ranges", ranges}}}});
  ASSERT_TRUE(op.is_array() && op[0] == "CopyV1") << op.dump();
  json st;
  WAIT_COMPLETE(op, st);
  EXPECT_EQ(st, json({{"failed", false}, {"complete", true}, {"progress", 1.0}}));
  std::string record = root_ + "/run/operations/" + op[1].get<std::string>() + ".json";
  std::ifstream in(record);
  int worker = json::parse(in).value("worker_pid", 0);
  Ok("Data.destroy", {{"operation", op}});
  EXPECT_FALSE(Alive(worker)) << "the copy worker is gone after destroy";
  EXPECT_EQ(Ok("Data.ls", json::object()), json::array());
  {
    NbdClient d = NbdClient::ConnectUnix(dsock, dname);
    std::string back(kBlock, '\0');
    for (uint64_t b = 0; b < kSize / kBlock; ++b) {
      d.Read(b * kBlock, kBlock, back.data());
      bool in_list = listed.count(b) > 0;
      EXPECT_EQ(back, pattern(in_list ? 'S' : 'D', b)) << "block " << b << " listed " << in_list;
    }
  }
  // A range beyond the end of the volume: the operation fails with the reason in its log.
  json bad = Ok("Data.copy", {{"uri", src}, {"domain", "1"}, {"remote", NbdUri(dst_backend)},
                              {"blocklist", {{"blocksize", kBlock}, {"ranges", {{0, 1}, {kSize / kBlock, 1}}}}}});
  WAIT_COMPLETE(bad, st);
  EXPECT_EQ(st, json({{"failed", true}, {"complete", true}}));
  std::ifstream progress(root_ + "/run/operations/" + bad[1].get<std::string>() + ".progress");
  std::string text((std::istreambuf_iterator<char>(progress)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("beyond the end of the volume"), std::string::npos) << text;
  Ok("Data.destroy", {{"operation", bad}});
  EXPECT_EQ(Fails("Data.copy", {{"uri", src}, {"domain", "1"}, {"remote", NbdUri(dst_backend)},
                                {"blocklist", {{"blocksize", 0}, {"ranges", json::array()}}}})[0],
            "Invalid_blocklist");
  Deactivate(src, "1");
  Detach(src, "1");
  Deactivate(dst, "2");
  Detach(dst, "2");
}

TEST_F(QdiskTest, CopyToAStalledDestinationIsCancelled) {
  std::string src = MakeVolume("src");
  Attach(src, "1");
  // A destination that accepts connections but never answers: the copy stays running.
  std::string stalled = root_ + "/stalled.sock";
  int lfd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, stalled.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(lfd, 4), 0);
  json op = Ok("Data.copy", {{"uri", src}, {"domain", "1"},
                             {"remote", "nbd:unix:" + stalled + ":exportname=x"},
                             {"blocklist", {{"blocksize", 65536}, {"ranges", {{0, 4}}}}}});
  json st = Ok("Data.stat", {{"operation", op}});
  EXPECT_EQ(st["complete"], false) << st.dump();
  EXPECT_EQ(st["failed"], false) << st.dump();
  EXPECT_EQ(st["progress"], 0.0) << "nothing copied yet: " << st.dump();
  EXPECT_EQ(Fails("Data.destroy", {{"operation", op}})[0], "Operation_running");
  std::ifstream in(root_ + "/run/operations/" + op[1].get<std::string>() + ".json");
  int worker = json::parse(in).value("worker_pid", 0);
  EXPECT_TRUE(Alive(worker));
  Ok("Data.cancel", {{"operation", op}});
  EXPECT_FALSE(Alive(worker)) << "cancel stops the worker";
  EXPECT_EQ(Ok("Data.stat", {{"operation", op}}), json({{"failed", true}, {"complete", true}}));
  Ok("Data.destroy", {{"operation", op}});
  EXPECT_EQ(Ok("Data.ls", json::object()), json::array());
  ::close(lfd);
  Detach(src, "1");
}

TEST_F(QdiskTest, DaemonKilledUnderAnAttachedVolume) {
  std::string uri = MakeVolume("v1");
  std::string dst = MakeVolume("dst");
  Attach(uri, "1");
  Activate(uri, "1");
  json dst_backend = Attach(dst, "2");
  Activate(dst, "2");
  json op = Ok("Data.mirror", {{"uri", uri}, {"domain", "1"}, {"remote", NbdUri(dst_backend)}});
  int pid = State(uri)["pid"];
  ASSERT_TRUE(Alive(pid));
  ::kill(pid, SIGKILL);
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
       Alive(pid) && std::chrono::steady_clock::now() < deadline;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  json err = Fails("Datapath.activate", {{"uri", uri}, {"domain", "1"}});
  EXPECT_EQ(err[0], "Qsd_not_running");
  EXPECT_NE(err[1].get<std::string>().find("is not running; detach and attach the volume again"),
            std::string::npos)
      << err.dump();
  // The mirror died with the daemon: it reports a failure, and can be forgotten.
  EXPECT_EQ(Ok("Data.stat", {{"operation", op}}), json({{"failed", true}, {"complete", true}}));
  Ok("Data.destroy", {{"operation", op}});
  EXPECT_EQ(Ok("Data.ls", json::object()), json::array());
  Detach(dst, "2");
  Deactivate(uri, "1");
  Detach(uri, "1");
  EXPECT_EQ(State(uri)["pid"], 0);
  EXPECT_EQ(State(uri)["domains"], json::array());
  // And the volume can be used again.
  Attach(uri, "1");
  Activate(uri, "1");
  int again = State(uri)["pid"];
  EXPECT_TRUE(Alive(again));
  Ok("Datapath.close", {{"uri", uri}});
  EXPECT_FALSE(Alive(again)) << "close leaves no daemon behind";
}

TEST_F(QdiskTest, BadInputGivesClearErrors) {
  std::string uri = MakeVolume("v1");
  struct Case {
    std::string method;
    json params;
    std::string kind;
    std::string text;  // a part of the message
  } cases[] = {
      {"Datapath.attach", {{"uri", uri}}, "UnmarshalException",
       "Datapath.attach: Expecting named argument 'domain'"},
      {"Datapath.attach", {{"uri", 7}, {"domain", "1"}}, "UnmarshalException",
       "Datapath.attach: Expected string, got 'I(7)'"},
      {"Datapath.attach", {{"uri", "file:///x/y"}, {"domain", "1"}}, "Invalid_uri",
       "not a qdisk URI"},
      {"Datapath.attach", {{"uri", "qdisk://" + sr_ + "/nope"}, {"domain", "1"}},
       "Volume_does_not_exist", sr_ + "/nope.current"},
      {"Datapath.open", {{"uri", uri}, {"persistent", "yes"}}, "UnmarshalException",
       "Datapath.open: Expected bool, got 'S(yes)'"},
      {"Datapath.activate", {{"uri", uri}, {"domain", "1"}}, "Not_attached",
       "call Datapath.attach first"},
      {"Data.stat", {{"operation", {"CopyV1", "nope"}}}, "Unknown_operation", "nope"},
      {"Data.stat", {{"operation", "x"}}, "UnmarshalException", "Data.stat: Unknown tag 'x'"},
      {"Data.mirror", {{"uri", uri}, {"domain", "1"}, {"remote", "http://x"}}, "Invalid_remote",
       "http://x"},
      {"Data.mirror", {{"uri", uri}, {"domain", "1"}, {"remote", "nbd:unix:/s:exportname=e"}},
       "Not_attached", "attach it before Data.mirror"},
  };
  for (const Case& c : cases) {
    json err = Fails(c.method, c.params);
    EXPECT_EQ(err[0], c.kind) << c.method << " " << c.params.dump();
    EXPECT_NE(err[1].get<std::string>().find(c.text), std::string::npos) << err.dump();
  }
  // Not JSON on stdin, and a method the plugin does not have.
  std::string cmd = "echo 'not json' | '" + PluginDir() + "/Datapath.attach' --json >/dev/null 2>&1";
  EXPECT_EQ(WEXITSTATUS(std::system(cmd.c_str())), 1);
  fs::create_symlink(PluginDir() + "/Plugin.query", root_ + "/Volume.create");
  cmd = "echo '{}' | '" + root_ + "/Volume.create' --json 2>/dev/null | grep -q Unimplemented";
  EXPECT_EQ(WEXITSTATUS(std::system(cmd.c_str())), 0);
}

TEST_F(QdiskTest, ConcurrentAttachesShareOneDaemon) {
  std::string uri = MakeVolume("v1");
  std::vector<std::thread> threads;
  std::vector<int> codes(6, -1);
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      // Each thread its own stdin/stdout files: Call() shares them, so run the link directly.
      std::string in = root_ + "/in" + std::to_string(i);
      std::ofstream(in) << json({{"dbg", "t"}, {"uri", uri}, {"domain", std::to_string(i)}}).dump();
      std::string cmd = "'" + PluginDir() + "/Datapath.attach' <'" + in + "' >/dev/null 2>&1";
      int status = std::system(cmd.c_str());
      codes[i] = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    });
  }
  for (std::thread& t : threads) t.join();
  for (int c : codes) EXPECT_EQ(c, 0);
  json s = State(uri);
  EXPECT_EQ(s["domains"].size(), 6u);
  int pid = s["pid"];
  EXPECT_TRUE(Alive(pid));
  // Exactly one qemu-storage-daemon serves the volume.
  int count = 0;
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::ifstream in(e.path() / "cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmdline.find("qemu-storage-daemon") == 0 &&
        cmdline.find(root_ + "/run/") != std::string::npos &&
        qdisk::IsOurProcess(std::stoi(e.path().filename().string()), {})) {
      ++count;
    }
  }
  EXPECT_EQ(count, 1);
  Ok("Datapath.close", {{"uri", uri}});
  EXPECT_FALSE(Alive(pid));
}

TEST_F(QdiskTest, FailedStartLeavesNothingRunning) {
  std::string uri = MakeVolume("v1");
  // Not a qcow2 image: qsd starts, but cannot open it.
  std::ofstream(sr_ + "/v1.qcow2", std::ios::trunc) << "garbage";
  json err = Fails("Datapath.attach", {{"uri", uri}, {"domain", "1"}});
  EXPECT_EQ(err[0], "Qsd_failed");
  EXPECT_NE(err[1].get<std::string>().find("cannot open " + sr_ + "/v1.qcow2"), std::string::npos)
      << err.dump();
  EXPECT_EQ(State(uri).value("pid", 0), 0);
  // And a binary that is not there.
  std::string good = MakeVolume("v2");
  ::setenv("QDISK_QSD", "/nonexistent/qemu-storage-daemon", 1);
  err = Fails("Datapath.attach", {{"uri", good}, {"domain", "1"}});
  ::unsetenv("QDISK_QSD");
  EXPECT_NE(err[1].get<std::string>().find("/nonexistent/qemu-storage-daemon"), std::string::npos)
      << err.dump();
}

// The volume plugin's side of the live-volume contract (docs/qcow2-plugin.md, "Datapath
// contract"), played here by hand: a snapshot of an attached, active volume made through QMP
// under the volume lock, recorded in state.json and `.current`. The datapath must follow the
// new top node at the next activate, and open the new `.current` at the next attach.
TEST_F(QdiskTest, FollowsALiveSnapshotMadeByTheVolumePlugin) {
  std::string uri = MakeVolume("v1");
  auto [sock, name] = NbdOf(Attach(uri, "1"));
  Activate(uri, "1");
  NbdClient c = NbdClient::ConnectUnix(sock, name);
  std::string before(4096, 'A');
  c.Write(0, 4096, before.data());
  c.Flush();
  std::string dir = fs::path(sock).parent_path().string();
  std::string overlay = sr_ + "/v1-2.qcow2";
  {
    qdisk::VolumeLock lock(dir, std::chrono::seconds(5));
    qdisk::RunResult r = qdisk::Run({"qemu-img", "create", "-q", "-u", "-f", "qcow2", "-F",
                                     "qcow2", "-b", "v1.qcow2", overlay, std::to_string(kSize)},
                                    std::chrono::seconds(10));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    qdisk::QmpClient qmp(dir + "/qmp.sock", std::chrono::seconds(5));
    qmp.Execute("blockdev-add", {{"driver", "qcow2"}, {"node-name", "snap-2"},
                                 {"file", {{"driver", "file"}, {"filename", overlay}}},
                                 {"backing", nullptr}});
    qmp.Execute("blockdev-snapshot", {{"node", State(uri)["top_node"]}, {"overlay", "snap-2"}});
    qdisk::VolumeState s = qdisk::ReadState(dir);
    s.top_node = "snap-2";
    s.top_image = overlay;
    s.extra["written_by"] = "volume plugin";
    qdisk::WriteState(dir, s);
    fs::create_symlink("v1-2.qcow2", sr_ + "/v1.current.tmp");
    fs::rename(sr_ + "/v1.current.tmp", sr_ + "/v1.current");
  }
  // The connected client now writes into the overlay.
  std::string after(4096, 'B');
  c.Write(4096, 4096, after.data());
  c.Flush();
  c.Disconnect();
  Deactivate(uri, "1");
  Activate(uri, "1");  // exports top_node from state.json: the overlay
  EXPECT_EQ(State(uri)["written_by"], "volume plugin") << "foreign keys kept";
  {
    NbdClient again = NbdClient::ConnectUnix(sock, name);
    std::string back(8192, '\0');
    again.Read(0, 8192, back.data());
    EXPECT_EQ(back, before + after);
  }
  Deactivate(uri, "1");
  Detach(uri, "1");
  // The snapshot (the old image) has only the first write; the overlay has the second.
  EXPECT_EQ(ImageBytes(sr_ + "/v1.qcow2", 4096, 4096), std::string(4096, '\0'));
  EXPECT_EQ(ImageBytes(overlay, 0, 8192), before + after);
  // A new attach opens what `.current` names now.
  Attach(uri, "1");
  EXPECT_EQ(State(uri)["top_image"], overlay);
  Ok("Datapath.close", {{"uri", uri}});
}

}  // namespace
