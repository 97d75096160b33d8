// Per-channel queues on their home shards: pacing, fairness, retries, and
// the events that record each message's outcome.
#include "gateway/outbound/outbox.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <map>
#include <optional>
#include <random>

#include "adapters/twilio/send.hpp"
#include "adapters/whatsapp_cloud/send.hpp"
#include "gateway/config/channels.hpp"
#include "gateway/obs/log.hpp"
#include "gateway/obs/metrics.hpp"
#include "protocol/agent_frames.hpp"
#include "protocol/pacing.hpp"

namespace gw::outbound {

namespace asio = boost::asio;
using adapters::verdict;
using protocol::nanos;

namespace {

constexpr nanos ms = 1'000'000;

nanos now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// A window limiter the shards share: a channel's (its conversations live
// on every shard) or a tenant's (its channels do). One lock per call; a
// tenant without a cap (most) costs one relaxed load.
struct outbox::shared_limit {
  // The rate as configured now (0: no limit); a change starts the window
  // afresh.
  void configure(unsigned r, nanos window) {
    if (r == rate.load(std::memory_order_relaxed)) return;
    std::lock_guard lock(mu);
    if (r == rate.load(std::memory_order_relaxed)) return;
    if (r) limit = protocol::window_limiter(r, window);
    rate.store(r, std::memory_order_relaxed);
  }
  // 0 and the call is counted here and by `also` (another limit, or null),
  // or how long until both allow it. Both or neither count it, so neither
  // spends a call that was not made. Lock order: a channel's, then its
  // tenant's.
  nanos try_take(nanos now, shared_limit* also = nullptr) {
    if (rate.load(std::memory_order_relaxed) == 0) return also ? also->try_take(now) : 0;
    std::lock_guard lock(mu);
    if (auto wait = limit.wait(now); wait > 0) return wait;
    if (auto wait = also ? also->try_take(now) : 0; wait > 0) return wait;
    limit.take(now);
    return 0;
  }
  // The provider said the channel is over its throughput.
  void pause_until(nanos until) {
    std::lock_guard lock(mu);
    limit.pause_until(until);
  }
  std::mutex mu;
  std::atomic<unsigned> rate{0};  // written under mu
  protocol::window_limiter limit{1, protocol::ns_per_second};
};

// One shard's share: the queues of the channels whose home it is.
struct outbox::part {
  struct waiting {
    job j;
    unsigned attempts = 0;
    nanos not_before = 0;
  };

  struct channel_queue {
    channel_queue(asio::io_context& ioc, std::shared_ptr<shared_limit> channel_limit,
                  std::shared_ptr<shared_limit> tenant_limit, const channel_config& ch,
                  nanos margin)
        : limit(std::move(channel_limit)),
          tenant(std::move(tenant_limit)),
          pairs(1, 1),
          timer(ioc) {
      configure(ch, margin);
    }
    // The channel's limits as configured now; an admin API change applies
    // from the next message on (the pacing history starts afresh).
    void configure(const channel_config& ch, nanos margin) {
      unsigned r = ch.messages_per_second ? ch.messages_per_second
                                          : default_messages_per_second(ch.provider);
      unsigned pi = ch.pair_interval_ms ? ch.pair_interval_ms : default_pair_interval_ms;
      unsigned pb = ch.pair_burst ? ch.pair_burst : default_pair_burst;
      // The pair rate is WhatsApp's rule (Cloud API, or a Twilio WhatsApp number).
      paired = ch.provider == provider_kind::whatsapp || ch.number.starts_with("whatsapp:");
      limit->configure(r, protocol::ns_per_second + margin);
      if (!origin || ch.api_base_url != base_url)
        origin = origin_for(ch), base_url = ch.api_base_url;
      if (pi == pair_interval_ms && pb == pair_burst) return;
      pair_interval_ms = pi, pair_burst = pb;
      pairs = protocol::pair_pacer(nanos(pi) * ms, pb);
    }
    std::shared_ptr<shared_limit> limit;   // the channel's, shared by the shards
    std::shared_ptr<shared_limit> tenant;  // the tenant's, shared by its channels
    unsigned pair_interval_ms = 0, pair_burst = 0;
    bool paired = true;
    std::uint64_t added = 0;
    protocol::pair_pacer pairs;  // its recipients' conversations all live here
    // Each conversation's messages, by address: waiting in order, and
    // whether one is out (then the next waits for it).
    struct conversation_queue {
      std::deque<waiting> fifo;
      bool in_flight = false;
    };
    std::unordered_map<std::string, conversation_queue> by_address;  // while either holds
    std::deque<std::string> turn;       // conversations with a message waiting and none in flight
    std::optional<net::origin> origin;  // where its calls go, as configured at the last add
    std::string base_url;               // the api_base_url `origin` was made from
    std::shared_ptr<std::atomic<std::size_t>> depth;  // waiting on every shard, in flight included
    unsigned in_flight = 0;
    asio::steady_timer timer;
    bool armed = false;
    nanos armed_for = 0;
    bool pump_posted = false;
  };

