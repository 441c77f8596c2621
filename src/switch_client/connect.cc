#include "switch_client/connect.h"

#include <algorithm>
#include <thread>

#include "switch_client/protocol.h"

namespace msclient {

std::unique_ptr<HttpConnection> ConnectAndLogin(const std::string& path, const std::string& whoami,
                                                Clock::time_point deadline,
                                                const std::atomic<bool>* stop) {
  auto backoff = std::chrono::milliseconds(10);
  std::string last_error;
  for (;;) {
    try {
      std::unique_ptr<HttpConnection> conn = HttpConnection::Open(path);
      HttpResponse r = conn->Call(HttpRequest("GET", "/login/" + EncodeSegment(whoami)),
                                  std::max(deadline, Clock::now() + std::chrono::seconds(1)));
      ExpectOk(r, "login");
      return conn;
    } catch (const UnreachableError& e) {
      last_error = e.what();
    } catch (const TimeoutError& e) {
      last_error = "cannot log in to the message-switch at " + path + ": no answer";
    }
    auto now = Clock::now();
    if (now >= deadline || (stop && stop->load())) break;
    std::this_thread::sleep_for(std::min<Clock::duration>(backoff, deadline - now));
    backoff = std::min(backoff * 2, std::chrono::milliseconds(500));
  }
  throw UnreachableError(last_error);
}

void ExpectOk(const HttpResponse& r, const std::string& what) {
  if (r.status == 200) return;
  std::string body = r.body.size() > 200 ? r.body.substr(0, 200) + "..." : r.body;
  throw ProtocolError(r.status, r.body,
                      "the message-switch refused " + what + ": " + std::to_string(r.status) +
                          (body.empty() ? "" : " " + body));
}

}  // namespace msclient
