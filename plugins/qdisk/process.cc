#include "process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace qdisk {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<char*> CArgv(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (const std::string& a : argv) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

pid_t SpawnWithFd(const std::vector<std::string>& argv, int out_fd) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own process group: a signal meant for our caller's group does not reach the child.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  pid_t pid = 0;
  std::vector<char*> args = CArgv(argv);
  int rc = posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw std::runtime_error("cannot run " + argv[0] + ": " + std::strerror(rc));
  return pid;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool Gone(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
  // A daemon is not our child: once dead it stays a zombie until its new parent reaps it.
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  return stat.empty() || (paren != std::string::npos && paren + 2 < stat.size() &&
                          stat[paren + 2] == 'Z');
}

bool WaitGone(pid_t pid, std::chrono::milliseconds timeout) {
  Clock::time_point deadline = Clock::now() + timeout;
  for (;;) {
    // Reap it if it happens to be our child (started by this very process).
    ::waitpid(pid, nullptr, WNOHANG);
    if (Gone(pid)) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

}  // namespace

RunResult Run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  pid_t pid;
  try {
    pid = SpawnWithFd(argv, fds[1]);
  } catch (...) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw;
  }
  ::close(fds[1]);
  RunResult result;
  Clock::time_point deadline = Clock::now() + timeout;
  ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
  bool timed_out = false;
  for (;;) {
    char buf[4096];
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n > 0) {
      result.output.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) break;
    if (errno != EAGAIN && errno != EINTR) break;
    if (Clock::now() >= deadline) {
      timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ::close(fds[0]);
  if (timed_out) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    throw std::runtime_error(argv[0] + " did not finish within " +
                             std::to_string(timeout.count()) + " ms");
  }
  result.exit_code = WaitChild(pid, timeout);
  return result;
}

pid_t Spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw std::runtime_error("cannot open " + log_path + ": " + std::strerror(errno));
  }
  pid_t pid;
  try {
    pid = SpawnWithFd(argv, fd);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  return pid;
}

int WaitChild(pid_t pid, std::chrono::milliseconds timeout) {
  Clock::time_point deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (r < 0 && errno != EINTR) throw std::runtime_error("waitpid failed");
    if (Clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      throw std::runtime_error("process " + std::to_string(pid) + " did not exit within " +
                               std::to_string(timeout.count()) + " ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

bool IsOurProcess(pid_t pid, const std::vector<std::string>& marks) {
  if (pid <= 0 || Gone(pid)) return false;
  std::string cmdline = ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
  // Just after exec the kernel briefly shows an empty command line: give it up to 100 ms.
  for (int i = 0; i < 100 && cmdline.empty() && !Gone(pid); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    cmdline = ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
  }
  for (char& c : cmdline) {
    if (c == '\0') c = ' ';
  }
  for (const std::string& m : marks) {
    if (cmdline.find(m) == std::string::npos) return false;
  }
  return !cmdline.empty();
}

bool StopProcess(pid_t pid, const std::vector<std::string>& marks,
                 std::chrono::milliseconds grace) {
  if (!IsOurProcess(pid, marks)) return false;
  ::kill(pid, SIGTERM);
  if (WaitGone(pid, grace)) return true;
  ::kill(pid, SIGKILL);
  if (WaitGone(pid, grace)) return true;
  throw std::runtime_error("process " + std::to_string(pid) + " survived SIGKILL");
}

}  // namespace qdisk