  part(outbox& owner, asio::io_context& ioc, const api::channel_directory& channels,
       domain::conversation_service& core, domain::billing_service* billing,
       const outbox_options& opts)
      : owner_(owner),
        ioc_(ioc),
        channels_(channels),
        core_(core),
        billing_(billing),
        opts_(opts),
        pool_(ioc, opts.client),
        rng_(std::random_device{}()) {}

  void add(job j) {
    auto ch = channels_.find(j.conv.channel);
    if (!ch || ch->tenant != j.conv.tenant)
      return record_failed(j, 0, "channel_gone", "the channel no longer exists");
    auto key = j.conv.tenant + "/" + j.conv.channel;
    auto margin = opts_.pacing_margin.count() * ms;
    auto& q = queues_[key];
    if (!q) {
      q = std::make_unique<channel_queue>(ioc_, owner_.limit_of("channel/" + key),
                                          owner_.limit_of("tenant/" + j.conv.tenant), *ch, margin);
      q->depth = owner_.depth_of(key);
    } else {
      q->configure(*ch, margin);
    }
    if (opts_.tenant_rate)
      q->tenant->configure(opts_.tenant_rate(j.conv.tenant), protocol::ns_per_second + margin);
    if (q->depth->fetch_add(1, std::memory_order_relaxed) >= opts_.queue_limit) {
      q->depth->fetch_sub(1, std::memory_order_relaxed);
      return record_failed(j, 0, "queue_full",
                           "more than outbound.queue_limit messages wait on this channel");
    }
    if (++q->added % 4096 == 0) q->pairs.prune(now_ns());  // forget idle recipients
    auto address = j.conv.address;
    auto& cq = q->by_address[address];
    cq.fifo.push_back({std::move(j), 0, 0});
    ++queued_;
    if (cq.fifo.size() == 1 && !cq.in_flight) q->turn.push_back(std::move(address));
    pump(key, *q);
  }

  // Starts every call the limits allow; arms the timer for the next one.
  // A call that would wait for a busy connection is not started: the next
  // completion pumps again.
  void pump(const std::string& key, channel_queue& q) {
    auto now = now_ns();
    nanos next = -1;
    auto later = [&next](nanos at) { next = next < 0 ? at : std::min(next, at); };
    for (std::size_t n = q.turn.size(); n > 0 && q.in_flight < opts_.max_in_flight_per_channel;
         --n) {
      auto address = std::move(q.turn.front());
      q.turn.pop_front();
      auto& cq = q.by_address.find(address)->second;
      auto& w = cq.fifo.front();
      if (w.not_before > now) {  // backing off
        later(w.not_before);
        q.turn.push_back(std::move(address));
        continue;
      }
      if (auto wait = q.paired ? q.pairs.wait(address, now) : 0; wait > 0) {  // pair rate
        later(now + wait);
        q.turn.push_back(std::move(address));
        continue;
      }
      if (q.origin && !pool_.can_start_now(*q.origin)) {  // every connection busy
        // Our completions pump again; another channel's (same origin) do
        // not, so look again soon as well.
        later(now + 10 * ms);
        q.turn.push_front(std::move(address));
        break;
      }
      // The channel's throughput and the tenant's, both counted or neither.
      if (auto wait = q.limit->try_take(now, q.tenant.get()); wait > 0) {
        later(now + wait);
        q.turn.push_front(std::move(address));
        break;
      }
      if (q.paired) q.pairs.take(address, now);
      auto x = std::move(cq.fifo.front());
      cq.fifo.pop_front();
      cq.in_flight = true;
      send(key, q, std::move(x));
    }
    if (next >= 0) arm(key, q, next);
  }

