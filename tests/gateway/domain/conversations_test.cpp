#include "gateway/domain/conversations.hpp"

#include <gtest/gtest.h>

#include "gateway/domain/event_bus.hpp"
#include "gateway/store/files.hpp"
#include "tests/support/process.hpp"

#include <atomic>
#include <filesystem>
#include <future>

namespace gw::domain {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A fresh directory, removed afterwards.
struct tmpdir {
  test::temp_dir dir;
  const std::string& path = dir.path();
};

// A running core over `dir`: shards + service, recovered.
struct core {
  explicit core(const std::string& dir, std::uint64_t snapshot_every = 1'000'000) : shards(3) {
    core_options o;
    o.data_dir = dir;
    o.snapshot_every = snapshot_every;
    shards.start();
    service = std::make_unique<conversation_service>(shards, o);
    stats = service->recover();
  }
  ~core() {
    shards.stop();
    service.reset();
  }

  submit_result submit(const conversation_key& k, std::vector<event> events) {
    std::promise<std::pair<std::error_code, submit_result>> p;
    service->submit(k, std::move(events), [&](std::error_code ec, submit_result r) {
      p.set_value({ec, std::move(r)});
    });
    auto f = p.get_future();
    EXPECT_EQ(f.wait_for(10s), std::future_status::ready);
    auto [ec, r] = f.get();
    EXPECT_FALSE(ec) << ec.message();
    return r;
  }

  std::optional<conversation> get(const conversation_key& k) {
    std::promise<std::optional<conversation>> p;
    service->inspect(k, [&](const conversation* c) {
      p.set_value(c ? std::optional<conversation>(*c) : std::nullopt);
    });
    return p.get_future().get();
  }

