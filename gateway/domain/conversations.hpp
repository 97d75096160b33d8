// The conversation core: one actor per conversation on its home shard, the
// shards sharing one journal (a stream each). submit() is the durable-ack API every later
// milestone (webhooks, agent commands, outbound) goes through.
//
// Threads: construct, recover() and destroy on the main thread while the
// shards run; submit() and inspect() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "gateway/domain/conversation.hpp"
#include "gateway/domain/event.hpp"
#include "gateway/obs/metrics.hpp"
#include "gateway/runtime/shards.hpp"
#include "gateway/store/event_store.hpp"

namespace gw::domain {

struct core_options {
  std::string data_dir;                       // EPOCH lives here; and the journal, by default
  std::shared_ptr<store::event_store> store;  // null: a journal_store over data_dir
  std::size_t segment_bytes = 64 * 1024 * 1024;
  std::chrono::microseconds commit_window{0};
  std::size_t commit_bytes = 1024 * 1024;
  std::uint64_t snapshot_every = 1'000'000;  // records between snapshots, per shard
  // A snapshot's encoding is spread over up to this long, or until the
  // journal has grown by half of snapshot_every, whichever comes first
  // (0: as fast as a quarter of the shard allows).
  std::chrono::milliseconds snapshot_spread{60'000};
  std::size_t actor_batch = 64;                       // messages per actor drain before yielding
  std::size_t history_limit = default_history_limit;  // messages and notes kept per conversation
  std::int64_t ids_kept_ms = default_ids_kept_ms;     // dedupe ids and deliveries (0: forever)
};

// A conversation's headline state, copied out for an answer.
struct conversation_summary {
  bool exists = false;
  std::string contact_name, status, assignee, team;
  std::int64_t last_inbound_ms = 0;
  std::int64_t last_message_ms = 0;
  std::uint64_t seq = 0;
  std::uint32_t unread = 0;
};

conversation_summary summary_of(const conversation& c);

// A durable event as agents see it: the same one object in the tenant's
// stream (event_bus.hpp) and in the answer to its submit.
struct published_event {
  event ev;                            // as stored: seq, offset, epoch filled in
  conversation_summary before, after;  // the conversation around this event
};
using event_ptr = std::shared_ptr<const published_event>;

struct submit_result {
  // The events stored, as published (seq, offset, epoch and at_ms filled
  // in); none when `done` has an error.
  std::vector<event_ptr> events;
  bool duplicate = false;      // every event was a retry of one already stored
  bool refused = false;        // a guard refused (see submit_guard): nothing stored
  std::string reason;          // why, when refused
  conversation_summary after;  // the conversation once this submit was applied
  std::string code;            // refused: the guard's error code, when it gave one
};

// A guarded submit's check, run on the home shard before anything is
// stamped or stored. It sees the conversation (null when it does not exist)
// and may complete the events from its state (an assignment that keeps the
// team). `go` stores them, `skip` stores nothing and answers like a
// duplicate (the change is already there), `refuse` stores nothing.
enum class guard_verdict : std::uint8_t { go, skip, refuse };
struct guard_outcome {
  guard_outcome() = default;
  guard_outcome(guard_verdict v, std::string why, std::string refusal_code = {})
      : verdict(v), reason(std::move(why)), code(std::move(refusal_code)) {}
  guard_verdict verdict = guard_verdict::go;
  std::string reason;
  std::string code;  // refuse: a stable code for the caller's answer; "" for not found
};
using submit_guard =
    std::function<guard_outcome(const conversation* c, std::vector<event>& events)>;

// Runs on the conversation's home shard thread.
using submit_done = std::function<void(std::error_code, submit_result)>;

struct recovery_stats {
  std::size_t records = 0;
  std::size_t events = 0;
  std::size_t conversations = 0;
  std::size_t dropped_bytes = 0;
  std::size_t dropped_segments = 0;
  bool from_snapshot = false;
  std::chrono::milliseconds took{0};
};

class event_bus;

class conversation_service {
 public:
  // Throws std::runtime_error when data_dir was written with another shard
  // count (see check_shard_count), std::system_error on I/O errors.
  conversation_service(runtime::shard_set& shards, core_options opts);
  ~conversation_service();

  // Loads the shards' snapshots and replays the journal, the shards on
  // threads of their own in parallel (the shard threads keep serving), then
  // opens the journal for appends. Throws on I/O errors.
  recovery_stats recover();

