// The switch's network side: a Unix-socket HTTP/1.1 server around a Broker.
//
// Shape of the loop (one thread, Boost.Asio; Asio stays out of this header):
//   accept -> check peer credentials -> read what the socket has -> parse every complete request
//   in the buffer -> hand each to the broker -> journal sync -> write all finished answers of
//   every touched connection, one write per connection.
// Answers on one connection go out in request order; a parked long-poll holds back only the
// answers behind it, while the requests behind it are still handled.
//
// Access control: the socket is created mode 0600 (0660 and chgrp'd with a group), and every
// connection's SO_PEERCRED uid must be root or ours, or its gid/groups must include the group.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "switch/http_parser.h"

namespace msw {

class Broker;
class Journal;

struct ServerOptions {
  std::string path;                 // the socket path
  std::optional<gid_t> group;       // --group: also admit this group; socket mode 0660
  std::size_t max_connections = 1024;
  HttpLimits limits;
};

class Server {
 public:
  // `broker` and `journal` (may be null) must outlive the server.
  Server(ServerOptions options, Broker* broker, Journal* journal);
  ~Server();

  // Creates the socket (replacing a stale socket file, never any other kind of file).
  // Returns false with `*error` on failure.
  bool Listen(std::string* error);

  // Serves until SIGTERM/SIGINT or a shutdown request. Returns the process exit code.
  int Run();

  class Impl;  // internal (server.cc); public only so that connection objects can name it

 private:
  std::unique_ptr<Impl> impl_;
};

// Formats a complete HTTP/1.1 response with only a content-length header (and
// "connection: close" when the connection is about to close), like the reference.
void AppendHttpResponse(std::string* out, int status, const std::string& body, bool close);

}  // namespace msw
