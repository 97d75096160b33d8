// The process's own figures for /metrics, read from /proc at scrape time:
// the process_* families that Prometheus' client libraries export, and the
// CPU time of each named thread (runtime/thread_name.hpp), by which an
// operator sees a shard's event loop or a journal's syncer running out of
// core long before the answers slow down.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gw::metrics {

// What /metrics uses of a /proc/PID/stat (or /proc/PID/task/TID/stat) line.
struct proc_stat {
  std::string comm;               // the thread's or process's name
  std::uint64_t utime_ticks = 0;  // user CPU, in clock ticks
  std::uint64_t stime_ticks = 0;  // system CPU, in clock ticks
  std::uint64_t start_ticks = 0;  // start, in clock ticks after boot
  std::uint64_t rss_pages = 0;    // resident pages
};

// Parses such a line; nullopt if it is not one. The name sits in
// parentheses and may itself hold spaces and parentheses: the fields
// are counted from the last ')'.
std::optional<proc_stat> parse_proc_stat(std::string_view line);

// Clock ticks as seconds, divided by the rate rather than multiplied by its
// inverse: 2074 ticks at 100 Hz are the double nearest 20.74, which prints
// as 20.74 (times 0.01 it would print as 20.740000000000002).
double ticks_to_seconds(std::uint64_t ticks, long hz) noexcept;

// Appends process_cpu_seconds_total, process_resident_memory_bytes,
// process_start_time_seconds, process_open_fds, process_max_fds and
// gateway_thread_cpu_seconds_total{thread} (threads of one name summed).
// A family whose source cannot be read is left out.
void write_process_metrics(std::string& out);

}  // namespace gw::metrics
