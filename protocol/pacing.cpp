// Sliding-window limiter and GCRA pair pacer.
#include "protocol/pacing.hpp"

#include <algorithm>

namespace gw::protocol {

window_limiter::window_limiter(std::uint32_t limit, nanos window)
    : sent_(std::max<std::uint32_t>(limit, 1)), window_(window) {}

nanos window_limiter::wait(nanos now) const noexcept {
  nanos w = paused_until_ > now ? paused_until_ - now : 0;
  if (count_ == sent_.size()) w = std::max(w, sent_[next_] + window_ - now);
  return std::max<nanos>(w, 0);
}

void window_limiter::take(nanos now) noexcept {
  sent_[next_] = now;
  next_ = (next_ + 1) % sent_.size();
  count_ = std::min(count_ + 1, sent_.size());
}

nanos window_limiter::try_take(nanos now) noexcept {
  auto w = wait(now);
  if (w == 0) take(now);
  return w;
}

void window_limiter::pause_until(nanos until) noexcept {
  paused_until_ = std::max(paused_until_, until);
}

pair_pacer::pair_pacer(nanos interval, std::uint32_t burst)
    : interval_(interval), tolerance_(interval * (std::max<std::uint32_t>(burst, 1) - 1)) {}

nanos pair_pacer::wait(std::string_view recipient, nanos now) const {
  auto it = tat_.find(recipient);
  if (it == tat_.end()) return 0;
  return std::max<nanos>(it->second - tolerance_ - now, 0);
}

void pair_pacer::take(const std::string& recipient, nanos now) {
  auto [it, fresh] = tat_.try_emplace(recipient, now);
  it->second = std::max(it->second, now) + interval_;
}

nanos pair_pacer::try_take(const std::string& recipient, nanos now) {
  auto w = wait(recipient, now);
  if (w == 0) take(recipient, now);
  return w;
}

void pair_pacer::hold(const std::string& recipient, nanos until) {
  auto& tat = tat_.try_emplace(recipient, until + tolerance_).first->second;
  tat = std::max(tat, until + tolerance_);
}

void pair_pacer::prune(nanos now) {
  std::erase_if(tat_, [now](const auto& kv) { return kv.second <= now; });
}

}  // namespace gw::protocol
