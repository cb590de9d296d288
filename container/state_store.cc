#include "container/state_store.h"

#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <limits>

#include <nlohmann/json.hpp>

#include "linux/files.h"

namespace berth::container {

using Json = nlohmann::json;

std::string RecordToJson(const ContainerRecord& r) {
  Json j = {
      {"id", r.id},
      {"bundle", r.bundle},
      {"rootfs", r.rootfs},
      {"created", r.created},
      {"owner", r.owner},
      {"pid", r.pid},
      {"start_time", r.start_time},
      {"annotations", r.annotations},
      {"cgroup", r.cgroup},
      {"systemd_cgroup", r.systemd_cgroup},
      {"new_namespaces", r.new_namespaces},
      {"joined_namespaces", r.joined_namespaces},
      {"started", r.started},
  };
  return j.dump();
}

namespace {

// pid and start_time as berth writes them: non-negative integers. A negative pid would
// make kill(2) signal a process group, and a double out of range (1e30) is undefined
// behaviour to convert (both found by the state_record fuzzer).
template <class T>
Result<T> ReadCount(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return T{0};
  if (!it->is_number_unsigned() || it->get<uint64_t>() > std::numeric_limits<T>::max())
    return Fail(std::string("state.json: ") + key + ": expected a non-negative integer");
  return static_cast<T>(it->get<uint64_t>());
}

}  // namespace

Result<ContainerRecord> RecordFromJson(const std::string& text) {
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Fail("state.json: invalid JSON");
  ContainerRecord r;
  r.pid = BERTH_TRY(ReadCount<pid_t>(j, "pid"));
  r.start_time = BERTH_TRY(ReadCount<uint64_t>(j, "start_time"));
  try {
    r.id = j.at("id").get<std::string>();
    r.bundle = j.at("bundle").get<std::string>();
    r.rootfs = j.value("rootfs", "");
    r.created = j.value("created", "");
    r.owner = j.value("owner", "");
    r.annotations = j.value("annotations", std::map<std::string, std::string>{});
    r.cgroup = j.value("cgroup", "");
    r.systemd_cgroup = j.value("systemd_cgroup", false);
    r.new_namespaces = j.value("new_namespaces", std::vector<std::string>{});
    r.joined_namespaces = j.value("joined_namespaces", std::map<std::string, std::string>{});
    r.started = j.value("started", false);
  } catch (const Json::exception& e) {
    return Fail(std::string("state.json: ") + e.what());
  }
  return r;
}

Result<void> ValidateContainerId(const std::string& id) {
  if (id.empty()) return Fail("container id must not be empty");
  if (id == "." || id == ".." || id.find('/') != std::string::npos)
    return Fail("invalid container id \"" + id + "\": it must not contain \"/\" or be \".\" or \"..\"");
  if (id.size() > 1024) return Fail("invalid container id: longer than 1024 characters");
  for (unsigned char c : id)
    if (c < 0x21 || c == 0x7f)
      return Fail("invalid container id \"" + id + "\": it must not contain spaces or control characters");
  return {};
}

namespace {

Result<linux::UniqueFd> OpenLocked(const std::string& path) {
  linux::UniqueFd fd = BERTH_TRY(linux::Open(path, O_RDONLY | O_DIRECTORY));
  while (::flock(fd.get(), LOCK_EX) < 0) {
    if (errno != EINTR) return ErrnoError("lock " + path);
  }
  return fd;
}

}  // namespace

Result<StateDir> StateDir::Create(const std::string& root, const std::string& id) {
  BERTH_TRY(ValidateContainerId(id));
  BERTH_TRY(linux::MakeDirs(root, 0711));
  std::string path = root + "/" + id;
  if (::mkdir(path.c_str(), 0711) < 0) {
    if (errno == EEXIST) return Fail("container \"" + id + "\" already exists", EEXIST);
    return ErrnoError("mkdir " + path);
  }
  ::chmod(path.c_str(), 0711);  // search-only for others: the container's root opens exec.fifo
  auto fd = OpenLocked(path);
  if (!fd) {
    ::rmdir(path.c_str());
    return Fail(std::move(fd.error()));
  }
  return StateDir(path, std::move(*fd));
}

Result<StateDir> StateDir::Open(const std::string& root, const std::string& id) {
  BERTH_TRY(ValidateContainerId(id));
  std::string path = root + "/" + id;
  auto fd = OpenLocked(path);
  if (!fd) {
    if (fd.error().code == ENOENT) return Fail("container \"" + id + "\" does not exist", ENOENT);
    return Fail(std::move(fd.error()));
  }
  // A concurrent delete may have removed it while we waited for the lock.
  struct stat st;
  if (::fstatat(fd->get(), "state.json", &st, 0) < 0)
    return Fail("container \"" + id + "\" does not exist", ENOENT);
  return StateDir(path, std::move(*fd));
}

Result<void> StateDir::RemoveUnsaved(const std::string& root, const std::string& id) {
  BERTH_TRY(ValidateContainerId(id));
  std::string path = root + "/" + id;
  auto fd = OpenLocked(path);
  if (!fd) return fd.error().code == ENOENT ? Result<void>{} : Fail(std::move(fd.error()));
  struct stat st, here;
  if (::fstatat(fd->get(), "state.json", &st, 0) == 0) return {};  // a container after all
  // The lock was waited for: the path must still be the directory locked.
  if (::fstat(fd->get(), &st) < 0 || ::stat(path.c_str(), &here) < 0 || st.st_ino != here.st_ino ||
      st.st_dev != here.st_dev)
    return {};
  return linux::RemoveTree(path);
}

Result<void> StateDir::Save(const ContainerRecord& record) const {
  return linux::WriteFileAtomic(path_ + "/state.json", RecordToJson(record), 0600);
}

Result<ContainerRecord> StateDir::Load() const {
  std::string text = BERTH_TRY(linux::ReadFileAt(fd_.get(), "state.json"));
  return RecordFromJson(text);
}

Result<void> StateDir::Remove() { return linux::RemoveTree(path_); }

std::vector<std::string> StateDir::ListIds(const std::string& root) {
  std::vector<std::string> ids;
  DIR* dir = ::opendir(root.c_str());
  if (!dir) return ids;
  while (dirent* e = ::readdir(dir)) {
    std::string name = e->d_name;
    if (name.empty() || name[0] == '.') continue;
    struct stat st;
    if (::fstatat(::dirfd(dir), (name + "/state.json").c_str(), &st, 0) == 0) ids.push_back(name);
  }
  ::closedir(dir);
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::string NowRfc3339() {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  tm t;
  ::gmtime_r(&ts.tv_sec, &t);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
  std::snprintf(buf + n, sizeof buf - n, ".%09ldZ", ts.tv_nsec);
  return buf;
}

}  // namespace berth::container
