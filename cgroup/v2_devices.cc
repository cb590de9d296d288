#include "cgroup/v2_devices.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstring>

#include "cgroup/devices.h"
#include "linux/files.h"

namespace berth::cgroup::v2 {
namespace {

// Registers of the program: r1 = ctx; r2 = device type; r3 = requested access;
// r4 = major; r5 = minor; r0 = verdict.
constexpr uint8_t R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5;

bpf_insn Insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i;
  std::memset(&i, 0, sizeof i);
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

bpf_insn LoadWord(uint8_t dst, int16_t off) {
  return Insn(BPF_LDX | BPF_MEM | BPF_W, dst, R1, off, 0);
}
bpf_insn Alu32Imm(uint8_t op, uint8_t dst, int32_t imm) {
  return Insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}
bpf_insn Mov32Reg(uint8_t dst, uint8_t src) {
  return Insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0);
}
// Jumps whose offset is patched once the block's length is known.
bpf_insn JneImm(uint8_t dst, int32_t imm) {
  return Insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, 0, imm);
}
bpf_insn JneReg(uint8_t dst, uint8_t src) {
  return Insn(BPF_JMP | BPF_JNE | BPF_X, dst, src, 0, 0);
}
bpf_insn Exit() {
  return Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

bool MatchesEverything(const oci::DeviceRule& r) {
  bool any_number = (!r.major || *r.major < 0) && (!r.minor || *r.minor < 0);
  bool rwm = r.access.find('r') != std::string::npos && r.access.find('w') != std::string::npos &&
             r.access.find('m') != std::string::npos;
  return r.type == "a" && any_number && rwm;
}

long Bpf(int cmd, union bpf_attr* attr) {
  return ::syscall(__NR_bpf, cmd, attr, sizeof *attr);
}

}  // namespace

Result<std::vector<bpf_insn>> DeviceProgram(const std::vector<oci::DeviceRule>& rules) {
  for (const auto& r : rules) {
    BERTH_TRY(ValidateDeviceRule(r));
    if ((r.major && *r.major > INT32_MAX) || (r.minor && *r.minor > INT32_MAX))
      return Fail("device rule \"" + V1DeviceRule(r) + "\": number too large", EINVAL);
  }
  std::vector<bpf_insn> prog = {
      LoadWord(R2, offsetof(bpf_cgroup_dev_ctx, access_type)),
      Alu32Imm(BPF_AND, R2, 0xffff),
      LoadWord(R3, offsetof(bpf_cgroup_dev_ctx, access_type)),
      Alu32Imm(BPF_RSH, R3, 16),
      LoadWord(R4, offsetof(bpf_cgroup_dev_ctx, major)),
      LoadWord(R5, offsetof(bpf_cgroup_dev_ctx, minor)),
  };
  bool catch_all = false;
  // Last match wins: emit the rules last first, each returning its verdict on a match.
  for (auto it = rules.rbegin(); it != rules.rend() && !catch_all; ++it) {
    const auto& r = *it;
    std::vector<bpf_insn> block;
    if (r.type != "a")
      block.push_back(JneImm(R2, r.type == "c" ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK));
    int32_t access = 0;
    for (char c : r.access)
      access |= c == 'r'   ? BPF_DEVCG_ACC_READ
                : c == 'w' ? BPF_DEVCG_ACC_WRITE
                           : BPF_DEVCG_ACC_MKNOD;
    if (access != (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)) {
      // The request matches when it asks for nothing outside the rule's access.
      block.push_back(Mov32Reg(R1, R3));
      block.push_back(Alu32Imm(BPF_AND, R1, access));
      block.push_back(JneReg(R1, R3));
    }
    if (r.major && *r.major >= 0) block.push_back(JneImm(R4, static_cast<int32_t>(*r.major)));
    if (r.minor && *r.minor >= 0) block.push_back(JneImm(R5, static_cast<int32_t>(*r.minor)));
    block.push_back(Alu32Imm(BPF_MOV, R0, r.allow ? 1 : 0));
    block.push_back(Exit());
    // Every jump in the block goes to the instruction after it.
    for (size_t i = 0; i < block.size(); ++i)
      if (BPF_CLASS(block[i].code) == BPF_JMP && BPF_OP(block[i].code) == BPF_JNE)
        block[i].off = static_cast<int16_t>(block.size() - i - 1);
    prog.insert(prog.end(), block.begin(), block.end());
    catch_all = MatchesEverything(r);
  }
  if (!catch_all) {
    prog.push_back(Alu32Imm(BPF_MOV, R0, 0));
    prog.push_back(Exit());
  }
  return prog;
}

