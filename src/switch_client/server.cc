#include "switch_client/server.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "switch_client/connect.h"
#include "switch_client/http_connection.h"
#include "switch_client/json_text.h"
#include "switch_client/protocol.h"

namespace msclient {

namespace {

constexpr double kPollSeconds = 30.0;
constexpr auto kPollGrace = std::chrono::seconds(15);

}  // namespace

class Server::Impl {
 public:
  Impl(ConnectOptions options, std::string queue, std::function<void(IncomingRequest)> on_request,
       std::function<void(int64_t)> on_cancel)
      : opts_(std::move(options)),
        queue_(std::move(queue)),
        cancel_queue_(queue_ + ".cancel"),
        on_request_(std::move(on_request)),
        on_cancel_(std::move(on_cancel)) {
    if (opts_.whoami.empty()) opts_.whoami = DefaultWhoami();
  }

  ~Impl() { Stop(); }

  // The three connections of one period between (re)connections.
  struct Session {
    std::shared_ptr<HttpConnection> poll;    // long-polls queue_
    std::shared_ptr<HttpConnection> cancel;  // long-polls cancel_queue_
    std::shared_ptr<HttpConnection> reply;   // responses and acks
    bool alive() const { return poll->alive() && cancel->alive() && reply->alive(); }
    void Close() {
      poll->Close();
      cancel->Close();
      reply->Close();
    }
  };

  Session Connect() {
    auto deadline = Clock::now() + opts_.connect_deadline;
    Session s;
    s.poll = ConnectAndLogin(opts_.path, opts_.whoami, deadline, &stopping_);
    s.cancel = ConnectAndLogin(opts_.path, opts_.whoami, deadline, &stopping_);
    s.reply = ConnectAndLogin(opts_.path, opts_.whoami, deadline, &stopping_);
    auto d = Clock::now() + opts_.request_timeout;
    ExpectOk(s.reply->Call(HttpRequest("GET", "/persistent/" + EncodeSegment(queue_)), d),
             "creating queue " + queue_);
    ExpectOk(s.reply->Call(HttpRequest("GET", "/transient/" + EncodeSegment(cancel_queue_)), d),
             "creating queue " + cancel_queue_);
    return s;
  }

  void Start() {
    Session s = Connect();
    Begin(s);
    supervisor_ = std::thread([this] { Supervise(); });
  }

  void Stop() {
    stopping_ = true;
    {
      std::lock_guard<std::mutex> lock(mu_);
      cv_.notify_all();
    }
    if (supervisor_.joinable()) supervisor_.join();
    std::optional<Session> s;
    {
      std::lock_guard<std::mutex> lock(mu_);
      s.swap(session_);
    }
    if (s) s->Close();
  }

  // Starts a new period on a fresh session: both polls begin from the start of their queues
  // (a restarted switch may have restarted its sequence numbers).
  void Begin(const Session& s) {
    uint64_t epoch;
    {
      std::lock_guard<std::mutex> lock(mu_);
      session_ = s;
      epoch = ++epoch_;
      confirmed_ = false;
      poll_cursor_.reset();
      cancel_cursor_.reset();
    }
    auto notify = [this] {
      std::lock_guard<std::mutex> lock(mu_);
      cv_.notify_all();
    };
    s.poll->SetOnDead(notify);
    s.cancel->SetOnDead(notify);
    s.reply->SetOnDead(notify);
    // The first poll does not wait: its answer says which requests the switch still holds.
    IssuePoll(s.poll, epoch, 0.0);
    IssueCancelPoll(s.cancel, epoch);
  }

