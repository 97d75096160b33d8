// The rules that pace outbound messages, without clocks of their own: every
// call takes `now` in nanoseconds of one monotonic clock, so the rules are
// tested exactly, without sleeps.
//
//   window_limiter   at most N sends in any window of W (per channel, per
//                    tenant): what a provider's throughput limit counts.
//   pair_pacer       one send per interval to one recipient, with a burst
//                    (WhatsApp's pair rate), as GCRA: one timestamp each.
//
// Threads: none; the owner (a shard) serialises calls.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "protocol/text_hash.hpp"

namespace gw::protocol {

using nanos = std::int64_t;
inline constexpr nanos ns_per_second = 1'000'000'000;

// At most `limit` sends in every half-open window [t, t + window). Bursts up
// to `limit` go at once; the next waits until the oldest of them leaves the
// window. Exact by construction: it remembers the last `limit` send times.
class window_limiter {
 public:
  window_limiter(std::uint32_t limit, nanos window);

  // 0 when a send may happen at `now`; otherwise how long until one may.
  nanos wait(nanos now) const noexcept;
  // Records a send at `now`; call only when wait(now) == 0.
  void take(nanos now) noexcept;
  // wait() then take() when it is 0.
  nanos try_take(nanos now) noexcept;

  // Nothing may be sent before `until` (a provider said to slow down).
  void pause_until(nanos until) noexcept;

  std::uint32_t limit() const noexcept { return static_cast<std::uint32_t>(sent_.size()); }
  nanos window() const noexcept { return window_; }

 private:
  std::vector<nanos> sent_;  // ring of the last `limit` send times
  std::size_t next_ = 0;     // oldest entry, overwritten by the next take()
  std::size_t count_ = 0;
  nanos window_;
  nanos paused_until_ = 0;
};

// One send per `interval` to each recipient, with up to `burst` at once after
// a quiet spell (the generic cell rate algorithm: each recipient is one
// "theoretical arrival time"). A recipient whose time has passed is
// forgotten by prune(), so memory follows the recipients active in the last
// burst x interval.
class pair_pacer {
 public:
  pair_pacer(nanos interval, std::uint32_t burst);

  nanos wait(std::string_view recipient, nanos now) const;
  void take(const std::string& recipient, nanos now);
  nanos try_take(const std::string& recipient, nanos now);
  // The provider said this pair is over its rate: nothing to it before `until`.
  void hold(const std::string& recipient, nanos until);
  // Drops recipients that are back to a full burst at `now`.
  void prune(nanos now);
  std::size_t tracked() const noexcept { return tat_.size(); }

 private:
  nanos interval_;
  nanos tolerance_;  // (burst - 1) x interval
  // recipient -> theoretical arrival time
  text_map<nanos> tat_;
};

}  // namespace gw::protocol
