// Opening a logged-in connection to the switch, with retry, back-off and a deadline (internal).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "switch_client/client.h"
#include "switch_client/http_connection.h"

namespace msclient {

// Connects to options.path and logs in as `whoami`, retrying with back-off (10 ms doubling to
// 500 ms) until `deadline`. Gives up early, with UnreachableError, if `stop` becomes true.
// Throws UnreachableError naming the path and the last error.
std::unique_ptr<HttpConnection> ConnectAndLogin(const std::string& path, const std::string& whoami,
                                                Clock::time_point deadline,
                                                const std::atomic<bool>* stop = nullptr);

// Throws ProtocolError unless `r` is 200. `what` names the operation.
void ExpectOk(const HttpResponse& r, const std::string& what);

}  // namespace msclient