Result<linux::UniqueFd> LoadDeviceProgram(const std::vector<bpf_insn>& program) {
  static const char kLicense[] = "Apache";
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = reinterpret_cast<uint64_t>(program.data());
  attr.insn_cnt = static_cast<uint32_t>(program.size());
  attr.license = reinterpret_cast<uint64_t>(kLicense);
  attr.prog_flags = 0;
  long fd = Bpf(BPF_PROG_LOAD, &attr);
  if (fd >= 0) {
    // bpf(2) does not take O_CLOEXEC; BPF fds are close-on-exec since Linux 4.14, set
    // it anyway for older kernels.
    ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
    return linux::UniqueFd(static_cast<int>(fd));
  }
  int err = errno;
  // Load again with the verifier's log for the error message.
  std::string log(16384, '\0');
  attr.log_level = 1;
  attr.log_buf = reinterpret_cast<uint64_t>(log.data());
  attr.log_size = static_cast<uint32_t>(log.size());
  fd = Bpf(BPF_PROG_LOAD, &attr);
  if (fd >= 0) ::close(static_cast<int>(fd));
  log.resize(std::strlen(log.c_str()));
  while (!log.empty() && log.back() == '\n') log.pop_back();
  for (char& c : log)
    if (c == '\n') c = ';';
  auto e = ErrnoError("load the device BPF program", err);
  if (!log.empty()) e.error().message += " (verifier: " + log + ")";
  return e;
}

namespace {

struct Attached {
  std::vector<uint32_t> ids;
  uint32_t flags = 0;
};

Result<Attached> Query(int cgroup_fd, const std::string& dir) {
  Attached out;
  out.ids.resize(64);
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.query.target_fd = static_cast<uint32_t>(cgroup_fd);
  attr.query.attach_type = BPF_CGROUP_DEVICE;
  attr.query.prog_ids = reinterpret_cast<uint64_t>(out.ids.data());
  attr.query.prog_cnt = static_cast<uint32_t>(out.ids.size());
  if (Bpf(BPF_PROG_QUERY, &attr) < 0) return ErrnoError("query the device programs of " + dir);
  out.ids.resize(attr.query.prog_cnt);
  out.flags = attr.query.attach_flags;
  return out;
}

}  // namespace

Result<std::vector<uint32_t>> AttachedDevicePrograms(const std::string& dir) {
  auto cg = BERTH_TRY(linux::Open(dir, O_RDONLY | O_DIRECTORY));
  auto attached = BERTH_TRY(Query(cg.get(), dir));
  return attached.ids;
}

Result<void> SetDevices(const std::string& dir, const std::vector<oci::DeviceRule>& rules) {
  if (rules.empty()) return {};
  auto program = BERTH_TRY(DeviceProgram(rules));
  auto prog = BERTH_TRY(LoadDeviceProgram(program));
  auto cg = BERTH_TRY(linux::Open(dir, O_RDONLY | O_DIRECTORY));

  auto old = BERTH_TRY(Query(cg.get(), dir));
  const std::vector<uint32_t>& old_ids = old.ids;
  uint32_t old_flags = old.flags;
  union bpf_attr attr;

  // A program attached without BPF_F_ALLOW_MULTI is replaced by attaching with the same
  // flags; otherwise attach ours beside the old ones and detach those afterwards.
  bool replace = !old_ids.empty() && !(old_flags & BPF_F_ALLOW_MULTI);
  std::memset(&attr, 0, sizeof attr);
  attr.target_fd = static_cast<uint32_t>(cg.get());
  attr.attach_bpf_fd = static_cast<uint32_t>(prog.get());
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = replace ? old_flags : BPF_F_ALLOW_MULTI;
  if (Bpf(BPF_PROG_ATTACH, &attr) < 0) return ErrnoError("attach the device BPF program to " + dir);
  if (replace) return {};

  for (uint32_t id : old_ids) {
    std::memset(&attr, 0, sizeof attr);
    attr.prog_id = id;
    long old_fd = Bpf(BPF_PROG_GET_FD_BY_ID, &attr);
    if (old_fd < 0) {
      if (errno == ENOENT) continue;
      return ErrnoError("get the device BPF program " + std::to_string(id) + " of " + dir);
    }
    linux::UniqueFd old_prog(static_cast<int>(old_fd));
    std::memset(&attr, 0, sizeof attr);
    attr.target_fd = static_cast<uint32_t>(cg.get());
    attr.attach_bpf_fd = static_cast<uint32_t>(old_prog.get());
    attr.attach_type = BPF_CGROUP_DEVICE;
    if (Bpf(BPF_PROG_DETACH, &attr) < 0 && errno != ENOENT)
      return ErrnoError("detach the old device BPF program " + std::to_string(id) + " from " + dir);
  }
  return {};
}

}  // namespace berth::cgroup::v2
