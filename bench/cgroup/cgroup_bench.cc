// Times `pause`, `resume` and `update` of several runtimes on containers they already
// run, interleaved (each round runs every runtime's three commands, the runtimes'
// order rotating), and prints the medians and berth's ratios. bench/cgroup/run.sh
// makes the containers; see docs/cgroups.md.
//
//   berth_cgroup_bench [--iterations N] NAME=BINARY:ROOT:ID ...
//
// The time of a command is from posix_spawn to waitpid of the runtime's process: what
// a caller such as containerd's shim pays. A failing command stops the benchmark.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

extern char** environ;

namespace {

struct Runtime {
  std::string name, binary, root, id;
};

int64_t NowNs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

// Runs `argv` with stdout and stdin on /dev/null and stderr to a file; returns the
// elapsed nanoseconds, or exits the benchmark if the command fails.
int64_t TimeCommand(const std::vector<std::string>& argv) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/tmp/berth-cgroup-bench.err",
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  int64_t start = NowNs();
  int err = ::posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (err != 0) {
    std::fprintf(stderr, "spawn %s: %s\n", args[0], std::strerror(err));
    std::exit(1);
  }
  int status;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  int64_t elapsed = NowNs() - start;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += a + " ";
    std::fprintf(stderr, "failed: %s(see /tmp/berth-cgroup-bench.err)\n", cmd.c_str());
    std::exit(1);
  }
  return elapsed;
}

double MedianMs(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  double mid = n % 2 ? static_cast<double>(v[n / 2]) : (v[n / 2 - 1] + v[n / 2]) / 2.0;
  return mid / 1e6;
}

double PercentileMs(std::vector<int64_t> v, double p) {
  std::sort(v.begin(), v.end());
  return static_cast<double>(v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))]) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = 200;
  std::vector<Runtime> runtimes;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--iterations" && i + 1 < argc) {
      iterations = std::atoi(argv[++i]);
      continue;
    }
    auto eq = a.find('='), c1 = a.find(':', eq), c2 = a.find(':', c1 + 1);
    if (eq == std::string::npos || c1 == std::string::npos || c2 == std::string::npos) {
      std::fprintf(stderr, "usage: %s [--iterations N] NAME=BINARY:ROOT:ID ...\n", argv[0]);
      return 2;
    }
    runtimes.push_back({a.substr(0, eq), a.substr(eq + 1, c1 - eq - 1),
                        a.substr(c1 + 1, c2 - c1 - 1), a.substr(c2 + 1)});
  }
  if (runtimes.empty() || iterations < 1) {
    std::fprintf(stderr, "usage: %s [--iterations N] NAME=BINARY:ROOT:ID ...\n", argv[0]);
    return 2;
  }
  const char* ops[] = {"pause", "resume", "update"};
  // samples[runtime][op]
  std::map<std::string, std::map<std::string, std::vector<int64_t>>> samples;
  for (int it = 0; it < iterations; ++it) {
    // Alternate between two limits so that every update changes the kernel's value.
    std::string memory = it % 2 ? "209715200" : "314572800";
    for (size_t k = 0; k < runtimes.size(); ++k) {
      const Runtime& rt = runtimes[(it + k) % runtimes.size()];
      std::vector<std::string> base = {rt.binary, "--root", rt.root};
      auto with = [&](std::vector<std::string> tail) {
        auto v = base;
        v.insert(v.end(), tail.begin(), tail.end());
        return v;
      };
      samples[rt.name]["pause"].push_back(TimeCommand(with({"pause", rt.id})));
      samples[rt.name]["resume"].push_back(TimeCommand(with({"resume", rt.id})));
      samples[rt.name]["update"].push_back(
          TimeCommand(with({"update", "--memory", memory, rt.id})));
    }
  }
  std::printf("%d iterations, interleaved; median ms (p10-p90)\n\n", iterations);
  std::printf("| command |");
  for (const auto& rt : runtimes) std::printf(" %s |", rt.name.c_str());
  for (size_t k = 1; k < runtimes.size(); ++k)
    std::printf(" %s / %s |", runtimes[0].name.c_str(), runtimes[k].name.c_str());
  std::printf("\n|---|");
  for (size_t k = 0; k < 2 * runtimes.size() - 1; ++k) std::printf("---|");
  std::printf("\n");
  for (const char* op : ops) {
    std::printf("| %s |", op);
    for (const auto& rt : runtimes) {
      auto& s = samples[rt.name][op];
      std::printf(" %.2f (%.2f-%.2f) |", MedianMs(s), PercentileMs(s, 0.1), PercentileMs(s, 0.9));
    }
    double first = MedianMs(samples[runtimes[0].name][op]);
    for (size_t k = 1; k < runtimes.size(); ++k)
      std::printf(" %.2f |", first / MedianMs(samples[runtimes[k].name][op]));
    std::printf("\n");
  }
  return 0;
}
