// CompileSeccomp on Docker's default profile: no cache, cold cache (entry written),
// warm cache (entry read). Prints per-call wall time; see docs/seccomp.md.
//
//   berth_seccomp_bench [--iterations N] [--profile FILE] [--cache-dir DIR]
#include <sys/stat.h>
#include <unistd.h>

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

}  // namespace

int main(int argc, char** argv) {
  int iterations = 200;
  std::string profile_path = BERTH_FIXTURES_DIR "/docker-default-seccomp.json";
  std::string cache_base;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--iterations" && i + 1 < argc)
      iterations = std::max(1, std::atoi(argv[++i]));
    else if (a == "--profile" && i + 1 < argc)
      profile_path = argv[++i];
    else if (a == "--cache-dir" && i + 1 < argc)
      cache_base = argv[++i];
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

  Stats u = Summarise(uncached), c = Summarise(cold), w = Summarise(warm);
  Print("no cache", u, uncached.size());
  Print("cold cache", c, cold.size());
  Print("warm cache", w, warm.size());
  std::printf("warm vs no cache: %.1fx faster (median)\n", u.median / w.median);

  if (cache_base.empty()) (void)linux::RemoveTree(base);
  return 0;
}
