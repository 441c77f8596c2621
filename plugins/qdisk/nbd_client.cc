#include "nbd_client.h"

#include <endian.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <vector>

namespace qdisk {
namespace {

constexpr uint64_t kNbdMagic = 0x4e42444d41474943ULL;     // "NBDMAGIC"
constexpr uint64_t kOptMagic = 0x49484156454f5054ULL;     // "IHAVEOPT"
constexpr uint64_t kOptReplyMagic = 0x0003e889045565a9ULL;
constexpr uint32_t kRequestMagic = 0x25609513;
constexpr uint32_t kSimpleReplyMagic = 0x67446698;
constexpr uint16_t kFlagFixedNewstyle = 1;
constexpr uint32_t kClientFlagFixedNewstyle = 1, kClientFlagNoZeroes = 2;
constexpr uint32_t kOptGo = 7;
constexpr uint32_t kRepAck = 1, kRepInfo = 3;
constexpr uint16_t kInfoExport = 0;
constexpr uint16_t kTransmitReadOnly = 1 << 1;
constexpr uint16_t kCmdRead = 0, kCmdWrite = 1, kCmdDisc = 2, kCmdFlush = 3;

void Put16(std::vector<char>& b, uint16_t v) {
  v = htobe16(v);
  b.insert(b.end(), reinterpret_cast<char*>(&v), reinterpret_cast<char*>(&v) + 2);
}
void Put32(std::vector<char>& b, uint32_t v) {
  v = htobe32(v);
  b.insert(b.end(), reinterpret_cast<char*>(&v), reinterpret_cast<char*>(&v) + 4);
}
void Put64(std::vector<char>& b, uint64_t v) {
  v = htobe64(v);
  b.insert(b.end(), reinterpret_cast<char*>(&v), reinterpret_cast<char*>(&v) + 8);
}
uint16_t Get16(const char* p) { uint16_t v; std::memcpy(&v, p, 2); return be16toh(v); }
uint32_t Get32(const char* p) { uint32_t v; std::memcpy(&v, p, 4); return be32toh(v); }
uint64_t Get64(const char* p) { uint64_t v; std::memcpy(&v, p, 8); return be64toh(v); }

}  // namespace

NbdClient NbdClient::ConnectUnix(const std::string& path, const std::string& export_name,
                                 std::chrono::milliseconds timeout) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw NbdError("NBD socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    if (fd >= 0) ::close(fd);
    throw NbdError("cannot connect to NBD socket " + path + ": " + std::strerror(err));
  }
  return NbdClient(fd, export_name, timeout);
}

NbdClient::NbdClient(int fd, const std::string& export_name, std::chrono::milliseconds timeout)
    : fd_(fd), timeout_(timeout) {
  try {
    Handshake(export_name);
  } catch (...) {
    ::close(fd_);
    fd_ = -1;
    throw;
  }
}

NbdClient::NbdClient(NbdClient&& other) noexcept
    : fd_(other.fd_),
      timeout_(other.timeout_),
      size_(other.size_),
      read_only_(other.read_only_),
      next_handle_(other.next_handle_),
      pending_(std::move(other.pending_)),
      output_(std::move(other.output_)),
      input_(std::move(other.input_)),
      input_pos_(other.input_pos_) {
  other.fd_ = -1;
}

NbdClient::~NbdClient() {
  if (fd_ >= 0) ::close(fd_);
}

