#include "shim/options.h"

#include <nlohmann/json.hpp>

#include "github.com/containerd/containerd/pkg/runtimeoptions/v1/api.pb.h"
#include "github.com/containerd/containerd/runtime/linux/runctypes/runc.pb.h"
#include "github.com/containerd/containerd/runtime/v2/runc/options/oci.pb.h"

namespace berth::shim {
namespace {

// typeurl accepts both the bare name and the type.googleapis.com/ form.
std::string_view TypeName(std::string_view url) {
  size_t slash = url.rfind('/');
  return slash == std::string_view::npos ? url : url.substr(slash + 1);
}

template <class Message>
Result<Message> Unpack(const google::protobuf::Any& any) {
  Message m;
  if (!m.ParseFromString(any.value()))
    return Fail("options of type " + any.type_url() + ": invalid protobuf");
  return m;
}

}  // namespace

std::string ShimOptions::StateRoot(const std::string& ns) const {
  return (root.empty() ? std::string(kDefaultStateRoot) : root) + "/" + ns;
}

Result<void> ApplyOptions(const google::protobuf::Any& any, ShimOptions& o) {
  std::string_view type = TypeName(any.type_url());
  if (type.empty()) return {};
  if (type == "containerd.runc.v1.Options") {
    auto m = BERTH_TRY(Unpack<containerd::runc::v1::Options>(any));
    o.no_pivot_root = m.no_pivot_root();
    o.no_new_keyring = m.no_new_keyring();
    o.shim_cgroup = m.shim_cgroup();
    o.io_uid = m.io_uid();
    o.io_gid = m.io_gid();
    o.root = m.root();
    o.criu_path = m.criu_path();
    o.systemd_cgroup = m.systemd_cgroup();
    o.criu_image_path = m.criu_image_path();
    o.criu_work_path = m.criu_work_path();
    return {};
  }
  if (type == "containerd.linux.runc.CreateOptions") {
    auto m = BERTH_TRY(Unpack<containerd::linux::runc::CreateOptions>(any));
    o.no_pivot_root = m.no_pivot_root();
    o.no_new_keyring = m.no_new_keyring();
    if (!m.shim_cgroup().empty()) o.shim_cgroup = m.shim_cgroup();
    o.io_uid = m.io_uid();
    o.io_gid = m.io_gid();
    if (!m.criu_image_path().empty()) o.criu_image_path = m.criu_image_path();
    if (!m.criu_work_path().empty()) o.criu_work_path = m.criu_work_path();
    return {};
  }
  if (type == "containerd.linux.runc.RuncOptions") {
    auto m = BERTH_TRY(Unpack<containerd::linux::runc::RuncOptions>(any));
    if (!m.runtime_root().empty()) o.root = m.runtime_root();
    if (!m.criu_path().empty()) o.criu_path = m.criu_path();
    o.systemd_cgroup = m.systemd_cgroup();
    return {};
  }
  // --runtime-config-path: a TOML file for other runtimes; it names nothing berth uses.
  if (type == "runtimeoptions.v1.Options") {
    BERTH_TRY(Unpack<runtimeoptions::v1::Options>(any));
    return {};
  }
  return Fail("type with url " + any.type_url() + ": not found");
}

Result<void> ApplyOptionsBytes(const std::string& bytes, ShimOptions& options) {
  if (bytes.empty()) return {};
  google::protobuf::Any any;
  if (!any.ParseFromString(bytes)) return Fail("runtime options on stdin: not a protobuf Any");
  return ApplyOptions(any, options);
}

std::string OptionsToJson(const ShimOptions& o) {
  nlohmann::json j = {{"root", o.root},
                      {"systemd_cgroup", o.systemd_cgroup},
                      {"no_pivot_root", o.no_pivot_root},
                      {"no_new_keyring", o.no_new_keyring},
                      {"io_uid", o.io_uid},
                      {"io_gid", o.io_gid},
                      {"shim_cgroup", o.shim_cgroup},
                      {"criu_path", o.criu_path},
                      {"criu_image_path", o.criu_image_path},
                      {"criu_work_path", o.criu_work_path}};
  return j.dump();
}

Result<ShimOptions> OptionsFromJson(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Fail("options.json: invalid JSON");
  ShimOptions o;
  auto str = [&](const char* key, std::string& out) {
    if (j.contains(key) && j[key].is_string()) out = j[key].get<std::string>();
  };
  auto boolean = [&](const char* key, bool& out) {
    if (j.contains(key) && j[key].is_boolean()) out = j[key].get<bool>();
  };
  auto number = [&](const char* key, uint32_t& out) {
    if (j.contains(key) && j[key].is_number_unsigned()) out = j[key].get<uint32_t>();
  };
  str("root", o.root);
  boolean("systemd_cgroup", o.systemd_cgroup);
  boolean("no_pivot_root", o.no_pivot_root);
  boolean("no_new_keyring", o.no_new_keyring);
  number("io_uid", o.io_uid);
  number("io_gid", o.io_gid);
  str("shim_cgroup", o.shim_cgroup);
  str("criu_path", o.criu_path);
  str("criu_image_path", o.criu_image_path);
  str("criu_work_path", o.criu_work_path);
  return o;
}

}  // namespace berth::shim
