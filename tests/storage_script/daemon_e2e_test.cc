// The daemon end to end: real switch, real daemon, real scripts (spec storage-script.md §6.6
// D1-D7 and the fault and bad-input cases of issue 5). Translation details (S, V, P, C, Q, U)
// are covered against the same scripts by src/storage_script/volume_service_test.cc; here we
// check that they travel through the switch.
#include <atomic>

#include "e2e_support.h"

namespace storage::e2e {
namespace {

TEST_F(DaemonTest, CorePathAttachStatThroughTheSwitch) {
  StartDaemon();
  Json r = Call("SR.attach", Json{{"sr", "sr1"}, {"device_config", {{"k", "v"}}}});
  EXPECT_EQ(r.dump(), R"({"result":null,"error":null,"id":7})");
  r = Call("SR.stat", Json{{"sr", "sr1"}});
  EXPECT_EQ(r["result"]["health"], "Healthy");
  EXPECT_EQ(plugin_.Calls().back(), R"(SR.stat {"sr":"H","dbg":"e2e"})");
  r = Call("Query.query", Json::object());
  EXPECT_EQ(r["result"]["driver"], "rec");
  r = Call("DATA.copy", Json::object());
  EXPECT_EQ(r["error"].dump(), R"(["Unimplemented","DATA.copy"])");
  EXPECT_TRUE(LogHas("[INFO] Adding org.xen.xapi.storage.rec"));
}

TEST_F(DaemonTest, D1_to_D4_VolumePluginDiscovery) {
  StartDaemon();
  // D1 with gating: an empty directory is not served until its Plugin.query works; D4: a
  // script added inside takes effect with no restart.
  std::string other = std::string(kQueue) + "2";
  testing::Recorder p2(root_ + "/volume/" + other);
  EXPECT_TRUE(LogHas("Not serving " + other + " yet"));
  p2.Out("Plugin.Query", QueryJson()).Scripts({"Plugin.Query"});
  EXPECT_TRUE(Served(other)) << Log();
  p2.Scripts({"Plugin.diagnostics"}).Out("Plugin.diagnostics", R"("p2")");
  EXPECT_EQ(Call("Query.diagnostics", Json::object(), other)["result"], "p2");
  // D3: rename.
  std::string renamed = std::string(kQueue) + "3";
  std::filesystem::rename(root_ + "/volume/" + other, root_ + "/volume/" + renamed);
  EXPECT_TRUE(LogHas("[INFO] Removing " + other));
  EXPECT_TRUE(Served(renamed)) << Log();
  // D2: removal stops the listener; calls then wait unanswered.
  std::filesystem::remove_all(root_ + "/volume/" + renamed);
  EXPECT_TRUE(LogHas("[INFO] Removing " + renamed));
  EXPECT_THROW(client_->Rpc(renamed, R"({"method":"SR.list","params":[{"dbg":"x"}],"id":1})",
                            500ms),
               msclient::TimeoutError);
}

TEST_F(DaemonTest, D5_D6_DatapathPlugins) {
  StartDaemon();
  testing::Recorder good(root_ + "/datapath/good");
  good.Out("Plugin.Query", QueryJson("5.0")).Scripts({"Plugin.Query"});
  EXPECT_TRUE(LogHas("[INFO] Registered datapath plugin good"));
  EXPECT_EQ(good.Calls().back(), R"(Plugin.Query {"dbg":"register"})");
  testing::Recorder old(root_ + "/datapath/old");
  old.Out("Plugin.Query", QueryJson("3.0")).Scripts({"Plugin.Query"});
  EXPECT_TRUE(LogHas("[WARNING] Using deprecated SMAPIv3 API version 3.0, latest is 5.0. "
                     "Update your old plugin!"));
  EXPECT_TRUE(LogHas("[INFO] Registered datapath plugin old"));
  testing::Recorder future(root_ + "/datapath/future");
  future.Out("Plugin.Query", QueryJson("4.0")).Scripts({"Plugin.Query"});
  EXPECT_TRUE(LogHas("[INFO] Failed to register datapath plugin future: "
                     R"(["No_storage_plugin_for_sr","future requires unknown SMAPI API version )"
                     R"(4.0, supported: 3.0,5.0"])"));
  // Moved away in one step (removing file by file races with the re-queries it triggers).
  std::filesystem::rename(root_ + "/datapath/good", tmp_.path() + "/good-gone");
  EXPECT_TRUE(LogHas("[INFO] Unregistered datapath plugin good"));
}

TEST_F(DaemonTest, WatchRecoversWhenVolumeDirIsRecreated) {
  StartDaemon();
  std::filesystem::rename(root_ + "/volume", tmp_.path() + "/saved");
  EXPECT_TRUE(LogHas("[INFO] Removing org.xen.xapi.storage.rec"));
  std::filesystem::create_directory(root_ + "/volume");
  std::filesystem::rename(tmp_.path() + "/saved/" + kQueue, root_ + "/volume/" + kQueue);
  // Served again: a second "Adding" after the "Removing".
  EXPECT_TRUE(WaitUntil([&] {
    std::string log = Log();
    size_t removing = log.find("Removing org.xen.xapi.storage.rec");
    return removing != std::string::npos &&
           log.find("Adding org.xen.xapi.storage.rec", removing) != std::string::npos;
  }, 20s)) << Log();
  EXPECT_TRUE(Served(kQueue)) << Log();
  EXPECT_EQ(Call("Query.diagnostics", Json::object())["result"], "diag");
}

TEST_F(DaemonTest, HungScriptTimesOutItsGroupIsKilledAndTheNextCallWorks) {
  StartDaemon(std::string("script-timeout/") + kQueue + "/SR.ls = 0.5\n");
  Call("SR.attach", Json{{"sr", "sr1"}, {"device_config", Json::object()}});
  plugin_.Before("SR.ls", "sleep 60 & echo $! > " + tmp_.path() + "/bg.pid; wait");
  Json r = Call("SR.scan", Json{{"sr", "sr1"}});
  EXPECT_EQ(r["error"].dump(), R"(["Backend_error",["SCRIPT_TIMEOUT",[")" + plugin_.dir() +
                                   R"(/SR.ls","timed out after 0.5 s and was killed"]]])");
  pid_t bg = std::stoi(testing::ReadFile(tmp_.path() + "/bg.pid"));
  EXPECT_TRUE(WaitUntil([&] { return ProcessGone(bg); }));
  EXPECT_EQ(Call("SR.stat", Json{{"sr", "sr1"}})["error"], nullptr);
}

