#include "cgroup/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <limits>

#include "linux/files.h"

namespace berth::cgroup::fs {

std::string Join(std::string_view dir, std::string_view name) {
  std::string out(dir);
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  while (!name.empty() && name.front() == '/') name.remove_prefix(1);
  if (name.empty()) return out;
  if (out.empty() || out.back() != '/') out += '/';
  out += name;
  return out;
}

Result<void> Write(const std::string& dir, const std::string& file, std::string_view value) {
  std::string path = Join(dir, file);
  int fd;
  do {
    fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return ErrnoError("write " + std::string(value) + " to " + path);
  linux::UniqueFd owner(fd);
  ssize_t n;
  do {
    n = ::write(fd, value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ErrnoError("write " + std::string(value) + " to " + path);
  return {};
}

Result<std::string> Read(const std::string& dir, const std::string& file) {
  return linux::ReadFile(Join(dir, file));
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::strchr(" \t\n\r", text.front())) text.remove_prefix(1);
  while (!text.empty() && std::strchr(" \t\n\r", text.back())) text.remove_suffix(1);
  return text;
}

Result<std::string> ReadTrimmed(const std::string& dir, const std::string& file) {
  std::string s = BERTH_TRY(Read(dir, file));
  return std::string(Trim(s));
}

Result<uint64_t> ParseUint(std::string_view text) {
  text = Trim(text);
  if (text == "max") return std::numeric_limits<uint64_t>::max();
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty())
    return Fail("not a number: \"" + std::string(text) + "\"");
  return v;
}

Result<uint64_t> ReadUint(const std::string& dir, const std::string& file) {
  std::string s = BERTH_TRY(Read(dir, file));
  return WithContext(ParseUint(s), Join(dir, file));
}

Result<int64_t> ReadInt(const std::string& dir, const std::string& file) {
  std::string s = BERTH_TRY(ReadTrimmed(dir, file));
  if (s == "max") return std::numeric_limits<int64_t>::max();
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty())
    return Fail(Join(dir, file) + ": not a number: \"" + s + "\"");
  return v;
}

bool Exists(const std::string& dir, const std::string& file) {
  return ::access(Join(dir, file).c_str(), F_OK) == 0;
}

std::vector<std::string> Fields(std::string_view text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::strchr(" \t\n\r", text[i])) ++i;
    size_t start = i;
    while (i < text.size() && !std::strchr(" \t\n\r", text[i])) ++i;
    if (i > start) out.emplace_back(text.substr(start, i - start));
  }
  return out;
}

std::map<std::string, uint64_t> ParseKeyValues(std::string_view text) {
  std::map<std::string, uint64_t> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    auto f = Fields(line);
    if (f.size() != 2) continue;
    if (auto v = ParseUint(f[1])) out[f[0]] = *v;
  }
  return out;
}

Result<std::map<std::string, uint64_t>> ReadKeyValues(const std::string& dir,
                                                      const std::string& file) {
  std::string s = BERTH_TRY(Read(dir, file));
  return ParseKeyValues(s);
}

Result<uint64_t> ReadKey(const std::string& dir, const std::string& file, std::string_view key) {
  auto kv = BERTH_TRY(ReadKeyValues(dir, file));
  auto it = kv.find(std::string(key));
  return it == kv.end() ? 0 : it->second;
}

Result<std::vector<std::string>> SubDirs(const std::string& dir) {
  std::vector<std::string> out;
  std::vector<std::string> todo{dir};
  while (!todo.empty()) {
    std::string cur = std::move(todo.back());
    todo.pop_back();
    DIR* d = ::opendir(cur.c_str());
    if (!d) {
      if (errno == ENOENT && cur != dir) continue;  // removed meanwhile
      return ErrnoError("opendir " + cur);
    }
    std::vector<std::string> children;
    while (struct dirent* e = ::readdir(d)) {
      if (e->d_type != DT_DIR) continue;
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      children.push_back(Join(cur, name));
    }
    ::closedir(d);
    for (auto& c : children) {
      out.push_back(c);
      todo.push_back(c);
    }
  }
  return out;
}

Result<std::vector<pid_t>> ReadProcs(const std::string& dir, bool recursive) {
  std::vector<std::string> dirs{dir};
  if (recursive) {
    auto sub = BERTH_TRY(SubDirs(dir));
    dirs.insert(dirs.end(), sub.begin(), sub.end());
  }
  std::vector<pid_t> pids;
  for (const auto& d : dirs) {
    auto text = Read(d, "cgroup.procs");
    if (!text) {
      if (d != dir && text.error().code == ENOENT) continue;
      return Fail(std::move(text.error()));
    }
    for (const auto& f : Fields(*text)) {
      pid_t p = 0;
      auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), p);
      if (ec == std::errc() && p > 0) pids.push_back(p);
    }
  }
  return pids;
}

void SleepUs(int64_t us) {
  struct timespec ts {
    static_cast<time_t>(us / 1000000), static_cast<long>((us % 1000000) * 1000)
  };
  while (::nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

int64_t NowUs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

void SleepMs(int ms) {
  struct timespec ts {
    ms / 1000, (ms % 1000) * 1000000L
  };
  while (::nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

Result<void> MakeDirs(const std::string& path, std::vector<std::string>& created) {
  // The usual case, the parent exists: one mkdir instead of a walk from "/".
  if (::mkdir(path.c_str(), 0755) == 0) {
    created.push_back(path);
    return {};
  }
  if (errno == EEXIST) {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return {};
    return ErrnoError("mkdir " + path, ENOTDIR);
  }
  if (errno != ENOENT) return ErrnoError("mkdir " + path);
  for (int attempt = 0;; ++attempt) {
    size_t pos = 0;
    bool raced = false;
    while (pos != std::string::npos) {
      pos = path.find('/', pos + 1);
      std::string cur = path.substr(0, pos);
      if (cur.empty()) continue;
      if (::mkdir(cur.c_str(), 0755) == 0) {
        created.push_back(cur);
        continue;
      }
      if (errno == EEXIST) {
        struct stat st;
        if (::stat(cur.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
        return ErrnoError("mkdir " + cur, ENOTDIR);
      }
      // Another container's Destroy removed a parent we saw a moment ago.
      if (errno == ENOENT && attempt < 3) {
        raced = true;
        break;
      }
      return ErrnoError("mkdir " + cur);
    }
    if (!raced) return {};
  }
}

Result<void> RemoveDir(const std::string& path, int busy_wait_ms) {
  int waited = 0, step = 1;
  for (;;) {
    if (::rmdir(path.c_str()) == 0 || errno == ENOENT) return {};
    if (errno != EBUSY || waited >= busy_wait_ms) return ErrnoError("rmdir " + path);
    SleepMs(step);
    waited += step;
    step = std::min(step * 2, 50);
  }
}

}  // namespace berth::cgroup::fs
