#include "storage_script/observer.h"

#include <gtest/gtest.h>

namespace storage {
namespace {

TEST(Observer, EnableDisableAndUnimplemented) {
  int state = -1;
  auto set = [&state](bool on) { state = on; };
  EXPECT_EQ(HandleObserverRequest(
                R"({"method":"Observer.create","params":[{"dbg":"d","uuid":"u","name_label":"n",)"
                R"("attributes":{},"endpoints":[],"enabled":true}],"id":3})",
                set),
            R"({"result":null,"error":null,"id":3})");
  EXPECT_EQ(state, 1);
  HandleObserverRequest(
      R"({"method":"Observer.set_enabled","params":[{"dbg":"d","uuid":"u","enabled":false}],"id":4})",
      set);
  EXPECT_EQ(state, 0);
  state = 1;
  HandleObserverRequest(R"({"method":"Observer.destroy","params":[{"dbg":"d","uuid":"u"}],"id":5})",
                        set);
  EXPECT_EQ(state, 0);
  EXPECT_EQ(HandleObserverRequest(
                R"({"method":"Observer.set_endpoints","params":[{"dbg":"d"}],"id":6})", set),
            R"({"result":null,"error":["Unimplemented","Observer.set_endpoints"],"id":6})");
  EXPECT_EQ(HandleObserverRequest("nonsense", set),
            R"({"result":null,"error":["Internal_error","the request is not a JSON-RPC call"],"id":0})");
  EXPECT_EQ(HandleObserverRequest(R"({"method":"Observer.set_enabled","params":[{}],"id":7})", set),
            R"({"result":null,"error":["Internal_error","Observer.set_enabled: Expecting named argument 'enabled'"],"id":7})");
}

}  // namespace
}  // namespace storage