TEST_F(DaemonTest, CancelAtTheSwitchKillsTheScript) {
  StartDaemon();
  Call("SR.attach", Json{{"sr", "sr1"}, {"device_config", Json::object()}});
  std::string pidfile = tmp_.path() + "/script.pid";
  plugin_.Before("SR.ls", "echo $$ > " + pidfile + "; sleep 60");
  msclient::CancelToken token;
  std::atomic<bool> cancelled{false};
  std::thread caller([&] {
    try {
      Call("SR.scan", Json{{"sr", "sr1"}}, kQueue, 30s, &token);
    } catch (const msclient::CancelledError&) {
      cancelled = true;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "expected a cancellation, got " << e.what();
    }
  });
  ASSERT_TRUE(WaitUntil([&] { return !testing::ReadFile(pidfile).empty(); }));
  pid_t script = std::stoi(testing::ReadFile(pidfile));
  token.Cancel();
  caller.join();
  EXPECT_TRUE(cancelled);
  EXPECT_TRUE(WaitUntil([&] { return ProcessGone(script); }));
  EXPECT_TRUE(LogHas("was cancelled; its process group was killed"));
  plugin_.Before("SR.ls", "true");
  EXPECT_EQ(Call("SR.scan", Json{{"sr", "sr1"}})["result"], Json::array());
}

