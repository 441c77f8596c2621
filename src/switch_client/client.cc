#include "switch_client/client.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "switch_client/connect.h"
#include "switch_client/http_connection.h"
#include "switch_client/protocol.h"

namespace msclient {

// ---------------------------------------------------------------------------------------------
// DefaultWhoami, CancelToken

std::string DefaultWhoami() {
  std::string argv0;
  std::ifstream cmdline("/proc/self/cmdline", std::ios::binary);
  std::getline(cmdline, argv0, '\0');
  size_t slash = argv0.rfind('/');
  if (slash != std::string::npos) argv0 = argv0.substr(slash + 1);
  if (argv0.empty()) argv0 = "client";
  return argv0 + ":" + std::to_string(::getpid());
}

struct CancelToken::State {
  mutable std::mutex mu;
  bool cancelled = false;
  int next_handle = 0;
  std::map<int, std::function<void()>> subscribers;
  // Serialises running callbacks with Unsubscribe, so that after Unsubscribe returns the
  // callback is neither running nor going to run.
  std::mutex run_mu;
};

CancelToken::CancelToken() : state_(std::make_unique<State>()) {}
CancelToken::~CancelToken() = default;

void CancelToken::Cancel() {
  std::lock_guard<std::mutex> run(state_->run_mu);
  std::map<int, std::function<void()>> subs;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (state_->cancelled) return;
    state_->cancelled = true;
    subs.swap(state_->subscribers);
  }
  for (auto& [h, fn] : subs) fn();
}

bool CancelToken::cancelled() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->cancelled;
}

int CancelToken::Subscribe(std::function<void()> fn) const {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (!state_->cancelled) {
      int h = ++state_->next_handle;
      state_->subscribers.emplace(h, std::move(fn));
      return h;
    }
  }
  fn();
  return 0;
}

void CancelToken::Unsubscribe(int handle) const {
  std::lock_guard<std::mutex> run(state_->run_mu);
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->subscribers.erase(handle);
}

// ---------------------------------------------------------------------------------------------
// Client

namespace {

// The reference long-polls for 30 s; the connection allows this much more before it gives up.
constexpr double kPollSeconds = 30.0;
constexpr auto kPollGrace = std::chrono::seconds(15);
// Replies nobody has claimed yet (they can overtake their send's answer) are kept this long.
constexpr auto kEarlyReplyLifetime = std::chrono::seconds(60);

// One Rpc in progress. Guarded by its own mutex; Client::Impl::mu_ is taken first when both are.
struct Call {
  enum class State { kSending, kSent, kSendFailed, kDropped, kDone, kFailed };
  std::mutex mu;
  std::condition_variable cv;
  State state = State::kSending;
  std::optional<MessageId> id;
  std::string reply;
  std::string error;
  bool cancelled = false;
  bool abandoned = false;  // the caller gave up: late events must not register it

  // Only for RpcAsync: the callback (taken out when the call finishes, so it runs once), what is
  // needed to send again, and the deadline's entry in Impl::timers_.
  RpcCallback done;
  std::string queue;
  std::string body;
  bool recreated = false;
  bool async = false;
  bool timed = false;  // timer is valid; guarded by Impl::mu_
  std::multimap<Clock::time_point, std::shared_ptr<Call>>::iterator timer;
};

// A finished async call whose callback is to run once no lock is held.
struct Finished {
  RpcCallback done;
  RpcResult result;
};

void RunFinished(std::vector<Finished>& finished) {
  for (Finished& f : finished) {
    if (!f.done) continue;
    try {
      f.done(std::move(f.result));
    } catch (...) {
      // The callback's own failure; it must not take the library's thread (and the other
      // replies of the batch) with it.
    }
  }
  finished.clear();
}

}  // namespace

class Client::Impl {
 public:
  explicit Impl(ConnectOptions options) : opts_(std::move(options)) {
    if (opts_.whoami.empty()) opts_.whoami = DefaultWhoami();
    requests_ = ConnectAndLogin(opts_.path, opts_.whoami, Clock::now() + opts_.connect_deadline);
  }

