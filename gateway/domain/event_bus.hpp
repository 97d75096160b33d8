// The tenant event stream agents see: every durable event of a tenant, in
// tenant-offset order, none twice, with a bounded window kept for resume.
//
// Offsets are handed out when a conversation's actor stamps its events, on
// any shard, and become durable in any order across shards. publish() takes
// them as they come; the stream releases offset n only when every offset
// below it was released or skipped (an append that failed). So a subscriber
// that has seen offset n has seen everything of its tenant up to n.
//
// Threads: every method from any thread; one mutex per tenant. Subscriber
// callbacks run under it, in offset order, and must only hand the event on
// (post it to a session's thread).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "gateway/domain/conversations.hpp"

namespace gw::domain {

class event_bus {
 public:
  // `window`: released events kept per tenant for resume.
  explicit event_bus(std::size_t window = 100'000) : window_(window) {}

  // Where each tenant's stream starts: the highest offset recovered (0 for
  // a tenant never seen). Call once, before anything is published.
  void start(std::unordered_map<std::string, std::uint64_t> recovered);

  void publish(const std::string& tenant, event_ptr e);
  // `offset` was handed out but its event will never be durable.
  void skip(const std::string& tenant, std::uint64_t offset);

  // Called with each released event. Returns false to be dropped (its
  // session is gone).
  using subscriber = std::function<bool(const event_ptr&)>;
  struct subscribed {
    std::uint64_t id = 0;
    std::uint64_t head = 0;         // the last released offset when it started
    std::vector<event_ptr> replay;  // released events after `after`, in order
  };
  // Atomically: the kept events with offset > `after`, and `fn` for every
  // event released from then on. nullopt when events after `after` are no
  // longer kept (or `after` is beyond the head): the caller must resync.
  std::optional<subscribed> subscribe(const std::string& tenant, std::uint64_t after,
                                      subscriber fn);
  void unsubscribe(const std::string& tenant, std::uint64_t id);

  // The kept events after `after` and the head, read atomically, without
  // subscribing; nullopt as for subscribe().
  struct kept_events {
    std::uint64_t head = 0;
    std::vector<event_ptr> events;
  };
  std::optional<kept_events> since(const std::string& tenant, std::uint64_t after);

  // The last released offset.
  std::uint64_t head(const std::string& tenant);

 private:
  struct stream {
    std::mutex mu;
    std::uint64_t released = 0;  // every offset <= this is out
    std::uint64_t floor = 0;  // events at or below it are not kept (before a restart, or dropped)
    // Offsets released + 1, released + 2, ...: those that arrived ahead of
    // a gap wait in their slot (a null event was skipped). Offsets are
    // handed out densely, one counter per tenant, so the slots span only
    // the events in flight.
    struct slot {
      bool arrived = false;
      event_ptr e;
    };
    std::deque<slot> waiting;
    std::deque<event_ptr> kept;  // the last `window` released events
    std::vector<std::pair<std::uint64_t, subscriber>> subscribers;
  };
  stream& stream_of(const std::string& tenant);
  void arrive(stream& s, std::uint64_t offset, event_ptr e);

  std::size_t window_;
  std::shared_mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<stream>> streams_;
  std::unordered_map<std::string, std::uint64_t> recovered_;
  std::atomic<std::uint64_t> next_id_{1};
};

}  // namespace gw::domain
