#include "shim/memory.h"

#include <malloc.h>
#include <sys/mman.h>

#include <cstdio>
#include <cstring>

namespace berth::shim {
namespace {

struct Range {
  unsigned long start = 0, end = 0;
  bool exec = false;
};

// Private, read-only mappings of files with no anonymous (copied-on-write) page: code,
// and constant data that was never relocated. Dropping such pages loses nothing.
int CleanFileMappings(Range* out, int max) {
  std::FILE* smaps = std::fopen("/proc/self/smaps", "re");
  if (!smaps) return 0;
  int n = 0;
  Range current;
  bool candidate = false;
  char line[512];
  while (std::fgets(line, sizeof line, smaps)) {
    unsigned long start = 0, end = 0;
    char perms[5] = {};
    int path_at = 0;
    if (std::sscanf(line, "%lx-%lx %4s %*s %*s %*s %n", &start, &end, perms, &path_at) >= 3 &&
        std::strchr(line, '-') < std::strchr(line, ' ')) {
      // A new mapping: "r-xp" or "r--p", backed by a file ("/..."; not [vdso]).
      candidate = perms[0] == 'r' && perms[1] == '-' && perms[3] == 'p' && line[path_at] == '/';
      current = {start, end, perms[2] == 'x'};
      continue;
    }
    unsigned long kb = 0;
    if (candidate && std::sscanf(line, "Anonymous: %lu kB", &kb) == 1) {
      if (kb == 0 && n < max) out[n++] = current;
      candidate = false;
    }
  }
  std::fclose(smaps);
  return n;
}

}  // namespace

void ReleaseIdleMemory() {
  ::malloc_trim(0);
  Range ranges[32];
  int n = CleanFileMappings(ranges, 32);
  // Last, so that little code runs (and faults back in) after it. MADV_RANDOM turns off
  // the read-around of later faults, which would map 64 KiB for every page executed.
  for (int i = 0; i < n; ++i) {
    void* at = reinterpret_cast<void*>(ranges[i].start);
    size_t len = ranges[i].end - ranges[i].start;
    if (ranges[i].exec) ::madvise(at, len, MADV_RANDOM);
    ::madvise(at, len, MADV_DONTNEED);
  }
}

}  // namespace berth::shim