void NbdClient::ReadAll(void* buf, size_t n) {
  char* p = static_cast<char*>(buf);
  while (n > 0) {
    if (input_pos_ < input_.size()) {
      size_t take = std::min(n, input_.size() - input_pos_);
      std::memcpy(p, input_.data() + input_pos_, take);
      input_pos_ += take;
      p += take;
      n -= take;
      continue;
    }
    input_.clear();
    input_pos_ = 0;
    pollfd pfd{fd_, POLLIN, 0};
    int r = ::poll(&pfd, 1, static_cast<int>(timeout_.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) throw NbdError("NBD server did not answer within " +
                               std::to_string(timeout_.count()) + " ms");
    char chunk[1 << 18];
    ssize_t got = ::read(fd_, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) throw NbdError("NBD server closed the connection");
    input_.assign(chunk, static_cast<size_t>(got));
  }
}

void NbdClient::WriteAll(const void* buf, size_t n) {
  const char* p = static_cast<const char*>(buf);
  while (n > 0) {
    ssize_t w = ::send(fd_, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) throw NbdError(std::string("cannot send to NBD server: ") + std::strerror(errno));
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void NbdClient::Handshake(const std::string& export_name) {
  char hello[18];
  ReadAll(hello, sizeof hello);
  if (Get64(hello) != kNbdMagic || Get64(hello + 8) != kOptMagic) {
    throw NbdError("not a newstyle NBD server");
  }
  if (!(Get16(hello + 16) & kFlagFixedNewstyle)) throw NbdError("NBD server is not fixed-newstyle");
  std::vector<char> out;
  Put32(out, kClientFlagFixedNewstyle | kClientFlagNoZeroes);
  Put64(out, kOptMagic);
  Put32(out, kOptGo);
  Put32(out, static_cast<uint32_t>(4 + export_name.size() + 2));
  Put32(out, static_cast<uint32_t>(export_name.size()));
  out.insert(out.end(), export_name.begin(), export_name.end());
  Put16(out, 0);  // no information requests: NBD_INFO_EXPORT comes anyway
  WriteAll(out.data(), out.size());
  bool have_size = false;
  for (;;) {
    char head[20];
    ReadAll(head, sizeof head);
    if (Get64(head) != kOptReplyMagic) throw NbdError("bad NBD option reply magic");
    uint32_t type = Get32(head + 12);
    uint32_t length = Get32(head + 16);
    if (length > (1u << 20)) throw NbdError("NBD option reply too long");
    std::vector<char> data(length);
    if (length) ReadAll(data.data(), length);
    if (type & 0x80000000u) {
      throw NbdError("NBD server refused export '" + export_name + "' (error " +
                     std::to_string(type & 0x7fffffffu) + "): " +
                     std::string(data.begin(), data.end()));
    }
    if (type == kRepInfo && length >= 12 && Get16(data.data()) == kInfoExport) {
      size_ = Get64(data.data() + 2);
      read_only_ = Get16(data.data() + 10) & kTransmitReadOnly;
      have_size = true;
    } else if (type == kRepAck) {
      if (!have_size) throw NbdError("NBD server sent no export size");
      return;
    }
  }
}

uint64_t NbdClient::Send(uint16_t type, uint64_t offset, uint32_t length, const void* data) {
  std::vector<char> req;
  req.reserve(28);
  Put32(req, kRequestMagic);
  Put16(req, 0);
  Put16(req, type);
  uint64_t handle = next_handle_++;
  Put64(req, handle);
  Put64(req, offset);
  Put32(req, length);
  output_.append(req.data(), req.size());
  if (type == kCmdWrite) output_.append(static_cast<const char*>(data), length);
  return handle;
}

void NbdClient::FlushOutput() {
  if (output_.empty()) return;
  std::string out;
  out.swap(output_);
  WriteAll(out.data(), out.size());
}

uint64_t NbdClient::SubmitRead(uint64_t offset, uint32_t length, void* out) {
  uint64_t h = Send(kCmdRead, offset, length, nullptr);
  pending_[h] = Pending{length, out};
  return h;
}

uint64_t NbdClient::SubmitWrite(uint64_t offset, uint32_t length, const void* data) {
  uint64_t h = Send(kCmdWrite, offset, length, data);
  pending_[h] = Pending{0, nullptr};
  return h;
}

uint64_t NbdClient::Complete() {
  FlushOutput();
  char head[16];
  ReadAll(head, sizeof head);
  if (Get32(head) != kSimpleReplyMagic) throw NbdError("bad NBD reply magic");
  uint32_t error = Get32(head + 4);
  uint64_t handle = Get64(head + 8);
  auto it = pending_.find(handle);
  if (it == pending_.end()) throw NbdError("NBD reply for an unknown request");
  Pending p = it->second;
  pending_.erase(it);
  if (error != 0) {
    // A read that failed carries no payload.
    throw NbdError("NBD request failed: " + std::string(std::strerror(static_cast<int>(error))));
  }
  if (p.out && p.length) ReadAll(p.out, p.length);
  return handle;
}

void NbdClient::Read(uint64_t offset, uint32_t length, void* out) {
  SubmitRead(offset, length, out);
  while (!pending_.empty()) Complete();
}

void NbdClient::Write(uint64_t offset, uint32_t length, const void* data) {
  SubmitWrite(offset, length, data);
  while (!pending_.empty()) Complete();
}

void NbdClient::Flush() {
  uint64_t h = Send(kCmdFlush, 0, 0, nullptr);
  pending_[h] = Pending{0, nullptr};
  while (!pending_.empty()) Complete();
}

void NbdClient::Disconnect() {
  if (fd_ < 0) return;
  try {
    Send(kCmdDisc, 0, 0, nullptr);
    FlushOutput();
  } catch (const NbdError&) {
  }
  ::close(fd_);
  fd_ = -1;
}

}  // namespace qdisk
