#include "gateway/store/journal.hpp"

#include <gtest/gtest.h>

#include "gateway/store/files.hpp"
#include "tests/support/process.hpp"

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

namespace gw::store {
namespace {

namespace fs = std::filesystem;

// A fresh directory, removed afterwards.
struct tmpdir {
  test::temp_dir dir;
  const std::string& path = dir.path();
};

std::vector<std::string> replay(const std::string& dir, recovery_result* out = nullptr,
                                std::uint64_t from = 1) {
  std::vector<std::string> got;
  auto r = recover_journal(dir, from, [&](const record_view& v) { got.emplace_back(v.payload); });
  if (out) *out = r;
  return got;
}

// Appends `payloads` and runs the io_context until every completion ran.
std::vector<std::pair<std::error_code, std::uint64_t>> append_all(
    const std::string& dir, const std::vector<std::string>& payloads, journal_options o = {}) {
  boost::asio::io_context ioc;
  auto work = boost::asio::make_work_guard(ioc);  // completions arrive from the syncer
  o.dir = dir;
  recovery_result from = recover_journal(dir, 1, [](const record_view&) {});
  std::vector<std::pair<std::error_code, std::uint64_t>> acks;
  {
    journal j(ioc, o, from);
    for (const auto& p : payloads)
      j.append(record_type::events, p,
               [&](std::error_code ec, std::uint64_t lsn) { acks.emplace_back(ec, lsn); });
    while (acks.size() < payloads.size()) ioc.run_one();
  }
  return acks;
}

TEST(Journal, AppendsAreAcknowledgedInOrderAndRecovered) {
  tmpdir d;
  std::vector<std::string> payloads;
  for (int i = 0; i < 1000; ++i) payloads.push_back("event-" + std::to_string(i));
  auto acks = append_all(d.path, payloads);
  ASSERT_EQ(acks.size(), 1000u);
  for (std::size_t i = 0; i < acks.size(); ++i) {
    EXPECT_FALSE(acks[i].first);
    EXPECT_EQ(acks[i].second, i + 1);
  }
  recovery_result r;
  EXPECT_EQ(replay(d.path, &r), payloads);
  EXPECT_EQ(r.next_lsn, 1001u);
  EXPECT_EQ(r.dropped_bytes, 0u);

  // A second run continues the sequence in the same journal.
  auto more = append_all(d.path, {"a", "b"});
  EXPECT_EQ(more.back().second, 1002u);
  auto all = replay(d.path);
  ASSERT_EQ(all.size(), 1002u);
  EXPECT_EQ(all.back(), "b");
  EXPECT_EQ(replay(d.path, nullptr, 1001), (std::vector<std::string>{"a", "b"}));
}

// A new journal in a fresh directory with a group commit window, run from
// the test's thread; completions arrive from the syncer.
struct windowed_journal {
  explicit windowed_journal(std::chrono::microseconds window)
      : j(ioc, options(d.path, window), recovery_result{}) {}
  static journal_options options(const std::string& dir, std::chrono::microseconds window) {
    journal_options o;
    o.dir = dir;
    o.commit_window = window;
    return o;
  }
  // Appends `payload`; `acked` counts its success.
  void append(std::string_view payload, int& acked) {
    j.append(record_type::events, payload,
             [&acked](std::error_code ec, std::uint64_t) { acked += !ec; });
  }
  void run_until(const int& acked, int n) {
    while (acked < n) ioc.run_one();
  }
  tmpdir d;
  boost::asio::io_context ioc;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work =
      boost::asio::make_work_guard(ioc);
  journal j;
};

// The names of this process's threads, as top -H shows them.
std::vector<std::string> thread_names() {
  std::vector<std::string> names;
  for (const auto& t : fs::directory_iterator("/proc/self/task")) {
    std::ifstream in(t.path() / "comm");
    std::string name;
    if (std::getline(in, name)) names.push_back(name);
  }
  return names;
}

TEST(Journal, TheSyncerThreadCarriesTheConfiguredName) {
  auto named = [] {
    auto n = thread_names();
    return std::count(n.begin(), n.end(), "gw-sync-test");
  };
  ASSERT_EQ(named(), 0);
  tmpdir d;
  boost::asio::io_context ioc;
  journal_options o;
  o.dir = d.path;
  o.thread_name = "gw-sync-test";
  {
    journal j(ioc, o, recovery_result{});
    // The syncer is named as it starts.
    for (int i = 0; i < 2000 && named() == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_EQ(named(), 1);
  }
  EXPECT_EQ(named(), 0) << "the syncer ends with its journal";
}

TEST(Journal, GroupCommitSharesSyncs) {
  windowed_journal w(std::chrono::microseconds(2000));
  int acked = 0;
  for (int i = 0; i < 500; ++i) w.append("x", acked);
  w.run_until(acked, 500);
  EXPECT_LT(w.j.syncs(), 50u);  // 500 appends, far fewer fdatasyncs
  EXPECT_EQ(w.j.synced_records(), 500u);
  EXPECT_EQ(w.j.sync_latency()->count(), w.j.syncs()) << "every sync is timed";
}

// The commit window holds a sync back only while appends come faster than
// one per window: a lone append is synced at once.
TEST(Journal, ALoneAppendIsNotHeldBackByTheWindow) {
  windowed_journal w(std::chrono::seconds(3));
  int acked = 0;
  auto start = std::chrono::steady_clock::now();
  w.append("alone", acked);
  w.run_until(acked, 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1500))
      << "waited for the window";
}

// Appends a millisecond apart, each of which a sync would otherwise take
// alone: once the window opens they share syncs.
TEST(Journal, AppendsUnderLoadShareSyncsThroughTheWindow) {
  windowed_journal w(std::chrono::milliseconds(100));
  int acked = 0;
  for (int i = 0; i < 60; ++i) {
    w.append("x", acked);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  w.run_until(acked, 60);
  EXPECT_EQ(w.j.synced_records(), 60u);
  EXPECT_LE(w.j.syncs(), 15u) << "60 appends over ~60 ms";
}

// A crash while covered segments are being removed (a slice at a time)
// leaves them renamed out of the journal: recovery does not read them, even
// cut short, and the next journal over the directory removes them.
TEST(Journal, SegmentsLeftMidReleaseAreIgnoredAndRemoved) {
  tmpdir d;
  journal_options o;
  o.segment_bytes = 1024 * 1024;
  std::vector<std::string> payloads(30, std::string(100'000, 'p'));
  for (auto& p : payloads) append_all(d.path, {p}, o);
  auto first = fs::path(d.path) / segment_name(1);
  ASSERT_TRUE(fs::exists(first));
  // What a crash in the middle of removing the first segment leaves: a
  // copy under the released name, cut short inside a record.
  auto left = first.string() + ".released";
  fs::copy_file(first, left);
  fs::resize_file(left, fs::file_size(left) / 2 + 7);
  EXPECT_EQ(replay(d.path), payloads);
  boost::asio::io_context ioc;
  o.dir = d.path;
  journal j(ioc, o, recover_journal(d.path, 1, [](const record_view&) {}));
  EXPECT_FALSE(fs::exists(left));
  EXPECT_EQ(replay(d.path), payloads);
}

TEST(Journal, RotatesSegmentsAndReleasesCoveredOnes) {
  tmpdir d;
  journal_options o;
  o.segment_bytes = 1024 * 1024;  // the minimum the config allows
  std::vector<std::string> payloads(40, std::string(100'000, 'p'));
  for (std::size_t i = 0; i < payloads.size(); ++i)
    payloads[i][0] = static_cast<char>('A' + i % 26);
  // Append one at a time so every batch is one record.
  for (auto& p : payloads) append_all(d.path, {p}, o);
  std::size_t segments = 0;
  for (auto& e : fs::directory_iterator(d.path)) segments += e.path().extension() == ".wal";
  EXPECT_GE(segments, 3u);
  EXPECT_EQ(replay(d.path), payloads);

  boost::asio::io_context ioc;
  auto work = boost::asio::make_work_guard(ioc);  // completions arrive from the syncer
  o.dir = d.path;
  journal j(ioc, o, recover_journal(d.path, 1, [](const record_view&) {}));
  j.release_through(20);
  recovery_result r;
  auto rest = replay(d.path, &r, 21);
  EXPECT_EQ(rest, std::vector<std::string>(payloads.begin() + 20, payloads.end()));
  std::size_t after = 0, released = 0;
  for (auto& e : fs::directory_iterator(d.path)) {
    after += e.path().extension() == ".wal";
    released += e.path().extension() == ".released";
  }
  EXPECT_LT(after, segments);
  EXPECT_EQ(released, 0u);  // removed, not only renamed

  // One writer across several rotations: each full segment gives back the
  // zeros it had ahead before the next one starts (recovery reads a segment
  // that is not the last to its end), so nothing is cut or dropped.
  tmpdir one;
  {
    boost::asio::io_context home;
    auto guard = boost::asio::make_work_guard(home);
    o.dir = one.path;
    o.allocate_ahead = 256 * 1024;
    journal writer(home, o, recover_journal(one.path, 1, [](const record_view&) {}));
    for (auto& p : payloads) {  // one record per commit
      bool acked = false;
      writer.append(record_type::events, p, [&](std::error_code, std::uint64_t) { acked = true; });
      while (!acked) home.run_one();
    }
  }
  std::vector<std::pair<std::uint64_t, fs::path>> files;
  for (auto& e : fs::directory_iterator(one.path)) files.emplace_back(0, e.path());
  std::sort(files.begin(), files.end(),
            [](const auto& a, const auto& b) { return a.second < b.second; });
  ASSERT_GE(files.size(), 3u);
  for (std::size_t i = 0; i + 1 < files.size(); ++i) {
    std::ifstream in(files[i].second, std::ios::binary);
    std::string bytes(std::istreambuf_iterator<char>(in), {});
    EXPECT_NE(bytes.back(), '\0') << files[i].second;  // ends with its last record
  }
  recovery_result whole;
  EXPECT_EQ(replay(one.path, &whole), payloads);
  EXPECT_EQ(whole.dropped_bytes, 0u);
  EXPECT_EQ(whole.dropped_segments, 0u);
}

// Commits overwrite zeros the writer wrote ahead (so their fdatasync need
// not update the file's size). Those zeros are not damage: recovery cuts
// them without counting them as dropped, and appending continues after the
// last record. Anything else after the records is counted.
TEST(Journal, ZerosWrittenAheadAreTheEndNotDamage) {
  tmpdir d;
  journal_options o;
  o.allocate_ahead = 64 * 1024;
  append_all(d.path, {"one", "two"}, o);
  auto seg = fs::path(d.path) / segment_name(1);
  auto records = segment_header_size(1) + 2 * record_header_bytes + 6;
  EXPECT_EQ(fs::file_size(seg), segment_header_size(1) + 64 * 1024);  // records, then zeros

  recovery_result r;
  EXPECT_EQ(replay(d.path, &r), (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(r.dropped_bytes, 0u);
  EXPECT_EQ(r.next_lsn, 3u);
  EXPECT_EQ(fs::file_size(seg), records);
  EXPECT_EQ(append_all(d.path, {"three"}, o).at(0).second, 3u);
  EXPECT_EQ(replay(d.path), (std::vector<std::string>{"one", "two", "three"}));

  // Not zeros: a torn or foreign tail is dropped and counted.
  std::ofstream(seg, std::ios::binary | std::ios::app) << std::string(100, '\x7f');
  EXPECT_EQ(replay(d.path, &r), (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_EQ(r.dropped_bytes, 100u);

  // With nothing written ahead the file holds exactly the records.
  tmpdir plain;
  o.allocate_ahead = 0;
  append_all(plain.path, {"one", "two"}, o);
  EXPECT_EQ(fs::file_size(fs::path(plain.path) / segment_name(1)), records);
}

// The crash-consistency property, exhaustively on the last record: cut it at
// every byte, or flip any bit of it, and recovery keeps exactly the complete
// records before it, truncating the rest (a later append then continues).
TEST(Journal, TornOrCorruptTailIsCutAtEveryOffset) {
  tmpdir d;
  std::vector<std::string> payloads = {"first", "second", "third record, the last one"};
  append_all(d.path, payloads);
  replay(d.path);  // recovery cuts the zeros the writer allocated ahead
  auto seg = fs::path(d.path) / segment_name(1);
  std::string full;
  {
    std::ifstream in(seg, std::ios::binary);
    full.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto last_size = record_header_bytes + payloads[2].size();
  auto last_start = full.size() - last_size;
  auto expect_two = [&](const std::string& what) {
    recovery_result r;
    auto got = replay(d.path, &r);
    ASSERT_EQ(got, (std::vector<std::string>{"first", "second"})) << what;
    EXPECT_EQ(r.next_lsn, 3u) << what;
    EXPECT_EQ(fs::file_size(seg), last_start) << what;  // truncated to the good prefix
  };
  for (std::size_t cut = last_start; cut < full.size(); ++cut) {
    std::ofstream(seg, std::ios::binary | std::ios::trunc)
        .write(full.data(), static_cast<std::streamsize>(cut));
    expect_two("cut at " + std::to_string(cut));
  }
  for (std::size_t byte = last_start; byte < full.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = full;
      bad[byte] = static_cast<char>(bad[byte] ^ (1 << bit));
      std::ofstream(seg, std::ios::binary | std::ios::trunc)
          .write(bad.data(), static_cast<std::streamsize>(bad.size()));
      expect_two("flip " + std::to_string(byte) + ":" + std::to_string(bit));
    }
  }
  // After the cut, appending continues at lsn 3 and survives the next recovery.
  auto acks = append_all(d.path, {"third again"});
  EXPECT_EQ(acks.at(0).second, 3u);
  EXPECT_EQ(replay(d.path), (std::vector<std::string>{"first", "second", "third again"}));
}

TEST(Journal, NewerFormatIsRefusedNotTruncated) {
  tmpdir d;
  append_all(d.path, {"a", "b"});
  auto seg = fs::path(d.path) / segment_name(1);
  std::string bytes;
  {
    std::ifstream in(seg, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  bytes[8] = format_version + 1;
  std::ofstream(seg, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  EXPECT_THROW(recover_journal(d.path, 1, [](const record_view&) {}), std::runtime_error);
  EXPECT_EQ(fs::file_size(seg), bytes.size());
}

// Segments removed while recovery still needs their records (a snapshot
// lost after they were released): start-up fails instead of starting with
// a hole in the history.
TEST(Journal, MissingHistoryIsAnError) {
  tmpdir d;
  journal_options o;
  o.segment_bytes = 1024 * 1024;
  std::vector<std::string> payloads(15, std::string(100'000, 'p'));
  for (auto& p : payloads) append_all(d.path, {p}, o);
  auto first = fs::path(d.path) / segment_name(1);
  ASSERT_GE(numbered_files(d.path, "seg-", ".wal").size(), 2u);
  recovery_result whole;
  replay(d.path, &whole);
  fs::remove(first);
  EXPECT_THROW(recover_journal(d.path, 1, [](const record_view&) {}), std::runtime_error);
  // Whoever needs only what is left recovers it.
  auto second = numbered_files(d.path, "seg-", ".wal").front().first;
  EXPECT_EQ(replay(d.path, nullptr, second).size(), whole.next_lsn - second);
}

TEST(Journal, WriteErrorFailsTheAppendAndEveryLaterOne) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  tmpdir d;
  boost::asio::io_context ioc;
  auto work = boost::asio::make_work_guard(ioc);  // completions arrive from the syncer
  journal_options o;
  o.dir = d.path;
  recovery_result from;
  from.last_segment = "/dev/full";  // every write: ENOSPC
  from.last_segment_size = segment_header_size(1);
  journal j(ioc, o, from);
  std::vector<std::error_code> errors;
  j.append(record_type::events, "lost",
           [&](std::error_code ec, std::uint64_t) { errors.push_back(ec); });
  while (errors.size() < 1) ioc.run_one();
  EXPECT_EQ(errors[0], std::errc::no_space_on_device);
  EXPECT_TRUE(j.failed());
  j.append(record_type::events, "later",
           [&](std::error_code ec, std::uint64_t) { errors.push_back(ec); });
  while (errors.size() < 2) ioc.run_one();
  EXPECT_EQ(errors[1], std::errc::no_space_on_device);
  EXPECT_EQ(j.sync_latency()->count(), 0u) << "a failed sync is not a latency";
}

}  // namespace
}  // namespace gw::store
