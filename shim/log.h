// The shim daemon's log: logrus text lines (what containerd's own shims write) on
// fd 2, which the daemon points at the bundle's `log` fifo. containerd copies each
// line to its own stderr. One write(2) per line, so threads never interleave.
#pragma once

#include <string>
#include <string_view>

namespace berth::shim {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// Process-wide settings, made once at start-up before any thread exists.
void SetDebugLogging(bool debug);
// Appended to every line, such as ` runtime=io.containerd.berth.v2`.
void SetLogFields(std::string fields);

void Log(LogLevel level, std::string_view message);
inline void LogDebug(std::string_view m) { Log(LogLevel::kDebug, m); }
inline void LogInfo(std::string_view m) { Log(LogLevel::kInfo, m); }
inline void LogWarning(std::string_view m) { Log(LogLevel::kWarning, m); }
inline void LogError(std::string_view m) { Log(LogLevel::kError, m); }

// logrus's time format: RFC 3339 with nanoseconds, UTC ("2023-04-01T10:00:00.000000001Z").
std::string Rfc3339NanoNow();

}  // namespace berth::shim
