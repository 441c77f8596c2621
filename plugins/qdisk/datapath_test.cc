#include "datapath.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace qdisk {
namespace {

using nlohmann::json;

TEST(NbdNodeOptions, AcceptsTheThreeForms) {
  struct Case {
    std::string remote;
    json expected;
  } cases[] = {
      {"nbd:unix:/run/x/nbd.sock:exportname=vol1",
       {{"driver", "nbd"}, {"server", {{"type", "unix"}, {"path", "/run/x/nbd.sock"}}},
        {"export", "vol1"}}},
      {"nbd+unix:///mirror7?socket=/var/run/nbdproxy/export/7",
       {{"driver", "nbd"},
        {"server", {{"type", "unix"}, {"path", "/var/run/nbdproxy/export/7"}}},
        {"export", "mirror7"}}},
      {"nbd://127.0.0.1:10900/disk",
       {{"driver", "nbd"},
        {"server", {{"type", "inet"}, {"host", "127.0.0.1"}, {"port", "10900"}}},
        {"export", "disk"}}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(json::parse(NbdNodeOptionsJson(c.remote)), c.expected) << c.remote;
  }
}

TEST(NbdNodeOptions, RejectsOthersNamingTheUri) {
  for (const std::string bad : {"http://x/y", "nbd:unix:/s", "nbd+unix:///e",
                                "nbd://user:pw@host/e", "nbd:unix::exportname=e"}) {
    try {
      NbdNodeOptionsJson(bad);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), "Invalid_remote");
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace qdisk
