// `ps`: the container's processes, from its cgroup (so processes that left the init's
// process tree, or joined with exec, are listed too).
#include <algorithm>
#include <charconv>
#include <sstream>

#include "container/container.h"
#include "container/status.h"

namespace berth::container {
namespace {

std::vector<std::string> Words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(std::move(w));
  return out;
}

}  // namespace

Result<std::vector<pid_t>> Processes(const Runtime& rt, const std::string& id) {
  // Read-only, like state: no lock, so ps never waits behind a slow command.
  ContainerRecord record = BERTH_TRY(ReadRecord(rt.root, id, nullptr));
  std::string context = "ps container \"" + id + "\"";
  if (record.cgroup.empty()) return Fail(context + ": the container has no cgroup", ENOENT);
  auto paths = BERTH_TRY_CTX(cgroup::PathsFromJson(record.cgroup), context);
  return WithContext(CgroupProcesses(paths), context);
}

Result<std::vector<pid_t>> CgroupProcesses(const cgroup::Paths& paths) {
  auto cg = BERTH_TRY(cgroup::Manager::Load(paths));
  auto pids = BERTH_TRY(cg->Pids());
  std::sort(pids.begin(), pids.end());
  return pids;
}

Result<std::string> FilterPsTable(const std::string& ps_output, const std::vector<pid_t>& pids) {
  std::istringstream in(ps_output);
  std::string header;
  std::getline(in, header);
  auto titles = Words(header);
  auto it = std::find(titles.begin(), titles.end(), "PID");
  if (it == titles.end()) return Fail("couldn't find PID field in ps output");
  size_t column = static_cast<size_t>(it - titles.begin());
  std::string out = header + "\n";
  for (std::string line; std::getline(in, line);) {
    auto words = Words(line);
    if (words.size() <= column) continue;  // an empty or truncated line
    const std::string& w = words[column];
    pid_t pid = 0;
    auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), pid);
    if (ec != std::errc() || end != w.data() + w.size())
      return Fail("unable to parse pid \"" + w + "\" in ps output");
    if (std::find(pids.begin(), pids.end(), pid) != pids.end()) out += line + "\n";
  }
  return out;
}

}  // namespace berth::container
