// `update`: runc's flags, or a linux.resources JSON file (-r FILE, or - for stdin).
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <map>

#include "cli/cli.h"
#include "linux/files.h"

namespace berth::cli {
namespace {

// The flags that set a resource, as runc names them.
struct ResourceFlag {
  const char* name;
  const char* help;
};
constexpr ResourceFlag kResourceFlags[] = {
    {"blkio-weight", "block IO weight (10-1000)"},
    {"cpu-period", "CPU CFS period in microseconds"},
    {"cpu-quota", "CPU CFS quota in microseconds per period (-1: none)"},
    {"cpu-burst", "CPU CFS burst in microseconds, beyond the quota, per period"},
    {"cpu-idle", "1: the cgroup's tasks get SCHED_IDLE, 0: the default"},
    {"cpu-share", "CPU shares (weight relative to other containers)"},
    {"cpu-rt-period", "CPU realtime period in microseconds"},
    {"cpu-rt-runtime", "CPU realtime runtime in microseconds per period"},
    {"cpuset-cpus", "CPUs to run on (0-3,7)"},
    {"cpuset-mems", "memory nodes to use (0-1)"},
    {"memory", "memory limit (bytes, or with a k/m/g/t/p suffix; -1: none)"},
    {"memory-reservation", "memory soft limit (bytes or suffixed)"},
    {"memory-swap", "memory+swap limit (bytes or suffixed; -1: none)"},
    {"kernel-memory", "kernel memory limit (ignored by Linux 6.1 and later)"},
    {"kernel-memory-tcp", "kernel TCP buffer limit (ignored by Linux 6.1 and later)"},
    {"pids-limit", "maximum number of processes (-1: none)"},
};

template <class T>
Result<T> ParseInteger(const std::string& flag, const std::string& text) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty())
    return Fail("invalid value \"" + text + "\" for --" + flag + ": not an integer in range");
  return value;
}

// runc's memory values (docker/go-units RAMInBytes): a decimal number, an optional space,
// then an optional k/m/g/t/p (powers of 1024), "i" and "b": "512m", "1.5GiB", "100 kb".
// "-1" means unlimited.
Result<int64_t> ParseMemory(const std::string& flag, const std::string& text) {
  if (text == "-1") return -1;
  auto invalid = [&] {
    return Fail("invalid value \"" + text + "\" for --" + flag +
                ": expected bytes, optionally with a k, m, g, t or p suffix (512m, 1.5g)");
  };
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0) return invalid();
  if (i < text.size() && text[i] == '.') {
    size_t digits = ++i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == digits) return invalid();
  }
  double number = std::strtod(text.substr(0, i).c_str(), nullptr);
  if (i < text.size() && text[i] == ' ') ++i;
  double multiplier = 1;
  if (i < text.size()) {
    const std::string units = "kmgtp";
    auto u = units.find(static_cast<char>(std::tolower(static_cast<unsigned char>(text[i]))));
    if (u != std::string::npos) {
      multiplier = std::pow(1024.0, static_cast<double>(u + 1));
      ++i;
    }
  }
  if (i < text.size() && (text[i] == 'i' || text[i] == 'I')) ++i;
  if (i < text.size() && (text[i] == 'b' || text[i] == 'B')) ++i;
  double bytes = number * multiplier;
  if (i != text.size() || bytes >= 9.2e18) return invalid();
  return static_cast<int64_t>(bytes);
}

