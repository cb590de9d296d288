// `exec`: runc's flags. The process starts as the container's config.json gave
// it at create, with the flags applied on top (or is a whole --process file),
// then runs in the foreground (signals forwarded, terminal proxied, its exit
// status ours) or detached.
#include <signal.h>

#include <algorithm>
#include <charconv>

#include "cli/cli.h"
#include "cli/supervise.h"
#include "linux/files.h"

namespace berth::cli {
namespace {

struct ExecFlags {
  std::string id;
  std::vector<std::string> args;
  std::string process_file;
  bool tty = false;
  std::string console_socket;
  bool detach = false;
  std::string pid_file;
  std::string user;
  std::vector<uint32_t> additional_gids;
  std::vector<std::string> caps;
  std::vector<std::string> env;
  std::string cwd;
  bool no_new_privs = false;
  std::string apparmor;
  std::string process_label;
  int preserve_fds = 0;
  std::vector<std::string> cgroups;
  std::string pidfd_socket;
  bool ignore_paused = false;
};

Result<uint32_t> ParseId(const std::string& text, const char* what) {
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size())
    return Fail(std::string("--user: ") + what + " \"" + text + "\" is not a number");
  return v;
}

void AddUnique(std::vector<std::string>& set, const std::string& name) {
  if (std::find(set.begin(), set.end(), name) == set.end()) set.push_back(name);
}

// Later values of a variable replace earlier ones, as runc does.
void SetEnv(std::vector<std::string>& env, const std::string& entry) {
  std::string key = entry.substr(0, entry.find('='));
  std::erase_if(env, [&](const std::string& e) { return e.substr(0, e.find('=')) == key; });
  env.push_back(entry);
}

// runc's getProcess: the flags over the container's process.
Result<void> ApplyFlags(const ExecFlags& f, oci::Process& p) {
  p.args = f.args;
  p.terminal = f.tty;
  if (!f.cwd.empty()) p.cwd = f.cwd;
  if (!f.apparmor.empty()) p.apparmor_profile = f.apparmor;
  if (!f.process_label.empty()) p.selinux_label = f.process_label;
  if (f.no_new_privs) p.no_new_privileges = true;
  for (const auto& e : f.env) SetEnv(p.env, e);
  if (!f.user.empty()) {
    size_t colon = f.user.find(':');
    p.user.uid = BERTH_TRY(ParseId(f.user.substr(0, colon), "uid"));
    if (colon != std::string::npos)
      p.user.gid = BERTH_TRY(ParseId(f.user.substr(colon + 1), "gid"));
  }
  if (!f.additional_gids.empty()) p.user.additional_gids = f.additional_gids;
  if (!f.caps.empty()) {
    if (!p.capabilities) p.capabilities.emplace();
    auto& c = *p.capabilities;
    for (const auto& cap : f.caps) {
      AddUnique(c.bounding, cap);
      AddUnique(c.effective, cap);
      AddUnique(c.permitted, cap);
      // CVE-2022-29162: never the inheritable set; ambient only where the
      // config already gives inheritable capabilities (ambient needs them).
      if (!c.inheritable.empty()) AddUnique(c.ambient, cap);
    }
  }
  return {};
}

Result<oci::Process> ProcessToRun(const container::Runtime& rt, const ExecFlags& f) {
  if (!f.process_file.empty()) {
    std::string text = BERTH_TRY(linux::ReadFile(f.process_file));
    oci::Process p = BERTH_TRY_CTX(oci::ParseProcess(text), "--process " + f.process_file);
    if (p.args.empty()) return Fail("--process " + f.process_file + ": args must not be empty");
    return p;
  }
  if (f.args.empty())
    return Fail("exec: no command given (args after the container id, or --process)");
  oci::Process p = BERTH_TRY(container::ContainerProcess(rt, f.id));
  BERTH_TRY(ApplyFlags(f, p));
  return p;
}

// runc's --cgroup: one PATH (every hierarchy), or controller[,controller]:PATH per v1
// controller, each controller once.
Result<std::map<std::string, std::string>> SubCgroups(const std::vector<std::string>& args) {
  std::map<std::string, std::string> out;
  for (const auto& arg : args) {
    size_t colon = arg.find(':');
    if (colon == std::string::npos) {
      if (args.size() != 1)
        return Fail("invalid --cgroup argument: " + arg + " (missing <controller>: prefix)");
      out[""] = arg;
      continue;
    }
    std::string path = arg.substr(colon + 1);
    for (size_t start = 0; start <= colon;) {
      size_t comma = std::min(arg.find(',', start), colon);
      std::string controller = arg.substr(start, comma - start);
      if (controller.empty())
        return Fail("invalid --cgroup argument: " + arg + " (empty <controller> prefix)");
      if (!out.emplace(controller, path).second)
        return Fail("invalid --cgroup argument(s): controller " + controller +
                    " specified multiple times");
      start = comma + 1;
    }
  }
  return out;
}

Result<int> ExecInContainer(const container::Runtime& rt, const ExecFlags& f) {
  container::ExecOptions o;
  o.id = f.id;
  o.process = BERTH_TRY(ProcessToRun(rt, f));
  o.pid_file = f.pid_file;
  o.console_socket = f.console_socket;
  o.preserve_fds = f.preserve_fds;
  o.keep_pty_master = !f.detach;
  o.sub_cgroups = BERTH_TRY(SubCgroups(f.cgroups));
  o.pidfd_socket = f.pidfd_socket;
  o.ignore_paused = f.ignore_paused;
  if (o.process.terminal && f.detach && f.console_socket.empty())
    return Fail("exec: --tty with --detach needs --console-socket");
  sigset_t forwarded = ForwardedSignals();
  if (!f.detach) ::sigprocmask(SIG_BLOCK, &forwarded, nullptr);
  container::ExecResult r = BERTH_TRY(container::Exec(rt, o));
  if (f.detach) return 0;
  int status = BERTH_TRY(Supervise({r.pid, r.pidfd.get(), r.pty_master.get()}, forwarded));
  rt.Log(container::LogLevel::kDebug, "process exited: pid " + std::to_string(r.pid) +
                                          ", status " + std::to_string(status));
  return status;
}

}  // namespace

