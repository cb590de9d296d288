// Stats as containerd expects them in StatsResponse.stats: an Any holding
// io.containerd.cgroups.v1.Metrics (v1 and hybrid hosts, as runc's shim on them) or
// io.containerd.cgroups.v2.Metrics (unified hosts), with the bare type name as URL.
#pragma once

#include <google/protobuf/any.pb.h>

#include "cgroup/stats.h"

namespace berth::shim {

google::protobuf::Any MetricsAny(const cgroup::Stats& stats);

}  // namespace berth::shim