TEST_F(DaemonTest, SignalledScriptAndPluginRemovedDuringACall) {
  StartDaemon();
  Call("SR.attach", Json{{"sr", "sr1"}, {"device_config", Json::object()}});
  plugin_.Before("SR.ls", "kill -KILL $$");
  Json r = Call("SR.scan", Json{{"sr", "sr1"}});
  EXPECT_EQ(r["error"][1][1][1], "signalled");
  EXPECT_EQ(r["error"][1][1][2], "SIGKILL");
  // The directory goes while the script runs: the call still gets its answer.
  std::string flag = tmp_.path() + "/started";
  plugin_.Before("SR.ls", "touch " + flag + "; sleep 1");
  std::thread remover([&] {
    WaitUntil([&] { return access(flag.c_str(), F_OK) == 0; });
    std::filesystem::rename(plugin_.dir(), tmp_.path() + "/gone");
  });
  try {
    r = Call("SR.scan", Json{{"sr", "sr1"}});
  } catch (const std::exception& e) {
    ADD_FAILURE() << "no answer: " << e.what();
  }
  remover.join();
  EXPECT_TRUE(r.contains("result"));
  EXPECT_TRUE(LogHas("[INFO] Removing org.xen.xapi.storage.rec"));
}

TEST_F(DaemonTest, KillDashNineAndRestartRestoresAttachedSrs) {
  StartDaemon();
  Call("SR.attach", Json{{"sr", "sr1"}, {"device_config", Json::object()}});
  daemon_.Kill9();
  StartDaemon();
  Json r = Call("SR.stat", Json{{"sr", "sr1"}});
  EXPECT_EQ(r["error"], nullptr) << r.dump();
  EXPECT_EQ(Call("SR.list", Json::object())["result"], Json::array({"sr1"}));
}

TEST_F(DaemonTest, CorruptStateFileDoesNotStopStartUp) {
  testing::WriteFile(tmp_.path() + "/state.db", "((sr1((sr");
  StartDaemon();
  EXPECT_TRUE(LogHas("is corrupt"));
  EXPECT_EQ(testing::ReadFile(tmp_.path() + "/state.db.corrupt"), "((sr1((sr");
  EXPECT_EQ(Call("SR.stat", Json{{"sr", "sr1"}})["error"].dump(), R"(["Sr_not_attached","sr1"])");
}

TEST_F(DaemonTest, SwitchRestartedUnderTheDaemon) {
  StartDaemon();
  Call("SR.attach", Json{{"sr", "sr1"}, {"device_config", Json::object()}});
  switch_.Stop();
  std::filesystem::remove(sock_);
  StartSwitch();
  EXPECT_TRUE(Served(kQueue, 30s)) << Log();
  EXPECT_EQ(Call("SR.stat", Json{{"sr", "sr1"}})["error"], nullptr);
}

// Calls on different volumes run in parallel; calls on one volume run one at a time, in order.
TEST_F(DaemonTest, PerVolumeOrderingAndParallelism) {
  StartDaemon();
  Call("SR.attach", Json{{"sr", "sr1"}, {"device_config", Json::object()}});
  // Rendezvous: the stat of volume "a" waits (bounded) for the stat of volume "b" to have
  // started, which only works if both run at once.
  std::string ev = tmp_.path() + "/events";
  plugin_.Out("Volume.stat", R"({"key":"k","name":"n","description":"d","read_write":true,)"
                             R"("sharable":false,"virtual_size":1,"physical_utilisation":1,)"
                             R"("uri":[],"keys":{}})");
  plugin_.Before("Volume.stat",
                 "key=$(echo \"$input\" | sed 's/.*\"key\":\"\\([^\"]*\\)\".*/\\1/')\n"
                 "echo \"start $key\" >> " + ev + "\n"
                 "if [ \"$key\" = a ]; then i=0; while ! grep -q 'start b' " + ev +
                 " && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done; fi\n"
                 "sleep 0.1\necho \"end $key\" >> " + ev);
  auto stat = [&](const std::string& vdi) { Call("VDI.stat", Json{{"sr", "sr1"}, {"vdi", vdi}}); };
  {
    std::vector<std::thread> callers;
    callers.emplace_back(stat, "a");
    callers.emplace_back(stat, "b");
    for (auto& t : callers) t.join();
  }
  std::string events = testing::ReadFile(ev);
  EXPECT_LT(events.find("start b"), events.find("end a")) << events;
  // Same volume: strictly start/end pairs.
  std::filesystem::remove(ev);
  {
    std::vector<std::thread> callers;
    for (int i = 0; i < 4; ++i) callers.emplace_back(stat, "c");
    for (auto& t : callers) t.join();
  }
  EXPECT_EQ(testing::ReadFile(ev), "start c\nend c\nstart c\nend c\nstart c\nend c\nstart c\nend c\n");
}