  ~Impl() {
    {
      // A caller woken by OnTransfer may get here before that handler has written its acks;
      // let it finish (briefly), so the replies do not stay behind in the reply queue.
      std::unique_lock<std::mutex> lock(mu_);
      handled_cv_.wait_for(lock, std::chrono::seconds(1), [&] { return !handling_; });
    }
    stopping_ = true;
    {
      std::lock_guard<std::mutex> lock(mu_);
      poller_cv_.notify_all();
    }
    std::shared_ptr<HttpConnection> events;
    {
      std::lock_guard<std::mutex> lock(mu_);
      events = events_;
    }
    if (events) events->Close();
    if (poller_.joinable()) poller_.join();
    std::shared_ptr<HttpConnection> req;
    {
      std::lock_guard<std::mutex> lock(req_mu_);
      req = requests_;
    }
    if (req) req->Close();
    // Whatever is still in flight can no longer be answered.
    FailAllCalls("the message-switch client was closed");
    std::vector<Finished> finished;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& call : resend_) TakeFinished(call, finished, {}, MakeUnreachable("the message-switch client was closed"));
      resend_.clear();
    }
    RunFinished(finished);
  }

  const std::string& whoami() const { return opts_.whoami; }

  // Returns a live requests connection, reconnecting (once, for everyone) if needed.
  std::shared_ptr<HttpConnection> Requests(Clock::time_point deadline) {
    std::lock_guard<std::mutex> lock(req_mu_);
    if (requests_ && requests_->alive()) return requests_;
    if (requests_) requests_->Close();
    requests_.reset();
    {
      std::lock_guard<std::mutex> l(mu_);
      created_.clear();
    }
    deadline = std::min(deadline, Clock::now() + opts_.connect_deadline);
    std::shared_ptr<HttpConnection> conn =
        ConnectAndLogin(opts_.path, opts_.whoami, deadline, &stopping_);
    bool replies_wanted;
    {
      std::lock_guard<std::mutex> l(mu_);
      replies_wanted = poller_wanted_;
    }
    if (replies_wanted) {
      // The switch may have restarted without its state, and the poller may not have noticed
      // yet: make sure the reply queue exists before anything is sent, or the reply is dropped.
      ExpectOk(conn->Call(HttpRequest("GET", "/transient/" + EncodeSegment(opts_.whoami)),
                          Clock::now() + opts_.request_timeout),
               "creating the reply queue");
    }
    requests_ = conn;
    return requests_;
  }

  // A plain request on the requests connection. A request that could not even be written
  // (the connection had died since its last use) is retried once on a fresh connection; so is an
  // idempotent one whose connection broke.
  HttpResponse Do(const std::string& method, const std::string& path, const std::string& body,
                  bool idempotent, std::optional<Clock::time_point> deadline = std::nullopt) {
    Clock::time_point d = deadline.value_or(Clock::now() + opts_.request_timeout);
    for (int attempt = 0;; ++attempt) {
      std::shared_ptr<HttpConnection> conn = Requests(Clock::now() + opts_.connect_deadline);
      auto promise = std::make_shared<std::promise<HttpResponse>>();
      auto future = promise->get_future();
      bool sent = conn->Submit(HttpRequest(method, path, body), d,
                               [promise](HttpResponse&& r, const std::string& error) {
                                 if (error.empty()) promise->set_value(std::move(r));
                                 else promise->set_exception(std::make_exception_ptr(
                                     error == kTimedOut ? SwitchError(TimeoutError("Timeout"))
                                                        : SwitchError(UnreachableError(error))));
                               });
      if (!sent) {
        if (attempt == 0) continue;
        throw UnreachableError("the connection to the message-switch broke");
      }
      if (future.wait_until(d + std::chrono::milliseconds(500)) != std::future_status::ready) {
        throw TimeoutError("Timeout");
      }
      try {
        return future.get();
      } catch (const SwitchError& e) {
        if (e.kind() == SwitchError::Kind::kTimeout) throw TimeoutError("Timeout");
        if (idempotent && attempt == 0) continue;
        throw UnreachableError(e.what());
      }
    }
  }

  // ------------------------------------------------------------------------------------------
  // The reply side: a poller thread keeps a logged-in events connection with the reply queue
  // created and a transfer outstanding; transfer answers are handled on the connection's reader.

  void EnsureReplyQueue(Clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!poller_.joinable()) {
      poller_failed_.clear();
      poller_ = std::thread([this] { PollerLoop(); });
    } else if (!poller_failed_.empty() && !reply_ready_) {
      // The poller gave up earlier; ask it to try again.
      poller_failed_.clear();
      poller_cv_.notify_all();
    }
    poller_wanted_ = true;
    poller_cv_.notify_all();
    while (!reply_ready_) {
      if (!poller_failed_.empty()) throw UnreachableError(poller_failed_);
      if (poller_cv_.wait_until(lock, deadline) == std::cv_status::timeout && !reply_ready_) {
        throw TimeoutError("Timeout");
      }
    }
  }

  void PollerLoop() {
    while (!stopping_) {
      std::shared_ptr<HttpConnection> conn;
      try {
        conn = ConnectAndLogin(opts_.path, opts_.whoami, Clock::now() + opts_.connect_deadline,
                               &stopping_);
        HttpResponse r = conn->Call(HttpRequest("GET", "/transient/" + EncodeSegment(opts_.whoami)),
                                    Clock::now() + opts_.request_timeout);
        ExpectOk(r, "creating the reply queue");
      } catch (const SwitchError& e) {
        if (conn) conn->Close();
        FailAllCalls(e.what());
        std::unique_lock<std::mutex> lock(mu_);
        poller_failed_ = e.what();
        poller_cv_.notify_all();
        // Wait for a new caller to ask again (EnsureReplyQueue clears poller_failed_).
        poller_cv_.wait(lock, [&] { return stopping_ || poller_failed_.empty(); });
        continue;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        events_ = conn;
        cursor_.reset();  // a restarted switch may have restarted the sequence numbers
        reply_ready_ = true;
        reply_ready_fast_ = true;
        poller_cv_.notify_all();
      }
      conn->SetOnDead([this] {
        std::lock_guard<std::mutex> lock(mu_);
        poller_cv_.notify_all();
      });
      IssueTransfer(conn, {});
      {
        std::unique_lock<std::mutex> lock(mu_);
        for (;;) {
          if (stopping_ || !conn->alive()) break;
          Housekeep(lock);
          if (stopping_ || !conn->alive()) break;
          if (!resend_.empty()) continue;
          poller_wake_ = timers_.empty() ? Clock::now() + std::chrono::hours(1)
                                         : timers_.begin()->first;
          poller_cv_.wait_until(lock, poller_wake_);
        }
        poller_wake_ = Clock::time_point::max();
        reply_ready_ = false;
        reply_ready_fast_ = false;
        events_.reset();
      }
      conn->Close();
    }
  }

  void IssueTransfer(const std::shared_ptr<HttpConnection>& conn,
                     std::vector<HttpConnection::Request> acks) {
    std::optional<int64_t> from;
    {
      std::lock_guard<std::mutex> lock(mu_);
      from = cursor_;
    }
    std::weak_ptr<HttpConnection> weak = conn;
    acks.push_back(HttpConnection::Request{
        HttpRequest("POST", "/transfer", TransferBody(from, kPollSeconds, {opts_.whoami})),
        Clock::now() + std::chrono::seconds(static_cast<int>(kPollSeconds)) + kPollGrace,
        [this, weak](HttpResponse&& r, const std::string& error) {
          if (!error.empty() || stopping_) return;  // the poller notices the dead connection
          auto conn = weak.lock();
          if (!conn) return;
          OnTransfer(conn, r);
        }});
    conn->Submit(std::move(acks));
  }

  // Runs on the events connection's reader thread.
  void OnTransfer(const std::shared_ptr<HttpConnection>& conn, const HttpResponse& r) {
    TransferResult result;
    try {
      if (r.status != 200) throw std::runtime_error("status " + std::to_string(r.status));
      result = ParseTransfer(r.body);
    } catch (const std::exception& e) {
      // Not something to retry blindly: drop the connection and let the poller start over.
      conn->Close();
      return;
    }
    std::vector<HttpConnection::Request> acks;
    acks.reserve(result.messages.size() + 1);
    std::vector<std::pair<std::shared_ptr<Call>, std::string>> completed;
    std::vector<Finished> finished;
    auto now = Clock::now();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!cursor_ || result.next > *cursor_) cursor_ = result.next;
      handling_ = true;
      for (TransferMessage& m : result.messages) {
        // Everything in our reply queue is ours to remove, also replies to calls that gave up
        // (the reference leaves those behind for ever).
        acks.push_back(HttpConnection::Request{
            HttpRequest("GET", "/ack/" + EncodeSegment(m.id.queue) + "/" + std::to_string(m.id.id)),
            now + opts_.request_timeout, nullptr});
        if (m.is_request) continue;
        auto it = pending_.find(m.request);
        if (it != pending_.end()) {
          if (it->second->async) {
            TakeFinished(it->second, finished, std::move(m.payload), nullptr);
          } else {
            completed.emplace_back(it->second, std::move(m.payload));
          }
          pending_.erase(it);
        } else {
          early_[m.request] = EarlyReply{std::move(m.payload), now};
        }
      }
      if (!early_.empty()) {
        for (auto it = early_.begin(); it != early_.end();) {
          if (now - it->second.when > kEarlyReplyLifetime) it = early_.erase(it);
          else ++it;
        }
      }
    }
    // The acks go out on the requests connection, in one write with the sends the woken
    // callers and the callbacks make (so their answers arrive in one read, and the events
    // connection wakes only for replies); queued before anyone wakes, so that a caller's next
    // request comes after them. If that connection is being re-established, they go with the
    // next transfer instead. The destructor waits for handling_ to clear, so a caller that exits
    // at once does not leave its reply behind.
    std::shared_ptr<HttpConnection> req;
    {
      std::unique_lock<std::mutex> lock(req_mu_, std::try_to_lock);
      if (lock.owns_lock() && requests_ && requests_->alive()) req = requests_;
    }
    if (req) {
      req->Cork();
      // Best effort, as acks are: if the connection died just now, they are lost with it.
      if (!acks.empty()) req->Submit(std::move(acks));
      acks.clear();
    }
    for (auto& [call, payload] : completed) Complete(call, std::move(payload));
    RunFinished(finished);
    if (req) req->Uncork();
    if (!stopping_) IssueTransfer(conn, std::move(acks));
    std::lock_guard<std::mutex> lock(mu_);
    handling_ = false;
    handled_cv_.notify_all();
  }

  static void Complete(const std::shared_ptr<Call>& call, std::string reply) {
    std::lock_guard<std::mutex> lock(call->mu);
    if (call->state == Call::State::kDone || call->state == Call::State::kFailed) return;
    call->state = Call::State::kDone;
    call->reply = std::move(reply);
    call->cv.notify_all();
  }

  void FailAllCalls(const std::string& error) {
    std::vector<Finished> finished;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& [id, call] : pending_) {
        if (call->async) {
          TakeFinished(call, finished, {}, MakeUnreachable(error));
          continue;
        }
        std::lock_guard<std::mutex> l(call->mu);
        call->state = Call::State::kFailed;
        call->error = error;
        call->cv.notify_all();
      }
      pending_.clear();
    }
    RunFinished(finished);
  }

  static std::exception_ptr MakeUnreachable(const std::string& error) {
    return std::make_exception_ptr(UnreachableError(error));
  }

  // Ends an async call: drops its deadline and moves its callback, with the result, to
  // `finished` (nothing if it had already ended). REQUIRES: mu_ held, call->mu not held.
  void TakeFinished(const std::shared_ptr<Call>& call, std::vector<Finished>& finished,
                    std::string reply, std::exception_ptr error) {
    if (call->timed) {
      call->timed = false;
      timers_.erase(call->timer);
    }
    std::lock_guard<std::mutex> l(call->mu);
    if (!call->done) return;
    call->state = error ? Call::State::kFailed : Call::State::kDone;
    call->abandoned = true;
    finished.push_back(Finished{std::move(call->done), RpcResult{std::move(reply), error}});
    call->done = nullptr;
  }

  // ------------------------------------------------------------------------------------------
  // RpcAsync

  void RpcAsync(const std::string& queue, std::string body, std::chrono::milliseconds timeout,
                RpcCallback done) {
    auto deadline = Clock::now() + timeout;
    if (!reply_ready_fast_.load(std::memory_order_acquire)) EnsureReplyQueue(deadline);
    std::shared_ptr<HttpConnection> conn = Requests(deadline);
    auto call = std::make_shared<Call>();
    call->async = true;
    call->done = std::move(done);
    call->queue = queue;
    call->body = std::move(body);
    {
      std::lock_guard<std::mutex> lock(mu_);
      call->timer = timers_.emplace(deadline, call);
      call->timed = true;
      if (deadline < poller_wake_) poller_cv_.notify_all();
    }
    SubmitSend(conn, call->queue, call->body, call);
  }

  // Poller thread, mu_ held via `lock`: ends async calls past their deadline and sends again
  // those whose send was lost with a broken connection. Returns when the next deadline is due.
  void Housekeep(std::unique_lock<std::mutex>& lock) {
    std::vector<Finished> finished;
    auto now = Clock::now();
    while (!timers_.empty() && timers_.begin()->first <= now) {
      std::shared_ptr<Call> call = timers_.begin()->second;
      if (call->id) {
        auto it = pending_.find(*call->id);
        if (it != pending_.end() && it->second == call) pending_.erase(it);
      }
      TakeFinished(call, finished, {}, std::make_exception_ptr(TimeoutError("Timeout")));
    }
    std::vector<std::shared_ptr<Call>> resend;
    resend.swap(resend_);
    if (finished.empty() && resend.empty()) return;
    lock.unlock();
    RunFinished(finished);
    for (auto& call : resend) {
      {
        std::lock_guard<std::mutex> l(call->mu);
        if (!call->done) continue;  // it ended meanwhile (timed out)
        call->state = Call::State::kSending;
      }
      try {
        SubmitSend(Requests(Clock::now() + opts_.connect_deadline), call->queue, call->body, call);
      } catch (const SwitchError& e) {
        {
          std::lock_guard<std::mutex> l(mu_);
          TakeFinished(call, finished, {}, MakeUnreachable(e.what()));
        }
        RunFinished(finished);
      }
    }
    lock.lock();
  }

  // ------------------------------------------------------------------------------------------

  std::string Rpc(const std::string& queue, const std::string& body,
                  std::chrono::milliseconds timeout, const CancelToken* cancel) {
    auto deadline = Clock::now() + timeout;
    if (cancel && cancel->cancelled()) throw CancelledError("Cancelled");
    EnsureReplyQueue(deadline);
    auto call = std::make_shared<Call>();
    int cancel_handle = 0;
    if (cancel) {
      cancel_handle = cancel->Subscribe([call] {
        std::lock_guard<std::mutex> lock(call->mu);
        call->cancelled = true;
        call->cv.notify_all();
      });
    }
    struct Unsub {
      const CancelToken* token;
      int handle;
      ~Unsub() {
        if (token && handle) token->Unsubscribe(handle);
      }
    } unsub{cancel, cancel_handle};

    bool recreated = false;
    for (;;) {
      std::shared_ptr<HttpConnection> conn;
      try {
        conn = Requests(deadline);
      } catch (const UnreachableError&) {
        Abandon(call);
        throw;
      }
      SubmitSend(conn, queue, body, call);
      std::unique_lock<std::mutex> lock(call->mu);
      call->cv.wait_until(lock, deadline, [&] {
        return call->cancelled || (call->state != Call::State::kSending &&
                                   call->state != Call::State::kSent);
      });
      if (call->state == Call::State::kDone) return std::move(call->reply);
      if (call->cancelled) {
        lock.unlock();
        Abandon(call);
        CancelOnSwitch(call);
        throw CancelledError("Cancelled");
      }
      if (call->state == Call::State::kFailed) {
        std::string error = call->error;
        lock.unlock();
        Abandon(call);
        throw UnreachableError(error);
      }
      if (Clock::now() >= deadline) {
        lock.unlock();
        Abandon(call);
        throw TimeoutError("Timeout");
      }
      if (call->state == Call::State::kDropped) {
        // The queue was destroyed since we created it: create it again, once.
        if (recreated) {
          lock.unlock();
          Abandon(call);
          throw QueueDeletedError(queue);
        }
        recreated = true;
        call->state = Call::State::kSending;
        lock.unlock();
        std::lock_guard<std::mutex> l(mu_);
        created_.erase(queue);
        continue;
      }
      // kSendFailed: the connection broke before the switch confirmed the send; the switch may
      // have restarted. Send again on a fresh connection (services must be idempotent).
      call->state = Call::State::kSending;
    }
  }

  void SubmitSend(const std::shared_ptr<HttpConnection>& conn, const std::string& queue,
                  const std::string& body, const std::shared_ptr<Call>& call) {
    std::vector<HttpConnection::Request> reqs;
    auto d = Clock::now() + opts_.request_timeout;
    bool create = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      create = created_.insert(queue).second;
    }
    if (create) {
      reqs.push_back({HttpRequest("GET", "/persistent/" + EncodeSegment(queue)), d, nullptr});
    }
    reqs.push_back(
        {HttpRequest("POST",
                     "/request/" + EncodeSegment(queue) + "/" + EncodeSegment(opts_.whoami), body),
         d, [this, call, queue, weak = std::weak_ptr<HttpConnection>(conn)](
                HttpResponse&& r, const std::string& error) {
           OnSendAnswer(call, queue, r, error, weak);
         }});
    if (!conn->Submit(std::move(reqs))) {
      if (call->async) {
        std::lock_guard<std::mutex> lock(mu_);
        resend_.push_back(call);
        poller_cv_.notify_all();
        return;
      }
      std::lock_guard<std::mutex> lock(call->mu);
      call->state = Call::State::kSendFailed;
      call->cv.notify_all();
    }
  }

  void OnSendAnswer(const std::shared_ptr<Call>& call, const std::string& queue,
                    const HttpResponse& r, const std::string& error,
                    const std::weak_ptr<HttpConnection>& weak) {
    std::optional<MessageId> id;
    std::string failure;
    if (!error.empty()) {
      failure = error;
    } else {
      try {
        ExpectOk(r, "a send to " + queue);
        id = ParseSendResult(r.body);
      } catch (const std::exception& e) {
        failure = e.what();
      }
    }
    if (call->async) {
      OnAsyncSendAnswer(call, std::move(id), failure, error.empty(), weak);
      return;
    }
    std::unique_lock<std::mutex> lock(mu_);
    std::unique_lock<std::mutex> l(call->mu);
    if (call->abandoned) {
      // Cancelled before the switch told us the request's id: cancel it now that we know.
      bool cancel = call->cancelled && id;
      l.unlock();
      lock.unlock();
      auto conn = weak.lock();
      if (cancel && conn) {
        conn->Submit(HttpRequest("POST", "/cancel/" + EncodeSegment(id->queue) + "/" +
                                             std::to_string(id->id)),
                     Clock::now() + opts_.request_timeout, nullptr);
      }
      return;
    }
    if (!failure.empty()) {
      // A refusal by a live switch is final; a broken connection is worth another send.
      call->state = error.empty() ? Call::State::kFailed : Call::State::kSendFailed;
      call->error = failure;
    } else if (!id) {
      call->state = Call::State::kDropped;
    } else {
      call->id = id;
      auto early = early_.find(*id);
      if (early != early_.end()) {
        call->state = Call::State::kDone;
        call->reply = std::move(early->second.payload);
        early_.erase(early);
      } else {
        call->state = Call::State::kSent;
        pending_[*id] = call;
      }
    }
    call->cv.notify_all();
  }

  void OnAsyncSendAnswer(const std::shared_ptr<Call>& call, std::optional<MessageId> id,
                         const std::string& failure, bool switch_answered,
                         const std::weak_ptr<HttpConnection>& weak) {
    std::vector<Finished> finished;
    bool send_again = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      {
        std::lock_guard<std::mutex> l(call->mu);
        if (!call->done) return;  // it already ended (timed out)
      }
      if (!failure.empty()) {
        if (switch_answered || stopping_) {
          TakeFinished(call, finished, {}, MakeUnreachable(failure));
        } else {
          // The connection broke before the switch confirmed the send; the poller thread sends
          // it again on a fresh connection (services must be idempotent).
          resend_.push_back(call);
          poller_cv_.notify_all();
        }
      } else if (!id) {
        // The queue was destroyed since we created it: create it again, once.
        if (call->recreated) {
          TakeFinished(call, finished, {},
                       std::make_exception_ptr(QueueDeletedError(call->queue)));
        } else {
          call->recreated = true;
          created_.erase(call->queue);
          send_again = true;
        }
      } else {
        auto early = early_.find(*id);
        if (early != early_.end()) {
          TakeFinished(call, finished, std::move(early->second.payload), nullptr);
          early_.erase(early);
        } else {
          {
            std::lock_guard<std::mutex> l(call->mu);
            call->id = id;
            call->state = Call::State::kSent;
          }
          pending_.emplace(std::move(*id), call);
        }
      }
    }
    if (send_again) {
      if (auto conn = weak.lock()) {
        SubmitSend(conn, call->queue, call->body, call);
      } else {
        std::lock_guard<std::mutex> lock(mu_);
        resend_.push_back(call);
        poller_cv_.notify_all();
      }
    }
    RunFinished(finished);
  }

  void Abandon(const std::shared_ptr<Call>& call) {
    std::lock_guard<std::mutex> lock(mu_);
    std::lock_guard<std::mutex> l(call->mu);
    call->abandoned = true;
    if (call->id) {
      auto it = pending_.find(*call->id);
      if (it != pending_.end() && it->second == call) pending_.erase(it);
    }
  }

  // Best effort: asks the switch to cancel the request, which tells its server.
  void CancelOnSwitch(const std::shared_ptr<Call>& call) {
    std::optional<MessageId> id;
    {
      std::lock_guard<std::mutex> l(call->mu);
      id = call->id;
    }
    if (!id) return;
    std::shared_ptr<HttpConnection> conn;
    {
      std::lock_guard<std::mutex> lock(req_mu_);
      conn = requests_;
    }
    if (!conn) return;
    conn->Submit(HttpRequest("POST", "/cancel/" + EncodeSegment(id->queue) + "/" +
                                         std::to_string(id->id)),
                 Clock::now() + opts_.request_timeout, nullptr);
  }

  ConnectOptions opts_;
  std::atomic<bool> stopping_{false};

  std::mutex req_mu_;  // guards requests_ and serialises reconnecting it
  std::shared_ptr<HttpConnection> requests_;

  std::mutex mu_;
  std::condition_variable poller_cv_;
  std::condition_variable handled_cv_;  // handling_ became false
  std::thread poller_;
  bool poller_wanted_ = false;                           // guarded by mu_
  std::string poller_failed_;                            // guarded by mu_
  bool reply_ready_ = false;                             // guarded by mu_
  std::shared_ptr<HttpConnection> events_;               // guarded by mu_
  bool handling_ = false;  // OnTransfer is between waking callers and writing acks; mu_
  std::optional<int64_t> cursor_;                        // guarded by mu_
  std::map<MessageId, std::shared_ptr<Call>> pending_;   // guarded by mu_
  struct EarlyReply {
    std::string payload;
    Clock::time_point when;
  };
  std::map<MessageId, EarlyReply> early_;                // guarded by mu_
  std::set<std::string> created_;  // queues created on the current requests connection; mu_
  // RpcAsync: deadlines of async calls, calls to send again (poller thread), and when the
  // poller will next look at the deadlines. Guarded by mu_.
  std::multimap<Clock::time_point, std::shared_ptr<Call>> timers_;
  std::vector<std::shared_ptr<Call>> resend_;
  Clock::time_point poller_wake_ = Clock::time_point::max();
  std::atomic<bool> reply_ready_fast_{false};  // reply_ready_, readable without mu_
};