  runtime::shard_set shards;
  std::unique_ptr<conversation_service> service;
  recovery_stats stats;
};

event inbound(std::string provider_id, std::string text) {
  event e;
  e.kind = event_kind::message_in;
  e.provider_id = std::move(provider_id);
  e.text = std::move(text);
  return e;
}

const conversation_key ana{"clinic-1", "wa", "+34600000001"};
const conversation_key ben{"clinic-1", "wa", "+34600000002"};

TEST(ConversationService, AssignsSeqOffsetEpochAndApplies) {
  tmpdir d;
  core c(d.path);
  auto r1 = c.submit(ana, {inbound("wamid.1", "hola")});
  ASSERT_EQ(r1.events.size(), 1u);
  EXPECT_FALSE(r1.duplicate);
  EXPECT_EQ(r1.events[0]->ev.seq, 1u);
  EXPECT_EQ(r1.events[0]->ev.offset, 1u);
  EXPECT_EQ(r1.events[0]->ev.epoch, c.service->epoch());
  EXPECT_GT(r1.events[0]->ev.at_ms, 0);
  EXPECT_EQ(r1.events[0]->ev.conv, ana);

  auto r2 = c.submit(ben, {inbound("wamid.2", "buenas"), inbound("wamid.3", "¿cita?")});
  EXPECT_EQ(r2.events[0]->ev.seq, 1u);  // per conversation
  EXPECT_EQ(r2.events[1]->ev.seq, 2u);
  EXPECT_EQ(r2.events[1]->ev.offset, 3u);  // per tenant, across conversations

  auto conv = c.get(ben);
  ASSERT_TRUE(conv);
  EXPECT_EQ(conv->seq, 2u);
  EXPECT_EQ(conv->messages, 2u);
  EXPECT_TRUE(conv->window_open(r2.events[1]->ev.at_ms));
  EXPECT_FALSE(c.get({"clinic-1", "wa", "+nobody"}));
}

// The answer to a submit and the tenant's stream hold the same published
// events (no copy), each with the conversation before and after it.
TEST(ConversationService, TheAnswerAndTheStreamShareEachEventWithItsSummaries) {
  tmpdir d;
  core c(d.path);
  event_bus bus;
  bus.start({});
  c.service->attach(bus);
  auto r = c.submit(ben, {inbound("wamid.2", "buenas"), inbound("wamid.3", "¿cita?")});
  ASSERT_EQ(r.events.size(), 2u);
  auto kept = bus.since("clinic-1", 0);
  ASSERT_TRUE(kept);
  ASSERT_EQ(kept->events.size(), 2u);
  EXPECT_EQ(kept->events[0], r.events[0]);
  EXPECT_EQ(kept->events[1], r.events[1]);
  EXPECT_EQ(r.events[1]->ev.text, "¿cita?");
  // Each event's "after" is the next one's "before"; the last is the answer's.
  EXPECT_FALSE(r.events[0]->before.exists);
  EXPECT_EQ(r.events[0]->after.unread, 1u);
  EXPECT_EQ(r.events[1]->before.unread, 1u);
  EXPECT_EQ(r.events[1]->after.unread, 2u);
  EXPECT_EQ(r.after.unread, 2u);
  EXPECT_EQ(r.after.seq, 2u);
}

// The core reaches storage only through the event_store interface: a store
// that wraps the journal and counts calls sees every open, replay and append.
// A service over `store` (snapshot every 10 records), recovered.
conversation_service store_backed(runtime::shard_set& shards, const std::string& data_dir,
                                  std::shared_ptr<store::event_store> store) {
  core_options o;
  o.data_dir = data_dir;
  o.store = std::move(store);
  o.snapshot_every = 10;
  return conversation_service(shards, o);
}

// Submits one inbound message and waits until it is durable.
void submit_one(conversation_service& svc, int i) {
  std::promise<void> p;
  svc.submit(ana, {inbound("w" + std::to_string(i), "x")}, [&](std::error_code ec, submit_result) {
    EXPECT_FALSE(ec);
    p.set_value();
  });
  p.get_future().wait();
}

// A snapshot sink whose appends wait while `hold` is set: a disk that stalls.
struct held_sink final : store::snapshot_sink {
  held_sink(std::unique_ptr<store::snapshot_sink> sink, const std::atomic<bool>& held)
      : inner(std::move(sink)), hold(held) {}
  void append(std::string_view piece) override {
    while (hold.load()) std::this_thread::sleep_for(1ms);
    inner->append(piece);
  }
  void commit() override { inner->commit(); }
  std::unique_ptr<store::snapshot_sink> inner;
  const std::atomic<bool>& hold;
};

struct counting_store final : store::event_store {
  counting_store(const std::string& dir, unsigned shards) : inner(dir, {}, shards) {}
  std::optional<store::loaded_snapshot> load_snapshot(unsigned shard) override {
    return inner.load_snapshot(shard);
  }
  std::unique_ptr<store::snapshot_sink> begin_snapshot(unsigned shard, std::uint64_t lsn) override {
    ++saves;
    if (fail_saves) throw std::runtime_error("no space left on device");
    return std::make_unique<held_sink>(inner.begin_snapshot(shard, lsn), hold_writes);
  }
  store::recovery_result replay(std::span<const std::uint64_t> from,
                                const store::segment_fn& fn) override {
    ++replays;
    return inner.replay(from, fn);
  }
  std::vector<std::unique_ptr<store::shard_log>> open(std::vector<boost::asio::io_context*> homes,
                                                      const store::recovery_result& from) override {
    ++opens;
    return inner.open(std::move(homes), from);
  }
  store::journal_store inner;
  std::atomic<int> saves{0}, replays{0}, opens{0};
  std::atomic<bool> fail_saves{false};
  std::atomic<bool> hold_writes{false};  // snapshot appends wait while set
};

// A snapshot that cannot be saved (full disk) leaves the journal whole and
// is retried after another snapshot_every records, not after every append.
TEST(ConversationService, FailedSnapshotsAreRetriedAtTheNormalPace) {
  tmpdir d;
  auto failing = std::make_shared<counting_store>(d.path + "/store", 1);
  failing->fail_saves = true;
  runtime::shard_set shards(1);
  shards.start();
  {
    auto svc = store_backed(shards, d.path, failing);
    svc.recover();
    for (int i = 0; i < 60; ++i) {
      submit_one(svc, i);
      std::this_thread::sleep_for(1ms);  // let a failed attempt finish
    }
    EXPECT_TRUE(svc.healthy());
    // Counted for /metrics once the helper thread is done with each attempt.
    for (int i = 0; i < 200 && svc.snapshots_failed() < std::uint64_t(failing->saves.load()); ++i)
      std::this_thread::sleep_for(5ms);
    EXPECT_EQ(svc.snapshots_failed(), std::uint64_t(failing->saves.load()));
    EXPECT_EQ(svc.snapshots_saved(), 0u);
    shards.stop();
  }
  EXPECT_GE(failing->saves.load(), 1);
  EXPECT_LE(failing->saves.load(), 6);
  // Everything is still in the journal.
  runtime::shard_set again(1);
  again.start();
  core_options o;
  o.data_dir = d.path;
  o.store = std::make_shared<counting_store>(d.path + "/store", 1);
  conversation_service svc(again, o);
  EXPECT_EQ(svc.recover().events, 60u);
  again.stop();
}

// Writes `n` inbound messages of 600 bytes, numbered from `from`, over 200
// conversations, and waits until all are durable.
void fill(conversation_service& svc, int from, int n) {
  std::atomic<int> left{n};
  std::promise<void> all;
  for (int i = from; i < from + n; ++i) {
    conversation_key k{"clinic-1", "wa", "+346" + std::to_string(i % 200)};
    svc.submit(k, {inbound("w" + std::to_string(i), std::string(600, 'a' + i % 26))},
               [&](std::error_code ec, submit_result) {
                 EXPECT_FALSE(ec);
                 if (--left == 0) all.set_value();
               });
  }
  all.get_future().wait();
}

// Whether `saves` snapshots are in place (written and committed) by `limit`.
bool saved_within(const conversation_service& svc, std::uint64_t saves,
                  std::chrono::milliseconds limit) {
  for (auto until = std::chrono::steady_clock::now() + limit;
       std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(5ms))
    if (svc.snapshots_saved() >= saves) return true;
  return svc.snapshots_saved() >= saves;
}

// One shard over a counting store, a snapshot every 2,000 records (~1.3 MB
// of history by then: ten slices), its encoding spread over `spread`.
struct paced_snapshots {
  explicit paced_snapshots(std::chrono::milliseconds spread) : shards(1) {
    shards.start();
    core_options o;
    o.data_dir = d.path;
    o.store = store;
    o.snapshot_every = 2000;
    o.snapshot_spread = spread;
    svc.emplace(shards, o);
    svc->recover();
  }
  ~paced_snapshots() { shards.stop(); }

