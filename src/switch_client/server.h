// A service listening on a message-switch queue (docs/switch-client.md).
//
// Server creates the persistent queue `<queue>` and the transient queue `<queue>.cancel`, and
// long-polls both (each on its own connection: the switch's transfer cursor is one number, so
// one poll cannot follow two queues). Requests are handed to `on_request` in arrival order
// (ascending sequence number; the switch returns batches newest first). The owner answers later,
// from any thread, with Reply(), which sends the Response and then acks the request on a third
// connection. A message `{"queue":"<queue>","id":N}` on `<queue>.cancel` (sent by the switch's
// POST /cancel) calls `on_cancel(N)`.
//
// After the switch restarts, the server logs in again, re-creates both queues and polls them from
// the start; a request it is still working on is not handed out twice, and a Reply made while the
// switch was away is sent once it is back. Reconnection retries with back-off until
// connect_deadline; if that passes, the server stops and reports through the failure callback.
//
// Thread-safety: Reply() may be called from any thread; Start()/Stop() from the owner's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "switch_client/client.h"

namespace msclient {

struct IncomingRequest {
  std::string queue;     // the queue it arrived on
  int64_t id = 0;        // its sequence number there
  std::string body;      // the payload
  std::string reply_to;  // the caller's reply queue
};

class Server {
 public:
  // `on_request` and `on_cancel` run on the server's own thread, one at a time, and must not
  // block (hand the work to another thread). If `on_request` throws, what() is sent as the
  // reply. `on_cancel` may be empty. REQUIRES: the callbacks never destroy this Server (its
  // destructor joins the thread they run on).
  Server(ConnectOptions options, std::string queue,
         std::function<void(IncomingRequest)> on_request,
         std::function<void(int64_t id)> on_cancel);
  // Stops the server.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Called (on the server's thread) if the switch cannot be reached again before the deadline;
  // the server has then stopped. REQUIRES: called before Start().
  void SetOnFailure(std::function<void(const std::string& reason)> on_failure);

  // Connects, logs in, creates the queues and starts polling. Throws UnreachableError if the
  // switch is not there within connect_deadline. REQUIRES: not started.
  void Start();
  // Stops polling and closes the connections; returns within about a second. Replies not yet
  // written are dropped. Idempotent.
  void Stop();

  // Sends `body` as the Response to `request` (to request.reply_to), then acks the request.
  // Does not wait for the switch. Thread-safe.
  void Reply(const IncomingRequest& request, std::string body);

  const std::string& queue() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// A synchronous handler: returns the response payload for a request.
using Handler = std::function<std::string(const IncomingRequest&)>;

enum class ServeMode {
  kSerial,      // one request at a time, in arrival order
  kConcurrent,  // each request on its own thread, as soon as it arrives
};

// A Server whose requests are answered by a synchronous Handler. An exception thrown by the
// handler becomes the response payload (its what()), like the reference.
class HandlerServer {
 public:
  HandlerServer(ConnectOptions options, std::string queue, Handler handler, ServeMode mode);
  ~HandlerServer();
  HandlerServer(const HandlerServer&) = delete;
  HandlerServer& operator=(const HandlerServer&) = delete;

  void SetOnFailure(std::function<void(const std::string& reason)> on_failure);
  // As Server::Start / Server::Stop. Stop also waits for running handlers to return.
  void Start();
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace msclient
