// Conversation actors, the shards' journal, recovery and snapshots.
#include "gateway/domain/conversations.hpp"
#include "gateway/domain/event_bus.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <random>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <utility>

#include "gateway/domain/wire.hpp"
#include "gateway/obs/log.hpp"
#include "gateway/runtime/actor.hpp"
#include "gateway/runtime/cpus.hpp"
#include "gateway/runtime/memory.hpp"
#include "gateway/runtime/thread_name.hpp"
#include "gateway/store/event_store.hpp"
#include "gateway/store/files.hpp"

namespace gw::domain {

namespace fs = std::filesystem;
using clock_type = std::chrono::system_clock;

// Per-tenant offset counters shared by all shards. Lookups take a shared
// lock; a tenant's first event takes the exclusive one once.
class conversation_service::tenant_clock {
 public:
  std::uint64_t next(const std::string& tenant) { return counter(tenant).fetch_add(1) + 1; }
  // Every tenant's last offset handed out.
  std::unordered_map<std::string, std::uint64_t> all() const {
    std::shared_lock lock(mu_);
    std::unordered_map<std::string, std::uint64_t> out;
    for (const auto& [t, c] : map_) out[t] = c->load();
    return out;
  }
  void observe(const std::string& tenant, std::uint64_t offset) {
    auto& c = counter(tenant);
    auto cur = c.load();
    while (cur < offset && !c.compare_exchange_weak(cur, offset)) {
    }
  }

 private:
  std::atomic<std::uint64_t>& counter(const std::string& tenant) {
    {
      std::shared_lock lock(mu_);
      if (auto it = map_.find(tenant); it != map_.end()) return *it->second;
    }
    std::unique_lock lock(mu_);
    auto& slot = map_[tenant];
    if (!slot) slot = std::make_unique<std::atomic<std::uint64_t>>(0);
    return *slot;
  }
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<std::atomic<std::uint64_t>>> map_;
};

// An actor's state: the conversation plus what is being written right now.
struct conversation_service::cell {
  conversation conv;
  std::uint64_t next_seq = 1;
  std::vector<std::string> inflight_ids;  // provider and client ids, statuses, not yet durable
  std::uint64_t issued = 0;               // appends started
  std::uint64_t completed = 0;            // appends finished (in order)
  std::vector<std::pair<std::uint64_t, submit_done>> retries;  // answer when completed >= first
};

// A snapshot's pieces on their way from the home thread, which encodes
// them, to the writer thread, which appends them to the snapshot file, and
// their buffers on the way back. The writer writes while the shard encodes:
// a snapshot holds a few slices in memory instead of a second copy of the
// shard's state (hundreds of megabytes once histories are full), and the
// buffers' pages are touched once, not once per byte of every snapshot
// (bench/PROFILE.md, "Snapshots written as they are encoded").
class conversation_service::snapshot_pipe {
 public:
  // Encoded pieces the writer may trail by; the encoding waits beyond it.
  static constexpr std::size_t max_queued = 4;

  // Home thread.
  bool full() {
    std::lock_guard lock(mu_);
    return queued_.size() >= max_queued;
  }
  bool failed() {
    std::lock_guard lock(mu_);
    return failed_;
  }
  std::string take_buffer() {
    std::lock_guard lock(mu_);
    if (spare_.empty()) return {};
    auto b = std::move(spare_.back());
    spare_.pop_back();
    return b;
  }
  void push(std::string piece, bool last) {
    {
      std::lock_guard lock(mu_);
      queued_.push_back(std::move(piece));
      last_ = last;
    }
    cv_.notify_one();
  }
  // Any thread: the snapshot will not be finished (the service is going away).
  void abandon() {
    {
      std::lock_guard lock(mu_);
      abandoned_ = true;
    }
    cv_.notify_one();
  }

  // Writer thread: the next piece; false once the last one was taken, or
  // when abandoned (complete() tells which).
  bool next(std::string& piece) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return abandoned_ || !queued_.empty() || last_; });
    if (abandoned_ || queued_.empty()) return false;
    piece = std::move(queued_.front());
    queued_.pop_front();
    return true;
  }
  void give_back(std::string piece) {
    piece.clear();  // the capacity stays
    std::lock_guard lock(mu_);
    spare_.push_back(std::move(piece));
  }
  bool complete() {
    std::lock_guard lock(mu_);
    return last_ && !abandoned_ && queued_.empty();
  }
  void fail() {
    std::lock_guard lock(mu_);
    failed_ = true;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queued_;  // encoded, not yet written
  std::vector<std::string> spare_;  // written: empty, with their capacity
  bool last_ = false;               // the final piece was queued
  bool abandoned_ = false;
  bool failed_ = false;  // the writer gave up: encoding stops
};

