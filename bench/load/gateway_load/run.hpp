// What every part of one gateway-load run shares: the clock that decides
// which answers are measured, the live counters the progress line reads, and
// each client thread's own results (merged once the threads are joined).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "bench/load/gateway_load/histogram.hpp"
#include "bench/load/gateway_load/options.hpp"

namespace gw::load {

using clock_type = std::chrono::steady_clock;

inline std::int64_t mono_ns(clock_type::time_point t = clock_type::now()) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
inline std::int64_t micros(clock_type::duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

// Load starts at `start`; what happens in [record_from, end) is measured;
// nothing new is sent from `end` on.
struct run_clock {
  clock_type::time_point start = clock_type::time_point::max();
  clock_type::time_point record_from = clock_type::time_point::max();
  clock_type::time_point end = clock_type::time_point::max();
  bool measuring(clock_type::time_point t) const { return t >= record_from && t < end; }
};

// Updated from every thread, read by the progress line.
struct live_counters {
  std::atomic<std::uint64_t> issued{0};  // webhooks taken from the --requests budget
  std::atomic<std::uint64_t> hooks_ok{0}, hooks_bad{0};
  std::atomic<std::uint64_t> agents_up{0}, agents_failed{0}, agents_lost{0};
  std::atomic<std::uint64_t> frames{0}, replies_ok{0}, replies_sent{0};
};

// One client thread's results; only that thread writes them.
struct thread_results {
  histogram webhook;  // answer time of each webhook scheduled in the measured time
  // The same webhooks from the write of the request to the answer: the
  // server's and the network's share. Open loop, `webhook` also holds the
  // time a request waited for its turn (its connection busy with an earlier
  // answer, or this client's thread late); a stall the server never saw
  // shows there and not here.
  histogram exchange;
  histogram delivery;    // webhook sent -> its `msg` event at an agent
  histogram reply_ack;   // agent `send` -> its `ok` (durable and queued)
  histogram reply_sent;  // agent `send` -> the `msg.st` `sent` event (provider accepted)
  std::uint64_t hooks_measured = 0;  // answered 200 in the measured time
  std::uint64_t frames_measured = 0, messages_in = 0;
  std::uint64_t reads_ok = 0, replies_ok = 0;
  clock_type::time_point last_answer{};         // latest measured webhook answer
  std::map<std::string, std::uint64_t> errors;  // "kind: detail" -> count

  void error(const std::string& kind) { ++errors[kind]; }
};

struct run_state {
  const options& opt;
  run_clock clock;
  live_counters live;
};

}  // namespace gw::load
