#include "shim/log.h"

#include <time.h>
#include <unistd.h>

#include <cstdio>

namespace berth::shim {
namespace {

bool g_debug = false;
std::string g_fields;

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
  }
  return "info";
}

// Go's strconv.Quote for the characters that occur in our messages.
void AppendQuoted(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

}  // namespace

void SetDebugLogging(bool debug) { g_debug = debug; }
void SetLogFields(std::string fields) { g_fields = std::move(fields); }

std::string Rfc3339NanoNow() {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  tm t;
  ::gmtime_r(&ts.tv_sec, &t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", t.tm_year + 1900,
                t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec);
  return buf;
}

void Log(LogLevel level, std::string_view message) {
  if (level == LogLevel::kDebug && !g_debug) return;
  std::string line = "time=\"" + Rfc3339NanoNow() + "\" level=" + LevelName(level) + " msg=";
  AppendQuoted(line, message);
  line += g_fields;
  line += '\n';
  // The fifo is non-blocking: with nobody reading (containerd restarting) a full
  // pipe drops the line rather than stalling the shim.
  (void)!::write(2, line.data(), line.size());
}

}  // namespace berth::shim
