// checkpoint and restore in the CLI. Their flags (runc's) are declared by
// checkpoint.cc and restore.cc in both binaries; what runs them is chosen at
// link time: in `berth`, criu_exec.cc re-executes the same command line in
// `berth-criu`, the same CLI linked with criu's messages and protobuf-lite
// (criu_run.cc), so that no other command pays for them (docs/checkpoint.md).
#pragma once

#include <string>
#include <vector>

#include "cli/cli.h"

namespace berth::cli {

struct CriuFlags {
  std::string image_path, work_path, manage_cgroups_mode;
  std::vector<std::string> empty_ns;
  bool tcp_established = false, ext_unix_sk = false, shell_job = false, file_locks = false,
       auto_dedup = false, lazy_pages = false;
};

struct CheckpointFlags {
  std::string id;
  CriuFlags criu;
  std::string parent_path, page_server;
  bool leave_running = false, pre_dump = false;
  int status_fd = -1;
};

struct RestoreFlags {
  std::string id, bundle = ".", pid_file, console_socket, lsm_profile, lsm_mount_context;
  CriuFlags criu;
  bool detach = false, no_subreaper = false, no_pivot = false;
};

void AddCriuFlags(CLI::App* cmd, CriuFlags& flags);

Result<int> RunCheckpoint(const container::Runtime& rt, const CheckpointFlags& flags);
Result<int> RunRestore(const container::Runtime& rt, const RestoreFlags& flags);

}  // namespace berth::cli