Client::Client(ConnectOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Client::~Client() = default;

const std::string& Client::whoami() const { return impl_->whoami(); }

std::string Client::Rpc(const std::string& queue, const std::string& body,
                        std::chrono::milliseconds timeout, const CancelToken* cancel) {
  return impl_->Rpc(queue, body, timeout, cancel);
}

void Client::RpcAsync(const std::string& queue, std::string body,
                      std::chrono::milliseconds timeout, RpcCallback done) {
  impl_->RpcAsync(queue, std::move(body), timeout, std::move(done));
}

namespace {
std::string Seg(const std::string& s) { return EncodeSegment(s); }
}  // namespace

std::vector<std::string> Client::List(const std::string& prefix, ListFilter filter) {
  HttpResponse r = impl_->Do(
      "GET", std::string(filter == ListFilter::kAlive ? "/list/alive/" : "/list/") + Seg(prefix),
      "", true);
  ExpectOk(r, "list");
  try {
    return ParseNameList(r.body);
  } catch (const std::exception& e) {
    throw ProtocolError(r.status, r.body, std::string("bad list answer: ") + e.what());
  }
}

std::string Client::Diagnostics() {
  HttpResponse r = impl_->Do("GET", "/", "", true);
  ExpectOk(r, "diagnostics");
  return std::move(r.body);
}

std::string Client::Trace(int64_t from, double timeout_seconds) {
  char t[64];
  std::snprintf(t, sizeof t, "%.16g", timeout_seconds);
  auto deadline = Clock::now() + impl_->opts_.request_timeout +
                  std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1000));
  HttpResponse r = impl_->Do("GET", "/trace/" + std::to_string(from) + "/" + t, "", true, deadline);
  ExpectOk(r, "trace");
  return std::move(r.body);
}

