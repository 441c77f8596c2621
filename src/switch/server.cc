#include <utility>  // before Asio: Boost 1.74 with g++12 and C++20

#include "switch/server.h"

#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <set>
#include <vector>

#include <boost/asio.hpp>
#include <spdlog/spdlog.h>

#include "switch/broker.h"
#include "switch/journal.h"

namespace msw {

namespace asio = boost::asio;
using Local = asio::local::stream_protocol;

namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
// Per-connection backpressure: stop reading while this many answers or bytes wait to be written.
constexpr std::size_t kMaxPendingAnswers = 4096;
constexpr std::size_t kMaxPendingBytes = 32u << 20;

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 507: return "Insufficient Storage";
    default: return "Error";
  }
}

}  // namespace

void AppendHttpResponse(std::string* out, int status, const std::string& body, bool close) {
  out->append("HTTP/1.1 ");
  out->append(std::to_string(status));
  out->push_back(' ');
  out->append(Reason(status));
  out->append("\r\ncontent-length: ");
  out->append(std::to_string(body.size()));
  if (close) out->append("\r\nconnection: close");
  out->append("\r\n\r\n");
  out->append(body);
}

class Connection;

class Server::Impl {
 public:
  Impl(ServerOptions options, Broker* broker, Journal* journal)
      : options_(std::move(options)),
        broker_(broker),
        journal_(journal),
        acceptor_(io_),
        signals_(io_, SIGTERM, SIGINT),
        poll_timer_(io_),
        housekeeping_timer_(io_),
        accept_retry_timer_(io_),
        stop_timer_(io_) {}

  bool Listen(std::string* error);
  int Run();

  // Called after every event that may have changed state or finished answers: makes the
  // journal durable first, then writes the answers, then re-arms the long-poll timer.
  void AfterEvent();
  void MarkDirty(std::shared_ptr<Connection> c) { dirty_.push_back(std::move(c)); }
  void Forget(uint64_t id) { connections_.erase(id); }

  asio::io_context io_;
  ServerOptions options_;
  Broker* broker_;
  Journal* journal_;

 private:
  void Accept();
  bool PeerAllowed(int fd, std::string* who);
  void ArmPollTimer();
  void ArmHousekeeping();
  void Stop(const char* why);

