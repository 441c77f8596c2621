// A blocking client of QMP, the JSON control protocol of qemu-storage-daemon, on a Unix socket.
//
// One connection = one greeting, one `qmp_capabilities`, then commands answered in order.
// Asynchronous events that arrive between answers are skipped. Every read and write has a
// deadline: a daemon that stops answering gives an error, never a hang. Not thread-safe.
#ifndef SMAPI_PLUGINS_QDISK_QMP_H_
#define SMAPI_PLUGINS_QDISK_QMP_H_

#include <chrono>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace qdisk {

// A failure talking to qemu-storage-daemon. `error_class` is QMP's error class (for example
// "GenericError") when the daemon refused a command, or "" when the connection itself failed.
class QmpError : public std::runtime_error {
 public:
  QmpError(std::string error_class, const std::string& what)
      : std::runtime_error(what), error_class_(std::move(error_class)) {}
  const std::string& error_class() const { return error_class_; }

 private:
  std::string error_class_;
};

class QmpClient {
 public:
  // Connects to the QMP socket at `path`, reads the greeting and negotiates capabilities.
  // Throws QmpError if the socket cannot be reached or does not speak QMP within `timeout`.
  QmpClient(const std::string& path, std::chrono::milliseconds timeout);
  ~QmpClient();
  QmpClient(const QmpClient&) = delete;
  QmpClient& operator=(const QmpClient&) = delete;

  // Runs `command` with `arguments` (an object, or null for none) and returns its "return"
  // value. Throws QmpError naming the command when the daemon reports an error, closes the
  // connection, or does not answer before the deadline.
  nlohmann::json Execute(const std::string& command,
                         const nlohmann::json& arguments = nullptr);

 private:
  nlohmann::json ReadMessage(const std::string& context);

  int fd_ = -1;
  std::string path_;
  std::chrono::milliseconds timeout_;
  std::string buffer_;  // bytes received but not yet parsed (QMP messages end with "\r\n")
};

}  // namespace qdisk

#endif  // SMAPI_PLUGINS_QDISK_QMP_H_