struct conversation_service::shard_part {
  using conv_actor = runtime::actor<cell>;
#if defined(__GLIBCXX__) && defined(__x86_64__)
  // An actor per conversation, a million of them: 512 bytes is one of the
  // allocator's size classes, and past it each conversation costs 64 more
  // (bench/PROFILE.md, memory per conversation).
  static_assert(sizeof(conv_actor) <= 512, "a conversation's actor outgrew its 512-byte budget");
#endif

  runtime::shard* shard = nullptr;
  std::unique_ptr<store::shard_log> journal;
  std::shared_mutex mu;                          // guards `actors` (inserts from any thread)
  id_table<std::unique_ptr<conv_actor>> actors;  // by conversation_key::str()
  std::unordered_map<std::string, std::uint64_t> max_offset;  // per tenant, home thread
  std::atomic<bool> ready{false};  // set once recovery opened the journal
  // The journal's LSNs count every shard's records; `applied_records`
  // counts this shard's, for the pace of its snapshots.
  std::uint64_t applied_lsn = 0;
  std::uint64_t applied_records = 0;
  std::uint64_t snapshot_lsn = 0;            // of the last saved snapshot
  std::uint64_t snapshot_tried_lsn = 0;      // of the last attempt, saved or not
  std::uint64_t snapshot_tried_records = 0;  // applied_records then
  bool snapshot_running = false;
  std::optional<boost::asio::steady_timer> snapshot_pause;  // between a snapshot's slices
  std::shared_ptr<snapshot_pipe> snapshot_writing;          // the last snapshot started
  std::thread snapshot_thread;                              // that snapshot's writer

  conv_actor& actor_for(const conversation_key& key, std::size_t batch) {
    // Built in a buffer the thread keeps: a lookup allocates nothing.
    thread_local std::string name;
    key.str(name);
    {
      std::shared_lock lock(mu);
      if (auto* a = actors.find(name)) return **a;
    }
    std::unique_lock lock(mu);
    if (auto* a = actors.find(name)) return **a;
    auto a = std::make_unique<conv_actor>(shard->ioc, batch);
    auto& made = *a;
    actors.insert_or_assign(name, std::move(a));
    return made;
  }
};

std::uint64_t load_or_create_epoch(const std::string& data_dir) {
  fs::create_directories(data_dir);
  auto path = fs::path(data_dir) / "EPOCH";
  std::uint64_t epoch = 0;
  if (std::ifstream in(path); in >> epoch && epoch != 0) return epoch;
  std::random_device rd;
  // 53 bits: exact in JavaScript numbers, which agent UIs will compare.
  epoch = ((static_cast<std::uint64_t>(rd()) << 32) | rd()) & ((1ULL << 53) - 1);
  if (epoch == 0) epoch = 1;
  store::write_file_atomically(data_dir, "EPOCH", {std::to_string(epoch) + '\n'});
  return epoch;
}

void check_shard_count(const std::string& data_dir, unsigned shards) {
  auto path = fs::path(data_dir) / "SHARDS";
  unsigned recorded = 0;
  if (std::ifstream in(path); in >> recorded) {
    if (recorded != shards)
      throw std::runtime_error("data_dir " + data_dir + " holds " + std::to_string(recorded) +
                               " shards but the gateway runs " + std::to_string(shards) +
                               " threads; conversations are pinned to shards, so start it with "
                               "--threads " +
                               std::to_string(recorded));
    return;
  }
  store::write_file_atomically(data_dir, "SHARDS", {std::to_string(shards) + '\n'});
}

conversation_service::conversation_service(runtime::shard_set& shards, core_options opts)
    : shards_(shards), opts_(std::move(opts)), clock_(std::make_unique<tenant_clock>()) {
  epoch_ = load_or_create_epoch(opts_.data_dir);
  check_shard_count(opts_.data_dir, shards_.size());
  if (!opts_.store) {
    store::journal_options tuning;
    tuning.segment_bytes = opts_.segment_bytes;
    tuning.commit_window = opts_.commit_window;
    tuning.commit_bytes = opts_.commit_bytes;
    opts_.store = std::make_shared<store::journal_store>(opts_.data_dir, tuning, shards_.size());
  }
  for (unsigned i = 0; i < shards_.size(); ++i) {
    auto p = std::make_unique<shard_part>();
    p->shard = &shards_.at(i);
    parts_.push_back(std::move(p));
  }
}