  Local::acceptor acceptor_;
  asio::signal_set signals_;
  asio::steady_timer poll_timer_;
  std::optional<int64_t> armed_deadline_;
  asio::steady_timer housekeeping_timer_;
  asio::steady_timer accept_retry_timer_;
  asio::steady_timer stop_timer_;
  std::map<uint64_t, std::shared_ptr<Connection>> connections_;
  std::vector<std::shared_ptr<Connection>> dirty_;
  uint64_t next_conn_id_ = 1;  // the reference's cohttp connection ids also start at 1
  bool stopping_ = false;
  int exit_code_ = 0;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Server::Impl* server, Local::socket socket, uint64_t id)
      : server_(server), socket_(std::move(socket)), id_(id) {}

  uint64_t id() const { return id_; }

  void StartRead() {
    if (reading_ || closed_ || stop_reading_ || Backlogged()) return;  // resumed by a write
    if (parse_pending_) {
      // Requests already in the buffer were left when the answer backlog was full: handle them
      // before waiting for more bytes (the client may be waiting for our answers).
      parse_pending_ = false;
      ParseAll();
      server_->AfterEvent();
      if (closed_ || stop_reading_ || Backlogged()) return;
    }
    // Keep the unparsed tail at the front, so the buffer does not grow without bound.
    if (parsed_ > 0) {
      in_.erase(0, parsed_);
      parsed_ = 0;
    }
    // Read into a fixed chunk (resizing `in_` first would zero-fill 64 KiB per read).
    if (!chunk_) chunk_.reset(new char[kReadChunk]);
    reading_ = true;
    auto self = shared_from_this();
    socket_.async_read_some(asio::buffer(chunk_.get(), kReadChunk),
                            [self](const boost::system::error_code& ec, std::size_t n) {
                              self->reading_ = false;
                              if (self->closed_) return;
                              self->in_.append(self->chunk_.get(), n);
                              if (ec) {
                                if (ec == asio::error::eof) self->OnEof();
                                else self->Close();
                              } else {
                                self->ParseAll();
                              }
                              self->server_->AfterEvent();
                              self->StartRead();
                            });
  }

  // Fills answer slot `seq` (called at once, or later for a parked long-poll).
  void Answer(uint64_t seq, const Reply& reply) {
    // A slot may be gone: dropped at EOF while the remaining answers are being written.
    if (closed_ || seq < first_slot_ || seq - first_slot_ >= slots_.size()) return;
    Slot& s = slots_[seq - first_slot_];
    s.ready = true;
    AppendHttpResponse(&s.bytes, reply.status, reply.body, s.close);
    server_->MarkDirty(shared_from_this());
  }

  // Moves the finished answers at the front into one buffer and writes it.
  void Flush() {
    if (closed_) return;
    while (!slots_.empty() && slots_.front().ready) {
      Slot& s = slots_.front();
      if (pending_.empty()) pending_.swap(s.bytes);
      else pending_.append(s.bytes);
      if (s.close) close_after_write_ = true;
      slots_.pop_front();
      ++first_slot_;
    }
    if (writing_active_ || pending_.empty()) {
      MaybeFinish();
      return;
    }
    writing_.swap(pending_);
    pending_.clear();
    writing_active_ = true;
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(writing_),
                      [self](const boost::system::error_code& ec, std::size_t) {
                        self->writing_active_ = false;
                        self->writing_.clear();
                        if (self->closed_) return;
                        if (ec) {
                          self->Close();
                          self->server_->AfterEvent();
                          return;
                        }
                        self->Flush();  // may close the connection, ending its session
                        self->server_->AfterEvent();
                        self->StartRead();
                      });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    socket_.close(ignored);
    server_->broker_->ConnectionClosed(id_);
    server_->Forget(id_);
  }

 private:
  struct Slot {
    bool ready = false;
    bool close = false;
    std::string bytes;
  };

  bool Backlogged() const {
    return slots_.size() >= kMaxPendingAnswers ||
           pending_.size() + writing_.size() > kMaxPendingBytes;
  }

  void ParseAll() {
    for (;;) {
      if (stop_reading_) break;
      if (slots_.size() >= kMaxPendingAnswers) {
        parse_pending_ = parsed_ < in_.size();
        break;
      }
      HttpRequest req;
      ParseResult r = ParseHttpRequest(std::string_view(in_).substr(parsed_),
                                       server_->options_.limits, &req);
      if (r.status == ParseStatus::kNeedMore) break;
      uint64_t seq = first_slot_ + slots_.size();
      slots_.emplace_back();
      if (r.status != ParseStatus::kComplete) {
        // The framing is lost: answer, then close.
        stop_reading_ = true;
        slots_.back().close = true;
        int status = r.status == ParseStatus::kTooLarge
                         ? (r.error.find("header") != std::string::npos ? 431 : 413)
                         : 400;
        spdlog::warn("connection {}: {}", id_, r.error);
        Answer(seq, Reply{status, r.error});
        break;
      }
      parsed_ += r.consumed;
      if (!req.keep_alive) {
        stop_reading_ = true;
        slots_.back().close = true;
      }
      std::weak_ptr<Connection> weak = shared_from_this();
      auto reply = server_->broker_->Handle(id_, req, [weak, seq](Reply later) {
        if (auto self = weak.lock()) self->Answer(seq, later);
      });
      if (reply) Answer(seq, *reply);
    }
  }

  void OnEof() {
    // The peer will send no more. Write the answers that are ready, then close; a parked
    // long-poll is abandoned (its caller is gone or has given up), so that the session's
    // transient queues go at once instead of when the poll would have timed out.
    stop_reading_ = true;
    eof_ = true;
    auto first_parked = std::find_if(slots_.begin(), slots_.end(),
                                     [](const Slot& s) { return !s.ready; });
    slots_.erase(first_parked, slots_.end());
    Flush();
  }

  void MaybeFinish() {
    if (closed_ || writing_active_ || !pending_.empty()) return;
    if (close_after_write_ || (eof_ && slots_.empty())) Close();
  }

  Server::Impl* server_;
  Local::socket socket_;
  uint64_t id_;
  std::string in_;                  // received bytes not yet parsed (from parsed_ on)
  std::unique_ptr<char[]> chunk_;   // the read buffer
  std::size_t parsed_ = 0;
  std::deque<Slot> slots_;
  uint64_t first_slot_ = 0;
  std::string pending_;   // answers gathered while a write is in flight
  std::string writing_;   // the buffer of the write in flight
  bool writing_active_ = false;
  bool reading_ = false;
  bool parse_pending_ = false;  // complete requests may remain in in_ (answer backlog was full)
  bool stop_reading_ = false;
  bool eof_ = false;
  bool close_after_write_ = false;
  bool closed_ = false;
};