void AddExec(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("exec", "run a new process inside a container");
  auto f = std::make_shared<ExecFlags>();
  cmd->add_option("container-id", f->id, "the container's id")->required();
  cmd->add_option("command", f->args, "the command and its arguments");
  // Everything after the command is the command's: `exec c1 sh -c 'x'`.
  cmd->positionals_at_end();
  cmd->prefix_command();
  cmd->add_option("-p,--process", f->process_file, "a process.json to run instead of the args");
  cmd->add_flag("-t,--tty", f->tty, "allocate a pseudo-terminal");
  cmd->add_option("--console-socket", f->console_socket,
                  "unix socket that receives the pty master (with --tty)");
  cmd->add_flag("-d,--detach", f->detach, "return once the process runs");
  cmd->add_option("--pid-file", f->pid_file, "write the process's pid to this file");
  cmd->add_option("-u,--user", f->user, "uid[:gid] to run as");
  // One value per occurrence: `-c CAP_X c1 cmd` must not swallow the id.
  cmd->add_option("-g,--additional-gids", f->additional_gids, "an additional gid (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("-c,--cap", f->caps, "a capability to add (repeatable)")->allow_extra_args(false);
  cmd->add_option("-e,--env", f->env, "NAME=value to set (repeatable)")->allow_extra_args(false);
  cmd->add_option("--cwd", f->cwd, "working directory in the container");
  cmd->add_flag("--no-new-privs", f->no_new_privs, "set no_new_privs for the process");
  cmd->add_option("--apparmor", f->apparmor, "AppArmor profile for the process");
  cmd->add_option("--process-label", f->process_label, "SELinux label for the process");
  cmd->add_option("--preserve-fds", f->preserve_fds,
                  "pass this many fds after stdio (3, 4, ...) to the process")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--cgroup", f->cgroups,
                  "run the process in an existing sub-cgroup: PATH, or controller[,...]:PATH "
                  "(repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--pidfd-socket", f->pidfd_socket,
                  "unix socket that receives a pidfd of the process");
  cmd->add_flag("--ignore-paused", f->ignore_paused,
                "exec in a paused container too (the process waits for its resume)");
  cmd->callback([&action, f, cmd] {
    // prefix_command leaves the command's own arguments in remaining().
    for (auto& extra : cmd->remaining()) f->args.push_back(extra);
    if (!f->args.empty() && f->args.front() == "--") f->args.erase(f->args.begin());
    action = [f](const container::Runtime& rt) -> Result<int> { return ExecInContainer(rt, *f); };
  });
}

}  // namespace berth::cli
