// The compiled-program cache. libseccomp's seccomp_init is interposed in this test
// binary (the static berth_linux links to this definition) and counted, so a warm
// compile is proven not to reach libseccomp at all.
#include <dirent.h>
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <seccomp.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <thread>

#include "linux/seccomp_cache.h"
#include "tests/seccomp/seccomp_test_support.h"

namespace {
std::atomic<int> g_seccomp_inits{0};
}  // namespace

extern "C" scmp_filter_ctx seccomp_init(uint32_t def_action) {
  using Fn = scmp_filter_ctx (*)(uint32_t);
  static const Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "seccomp_init"));
  g_seccomp_inits.fetch_add(1);
  return real(def_action);
}

namespace berth::linux {
namespace {

using testing::Arg;
using testing::Profile;
using testing::Rule;
using testing::TempDir;

oci::Seccomp ProfileA() {
  oci::Seccomp p = Profile("SCMP_ACT_ERRNO",
                           {Rule({"read", "write", "exit_group", "mkdir"}, "SCMP_ACT_ALLOW"),
                            Rule({"close"}, "SCMP_ACT_ERRNO", 42, {Arg(0, "SCMP_CMP_GT", 900)})});
  p.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"};
  return p;
}

oci::Seccomp ProfileB() {
  oci::Seccomp p = ProfileA();
  p.syscalls[1].errno_ret = 43;
  return p;
}

bool Same(const SeccompProgram& a, const SeccompProgram& b) {
  return a.flags == b.flags && a.wants_listener == b.wants_listener &&
         a.filter.size() == b.filter.size() &&
         std::memcmp(a.filter.data(), b.filter.data(), a.filter.size() * sizeof(sock_filter)) == 0;
}

std::vector<std::string> Files(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
        names.push_back(e->d_name);
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

class SeccompCache : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(tmp_.ok());
    options_.cache_dir = tmp_.path() + "/cache";
  }

  // Compiles and returns how many times libseccomp was entered.
  int Compile(const oci::Seccomp& p, SeccompProgram* out) {
    int before = g_seccomp_inits.load();
    auto r = CompileSeccomp(p, options_);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
    if (r) *out = *r;
    return g_seccomp_inits.load() - before;
  }

  SeccompProgram Uncached(const oci::Seccomp& p) {
    auto r = CompileSeccomp(p);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
    return r ? *r : SeccompProgram{};
  }

  std::string Entry(const oci::Seccomp& p) {
    return seccomp_cache::EntryPath(options_.cache_dir, seccomp_cache::Key(p));
  }

