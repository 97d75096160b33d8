// Names for the gateway's threads, as `top -H`, `ps -T`, `perf` and gdb show
// them: gw-shard-N (a shard's event loop), gw-sync-N (its journal's syncer),
// gw-sync-dir and gw-sync-bal (the directory's and the balances' journals),
// gw-snap-N (a snapshot being written).
#pragma once

#include <string>
#include <string_view>

namespace gw::runtime {

// Names the calling thread. Linux keeps 15 bytes; longer names are cut.
void name_this_thread(std::string_view name) noexcept;

// The calling thread's name ("" if it cannot be read).
std::string this_thread_name();

}  // namespace gw::runtime
