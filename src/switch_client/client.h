// The message-switch client: RPCs to a named queue and the plain operations of the switch's HTTP
// protocol (docs/switch-client.md; wire format in the spec, message-switch.md §1).
//
// A Client holds two connections to the switch, like the reference client: one for requests
// (create, send, ack, list, ...) and one for the reply long-poll on the client's own transient
// reply queue, which is named after `whoami` and created on the first Rpc. Requests written by
// many threads at once are pipelined: every request waiting for a connection goes out in one
// write, and every response in one read buffer is handled before the next read.
//
// Thread-safety: every public method of Client may be called from any number of threads at once.
// Errors are thrown as the SwitchError subclasses below; nothing waits without a deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace msclient {

// How to reach the switch.
struct ConnectOptions {
  // The switch's Unix socket.
  std::string path = "/var/run/message-switch/sock";
  // The session token and the name of the reply queue. Empty means DefaultWhoami().
  std::string whoami;
  // Connecting (and reconnecting after the switch restarts) retries with back-off until this
  // much time has passed, then fails with UnreachableError. Never forever.
  std::chrono::milliseconds connect_deadline{30000};
  // A plain operation (everything but Rpc and Trace) that gets no answer within this time fails
  // with TimeoutError.
  std::chrono::milliseconds request_timeout{60000};
};

// "<basename of argv[0]>:<pid>", the reference's session token, e.g. "message-cli:100".
std::string DefaultWhoami();

// A message's identity: the queue and its per-queue sequence number.
struct MessageId {
  std::string queue;
  int64_t id = 0;
  bool operator==(const MessageId&) const = default;
  auto operator<=>(const MessageId&) const = default;
};

