// One journal, several streams: the shards' records in one LSN sequence and
// one group commit, each stream completed on its own home; segments kept
// while any stream needs them; and the event store over it, including the
// version 1 layout (a journal per shard) it migrates from.
#include <gtest/gtest.h>

#include <array>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <filesystem>
#include <set>
#include <thread>

#include "gateway/store/crc32c.hpp"
#include "gateway/store/event_store.hpp"
#include "gateway/store/files.hpp"
#include "gateway/store/journal.hpp"
#include "tests/support/process.hpp"

namespace gw::store {
namespace {

namespace fs = std::filesystem;

// Every record of the journal in `dir` of `streams` streams, from[s] on:
// (stream, lsn, payload).
struct replayed {
  std::uint32_t stream;
  std::uint64_t lsn;
  std::string payload;
  bool operator==(const replayed&) const = default;
};
std::vector<replayed> replay_all(const std::string& dir, std::vector<std::uint64_t> from,
                                 recovery_result* out = nullptr) {
  std::vector<replayed> got;
  auto r = recover_journal(dir, from, [&](std::span<const record_view> records) {
    for (const auto& rec : records) got.push_back({rec.stream, rec.lsn, std::string(rec.payload)});
  });
  if (out) *out = r;
  return got;
}

// A home io_context on a thread of its own.
struct home {
  boost::asio::io_context ioc;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work =
      boost::asio::make_work_guard(ioc);
  std::thread thread{[this] { ioc.run(); }};
  ~home() {
    work.reset();
    thread.join();
  }
};

TEST(SharedJournal, StreamsShareOneSequenceAndEachCompletesOnItsHome) {
  test::temp_dir d;
  constexpr int per_stream = 2000;
  // Per stream: each touched by that stream's home only.
  std::array<std::vector<std::uint64_t>, 2> acked;  // in completion order
  std::array<std::vector<std::string>, 2> sent;
  for (std::uint32_t s = 0; s < 2; ++s)
    for (int i = 0; i < per_stream; ++i)
      sent[s].push_back(std::to_string(s) + ":" + std::to_string(i));
  std::uint64_t syncs = 0;
  {
    home a, b;
    journal_options o;
    o.dir = d.path();
    o.streams = 2;
    journal j({&a.ioc, &b.ioc}, o, {});
    std::atomic<int> left{2 * per_stream};
    std::atomic<bool> wrong_thread{false};
    for (std::uint32_t s = 0; s < 2; ++s) {
      auto& h = s == 0 ? a : b;
      // Both streams append at once, each from its own home.
      boost::asio::post(h.ioc, [&, s, &h = h] {
        for (const auto& p : sent[s])
          j.append(s, record_type::events, p, [&, s](std::error_code ec, std::uint64_t lsn) {
            EXPECT_FALSE(ec);
            if (std::this_thread::get_id() != h.thread.get_id()) wrong_thread = true;
            acked[s].push_back(lsn);
            --left;
          });
      });
    }
    while (left.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_FALSE(wrong_thread) << "a completion ran on the other stream's home";
    syncs = j.syncs();
  }
  EXPECT_LT(syncs, 2u * per_stream) << "the streams' appends share syncs";
  std::set<std::uint64_t> all;
  for (std::uint32_t s = 0; s < 2; ++s) {
    const auto& lsns = acked[s];
    ASSERT_EQ(lsns.size(), std::size_t{per_stream});
    EXPECT_TRUE(std::is_sorted(lsns.begin(), lsns.end())) << "stream " << s << " out of order";
    all.insert(lsns.begin(), lsns.end());
  }
  EXPECT_EQ(all.size(), 2u * per_stream) << "one sequence: no LSN handed out twice";
  EXPECT_EQ(*all.rbegin(), 2u * per_stream) << "and none skipped";

  recovery_result r;
  auto got = replay_all(d.path(), {1, 1}, &r);
  ASSERT_EQ(got.size(), 2u * per_stream);
  std::array<std::vector<std::string>, 2> back;
  for (const auto& rec : got) back.at(rec.stream).push_back(rec.payload);
  EXPECT_EQ(back, sent);
  EXPECT_EQ(r.next_lsn, 2u * per_stream + 1);
  EXPECT_EQ(r.last_lsn, (std::vector<std::uint64_t>{acked[0].back(), acked[1].back()}));
}

// Appends `payload` to `stream` and waits for it; returns its lsn.
std::uint64_t append_one(journal& j, boost::asio::io_context& ioc, std::uint32_t stream,
                         const std::string& payload) {
  std::uint64_t lsn = 0;
  j.append(stream, record_type::events, payload, [&](std::error_code ec, std::uint64_t l) {
    EXPECT_FALSE(ec);
    lsn = l;
  });
  while (lsn == 0) ioc.run_one();
  return lsn;
}

std::size_t segments_in(const std::string& dir) {
  return numbered_files(dir, "seg-", ".wal").size();
}

// A journal of `streams` streams in `dir` whose segments fill after ten
// records of 100 kB.
journal_options small_segments(const std::string& dir, std::uint32_t streams) {
  journal_options o;
  o.dir = dir;
  o.streams = streams;
  o.segment_bytes = 1024 * 1024;
  return o;
}

TEST(SharedJournal, ASegmentIsReleasedOnlyWhenNoStreamNeedsIt) {
  test::temp_dir d;
  boost::asio::io_context ioc;
  auto work = boost::asio::make_work_guard(ioc);
  auto o = small_segments(d.path(), 3);  // stream 2 never writes: it holds nothing back
  std::uint64_t lone = 0, last = 0;
  {
    journal j({&ioc, &ioc, &ioc}, o, {});
    lone = append_one(j, ioc, 1, "stream 1's only record");
    for (int i = 0; i < 30; ++i) last = append_one(j, ioc, 0, std::string(100'000, 'a'));
    auto before = segments_in(d.path());
    ASSERT_GE(before, 3u);
    j.release_through(0, last);
    EXPECT_EQ(segments_in(d.path()), before) << "stream 1 still needs the first segment";
    j.release_through(1, lone);
    EXPECT_EQ(segments_in(d.path()), 1u) << "all but the segment being written";
  }
  // Recovery needs each stream's records from its snapshot on: stream 1's
  // record is gone, so asking for it is an error, not a silent hole.
  EXPECT_THROW(replay_all(d.path(), {last + 1, 1, 1}), std::runtime_error);
  EXPECT_THROW(replay_all(d.path(), {1, lone + 1, 1}), std::runtime_error);
  EXPECT_TRUE(replay_all(d.path(), {last + 1, lone + 1, 1}).empty());
  EXPECT_EQ(replay_all(d.path(), {last, lone + 1, 1}).size(), 1u) << "the last record is kept";
}

// At start-up, what the snapshots cover is known before any new snapshot:
// the next release removes what every stream's snapshot covers.
TEST(SharedJournal, CoverageFromStartUpCountsForTheNextRelease) {
  test::temp_dir d;
  boost::asio::io_context ioc;
  auto work = boost::asio::make_work_guard(ioc);
  auto o = small_segments(d.path(), 2);
  std::uint64_t last1 = 0, last0 = 0;
  {
    journal j({&ioc, &ioc}, o, {});
    for (int i = 0; i < 15; ++i) {
      last1 = append_one(j, ioc, 1, std::string(100'000, 'b'));
      last0 = append_one(j, ioc, 0, std::string(100'000, 'a'));
    }
  }
  auto before = segments_in(d.path());
  ASSERT_GE(before, 3u);
  recovery_result from;
  replay_all(d.path(), {1, 1}, &from);
  journal j({&ioc, &ioc}, o, from);
  j.set_covered(1, last1);
  EXPECT_EQ(segments_in(d.path()), before) << "set_covered removes nothing";
  j.release_through(0, last0);
  EXPECT_EQ(segments_in(d.path()), 1u);
}

// A segment of format version 1, as a gateway before the shared journal
// wrote into data_dir/shard-N/: records `first`..`last`, payloads "v1-<lsn>".
void write_v1_segment(const std::string& dir, std::uint64_t first, std::uint64_t last) {
  fs::create_directories(dir);
  std::string bytes = "GWJOURNL";
  put_le<std::uint32_t>(bytes, 1);
  put_le<std::uint32_t>(bytes, 0);
  put_le<std::uint64_t>(bytes, first);
  put_le<std::uint32_t>(bytes, crc32c(0, bytes.data(), 24));
  put_le<std::uint32_t>(bytes, 0);
  for (auto lsn = first; lsn <= last; ++lsn)
    encode_record(bytes, lsn, record_type::events, "v1-" + std::to_string(lsn));
  write_file_atomically(dir, segment_name(first), {bytes});
}

void save_snapshot(snapshot_sink&& sink, std::string_view payload) {
  sink.append(payload);
  sink.commit();
}

TEST(JournalStore, MigratesAVersionOneDirectoryAtItsFirstSnapshot) {
  test::temp_dir d;
  const auto data = d.path();
  // Shard 1 in the old layout: a snapshot as of its record 2, records 1-4.
  write_v1_segment(data + "/shard-1", 1, 4);
  save_snapshot(snapshot_file(data + "/shard-1", 1, 2), "old state");

  boost::asio::io_context ioc;
  auto work = boost::asio::make_work_guard(ioc);
  auto start = [&](journal_store& store, std::vector<replayed>& got) {
    std::vector<std::uint64_t> from;
    for (unsigned s = 0; s < 2; ++s) {
      auto snap = store.load_snapshot(s);
      from.push_back(snap ? snap->lsn + 1 : 1);
    }
    auto r = store.replay(from, [&](std::span<const record_view> records) {
      for (const auto& rec : records)
        got.push_back({rec.stream, rec.lsn, std::string(rec.payload)});
    });
    return store.open({&ioc, &ioc}, r);
  };
  std::uint64_t new_lsn = 0;
  {
    journal_store store(data, {}, 2);
    auto snap = store.load_snapshot(1);
    ASSERT_TRUE(snap);
    EXPECT_EQ(snap->payload, "old state");
    EXPECT_EQ(snap->lsn, 0u) << "it covers nothing of the shared journal";
    std::vector<replayed> got;
    auto logs = start(store, got);
    // The old records after the old snapshot, as shard 1's, before anything else.
    EXPECT_EQ(got, (std::vector<replayed>{{1, 0, "v1-3"}, {1, 0, "v1-4"}}));
    logs[1]->append(record_type::events, "new", [&](std::error_code ec, std::uint64_t lsn) {
      EXPECT_FALSE(ec);
      new_lsn = lsn;
    });
    while (new_lsn == 0) ioc.run_one();
  }
  {  // Restarted before shard 1's first snapshot: the old directory still counts.
    journal_store store(data, {}, 2);
    std::vector<replayed> got;
    auto logs = start(store, got);
    EXPECT_EQ(got, (std::vector<replayed>{{1, 0, "v1-3"}, {1, 0, "v1-4"}, {1, new_lsn, "new"}}));
    save_snapshot(std::move(*store.begin_snapshot(1, new_lsn)), "new state");
    ASSERT_TRUE(fs::exists(data + "/shard-1"));
    logs[1]->release_through(new_lsn);
    EXPECT_FALSE(fs::exists(data + "/shard-1")) << "covered by the new snapshot";
  }
  {
    journal_store store(data, {}, 2);
    std::vector<replayed> got;
    auto logs = start(store, got);
    EXPECT_TRUE(got.empty());
    EXPECT_EQ(store.load_snapshot(1)->payload, "new state");
  }
}

// A crash after the first snapshot in events/ but before the old directory
// was gone: the old directory is not read again, and is removed.
TEST(JournalStore, AnOldDirectoryLeftBesideANewSnapshotIsNotReplayed) {
  test::temp_dir d;
  const auto data = d.path();
  journal_store store(data, {}, 1);
  save_snapshot(snapshot_file(store.snapshot_dir(0), 0, 7), "new state");
  write_v1_segment(data + "/shard-0", 1, 3);
  auto snap = store.load_snapshot(0);
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->payload, "new state");
  EXPECT_FALSE(fs::exists(data + "/shard-0"));
  std::size_t records = 0;
  const std::uint64_t from[] = {8};
  store.replay(from, [&](std::span<const record_view> r) { records += r.size(); });
  EXPECT_EQ(records, 0u);
}

}  // namespace
}  // namespace gw::store