  TempDir tmp_;
  SeccompCompileOptions options_;
};

TEST_F(SeccompCache, ColdCompileWritesAnEntryAndWarmCompileSkipsLibseccomp) {
  SeccompProgram reference = Uncached(ProfileA());
  ASSERT_FALSE(reference.filter.empty());

  SeccompProgram cold, warm;
  EXPECT_EQ(Compile(ProfileA(), &cold), 1) << "the interposer must see the cold compile";
  EXPECT_TRUE(Same(cold, reference));
  std::vector<std::string> files = Files(options_.cache_dir);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(options_.cache_dir + "/" + files[0], Entry(ProfileA()));
  struct stat dir_st, before, after;
  ASSERT_EQ(stat(options_.cache_dir.c_str(), &dir_st), 0);
  EXPECT_EQ(dir_st.st_mode & 0777, 0700u);
  ASSERT_EQ(stat(Entry(ProfileA()).c_str(), &before), 0);
  EXPECT_EQ(before.st_mode & 0777, 0600u);

  EXPECT_EQ(Compile(ProfileA(), &warm), 0) << "a warm compile must not enter libseccomp";
  EXPECT_TRUE(Same(warm, reference));
  ASSERT_EQ(stat(Entry(ProfileA()).c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino) << "the entry was rewritten";
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
}

TEST_F(SeccompCache, ValidationRunsEvenOnAWarmCache) {
  SeccompProgram p;
  ASSERT_EQ(Compile(ProfileA(), &p), 1);
  oci::Seccomp bad = ProfileA();
  bad.syscalls[0].action = "SCMP_ACT_FOO";
  EXPECT_FALSE(CompileSeccomp(bad, options_).has_value());
}

TEST_F(SeccompCache, CorruptEntriesAreRebuilt) {
  SeccompProgram reference = Uncached(ProfileA()), p;
  ASSERT_EQ(Compile(ProfileA(), &p), 1);
  std::string entry = Entry(ProfileA());
  auto good = ReadFile(entry);
  ASSERT_TRUE(good.has_value());

  std::string flipped = *good;
  flipped[flipped.size() - 20] ^= 0x40;  // inside the last instruction
  std::vector<std::string> corruptions = {"",
                                          "garbage",
                                          good->substr(0, good->size() / 2),
                                          good->substr(0, good->size() - 1),
                                          flipped,
                                          *good + "trailing"};
  for (size_t i = 0; i < corruptions.size(); ++i) {
    SCOPED_TRACE("corruption " + std::to_string(i));
    ASSERT_TRUE(WriteFileAtomic(entry, corruptions[i], 0600).has_value());
    SeccompProgram rebuilt, again;
    EXPECT_EQ(Compile(ProfileA(), &rebuilt), 1) << "a corrupt entry must not be used";
    EXPECT_TRUE(Same(rebuilt, reference));
    EXPECT_EQ(Compile(ProfileA(), &again), 0) << "the rebuilt entry is used";
    EXPECT_TRUE(Same(again, reference));
  }
}

TEST_F(SeccompCache, AnEntryForAnotherKeyIsIgnored) {
  // Stands in for a hash collision: B's entry under A's file name.
  SeccompProgram a_ref = Uncached(ProfileA()), b_ref = Uncached(ProfileB()), p;
  ASSERT_FALSE(Same(a_ref, b_ref));
  ASSERT_EQ(Compile(ProfileB(), &p), 1);
  auto b_entry = ReadFile(Entry(ProfileB()));
  ASSERT_TRUE(b_entry.has_value());
  ASSERT_TRUE(WriteFileAtomic(Entry(ProfileA()), *b_entry, 0600).has_value());

  SeccompProgram a;
  EXPECT_EQ(Compile(ProfileA(), &a), 1);
  EXPECT_TRUE(Same(a, a_ref)) << "B's program was served for A";
}

TEST_F(SeccompCache, DifferentProfilesGetDifferentEntries) {
  SeccompProgram a, b, a2, b2;
  EXPECT_EQ(Compile(ProfileA(), &a), 1);
  EXPECT_EQ(Compile(ProfileB(), &b), 1);
  EXPECT_NE(Entry(ProfileA()), Entry(ProfileB()));
  EXPECT_EQ(Files(options_.cache_dir).size(), 2u);
  EXPECT_EQ(Compile(ProfileA(), &a2), 0);
  EXPECT_EQ(Compile(ProfileB(), &b2), 0);
  EXPECT_TRUE(Same(a, a2));
  EXPECT_TRUE(Same(b, b2));
  EXPECT_FALSE(Same(a2, b2));

  // Every field that shapes the program is in the key.
  std::vector<std::function<void(oci::Seccomp&)>> edits = {
      [](oci::Seccomp& p) { p.default_errno_ret = 1; },
      [](oci::Seccomp& p) { p.architectures.pop_back(); },
      [](oci::Seccomp& p) { p.flags = {"SECCOMP_FILTER_FLAG_LOG"}; },
      [](oci::Seccomp& p) { p.syscalls[0].names.push_back("rmdir"); },
      [](oci::Seccomp& p) { p.syscalls[1].args[0].value = 901; },
      [](oci::Seccomp& p) { p.syscalls[1].args[0].value_two = 1; },
      [](oci::Seccomp& p) { p.syscalls[1].args[0].index = 1; },
      [](oci::Seccomp& p) { p.syscalls[1].args[0].op = "SCMP_CMP_GE"; },
      [](oci::Seccomp& p) { p.syscalls[1].action = "SCMP_ACT_LOG"; },
  };
  for (size_t i = 0; i < edits.size(); ++i) {
    oci::Seccomp p = ProfileA();
    edits[i](p);
    EXPECT_NE(seccomp_cache::Key(p), seccomp_cache::Key(ProfileA())) << "edit " << i;
  }
}

TEST_F(SeccompCache, ListenerPathAndMetadataShareAnEntry) {
  oci::Seccomp one = ProfileA();
  one.syscalls.push_back(Rule({"rmdir"}, "SCMP_ACT_NOTIFY"));
  one.listener_path = "/run/agent-1.sock";
  one.listener_metadata = "one";
  oci::Seccomp two = one;
  two.listener_path = "/run/agent-2.sock";
  two.listener_metadata = "two";
  SeccompProgram a, b;
  EXPECT_EQ(Compile(one, &a), 1);
  EXPECT_EQ(Compile(two, &b), 0);
  EXPECT_TRUE(b.wants_listener);
  EXPECT_TRUE(Same(a, b));
}

TEST_F(SeccompCache, AnUntrustedDirectoryIsNotUsed) {
  SeccompProgram p;
  ASSERT_EQ(Compile(ProfileA(), &p), 1);
  ASSERT_EQ(chmod(options_.cache_dir.c_str(), 0777), 0);
  EXPECT_EQ(Compile(ProfileA(), &p), 1) << "a world-writable cache must not be trusted";
  ASSERT_EQ(chmod(options_.cache_dir.c_str(), 0700), 0);
  EXPECT_EQ(Compile(ProfileA(), &p), 0);

  ASSERT_EQ(chmod(Entry(ProfileA()).c_str(), 0666), 0);
  EXPECT_EQ(Compile(ProfileA(), &p), 1) << "a world-writable entry must not be trusted";

  if (geteuid() == 0) {
    ASSERT_EQ(chown(options_.cache_dir.c_str(), 65534, 65534), 0);
    EXPECT_EQ(Compile(ProfileA(), &p), 1) << "a cache owned by someone else must not be trusted";
  }
}

TEST_F(SeccompCache, ConcurrentCompilesAgreeAndLeaveOneEntry) {
  SeccompProgram reference = Uncached(ProfileA());
  constexpr int kThreads = 4;
  std::vector<SeccompProgram> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      for (int round = 0; round < 5; ++round) {
        auto r = CompileSeccomp(ProfileA(), options_);
        if (r) results[i] = *r;
      }
    });
  for (auto& t : threads) t.join();
  for (const SeccompProgram& r : results) EXPECT_TRUE(Same(r, reference));
  EXPECT_EQ(Files(options_.cache_dir),
            std::vector<std::string>{Entry(ProfileA()).substr(options_.cache_dir.size() + 1)})
      << "no temporary file may be left behind";
}

TEST_F(SeccompCache, AnUnwritableCacheStillCompiles) {
  ASSERT_TRUE(WriteFileAtomic(tmp_.path() + "/file", "x").has_value());
  options_.cache_dir = tmp_.path() + "/file/cache";  // under a regular file
  SeccompProgram p;
  EXPECT_EQ(Compile(ProfileA(), &p), 1);
  EXPECT_TRUE(Same(p, Uncached(ProfileA())));
}

}  // namespace
}  // namespace berth::linux