// Base of every error the library throws. what() is a one-line reason a human can act on.
class SwitchError : public std::runtime_error {
 public:
  enum class Kind {
    kTimeout,       // no answer in time; the request may still be queued
    kQueueDeleted,  // the destination queue disappeared (a send was dropped)
    kUnreachable,   // could not connect, or the connection broke and could not be restored
    kCancelled,     // the caller's CancelToken fired
    kProtocol,      // the switch answered with an error status or something unparseable
  };
  SwitchError(Kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

class TimeoutError : public SwitchError {
 public:
  explicit TimeoutError(const std::string& what) : SwitchError(Kind::kTimeout, what) {}
};
class QueueDeletedError : public SwitchError {
 public:
  explicit QueueDeletedError(const std::string& queue)
      : SwitchError(Kind::kQueueDeleted, "The queue " + queue + " has been deleted") {}
};
class UnreachableError : public SwitchError {
 public:
  explicit UnreachableError(const std::string& what) : SwitchError(Kind::kUnreachable, what) {}
};
class CancelledError : public SwitchError {
 public:
  explicit CancelledError(const std::string& what) : SwitchError(Kind::kCancelled, what) {}
};
// The switch answered `status` with `body` (e.g. 404 "Please log in.", 500).
class ProtocolError : public SwitchError {
 public:
  ProtocolError(int status, std::string body, const std::string& what)
      : SwitchError(Kind::kProtocol, what), status_(status), body_(std::move(body)) {}
  int status() const { return status_; }
  const std::string& body() const { return body_; }

 private:
  int status_;
  std::string body_;
};

// Lets one thread cancel another thread's Rpc. Thread-safe; Cancel() is idempotent. A token may
// be shared by several calls; it must outlive every call it is passed to.
class CancelToken {
 public:
  CancelToken();
  ~CancelToken();
  CancelToken(const CancelToken&) = delete;
  CancelToken& operator=(const CancelToken&) = delete;

  void Cancel();
  bool cancelled() const;

  // Internal: calls `fn` once when Cancel() happens (at once if it already has). Returns a handle
  // for Unsubscribe, after which `fn` is never called (and is not running).
  int Subscribe(std::function<void()> fn) const;
  void Unsubscribe(int handle) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

enum class ListFilter { kAll, kAlive };

// The outcome of Client::RpcAsync: the response payload, or the error Rpc would have thrown.
struct RpcResult {
  std::string reply;         // valid when ok()
  std::exception_ptr error;  // a SwitchError subclass, or null
  bool ok() const { return !error; }
  // Returns the reply, or rethrows the error.
  std::string& get() {
    if (error) std::rethrow_exception(error);
    return reply;
  }
};
// Called exactly once per accepted RpcAsync, on one of the library's threads. It must not block
// (it holds up the other replies of its batch); it may call RpcAsync again. An exception
// escaping it is caught and dropped.
using RpcCallback = std::function<void(RpcResult&& result)>;

class Client {
 public:
  // Opens the requests connection and logs in as options.whoami. The reply connection is opened
  // on the first Rpc. Throws UnreachableError if the switch is not there within
  // options.connect_deadline.
  explicit Client(ConnectOptions options);
  // Closes both connections. REQUIRES: no call is running on this client.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const std::string& whoami() const;

  // Sends `body` as a Request to `queue` (creating the queue as a persistent one if needed, like
  // the reference) and waits for the Response. Returns the response payload.
  // Throws TimeoutError ("Timeout") after `timeout`; the request stays queued. Throws
  // CancelledError if `cancel` fires; the switch is then asked to cancel the request
  // (POST /cancel), which tells a server that listens for cancellations. Throws
  // QueueDeletedError if the send was dropped, UnreachableError if the switch cannot be reached
  // again before the deadline. A switch restart during the call is survived: the client logs in
  // again, re-creates its reply queue, polls it from the start, and re-sends a request whose send
  // was never confirmed.
  std::string Rpc(const std::string& queue, const std::string& body,
                  std::chrono::milliseconds timeout, const CancelToken* cancel = nullptr);

  // The same call without a waiting thread: queues the Request and returns; `done` gets the
  // result (or the TimeoutError, QueueDeletedError, UnreachableError Rpc would throw). Many
  // calls in flight share syscalls: sends issued together (and from the callbacks of one batch
  // of replies) go out in one write, and a batch of replies is parsed from one read.
  // Throws at once (and never calls `done`) only if the switch cannot be reached or the reply
  // queue not set up before `timeout`. Unlike Rpc, a call whose send the switch never confirmed
  // (the connection broke) is sent again from a library thread, once per reconnection.
  // Calls still in flight when the Client is destroyed get UnreachableError.
  void RpcAsync(const std::string& queue, std::string body, std::chrono::milliseconds timeout,
                RpcCallback done);

  // The plain operations (spec §1.3). Each throws ProtocolError on a non-200 answer,
  // TimeoutError after request_timeout and UnreachableError if the switch is gone.

  // GET /list/[alive/]prefix: the names, in the switch's order (descending).
  std::vector<std::string> List(const std::string& prefix, ListFilter filter);
  // GET /: the diagnostics JSON text (spec §4.1).
  std::string Diagnostics();
  // GET /trace/from/timeout: the trace JSON text (spec §5.1). Blocks up to `timeout_seconds`;
  // other requests of this client wait behind it.
  std::string Trace(int64_t from, double timeout_seconds);
  void Ack(const MessageId& message);
  void Destroy(const std::string& queue);
  void CreatePersistent(const std::string& queue);
  void CreateTransient(const std::string& queue);
  // POST /request/queue/reply_to. Returns the new message's id, or nullopt if the queue does
  // not exist (the switch dropped the message).
  std::optional<MessageId> Send(const std::string& queue, const std::string& reply_to,
                                const std::string& body);
  // POST /response/queue/request.queue/request.id. Same result as Send.
  std::optional<MessageId> SendResponse(const std::string& queue, const MessageId& request,
                                        const std::string& body);
  // POST /shutdown: the switch exits shortly after answering.
  void Shutdown();

  // The admin routes of our switch (docs/protocol.md).
  // POST /clear/queue: removes every message; returns how many were removed.
  int64_t Clear(const std::string& queue);
  // POST /delete/queue/id: removes one message. Returns false if there was no such message.
  bool Delete(const MessageId& message);
  // POST /cancel/queue/id: removes an unanswered request and sends its caller an error reply.
  // Throws ProtocolError (status 404) if there is no such request.
  void Cancel(const MessageId& message);
  // POST /reply/queue/id: answers the request by hand with `body` and acks it.
  void Reply(const MessageId& message, const std::string& body);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace msclient