  // Where a channel's provider API is: its api_base_url or the provider's.
  static std::optional<net::origin> origin_for(const channel_config& ch) {
    return net::parse_origin(ch.api_base_url.empty() ? default_api_base_url(ch.provider)
                                                     : std::string_view(ch.api_base_url));
  }

  void arm(const std::string& key, channel_queue& q, nanos at) {
    if (q.armed && q.armed_for <= at) return;
    q.armed = true;
    q.armed_for = at;
    q.timer.expires_after(std::chrono::nanoseconds(std::max<nanos>(at - now_ns(), 0)));
    q.timer.async_wait([this, key, &q](boost::system::error_code ec) {
      if (ec) return;  // re-armed earlier, or shutting down
      q.armed = false;
      pump(key, q);
    });
  }

  void send(const std::string& key, channel_queue& q, waiting x) {
    auto ch = channels_.find(x.j.conv.channel);
    if (!ch || ch->tenant != x.j.conv.tenant)
      return finish(key, q, x, [&] {
        record_failed(x.j, x.attempts, "channel_gone", "the channel no longer exists");
      });
    adapters::outbound_message m;
    m.id = x.j.message_id;
    m.text = x.j.text;
    m.to = x.j.conv.address;
    if (x.j.type == "template") {
      auto t = protocol::template_from_json(x.j.detail);
      if (!t)
        return finish(key, q, x, [&] {
          record_failed(x.j, x.attempts, "invalid_message", "the stored template is unreadable");
        });
      m.type = adapters::outbound_message::kind::template_;
      m.text.clear();
      m.templ.name = std::move(t->name);
      m.templ.language = std::move(t->language);
      m.templ.body = std::move(t->vars);
    }
    // Either adapter's result: the call, or why the message cannot be sent.
    std::variant<adapters::http_call, std::string> call;
    auto take = [&call](auto built) {
      if (auto* e = std::get_if<1>(&built))
        call = e->message;
      else
        call = std::get<0>(std::move(built));
    };
    bool whatsapp = ch->provider == provider_kind::whatsapp;
    std::string_view missing;  // the credential a channel needs to send, if it lacks it
    if (whatsapp) {
      m.from = ch->phone_number_id;
      if (ch->access_token.empty()) missing = "access_token";
      take(adapters::whatsapp_cloud::build_send(
          m, {ch->access_token, ch->api_version.empty() ? std::string(default_whatsapp_api_version)
                                                        : ch->api_version}));
    } else {
      m.from = ch->number;
      if (ch->number.starts_with("whatsapp:")) m.to = "whatsapp:" + m.to;
      if (ch->account_sid.empty()) missing = "account_sid";
      take(adapters::twilio::build_send(
          m, {ch->account_sid, ch->auth_token,
              opts_.public_base_url.empty()
                  ? ""
                  : opts_.public_base_url + "/webhooks/twilio/" + ch->id + "/status"}));
    }
    if (!missing.empty())
      return finish(key, q, x, [&] {
        record_failed(x.j, x.attempts, "no_credentials",
                      "channel " + ch->id + " has no " + std::string(missing) + " to send with");
      });
    if (auto* problem = std::get_if<std::string>(&call))
      return finish(key, q, x,
                    [&] { record_failed(x.j, x.attempts, "invalid_message", *problem); });
    auto where = origin_for(*ch);
    if (!where)
      return finish(key, q, x, [&] {
        record_failed(x.j, x.attempts, "bad_api_base_url",
                      "channel " + ch->id + " has an unusable api_base_url");
      });
    ++x.attempts;
    ++q.in_flight;
    ++calls_;
    pool_.request(*where, std::get<adapters::http_call>(std::move(call)),
                  [this, key, &q, x = std::move(x), whatsapp](net::client_result r) mutable {
                    --q.in_flight;
                    auto result = whatsapp ? adapters::whatsapp_cloud::read_send_reply(r.reply)
                                           : adapters::twilio::read_send_reply(r.reply);
                    if (result.code == "no_reply" && !r.error.empty())
                      result.reason = "no_reply: " + r.error;
                    // Written, unanswered: the provider may have sent it.
                    bool stale_connection = r.reused && !r.timed_out;
                    if (result.code == "no_reply" && r.written && !stale_connection &&
                        !opts_.retry_unanswered) {
                      result.kind = verdict::failed;
                      result.code = "unanswered";
                      result.reason = "unanswered: the call was sent but not answered (" + r.error +
                                      "); the provider may have sent the message, so it is not "
                                      "sent again";
                    }
                    outcome(key, q, std::move(x), std::move(result));
                  });
  }