  tmpdir d;
  std::shared_ptr<counting_store> store = std::make_shared<counting_store>(d.path + "/store", 1);
  runtime::shard_set shards;
  std::optional<conversation_service> svc;
};

// A snapshot of many slices is spread over snapshot_spread, as a checkpoint
// is, instead of taking a quarter of its shard until it is done.
TEST(ConversationService, ASnapshotIsSpreadOverItsSchedule) {
  paced_snapshots rig(1500ms);
  fill(*rig.svc, 0, 2000);
  // At a quarter of the shard the ten slices take a few milliseconds.
  EXPECT_FALSE(saved_within(*rig.svc, 1, 400ms));
  EXPECT_TRUE(saved_within(*rig.svc, 1, 20s));
  EXPECT_EQ(rig.svc->snapshots_saved(), 1u);
  EXPECT_EQ(rig.store->saves.load(), 1);
  EXPECT_EQ(rig.svc->snapshots_failed(), 0u);
}

// ...but never longer than the journal takes to grow by half of
// snapshot_every, however long the spread: the encoding never trails the
// journal by more than that.
TEST(ConversationService, ASnapshotKeepsUpWithTheJournal) {
  paced_snapshots rig(std::chrono::hours(1));
  fill(*rig.svc, 0, 2000);
  EXPECT_FALSE(saved_within(*rig.svc, 1, 300ms));
  fill(*rig.svc, 2000, 1001);
  EXPECT_TRUE(saved_within(*rig.svc, 1, 20s));
}

// A snapshot is written while it is encoded, the writer a few slices behind
// at most. A writer held up by the disk holds the encoding back, never the
// shard's requests; once the disk is back, what it wrote is a whole
// snapshot that a restart starts from.
TEST(ConversationService, AStalledSnapshotWriterHoldsBackTheEncodingNotTheShard) {
  paced_snapshots rig(0ms);  // no spread: encoded as fast as a quarter of the shard allows
  rig.store->hold_writes = true;
  fill(*rig.svc, 0, 2000);  // the snapshot starts with the 2,000th record
  fill(*rig.svc, 2000, 500);
  EXPECT_FALSE(saved_within(*rig.svc, 1, 300ms));
  rig.store->hold_writes = false;
  EXPECT_TRUE(saved_within(*rig.svc, 1, 20s));
  EXPECT_EQ(rig.svc->snapshots_failed(), 0u);
  rig.shards.stop();
  rig.svc.reset();

  runtime::shard_set again(1);
  again.start();
  core_options o;
  o.data_dir = rig.d.path;
  o.store = std::make_shared<counting_store>(rig.d.path + "/store", 1);
  conversation_service svc(again, o);
  auto stats = svc.recover();
  EXPECT_TRUE(stats.from_snapshot);
  EXPECT_LT(stats.events, 2500u);  // only the tail after the snapshot was replayed
  EXPECT_EQ(stats.conversations, 200u);
  std::uint32_t total = 0;
  for (int i = 0; i < 200; ++i) {
    std::promise<std::uint32_t> messages;
    svc.inspect({"clinic-1", "wa", "+346" + std::to_string(i)},
                [&](const conversation* c) { messages.set_value(c ? c->messages : 0); });
    total += messages.get_future().get();
  }
  EXPECT_EQ(total, 2500u);
  again.stop();
}

TEST(ConversationService, UsesOnlyTheStoreInterface) {
  tmpdir d;
  auto counting = std::make_shared<counting_store>(d.path + "/elsewhere", 2);
  runtime::shard_set shards(2);
  shards.start();
  {
    auto svc = store_backed(shards, d.path, counting);
    svc.recover();
    EXPECT_EQ(counting->replays.load(), 1);
    EXPECT_EQ(counting->opens.load(), 1);
    for (int i = 0; i < 40; ++i) submit_one(svc, i);
    shards.stop();
  }
  EXPECT_GE(counting->saves.load(), 1);
  // Nothing was written beside the store's own directory except the epoch.
  EXPECT_FALSE(fs::exists(d.path + "/events"));
  EXPECT_TRUE(fs::exists(d.path + "/elsewhere/events/shard-0"));
}

// The shards share one journal. A shard that applied a record long ago and
// nothing since would keep every later segment on disk; when another shard
// saves a snapshot it is asked for one of its own, and the segments go.
TEST(ConversationService, AQuietShardDoesNotHoldTheSharedJournalBack) {
  tmpdir d;
  auto on_shard = [](unsigned shard, int from) {
    for (int i = from;; ++i) {
      conversation_key k{"clinic-1", "wa", "+34" + std::to_string(i)};
      if (home_shard(k, 2) == shard) return k;
    }
  };
  const auto quiet = on_shard(1, 0);
  std::vector<conversation_key> busy;
  for (int i = 0; busy.size() < 50; i = std::stoi(busy.back().address.substr(3)) + 1)
    busy.push_back(on_shard(0, i));
  auto submit = [](conversation_service& svc, const conversation_key& k, int i) {
    std::promise<void> done;
    svc.submit(k, {inbound("w" + std::to_string(i), std::string(2000, 'x'))},
               [&](std::error_code ec, submit_result) {
                 EXPECT_FALSE(ec);
                 done.set_value();
               });
    done.get_future().wait();
  };
  auto segments = [&] { return store::numbered_files(d.path + "/events", "seg-", ".wal"); };
  // The quiet shard's record is the journal's first: it is in the first segment.
  auto first_segment_kept = [&] { return !segments().empty() && segments().front().first == 1; };
  runtime::shard_set shards(2);
  shards.start();
  core_options o;
  o.data_dir = d.path;
  o.snapshot_every = 200;
  o.snapshot_spread = 0ms;
  o.segment_bytes = 1024 * 1024;
  {
    conversation_service svc(shards, o);
    svc.recover();
    submit(svc, quiet, 0);
    for (int i = 1; i <= 3000; ++i) submit(svc, busy[i % busy.size()], i);  // ~6 MB
    ASSERT_GT(segments().back().first, 1u) << "the records fill several segments";
    for (int i = 0; i < 800 && first_segment_kept(); ++i) std::this_thread::sleep_for(25ms);
    EXPECT_FALSE(first_segment_kept()) << "the quiet shard's record still holds the journal";
    EXPECT_GE(svc.snapshots_saved(), 2u);
    shards.stop();
  }
  runtime::shard_set again(2);
  again.start();
  conversation_service svc(again, o);
  auto stats = svc.recover();
  EXPECT_TRUE(stats.from_snapshot);
  std::promise<std::uint32_t> messages;
  svc.inspect(quiet, [&](const conversation* c) { messages.set_value(c ? c->messages : 0); });
  EXPECT_EQ(messages.get_future().get(), 1u) << "the quiet shard's message survived the release";
  again.stop();
}

TEST(ConversationService, RefusesADataDirWrittenWithAnotherShardCount) {
  tmpdir d;
  { core c(d.path); }  // three shards
  runtime::shard_set two(2);
  core_options o;
  o.data_dir = d.path;
  try {
    conversation_service svc(two, o);
    ADD_FAILURE() << "expected a refusal";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("--threads 3"), std::string::npos) << e.what();
  }
}

