#include "qmp.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace qdisk {
namespace {

using Clock = std::chrono::steady_clock;

int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

}  // namespace

QmpClient::QmpClient(const std::string& path, std::chrono::milliseconds timeout)
    : path_(path), timeout_(timeout) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    throw QmpError("", "QMP socket path too long: " + path);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw QmpError("", std::string("socket: ") + std::strerror(errno));
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    ::close(fd_);
    fd_ = -1;
    throw QmpError("", "cannot connect to qemu-storage-daemon QMP socket " + path + ": " +
                           std::strerror(err));
  }
  try {
    nlohmann::json greeting = ReadMessage("greeting");
    if (!greeting.contains("QMP")) {
      throw QmpError("", "not a QMP greeting on " + path + ": " + greeting.dump());
    }
    Execute("qmp_capabilities");
  } catch (...) {
    ::close(fd_);
    fd_ = -1;
    throw;
  }
}

QmpClient::~QmpClient() {
  if (fd_ >= 0) ::close(fd_);
}

nlohmann::json QmpClient::ReadMessage(const std::string& context) {
  Clock::time_point deadline = Clock::now() + timeout_;
  for (;;) {
    size_t eol = buffer_.find('\n');
    if (eol != std::string::npos) {
      std::string line = buffer_.substr(0, eol);
      buffer_.erase(0, eol + 1);
      if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
      nlohmann::json message = nlohmann::json::parse(line, nullptr, false);
      if (message.is_discarded() || !message.is_object()) {
        throw QmpError("", "bad QMP message from " + path_ + " (" + context + "): " + line);
      }
      return message;
    }
    pollfd p{fd_, POLLIN, 0};
    int n = ::poll(&p, 1, RemainingMs(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      throw QmpError("", "qemu-storage-daemon did not answer " + context + " within " +
                             std::to_string(timeout_.count()) + " ms on " + path_);
    }
    char chunk[65536];
    ssize_t got = ::read(fd_, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      throw QmpError("", "qemu-storage-daemon closed its QMP connection " + path_ +
                             " during " + context);
    }
    buffer_.append(chunk, static_cast<size_t>(got));
  }
}

nlohmann::json QmpClient::Execute(const std::string& command, const nlohmann::json& arguments) {
  nlohmann::json request = {{"execute", command}};
  if (!arguments.is_null()) request["arguments"] = arguments;
  std::string text = request.dump() + "\n";
  size_t sent = 0;
  while (sent < text.size()) {
    ssize_t n = ::send(fd_, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      throw QmpError("", "cannot send " + command + " to qemu-storage-daemon on " + path_ +
                             ": " + std::strerror(errno));
    }
    sent += static_cast<size_t>(n);
  }
  for (;;) {
    nlohmann::json reply = ReadMessage(command);
    if (reply.contains("event")) continue;  // asynchronous; nobody here waits for events
    if (reply.contains("return")) return reply["return"];
    if (reply.contains("error")) {
      const nlohmann::json& e = reply["error"];
      std::string cls = e.value("class", "GenericError");
      std::string desc = e.value("desc", e.dump());
      throw QmpError(cls, command + ": " + desc);
    }
    throw QmpError("", "unexpected QMP reply to " + command + ": " + reply.dump());
  }
}

}  // namespace qdisk
