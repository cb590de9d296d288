// File operations on cgroup directories, with the errors the front ends print:
// "write 12 to /sys/fs/cgroup/cpu/c1/cpu.shares: Invalid argument".
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace berth::cgroup::fs {

// "a" + "b" -> "a/b", without doubling slashes.
std::string Join(std::string_view dir, std::string_view name);

// Writes one value to <dir>/<file> in one write(2) (cgroup files take one value per
// write); the file must exist. Opened O_TRUNC as runc does, so a fake tree in a test
// holds the last value written.
Result<void> Write(const std::string& dir, const std::string& file, std::string_view value);

Result<std::string> Read(const std::string& dir, const std::string& file);
// The file's content without surrounding whitespace.
Result<std::string> ReadTrimmed(const std::string& dir, const std::string& file);
// A single number; "max" reads as UINT64_MAX.
Result<uint64_t> ReadUint(const std::string& dir, const std::string& file);
Result<int64_t> ReadInt(const std::string& dir, const std::string& file);
bool Exists(const std::string& dir, const std::string& file);

// Parses a number as cgroup files print it ("max" = UINT64_MAX).
Result<uint64_t> ParseUint(std::string_view text);
// "key value" lines (memory.stat, cpu.stat, memory.events); unparsable lines are skipped.
std::map<std::string, uint64_t> ParseKeyValues(std::string_view text);
Result<std::map<std::string, uint64_t>> ReadKeyValues(const std::string& dir,
                                                      const std::string& file);
// The value of `key` in a "key value" file, or 0 when the key is absent.
Result<uint64_t> ReadKey(const std::string& dir, const std::string& file, std::string_view key);

// Splits on whitespace.
std::vector<std::string> Fields(std::string_view text);
std::string_view Trim(std::string_view text);

// The pids in <dir>/cgroup.procs, and in every cgroup below it when `recursive`.
Result<std::vector<pid_t>> ReadProcs(const std::string& dir, bool recursive);
// The cgroup directories strictly below `dir`, parents before children.
Result<std::vector<std::string>> SubDirs(const std::string& dir);

// mkdir -p that reports the directories it made, parents first. Retries when a
// concurrent rmdir removed a parent between two steps.
Result<void> MakeDirs(const std::string& path, std::vector<std::string>& created);

// rmdir of a cgroup; EBUSY (tasks still leaving) is retried for up to `busy_wait_ms`.
// A missing directory is success.
Result<void> RemoveDir(const std::string& path, int busy_wait_ms);

void SleepMs(int ms);
void SleepUs(int64_t us);
// CLOCK_MONOTONIC in microseconds.
int64_t NowUs();

}  // namespace berth::cgroup::fs