TEST(ConversationService, SubmitBeforeRecoveryIsRefusedNotLost) {
  tmpdir d;
  runtime::shard_set shards(2);
  shards.start();
  core_options o;
  o.data_dir = d.path;
  conversation_service svc(shards, o);
  std::promise<std::error_code> p;
  svc.submit(ana, {inbound("w", "x")}, [&](std::error_code ec, submit_result) { p.set_value(ec); });
  EXPECT_EQ(p.get_future().get(), std::errc::resource_unavailable_try_again);
  shards.stop();
}

TEST(ConversationService, ProviderAndClientRetriesAreDroppedOnce) {
  tmpdir d;
  core c(d.path);
  c.submit(ana, {inbound("wamid.A", "x")});
  auto again = c.submit(ana, {inbound("wamid.A", "x")});
  EXPECT_TRUE(again.duplicate);
  EXPECT_TRUE(again.events.empty());
  // A batch with one old and one new id stores only the new one.
  auto mixed = c.submit(ana, {inbound("wamid.A", "x"), inbound("wamid.B", "y")});
  EXPECT_FALSE(mixed.duplicate);
  ASSERT_EQ(mixed.events.size(), 1u);
  EXPECT_EQ(mixed.events[0]->ev.provider_id, "wamid.B");

  event out;
  out.kind = event_kind::message_out;
  out.client_id = "cmd-9";
  out.author = "agent-1";
  out.text = "le confirmamos la cita";
  EXPECT_FALSE(c.submit(ana, {out}).duplicate);
  EXPECT_TRUE(c.submit(ana, {out}).duplicate);
  EXPECT_EQ(c.get(ana)->messages, 3u);
}