conversation_service::~conversation_service() {
  for (auto& p : parts_) {
    if (p->snapshot_writing) p->snapshot_writing->abandon();  // a writer waiting for pieces stops
    if (p->snapshot_thread.joinable()) p->snapshot_thread.join();
  }
  // The last stream closes the journal: it flushes and joins its syncer.
  for (auto& p : parts_) p->journal.reset();
}

bool conversation_service::healthy() const noexcept {
  for (const auto& p : parts_)
    if (!p->ready.load(std::memory_order_acquire) || p->journal->failed()) return false;
  return true;
}

bool conversation_service::ready() const noexcept {
  for (const auto& p : parts_)
    if (!p->ready.load(std::memory_order_acquire)) return false;
  return true;
}

std::uint64_t conversation_service::journal_syncs() const noexcept {
  return ready() ? opts_.store->syncs() : 0;
}

const metrics::histogram* conversation_service::journal_sync_latency() const noexcept {
  return ready() ? opts_.store->sync_latency() : nullptr;
}

conversation_service::shard_part& conversation_service::part_for(const conversation_key& key) {
  return *parts_[home_shard(key, static_cast<unsigned>(parts_.size()))];
}

namespace {
// fn(0) .. fn(n-1), each on a thread of its own (0 on the caller's); waits
// for all, then rethrows the first error.
void in_parallel(std::size_t n, const std::function<void(std::size_t)>& fn) {
  std::vector<std::future<void>> others;
  for (std::size_t i = 1; i < n; ++i) others.push_back(std::async(std::launch::async, fn, i));
  std::exception_ptr error;
  try {
    fn(0);
  } catch (...) {
    error = std::current_exception();
  }
  for (auto& f : others) try {
      f.get();
    } catch (...) {
      if (!error) error = std::current_exception();
    }
  if (error) std::rethrow_exception(error);
}
}  // namespace

// Recovery runs on the calling thread and helpers, the shards in parallel,
// so the shard threads keep serving (/healthz, /readyz) meanwhile; submits
// that reach a shard before it is ready are refused, never applied half-way.
// The snapshots load in parallel; the shared journal is read once, and each
// segment's records are applied by shard, in parallel.
recovery_stats conversation_service::recover() {
  auto started = std::chrono::steady_clock::now();
  const auto n = parts_.size();
  std::vector<recovery_stats> per(n);
  std::vector<std::uint64_t> from(n, 1);
  in_parallel(n, [&](std::size_t i) { from[i] = load_snapshot(*parts_[i], per[i]); });
  std::vector<std::vector<store::record_view>> by_shard(n);
  auto result = opts_.store->replay(from, [&](std::span<const store::record_view> records) {
    for (auto& v : by_shard) v.clear();
    for (const auto& rec : records) by_shard.at(rec.stream).push_back(rec);
    in_parallel(n, [&](std::size_t i) { replay_records(*parts_[i], by_shard[i], per[i]); });
  });
  if (result.dropped_bytes > 0)
    log::warn("journal tail dropped during recovery",
              {{"bytes", result.dropped_bytes}, {"segments", result.dropped_segments}});
  std::vector<boost::asio::io_context*> homes;
  for (auto& p : parts_) homes.push_back(&p->shard->ioc);
  auto logs = opts_.store->open(std::move(homes), result);
  recovery_stats total;
  for (std::size_t i = 0; i < n; ++i) {
    parts_[i]->journal = std::move(logs.at(i));
    total.records += per[i].records;
    total.events += per[i].events;
    total.conversations += parts_[i]->actors.size();
    total.from_snapshot = total.from_snapshot || per[i].from_snapshot;
  }
  total.dropped_bytes = result.dropped_bytes;
  total.dropped_segments = result.dropped_segments;
  // Only now may any shard take submits: a shard that finished early must
  // not hand out tenant offsets before every shard's offsets were observed.
  if (bus_) bus_->start(clock_->all());
  for (auto& p : parts_) p->ready.store(true, std::memory_order_release);
  runtime::release_free_memory();  // the replay's segment buffers
  total.took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  return total;
}

void conversation_service::observe_offset(shard_part& p, const std::string& tenant,
                                          std::uint64_t offset) {
  auto& m = p.max_offset[tenant];
  m = std::max(m, offset);
  clock_->observe(tenant, offset);
}