  void outcome(const std::string& key, channel_queue& q, waiting x, adapters::send_result r) {
    auto now = now_ns();
    switch (r.kind) {
      case verdict::accepted:
        ++sent_;
        record(x.j, r.provider_id, "sent", "");
        return finish(key, q, x, [] {});
      case verdict::failed:
        return finish(key, q, x, [&] { record_failed(x.j, x.attempts, r.code, r.reason); });
      default:
        break;
    }
    if (x.attempts >= opts_.max_attempts)
      return finish(key, q, x, [&] { record_failed(x.j, x.attempts, r.code, r.reason); });
    ++retries_;
    nanos hint = r.retry_after_ms * ms;
    if (r.kind == verdict::throttle_channel) {
      ++throttled_;
      q.limit->pause_until(now + std::max<nanos>(hint, 1000 * ms));
    } else if (r.kind == verdict::throttle_recipient) {
      ++throttled_;
      q.pairs.hold(x.j.conv.address, now + hint);
    } else {  // retry: exponential backoff with full jitter
      auto cap = std::min<nanos>(opts_.backoff_cap.count() * ms,
                                 opts_.backoff_base.count() * ms << std::min(x.attempts, 20u));
      x.not_before =
          now + std::max<nanos>(hint, std::uniform_int_distribution<nanos>(0, cap)(rng_));
    }
    // Back to the head of its conversation: order is kept.
    auto address = x.j.conv.address;
    auto& cq = q.by_address[address];
    cq.fifo.push_front(std::move(x));
    cq.in_flight = false;
    q.turn.push_back(std::move(address));
    schedule(key, q);
  }

  // The message left the queue (sent or failed): its conversation's next one may go.
  template <class Record>
  void finish(const std::string& key, channel_queue& q, const waiting& x, Record record_it) {
    record_it();
    auto address = x.j.conv.address;
    q.depth->fetch_sub(1, std::memory_order_relaxed);
    --queued_;
    auto it = q.by_address.find(address);
    if (it != q.by_address.end()) {
      it->second.in_flight = false;
      if (it->second.fifo.empty())
        q.by_address.erase(it);
      else
        q.turn.push_back(std::move(address));
    }
    schedule(key, q);
  }

  // pump() on a later turn of the loop: a run of messages that fail before
  // any call (a channel without credentials) must not recurse.
  void schedule(const std::string& key, channel_queue& q) {
    if (q.pump_posted) return;
    q.pump_posted = true;
    asio::post(ioc_, [this, key, &q] {
      q.pump_posted = false;
      pump(key, q);
    });
  }