// Retries arriving while the original is still being written: all submits
// are queued before any completes; exactly one stores, and the retries are
// answered only after it is durable.
TEST(ConversationService, ConcurrentRetriesWaitForTheOriginal) {
  tmpdir d;
  core c(d.path);
  std::vector<std::future<std::pair<std::error_code, submit_result>>> futures;
  std::vector<std::promise<std::pair<std::error_code, submit_result>>> promises(20);
  for (auto& p : promises) {
    futures.push_back(p.get_future());
    c.service->submit(ana, {inbound("wamid.same", "x")}, [&p](std::error_code ec, submit_result r) {
      p.set_value({ec, std::move(r)});
    });
  }
  int stored = 0;
  for (auto& f : futures) {
    ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
    auto [ec, r] = f.get();
    EXPECT_FALSE(ec);
    stored += r.duplicate ? 0 : 1;
    // Retries answered with the original (or after it) see the state it made.
    EXPECT_EQ(r.after.seq, 1u);
    EXPECT_EQ(r.after.unread, 1u);
  }
  EXPECT_EQ(stored, 1);
  EXPECT_EQ(c.get(ana)->messages, 1u);
}

TEST(ConversationService, RestartRecoversStateOffsetsAndIdempotency) {
  tmpdir d;
  std::uint64_t epoch;
  {
    core c(d.path);
    epoch = c.service->epoch();
    c.submit(ana, {inbound("wamid.1", "a")});
    event close;
    close.kind = event_kind::state_change;
    close.value = "closed";
    close.author = "agent-2";
    c.submit(ana, {close});
    c.submit(ben, {inbound("wamid.2", "b")});
  }
  core c(d.path);
  EXPECT_EQ(c.service->epoch(), epoch);
  EXPECT_EQ(c.stats.events, 3u);
  EXPECT_EQ(c.stats.conversations, 2u);
  auto a = c.get(ana);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->closed);
  EXPECT_EQ(a->participants, std::vector<std::string>{"agent-2"});
  EXPECT_TRUE(c.submit(ana, {inbound("wamid.1", "a")}).duplicate);  // still known
  auto next = c.submit(ana, {inbound("wamid.3", "c")});
  EXPECT_EQ(next.events[0]->ev.seq, 3u);     // continues the conversation
  EXPECT_EQ(next.events[0]->ev.offset, 4u);  // continues the tenant
  EXPECT_FALSE(c.get(ana)->closed);          // the patient wrote: reopened
}

