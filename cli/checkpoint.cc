// `checkpoint`: runc's flags; RunCheckpoint (criu_run.cc, or criu_exec.cc in
// `berth`) does the rest.
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

void AddCheckpoint(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("checkpoint", "checkpoint a running container (criu)");
  auto f = std::make_shared<CheckpointFlags>();
  cmd->add_option("container-id", f->id, "the container's id")->required();
  AddCriuFlags(cmd, f->criu);
  cmd->add_option("--parent-path", f->parent_path,
                  "path of the previous (pre-dump) images, relative to --image-path");
  cmd->add_flag("--leave-running", f->leave_running,
                "leave the process running after checkpointing");
  cmd->add_flag("--pre-dump", f->pre_dump, "dump the container's memory only, leaving it running");
  cmd->add_option("--page-server", f->page_server, "ADDRESS:PORT of the page server");
  cmd->add_option("--status-fd", f->status_fd,
                  "criu writes \\0 to this fd once its lazy-pages server is ready");
  cmd->callback([&action, f] {
    action = [f](const container::Runtime& rt) { return RunCheckpoint(rt, *f); };
  });
}

}  // namespace berth::cli
