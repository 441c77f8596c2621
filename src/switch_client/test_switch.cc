#include "switch_client/test_switch.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace msclient {

using Clock = std::chrono::steady_clock;

std::string TestSwitch::FindBinary() {
  if (const char* dir = std::getenv("SMAPI_BIN_DIR")) return std::string(dir) + "/message-switch";
  return std::filesystem::read_symlink("/proc/self/exe").parent_path() / "message-switch";
}

TestSwitch::TestSwitch(Options options) : options_(std::move(options)) {
  if (options_.binary.empty()) options_.binary = FindBinary();
  char tmpl[] = "/tmp/test-switch.XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  socket_ = dir_ + "/sock";
  if (options_.statedir) std::filesystem::create_directory(dir_ + "/state");
  Spawn();
}

TestSwitch::~TestSwitch() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    auto deadline = Clock::now() + std::chrono::seconds(5);
    int status;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (Clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void TestSwitch::Spawn() {
  std::vector<std::string> args{options_.binary, "--path", socket_};
  if (options_.statedir) args.insert(args.end(), {"--statedir", dir_ + "/state"});
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  std::string log = dir_ + "/switch.log";
  pid_ = ::fork();
  if (pid_ == 0) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (!std::freopen(log.c_str(), "a", stderr)) ::_exit(126);
    if (!std::freopen(log.c_str(), "a", stdout)) ::_exit(126);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  if (pid_ < 0) throw std::runtime_error("fork failed");
  WaitReady(std::chrono::seconds(10));
}

void TestSwitch::WaitReady(std::chrono::seconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket_.c_str());
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (ok) return;
    int status;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("message-switch exited at start; its log is " + dir_ +
                               "/switch.log");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  throw std::runtime_error("message-switch did not accept connections within the timeout");
}

void TestSwitch::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

void TestSwitch::Restart() {
  Kill();
  Spawn();
}

int64_t TestSwitch::RssBytes() const {
  std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6) * 1024;
  }
  return -1;
}

}  // namespace msclient
