#include "switch_client/http_connection.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <string_view>

#include "switch_client/client.h"

namespace msclient {

namespace {

// The reader re-checks deadlines at least this often (its blocking read times out after this
// long), so a request queued while it is blocked is still timed out close to its deadline.
constexpr int kMaxPollMs = 200;
// A write that cannot make progress for this long means the switch is stuck.
constexpr int kSendTimeoutSeconds = 10;
constexpr size_t kReadChunk = 64 * 1024;

std::string Errno(int err) { return std::strerror(err); }

char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

// REQUIRES: `lower` is lower case.
bool IEquals(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != lower[i]) return false;
  }
  return true;
}

}  // namespace

std::unique_ptr<HttpConnection> HttpConnection::Open(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    throw UnreachableError("cannot connect to the message-switch at " + path +
                           ": the socket path is too long");
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw UnreachableError("cannot create a socket: " + Errno(errno));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    ::close(fd);
    throw UnreachableError("cannot connect to the message-switch at " + path + ": " + Errno(err));
  }
  timeval tv{kSendTimeoutSeconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  // The reader blocks in read() itself (one syscall per wake-up instead of poll() + read());
  // the timeout lets it look at the deadlines.
  timeval rtv{0, kMaxPollMs * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rtv, sizeof rtv);
  return std::unique_ptr<HttpConnection>(new HttpConnection(fd));
}

HttpConnection::HttpConnection(int fd) : fd_(fd) {
  reader_ = std::thread([this] { ReaderLoop(); });
}

HttpConnection::~HttpConnection() {
  Close();
  // Owners close (and so join) before dropping the last reference; detaching only guards
  // against a destructor running on the reader itself.
  std::lock_guard<std::mutex> join_lock(join_mu_);
  if (reader_.joinable()) reader_.detach();
  ::close(fd_);
}

bool HttpConnection::alive() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !dead_;
}

void HttpConnection::SetOnDead(std::function<void()> fn) {
  bool call_now = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (dead_) call_now = true;
    else on_dead_ = std::move(fn);
  }
  if (call_now && fn) fn();
}

bool HttpConnection::Submit(std::string bytes, Clock::time_point deadline,
                            ResponseCallback callback) {
  std::vector<Request> one;
  one.push_back(Request{std::move(bytes), deadline, std::move(callback)});
  return Submit(std::move(one));
}

bool HttpConnection::Submit(std::vector<Request> requests) {
  std::unique_lock<std::mutex> lock(mu_);
  if (dead_) return false;
  for (Request& r : requests) {
    out_ += r.bytes;
    outstanding_.push_back(Outstanding{r.deadline, std::move(r.callback)});
  }
  // Combining writer: if another thread is writing, it will pick our bytes up when its write
  // returns, so concurrent callers share one syscall.
  if (writing_ || corked_ > 0) return true;
  Flush(lock);
  return true;
}

void HttpConnection::Cork() {
  std::lock_guard<std::mutex> lock(mu_);
  ++corked_;
}

void HttpConnection::Uncork() {
  std::unique_lock<std::mutex> lock(mu_);
  if (--corked_ > 0 || writing_ || dead_ || out_.empty()) return;
  Flush(lock);
}

void HttpConnection::Flush(std::unique_lock<std::mutex>& lock) {
  writing_ = true;
  std::string chunk;
  while (!out_.empty() && !dead_) {
    chunk.clear();
    chunk.swap(out_);
    lock.unlock();
    size_t off = 0;
    std::string error;
    while (off < chunk.size()) {
      ssize_t n = ::send(fd_, chunk.data() + off, chunk.size() - off, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error = n < 0 ? Errno(errno) : "write made no progress";
        break;
      }
      off += static_cast<size_t>(n);
    }
    if (!error.empty()) {
      Die("writing to the message-switch failed: " + error);
      lock.lock();
      break;
    }
    lock.lock();
  }
  writing_ = false;
}

HttpResponse HttpConnection::Call(std::string bytes, Clock::time_point deadline) {
  auto promise = std::make_shared<std::promise<HttpResponse>>();
  std::future<HttpResponse> future = promise->get_future();
  bool sent = Submit(std::move(bytes), deadline, [promise](HttpResponse&& r, const std::string& error) {
    if (error.empty()) {
      promise->set_value(std::move(r));
    } else {
      promise->set_exception(std::make_exception_ptr(UnreachableError(error)));
    }
  });
  if (!sent) {
    std::lock_guard<std::mutex> lock(mu_);
    throw UnreachableError(dead_reason_);
  }
  // The reader enforces the deadline too; the margin only covers its polling interval.
  if (future.wait_until(deadline + std::chrono::milliseconds(2 * kMaxPollMs)) !=
      std::future_status::ready) {
    throw TimeoutError("Timeout");
  }
  try {
    return future.get();
  } catch (const UnreachableError& e) {
    if (std::string_view(e.what()) == kTimedOut) throw TimeoutError("Timeout");
    throw;
  }
}