  void Supervise() {
    for (;;) {
      Session s;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !session_->alive(); });
        if (stopping_) return;
        s = *session_;
      }
      s.Close();
      try {
        Begin(Connect());
      } catch (const SwitchError& e) {
        if (stopping_) return;
        if (on_failure_) on_failure_(e.what());
        return;
      }
    }
  }

  void IssuePoll(const std::shared_ptr<HttpConnection>& conn, uint64_t epoch, double timeout) {
    std::optional<int64_t> from;
    {
      std::lock_guard<std::mutex> lock(mu_);
      from = poll_cursor_;
    }
    std::weak_ptr<HttpConnection> weak = conn;
    conn->Submit(HttpRequest("POST", "/transfer", TransferBody(from, timeout, {queue_})),
                 Clock::now() + std::chrono::milliseconds(static_cast<int>(timeout * 1000)) +
                     kPollGrace,
                 [this, weak, epoch](HttpResponse&& r, const std::string& error) {
                   auto conn = weak.lock();
                   if (!error.empty() || stopping_ || !conn) return;
                   OnPoll(conn, r, epoch);
                 });
  }

  void IssueCancelPoll(const std::shared_ptr<HttpConnection>& conn, uint64_t epoch,
                       std::vector<HttpConnection::Request> acks = {}) {
    std::optional<int64_t> from;
    {
      std::lock_guard<std::mutex> lock(mu_);
      from = cancel_cursor_;
    }
    std::weak_ptr<HttpConnection> weak = conn;
    acks.push_back(HttpConnection::Request{
        HttpRequest("POST", "/transfer", TransferBody(from, kPollSeconds, {cancel_queue_})),
        Clock::now() + std::chrono::seconds(static_cast<int>(kPollSeconds)) + kPollGrace,
        [this, weak, epoch](HttpResponse&& r, const std::string& error) {
          auto conn = weak.lock();
          if (!error.empty() || stopping_ || !conn) return;
          OnCancelPoll(conn, r, epoch);
        }});
    conn->Submit(std::move(acks));
  }

  // Runs on the poll connection's reader: the server's own thread.
  void OnPoll(const std::shared_ptr<HttpConnection>& conn, const HttpResponse& r, uint64_t epoch) {
    TransferResult result;
    try {
      if (r.status != 200) throw std::runtime_error("status " + std::to_string(r.status));
      result = ParseTransfer(r.body);
    } catch (const std::exception&) {
      conn->Close();  // the supervisor reconnects
      return;
    }
    // The switch answers newest first; hand requests out in arrival order.
    std::sort(result.messages.begin(), result.messages.end(),
              [](const TransferMessage& a, const TransferMessage& b) { return a.id.id < b.id.id; });
    std::vector<IncomingRequest> deliver;
    std::vector<HttpConnection::Request> replies;
    std::shared_ptr<HttpConnection> reply_conn;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (epoch != epoch_) return;
      if (!poll_cursor_ || result.next > *poll_cursor_) poll_cursor_ = result.next;
      for (TransferMessage& m : result.messages) {
        if (!m.is_request) continue;  // a response in a service queue is not ours to take
        auto it = in_progress_.find(m.id.id);
        if (it != in_progress_.end() && it->second.reply_to == m.reply_to &&
            it->second.body == m.payload) {
          it->second.epoch = epoch_;  // still being worked on: the switch kept it
          continue;
        }
        in_progress_[m.id.id] = InProgress{m.reply_to, m.payload, epoch_};
        deliver.push_back(IncomingRequest{queue_, m.id.id, std::move(m.payload), m.reply_to});
      }
      if (!confirmed_) {
        // Requests of an earlier period that the switch no longer holds are gone (it restarted
        // without its state): answering them could ack a new request that reuses the id.
        confirmed_ = true;
        for (auto it = in_progress_.begin(); it != in_progress_.end();) {
          if (it->second.epoch != epoch_) {
            held_.erase(it->first);
            it = in_progress_.erase(it);
          } else {
            ++it;
          }
        }
        reply_conn = session_->reply;
        for (auto& [id, body] : held_) {
          auto ip = in_progress_.find(id);
          if (ip == in_progress_.end()) continue;
          AddReply(replies, id, ip->second, std::move(body));
          in_progress_.erase(ip);
        }
        held_.clear();
      }
    }
    if (reply_conn && !replies.empty()) reply_conn->Submit(std::move(replies));
    if (!deliver.empty()) {
      // Replies made during the dispatch (an owner answering at once) go out in one write.
      std::shared_ptr<HttpConnection> corked;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (session_) corked = session_->reply;
      }
      if (corked) corked->Cork();
      {
        std::lock_guard<std::mutex> lock(dispatch_mu_);
        for (IncomingRequest& req : deliver) {
          const int64_t id = req.id;
          try {
            on_request_(std::move(req));
          } catch (const std::exception& e) {
            // As in the reference, the failure becomes the reply.
            std::optional<IncomingRequest> again;
            {
              std::lock_guard<std::mutex> lock(mu_);
              auto it = in_progress_.find(id);
              if (it != in_progress_.end()) {
                again = IncomingRequest{queue_, id, it->second.body, it->second.reply_to};
              }
            }
            if (again) Reply(*again, e.what());
          }
        }
      }
      if (corked) corked->Uncork();
    }
    if (!stopping_) IssuePoll(conn, epoch, kPollSeconds);
  }

  void OnCancelPoll(const std::shared_ptr<HttpConnection>& conn, const HttpResponse& r,
                    uint64_t epoch) {
    TransferResult result;
    try {
      if (r.status != 200) throw std::runtime_error("status " + std::to_string(r.status));
      result = ParseTransfer(r.body);
    } catch (const std::exception&) {
      conn->Close();
      return;
    }
    std::vector<HttpConnection::Request> acks;
    std::vector<int64_t> cancelled;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (epoch != epoch_) return;
      if (!cancel_cursor_ || result.next > *cancel_cursor_) cancel_cursor_ = result.next;
      for (const TransferMessage& m : result.messages) {
        acks.push_back({HttpRequest("GET", "/ack/" + EncodeSegment(m.id.queue) + "/" +
                                               std::to_string(m.id.id)),
                        Clock::now() + opts_.request_timeout, nullptr});
        try {
          Json j = ParseJson(m.payload);
          if (!j.is_object() || !j.contains("queue") || !j.contains("id") ||
              j["queue"] != queue_ || !j["id"].is_number_integer()) {
            continue;
          }
          int64_t id = j["id"].get<int64_t>();
          // The switch already answered the caller; a later Reply must not send a second one.
          in_progress_.erase(id);
          held_.erase(id);
          cancelled.push_back(id);
        } catch (const std::exception&) {
          // Not a cancellation notice: ignore it.
        }
      }
    }
    if (on_cancel_) {
      std::lock_guard<std::mutex> lock(dispatch_mu_);
      for (int64_t id : cancelled) {
        try {
          on_cancel_(id);
        } catch (const std::exception&) {
          // The request is gone from the switch either way; nothing to answer.
        }
      }
    }
    if (!stopping_) IssueCancelPoll(conn, epoch, std::move(acks));
  }

  struct InProgress {
    std::string reply_to;
    std::string body;
    uint64_t epoch = 0;
  };

  // REQUIRES: mu_ held. Appends the Response and the ack of request `id`.
  void AddReply(std::vector<HttpConnection::Request>& out, int64_t id, const InProgress& req,
                std::string body) {
    auto d = Clock::now() + opts_.request_timeout;
    // If the connection breaks before the switch confirms the response, keep the reply for the
    // next session (the switch may be restarting).
    out.push_back({HttpRequest("POST",
                               "/response/" + EncodeSegment(req.reply_to) + "/" +
                                   EncodeSegment(queue_) + "/" + std::to_string(id),
                               body),
                   d,
                   [this, id, req, body](HttpResponse&&, const std::string& error) {
                     if (error.empty() || stopping_) return;
                     std::lock_guard<std::mutex> lock(mu_);
                     in_progress_[id] = req;
                     held_[id] = body;
                   }});
    out.push_back({HttpRequest("GET", "/ack/" + EncodeSegment(queue_) + "/" + std::to_string(id)),
                   d, nullptr});
  }

  void Reply(const IncomingRequest& request, std::string body) {
    std::vector<HttpConnection::Request> reqs;
    std::shared_ptr<HttpConnection> conn;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = in_progress_.find(request.id);
      // Already answered, cancelled, or from a switch that has since lost it.
      if (it == in_progress_.end() || it->second.reply_to != request.reply_to ||
          it->second.body != request.body) {
        return;
      }
      if (!session_ || !session_->reply->alive() || !confirmed_ || it->second.epoch != epoch_) {
        held_[request.id] = std::move(body);
        return;
      }
      AddReply(reqs, request.id, it->second, std::move(body));
      in_progress_.erase(it);
      conn = session_->reply;
    }
    conn->Submit(std::move(reqs));
  }

  ConnectOptions opts_;
  const std::string queue_;
  const std::string cancel_queue_;
  const std::function<void(IncomingRequest)> on_request_;
  const std::function<void(int64_t)> on_cancel_;
  std::function<void(const std::string&)> on_failure_;  // set before Start
  std::atomic<bool> stopping_{false};
  std::thread supervisor_;
  std::mutex dispatch_mu_;  // on_request_ and on_cancel_ run one at a time

  std::mutex mu_;
  std::condition_variable cv_;             // a connection died, or stopping
  std::optional<Session> session_;         // guarded by mu_
  uint64_t epoch_ = 0;                     // guarded by mu_
  bool confirmed_ = false;                 // the period's first poll answered; guarded by mu_
  std::optional<int64_t> poll_cursor_;     // guarded by mu_
  std::optional<int64_t> cancel_cursor_;   // guarded by mu_
  std::map<int64_t, InProgress> in_progress_;  // handed out, not yet answered; guarded by mu_
  std::map<int64_t, std::string> held_;        // replies waiting for a session; guarded by mu_
};

