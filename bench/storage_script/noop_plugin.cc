// A native plugin script for the benchmarks: reads its stdin, then prints a canned result for the
// method it was run as (argv[0]'s basename), so that what is measured is the daemon, not the
// script's start-up.
#include <unistd.h>

#include <cstdio>
#include <cstring>

int main(int, char** argv) {
  char buf[4096];
  while (read(0, buf, sizeof buf) > 0) {
  }
  const char* name = std::strrchr(argv[0], '/');
  name = name ? name + 1 : argv[0];
  if (std::strcmp(name, "Plugin.Query") == 0) {
    std::puts(R"({"plugin":"bench","name":"bench","description":"","vendor":"","copyright":"",)"
              R"("version":"1","required_api_version":"5.0","features":[],"configuration":{},)"
              R"("required_cluster_stack":[]})");
  } else if (std::strcmp(name, "SR.attach") == 0) {
    std::puts(R"("H")");
  } else if (std::strcmp(name, "SR.stat") == 0) {
    std::puts(R"({"sr":"H","name":"b","description":"","free_space":0,"total_space":0,)"
              R"("datasources":[],"clustered":false,"health":["Healthy",""]})");
  } else if (std::strcmp(name, "Volume.stat") == 0) {
    std::puts(R"({"key":"k","name":"n","description":"","read_write":true,"sharable":false,)"
              R"("virtual_size":0,"physical_utilisation":0,"uri":["slow:///k"],"keys":{}})");
  } else {
    std::puts("null");
  }
  return 0;
}
