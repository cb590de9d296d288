// CompileSeccomp on Docker's default profile: no cache, cold cache (entry written),
// warm cache (entry read). Prints per-call wall time; see docs/seccomp.md.
//
//   berth_seccomp_bench [--iterations N] [--profile FILE] [--cache-dir DIR]
//
// The in-process loops show the steady state; the "fresh process" rows re-exec this
// binary for each sample and time its first CompileSeccomp, as `berth create` pays it
// (libseccomp's one-time kernel probing and cold page faults included).
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "linux/files.h"
#include "linux/seccomp.h"
#include "oci/spec.h"

namespace {

using berth::Result;
namespace linux = berth::linux;
namespace oci = berth::oci;
using Clock = std::chrono::steady_clock;

Result<oci::Seccomp> LoadProfile(const std::string& path) {
  std::string text = BERTH_TRY(linux::ReadFile(path));
  // The fixture is a linux.seccomp object; the spec parser reads it inside a config.
  std::string config =
      R"({"ociVersion":"1.0.2","root":{"path":"rootfs"},"linux":{"seccomp":)" + text + "}}";
  oci::Spec spec = BERTH_TRY_CTX(oci::ParseSpec(config), path);
  return *spec.linux->seccomp;
}

struct Stats {
  double median, p90, mean, min;
};

Stats Summarise(std::vector<double> us) {
  std::sort(us.begin(), us.end());
  double mean = std::accumulate(us.begin(), us.end(), 0.0) / us.size();
  return {us[us.size() / 2], us[us.size() * 9 / 10], mean, us.front()};
}

void Print(const char* what, const Stats& s, size_t n) {
  std::printf("%-12s median %9.1f us   p90 %9.1f us   mean %9.1f us   min %9.1f us   (%zu runs)\n",
              what, s.median, s.p90, s.mean, s.min, n);
}

template <class F>
std::vector<double> Time(int iterations, F&& f) {
  std::vector<double> us;
  us.reserve(iterations);
  for (int i = 0; i < iterations; ++i) {
    auto t0 = Clock::now();
    if (!f(i)) std::exit(1);
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  return us;
}

// Child side of a fresh-process sample: one compile, its time on stdout.
int SingleShot(const oci::Seccomp& profile, const std::string& cache_dir) {
  auto t0 = Clock::now();
  auto r = linux::CompileSeccomp(profile, linux::SeccompCompileOptions{cache_dir});
  double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
  if (!r) {
    std::fprintf(stderr, "berth_seccomp_bench: %s\n", r.error().message.c_str());
    return 1;
  }
  std::printf("%.1f\n", us);
  return 0;
}

// Runs this binary with --single-shot and returns the time it reports, or -1.
double FreshProcessSample(const std::string& profile_path, const std::string& cache_dir) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(p[1], STDOUT_FILENO);
    std::string dir = cache_dir.empty() ? "-" : cache_dir;
    execl("/proc/self/exe", "berth_seccomp_bench", "--profile", profile_path.c_str(),
          "--single-shot", dir.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(p[1]);
  char buf[64] = {};
  ssize_t n = pid > 0 ? read(p[0], buf, sizeof buf - 1) : -1;
  close(p[0]);
  int status = 0;
  if (pid > 0) waitpid(pid, &status, 0);
  if (n <= 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
  return std::atof(buf);
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = 200;
  std::string profile_path = BERTH_FIXTURES_DIR "/docker-default-seccomp.json";
  std::string cache_base;
  const char* single_shot = nullptr;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--iterations" && i + 1 < argc)
      iterations = std::max(1, std::atoi(argv[++i]));
    else if (a == "--profile" && i + 1 < argc)
      profile_path = argv[++i];
    else if (a == "--cache-dir" && i + 1 < argc)
      cache_base = argv[++i];
    else if (a == "--single-shot" && i + 1 < argc)
      single_shot = argv[++i];
    else {
      std::fprintf(stderr, "usage: %s [--iterations N] [--profile FILE] [--cache-dir DIR]\n",
                   argv[0]);
      return 2;
    }
  }

  auto profile = LoadProfile(profile_path);
  if (!profile) {
    std::fprintf(stderr, "berth_seccomp_bench: %s\n", profile.error().message.c_str());
    return 1;
  }
  if (single_shot)
    return SingleShot(*profile, std::strcmp(single_shot, "-") == 0 ? "" : single_shot);
  size_t names = 0;
  for (const auto& s : profile->syscalls) names += s.names.size();

  std::string base = cache_base;
  if (base.empty()) {
    char tmpl[] = "/tmp/berth-seccomp-bench.XXXXXX";
    if (!mkdtemp(tmpl)) {
      std::perror("mkdtemp");
      return 1;
    }
    base = tmpl;
  }
  auto report_error = [](const berth::Error& e) {
    std::fprintf(stderr, "berth_seccomp_bench: %s\n", e.message.c_str());
    return false;
  };

  linux::SeccompCompileOptions no_cache;
  auto first = linux::CompileSeccomp(*profile, no_cache);
  if (!first) return report_error(first.error()), 1;
  std::printf("profile %s: %zu rules, %zu syscall names, %zu BPF instructions\n",
              profile_path.c_str(), profile->syscalls.size(), names, first->filter.size());

  auto uncached = Time(iterations, [&](int) {
    auto r = linux::CompileSeccomp(*profile, no_cache);
    return r ? true : report_error(r.error());
  });
  // Cold: every call meets an empty cache directory, compiles and writes the entry.
  auto cold = Time(iterations, [&](int i) {
    linux::SeccompCompileOptions o{base + "/cold-" + std::to_string(i)};
    auto r = linux::CompileSeccomp(*profile, o);
    return r ? true : report_error(r.error());
  });
  linux::SeccompCompileOptions warm_opts{base + "/warm"};
  if (auto r = linux::CompileSeccomp(*profile, warm_opts); !r) return report_error(r.error()), 1;
  auto warm = Time(iterations, [&](int) {
    auto r = linux::CompileSeccomp(*profile, warm_opts);
    return r ? true : report_error(r.error());
  });

  // Fresh processes: fewer samples, each one a fork + exec.
  int fresh_runs = std::max(1, iterations / 4);
  auto fresh = [&](const char* what, auto dir_for) {
    std::vector<double> us;
    for (int i = 0; i < fresh_runs; ++i) {
      double t = FreshProcessSample(profile_path, dir_for(i));
      if (t < 0) {
        std::fprintf(stderr, "berth_seccomp_bench: fresh-process sample failed\n");
        std::exit(1);
      }
      us.push_back(t);
    }
    return us;
  };
  auto fresh_uncached = fresh("no cache", [](int) { return std::string(); });
  auto fresh_cold = fresh("cold", [&](int i) { return base + "/fresh-cold-" + std::to_string(i); });
  auto fresh_warm = fresh("warm", [&](int) { return warm_opts.cache_dir; });

  Stats u = Summarise(uncached), c = Summarise(cold), w = Summarise(warm);
  std::printf("in one process:\n");
  Print("no cache", u, uncached.size());
  Print("cold cache", c, cold.size());
  Print("warm cache", w, warm.size());
  Stats fu = Summarise(fresh_uncached), fc = Summarise(fresh_cold), fw = Summarise(fresh_warm);
  std::printf("first compile of a fresh process:\n");
  Print("no cache", fu, fresh_uncached.size());
  Print("cold cache", fc, fresh_cold.size());
  Print("warm cache", fw, fresh_warm.size());
  std::printf("warm vs no cache (median): %.0fx in one process, %.0fx in a fresh process\n",
              u.median / w.median, fu.median / fw.median);

  if (cache_base.empty()) (void)linux::RemoveTree(base);
  return 0;
}
