// Agent subscriptions (`sub`, `unsub`) and the event fan-out behind them.
//
// Each shard has one hub per tenant with sessions there: the hub is the
// tenant stream's subscriber (event_bus), so an event costs one hop per
// shard, not one per session. Released events gather in the hub's inbox and
// one drain on the shard's thread hands them to its sessions: each event is
// encoded once per shard, each session's visibility is checked against the
// directory at every delivery (its access re-read only when the directory
// changed), and frames go straight into the sessions' outbound queues.
//
// Under load a hub drains at most once per `interval` (ws.fanout_interval_us):
// the events of that time reach each session together and leave in one
// socket write (net/coalescing_stream.hpp), which is what lets a shard feed
// hundreds of sessions at thousands of events per second. A hub that has not
// drained for `interval` drains at once, so a quiet gateway adds no delay.
// The wait pays for itself only where a drain is costly, one write per
// session: a hub of fewer than `full_hub_sessions` waits proportionally less
// (drain_interval), so a clinic's few receptionists are not held a
// millisecond to save a handful of writes.
//
// Resume: a `sub` with `from` replays the kept events after that position
// before anything live; every session skips offsets it already has, so the
// replay and the hub's inbox meet without a gap or a repeat. A replay that
// would fill more than half the session's outbound budget stops and ends
// in a resync instead (the client reloads with `list`), so a long absence
// cannot turn into a slow-consumer close at every reconnect.
//
// Threads: subscribe() and unsubscribe() on the session's shard thread
// (where commands run); a shard's hubs and feeds are touched only there.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "gateway/domain/conversations.hpp"
#include "gateway/domain/directory_service.hpp"
#include "gateway/domain/event_bus.hpp"
#include "gateway/net/context.hpp"
#include "gateway/runtime/shards.hpp"

namespace gw::api {

// A hub with this many sessions or more waits the whole fan-out interval.
inline constexpr std::size_t full_hub_sessions = 64;

// How long a hub of `sessions` waits after a drain before the next one:
// `interval` scaled by sessions / full_hub_sessions, at most `interval`.
std::chrono::microseconds drain_interval(std::chrono::microseconds interval,
                                         std::size_t sessions) noexcept;

class agent_feeds {
 public:
  agent_feeds(runtime::shard_set& shards, domain::conversation_service& core,
              domain::directory_service& directory, domain::event_bus& bus,
              std::chrono::microseconds interval);
  ~agent_feeds();

  void subscribe(const net::agent_identity& who, const protocol::command& cmd,
                 const std::weak_ptr<net::agent_outbox>& outbox);
  void unsubscribe(const net::agent_identity& who, const protocol::command& cmd,
                   const std::weak_ptr<net::agent_outbox>& outbox);

 private:
  struct feed;  // one session's subscription
  struct hub;   // one tenant's sessions on one shard
  struct shard_part {
    std::unordered_map<std::string, std::shared_ptr<hub>> hubs;           // by tenant
    std::unordered_map<std::uint64_t, std::shared_ptr<feed>> by_session;  // by session id
  };

  std::shared_ptr<hub> hub_for(unsigned shard, const std::string& tenant);
  void schedule(const std::shared_ptr<hub>& h);
  void drain(const std::shared_ptr<hub>& h);
  // Hands one event to one session if it may see it; false when the session
  // is gone (the feed is then dropped).
  // `replay`: refuse (false, f.overflowed) a frame beyond out.replay_room().
  // `now`: wall-clock ms for the `expired` view, read once per batch.
  bool deliver(feed& f, const domain::published_event& e, std::int64_t now, std::string& frame,
               net::agent_outbox& out, bool replay = false);
  void drop(unsigned shard, const std::shared_ptr<feed>& f);

  runtime::shard_set& shards_;
  domain::conversation_service& core_;
  domain::directory_service& directory_;
  domain::event_bus& bus_;
  std::chrono::microseconds interval_;
  std::vector<shard_part> parts_;  // by shard index
};

}  // namespace gw::api
