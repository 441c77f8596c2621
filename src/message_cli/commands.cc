#include "message_cli/commands.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>

#include "message_cli/program_runner.h"
#include "message_cli/views.h"
#include "switch_client/json_text.h"
#include "switch_client/server.h"

namespace mcli {

using msclient::Client;
using msclient::Json;

msclient::ConnectOptions Common::Connect() const {
  msclient::ConnectOptions o;
  o.path = path;
  o.connect_deadline = timeout();
  o.request_timeout = timeout();
  return o;
}

std::chrono::milliseconds Common::timeout() const {
  return std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1000));
}

namespace {

// The trace tail polls with; the reference's value.
constexpr double kTailPollSeconds = 5.0;

Json Parse(const std::string& text, const char* what) {
  try {
    return msclient::ParseJson(text);
  } catch (const std::exception& e) {
    throw msclient::ProtocolError(200, text, std::string("the message-switch sent bad ") + what +
                                                 ": " + e.what());
  }
}

std::vector<TraceEvent> Events(const std::string& text) {
  try {
    return ParseTrace(Parse(text, "trace JSON"));
  } catch (const msclient::SwitchError&) {
    throw;
  } catch (const std::exception& e) {
    throw msclient::ProtocolError(200, text, std::string("the message-switch sent a bad trace: ") +
                                                 e.what());
  }
}

std::string RenderDiag(const std::string& text, bool verbose) {
  try {
    return RenderDiagnostics(Parse(text, "diagnostics JSON"), verbose);
  } catch (const msclient::SwitchError&) {
    throw;
  } catch (const std::exception& e) {
    throw msclient::ProtocolError(200, text, std::string("the message-switch sent bad diagnostics: ") +
                                                 e.what());
  }
}

// The events of the last `last` arrows of the chart (all events if no limit).
std::vector<TraceEvent> LastMessages(std::vector<TraceEvent> events, std::optional<int> last) {
  if (!last) return events;
  std::vector<TraceEvent> drawn;
  for (TraceEvent& e : events) {
    if (DrawsArrow(e)) drawn.push_back(std::move(e));
  }
  if (drawn.size() > static_cast<size_t>(*last)) drawn.erase(drawn.begin(), drawn.end() - *last);
  return drawn;
}

bool AnyArrow(const std::vector<TraceEvent>& events) {
  for (const TraceEvent& e : events) {
    if (DrawsArrow(e)) return true;
  }
  return false;
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  if (!f) {
    std::cerr << "message-cli: cannot write " << path << ": " << std::strerror(errno) << "\n";
    return false;
  }
  return true;
}

// Renders an mscgen chart as SVG with Debian's mscgen. Returns an error text, or "" on success.
std::string RenderSvg(const std::string& chart, const std::string& svg_file) {
  std::string input = svg_file + ".msc.tmp";
  if (!WriteFile(input, chart)) return "cannot write " + input;
  std::string program = "/usr/bin/mscgen";
  if (::access(program.c_str(), X_OK) != 0) {
    ::unlink(input.c_str());
    return "mscgen is not installed (" + program + ")";
  }
  ProgramResult r = RunProgram({program, "-T", "svg", "-o", svg_file, "-i", input}, "",
                               std::chrono::seconds(30));
  ::unlink(input.c_str());
  if (!r.ok) return "mscgen failed to render " + svg_file + ": " + r.error;
  return "";
}

std::string ReadAll(std::istream& in) {
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

int List(const Common& c, const std::string& prefix, bool all) {
  Client client(c.Connect());
  for (const std::string& name :
       client.List(prefix, all ? msclient::ListFilter::kAll : msclient::ListFilter::kAlive)) {
    std::cout << name << "\n";
  }
  return 0;
}

int Diagnostics(const Common& c, bool json) {
  Client client(c.Connect());
  std::string text = client.Diagnostics();
  if (json) {
    std::cout << text << "\n";
  } else {
    std::cout << RenderDiag(text, c.verbose > 0);
  }
  return 0;
}

int Tail(const Common& c, bool follow) {
  Client client(c.Connect());
  int64_t from = 0;
  std::optional<double> first_time;
  do {
    std::vector<TraceEvent> events = Events(client.Trace(from, kTailPollSeconds));
    for (const TraceEvent& e : events) {
      if (!first_time) first_time = e.time;
      std::cout << TailRow(e, *first_time) << "\n";
      from = std::max(from, e.index + 1);
    }
    std::cout.flush();
  } while (follow);
  return 0;
}

int Mscgen(const Common& c, std::optional<int> last, const std::string& svg_file) {
  Client client(c.Connect());
  std::vector<TraceEvent> events = LastMessages(Events(client.Trace(0, 0)), last);
  std::string chart = MscChart(events);
  std::cout << chart;
  if (!svg_file.empty() && !AnyArrow(events)) {
    // mscgen rejects a chart without arcs.
    std::cerr << "message-cli: not writing " << svg_file << ": the trace holds no messages\n";
    return kExitError;
  }
  if (!svg_file.empty()) {
    std::string error = RenderSvg(chart, svg_file);
    if (!error.empty()) {
      std::cerr << "message-cli: " << error << "\n";
      return kExitError;
    }
  }
  return 0;
}

int Call(const Common& c, const std::string& queue, const std::optional<std::string>& body,
         const std::optional<std::string>& file) {
  std::string payload;
  if (body) {
    payload = *body;
  } else if (file) {
    std::ifstream f(*file, std::ios::binary);
    if (!f) {
      std::cerr << "message-cli: cannot read " << *file << ": " << std::strerror(errno) << "\n";
      return kExitError;
    }
    payload = ReadAll(f);
  } else {
    std::cout << "Enter body text:" << std::endl;
    payload = ReadAll(std::cin);
    if (!payload.empty() && payload.back() == '\n') payload.pop_back();
  }
  Client client(c.Connect());
  std::cout << client.Rpc(queue, payload, c.timeout()) << "\n";
  return 0;
}

int Serve(const Common& c, const std::string& queue, const std::string& program,
          double program_timeout_seconds) {
  // Signals are taken synchronously by this thread; every other thread blocks them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::mutex io_mu;  // interactive mode: one request on the terminal at a time
  msclient::Handler handler;
  msclient::ServeMode mode;
  if (!program.empty()) {
    auto timeout = std::chrono::milliseconds(static_cast<int64_t>(program_timeout_seconds * 1000));
    handler = [program, timeout](const msclient::IncomingRequest& r) {
      ProgramResult result = RunProgram({program}, r.body, timeout);
      if (!result.ok) {
        std::cerr << "message-cli: request " << r.queue << "." << r.id << ": " << result.error
                  << "\n";
        if (result.output.empty()) return result.error;
      }
      return result.output;
    };
    mode = msclient::ServeMode::kConcurrent;
  } else {
    handler = [&io_mu](const msclient::IncomingRequest& r) {
      std::lock_guard<std::mutex> lock(io_mu);
      std::cout << "Received: " << r.body << "\n";
      std::cout << "Enter body text: (end with a \".\")" << std::endl;
      std::string reply, line;
      bool first = true;
      while (std::getline(std::cin, line) && line != ".") {
        if (!first) reply += "\n";
        reply += line;
        first = false;
      }
      return reply;
    };
    mode = msclient::ServeMode::kSerial;
  }
  std::atomic<bool> failed{false};
  std::string failure;
  std::mutex failure_mu;
  msclient::HandlerServer server(c.Connect(), queue, handler, mode);
  server.SetOnFailure([&](const std::string& reason) {
    std::lock_guard<std::mutex> lock(failure_mu);
    failure = reason;
    failed = true;
  });
  server.Start();
  for (;;) {
    timespec tick{0, 200 * 1000 * 1000};
    int sig = sigtimedwait(&stop_signals, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) break;
    if (failed) {
      server.Stop();
      std::lock_guard<std::mutex> lock(failure_mu);
      throw msclient::UnreachableError(failure);
    }
  }
  server.Stop();
  return 0;
}

int Ack(const Common& c, const std::string& queue, int64_t id) {
  Client client(c.Connect());
  client.Ack({queue, id});
  return 0;
}

int Destroy(const Common& c, const std::string& queue) {
  Client client(c.Connect());
  client.Destroy(queue);
  return 0;
}

int Shutdown(const Common& c) {
  Client client(c.Connect());
  client.Shutdown();
  return 0;
}

int Clear(const Common& c, const std::string& queue) {
  Client client(c.Connect());
  std::cout << client.Clear(queue) << "\n";
  return 0;
}

int Delete(const Common& c, const std::string& queue, int64_t id) {
  Client client(c.Connect());
  if (!client.Delete({queue, id})) {
    std::cerr << "message-cli: No such message: " << queue << "." << id << "\n";
    return 1;
  }
  return 0;
}

int Cancel(const Common& c, const std::string& queue, int64_t id) {
  Client client(c.Connect());
  client.Cancel({queue, id});
  return 0;
}

int Reply(const Common& c, const std::string& queue, int64_t id, const std::string& body) {
  Client client(c.Connect());
  client.Reply({queue, id}, body);
  return 0;
}

int Bugtool(const Common& c, const std::string& out_dir) {
  if (::mkdir(out_dir.c_str(), 0755) != 0 && errno != EEXIST) {
    std::cerr << "message-cli: cannot create " << out_dir << ": " << std::strerror(errno) << "\n";
    return kExitError;
  }
  Client client(c.Connect());
  std::string diag = client.Diagnostics();
  std::string trace = client.Trace(0, 0);
  std::vector<TraceEvent> events = Events(trace);
  std::string chart = MscChart(events);
  bool ok = WriteFile(out_dir + "/diagnostics.json", diag + "\n") &&
            WriteFile(out_dir + "/diagnostics.txt", RenderDiag(diag, true)) &&
            WriteFile(out_dir + "/trace.json", trace + "\n") &&
            WriteFile(out_dir + "/sequence.msc", chart);
  if (!ok) return kExitError;
  if (!AnyArrow(events)) {
    std::cout << "Wrote diagnostics.txt, diagnostics.json, trace.json and sequence.msc to "
              << out_dir << " (no sequence.svg: the trace holds no messages)\n";
    return 0;
  }
  std::string error = RenderSvg(chart, out_dir + "/sequence.svg");
  if (!error.empty()) {
    std::cerr << "message-cli: " << error << "\n";
    return kExitError;
  }
  std::cout << "Wrote diagnostics.txt, diagnostics.json, trace.json, sequence.msc and "
               "sequence.svg to "
            << out_dir << "\n";
  return 0;
}

}  // namespace mcli
