// message-cli: look into and drive a message-switch (docs/message-cli.md). This file only wires
// the command line to the subcommands in commands.cc.
#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>

#include "message_cli/commands.h"

namespace {

void AddCommon(CLI::App* app, mcli::Common& c) {
  app->add_option("--path", c.path, "Path of the message-switch socket")->capture_default_str();
  app->add_flag("-v,--verbose", c.verbose, "More detail (diagnostics: do not cut payloads)");
  app->add_flag("--debug", c.debug, "Accepted for compatibility; unused");
  app->add_option("--timeout", c.timeout_seconds,
                  "Seconds to wait for the switch (connecting) and for any answer")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
}

// The reference's wording for missing arguments (spec §6), with a pointer to the help.
int MissingArgument(const char* message) {
  std::cerr << "message-cli: " << message << "\nRun with --help for more information.\n";
  return mcli::kExitError;
}

}  // namespace

int main(int argc, char** argv) {
  // A program that stops reading its input must not kill us.
  ::signal(SIGPIPE, SIG_IGN);

  mcli::Common common;
  CLI::App app{"Inspect and drive a message-switch: list queues, show diagnostics and traces, "
               "call and serve queues, and manage messages.",
               "message-cli"};
  app.set_version_flag("--version", "1.0.0");
  app.require_subcommand(0, 1);
  app.fallthrough();
  AddCommon(&app, common);

  std::function<int()> run;

  std::string prefix;
  bool all = false;
  auto* list = app.add_subcommand("list", "List the queues (by default only those served)");
  list->add_option("--prefix", prefix, "Only queues whose name starts with this");
  list->add_flag("--all", all, "Every queue, served or not");
  list->callback([&] { run = [&] { return mcli::List(common, prefix, all); }; });

  bool json = false;
  auto* diag = app.add_subcommand("diagnostics", "Show which services run and what is queued");
  diag->add_flag("--json", json, "Print the switch's diagnostics JSON instead");
  diag->callback([&] { run = [&] { return mcli::Diagnostics(common, json); }; });

  bool follow = false;
  auto* tail = app.add_subcommand("tail", "Show the switch's recent message trace");
  tail->add_flag("--follow", follow, "Keep showing new events until interrupted");
  tail->callback([&] { run = [&] { return mcli::Tail(common, follow); }; });

  std::optional<int> last;
  std::string svg;
  auto* msc = app.add_subcommand("mscgen", "Print the trace as an mscgen sequence chart");
  msc->add_option("--last", last, "Only the last N messages")->check(CLI::PositiveNumber);
  msc->add_option("--svg", svg, "Also render the chart to this SVG file (needs mscgen)");
  msc->callback([&] { run = [&] { return mcli::Mscgen(common, last, svg); }; });

  std::string queue;
  std::optional<std::string> body, file;
  auto* call = app.add_subcommand("call", "Send a request to a queue and print the reply");
  auto* call_queue = call->add_option("queue", queue, "The queue");
  auto* body_opt = call->add_option("--body", body, "The request body");
  call->add_option("--file", file, "Read the request body from this file")
      ->check(CLI::ExistingFile)
      ->excludes(body_opt);
  call->callback([&] {
    run = [&] {
      if (!call_queue->count()) return MissingArgument("a queue name is required");
      return mcli::Call(common, queue, body, file);
    };
  });

  std::string program;
  double program_timeout = 60;
  auto* serve = app.add_subcommand("serve", "Answer the requests arriving on a queue");
  serve->add_option("queue", queue, "The queue")->required();
  serve->add_option("--program", program,
                    "Run this program per request: the body on its stdin, its stdout the reply")
      ->check(CLI::ExistingFile);
  serve->add_option("--program-timeout", program_timeout,
                    "Seconds a program may run before it is killed")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve->callback(
      [&] { run = [&] { return mcli::Serve(common, queue, program, program_timeout); }; });

  int64_t id = 0;
  auto* ack = app.add_subcommand("ack", "Acknowledge (remove) a message");
  auto* ack_queue = ack->add_option("queue", queue, "The queue");
  auto* ack_id = ack->add_option("id", id, "The message's sequence number");
  ack->callback([&] {
    run = [&] {
      if (!ack_queue->count() || !ack_id->count()) {
        return MissingArgument("Please supply both a queue name and message ID");
      }
      return mcli::Ack(common, queue, id);
    };
  });

  auto* destroy = app.add_subcommand("destroy", "Destroy a queue and its messages");
  auto* destroy_queue = destroy->add_option("queue", queue, "The queue");
  destroy->callback([&] {
    run = [&] {
      if (!destroy_queue->count()) return MissingArgument("Please supply a queue name");
      return mcli::Destroy(common, queue);
    };
  });

  auto* shutdown = app.add_subcommand("shutdown", "Ask the switch to exit");
  shutdown->callback([&] { run = [&] { return mcli::Shutdown(common); }; });

  auto* clear = app.add_subcommand("clear", "Remove every message of a queue; prints how many");
  clear->add_option("queue", queue, "The queue")->required();
  clear->callback([&] { run = [&] { return mcli::Clear(common, queue); }; });

  auto* del = app.add_subcommand("delete", "Remove one message (exit 1 if there is none)");
  del->add_option("queue", queue, "The queue")->required();
  del->add_option("id", id, "The message's sequence number")->required();
  del->callback([&] { run = [&] { return mcli::Delete(common, queue, id); }; });

  auto* cancel = app.add_subcommand(
      "cancel", "Cancel an unanswered request: its caller gets an error reply at once");
  cancel->add_option("queue", queue, "The queue")->required();
  cancel->add_option("id", id, "The request's sequence number")->required();
  cancel->callback([&] { run = [&] { return mcli::Cancel(common, queue, id); }; });

  std::string reply_body;
  auto* reply = app.add_subcommand("reply", "Answer a request by hand (and acknowledge it)");
  reply->add_option("queue", queue, "The queue")->required();
  reply->add_option("id", id, "The request's sequence number")->required();
  reply->add_option("--body", reply_body, "The reply body")->required();
  reply->callback([&] { run = [&] { return mcli::Reply(common, queue, id, reply_body); }; });

  std::string out_dir;
  auto* bugtool = app.add_subcommand(
      "bugtool", "Write diagnostics (text and JSON), the trace and the sequence chart (text and "
                 "SVG) into a directory, for a bug report");
  bugtool->add_option("--out", out_dir, "The directory to write into")->required();
  bugtool->callback([&] { run = [&] { return mcli::Bugtool(common, out_dir); }; });

  for (CLI::App* sub : app.get_subcommands({})) AddCommon(sub, common);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : mcli::kExitError;
  }
  if (!run) {
    std::cout << app.help();
    return 0;
  }
  try {
    return run();
  } catch (const msclient::SwitchError& e) {
    switch (e.kind()) {
      case msclient::SwitchError::Kind::kUnreachable:
        std::cerr << "message-cli: There was a communication failure with message-switch: "
                  << e.what() << "\n";
        break;
      default:
        std::cerr << "message-cli: " << e.what() << "\n";
    }
    return mcli::kExitError;
  } catch (const std::exception& e) {
    std::cerr << "message-cli: " << e.what() << "\n";
    return 125;
  }
}
