#include "message_cli/program_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mcli {

namespace {

using Clock = std::chrono::steady_clock;

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

ProgramResult RunProgram(const std::vector<std::string>& argv, const std::string& input,
                         std::chrono::milliseconds timeout) {
  ProgramResult result;
  const std::string& program = argv[0];
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int in_pipe[2], out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) {
    result.error = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    result.error = std::string("pipe: ") + std::strerror(errno);
    ::close(in_pipe[0]);
    ::close(in_pipe[1]);
    return result;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    result.error = std::string("fork: ") + std::strerror(errno);
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1]}) ::close(fd);
    return result;
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv(program.c_str(), args.data());
    const char msg[] = "message-cli: cannot execute the program\n";
    [[maybe_unused]] ssize_t n = ::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here, so the group exists before we might kill it
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  int to_child = in_pipe[1];
  int from_child = out_pipe[0];
  ::fcntl(to_child, F_SETFL, O_NONBLOCK);
  size_t written = 0;
  if (input.empty()) CloseFd(to_child);
  auto deadline = Clock::now() + timeout;
  bool timed_out = false;
  while (from_child >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd fds[2];
    int n = 0;
    fds[n++] = {from_child, POLLIN, 0};
    if (to_child >= 0) fds[n++] = {to_child, POLLOUT, 0};
    int r = ::poll(fds, n, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) break;
    if (fds[0].revents) {
      char buf[65536];
      ssize_t got = ::read(from_child, buf, sizeof buf);
      if (got > 0) result.output.append(buf, static_cast<size_t>(got));
      else if (got == 0 || errno != EINTR) CloseFd(from_child);
    }
    if (n == 2 && fds[1].revents) {
      ssize_t w = ::write(to_child, input.data() + written, input.size() - written);
      if (w > 0) written += static_cast<size_t>(w);
      // EPIPE: the program does not read its input; that is its business.
      if (written == input.size() || (w < 0 && errno != EAGAIN && errno != EINTR)) {
        CloseFd(to_child);
      }
    }
  }
  CloseFd(to_child);
  CloseFd(from_child);
  if (timed_out) ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!result.output.empty() && result.output.back() == '\n') result.output.pop_back();
  if (timed_out) {
    result.error = program + " did not finish within " + std::to_string(timeout.count()) + " ms";
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    result.ok = true;
  } else if (WIFEXITED(status)) {
    result.error = program + " exited with status " + std::to_string(WEXITSTATUS(status));
  } else {
    result.error = program + " was killed by signal " + std::to_string(WTERMSIG(status));
  }
  return result;
}

}  // namespace mcli
