#include "linux/seccomp_cache.h"

#include <fcntl.h>
#include <seccomp.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string_view>

#include "linux/files.h"

namespace berth::linux::seccomp_cache {
namespace {

constexpr char kMagic[8] = {'B', 'R', 'T', 'H', 'S', 'C', 'M', 'P'};
// Header and trailer around the key and the instructions.
constexpr size_t kFixedSize = sizeof kMagic + 4 /*version*/ + 4 /*key size*/ + 4 /*flags*/ +
                              4 /*wants_listener*/ + 4 /*count*/ + 8 /*checksum*/;
// Far above any real profile; bounds what a damaged entry can make us read.
constexpr size_t kMaxKeySize = 8u << 20;

uint64_t Fnv1a64(std::string_view data) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

// Length-prefixed fields, one per line: unambiguous whatever the strings hold.
class KeyWriter {
 public:
  void Str(std::string_view tag, std::string_view value) {
    out_.append(tag).append("=").append(std::to_string(value.size())).append(":");
    out_.append(value).append("\n");
  }
  void Num(std::string_view tag, uint64_t value) {
    out_.append(tag).append("#").append(std::to_string(value)).append("\n");
  }
  void Opt(std::string_view tag, const std::optional<uint32_t>& value) {
    if (value)
      Num(tag, *value);
    else
      out_.append(tag).append("-\n");
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

void PutU32(std::string& out, uint32_t v) {
  out.append(reinterpret_cast<const char*>(&v), 4);
}
void PutU64(std::string& out, uint64_t v) {
  out.append(reinterpret_cast<const char*>(&v), 8);
}

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool Bytes(size_t n, std::string_view* out) {
    if (data_.size() - pos_ < n) return false;
    *out = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  template <class T>
  bool Get(T* v) {
    std::string_view b;
    if (!Bytes(sizeof(T), &b)) return false;
    std::memcpy(v, b.data(), sizeof(T));
    return true;
  }
  size_t pos() const { return pos_; }
  bool AtEnd() const { return pos_ == data_.size(); }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

std::string Serialize(const std::string& key, const SeccompProgram& program) {
  std::string out;
  out.reserve(kFixedSize + key.size() + program.filter.size() * sizeof(sock_filter));
  out.append(kMagic, sizeof kMagic);
  PutU32(out, kFormatVersion);
  PutU32(out, static_cast<uint32_t>(key.size()));
  out.append(key);
  PutU32(out, program.flags);
  PutU32(out, program.wants_listener ? 1 : 0);
  PutU32(out, static_cast<uint32_t>(program.filter.size()));
  out.append(reinterpret_cast<const char*>(program.filter.data()),
             program.filter.size() * sizeof(sock_filter));
  PutU64(out, Fnv1a64(out));
  return out;
}

std::optional<SeccompProgram> Parse(std::string_view data, const std::string& key) {
  if (data.size() < kFixedSize) return std::nullopt;
  uint64_t stored_sum;
  std::memcpy(&stored_sum, data.data() + data.size() - 8, 8);
  if (Fnv1a64(data.substr(0, data.size() - 8)) != stored_sum) return std::nullopt;

  Reader r(data.substr(0, data.size() - 8));
  std::string_view magic, stored_key;
  uint32_t version, key_size, flags, wants_listener, count;
  if (!r.Bytes(sizeof kMagic, &magic) || magic != std::string_view(kMagic, sizeof kMagic))
    return std::nullopt;
  if (!r.Get(&version) || version != kFormatVersion) return std::nullopt;
  if (!r.Get(&key_size) || key_size != key.size() || !r.Bytes(key_size, &stored_key))
    return std::nullopt;
  // The full key, not just its hash in the file name: a collision costs a recompile.
  if (stored_key != key) return std::nullopt;
  if (!r.Get(&flags) || !r.Get(&wants_listener) || wants_listener > 1 || !r.Get(&count))
    return std::nullopt;
  if (count == 0 || count > BPF_MAXINSNS) return std::nullopt;
  std::string_view insns;
  if (!r.Bytes(size_t{count} * sizeof(sock_filter), &insns) || !r.AtEnd()) return std::nullopt;

  SeccompProgram program;
  program.filter.resize(count);
  std::memcpy(program.filter.data(), insns.data(), insns.size());
  program.flags = flags;
  program.wants_listener = wants_listener == 1;
  return program;
}

std::string Hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

std::string Key(const oci::Seccomp& profile) {
  KeyWriter w;
  // Everything besides the profile that changes the program libseccomp emits.
  w.Num("berth-seccomp-cache", kFormatVersion);
  const scmp_version* v = seccomp_version();
  w.Str("libseccomp",
        std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro));
  w.Num("native-arch", seccomp_arch_native());
  struct utsname uts;
  w.Str("kernel", ::uname(&uts) == 0 ? uts.release : "?");

  // listenerPath and listenerMetadata do not shape the program: containers that differ
  // only there share an entry.
  w.Str("defaultAction", profile.default_action);
  w.Opt("defaultErrnoRet", profile.default_errno_ret);
  w.Num("architectures", profile.architectures.size());
  for (const std::string& a : profile.architectures) w.Str("arch", a);
  w.Num("flags", profile.flags.size());
  for (const std::string& f : profile.flags) w.Str("flag", f);
  w.Num("syscalls", profile.syscalls.size());
  for (const oci::SeccompSyscall& s : profile.syscalls) {
    w.Num("names", s.names.size());
    for (const std::string& n : s.names) w.Str("name", n);
    w.Str("action", s.action);
    w.Opt("errnoRet", s.errno_ret);
    w.Num("args", s.args.size());
    for (const oci::SeccompArg& a : s.args) {
      w.Num("index", a.index);
      w.Num("value", a.value);
      w.Num("valueTwo", a.value_two);
      w.Str("op", a.op);
    }
  }
  return w.Take();
}

std::string EntryPath(const std::string& cache_dir, const std::string& key) {
  return cache_dir + "/" + Hex64(Fnv1a64(key)) + ".bpf";
}

bool IsTrustedDir(const std::string& cache_dir) {
  struct stat st;
  if (::stat(cache_dir.c_str(), &st) < 0) return false;
  return S_ISDIR(st.st_mode) && st.st_uid == ::geteuid() && (st.st_mode & 022) == 0;
}

std::optional<SeccompProgram> Lookup(const std::string& cache_dir, const std::string& key) {
  if (!IsTrustedDir(cache_dir)) return std::nullopt;
  std::string path = EntryPath(cache_dir, key);
  int raw = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (raw < 0) return std::nullopt;
  UniqueFd fd(raw);
  struct stat st;
  if (::fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid() ||
      (st.st_mode & 022) != 0)
    return std::nullopt;
  size_t limit = kFixedSize + key.size() + BPF_MAXINSNS * sizeof(sock_filter);
  if (key.size() > kMaxKeySize || static_cast<size_t>(st.st_size) > limit) return std::nullopt;
  Result<std::string> data = ReadFd(fd.get());
  if (!data) return std::nullopt;
  return Parse(*data, key);
}

Result<void> Store(const std::string& cache_dir, const std::string& key,
                   const SeccompProgram& program) {
  if (key.size() > kMaxKeySize) return Fail("seccomp cache: profile too large to cache");
  BERTH_TRY_CTX(MakeDirs(cache_dir, 0700), "seccomp cache");
  if (!IsTrustedDir(cache_dir))
    return Fail("seccomp cache " + cache_dir +
                ": not a directory owned by us and closed to others");

  std::string path = EntryPath(cache_dir, key);
  // Unique per writer (threads of one process included) so concurrent runtimes
  // never share a temporary file; rename makes the entry appear whole.
  uint64_t nonce = 0;
  if (::getrandom(&nonce, sizeof nonce, GRND_NONBLOCK) != sizeof nonce)
    nonce = static_cast<uint64_t>(::gettid()) << 32 ^ static_cast<uint64_t>(::getpid());
  std::string tmp = cache_dir + "/.tmp-" + std::to_string(::getpid()) + "-" +
                    std::to_string(::gettid()) + "-" + Hex64(nonce);
  {
    UniqueFd fd =
        BERTH_TRY_CTX(Open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600), "seccomp cache");
    if (auto r = WriteAll(fd.get(), Serialize(key, program)); !r) {
      ::unlink(tmp.c_str());
      return Fail(std::move(r.error()).Context("seccomp cache: write " + tmp));
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) < 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return ErrnoError("seccomp cache: rename " + tmp + " to " + path, e);
  }
  return {};
}

}  // namespace berth::linux::seccomp_cache