  // Journals the message's outcome; then, once that is durable, settles
  // its held cost (a crash in between is settled by resume()).
  void record(const job& j, std::string provider_id, std::string status, std::string detail) {
    domain::event e;
    e.kind = domain::event_kind::message_status;
    e.provider_id = std::move(provider_id);
    e.message_id = j.message_id;
    bool sent = status == "sent";
    e.value = std::move(status);
    e.detail = std::move(detail);
    auto* billing = j.billed ? billing_ : nullptr;
    core_.submit(j.conv, {std::move(e)},
                 [id = j.message_id, billing, sent,
                  account = domain::billing_account{j.conv.tenant, j.conv.channel}](
                     std::error_code ec, domain::submit_result) {
                   if (ec)
                     return log::warn("outbound outcome not recorded",
                                      {{"message", id}, {"error", ec.message()}});
                   if (billing) billing->settle(account, id, sent);
                 });
  }

  // A failure before the provider gave the message an id is keyed by ours.
  void record_failed(const job& j, unsigned attempts, const std::string& code,
                     const std::string& reason) {
    ++failed_;
    auto detail = reason.starts_with(code) ? reason : code + ": " + reason;
    if (attempts > 1) detail += " (" + std::to_string(attempts) + " attempts)";
    record(j, "gw:" + j.message_id, "failed", std::move(detail));
  }

