// smapi: call storage methods by hand, as xapi or xapi-storage-script would (docs/smapi-cli.md).
// The methods, their flags and their help all come from the generated IDL metadata
// (smapiv2::Methods() for calls through the switch, smapiv3::Methods() for plugin scripts).
// This file only wires the command line to the switch client and the script runner.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "rpc/jsonrpc.h"
#include "smapi/smapiv2.h"
#include "smapi/smapiv3.h"
#include "smapi_cli/arguments.h"
#include "smapi_cli/render.h"
#include "storage_script/errors.h"
#include "storage_script/log.h"
#include "storage_script/script_runner.h"
#include "switch_client/client.h"

namespace {

// Exit codes.
constexpr int kOk = 0;
constexpr int kFailed = 1;       // the service or script answered with an error
constexpr int kUsage = 2;        // a command-line mistake
constexpr int kUnreachable = 3;  // the switch was not there, or no answer in time

constexpr char kUsageText[] =
    "usage: smapi [--switch SOCK] --queue QUEUE [--json] [--timeout S] SMAPIv2-METHOD [--arg value]...\n"
    "       smapi --plugin DIR [--json] [--timeout S] [--verbose] SMAPIv3-METHOD [--arg value]...\n"
    "       smapi help [METHOD]\n"
    "\n"
    "Calls a storage method. With --queue the call goes through the message-switch as xapi\n"
    "makes it (a JSON-RPC v1 request on the queue of a storage service, e.g.\n"
    "org.xen.xapi.storage.qcow2). With --plugin the plugin's script for the method is run\n"
    "directly, as xapi-storage-script runs it, and its answer is checked against the IDL.\n"
    "\n"
    "Method arguments are flags named after the IDL arguments ('_' written '-'): maps and\n"
    "records as JSON or as repeated key=value pairs, lists as JSON or repeated flags. A missing\n"
    "--dbg is \"smapi\". `smapi help` lists the methods, `smapi help METHOD` (or\n"
    "`smapi ... METHOD --help`) documents one.\n"
    "\n"
    "options:\n"
    "  --switch SOCK   the message-switch socket (default /var/run/message-switch/sock)\n"
    "  --queue QUEUE   the queue of the storage service to call\n"
    "  --plugin DIR    a plugin directory holding one script per SMAPIv3 method\n"
    "  --json          print the result (or the error) as JSON instead of text\n"
    "  --timeout S     seconds to wait for the switch and for the answer (default 60)\n"
    "  --verbose       with --plugin: print the script runner's log lines on stderr\n"
    "  -h, --help      this text\n"
    "\n"
    "exit status: 0 success, 1 the method failed (code and params printed), 2 bad command\n"
    "line, 3 switch unreachable or no answer in time.\n";

struct Options {
  std::string switch_path = "/var/run/message-switch/sock";
  std::string queue;
  std::string plugin;
  bool json = false;
  bool verbose = false;
  double timeout_seconds = 60;
  std::string command;
  std::vector<std::string> rest;  // what follows the command
};

Options ParseOptions(int argc, char** argv, bool* help) {
  Options o;
  int i = 1;
  auto value = [&](const std::string& flag) -> std::string {
    if (i + 1 >= argc) throw smapicli::UsageError(flag + ": a value is required");
    return argv[++i];
  };
  for (; i < argc; ++i) {
    std::string word = argv[i];
    std::string inline_value;
    bool has_inline = false;
    if (word.rfind("--", 0) == 0 && word.find('=') != std::string::npos) {
      inline_value = word.substr(word.find('=') + 1);
      word = word.substr(0, word.find('='));
      has_inline = true;
    }
    auto take = [&](const std::string& flag) { return has_inline ? inline_value : value(flag); };
    if (word == "-h" || word == "--help") {
      *help = true;
    } else if (word == "--switch") {
      o.switch_path = take(word);
    } else if (word == "--queue") {
      o.queue = take(word);
    } else if (word == "--plugin") {
      o.plugin = take(word);
    } else if (word == "--json" || word == "-j") {
      o.json = true;
    } else if (word == "--verbose" || word == "-v") {
      o.verbose = true;
    } else if (word == "--timeout") {
      std::string t = take(word);
      char* end = nullptr;
      o.timeout_seconds = std::strtod(t.c_str(), &end);
      if (t.empty() || *end != '\0' || !(o.timeout_seconds > 0) || o.timeout_seconds > 1e6) {
        throw smapicli::UsageError("--timeout: '" + t + "' is not a positive number of seconds");
      }
    } else if (word.rfind("-", 0) == 0) {
      throw smapicli::UsageError("unknown option " + word + " (before the method name)");
    } else {
      o.command = word;
      for (++i; i < argc; ++i) {
        std::string w = argv[i];
        if (w == "--json" || w == "-j") {
          o.json = true;
        } else if (w == "--help" || w == "-h") {
          *help = true;
        } else {
          o.rest.push_back(w);
        }
      }
    }
  }
  return o;
}

int Help(const std::vector<std::string>& names) {
  if (names.empty()) {
    std::cout << kUsageText << "\nSMAPIv2 methods (smapi --queue QUEUE METHOD, as xapi calls a "
                               "storage service):\n"
              << smapicli::MethodList(smapiv2::Methods())
              << "\nSMAPIv3 methods (smapi --plugin DIR METHOD, as a plugin script):\n"
              << smapicli::MethodList(smapiv3::Methods());
    return kOk;
  }
  int status = kOk;
  for (const std::string& name : names) {
    const rpc::MethodInfo* v2 = rpc::FindMethod(smapiv2::Methods(), name);
    const rpc::MethodInfo* v3 = rpc::FindMethod(smapiv3::Methods(), name);
    if (v2 == nullptr && v3 == nullptr) {
      std::cerr << "smapi: no method named '" << name << "' (smapi help lists them)\n";
      status = kUsage;
      continue;
    }
    // Names such as SR.attach exist at both levels: show both, labelled.
    if (v2 != nullptr) {
      if (v3 != nullptr) std::cout << "== SMAPIv2 (through the switch) ==\n";
      std::cout << smapicli::MethodHelp(*v2, "smapi --queue QUEUE");
    }
    if (v3 != nullptr) {
      if (v2 != nullptr) std::cout << "\n== SMAPIv3 (plugin script) ==\n";
      std::cout << smapicli::MethodHelp(*v3, "smapi --plugin DIR");
    }
  }
  return status;
}

// Prints an error value `[Tag, payload]` (or anything else) with its code and params.
int PrintError(const Options& o, const std::string& method, const rpc::Json& error) {
  if (o.json) std::cout << rpc::Serialize(rpc::Json{{"error", error}}) << "\n";
  std::string code = "error";
  rpc::Json params = error;
  if (error.is_array() && !error.empty() && error[0].is_string()) {
    code = error[0].get<std::string>();
    params = error.size() == 2 ? error[1] : rpc::Json(error.begin() + 1, error.end());
  } else if (error.is_string()) {
    code = error.get<std::string>();
    params = rpc::Json::array();
  }
  std::cerr << "smapi: " << method << " failed\n  code: " << code
            << "\n  params: " << rpc::Serialize(params) << "\n";
  return kFailed;
}

int PrintResult(const Options& o, const rpc::Json& result) {
  std::cout << (o.json ? rpc::Serialize(result) + "\n" : smapicli::RenderText(result));
  return kOk;
}

std::chrono::milliseconds Timeout(const Options& o) {
  return std::chrono::milliseconds(static_cast<int64_t>(o.timeout_seconds * 1000));
}

int CallSwitch(const Options& o, const rpc::MethodInfo& method, const rpc::Json& params) {
  msclient::ConnectOptions connect;
  connect.path = o.switch_path;
  connect.connect_deadline = Timeout(o);
  connect.request_timeout = Timeout(o);
  std::string response;
  try {
    msclient::Client client(connect);
    std::string request = rpc::Serialize(rpc::BuildCall(method.wire_name, params, 1));
    response = client.Rpc(o.queue, request, Timeout(o));
  } catch (const msclient::TimeoutError&) {
    std::cerr << "smapi: no answer from queue " << o.queue << " within " << o.timeout_seconds
              << " s (is the service running?)\n";
    return kUnreachable;
  } catch (const msclient::SwitchError& e) {
    std::cerr << "smapi: message-switch at " << o.switch_path << ": " << e.what() << "\n";
    return kUnreachable;
  }
  rpc::Response r;
  try {
    r = rpc::ParseResponse(rpc::ParseJson(response));
  } catch (const std::exception& e) {
    std::cerr << "smapi: malformed response from " << o.queue << ": " << e.what()
              << "\n  response: " << response << "\n";
    return kFailed;
  }
  return r.ok ? PrintResult(o, r.result) : PrintError(o, method.wire_name, r.error);
}

int CallPlugin(const Options& o, const rpc::MethodInfo& method, const rpc::Json& params) {
  // The runner logs as the daemon does; by default those lines go nowhere.
  std::FILE* sink = o.verbose ? stderr : std::fopen("/dev/null", "w");
  if (sink == nullptr) sink = stderr;
  storage::Logger log(sink);
  storage::ScriptRunner runner(log, /*observer=*/false);
  storage::ScriptCall call;
  call.dir = o.plugin;
  call.method = method.wire_name;
  call.params = storage::Json::parse(rpc::Serialize(params));
  call.timeout = Timeout(o);
  // The answer is read with the method's IDL result type (the generated decoders, the
  // reference reading rules) before the runner's own shape check, which still runs afterwards
  // on answers the IDL accepts. What is printed is the decoded value, as a client sees it.
  rpc::Json decoded;
  std::optional<std::string> type_error;
  struct TypeMismatch {};
  call.patch_result = [&](storage::Json& answer) {
    try {
      decoded = smapiv3::DecodeResult(method.wire_name, rpc::ParseJson(answer.dump()));
    } catch (const rpc::DecodeError& e) {
      type_error = e.what();
      throw TypeMismatch{};
    }
  };
  int status;
  try {
    runner.Call(call);
    status = PrintResult(o, decoded);
  } catch (const TypeMismatch&) {
    std::cerr << "smapi: " << method.wire_name << ": the script's answer is not a valid "
              << method.wire_name << " result: " << *type_error << "\n";
    status = kFailed;
  } catch (const storage::StorageError& e) {
    status = PrintError(o, method.wire_name, rpc::ParseJson(e.value().dump()));
  }
  if (sink != stderr) std::fclose(sink);
  return status;
}

int Run(int argc, char** argv) {
  bool help = false;
  Options o = ParseOptions(argc, argv, &help);
  if (o.command == "help") return Help(o.rest);
  if (o.command.empty()) {
    if (help) {
      std::cout << kUsageText;
      return kOk;
    }
    throw smapicli::UsageError("no method given");
  }
  bool plugin_mode = !o.plugin.empty();
  const auto& methods = plugin_mode ? smapiv3::Methods() : smapiv2::Methods();
  const rpc::MethodInfo* method = rpc::FindMethod(methods, o.command);
  if (method == nullptr) {
    throw smapicli::UsageError(std::string("no ") + (plugin_mode ? "SMAPIv3" : "SMAPIv2") +
                               " method named '" + o.command + "' (smapi help lists them)");
  }
  if (help) {
    std::cout << smapicli::MethodHelp(*method, plugin_mode ? "smapi --plugin DIR"
                                                           : "smapi --queue QUEUE");
    return kOk;
  }
  if (!plugin_mode && o.queue.empty()) {
    throw smapicli::UsageError("--queue QUEUE (or --plugin DIR) is required to call a method");
  }
  rpc::Json params = smapicli::BuildParams(*method, smapicli::SplitFlags(o.rest), "smapi");
  return plugin_mode ? CallPlugin(o, *method, params) : CallSwitch(o, *method, params);
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  try {
    return Run(argc, argv);
  } catch (const smapicli::UsageError& e) {
    std::cerr << "smapi: " << e.what() << "\nRun 'smapi --help' for more information.\n";
    return kUsage;
  }
}