Server::Server(ConnectOptions options, std::string queue,
               std::function<void(IncomingRequest)> on_request,
               std::function<void(int64_t id)> on_cancel)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(queue), std::move(on_request),
                                   std::move(on_cancel))) {}
Server::~Server() = default;
void Server::SetOnFailure(std::function<void(const std::string&)> f) {
  impl_->on_failure_ = std::move(f);
}
void Server::Start() { impl_->Start(); }
void Server::Stop() { impl_->Stop(); }
void Server::Reply(const IncomingRequest& request, std::string body) {
  impl_->Reply(request, std::move(body));
}
const std::string& Server::queue() const { return impl_->queue_; }

// ---------------------------------------------------------------------------------------------
// HandlerServer

class HandlerServer::Impl {
 public:
  Impl(ConnectOptions options, std::string queue, Handler handler, ServeMode mode)
      : handler_(std::move(handler)),
        mode_(mode),
        server_(std::move(options), std::move(queue),
                [this](IncomingRequest r) { Enqueue(std::move(r)); }, nullptr) {}

  ~Impl() { Stop(); }

  void Start() {
    server_.Start();
    if (mode_ == ServeMode::kSerial) worker_ = std::thread([this] { SerialLoop(); });
  }

  void Stop() {
    server_.Stop();
    {
      std::unique_lock<std::mutex> lock(mu_);
      stopping_ = true;
      cv_.notify_all();
      cv_.wait(lock, [&] { return running_ == 0; });
    }
    if (worker_.joinable()) worker_.join();
  }

