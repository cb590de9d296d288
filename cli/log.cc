#include "cli/log.h"

#include <nlohmann/json.hpp>

#include "container/state_store.h"

namespace berth::cli {

Logger::Logger(const std::string& path, bool json, bool debug) : json_(json), debug_(debug) {
  if (!path.empty()) file_ = std::fopen(path.c_str(), "ae");
}

Logger::~Logger() {
  if (file_) std::fclose(file_);
}

void Logger::Log(container::LogLevel level, const std::string& message) {
  if (level == container::LogLevel::kDebug && !debug_) return;
  const char* name = level == container::LogLevel::kDebug     ? "debug"
                     : level == container::LogLevel::kInfo    ? "info"
                     : level == container::LogLevel::kWarning ? "warning"
                                                              : "error";
  std::string line;
  std::string time = container::NowRfc3339();
  if (json_) {
    nlohmann::ordered_json j;
    j["level"] = name;
    j["msg"] = message;
    j["time"] = time;
    line = j.dump();
  } else {
    line = "time=\"" + time + "\" level=" + name + " msg=" + nlohmann::json(message).dump();
  }
  if (file_) {
    std::fprintf(file_, "%s\n", line.c_str());
    std::fflush(file_);
  } else if (level != container::LogLevel::kError) {
    std::fprintf(stderr, "%s\n", line.c_str());  // errors: main prints them as one plain line
  }
}

}  // namespace berth::cli
