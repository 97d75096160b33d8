// Tenant streams: release in offset order, keep a window, fan out.
#include "gateway/domain/event_bus.hpp"

#include <algorithm>
#include <array>

namespace gw::domain {

void event_bus::start(std::unordered_map<std::string, std::uint64_t> recovered) {
  std::unique_lock lock(mu_);
  recovered_ = std::move(recovered);
}

event_bus::stream& event_bus::stream_of(const std::string& tenant) {
  {
    std::shared_lock lock(mu_);
    if (auto it = streams_.find(tenant); it != streams_.end()) return *it->second;
  }
  std::unique_lock lock(mu_);
  auto& s = streams_[tenant];
  if (!s) {
    s = std::make_unique<stream>();
    auto r = recovered_.find(tenant);
    s->released = s->floor = r == recovered_.end() ? 0 : r->second;
  }
  return *s;
}

void event_bus::publish(const std::string& tenant, event_ptr e) {
  auto offset = e->ev.offset;
  arrive(stream_of(tenant), offset, std::move(e));
}

void event_bus::skip(const std::string& tenant, std::uint64_t offset) {
  arrive(stream_of(tenant), offset, nullptr);
}

void event_bus::arrive(stream& s, std::uint64_t offset, event_ptr e) {
  // The events that leave the window are cold by now (a window ago): they
  // are given back after the lock, which the other shards are waiting for.
  std::array<event_ptr, 8> leaving;
  std::size_t left = 0;
  std::lock_guard lock(s.mu);
  if (offset <= s.released) return;  // cannot happen: offsets are handed out once
  auto i = static_cast<std::size_t>(offset - s.released - 1);
  if (i >= s.waiting.size()) s.waiting.resize(i + 1);
  s.waiting[i] = {true, std::move(e)};
  // Release the run that now starts right after `released`.
  while (!s.waiting.empty() && s.waiting.front().arrived) {
    auto next = std::move(s.waiting.front().e);
    s.waiting.pop_front();
    ++s.released;
    if (!next) continue;  // skipped
    std::erase_if(s.subscribers, [&](auto& sub) { return !sub.second(next); });
    s.kept.push_back(std::move(next));
    if (s.kept.size() > window_) {
      s.floor = s.kept.front()->ev.offset;
      if (left < leaving.size()) leaving[left++] = std::move(s.kept.front());
      s.kept.pop_front();
    }
  }
}

namespace {
// Beyond the head is another history; below the floor is no longer kept.
bool keeps(std::uint64_t after, std::uint64_t floor, std::uint64_t released) {
  return after <= released && (after >= floor || after == released);
}
// The kept events after `after`: a binary search, offsets increase.
template <class Kept>
auto first_after(const Kept& kept, std::uint64_t after) {
  return std::upper_bound(kept.cbegin(), kept.cend(), after,
                          [](std::uint64_t o, const event_ptr& e) { return o < e->ev.offset; });
}
}  // namespace

std::optional<event_bus::subscribed> event_bus::subscribe(const std::string& tenant,
                                                          std::uint64_t after, subscriber fn) {
  auto& s = stream_of(tenant);
  std::lock_guard lock(s.mu);
  if (!keeps(after, s.floor, s.released)) return std::nullopt;
  subscribed out;
  out.id = next_id_.fetch_add(1);
  out.head = s.released;
  out.replay.assign(first_after(s.kept, after), s.kept.cend());
  s.subscribers.emplace_back(out.id, std::move(fn));
  return out;
}

std::optional<event_bus::kept_events> event_bus::since(const std::string& tenant,
                                                       std::uint64_t after) {
  auto& s = stream_of(tenant);
  std::lock_guard lock(s.mu);
  if (!keeps(after, s.floor, s.released)) return std::nullopt;
  kept_events out;
  out.head = s.released;
  out.events.assign(first_after(s.kept, after), s.kept.cend());
  return out;
}

void event_bus::unsubscribe(const std::string& tenant, std::uint64_t id) {
  auto& s = stream_of(tenant);
  std::lock_guard lock(s.mu);
  std::erase_if(s.subscribers, [id](const auto& sub) { return sub.first == id; });
}

std::uint64_t event_bus::head(const std::string& tenant) {
  auto& s = stream_of(tenant);
  std::lock_guard lock(s.mu);
  return s.released;
}

}  // namespace gw::domain
