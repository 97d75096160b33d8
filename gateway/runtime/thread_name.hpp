// Names for the gateway's threads, as `top -H`, `ps -T`, `perf` and gdb show
// them: gw-shard-N (a shard's event loop), gw-sync (the event journal's syncer),
// gw-sync-dir and gw-sync-bal (the directory's and the balances' journals),
// gw-snap-N (a snapshot being written), gw-dns-N (the shard's name
// resolver, started by its first outbound connection).
#pragma once

#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace gw::runtime {

// Names the calling thread. Linux keeps 15 bytes; longer names are cut.
void name_this_thread(std::string_view name) noexcept;
// Names `t` from the thread that started it: named before its creator goes
// on, without the creator ever carrying the name (a thread created meanwhile
// elsewhere in the process would inherit it).
void name_thread(std::thread& t, std::string_view name) noexcept;

// The calling thread's name ("" if it cannot be read).
std::string this_thread_name();

// Runs `start` with the calling thread named `name`, then gives the thread
// its own name back: a thread inherits its creator's name, so a library
// thread that `start` creates (Asio's resolver thread) is known by `name`.
template <class F>
void start_named(std::string_view name, F&& start) {
  struct restore {
    std::string name;
    ~restore() { name_this_thread(name); }
  } mine{this_thread_name()};
  name_this_thread(name);
  std::forward<F>(start)();
}

}  // namespace gw::runtime
