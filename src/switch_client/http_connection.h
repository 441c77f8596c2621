// One pipelined HTTP/1.1 connection to the switch over a Unix socket (internal to the library).
//
// Requests are queued with Submit(); whichever thread finds the connection idle writes every
// queued request in one write, so concurrent callers share syscalls. A reader thread parses
// every response in its read buffer and calls the callbacks in request order (the switch answers
// a connection's requests in order). Every request carries a deadline: if the head request's
// deadline passes without an answer, or the socket fails, the connection is dead and every
// outstanding callback gets an error. A dead connection stays dead; the owner opens a new one.
//
// Thread-safety: Submit() from any thread, including from callbacks. Close() from any thread but
// the reader (callbacks must not call it).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace msclient {

struct HttpResponse {
  int status = 0;
  std::string body;
};

// `error` is empty on success; otherwise it says why the connection failed.
using ResponseCallback = std::function<void(HttpResponse&& response, const std::string& error)>;

using Clock = std::chrono::steady_clock;

// The error a callback gets when its request's deadline passed.
inline constexpr char kTimedOut[] = "the message-switch did not answer in time";

class HttpConnection {
 public:
  // Connects to the Unix socket at `path` (one attempt). Throws UnreachableError naming the path
  // and the OS error.
  static std::unique_ptr<HttpConnection> Open(const std::string& path);
  ~HttpConnection();  // Close()

  struct Request {
    std::string bytes;  // a whole HTTP request
    Clock::time_point deadline;
    ResponseCallback callback;  // may be empty
  };
  // Queues requests to be written together. Returns false (and calls nothing) if the
  // connection is already dead: nothing was sent.
  bool Submit(std::vector<Request> requests);
  bool Submit(std::string bytes, Clock::time_point deadline, ResponseCallback callback);

  // Sends `bytes` and waits for the answer until `deadline`. Throws UnreachableError if the
  // connection fails, TimeoutError at the deadline.
  HttpResponse Call(std::string bytes, Clock::time_point deadline);

  // While corked (calls nest), Submit only queues; the last Uncork writes everything queued in
  // one go. Lets a thread answering a batch of requests send all answers in one write.
  void Cork();
  void Uncork();

  bool alive() const;
  // Calls `fn` once when the connection dies (at once if it is dead). Set before use.
  void SetOnDead(std::function<void()> fn);
  // Shuts the socket down, fails outstanding callbacks, joins the reader. Idempotent.
  void Close();

 private:
  explicit HttpConnection(int fd);
  void ReaderLoop();
  void Die(const std::string& reason);
  // Writes out_ until it is empty. REQUIRES: `lock` holds mu_ and writing_ was false.
  void Flush(std::unique_lock<std::mutex>& lock);
  // Parses complete responses from in_; returns false on a framing error.
  bool ParseResponses(std::vector<std::pair<ResponseCallback, HttpResponse>>& done,
                      std::string& error);

  const int fd_;
  std::mutex join_mu_;  // serialises joining reader_
  std::thread reader_;

  mutable std::mutex mu_;
  bool dead_ = false;             // guarded by mu_
  std::string dead_reason_;       // guarded by mu_
  bool writing_ = false;          // a thread is writing out_; guarded by mu_
  int corked_ = 0;                // guarded by mu_
  std::string out_;               // guarded by mu_
  struct Outstanding {
    Clock::time_point deadline;
    ResponseCallback callback;
  };
  std::deque<Outstanding> outstanding_;  // guarded by mu_, in write order
  std::function<void()> on_dead_;        // guarded by mu_
  std::condition_variable cv_;           // outstanding_ became non-empty

  // Only the reader thread touches these.
  std::string in_;
  size_t in_pos_ = 0;
};

}  // namespace msclient