// On a recovery thread while the shard is not `ready`: nothing on the shard
// thread touches this part's state until then. Returns the first LSN the
// shard needs from the journal.
std::uint64_t conversation_service::load_snapshot(shard_part& p, recovery_stats& stats) {
  const unsigned shard = p.shard->index;
  auto snap = opts_.store->load_snapshot(shard);
  if (!snap) return 1;
  const std::string where = "snapshot of shard " + std::to_string(shard);
  wire::reader r{snap->payload};
  auto tenants = r.varint();
  for (std::uint64_t i = 0; r.ok && i < tenants; ++i) {
    std::string t;
    r.str(t);
    observe_offset(p, t, r.varint());
  }
  auto count = r.varint();
  std::string_view rest = r.in;
  if (count <= rest.size()) {  // each conversation takes a byte at least
    std::unique_lock lock(p.mu);
    p.actors.reserve(p.actors.size() + count);
  }
  for (std::uint64_t i = 0; r.ok && i < count; ++i) {
    conversation c;
    if (!decode_conversation(rest, c, snap->version))
      throw std::runtime_error(where + " is malformed");
    auto& a = p.actor_for(c.key, opts_.actor_batch);
    a.state().next_seq = c.seq + 1;
    a.state().conv = std::move(c);
  }
  if (!r.ok) throw std::runtime_error(where + " is malformed");
  p.applied_lsn = p.snapshot_lsn = p.snapshot_tried_lsn = snap->lsn;
  stats.from_snapshot = true;
  return snap->lsn + 1;
}

// On a recovery thread, as load_snapshot: the shard's records of a segment.
void conversation_service::replay_records(shard_part& p,
                                          std::span<const store::record_view> records,
                                          recovery_stats& stats) {
  for (const auto& rec : records) {
    auto events = decode_events(rec.payload);
    if (!events)
      throw std::runtime_error("journal record " + std::to_string(rec.lsn) + " of shard " +
                               std::to_string(p.shard->index) +
                               " has a valid CRC but undecodable events");
    for (auto& e : *events) {
      auto& a = p.actor_for(e.conv, opts_.actor_batch);
      auto& c = a.state();
      if (c.conv.key.tenant.empty()) c.conv.key = e.conv;
      observe_offset(p, e.conv.tenant, e.offset);
      if (e.seq <= c.conv.seq) continue;  // a fuzzy snapshot already holds it
      apply(c.conv, e, opts_.history_limit, opts_.ids_kept_ms);
      c.next_seq = e.seq + 1;
      ++stats.events;
    }
    p.applied_lsn = rec.lsn;
    ++p.applied_records;
    ++stats.records;
  }
}

conversation_summary summary_of(const conversation& c) {
  return {c.seq != 0,        c.contact_name,    c.status, c.assignee, c.team,
          c.last_inbound_ms, c.last_message_ms, c.seq,    c.unread};
}

void conversation_service::submit(conversation_key key, std::vector<event> events, submit_done done,
                                  submit_guard guard) {
  auto& p = part_for(key);
  auto& a = p.actor_for(key, opts_.actor_batch);
  a.tell([this, &p, key = std::move(key), events = std::move(events), done = std::move(done),
          guard = std::move(guard)](cell& c) mutable {
    if (!p.ready.load(std::memory_order_acquire)) {  // recovery still owns the state
      done(std::make_error_code(std::errc::resource_unavailable_try_again), {});
      return;
    }
    if (guard) {
      auto g = guard(c.conv.seq == 0 ? nullptr : &c.conv, events);
      if (g.verdict != guard_verdict::go) {
        submit_result r;
        r.duplicate = g.verdict == guard_verdict::skip;
        r.refused = g.verdict == guard_verdict::refuse;
        r.reason = std::move(g.reason);
        r.code = std::move(g.code);
        r.after = summary_of(c.conv);
        return done({}, std::move(r));
      }
    }
    if (c.conv.key.tenant.empty()) c.conv.key = std::move(key);
    handle_submit(p, c, std::move(events), std::move(done));
  });
}

