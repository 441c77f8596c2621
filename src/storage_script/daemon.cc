#include "storage_script/daemon.h"

#include "storage_script/observer.h"
#include "storage_script/volume_service.h"
#include "switch_client/server.h"

namespace storage {

// One served volume plugin: its translation, its queue server, and its calls in flight.
struct Daemon::Plugin {
  struct InFlight {
    msclient::IncomingRequest request;
    CancelToken cancel;
  };

  std::unique_ptr<VolumeService> service;
  std::unique_ptr<msclient::Server> server;
  std::mutex mu;
  std::map<int64_t, std::shared_ptr<InFlight>> in_flight;  // guarded by mu
  // Removed from the watcher: takes no new requests (they stay queued in the switch, unacked,
  // for the next server of this queue) and stops once its calls have been answered.
  bool draining = false;                                   // guarded by mu
  std::chrono::steady_clock::time_point idle_since;        // guarded by mu
};

Daemon::Daemon(const Options& options, Logger& log)
    : options_(options),
      log_(log),
      runner_(log, options.observer),
      srs_(options.state, log),
      datapaths_(runner_, log),
      // concurrent=false: one call at a time per plugin queue, as the reference's `listen`.
      scheduler_(options.max_running,
                 options.concurrent ? options.max_running_per_plugin : 1) {}

Daemon::~Daemon() { Stop(); }

bool Daemon::Start(std::string* error) {
  srs_.Load();
  PluginWatcher::Callbacks cb;
  cb.add_volume = [this](const std::string& name, const std::string& dir) {
    return AddVolume(name, dir);
  };
  cb.remove_volume = [this](const std::string& name) { RemoveVolume(name); };
  cb.add_datapath = [this](const std::string& name, const std::string& dir) {
    datapaths_.Register(name, dir, options_.TimeoutFor(name, "Plugin.query"));
  };
  cb.remove_datapath = [this](const std::string& name) {
    log_.Info("Unregistered datapath plugin " + name);
    datapaths_.Unregister(name);
  };
  // The Observer queue (§1.6). Not being able to serve it is logged, not fatal: tracing is
  // optional and the plugin queues matter more.
  msclient::ConnectOptions connect;
  connect.path = options_.switch_path;
  connect.connect_deadline = std::chrono::seconds(10);
  observer_server_ = std::make_unique<msclient::HandlerServer>(
      connect, kObserverQueue,
      [this](const msclient::IncomingRequest& r) {
        return HandleObserverRequest(r.body, [this](bool on) {
          if (on != runner_.observer()) {
            log_.Info(std::string("Tracing of plugin scripts ") + (on ? "enabled" : "disabled"));
          }
          runner_.set_observer(on);
        });
      },
      msclient::ServeMode::kSerial);
  try {
    observer_server_->Start();
  } catch (const std::exception& e) {
    log_.Error(std::string("Cannot serve ") + kObserverQueue + ": " + e.what());
    observer_server_.reset();
  }
  drainer_ = std::thread([this] { Drain(); });
  watcher_ = std::make_unique<PluginWatcher>(options_.root, cb, log_);
  return watcher_->Start(error);
}

void Daemon::Stop() {
  if (watcher_) watcher_->Stop();
  std::map<std::string, std::shared_ptr<Plugin>> plugins;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    plugins.swap(plugins_);
    for (size_t i = 0; i < draining_.size(); ++i) {
      plugins["draining " + std::to_string(i)] = draining_[i];
    }
    draining_.clear();
    drain_cv_.notify_all();
  }
  if (drainer_.joinable()) drainer_.join();
  if (observer_server_) observer_server_->Stop();
  for (auto& [name, p] : plugins) {
    p->server->Stop();
    // Running scripts are killed rather than waited for (their timeout may be long); pending
    // calls are dropped by the scheduler. The switch keeps unacknowledged requests for the next
    // start.
    std::lock_guard<std::mutex> lock(p->mu);
    for (auto& [id, job] : p->in_flight) job->cancel.Cancel();
  }
  scheduler_.Shutdown();
}