bool Server::Impl::Listen(std::string* error) {
  const std::string& path = options_.path;
  if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    *error = "socket path too long (max " + std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) +
             " bytes): " + path;
    return false;
  }
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      *error = path + " exists and is not a socket; refusing to replace it";
      return false;
    }
    ::unlink(path.c_str());
  }
  boost::system::error_code ec;
  acceptor_.open(Local(), ec);
  if (!ec) {
    // Bind under a umask that leaves only the owner's bits, so there is no window in which the
    // socket is more open than intended; then widen to the group if asked.
    mode_t old = ::umask(0177);
    acceptor_.bind(Local::endpoint(path), ec);
    ::umask(old);
  }
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    *error = "cannot listen on " + path + ": " + ec.message();
    return false;
  }
  if (options_.group) {
    if (::chown(path.c_str(), static_cast<uid_t>(-1), *options_.group) != 0 ||
        ::chmod(path.c_str(), 0660) != 0) {
      *error = "cannot give " + path + " to group " + std::to_string(*options_.group) + ": " +
               std::strerror(errno);
      return false;
    }
  }
  return true;
}

bool Server::Impl::PeerAllowed(int fd, std::string* who) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    *who = std::string("unknown peer (") + std::strerror(errno) + ")";
    return false;
  }
  *who = "uid " + std::to_string(cred.uid) + " gid " + std::to_string(cred.gid) + " pid " +
         std::to_string(cred.pid);
  if (cred.uid == 0 || cred.uid == ::geteuid()) return true;
  if (!options_.group) return false;
  if (cred.gid == *options_.group) return true;
  // Supplementary groups of the peer's user.
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (::getpwuid_r(cred.uid, &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    return false;
  }
  int n = 64;
  std::vector<gid_t> groups(static_cast<std::size_t>(n));
  if (::getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) < 0) {
    groups.resize(static_cast<std::size_t>(n));
    if (::getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) < 0) return false;
  }
  for (int i = 0; i < n; ++i) {
    if (groups[static_cast<std::size_t>(i)] == *options_.group) return true;
  }
  return false;
}