TEST(ConversationService, SnapshotsBoundReplayAndKeepEverything) {
  tmpdir d;
  {
    core c(d.path, /*snapshot_every=*/300);  // per shard: ~833 records each
    for (int i = 0; i < 2500; ++i)
      c.submit({"clinic-1", "wa", "+34" + std::to_string(i % 50)},
               {inbound("w" + std::to_string(i), "m")});
    // Let the snapshot writer finish.
    std::this_thread::sleep_for(200ms);
  }
  core c(d.path, 300);
  EXPECT_TRUE(c.stats.from_snapshot);
  EXPECT_LT(c.stats.events, 2500u);  // only the tail after the snapshot was replayed
  EXPECT_EQ(c.stats.conversations, 50u);
  std::uint32_t total = 0;
  for (int i = 0; i < 50; ++i)
    total += c.get({"clinic-1", "wa", "+34" + std::to_string(i)})->messages;
  EXPECT_EQ(total, 2500u);
  EXPECT_TRUE(c.submit({"clinic-1", "wa", "+340"}, {inbound("w0", "m")}).duplicate);
  auto next = c.submit({"clinic-1", "wa", "+340"}, {inbound("w-new", "m")});
  EXPECT_EQ(next.events[0]->ev.offset, 2501u);
  EXPECT_EQ(next.events[0]->ev.seq, 51u);
}

event status(std::string provider_id, std::string value, std::string detail = {}) {
  event e;
  e.kind = event_kind::message_status;
  e.provider_id = std::move(provider_id);
  e.value = std::move(value);
  e.detail = std::move(detail);
  return e;
}

TEST(ConversationService, StatusesThatChangeNothingAreNotStoredAndSurviveRestart) {
  tmpdir d;
  {
    core c(d.path);
    EXPECT_EQ(c.submit(ana, {status("wamid.O1", "read")}).events.size(), 1u);
    // A provider retry and a late, lower status: answered, not stored.
    auto again = c.submit(ana, {status("wamid.O1", "read"), status("wamid.O1", "delivered")});
    EXPECT_TRUE(again.events.empty());
    EXPECT_TRUE(again.duplicate);
    EXPECT_TRUE(c.submit(ana, {status("wamid.O1", "queued")}).duplicate);  // carries no state
    auto failed = c.submit(ana, {status("SM9", "failed", "30003: Unreachable")});
    EXPECT_EQ(failed.events.size(), 1u);
    EXPECT_EQ(c.get(ana)->seq, 2u);
  }
  core c(d.path);
  auto conv = c.get(ana);
  ASSERT_TRUE(conv);
  EXPECT_EQ(conv->clinic->deliveries.at("wamid.O1").status, "read");
  EXPECT_EQ(conv->clinic->deliveries.at("SM9").detail, "30003: Unreachable");
  EXPECT_TRUE(c.submit(ana, {status("SM9", "delivered")}).duplicate);
  // The outbound message appears later: it finds its status waiting.
  event out;
  out.kind = event_kind::message_out;
  out.message_id = "m-42";
  out.provider_id = "wamid.O1";
  c.submit(ana, {out});
  EXPECT_EQ(c.get(ana)->clinic->deliveries.at("wamid.O1").message_id, "m-42");
  EXPECT_EQ(c.get(ana)->clinic->deliveries.at("wamid.O1").status, "read");
}

