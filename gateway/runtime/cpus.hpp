// Which CPUs a thread may run on, read once where placement is decided:
// the number of shards by default, and where each pinned shard goes.
#pragma once

#include <vector>

namespace gw::runtime {

// The CPUs the calling thread may run on (sched_getaffinity), ascending.
std::vector<int> allowed_cpus();
// A thread started from a pinned shard inherits its one CPU. A helper that
// must not compete with its shard (a snapshot's writer) calls this first
// to run wherever the process's main thread may.
void unpin_this_thread();

}  // namespace gw::runtime