void conversation_service::scan(std::string tenant, scan_visit visit,
                                std::function<void(bool)> done) {
  struct pass {
    pass(std::string t, scan_visit v, std::function<void(bool)> d, unsigned shards)
        : tenant(std::move(t)), visit(std::move(v)), done(std::move(d)), left(shards) {}
    std::string tenant;
    scan_visit visit;
    std::function<void(bool)> done;
    std::atomic<unsigned> left;
    std::atomic<bool> complete{true};
  };
  auto st = std::make_shared<pass>(std::move(tenant), std::move(visit), std::move(done),
                                   static_cast<unsigned>(parts_.size()));
  for (auto& part : parts_) {
    boost::asio::post(part->shard->ioc, [st, &p = *part] {
      if (!p.ready.load(std::memory_order_acquire)) {
        st->complete.store(false);
      } else {
        std::shared_lock lock(p.mu);  // inserts come from any thread
        for (const auto& [name, a] : p.actors) {
          const auto& c = a->state().conv;
          if (c.seq != 0 && c.key.tenant == st->tenant) st->visit(p.shard->index, c);
        }
      }
      if (st->left.fetch_sub(1) == 1) st->done(st->complete.load());
    });
  }
}

void conversation_service::inspect(const conversation_key& key,
                                   std::function<void(const conversation*)> fn) {
  auto& p = part_for(key);
  boost::asio::post(p.shard->ioc, [&p, name = key.str(), fn = std::move(fn)] {
    if (!p.ready.load(std::memory_order_acquire)) return fn(nullptr);
    std::shared_lock lock(p.mu);
    auto* a = p.actors.find(name);
    fn(!a || (*a)->state().conv.seq == 0 ? nullptr : &(*a)->state().conv);
  });
}

namespace {
// A status that changes nothing (a provider retry, a late `delivered` after
// `read`) is not stored again.
bool changes_delivery(const conversation& c, const event& e) {
  static const delivery none;
  auto it = c.clinic->deliveries.find(e.provider_id);
  const delivery& d = it == c.clinic->deliveries.end() ? none : it->second;
  return status_advances(d, e.value) || (!e.message_id.empty() && d.message_id != e.message_id);
}

// Whether `later` repeats `earlier`, both of one batch: the same provider
// message, the same agent command, or a status its delivery would already
// have by then. A provider may repeat itself within one request as well as
// across requests.
bool repeats(const event& earlier, const event& later) {
  if (earlier.kind != later.kind) return false;
  switch (later.kind) {
    case event_kind::message_in:
      return !later.provider_id.empty() && later.provider_id == earlier.provider_id;
    case event_kind::message_out:
    case event_kind::note:
      return !later.client_id.empty() && later.client_id == earlier.client_id;
    case event_kind::message_status:
      return later.provider_id == earlier.provider_id && later.message_id.empty() &&
             status_rank(later.value) <= status_rank(earlier.value);
    default:
      return false;
  }
}

// A status being made durable, as the in-flight list knows it: a provider's
// retry of it that arrives meanwhile is a duplicate like a retried message.
std::string inflight_status(const event& e) { return "status\n" + e.provider_id + "\n" + e.value; }
}  // namespace