// A provider may repeat itself within one request too: the same message
// twice, the same status twice, a lower status after a higher one. Each is
// stored once; a status that advances on the batch's own is stored.
TEST(ConversationService, RepeatsWithinOneBatchAreStoredOnce) {
  tmpdir d;
  core c(d.path);
  auto r = c.submit(
      ana, {inbound("wamid.R", "x"), inbound("wamid.S", "y"), inbound("wamid.R", "x"),
            status("wamid.O", "delivered"), status("wamid.O", "delivered"),
            status("wamid.O", "sent"), status("wamid.O", "read"), status("wamid.O", "delivered")});
  ASSERT_EQ(r.events.size(), 4u);
  EXPECT_EQ(r.events[0]->ev.provider_id, "wamid.R");
  EXPECT_EQ(r.events[1]->ev.provider_id, "wamid.S");
  EXPECT_EQ(r.events[2]->ev.value, "delivered");
  EXPECT_EQ(r.events[3]->ev.value, "read");
  auto conv = c.get(ana);
  EXPECT_EQ(conv->messages, 2u);
  EXPECT_EQ(conv->seq, 4u);
  EXPECT_EQ(conv->clinic->deliveries.at("wamid.O").status, "read");

  event out;  // agents' commands repeated in one batch: once as well
  out.kind = event_kind::note;
  out.client_id = "cmd-1";
  out.author = "agent-1";
  out.text = "llamar mañana";
  EXPECT_EQ(c.submit(ben, {out, out}).events.size(), 1u);
}

// A status retried while the original is being written is a duplicate too;
// the outbound path's own record of it (naming our message) never is.
TEST(ConversationService, ConcurrentStatusRetriesStoreOnce) {
  tmpdir d;
  core c(d.path);
  std::vector<std::promise<submit_result>> promises(10);
  std::vector<std::future<submit_result>> futures;
  for (auto& p : promises) {
    futures.push_back(p.get_future());
    c.service->submit(ana, {status("wamid.C", "delivered")},
                      [&p](std::error_code, submit_result r) { p.set_value(std::move(r)); });
  }
  event linked = status("wamid.C", "delivered");
  linked.message_id = "m-7";
  std::promise<submit_result> lp;
  c.service->submit(ana, {linked},
                    [&lp](std::error_code, submit_result r) { lp.set_value(std::move(r)); });
  std::size_t stored = 0;
  for (auto& f : futures) {
    ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
    stored += f.get().events.size();
  }
  EXPECT_EQ(stored, 1u);
  auto lf = lp.get_future();
  ASSERT_EQ(lf.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(lf.get().events.size(), 1u);
  auto conv = c.get(ana);
  EXPECT_EQ(conv->seq, 2u);
  EXPECT_EQ(conv->clinic->deliveries.at("wamid.C").message_id, "m-7");
  // Once durable, the same status again is known from the state itself.
  EXPECT_TRUE(c.submit(ana, {status("wamid.C", "delivered")}).duplicate);
}

// Snapshots are encoded a slice at a time while submits keep landing, so a
// conversation may hold events from after the snapshot's LSN; replay must
// skip those, never apply them twice.
TEST(ConversationService, FuzzySnapshotsUnderConcurrentSubmitsReplayExactlyOnce) {
  tmpdir d;
  constexpr int conversations = 3000, events = 30000;
  auto key = [](int i) { return conversation_key{"clinic-1", "wa", "+1" + std::to_string(i)}; };
  {
    core c(d.path, /*snapshot_every=*/2000);
    std::atomic<int> done{0}, failed{0};
    for (int i = 0; i < events; ++i) {
      while (i - done.load() > 512) std::this_thread::yield();
      c.service->submit(key(i % conversations), {inbound("w" + std::to_string(i), "m")},
                        [&](std::error_code ec, submit_result) {
                          if (ec) ++failed;
                          ++done;
                        });
    }
    while (done.load() < events) std::this_thread::sleep_for(1ms);
    EXPECT_EQ(failed.load(), 0);
    std::this_thread::sleep_for(300ms);  // let the last snapshot be written
  }
  core c(d.path, 2000);
  EXPECT_TRUE(c.stats.from_snapshot);
  EXPECT_LT(c.stats.events, static_cast<std::size_t>(events));
  long total = 0;
  for (int i = 0; i < conversations; ++i) {
    auto conv = c.get(key(i));
    ASSERT_TRUE(conv) << i;
    ASSERT_EQ(conv->messages, static_cast<std::uint32_t>(events / conversations)) << i;
    ASSERT_EQ(conv->seq, conv->messages) << i;
    total += conv->messages;
  }
  EXPECT_EQ(total, events);
  EXPECT_TRUE(c.submit(key(7), {inbound("w7", "m")}).duplicate);
}

}  // namespace
}  // namespace gw::domain
