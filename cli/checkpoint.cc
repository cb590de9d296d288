// `checkpoint`: runc's flags, then container::Checkpoint.
#include <fcntl.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/criu_flags.h"

namespace berth::cli {

void AddCriuFlags(CLI::App* cmd, CriuFlags& f) {
  cmd->add_option("--image-path", f.image_path,
                  "path for the criu image files (default: ./checkpoint)");
  cmd->add_option("--work-path", f.work_path,
                  "path for criu's work files and logs (default: the image path)");
  cmd->add_flag("--tcp-established", f.tcp_established, "allow open tcp connections");
  cmd->add_flag("--ext-unix-sk", f.ext_unix_sk, "allow external unix sockets");
  cmd->add_flag("--shell-job", f.shell_job, "allow shell jobs");
  cmd->add_flag("--file-locks", f.file_locks, "handle file locks, for safety");
  cmd->add_option("--manage-cgroups-mode", f.manage_cgroups_mode,
                  "cgroups mode: soft|full|strict|ignore (default: soft)");
  cmd->add_option("--empty-ns", f.empty_ns,
                  "create a namespace, but don't restore its properties (network)")
      ->allow_extra_args(false);
  cmd->add_flag("--auto-dedup", f.auto_dedup, "enable auto deduplication of memory images");
  cmd->add_flag("--lazy-pages", f.lazy_pages, "use userfaultfd to lazily restore memory pages");
}

Result<container::CriuOptions> ToCriuOptions(const CriuFlags& f) {
  container::CriuOptions o;
  o.image_path = f.image_path;
  if (o.image_path.empty()) {
    // runc's default: ./checkpoint
    char cwd[4096];
    if (!::getcwd(cwd, sizeof cwd)) return ErrnoError("getcwd");
    o.image_path = std::string(cwd) + "/checkpoint";
  }
  o.work_path = f.work_path;
  o.tcp_established = f.tcp_established;
  o.ext_unix_sk = f.ext_unix_sk;
  o.shell_job = f.shell_job;
  o.file_locks = f.file_locks;
  o.auto_dedup = f.auto_dedup;
  o.lazy_pages = f.lazy_pages;
  o.manage_cgroups_mode = BERTH_TRY(container::ParseCriuCgroupMode(f.manage_cgroups_mode));
  o.empty_ns = f.empty_ns;
  return o;
}

namespace {

struct CheckpointFlags {
  std::string id;
  CriuFlags criu;
  std::string parent_path, page_server;
  bool leave_running = false, pre_dump = false;
  int status_fd = -1;
};

Result<int> RunCheckpoint(const container::Runtime& rt, const CheckpointFlags& f) {
  container::CheckpointOptions o;
  o.id = f.id;
  o.criu = BERTH_TRY(ToCriuOptions(f.criu));
  o.parent_path = f.parent_path;
  o.leave_running = f.leave_running;
  o.pre_dump = f.pre_dump;
  o.page_server = f.page_server;
  o.status_fd = f.status_fd;
  if (o.status_fd >= 0) {
    int flags = ::fcntl(o.status_fd, F_GETFL);
    if (flags < 0) return ErrnoError("invalid --status-fd " + std::to_string(o.status_fd));
    if ((flags & O_ACCMODE) == O_RDONLY)
      return Fail("invalid --status-fd " + std::to_string(o.status_fd) + ": not writable");
  }
  BERTH_TRY(container::Checkpoint(rt, o));
  return 0;
}

}  // namespace

void AddCheckpoint(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("checkpoint", "checkpoint a running container (criu)");
  auto f = std::make_shared<CheckpointFlags>();
  cmd->add_option("container-id", f->id, "the container's id")->required();
  AddCriuFlags(cmd, f->criu);
  cmd->add_option("--parent-path", f->parent_path,
                  "path of the previous (pre-dump) images, relative to --image-path");
  cmd->add_flag("--leave-running", f->leave_running, "leave the process running after checkpointing");
  cmd->add_flag("--pre-dump", f->pre_dump,
                "dump the container's memory only, leaving it running");
  cmd->add_option("--page-server", f->page_server, "ADDRESS:PORT of the page server");
  cmd->add_option("--status-fd", f->status_fd,
                  "criu writes \\0 to this fd once its lazy-pages server is ready");
  cmd->callback([&action, f] {
    action = [f](const container::Runtime& rt) { return RunCheckpoint(rt, *f); };
  });
}

}  // namespace berth::cli