void Client::Ack(const MessageId& m) {
  ExpectOk(impl_->Do("GET", "/ack/" + Seg(m.queue) + "/" + std::to_string(m.id), "", true), "ack");
}

void Client::Destroy(const std::string& queue) {
  ExpectOk(impl_->Do("GET", "/destroy/" + Seg(queue), "", true), "destroy");
}

void Client::CreatePersistent(const std::string& queue) {
  ExpectOk(impl_->Do("GET", "/persistent/" + Seg(queue), "", true), "create");
}

void Client::CreateTransient(const std::string& queue) {
  ExpectOk(impl_->Do("GET", "/transient/" + Seg(queue), "", true), "create");
}

std::optional<MessageId> Client::Send(const std::string& queue, const std::string& reply_to,
                                      const std::string& body) {
  HttpResponse r = impl_->Do("POST", "/request/" + Seg(queue) + "/" + Seg(reply_to), body, false);
  ExpectOk(r, "send");
  try {
    return ParseSendResult(r.body);
  } catch (const std::exception& e) {
    throw ProtocolError(r.status, r.body, std::string("bad send answer: ") + e.what());
  }
}

std::optional<MessageId> Client::SendResponse(const std::string& queue, const MessageId& request,
                                              const std::string& body) {
  HttpResponse r = impl_->Do("POST",
                             "/response/" + Seg(queue) + "/" + Seg(request.queue) + "/" +
                                 std::to_string(request.id),
                             body, false);
  ExpectOk(r, "send");
  try {
    return ParseSendResult(r.body);
  } catch (const std::exception& e) {
    throw ProtocolError(r.status, r.body, std::string("bad send answer: ") + e.what());
  }
}