  // Publishes every durable event to `bus` (and skips the offsets of failed
  // appends). Call before recover().
  void attach(event_bus& bus) noexcept { bus_ = &bus; }

  // Appends `events` (all of conversation `key`) atomically. Each event gets
  // the next conversation seq, a tenant offset, the epoch and, if at_ms is 0,
  // the current time. Inbound messages whose provider_id, and agent messages
  // or notes whose client_id, were already stored are dropped as retries;
  // so are statuses that would not change their delivery (status_advances).
  //
  // `done` runs once, on the home shard, only after the events are durable
  // and applied (or failed: then nothing was applied, the journal is failed
  // and healthy() turns false). A retry of an event still being written is
  // answered only after that write is durable. Until recover() has finished
  // with the shard, `done` gets resource_unavailable_try_again (answer 503).
  void submit(conversation_key key, std::vector<event> events, submit_done done,
              submit_guard guard = {});

  // Runs `fn` on the conversation's home shard with its state (null when it
  // does not exist, or while the shard recovers). For reads of one conversation.
  void inspect(const conversation_key& key, std::function<void(const conversation*)> fn);

  // Visits every conversation of `tenant` that has events: `visit` runs on
  // each shard's thread with that shard's index, the shards in parallel
  // (so a caller collects per shard, without locks); then `done` runs once,
  // on whichever shard finished last, with false when a shard was still
  // recovering (its conversations were not visited).
  using scan_visit = std::function<void(unsigned shard, const conversation&)>;
  void scan(std::string tenant, scan_visit visit, std::function<void(bool complete)> done);
  unsigned shard_count() const noexcept { return static_cast<unsigned>(parts_.size()); }

  bool healthy() const noexcept;
  // Every shard has recovered: reads see the whole state. Any thread.
  bool ready() const noexcept;
  std::uint64_t epoch() const noexcept { return epoch_; }

  // Any thread: totals for /metrics.
  std::uint64_t appended_events() const noexcept {
    return appended_.load(std::memory_order_relaxed);
  }
  std::uint64_t journal_syncs() const noexcept;
  // Snapshots written, and attempts that failed (the journal then keeps
  // everything, and restarts replay more), over every shard.
  std::uint64_t snapshots_saved() const noexcept {
    return snapshots_saved_.load(std::memory_order_relaxed);
  }
  std::uint64_t snapshots_failed() const noexcept {
    return snapshots_failed_.load(std::memory_order_relaxed);
  }
  // The journal's sync times; null while it recovers.
  const metrics::histogram* journal_sync_latency() const noexcept;

 private:
  struct cell;
  struct shard_part;
  struct snapshot_job;
  class snapshot_pipe;
  class tenant_clock;

  shard_part& part_for(const conversation_key& key);
  std::uint64_t load_snapshot(shard_part& p, recovery_stats& stats);
  void replay_records(shard_part& p, std::span<const store::record_view> records,
                      recovery_stats& stats);
  void observe_offset(shard_part& p, const std::string& tenant, std::uint64_t offset);
  void handle_submit(shard_part& p, cell& c, std::vector<event> events, submit_done done);
  void maybe_snapshot(shard_part& p);
  void nudge_snapshot(shard_part& p, std::uint64_t lsn);
  void start_snapshot(shard_part& p);
  void snapshot_slice(shard_part& p, std::shared_ptr<snapshot_job> job);
  void start_snapshot_writer(shard_part& p, std::uint64_t lsn, std::shared_ptr<snapshot_pipe> pipe);

  runtime::shard_set& shards_;
  core_options opts_;
  std::uint64_t epoch_ = 0;
  std::unique_ptr<tenant_clock> clock_;
  event_bus* bus_ = nullptr;
  std::vector<std::unique_ptr<shard_part>> parts_;
  std::atomic<std::uint64_t> appended_{0};
  std::atomic<std::uint64_t> snapshots_saved_{0}, snapshots_failed_{0};
};

// Reads data_dir/EPOCH, creating it with a fresh random epoch on first use.
std::uint64_t load_or_create_epoch(const std::string& data_dir);

// Records the shard count in data_dir/SHARDS on first use; afterwards throws
// std::runtime_error when `shards` differs (keys hash to shards, so a new
// count would split conversations from their history).
void check_shard_count(const std::string& data_dir, unsigned shards);

}  // namespace gw::domain
