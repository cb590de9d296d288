// `events`: runc's --stats and --interval, ended cleanly by SIGINT or SIGTERM.
#include <signal.h>
#include <sys/signalfd.h>

#include <cmath>
#include <cstdio>
#include <cstring>

#include "cli/cli.h"
#include "linux/unique_fd.h"

namespace berth::cli {
namespace {

// A Go duration, as runc's --interval takes it: "5s", "250ms", "1m30s", "1.5s".
// Returns milliseconds, at least 1 for a positive duration.
Result<int64_t> ParseDurationMs(const std::string& text) {
  auto invalid = [&] {
    return Fail("invalid value \"" + text +
                "\" for --interval: expected a duration (5s, 250ms, 1m)");
  };
  if (text == "0") return 0;
  struct Unit {
    const char* name;
    double ms;
  };
  // The first match wins: "ms" before "m".
  constexpr Unit kUnits[] = {{"ns", 1e-6}, {"us", 1e-3}, {"µs", 1e-3},  {"ms", 1},
                             {"s", 1000},  {"m", 60000}, {"h", 3600000}};
  double total = 0;
  size_t i = 0;
  if (text.empty()) return invalid();
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
      ++i;
    if (i == start) return invalid();
    double number = std::strtod(text.substr(start, i - start).c_str(), nullptr);
    const Unit* unit = nullptr;
    for (const auto& u : kUnits) {
      if (text.compare(i, std::strlen(u.name), u.name) == 0) {
        unit = &u;
        break;
      }
    }
    if (!unit) return invalid();
    i += std::strlen(unit->name);
    total += number * unit->ms;
  }
  if (total > 1e12) return invalid();
  return total > 0 ? std::max<int64_t>(1, static_cast<int64_t>(std::ceil(total))) : 0;
}

// SIGINT and SIGTERM become readable on the returned fd instead of killing us, so the
// stream ends between two events, with everything written flushed.
Result<linux::UniqueFd> StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  if (::sigprocmask(SIG_BLOCK, &set, nullptr) < 0) return ErrnoError("sigprocmask");
  int fd = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) return ErrnoError("signalfd");
  return linux::UniqueFd(fd);
}

}  // namespace

void AddEvents(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("events",
                                 "print a container's resource usage and OOM events as JSON lines");
  struct Flags {
    std::string id, interval = "5s";
    bool stats = false;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("container-id", f->id, "the container's id")->required();
  cmd->add_flag("--stats", f->stats, "print the stats once and exit");
  cmd->add_option("--interval", f->interval, "time between stats events (default 5s)");
  cmd->callback([&action, f] {
    action = [f](const container::Runtime& rt) -> Result<int> {
      container::EventsOptions options;
      options.stats_once = f->stats;
      options.interval_ms = BERTH_TRY(ParseDurationMs(f->interval));
      if (options.interval_ms <= 0) return Fail("events: --interval must be greater than 0");
      linux::UniqueFd stop;
      if (!f->stats) {
        stop = BERTH_TRY(StopSignals());
        options.stop_fd = stop.get();
      }
      BERTH_TRY(container::Events(rt, f->id, options, [](const std::string& line) {
        std::fwrite(line.data(), 1, line.size(), stdout);
        std::fputc('\n', stdout);
        std::fflush(stdout);
      }));
      return 0;
    };
  });
}

}  // namespace berth::cli