// Home thread, inside the actor's drain.
void conversation_service::handle_submit(shard_part& p, cell& c, std::vector<event> events,
                                         submit_done done) {
  auto inflight = [&c](const std::string& id) {
    return std::find(c.inflight_ids.begin(), c.inflight_ids.end(), id) != c.inflight_ids.end();
  };
  auto known = [&](const event& e) {
    if (e.kind == event_kind::message_status)  // one naming our message links it: never a repeat
      return !changes_delivery(c.conv, e) || (e.message_id.empty() && inflight(inflight_status(e)));
    const std::string* id = nullptr;
    if (e.kind == event_kind::message_in && !e.provider_id.empty()) {
      if (c.conv.provider_ids.contains(e.provider_id)) return true;
      id = &e.provider_id;
    } else if ((e.kind == event_kind::message_out || e.kind == event_kind::note) &&
               !e.client_id.empty()) {
      if (c.conv.clinic->client_ids.contains(e.client_id)) return true;
      id = &e.client_id;
    }
    return id && inflight(*id);
  };
  std::erase_if(events, known);
  for (std::size_t i = 1; i < events.size();) {  // a batch of one, the usual, skips this
    auto later = events.begin() + static_cast<std::ptrdiff_t>(i);
    if (std::any_of(events.begin(), later, [&](const event& e) { return repeats(e, *later); }))
      events.erase(later);
    else
      ++i;
  }
  if (events.empty()) {
    // All retries. If any original is still being written, answer after it.
    if (c.completed < c.issued)
      c.retries.emplace_back(c.issued, std::move(done));
    else
      done({}, submit_result{{}, true, false, {}, summary_of(c.conv), {}});
    return;
  }
  auto now =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now().time_since_epoch())
          .count();
  for (auto& e : events) {
    e.conv = c.conv.key;
    e.seq = c.next_seq++;
    e.offset = clock_->next(e.conv.tenant);
    e.epoch = epoch_;
    if (e.at_ms == 0) e.at_ms = now;
    if (e.kind == event_kind::message_in && !e.provider_id.empty())
      c.inflight_ids.push_back(e.provider_id);
    if ((e.kind == event_kind::message_out || e.kind == event_kind::note) && !e.client_id.empty())
      c.inflight_ids.push_back(e.client_id);
    if (e.kind == event_kind::message_status) c.inflight_ids.push_back(inflight_status(e));
  }
  ++c.issued;
  auto payload = encode_events(events);
  p.journal->append(
      store::record_type::events, payload,
      [this, &p, &c, events = std::move(events), done = std::move(done)](
          std::error_code ec, std::uint64_t lsn) mutable {
        ++c.completed;
        for (const auto& e : events) {
          if (e.kind == event_kind::message_status) {
            std::erase(c.inflight_ids, inflight_status(e));
            continue;
          }
          std::erase(c.inflight_ids, e.provider_id);
          std::erase(c.inflight_ids, e.client_id);
        }
        // The conversation's summary, taken once per state: each event's
        // "after" is the next one's "before", and the last is the answer's.
        submit_result r;
        r.after = summary_of(c.conv);
        if (!ec) {
          r.events.reserve(events.size());
          for (auto& e : events) {
            apply(c.conv, e, opts_.history_limit, opts_.ids_kept_ms);
            auto& m = p.max_offset[e.conv.tenant];
            m = std::max(m, e.offset);
            auto before = std::exchange(r.after, summary_of(c.conv));
            // The event moves into what is published: the stream and the
            // answer share it.
            const auto& published = r.events.emplace_back(std::make_shared<const published_event>(
                published_event{std::move(e), std::move(before), r.after}));
            if (bus_) bus_->publish(published->ev.conv.tenant, published);
          }
          p.applied_lsn = lsn;
          ++p.applied_records;
          appended_.fetch_add(events.size(), std::memory_order_relaxed);
        } else if (bus_) {
          for (const auto& e : events) bus_->skip(e.conv.tenant, e.offset);
        }
        // Answered retries see the same state; copied only if there are any.
        conversation_summary after = c.retries.empty() ? conversation_summary{} : r.after;
        done(ec, std::move(r));
        std::erase_if(c.retries, [&](auto& retry) {
          if (retry.first > c.completed) return false;
          submit_result dup;
          dup.duplicate = true;
          dup.after = after;
          retry.second(ec, std::move(dup));
          return true;
        });
        if (!ec) maybe_snapshot(p);
      });
}

namespace {
// For the snapshot's log lines.
std::int64_t ms(std::chrono::nanoseconds d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}
}  // namespace

// A snapshot in the making: the shard's conversations are encoded a slice
// at a time on the home thread, between other work, so a shard with millions
// of dedupe ids never stalls its requests for the whole encoding.
//
// It is a fuzzy snapshot. `lsn` is the last applied record when it started:
// everything up to it is in every conversation; a conversation encoded later
// may also hold events from after it. Recovery replays from lsn + 1 and skips
// each event whose seq the conversation already has (FORMAT.md).
struct conversation_service::snapshot_job {
  std::uint64_t lsn = 0;
  std::uint64_t records = 0;  // the shard's applied_records when it started
  std::shared_ptr<snapshot_pipe> pipe;
  std::vector<const conversation*> convs;
  std::size_t next = 0;
  std::uint64_t bytes = 0;  // encoded so far
  std::chrono::steady_clock::time_point began = std::chrono::steady_clock::now();
  std::chrono::nanoseconds encoding{0};  // the slices' own time, pauses excluded

  ~snapshot_job() {
    if (pipe && next < convs.size()) pipe->abandon();  // dropped unfinished: going away
  }
};

// Home thread.
void conversation_service::maybe_snapshot(shard_part& p) {
  // Counted from the last attempt: after a failed save (a full disk) the
  // next try waits another snapshot_every records instead of every append.
  if (p.snapshot_running || p.applied_records - p.snapshot_tried_records < opts_.snapshot_every)
    return;
  start_snapshot(p);
}

