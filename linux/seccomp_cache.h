// Internal to the seccomp module: the on-disk cache of compiled filters.
//
// An entry is one file, <cache_dir>/<16 hex digits of the key hash>.bpf, holding the
// full key, the program and a checksum. The key is a canonical serialisation of every
// part of oci::Seccomp that shapes the program, plus the libseccomp version, the native
// architecture, the kernel release and berth's entry format version, so a stale,
// corrupt or colliding entry is detected and costs only a recompile.
#pragma once

#include <optional>
#include <string>

#include "base/result.h"
#include "linux/seccomp.h"

namespace berth::linux::seccomp_cache {

// Bumped whenever the entry layout or the compiler's output for a given key changes.
inline constexpr unsigned kFormatVersion = 2;  // 2: the ENOSYS stub

std::string Key(const oci::Seccomp& profile);
// "<cache_dir>/<hash>.bpf".
std::string EntryPath(const std::string& cache_dir, const std::string& key);

// The cached program for `key`, or nullopt when the entry is absent, unreadable,
// corrupt, for another key, or not safe to trust (see IsTrustedDir).
std::optional<SeccompProgram> Lookup(const std::string& cache_dir, const std::string& key);

// Writes the entry atomically (unique temporary file + rename), creating cache_dir 0700.
Result<void> Store(const std::string& cache_dir, const std::string& key,
                   const SeccompProgram& program);

// The cache is only used when cache_dir is a directory owned by the caller and not
// writable by group or others: an entry is a filter the container runs under.
bool IsTrustedDir(const std::string& cache_dir);

}  // namespace berth::linux::seccomp_cache
