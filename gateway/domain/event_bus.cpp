// Tenant streams: release in offset order, keep a window, fan out.
#include "gateway/domain/event_bus.hpp"

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
  std::lock_guard lock(s.mu);
  if (offset <= s.released) return;  // cannot happen: offsets are handed out once
  s.waiting.emplace(offset, std::move(e));
  // Release the run that now starts right after `released`.
  for (auto it = s.waiting.begin(); it != s.waiting.end() && it->first == s.released + 1;
       it = s.waiting.erase(it)) {
    s.released = it->first;
    if (!it->second) continue;  // skipped
    s.kept.push_back(it->second);
    if (s.kept.size() > window_) {
      s.floor = s.kept.front()->ev.offset;
      s.kept.pop_front();
    }
    std::erase_if(s.subscribers, [&](auto& sub) { return !sub.second(it->second); });
  }
}

std::optional<event_bus::subscribed> event_bus::subscribe(const std::string& tenant,
                                                          std::uint64_t after, subscriber fn) {
  auto& s = stream_of(tenant);
  std::lock_guard lock(s.mu);
  // Beyond the head is another history; below the floor is no longer kept.
  if (after > s.released || (after < s.floor && after < s.released)) return std::nullopt;
  subscribed out;
  out.id = next_id_.fetch_add(1);
  out.head = s.released;
  for (const auto& e : s.kept)
    if (e->ev.offset > after) out.replay.push_back(e);
  s.subscribers.emplace_back(out.id, std::move(fn));
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
