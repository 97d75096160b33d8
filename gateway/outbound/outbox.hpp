// The outbound queue: every durable `message_out` is sent to its provider
// through the channel's adapter and the shard's client pool, paced by the
// channel's limits, and ends in a state agents see: `sent` (the provider
// took it; its id links the delivery statuses that follow) or `failed` with
// the provider's code and reason. Both are conversation events, journaled
// like any other.
//
// A message waits on the shard of its conversation: the one that journaled
// it and journals its outcome, so no message crosses threads on its way out
// and one busy channel's calls use every shard's core and client pool. Each
// shard keeps a queue per channel, and the limits hold across them:
//   - at most messages_per_second calls in any one-second window, retries
//     included (protocol::window_limiter, over a second plus a small margin
//     for jitter; one per channel, shared by the shards under a lock taken
//     once per call), paused when the provider says the channel is over its
//     throughput; a call is only started when the shard's client pool can
//     write it at once, so it never leaves later than its pacing said;
//   - WhatsApp: one message per recipient per pair_interval_ms after a
//     burst (protocol::pair_pacer, on the recipient's conversation's
//     shard), held longer when the provider says so;
//   - at most the tenant's messages_per_second calls across all its
//     channels, when it has one (a limiter like the channel's, counted
//     together with it: both or neither);
//   - one message in flight per conversation, so a conversation's messages
//     leave in order, and conversations take turns (round robin), so a busy
//     one cannot starve the others; at most max_in_flight_per_channel calls
//     per channel per shard;
//   - retries after 5xx, unwritten calls and throttling back off
//     exponentially with full jitter, up to outbound.max_attempts calls; a
//     call that was written but never answered may have been sent, so its
//     message fails as `unanswered` unless outbound.unanswered is `retry`
//     (a provider that honours the idempotency key makes that safe); an
//     answerless close of a reused keep-alive connection is the stale
//     connection race, not an answer, and is retried;
//   - at most outbound.queue_limit messages wait per channel; more fail with
//     queue_full at once.
// Every call carries our message id as its idempotency key.
//
// Billing: a message whose cost is held in the balance (job::billed) is
// committed once its `sent` is durable and refunded once its `failed` is;
// a crash in between is settled by resume() from the message's state.
//
// Threads: enqueue() from any thread; everything else runs on the
// conversation's shard. Construct and destroy on the main thread (destroy after
// the shards stopped).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "gateway/api/webhooks.hpp"
#include "gateway/domain/billing.hpp"
#include "gateway/domain/conversations.hpp"
#include "gateway/net/http_client.hpp"
#include "gateway/runtime/shards.hpp"

namespace gw::outbound {

struct outbox_options {
  net::client_options client;
  unsigned max_attempts = 10;
  // A call written but never answered is retried only when true; otherwise
  // its message fails as `unanswered` (it may have been sent: at most once).
  bool retry_unanswered = false;
  std::size_t queue_limit = 100'000;         // per channel
  unsigned max_in_flight_per_channel = 128;  // calls outstanding at once, per shard
  // Pacing counts a window this much longer than a second, so that network
  // jitter cannot squeeze one second's calls into less at the provider.
  std::chrono::milliseconds pacing_margin{50};
  std::chrono::milliseconds backoff_base{200};
  std::chrono::milliseconds backoff_cap{30'000};
  // A tenant's cap on provider calls per second across all its channels
  // (0: none), asked as its channels' messages are queued. Any thread.
  std::function<unsigned(const std::string& tenant)> tenant_rate;
  // Where Twilio should post statuses: public_base_url + the status route.
  // Empty: no StatusCallback is sent (the number's console setting applies).
  std::string public_base_url;
};

// One message to send: a durable message_out.
struct job {
  domain::conversation_key conv;
  std::string message_id;
  std::string text;
  bool billed = false;        // its cost is held in the balance
  std::string type = "text";  // text, or template (then `detail` is its `x` JSON)
  std::string detail;
};

class outbox {
 public:
  // `billing`: where held costs are settled (nullptr: nothing is billed).
  outbox(runtime::shard_set& shards, domain::conversation_service& core,
         const api::channel_directory& channels, outbox_options opts,
         domain::billing_service* billing = nullptr);
  ~outbox();
  outbox(const outbox&) = delete;
  outbox& operator=(const outbox&) = delete;

  // Any thread: queue a message whose message_out event is durable.
  void enqueue(job j);

  // After a restart: queues every message_out of these tenants still
  // `queued` in its conversation's kept history (accepted, not yet sent),
  // and settles each balance reservation the crash left open from its
  // message's state: sent, delivered or read commit; failed refunds; a
  // message that was never stored (or is no longer kept) refunds. Any
  // thread; the scan runs on the shards.
  void resume(const std::vector<std::string>& tenants);

  // Why a message to `conv` cannot be queued now, if it cannot (any
  // thread): its channel has outbound.queue_limit messages waiting. A send
  // is then refused before anything is stored. A message that still finds
  // the queue full (a race) fails as queue_full.
  std::optional<std::string> refuses(const domain::conversation_key& conv) const;

  // Runs `fn` once resume() has finished (at once if it has): a send
  // stored while the scan runs could otherwise be queued twice. Any thread.
  void when_resumed(std::function<void()> fn);

  // Prometheus text for /metrics (any thread).
  void write_metrics(std::string& out) const;

  struct part;          // one shard's queues and client pool (outbox.cpp)
  struct shared_limit;  // a channel's or a tenant's calls, across the shards (outbox.cpp)

 private:
  unsigned home_of(const domain::conversation_key& k) const;
  void finish_resume();
  // The shared count of messages waiting on channel "tenant/channel".
  std::shared_ptr<std::atomic<std::size_t>> depth_of(const std::string& key);
  // The limiter shared by the shards for "channel/tenant/channel" or
  // "tenant/tenant".
  std::shared_ptr<shared_limit> limit_of(const std::string& key);

  runtime::shard_set& shards_;
  domain::conversation_service& core_;
  domain::billing_service* billing_;
  outbox_options opts_;
  std::mutex resume_mu_;
  bool resumed_ = false;
  std::vector<std::function<void()>> after_resume_;
  mutable std::mutex depth_mu_;
  std::unordered_map<std::string, std::shared_ptr<std::atomic<std::size_t>>> depth_;
  std::unordered_map<std::string, std::shared_ptr<shared_limit>> limits_;
  std::vector<std::unique_ptr<part>> parts_;
};

}  // namespace gw::outbound