// The Observer queue turns the `python3 -m observer` wrapper on for traced calls (spec §1.6).
TEST_F(DaemonTest, ObserverQueueTogglesTheTracingWrapper) {
  StartDaemon();
  const std::string traced = "t\n{\"traceparent\":\"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\"}";
  plugin_.Before("Plugin.diagnostics", "printf '%s' \"$TRACEPARENT\" > " + tmp_.path() + "/tp");
  EXPECT_EQ(Call("Query.diagnostics", Json{{"dbg", traced}})["result"], "diag");
  EXPECT_EQ(testing::ReadFile(tmp_.path() + "/tp"),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  auto observer = [&](const std::string& method, bool enabled) {
    Json req = {{"method", method},
                {"params", {{{"dbg", "x"}, {"uuid", "u"}, {"enabled", enabled}}}},
                {"id", 1}};
    return Json::parse(client_->Rpc("org.xen.xapi.observer", req.dump(), 20s));
  };
  EXPECT_EQ(observer("Observer.set_enabled", true)["error"], nullptr);
  EXPECT_TRUE(LogHas("[INFO] Tracing of plugin scripts enabled"));
  // No observer module here: the wrapped script fails, which shows it was wrapped.
  Json r = Call("Query.diagnostics", Json{{"dbg", traced}});
  EXPECT_EQ(r["error"][1][0], "SCRIPT_FAILED") << r.dump();
  EXPECT_TRUE(LogHas("No module named observer"));
  // Untraced calls are never wrapped.
  EXPECT_EQ(Call("Query.diagnostics", Json::object())["result"], "diag");
  EXPECT_EQ(observer("Observer.destroy", false)["error"], nullptr);
  EXPECT_EQ(Call("Query.diagnostics", Json{{"dbg", traced}})["result"], "diag");
  EXPECT_EQ(observer("Observer.set_endpoints", false)["error"].dump(),
            R"(["Unimplemented","Observer.set_endpoints"])");
}

// concurrent=false: one call at a time per queue, even on different volumes.
TEST_F(DaemonTest, SerialModeRunsOneCallAtATimePerQueue) {
  StartDaemon("concurrent = false\n");
  Call("SR.attach", Json{{"sr", "sr1"}, {"device_config", Json::object()}});
  std::string ev = tmp_.path() + "/events";
  plugin_.Out("Volume.stat", R"({"key":"k","name":"n","description":"d","read_write":true,)"
                             R"("sharable":false,"virtual_size":1,"physical_utilisation":1,)"
                             R"("uri":[],"keys":{}})");
  plugin_.Before("Volume.stat", "echo start >> " + ev + "; sleep 0.1; echo end >> " + ev);
  std::vector<std::thread> callers;
  for (int i = 0; i < 3; ++i) {
    callers.emplace_back([this, i] {
      Call("VDI.stat", Json{{"sr", "sr1"}, {"vdi", std::string(1, static_cast<char>('a' + i))}});
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(testing::ReadFile(ev), "start\nend\nstart\nend\nstart\nend\n");
}

TEST_F(DaemonTest, BadInputGetsAnErrorReplyAndTheDaemonKeepsServing) {
  StartDaemon();
  const std::string bodies[] = {
      "not json",
      "[]",
      R"({"method":"SR.stat"})",
      R"({"method":"SR.stat","params":[{"dbg":"d","sr":7}],"id":1})",
      R"({"method":"Nope","params":[{"dbg":"d"}],"id":1})",
      Json{{"method", "SR.stat"}, {"params", {{{"dbg", std::string(4 << 20, 'x')}}}}, {"id", 1}}.dump(),
  };
  for (const auto& body : bodies) {
    Json r = Json::parse(client_->Rpc(kQueue, body, 20s));
    EXPECT_EQ(r["result"], nullptr);
    EXPECT_EQ(r["error"][0], "Internal_error") << r.dump().substr(0, 200);
  }
  EXPECT_EQ(Call("Query.diagnostics", Json::object())["result"], "diag");
}

}  // namespace
}  // namespace storage::e2e

namespace storage::e2e {
namespace {

// The shipped plugin tree (tests/plugins: the dummy v5 volume plugin and the raw+file datapath
// plugin, both Python) served by the daemon through the switch, from SR.create to detach.
TEST(PluginTree, DummyV5ThroughTheSwitch) {
  testing::TempDir tmp;
  std::string sock = tmp.path() + "/sock", log = tmp.path() + "/daemon.log";
  std::string root = std::filesystem::absolute(SourceDir() + "/tests/plugins").string();
  Child sw, daemon;
  sw.Start({BinDir() + "/message-switch", "--path", sock}, tmp.path() + "/switch.log");
  ASSERT_TRUE(WaitUntil([&] { return access(sock.c_str(), F_OK) == 0; }));
  daemon.Start({BinDir() + "/xapi-storage-script", "--root=" + root,
                "--state=" + tmp.path() + "/state.db", "--switch-path=" + sock,
                "--config=" + tmp.path() + "/none", "--config-dir=" + tmp.path() + "/none"},
               log);
  msclient::ConnectOptions o;
  o.path = sock;
  msclient::Client client(o);
  const std::string q = "org.xen.xapi.storage.dummyv5";
  auto call = [&](const std::string& method, Json params) {
    params["dbg"] = "tree";
    Json req = {{"method", method}, {"params", Json::array({params})}, {"id", 1}};
    return Json::parse(client.Rpc(q, req.dump(), 20s));
  };
  ASSERT_TRUE(WaitUntil([&] {
    try {
      client.Rpc(q, R"({"method":"SR.list","params":[{"dbg":"p"}],"id":1})", 300ms);
      return true;
    } catch (const msclient::SwitchError&) {
      return false;
    }
  })) << testing::ReadFile(log);
  EXPECT_TRUE(WaitUntil([&] {
    return testing::ReadFile(log).find("Registered datapath plugin raw+file") != std::string::npos;
  }));
  Json r = call("Query.query", Json::object());
  EXPECT_EQ(r["result"]["driver"], "dummy");
  r = call("SR.attach", Json{{"sr", "s"}, {"device_config", {{"uri", "file:///tmp/dummy"}}}});
  EXPECT_EQ(r["error"], nullptr) << r.dump();
  r = call("VDI.attach3", Json{{"sr", "s"}, {"vdi", "k"}, {"vm", "0"}, {"dp", "vbd/0/xvdb"},
                               {"read_write", true}});
  EXPECT_EQ(r["result"].dump(), R"({"implementations":[["File",{"path":"/tmp/disk.raw"}]]})");
  for (const char* m : {"VDI.activate3", "VDI.deactivate", "VDI.detach"}) {
    r = call(m, Json{{"sr", "s"}, {"vdi", "k"}, {"vm", "0"}, {"dp", "vbd/0/xvdb"}});
    EXPECT_EQ(r["error"], nullptr) << m << ": " << r.dump();
  }
  EXPECT_NE(testing::ReadFile(log).find(R"("domain":"u0_vbd_0_xvdb")"), std::string::npos);
  r = call("SR.detach", Json{{"sr", "s"}});
  EXPECT_EQ(r["error"], nullptr);
  daemon.Stop();
  sw.Stop();
}

}  // namespace
}  // namespace storage::e2e