Result<oci::Resources> ResourcesFromFlags(const std::map<std::string, std::string>& given) {
  oci::Resources r;
  auto value = [&](const char* flag) -> const std::string* {
    auto it = given.find(flag);
    return it == given.end() ? nullptr : &it->second;
  };
  auto cpu = [&]() -> oci::Cpu& { return r.cpu ? *r.cpu : r.cpu.emplace(); };
  auto memory = [&]() -> oci::Memory& { return r.memory ? *r.memory : r.memory.emplace(); };
  if (auto v = value("blkio-weight"))
    r.block_io.emplace().weight = BERTH_TRY(ParseInteger<uint16_t>("blkio-weight", *v));
  if (auto v = value("cpu-period"))
    cpu().period = BERTH_TRY(ParseInteger<uint64_t>("cpu-period", *v));
  if (auto v = value("cpu-quota")) cpu().quota = BERTH_TRY(ParseInteger<int64_t>("cpu-quota", *v));
  if (auto v = value("cpu-burst"))
    cpu().burst = BERTH_TRY(ParseInteger<uint64_t>("cpu-burst", *v));
  if (auto v = value("cpu-idle")) cpu().idle = BERTH_TRY(ParseInteger<int64_t>("cpu-idle", *v));
  if (auto v = value("cpu-share"))
    cpu().shares = BERTH_TRY(ParseInteger<uint64_t>("cpu-share", *v));
  if (auto v = value("cpu-rt-period"))
    cpu().realtime_period = BERTH_TRY(ParseInteger<uint64_t>("cpu-rt-period", *v));
  if (auto v = value("cpu-rt-runtime"))
    cpu().realtime_runtime = BERTH_TRY(ParseInteger<int64_t>("cpu-rt-runtime", *v));
  if (auto v = value("cpuset-cpus")) cpu().cpus = *v;
  if (auto v = value("cpuset-mems")) cpu().mems = *v;
  if (auto v = value("memory")) memory().limit = BERTH_TRY(ParseMemory("memory", *v));
  if (auto v = value("memory-reservation"))
    memory().reservation = BERTH_TRY(ParseMemory("memory-reservation", *v));
  if (auto v = value("memory-swap")) memory().swap = BERTH_TRY(ParseMemory("memory-swap", *v));
  if (auto v = value("kernel-memory"))
    memory().kernel = BERTH_TRY(ParseMemory("kernel-memory", *v));
  if (auto v = value("kernel-memory-tcp"))
    memory().kernel_tcp = BERTH_TRY(ParseMemory("kernel-memory-tcp", *v));
  if (auto v = value("pids-limit"))
    r.pids = oci::Pids{BERTH_TRY(ParseInteger<int64_t>("pids-limit", *v))};
  return r;
}

Result<oci::Resources> ResourcesFromFile(const std::string& path) {
  std::string text =
      path == "-" ? BERTH_TRY(linux::ReadFd(STDIN_FILENO)) : BERTH_TRY(linux::ReadFile(path));
  return oci::ParseResources(text);
}

}  // namespace

void AddUpdate(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("update", "change the resource limits of a container");
  struct Flags {
    std::string id, resources_file, l3_cache_schema, mem_bw_schema;
    std::map<std::string, std::string> values;
    std::vector<std::pair<std::string, CLI::Option*>> options;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("container-id", f->id, "the container's id")->required();
  cmd->add_option("-r,--resources", f->resources_file,
                  "a linux.resources JSON file (- for stdin); not combined with other flags");
  for (const auto& flag : kResourceFlags)
    f->options.emplace_back(
        flag.name, cmd->add_option(std::string("--") + flag.name, f->values[flag.name], flag.help));
  auto* l3 = cmd->add_option("--l3-cache-schema", f->l3_cache_schema, "Intel RDT L3 cache schema");
  auto* mba =
      cmd->add_option("--mem-bw-schema", f->mem_bw_schema, "Intel RDT memory bandwidth schema");
  cmd->callback([&action, f, l3, mba, cmd] {
    std::map<std::string, std::string> given;
    for (const auto& [name, option] : f->options)
      if (option->count() > 0) given[name] = f->values[name];
    bool from_file = cmd->get_option("--resources")->count() > 0;
    bool rdt = l3->count() > 0 || mba->count() > 0;
    action = [f, given, from_file, rdt](const container::Runtime& rt) -> Result<int> {
      if (rdt)
        return Fail(
            "update: --l3-cache-schema and --mem-bw-schema: Intel RDT (linux.intelRdt) "
            "is not supported by berth",
            ENOTSUP);
      if (from_file && !given.empty())
        return Fail("update: --resources cannot be combined with --" + given.begin()->first);
      oci::Resources r = from_file ? BERTH_TRY(ResourcesFromFile(f->resources_file))
                                   : BERTH_TRY(ResourcesFromFlags(given));
      BERTH_TRY(container::Update(rt, f->id, r));
      return 0;
    };
  });
}

}  // namespace berth::cli
