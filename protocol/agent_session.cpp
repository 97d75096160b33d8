// Session rules of gw.agent.v1 that need no I/O.
#include "protocol/agent_session.hpp"

#include <algorithm>

namespace gw::protocol {

std::optional<decode_failure> session_gate::admit(const command& c) const {
  if (c.kind == command_kind::ping) return std::nullopt;
  if (c.kind == command_kind::auth) {
    if (!authenticated_) return std::nullopt;
    return decode_failure{agent_error::bad_args, c.id,
                          "this session is already authenticated; open a new one to change agent"};
  }
  if (authenticated_) return std::nullopt;
  return decode_failure{agent_error::unauthenticated, c.id,
                        "authenticate first: send {\"c\":\"auth\",\"tok\":...} or connect with "
                        "an Authorization header"};
}

rate_limiter::rate_limiter(unsigned rate, unsigned burst) noexcept
    : rate_per_ms_(rate / 1000.0), burst_(std::max(1u, burst)), tokens_(burst_) {}

std::optional<std::uint32_t> rate_limiter::take(std::int64_t now_ms) noexcept {
  if (started_ && now_ms > last_ms_)
    tokens_ = std::min(burst_, tokens_ + static_cast<double>(now_ms - last_ms_) * rate_per_ms_);
  if (!started_ || now_ms > last_ms_) last_ms_ = now_ms;
  started_ = true;
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return std::nullopt;
  }
  if (rate_per_ms_ <= 0) return UINT32_MAX;
  double wait = (1.0 - tokens_) / rate_per_ms_;
  return static_cast<std::uint32_t>(std::min(wait + 0.999, double(UINT32_MAX)));
}

std::optional<std::string> command_memory::find(std::string_view id) const {
  auto it = answers_.find(id);
  if (it == answers_.end()) return std::nullopt;
  return mark_duplicate(it->second);
}

void command_memory::remember(std::string id, std::string answer, std::int64_t now_ms) {
  forget_old(now_ms);
  auto [it, fresh] = answers_.try_emplace(id, std::move(answer));
  if (!fresh) return;  // the first answer stays
  order_.push_back({std::move(id), now_ms});
}

void command_memory::forget_old(std::int64_t now_ms) {
  while (order_.size() >= count_ && !order_.empty() && now_ms - order_.front().at_ms > age_ms_) {
    answers_.erase(order_.front().id);
    order_.pop_front();
  }
}

std::variant<replay_after, must_resync> plan_resume(position from, position head,
                                                    std::uint64_t oldest_kept) noexcept {
  // A different epoch, or a position beyond the head, is another history.
  if (from.epoch != head.epoch || from.offset > head.offset)
    return must_resync{resync_reason::epoch};
  // Events from + 1 .. head must all still be there.
  if (from.offset < head.offset && from.offset + 1 < oldest_kept)
    return must_resync{resync_reason::gone};
  return replay_after{from.offset};
}

}  // namespace gw::protocol