// Home thread: shard `p` is asked to snapshot because another shard saved
// one at `lsn`. The journal is shared, so a shard that applied a few records
// long ago and nothing since would keep every later segment on disk until
// it reached snapshot_every records of its own. It snapshots now if its last
// attempt is more than a round of every shard's snapshot_every records
// behind, and it has applied something since.
void conversation_service::nudge_snapshot(shard_part& p, std::uint64_t lsn) {
  const std::uint64_t round = opts_.snapshot_every * parts_.size();
  if (p.snapshot_running || p.applied_lsn == p.snapshot_tried_lsn ||
      lsn < p.snapshot_tried_lsn + round)
    return;
  log::info("snapshot asked for: the journal waits for this shard",
            {{"shard", p.shard->index}, {"lsn", p.applied_lsn}, {"other_shard_lsn", lsn}});
  start_snapshot(p);
}

void conversation_service::start_snapshot(shard_part& p) {
  p.snapshot_running = true;
  p.snapshot_tried_lsn = p.applied_lsn;
  p.snapshot_tried_records = p.applied_records;
  if (p.snapshot_thread.joinable()) p.snapshot_thread.join();  // finished: running was false
  auto job = std::make_shared<snapshot_job>();
  {
    std::shared_lock lock(p.mu);
    job->convs.reserve(p.actors.size());
    for (const auto& [name, a] : p.actors) job->convs.push_back(&a->state().conv);
  }
  job->lsn = p.applied_lsn;
  job->records = p.applied_records;
  job->pipe = p.snapshot_writing = std::make_shared<snapshot_pipe>();
  log::info("snapshot started",
            {{"shard", p.shard->index}, {"lsn", job->lsn}, {"conversations", job->convs.size()}});
  start_snapshot_writer(p, job->lsn, job->pipe);
  std::string head;
  wire::put_varint(head, p.max_offset.size());
  for (const auto& [t, o] : p.max_offset) {
    wire::put_str(head, t);
    wire::put_varint(head, o);
  }
  // Every conversation known now is written, even one with nothing applied
  // yet (seq 0), so the count is known before the first slice.
  wire::put_varint(head, job->convs.size());
  job->bytes = head.size();
  job->pipe->push(std::move(head), job->convs.empty());
  snapshot_slice(p, std::move(job));
}

// Writing, syncing and deleting the covered segments all block on the disk:
// a helper thread does them, piece by piece as the shard encodes, and tells
// the shard when done.
void conversation_service::start_snapshot_writer(shard_part& p, std::uint64_t lsn,
                                                 std::shared_ptr<snapshot_pipe> pipe) {
  p.snapshot_thread = std::thread([this, &p, store = opts_.store, lsn, pipe = std::move(pipe)] {
    runtime::name_this_thread("gw-snap-" + std::to_string(p.shard->index));
    runtime::unpin_this_thread();  // started by the shard: not on its CPU alone
    bool ok = false;
    const auto began = std::chrono::steady_clock::now();
    try {
      auto sink = store->begin_snapshot(p.shard->index, lsn);
      for (std::string piece; pipe->next(piece);) {
        sink->append(piece);
        pipe->give_back(std::move(piece));
      }
      if (pipe->complete()) {  // else abandoned: the temporary file goes with the sink
        sink->commit();
        ok = true;
      }
    } catch (const std::exception& e) {
      pipe->fail();
      snapshots_failed_.fetch_add(1, std::memory_order_relaxed);
      log::error("snapshot failed; the journal keeps everything",
                 {{"shard", p.shard->index}, {"what", e.what()}});
    }
    if (ok) {
      const auto saved = std::chrono::steady_clock::now();
      p.journal->release_through(lsn);
      snapshots_saved_.fetch_add(1, std::memory_order_relaxed);
      log::info("snapshot saved", {{"shard", p.shard->index},
                                   {"lsn", lsn},
                                   {"writing_ms", ms(saved - began)},
                                   {"releasing_ms", ms(std::chrono::steady_clock::now() - saved)}});
    }
    boost::asio::post(p.shard->ioc, [&p, lsn, ok] {
      p.snapshot_running = false;
      if (ok) p.snapshot_lsn = lsn;
    });
    if (ok)
      for (auto& other : parts_)
        if (other.get() != &p)
          boost::asio::post(other->shard->ioc,
                            [this, &o = *other, lsn] { nudge_snapshot(o, lsn); });
  });
}

