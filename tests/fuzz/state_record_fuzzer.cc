// libFuzzer target: <root>/<id>/state.json, the record every command after `create`
// reads back (container::RecordFromJson), and the cgroup paths saved in it
// (cgroup::PathsFromJson). The file is written by berth, but it sits on disk where a
// crash can truncate it and an administrator can edit it.
//
// Besides "no crash, no UB": a record that loads has a pid that names one process
// (not a process group: kill(2) of a negative pid signals a group), and saving it
// again and loading that gives the same record.
#include <cstddef>
#include <cstdint>
#include <string>

#include "cgroup/cgroup.h"
#include "container/state_store.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using berth::fuzz::Check;
  std::string input(reinterpret_cast<const char*>(data), size);
  (void)berth::cgroup::PathsFromJson(input);
  auto record = berth::container::RecordFromJson(input);
  if (!record) {
    Check(!record.error().message.empty());
    return 0;
  }
  Check(record->pid >= 0);
  std::string saved = berth::container::RecordToJson(*record);
  auto again = berth::container::RecordFromJson(saved);
  Check(again.has_value());
  Check(berth::container::RecordToJson(*again) == saved);
  (void)berth::cgroup::PathsFromJson(record->cgroup);
  return 0;
}