PluginWatcher::AddResult Daemon::AddVolume(const std::string& name, const std::string& dir) {
  // Serve the queue only for a plugin that answers Plugin.query well (the reference served any
  // directory entry without asking).
  try {
    ScriptCall query;
    query.dir = dir;
    query.method = "Plugin.query";
    query.params = Json{{"dbg", "register"}};
    query.timeout = options_.TimeoutFor(name, "Plugin.query");
    runner_.Call(query);
  } catch (const StorageError& e) {
    log_.Info("Not serving " + name + " yet: its Plugin.query failed with " + e.value().dump() +
              "; it is retried when its directory changes");
    return PluginWatcher::AddResult::kRejected;
  }
  log_.Info("Adding " + name);
  auto plugin = std::make_shared<Plugin>();
  plugin->service = std::make_unique<VolumeService>(
      name, dir, ServiceDeps{&runner_, &srs_, &datapaths_, &log_, &options_});
  msclient::ConnectOptions connect;
  connect.path = options_.switch_path;
  connect.connect_deadline = std::chrono::seconds(10);
  std::weak_ptr<Plugin> weak = plugin;

  auto on_request = [this, weak, name](msclient::IncomingRequest request) {
    auto p = weak.lock();
    if (!p) return;
    auto job = std::make_shared<Plugin::InFlight>();
    job->request = std::move(request);
    {
      std::lock_guard<std::mutex> lock(p->mu);
      if (p->draining) return;
      p->in_flight[job->request.id] = job;
    }
    Json body = Json::parse(job->request.body, nullptr, false);
    std::string key;
    if (body.is_object() && body.contains("params") && body["params"].is_array() &&
        !body["params"].empty()) {
      key = name + "\n" + OrderingKey(body["params"][0]);
    }
    auto finish = [p, job](const std::string& response) {
      p->server->Reply(job->request, response);
      std::lock_guard<std::mutex> lock(p->mu);
      p->in_flight.erase(job->request.id);
      if (p->in_flight.empty()) p->idle_since = std::chrono::steady_clock::now();
    };
    auto run = [p, job, finish] {
      std::string response;
      if (job->cancel.cancelled()) {
        Json r = {{"result", nullptr}, {"error", {"Cancelled", job->request.queue + "/" +
                                                                  std::to_string(job->request.id)}},
                  {"id", nullptr}};
        response = r.dump();
      } else {
        CallContext ctx{&job->cancel};
        response = p->service->HandleRequest(job->request.body, ctx);
      }
      finish(response);
    };
    auto discard = [finish] {
      Json r = {{"result", nullptr},
                {"error", {"Internal_error", "xapi-storage-script is shutting down"}},
                {"id", nullptr}};
      finish(r.dump());
    };
    scheduler_.Submit(name, key, run, discard);
  };
  auto on_cancel = [weak](int64_t id) {
    auto p = weak.lock();
    if (!p) return;
    std::lock_guard<std::mutex> lock(p->mu);
    auto it = p->in_flight.find(id);
    if (it != p->in_flight.end()) it->second->cancel.Cancel();
  };
  plugin->server = std::make_unique<msclient::Server>(connect, name, on_request, on_cancel);
  plugin->server->SetOnFailure([this, name](const std::string& reason) {
    log_.Error("Lost the message switch while serving " + name + ": " + reason +
               "; will serve it again when the switch is back");
    // The stopped server is replaced (and destroyed) when the watcher serves the queue again;
    // it cannot be destroyed here, on its own thread.
    if (watcher_) watcher_->RequestRetry(name);
  });
  try {
    plugin->server->Start();
  } catch (const std::exception& e) {
    log_.Error("Cannot serve " + name + ": " + e.what() + "; retrying");
    return PluginWatcher::AddResult::kRetry;
  }
  std::lock_guard<std::mutex> lock(mu_);
  plugins_[name] = plugin;
  return PluginWatcher::AddResult::kServed;
}

void Daemon::RemoveVolume(const std::string& name) {
  log_.Info("Removing " + name);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = plugins_.find(name);
  if (it == plugins_.end()) return;
  {
    std::lock_guard<std::mutex> plock(it->second->mu);
    it->second->draining = true;
    it->second->idle_since = std::chrono::steady_clock::now();
  }
  draining_.push_back(it->second);
  plugins_.erase(it);
}

void Daemon::Drain() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    drain_cv_.wait_for(lock, std::chrono::milliseconds(200));
    // A server is stopped once it has had no call in flight for a second: Reply() only queues
    // the response, and stopping drops what is not yet written.
    auto now = std::chrono::steady_clock::now();
    for (auto it = draining_.begin(); it != draining_.end();) {
      bool idle;
      {
        std::lock_guard<std::mutex> plock((*it)->mu);
        idle = (*it)->in_flight.empty() && now - (*it)->idle_since > std::chrono::seconds(1);
      }
      if (!idle) {
        ++it;
        continue;
      }
      auto p = *it;
      it = draining_.erase(it);
      lock.unlock();
      p->server->Stop();
      lock.lock();
    }
  }
}

}  // namespace storage