  std::string Handle(const IncomingRequest& r) {
    try {
      return handler_(r);
    } catch (const std::exception& e) {
      return e.what();
    }
  }

  void Enqueue(IncomingRequest r) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    if (mode_ == ServeMode::kSerial) {
      queue_.push_back(std::move(r));
      cv_.notify_all();
      return;
    }
    ++running_;
    std::thread([this, r = std::move(r)] {
      server_.Reply(r, Handle(r));
      std::lock_guard<std::mutex> lock(mu_);
      --running_;
      cv_.notify_all();
    }).detach();
  }

  void SerialLoop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      IncomingRequest r = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
      lock.unlock();
      server_.Reply(r, Handle(r));
      lock.lock();
      --running_;
      cv_.notify_all();
    }
  }

  Handler handler_;
  ServeMode mode_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;             // guarded by mu_
  int running_ = 0;                   // handlers running; guarded by mu_
  std::deque<IncomingRequest> queue_;  // serial mode; guarded by mu_
  std::thread worker_;
  Server server_;  // last: destroyed first, so no callback sees the members above gone
};

HandlerServer::HandlerServer(ConnectOptions options, std::string queue, Handler handler,
                             ServeMode mode)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(queue), std::move(handler),
                                   mode)) {}
HandlerServer::~HandlerServer() = default;
void HandlerServer::SetOnFailure(std::function<void(const std::string&)> f) {
  impl_->server_.SetOnFailure(std::move(f));
}
void HandlerServer::Start() { impl_->Start(); }
void HandlerServer::Stop() { impl_->Stop(); }

}  // namespace msclient
