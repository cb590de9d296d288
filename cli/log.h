// runc-style log lines: text (logrus) or JSON, to --log or stderr.
#pragma once

#include <cstdio>
#include <string>

#include "container/container.h"

namespace berth::cli {

class Logger {
 public:
  Logger(const std::string& path, bool json, bool debug);
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  // Errors reach stderr from main; the file gets every level that is enabled.
  void Log(container::LogLevel level, const std::string& message);

 private:
  std::FILE* file_ = nullptr;
  bool json_;
  bool debug_;
};

}  // namespace berth::cli
