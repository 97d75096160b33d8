// Subscriptions and fan-out: per-shard hubs, drains, deliveries, resume.
#include "gateway/api/agent_feeds.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <mutex>

#include "gateway/api/agent_views.hpp"

namespace gw::api {

using domain::event_kind;
using protocol::agent_error;
using protocol::view;

namespace {

// The frame agents get for one event (AGENT_PROTOCOL.md section 7).
std::string frame_of(const domain::published_event& p) {
  const auto& e = p.ev;
  protocol::position at{e.epoch, e.offset};
  switch (e.kind) {
    case event_kind::message_in:
    case event_kind::message_out:
    case event_kind::note:
      return protocol::encode_message_event(at, message_of(e));
    case event_kind::message_status:
      return protocol::encode_status_event(at, message_of(e));
    case event_kind::assignment:
    case event_kind::state_change:
    case event_kind::read:
      break;
  }
  return protocol::encode_conversation_event(
      at, conversation_of(e.conv.channel, e.conv.address, p.after));
}

}  // namespace

std::chrono::microseconds drain_interval(std::chrono::microseconds interval,
                                         std::size_t sessions) noexcept {
  if (sessions >= full_hub_sessions) return interval;
  return interval * static_cast<std::int64_t>(sessions) /
         static_cast<std::int64_t>(full_hub_sessions);
}

struct agent_feeds::feed {
  net::agent_identity who;
  std::weak_ptr<net::agent_outbox> outbox;
  std::vector<view> views;
  std::optional<std::string> team;
  std::uint64_t last_sent = 0;  // highest offset handed to the session
  bool overflowed = false;      // its replay did not fit: it was told to resync
  std::shared_ptr<hub> home;
  // What the directory says of the agent, as of `generation`.
  std::uint64_t generation = ~std::uint64_t{0};
  bool exists = false;
  access acc;
};

struct agent_feeds::hub {
  unsigned shard = 0;
  std::string tenant;
  std::uint64_t bus_id = 0;
  // Filled by the tenant stream (any thread), emptied by the drain.
  std::mutex mu;
  std::vector<domain::event_ptr> inbox;
  bool posted = false;  // a drain is on its way
  // Shard thread only.
  std::vector<std::shared_ptr<feed>> feeds;
  std::vector<domain::event_ptr> batch;
  boost::asio::steady_timer timer;
  std::chrono::steady_clock::time_point last_drain{};

  explicit hub(boost::asio::io_context& ioc) : timer(ioc) {}
};

agent_feeds::agent_feeds(runtime::shard_set& shards, domain::conversation_service& core,
                         domain::directory_service& directory, domain::event_bus& bus,
                         std::chrono::microseconds interval)
    : shards_(shards),
      core_(core),
      directory_(directory),
      bus_(bus),
      interval_(interval),
      parts_(shards.size()) {}

agent_feeds::~agent_feeds() {
  for (auto& part : parts_)
    for (auto& [tenant, h] : part.hubs) bus_.unsubscribe(tenant, h->bus_id);
}

std::shared_ptr<agent_feeds::hub> agent_feeds::hub_for(unsigned shard, const std::string& tenant) {
  auto& slot = parts_[shard].hubs[tenant];
  if (slot) return slot;
  slot = std::make_shared<hub>(shards_.at(shard).ioc);
  slot->shard = shard;
  slot->tenant = tenant;
  // Runs under the tenant stream's lock, in offset order: only queue and
  // make sure one drain is on its way.
  auto on_event = [this, weak = std::weak_ptr<hub>(slot)](const domain::event_ptr& e) {
    auto h = weak.lock();
    if (!h) return false;
    bool post;
    {
      std::lock_guard lock(h->mu);
      h->inbox.push_back(e);
      post = !std::exchange(h->posted, true);
    }
    if (post) boost::asio::post(shards_.at(h->shard).ioc, [this, h] { schedule(h); });
    return true;
  };
  // From the head: events released before a feed joins reach it through
  // its own replay, if at all. (The head only grows, so this cannot miss.)
  for (;;) {
    if (auto joined = bus_.subscribe(tenant, bus_.head(tenant), on_event)) {
      slot->bus_id = joined->id;
      return slot;
    }
  }
}

// Shard thread: drain now, or once the hub's interval has passed since the last.
void agent_feeds::schedule(const std::shared_ptr<hub>& h) {
  auto due = h->last_drain + drain_interval(interval_, h->feeds.size());
  if (std::chrono::steady_clock::now() >= due) return drain(h);
  h->timer.expires_at(due);
  h->timer.async_wait([this, h](boost::system::error_code ec) {
    if (!ec) drain(h);
  });
}

// Shard thread: every event that arrived since the last drain, to every
// session of the hub, in offset order.
void agent_feeds::drain(const std::shared_ptr<hub>& h) {
  h->last_drain = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(h->mu);
    h->batch.swap(h->inbox);
    h->posted = false;
  }
  // Each session's outbox, locked once per drain.
  std::vector<std::shared_ptr<net::agent_outbox>> outs;
  outs.reserve(h->feeds.size());
  for (const auto& f : h->feeds) outs.push_back(f->outbox.lock());
  std::vector<bool> gone(h->feeds.size(), false);
  const auto now = wall_ms();  // one reading for the whole drain
  for (const auto& e : h->batch) {
    std::string frame;  // encoded for the first session that sees it
    for (std::size_t i = 0; i < h->feeds.size(); ++i) {
      if (gone[i]) continue;
      if (!outs[i] || !deliver(*h->feeds[i], *e, now, frame, *outs[i])) gone[i] = true;
    }
  }
  h->batch.clear();
  for (std::size_t i = h->feeds.size(); i-- > 0;)
    if (gone[i] || !outs[i]) drop(h->shard, h->feeds[i]);
}