void Client::Shutdown() { ExpectOk(impl_->Do("POST", "/shutdown", "", false), "shutdown"); }

int64_t Client::Clear(const std::string& queue) {
  HttpResponse r = impl_->Do("POST", "/clear/" + Seg(queue), "", false);
  ExpectOk(r, "clear");
  try {
    size_t used = 0;
    int64_t n = std::stoll(r.body, &used);
    if (used == r.body.size()) return n;
  } catch (const std::exception&) {
  }
  throw ProtocolError(r.status, r.body, "bad clear answer: " + r.body);
}

bool Client::Delete(const MessageId& m) {
  HttpResponse r =
      impl_->Do("POST", "/delete/" + Seg(m.queue) + "/" + std::to_string(m.id), "", false);
  if (r.status == 404 && r.body == "No such message") return false;
  ExpectOk(r, "delete");
  return true;
}

void Client::Cancel(const MessageId& m) {
  ExpectOk(impl_->Do("POST", "/cancel/" + Seg(m.queue) + "/" + std::to_string(m.id), "", false),
           "cancel");
}

void Client::Reply(const MessageId& m, const std::string& body) {
  ExpectOk(impl_->Do("POST", "/reply/" + Seg(m.queue) + "/" + std::to_string(m.id), body, false),
           "reply");
}

}  // namespace msclient
