// The criu flags checkpoint and restore share (runc's names and defaults).
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

void AddCriuFlags(CLI::App* cmd, CriuFlags& flags);
// The image path defaults to ./checkpoint, as runc's.
Result<container::CriuOptions> ToCriuOptions(const CriuFlags& flags);

}  // namespace berth::cli
