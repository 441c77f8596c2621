#include "storage_script/log.h"

namespace storage {

void Logger::Write(const char* level, const std::string& message) {
  std::lock_guard<std::mutex> lock(mu_);
  std::fprintf(out_, "[%s] %s\n", level, message.c_str());
  std::fflush(out_);
}

}  // namespace storage