namespace {

// How far along a snapshot should be by now, from 0 to 1, as PostgreSQL
// paces a checkpoint (IsCheckpointOnSchedule): by the time `spread` has
// passed, or the journal has grown by half of `every` records since the
// snapshot began, whichever comes first. The journal's half bounds what
// the spread adds to a restart's replay, however fast records arrive: at
// most half of `every` records more than a snapshot encoded at once. The
// time keeps a quiet shard's snapshot from taking days.
double snapshot_schedule(std::chrono::nanoseconds elapsed, std::chrono::milliseconds spread,
                         std::uint64_t records_since, std::uint64_t every) {
  if (spread.count() == 0) return 1.0;
  double by_time = std::chrono::duration<double>(elapsed) / spread;
  double by_records = static_cast<double>(records_since) / static_cast<double>(every / 2 + 1);
  return std::min(1.0, std::max(by_time, by_records));
}

}  // namespace

// Home thread: waits while the snapshot is ahead of its schedule, or its
// writer is behind; otherwise encodes the next slice and hands it to the
// writer.
void conversation_service::snapshot_slice(shard_part& p, std::shared_ptr<snapshot_job> job) {
  // A turn ends after ~128 KiB of output (a few hundred microseconds): a
  // conversation with thousands of dedupe ids costs as much as many small ones.
  constexpr std::size_t slice_bytes = 128 * 1024;
  // After each turn the shard's other work gets at least three times as
  // long, so a snapshot never takes more than a quarter of the shard. Run
  // back to back, the turns of a 200 MB snapshot filled both cores for most
  // of a second, and webhooks offered at half the maximum rate meanwhile
  // waited up to a quarter of a second (bench/PROFILE.md, "a snapshot inside
  // a run"); at a quarter, a snapshot that lands at that rate still cost
  // its run a p99 of 40-80 ms, so a turn that is ahead of the schedule
  // waits for it to catch up.
  constexpr int others_share = 3;
  constexpr auto recheck = std::chrono::milliseconds(20);  // ahead: look again this often
  // The writer writes ~1 MiB per 50 ms: a full pipe has room again soon.
  constexpr auto writer_recheck = std::chrono::milliseconds(10);
  auto resume_after = [this, &p](std::chrono::nanoseconds pause, std::shared_ptr<snapshot_job> j) {
    if (!p.snapshot_pause) p.snapshot_pause.emplace(p.shard->ioc);
    p.snapshot_pause->expires_after(pause);
    p.snapshot_pause->async_wait(
        [this, &p, j = std::move(j)](boost::system::error_code ec) mutable {
          if (!ec) snapshot_slice(p, std::move(j));  // cancelled: the service is going away
        });
  };
  if (job->pipe->failed()) return;  // the writer counted it and tells the shard
  auto now = std::chrono::steady_clock::now();
  double done = job->convs.empty()
                    ? 0.0
                    : static_cast<double>(job->next) / static_cast<double>(job->convs.size());
  double due = snapshot_schedule(now - job->began, opts_.snapshot_spread,
                                 p.applied_records - job->records, opts_.snapshot_every);
  if (done > due) {
    // Ahead: wait until the clock alone would make it due, or a recheck,
    // whichever is sooner (records may make it due before the clock does).
    auto catch_up = std::chrono::duration_cast<std::chrono::nanoseconds>(
        (done - due) * std::chrono::duration<double>(opts_.snapshot_spread));
    resume_after(std::min<std::chrono::nanoseconds>(catch_up, recheck), std::move(job));
    return;
  }
  if (job->pipe->full()) {
    resume_after(writer_recheck, std::move(job));
    return;
  }
  const auto started = now;
  auto piece = job->pipe->take_buffer();
  piece.reserve(slice_bytes + slice_bytes / 2);
  while (piece.size() < slice_bytes && job->next < job->convs.size())
    encode_conversation(piece, *job->convs[job->next++]);
  job->bytes += piece.size();
  const bool last = job->next == job->convs.size();
  job->pipe->push(std::move(piece), last);
  now = std::chrono::steady_clock::now();
  job->encoding += now - started;
  if (!last) {
    resume_after(others_share * (now - started), std::move(job));
    return;
  }
  log::info("snapshot encoded", {{"shard", p.shard->index},
                                 {"lsn", job->lsn},
                                 {"bytes", job->bytes},
                                 {"encoding_ms", ms(job->encoding)},
                                 {"elapsed_ms", ms(now - job->began)}});
}

}  // namespace gw::domain
