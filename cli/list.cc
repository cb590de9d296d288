#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/cli.h"

namespace berth::cli {
namespace {

// runc prints its table with Go's tabwriter (min width 12, padding 3).
void PrintTable(const std::vector<oci::State>& states) {
  std::vector<std::vector<std::string>> rows = {{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}};
  for (const auto& s : states)
    rows.push_back({s.id, std::to_string(s.pid), std::string(oci::StatusName(s.status)), s.bundle,
                    s.created, s.owner.empty() ? "root" : s.owner});
  std::vector<size_t> width(6, 0);
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(std::max<size_t>(12, width[i] + 3) - r[i].size(), ' ');
    }
    std::printf("%s\n", line.c_str());
  }
}

}  // namespace

void AddList(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("list", "list the containers");
  struct Flags {
    std::string format = "table";
    bool quiet = false;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("-f,--format", f->format, "table or json")->check(CLI::IsMember({"table", "json"}));
  cmd->add_flag("-q,--quiet", f->quiet, "print only the ids");
  cmd->callback([&action, f] {
    action = [f](const container::Runtime& rt) -> Result<int> {
      std::vector<oci::State> states = BERTH_TRY(container::List(rt));
      if (f->quiet) {
        for (const auto& s : states) std::printf("%s\n", s.id.c_str());
      } else if (f->format == "json") {
        nlohmann::ordered_json arr = nlohmann::ordered_json::array();
        for (const auto& s : states) {
          nlohmann::ordered_json j;
          j["ociVersion"] = s.oci_version;
          j["id"] = s.id;
          j["pid"] = s.pid;
          j["status"] = std::string(oci::StatusName(s.status));
          j["bundle"] = s.bundle;
          j["rootfs"] = s.rootfs;
          j["created"] = s.created;
          if (!s.annotations.empty()) j["annotations"] = s.annotations;
          j["owner"] = s.owner.empty() ? "root" : s.owner;
          arr.push_back(std::move(j));
        }
        std::printf("%s\n", arr.dump().c_str());
      } else {
        PrintTable(states);
      }
      return 0;
    };
  });
}

}  // namespace berth::cli