bool agent_feeds::deliver(feed& f, const domain::published_event& e, std::int64_t now,
                          std::string& frame, net::agent_outbox& out, bool replay) {
  if (e.ev.offset <= f.last_sent) return true;
  f.last_sent = e.ev.offset;
  if (auto g = directory_.generation(); g != f.generation) {
    f.generation = g;
    f.exists = directory_.read(
        [&](const domain::directory_state& s) { return access_of(s, f.who, f.acc) != nullptr; });
  }
  if (!f.exists || !f.acc.may_use(e.ev.conv.channel)) return true;
  auto member = [&](const domain::conversation_summary& c) {
    if (!c.exists || (f.team && c.team != *f.team) ||
        !visible(f.acc, f.who.agent, c.team, c.assignee))
      return false;
    return std::any_of(f.views.begin(), f.views.end(),
                       [&](view v) { return in_view(v, c, f.who.agent, now); });
  };
  if (!member(e.before) && !member(e.after)) return true;
  if (frame.empty()) frame = frame_of(e);  // never empty once encoded
  if (replay && frame.size() > out.replay_room()) {
    f.overflowed = true;
    return false;
  }
  return out.push(frame);
}

void agent_feeds::drop(unsigned shard, const std::shared_ptr<feed>& f) {
  auto& part = parts_[shard];
  if (auto it = part.by_session.find(f->who.session);
      it != part.by_session.end() && it->second == f)
    part.by_session.erase(it);
  auto h = f->home;
  std::erase(h->feeds, f);
  if (h->feeds.empty()) {
    bus_.unsubscribe(h->tenant, h->bus_id);
    part.hubs.erase(h->tenant);
  }
}

void agent_feeds::subscribe(const net::agent_identity& who, const protocol::command& cmd,
                            const std::weak_ptr<net::agent_outbox>& outbox) {
  auto out = outbox.lock();
  if (!out) return;
  // Which views this agent may use at all.
  access a;
  directory_.read([&](const domain::directory_state& s) { access_of(s, who, a); });
  for (auto v : cmd.views) {
    if (!may_open(a, v)) {
      out->push(protocol::encode_error(
          cmd.id, agent_error::forbidden,
          "view \"" + std::string(protocol::name_of(v)) + "\" is not open to this agent"));
      return;
    }
  }
  const auto epoch = core_.epoch();
  auto& part = parts_[who.shard];
  if (auto it = part.by_session.find(who.session); it != part.by_session.end()) {
    if (cmd.from) {
      out->push(protocol::encode_error(cmd.id, agent_error::bad_args,
                                       "\"from\" is only taken by a session's first sub"));
      return;
    }
    auto& f = *it->second;  // already live: more views, same stream
    for (auto v : cmd.views)
      if (std::find(f.views.begin(), f.views.end(), v) == f.views.end()) f.views.push_back(v);
    if (cmd.team) f.team = cmd.team;
    out->push(protocol::encode_ok(cmd.id, {{"ep", epoch}, {"o", bus_.head(who.tenant)}}));
    return;
  }

  auto f = std::make_shared<feed>();
  f->who = who;
  f->outbox = outbox;
  f->views = cmd.views;
  f->team = cmd.team;
  // The hub first: from here on, every event released reaches its inbox.
  f->home = hub_for(who.shard, who.tenant);
  std::optional<protocol::resync_reason> resync;
  std::optional<domain::event_bus::kept_events> kept;
  if (cmd.from) {
    if (cmd.from->epoch != epoch)
      resync = protocol::resync_reason::epoch;
    else if (!(kept = bus_.since(who.tenant, cmd.from->offset)))
      resync = protocol::resync_reason::gone;
  }
  const auto head = kept ? kept->head : bus_.head(who.tenant);
  out->push(protocol::encode_ok(cmd.id, {{"ep", epoch}, {"o", head}}));
  if (resync) {
    out->push(protocol::encode_resync(cmd.id, *resync, {epoch, head}));
  } else if (kept) {
    f->last_sent = cmd.from->offset;
    const auto now = wall_ms();
    for (const auto& e : kept->events) {
      std::string frame;
      if (!deliver(*f, *e, now, frame, *out, true)) break;
    }
    if (f->overflowed)
      out->push(protocol::encode_resync(cmd.id, protocol::resync_reason::gone, {epoch, head}));
  }
  f->last_sent = std::max(f->last_sent, head);
  f->home->feeds.push_back(f);
  part.by_session[who.session] = f;
}

void agent_feeds::unsubscribe(const net::agent_identity& who, const protocol::command& cmd,
                              const std::weak_ptr<net::agent_outbox>& outbox) {
  auto& part = parts_[who.shard];
  if (auto it = part.by_session.find(who.session); it != part.by_session.end()) {
    auto f = it->second;
    std::erase_if(f->views, [&](view v) {
      return std::find(cmd.views.begin(), cmd.views.end(), v) != cmd.views.end();
    });
    if (f->views.empty()) drop(who.shard, f);
  }
  if (auto out = outbox.lock()) out->push(protocol::encode_ok(cmd.id));
}

}  // namespace gw::api
