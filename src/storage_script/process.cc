#include "storage_script/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

extern char** environ;

namespace storage {

CancelToken::CancelToken() : fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

CancelToken::~CancelToken() {
  if (fd_ >= 0) close(fd_);
}

void CancelToken::Cancel() {
  cancelled_.store(true);
  uint64_t one = 1;
  if (fd_ >= 0) {
    ssize_t n = write(fd_, &one, sizeof one);
    (void)n;
  }
}

std::string SignalName(int sig) {
  static const std::map<int, const char*> kNames = {
      {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"}, {SIGILL, "SIGILL"},
      {SIGABRT, "SIGABRT"}, {SIGFPE, "SIGFPE"},   {SIGKILL, "SIGKILL"}, {SIGSEGV, "SIGSEGV"},
      {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"}, {SIGUSR1, "SIGUSR1"},
      {SIGUSR2, "SIGUSR2"}, {SIGBUS, "SIGBUS"},   {SIGSTOP, "SIGSTOP"}, {SIGTSTP, "SIGTSTP"}};
  auto it = kNames.find(sig);
  return it != kNames.end() ? it->second : "SIG" + std::to_string(sig);
}

namespace {

struct Fd {
  int fd = -1;
  ~Fd() { Close(); }
  void Close() {
    if (fd >= 0) close(fd);
    fd = -1;
  }
};

// The inherited environment with `extra` entries replacing variables of the same name. Values
// are kept byte for byte (the reference truncated values at the first blank).
std::vector<std::string> BuildEnv(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  auto name_of = [](const std::string& e) { return e.substr(0, e.find('=')); };
  for (char** p = environ; p && *p; ++p) {
    std::string e = *p;
    bool replaced = false;
    for (const auto& x : extra) replaced |= name_of(x) == name_of(e);
    if (!replaced) env.push_back(std::move(e));
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

// write() that reports EPIPE instead of raising SIGPIPE, whatever the process's disposition:
// SIGPIPE is blocked in this thread for the write, and a SIGPIPE it raised is consumed.
ssize_t WriteNoSigpipe(int fd, const char* data, size_t size) {
  sigset_t pipe_set, old_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigset_t pending;
  sigpending(&pending);
  bool was_pending = sigismember(&pending, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  ssize_t w = write(fd, data, size);
  int saved = errno;
  if (w < 0 && errno == EPIPE && !was_pending) {
    timespec zero{0, 0};
    while (sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  errno = saved;
  return w;
}

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

}  // namespace

ProcessResult RunProcess(const ProcessSpec& spec) {
  ProcessResult r;
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0) {
    r.spawn_error = std::string("pipe: ") + std::strerror(errno);
    return r;
  }
  Fd in_r{in_pipe[0]}, in_w{in_pipe[1]};
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    r.spawn_error = std::string("pipe: ") + std::strerror(errno);
    return r;
  }
  Fd out_r{out_pipe[0]}, out_w{out_pipe[1]};
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    r.spawn_error = std::string("pipe: ") + std::strerror(errno);
    return r;
  }
  Fd err_r{err_pipe[0]}, err_w{err_pipe[1]};

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // dup2 clears close-on-exec on the target, so only 0, 1 and 2 survive into the child.
  posix_spawn_file_actions_adddup2(&actions, in_r.fd, 0);
  posix_spawn_file_actions_adddup2(&actions, out_w.fd, 1);
  posix_spawn_file_actions_adddup2(&actions, err_w.fd, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty, defaults;
  sigemptyset(&empty);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);  // the daemon ignores SIGPIPE; scripts get the default back
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> env = BuildEnv(spec.extra_env);
  std::vector<char*> argv_p, env_p;
  for (const auto& a : spec.argv) argv_p.push_back(const_cast<char*>(a.c_str()));
  argv_p.push_back(nullptr);
  for (const auto& e : env) env_p.push_back(const_cast<char*>(e.c_str()));
  env_p.push_back(nullptr);

  pid_t pid = -1;
  int rc = posix_spawn(&pid, spec.program.c_str(), &actions, &attr, argv_p.data(), env_p.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    r.spawn_error = spec.program + ": " + std::strerror(rc);
    return r;
  }
  r.pid = pid;
  in_r.Close();
  out_w.Close();
  err_w.Close();
  SetNonBlocking(in_w.fd);
  SetNonBlocking(out_r.fd);
  SetNonBlocking(err_r.fd);

  using Clock = std::chrono::steady_clock;
  const bool has_deadline = spec.timeout.count() > 0;
  const auto deadline = Clock::now() + spec.timeout;
  size_t written = 0;
  if (spec.input.empty()) in_w.Close();
  bool killed = false;
  // After a kill, output normally closes at once; a grace deadline stops us waiting on a
  // descendant that escaped the process group while holding the pipes.
  auto grace_deadline = Clock::time_point::max();

  auto kill_group = [&] {
    if (!killed) {
      kill(-pid, SIGKILL);
      killed = true;
      grace_deadline = Clock::now() + std::chrono::seconds(2);
    }
  };

  char buf[65536];
  while (out_r.fd >= 0 || err_r.fd >= 0) {
    pollfd fds[4];
    int n = 0;
    int idx_in = -1, idx_out = -1, idx_err = -1, idx_cancel = -1;
    if (in_w.fd >= 0) { idx_in = n; fds[n++] = {in_w.fd, POLLOUT, 0}; }
    if (out_r.fd >= 0) { idx_out = n; fds[n++] = {out_r.fd, POLLIN, 0}; }
    if (err_r.fd >= 0) { idx_err = n; fds[n++] = {err_r.fd, POLLIN, 0}; }
    if (spec.cancel && !killed) { idx_cancel = n; fds[n++] = {spec.cancel->fd(), POLLIN, 0}; }

    int wait_ms = -1;
    auto now = Clock::now();
    if (killed) {
      if (now >= grace_deadline) break;
      wait_ms = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(grace_deadline - now).count()) + 1;
    } else if (has_deadline) {
      if (now >= deadline) {
        r.timed_out = true;
        kill_group();
        continue;
      }
      wait_ms = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count()) + 1;
    }
    if (spec.cancel && spec.cancel->cancelled() && !killed) {
      r.cancelled = true;
      kill_group();
      continue;
    }
    int ready = poll(fds, n, wait_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      kill_group();
      break;
    }
    if (idx_cancel >= 0 && fds[idx_cancel].revents) {
      r.cancelled = true;
      kill_group();
      continue;
    }
    if (idx_in >= 0 && fds[idx_in].revents) {
      ssize_t w = WriteNoSigpipe(in_w.fd, spec.input.data() + written, spec.input.size() - written);
      if (w > 0) {
        written += static_cast<size_t>(w);
        if (written == spec.input.size()) in_w.Close();
      } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
        in_w.Close();  // EPIPE: the script exited without reading its input
      }
    }
    for (auto [idx, fd, sink] : {std::tuple{idx_out, &out_r, &r.out},
                                 std::tuple{idx_err, &err_r, &r.err}}) {
      if (idx < 0 || !fds[idx].revents) continue;
      ssize_t got = read(fd->fd, buf, sizeof buf);
      if (got > 0) {
        sink->append(buf, static_cast<size_t>(got));
      } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
        fd->Close();
      }
    }
  }
  in_w.Close();
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) {
    r.exited = true;
    r.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
  }
  return r;
}

}  // namespace storage
