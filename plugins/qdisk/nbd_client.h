// A small NBD client (fixed-newstyle handshake with NBD_OPT_GO, simple replies), enough for
// the tests and the benchmark to talk to an export without libnbd's headers: connect by Unix
// socket path or over an already connected descriptor, then read, write and flush, with
// several requests in flight if wanted. Protocol: the NBD protocol document ("Fixed newstyle
// negotiation", "Transmission phase"). Not thread-safe; every wait has a deadline.
#ifndef SMAPI_PLUGINS_QDISK_NBD_CLIENT_H_
#define SMAPI_PLUGINS_QDISK_NBD_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>

namespace qdisk {

class NbdError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class NbdClient {
 public:
  // Connects to the Unix socket `path` and negotiates export `export_name`. Throws NbdError.
  static NbdClient ConnectUnix(const std::string& path, const std::string& export_name,
                               std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Takes ownership of the connected socket `fd` and negotiates `export_name` on it.
  NbdClient(int fd, const std::string& export_name,
            std::chrono::milliseconds timeout = std::chrono::seconds(10));
  NbdClient(NbdClient&& other) noexcept;
  ~NbdClient();

  uint64_t size() const { return size_; }
  bool read_only() const { return read_only_; }

  // Synchronous operations. Throw NbdError with the server's errno on failure.
  void Read(uint64_t offset, uint32_t length, void* out);
  void Write(uint64_t offset, uint32_t length, const void* data);
  void Flush();

  // Pipelined operations: Submit* queues a request and returns at once; Complete sends every
  // queued request, then waits for the next reply (in any order) and returns its handle. `out` of a read must stay valid
  // until its reply has been completed.
  uint64_t SubmitRead(uint64_t offset, uint32_t length, void* out);
  uint64_t SubmitWrite(uint64_t offset, uint32_t length, const void* data);
  uint64_t Complete();
  size_t in_flight() const { return pending_.size(); }

  // Sends NBD_CMD_DISC and closes the connection.
  void Disconnect();

 private:
  void Handshake(const std::string& export_name);
  uint64_t Send(uint16_t type, uint64_t offset, uint32_t length, const void* data);
  void ReadAll(void* buf, size_t n);
  void WriteAll(const void* buf, size_t n);
  void FlushOutput();

  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  uint64_t size_ = 0;
  bool read_only_ = false;
  uint64_t next_handle_ = 1;
  struct Pending {
    uint32_t length;
    void* out;  // null for writes and flushes
  };
  std::map<uint64_t, Pending> pending_;
  // Requests not yet sent: Complete() sends them in one go, so a batch of pipelined requests
  // costs one system call instead of one or two each.
  std::string output_;
  // Bytes received but not yet consumed; replies are read in large chunks for the same reason.
  std::string input_;
  size_t input_pos_ = 0;
};

}  // namespace qdisk

#endif  // SMAPI_PLUGINS_QDISK_NBD_CLIENT_H_