void HttpConnection::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!dead_) {
      dead_ = true;
      dead_reason_ = "the connection to the message-switch was closed";
    }
  }
  ::shutdown(fd_, SHUT_RDWR);
  // Several threads may close at once (an owner and a supervisor); only one may join.
  std::lock_guard<std::mutex> join_lock(join_mu_);
  if (reader_.joinable() && reader_.get_id() != std::this_thread::get_id()) reader_.join();
}

void HttpConnection::Die(const std::string& reason) {
  std::deque<Outstanding> failed;
  std::function<void()> on_dead;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!dead_) {
      dead_ = true;
      dead_reason_ = reason;
    }
    failed.swap(outstanding_);
    on_dead.swap(on_dead_);
  }
  ::shutdown(fd_, SHUT_RDWR);
  std::string why;
  {
    std::lock_guard<std::mutex> lock(mu_);
    why = dead_reason_;
  }
  for (Outstanding& o : failed) {
    if (o.callback) o.callback(HttpResponse{}, why);
  }
  if (on_dead) on_dead();
}

void HttpConnection::ReaderLoop() {
  std::vector<std::pair<ResponseCallback, HttpResponse>> done;
  std::string reason;
  // Read into a fixed chunk and append what arrived: resizing in_ by a whole chunk before each
  // read would zero-fill 64 KiB per wake-up.
  std::unique_ptr<char[]> chunk(new char[kReadChunk]);
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (dead_) {
        reason = dead_reason_;
        break;
      }
      if (!outstanding_.empty() && outstanding_.front().deadline < Clock::now()) {
        reason = kTimedOut;
        break;
      }
    }
    ssize_t n = ::read(fd_, chunk.get(), kReadChunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n <= 0) {
      reason = n == 0 ? "the message-switch closed the connection"
                      : "reading from the message-switch failed: " + Errno(errno);
      break;
    }
    if (in_pos_ > 0 && in_pos_ == in_.size()) {
      in_.clear();
      in_pos_ = 0;
    }
    in_.append(chunk.get(), static_cast<size_t>(n));
    std::string error;
    bool ok = ParseResponses(done, error);
    // Callbacks run without the lock: they may Submit on this connection.
    for (auto& [cb, resp] : done) {
      if (cb) cb(std::move(resp), std::string());
    }
    done.clear();
    if (!ok) {
      reason = error;
      break;
    }
  }
  // Fails whatever is still outstanding (also after Close(), which only marks us dead).
  Die(reason);
}

bool HttpConnection::ParseResponses(std::vector<std::pair<ResponseCallback, HttpResponse>>& done,
                                    std::string& error) {
  for (;;) {
    std::string_view buf(in_.data() + in_pos_, in_.size() - in_pos_);
    size_t header_end = buf.find("\r\n\r\n");
    if (header_end == std::string_view::npos) {
      if (buf.size() > 64 * 1024) {
        error = "the message-switch sent an oversized HTTP header";
        return false;
      }
      break;
    }
    std::string_view head = buf.substr(0, header_end);
    size_t line_end = head.find("\r\n");
    std::string_view status_line = head.substr(0, line_end);
    if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") {
      error = "the message-switch sent a bad status line";
      return false;
    }
    size_t sp = status_line.find(' ');
    int status = 0;
    for (size_t i = sp + 1; i < status_line.size() && i < sp + 4; ++i) {
      char c = status_line[i];
      if (c < '0' || c > '9') {
        error = "the message-switch sent a bad status code";
        return false;
      }
      status = status * 10 + (c - '0');
    }
    long long length = -1;
    size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t e = head.find("\r\n", pos);
      if (e == std::string_view::npos) e = head.size();
      std::string_view line = head.substr(pos, e - pos);
      size_t colon = line.find(':');
      if (colon != std::string_view::npos && IEquals(line.substr(0, colon), "content-length")) {
        std::string_view v = line.substr(colon + 1);
        while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
        length = 0;
        for (char c : v) {
          if (c < '0' || c > '9') break;
          length = length * 10 + (c - '0');
        }
      }
      pos = e + 2;
    }
    if (length < 0) {
      error = "the message-switch sent a response without Content-Length";
      return false;
    }
    size_t total = header_end + 4 + static_cast<size_t>(length);
    if (buf.size() < total) {
      in_.reserve(in_pos_ + total);
      break;
    }
    HttpResponse resp;
    resp.status = status;
    resp.body.assign(buf.substr(header_end + 4, static_cast<size_t>(length)));
    in_pos_ += total;
    ResponseCallback cb;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (outstanding_.empty()) {
        error = "the message-switch sent a response nobody asked for";
        return false;
      }
      cb = std::move(outstanding_.front().callback);
      outstanding_.pop_front();
    }
    done.emplace_back(std::move(cb), std::move(resp));
  }
  if (in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
  } else if (in_pos_ > kReadChunk) {
    in_.erase(0, in_pos_);  // keep a partial response without its handled prefix
    in_pos_ = 0;
  }
  return true;
}

}  // namespace msclient