void Server::Impl::Accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, Local::socket socket) {
    if (stopping_) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      // Out of descriptors (a flood of connections): pause instead of spinning.
      spdlog::warn("accept failed: {}; retrying in 100 ms", ec.message());
      accept_retry_timer_.expires_after(std::chrono::milliseconds(100));
      accept_retry_timer_.async_wait([this](const boost::system::error_code& e) {
        if (!e && !stopping_) Accept();
      });
      return;
    }
    std::string who;
    std::string refusal;
    if (!PeerAllowed(socket.native_handle(), &who)) {
      refusal = "Connection refused: " + who + " may not use this switch";
    } else if (connections_.size() >= options_.max_connections) {
      refusal = "Too many connections (--max-connections " +
                std::to_string(options_.max_connections) + ")";
    }
    if (!refusal.empty()) {
      spdlog::warn("refused a connection: {}", refusal);
      std::string response;
      AppendHttpResponse(&response, refusal.rfind("Too", 0) == 0 ? 503 : 403, refusal, true);
      // Best effort on a fresh socket whose buffer is empty; the peer may already be gone.
      (void)::send(socket.native_handle(), response.data(), response.size(),
                   MSG_NOSIGNAL | MSG_DONTWAIT);
      boost::system::error_code ignored;
      socket.close(ignored);
    } else {
      uint64_t id = next_conn_id_++;
      auto c = std::make_shared<Connection>(this, std::move(socket), id);
      connections_.emplace(id, c);
      c->StartRead();
    }
    Accept();
  });
}

void Server::Impl::AfterEvent() {
  if (journal_ != nullptr) {
    std::string error;
    if (!journal_->Sync(&error) || !journal_->MaybeCompact(broker_->store(), &error)) {
      // The durable state is now uncertain; answering would claim changes that may be lost.
      spdlog::critical("{}; exiting without answering", error);
      std::_Exit(1);
    }
  }
  // Answering may make more connections dirty (never in practice: answers do not call back).
  std::vector<std::shared_ptr<Connection>> dirty;
  dirty.swap(dirty_);
  for (auto& c : dirty) c->Flush();
  ArmPollTimer();
  if (broker_->shutdown_requested() && !stopping_) {
    // Like the reference, exit shortly after answering; the delay lets the answer be written.
    stopping_ = true;
    spdlog::info("shutdown requested by a client");
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    stop_timer_.expires_after(std::chrono::milliseconds(200));
    stop_timer_.async_wait([this](const boost::system::error_code&) { Stop("shutdown request"); });
  }
}

void Server::Impl::ArmPollTimer() {
  // Re-arm only for an earlier deadline: a timer that fires with nothing due just re-arms for
  // the next one, which is cheaper than re-programming it after every answered long-poll.
  std::optional<int64_t> next = broker_->NextDeadline();
  if (!next || (armed_deadline_ && *armed_deadline_ <= *next)) return;
  armed_deadline_ = next;
  int64_t wait_ns = std::max<int64_t>(0, *next - broker_->now_ns());
  poll_timer_.expires_after(std::chrono::nanoseconds(wait_ns));
  poll_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;  // re-armed for an earlier deadline
    armed_deadline_.reset();
    broker_->Expire();
    AfterEvent();
  });
}

void Server::Impl::ArmHousekeeping() {
  housekeeping_timer_.expires_after(std::chrono::seconds(10));
  housekeeping_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    broker_->Housekeeping();
    AfterEvent();
    ArmHousekeeping();
  });
}

void Server::Impl::Stop(const char* why) {
  spdlog::info("stopping: {}", why);
  stopping_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  if (journal_ != nullptr) {
    std::string error;
    if (!journal_->Sync(&error)) {
      spdlog::error("{}", error);
      exit_code_ = 1;
    }
  }
  ::unlink(options_.path.c_str());
  io_.stop();
}

int Server::Impl::Run() {
  signals_.async_wait([this](const boost::system::error_code& ec, int signo) {
    if (!ec) Stop(signo == SIGTERM ? "SIGTERM" : "SIGINT");
  });
  Accept();
  ArmHousekeeping();
  io_.run();
  return exit_code_;
}

Server::Server(ServerOptions options, Broker* broker, Journal* journal)
    : impl_(std::make_unique<Impl>(std::move(options), broker, journal)) {}
Server::~Server() = default;
bool Server::Listen(std::string* error) { return impl_->Listen(error); }
int Server::Run() { return impl_->Run(); }

}  // namespace msw