  outbox& owner_;
  asio::io_context& ioc_;
  const api::channel_directory& channels_;
  domain::conversation_service& core_;
  domain::billing_service* billing_;
  const outbox_options& opts_;
  net::http_client_pool pool_;
  std::mt19937_64 rng_;
  std::map<std::string, std::unique_ptr<channel_queue>> queues_;  // "tenant/channel"
  // For /metrics, read from any thread.
  std::atomic<std::uint64_t> calls_{0}, sent_{0}, failed_{0}, retries_{0}, throttled_{0};
  std::atomic<std::int64_t> queued_{0};
};

outbox::outbox(runtime::shard_set& shards, domain::conversation_service& core,
               const api::channel_directory& channels, outbox_options opts,
               domain::billing_service* billing)
    : shards_(shards), core_(core), billing_(billing), opts_(std::move(opts)) {
  for (unsigned i = 0; i < shards.size(); ++i)
    parts_.push_back(
        std::make_unique<part>(*this, shards.at(i).ioc, channels, core, billing, opts_));
}

outbox::~outbox() = default;

unsigned outbox::home_of(const domain::conversation_key& k) const {
  return domain::home_shard(k, static_cast<unsigned>(parts_.size()));
}

std::shared_ptr<std::atomic<std::size_t>> outbox::depth_of(const std::string& key) {
  std::lock_guard lock(depth_mu_);
  auto& d = depth_[key];
  if (!d) d = std::make_shared<std::atomic<std::size_t>>(0);
  return d;
}

std::shared_ptr<outbox::shared_limit> outbox::limit_of(const std::string& key) {
  std::lock_guard lock(depth_mu_);
  auto& l = limits_[key];
  if (!l) l = std::make_shared<shared_limit>();
  return l;
}

std::optional<std::string> outbox::refuses(const domain::conversation_key& conv) const {
  std::lock_guard lock(depth_mu_);
  auto it = depth_.find(conv.tenant + "/" + conv.channel);
  if (it != depth_.end() && it->second->load(std::memory_order_relaxed) >= opts_.queue_limit)
    return "the outbound queue of channel \"" + conv.channel + "\" is full (outbound.queue_limit)";
  return std::nullopt;
}

void outbox::enqueue(job j) {
  auto home = home_of(j.conv);
  asio::post(shards_.at(home).ioc,
             [p = parts_[home].get(), j = std::move(j)]() mutable { p->add(std::move(j)); });
}

void outbox::when_resumed(std::function<void()> fn) {
  {
    std::lock_guard lock(resume_mu_);
    if (!resumed_) return after_resume_.push_back(std::move(fn));
  }
  fn();
}

void outbox::finish_resume() {
  std::vector<std::function<void()>> waiting;
  {
    std::lock_guard lock(resume_mu_);
    resumed_ = true;
    waiting.swap(after_resume_);
  }
  for (auto& fn : waiting) fn();
}

void outbox::resume(const std::vector<std::string>& tenants) {
  // The reservations open now, by message id; each scan takes those it
  // finds, and the last one refunds what no conversation holds.
  struct settling {
    std::mutex mu;
    std::unordered_map<std::string, domain::open_hold> holds;
    std::size_t scans_left = 0;
    bool complete = true;
  };
  auto s = std::make_shared<settling>();
  if (billing_)
    for (auto& h : billing_->open_holds()) s->holds.emplace(h.message_id, std::move(h));
  s->scans_left = tenants.size();
  if (tenants.empty()) finish_resume();
  auto* billing = billing_;
  for (const auto& tenant : tenants)
    core_.scan(
        tenant,
        [this, s, billing](unsigned, const domain::conversation& c) {
          for (const auto& m : c.history) {
            if (m.kind() != domain::event_kind::message_out) continue;
            bool held = false;
            if (billing) {
              std::lock_guard lock(s->mu);
              held = s->holds.erase(std::string(m.id())) > 0;
            }
            if (m.status() == "queued")
              enqueue({c.key, std::string(m.id()), std::string(m.text()), held,
                       std::string(m.type()), std::string(m.extra())});
            else if (held)  // the outcome is durable, its settlement was not
              billing->settle({c.key.tenant, c.key.channel}, std::string(m.id()),
                              m.status() != "failed");
          }
        },
        [this, s, billing, tenant](bool complete) {
          std::lock_guard lock(s->mu);
          if (!complete) {
            s->complete = false;
            log::warn("outbound resume skipped a recovering shard", {{"tenant", tenant}});
          }
          if (--s->scans_left > 0) return;
          finish_resume();
          if (!billing) return;
          if (!s->complete) {  // a hold might belong to a skipped conversation: keep them
            if (!s->holds.empty())
              log::warn("balance reservations left open after an incomplete resume",
                        {{"count", s->holds.size()}});
            return;
          }
          for (auto& [id, h] : s->holds) {
            log::info("refunding a reservation whose message is not queued or kept",
                      {{"tenant", h.account.tenant},
                       {"channel", h.account.channel},
                       {"message", id},
                       {"amount", h.amount}});
            billing->settle(h.account, id, false);
          }
        });
}

void outbox::write_metrics(std::string& out) const {
  std::uint64_t calls = 0, sent = 0, failed = 0, retries = 0, throttled = 0;
  std::int64_t queued = 0;
  for (const auto& p : parts_) {
    calls += p->calls_.load(std::memory_order_relaxed);
    sent += p->sent_.load(std::memory_order_relaxed);
    failed += p->failed_.load(std::memory_order_relaxed);
    retries += p->retries_.load(std::memory_order_relaxed);
    throttled += p->throttled_.load(std::memory_order_relaxed);
    queued += p->queued_.load(std::memory_order_relaxed);
  }
  metrics::write_metric(out, "gateway_outbound_calls_total", "counter",
                        "Calls made to providers' send APIs, retries included.", calls);
  metrics::write_metric(out, "gateway_outbound_sent_total", "counter",
                        "Messages a provider accepted.", sent);
  metrics::write_metric(out, "gateway_outbound_failed_total", "counter",
                        "Messages that failed for good (provider code or local reason).", failed);
  metrics::write_metric(out, "gateway_outbound_retries_total", "counter",
                        "Calls repeated after a transient error or throttling.", retries);
  metrics::write_metric(out, "gateway_outbound_throttled_total", "counter",
                        "Answers that said a channel or a recipient was over its rate.", throttled);
  metrics::write_metric(out, "gateway_outbound_queued", "gauge",
                        "Messages waiting to be sent or in flight.", queued);
}

}  // namespace gw::outbound
