// A journal: append-only segment files with group commit, and the recovery
// scan that replays them. See FORMAT.md for the bytes. One journal carries
// one or more streams in one LSN sequence: the event journal has a stream
// per shard, so the shards share its syncs (one fdatasync commits both
// shards' records), and the directory and balance journals have one.
//
// Durability contract of append(): `done(ec, lsn)` runs on the stream's
// home io_context's thread. With !ec, the record and every record appended
// before it have been written and fdatasync'ed (so are on stable storage as
// far as the kernel and device report). A stream's completions run in its
// append order. With ec,
// the record may or may not be on disk; the journal is then `failed()` for
// good (a failed fsync leaves the page cache state unknown, so it is not
// retried), every later append fails at once with the same error, and the
// process keeps running so /readyz can say why.
//
// Threads: append() of a stream on its home thread (streams may append
// concurrently), failed() anywhere; a private syncer thread does the writes
// and syncs.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "gateway/obs/metrics.hpp"
#include "gateway/store/record.hpp"

namespace gw::store {

struct journal_options {
  std::string dir;
  std::uint32_t streams = 1;
  std::string thread_name = "gw-sync";           // the syncer's (runtime/thread_name.hpp)
  std::size_t segment_bytes = 64 * 1024 * 1024;  // rotate past this size
  // Group commit window: before a sync, wait up to this long (from the
  // group's first append) for more appends, but only while they arrive
  // faster than one per window (a moving average of the gaps between
  // appends): under load a sync then carries more records, and a lone
  // append is never held back. 0: never wait (appends that arrive during a
  // sync share the next one anyway).
  std::chrono::microseconds commit_window{0};
  std::size_t commit_bytes = 1024 * 1024;  // ...unless this much is waiting
  // Zeros written ahead of the records, this much at a time (0: none). A
  // commit then overwrites blocks the file already has, so its fdatasync
  // writes data only, without the file-size update and ext4 journal commit
  // that an append needs: about half the cost per commit here
  // (bench/PROFILE.md). The commit that extends the file carries the zeros
  // with its records; small steps keep that one commit cheap too (1 MiB
  // steps doubled the p99 at half the maximum ingest rate). Recovery takes
  // a tail of zeros as the end.
  std::size_t allocate_ahead = 64 * 1024;
};

// What recovery found; the journal continues from here.
struct recovery_result {
  std::uint64_t next_lsn = 1;
  std::vector<std::uint64_t> last_lsn;   // per stream: its last record (0: none)
  std::size_t records = 0;               // valid records replayed (lsn >= from)
  std::size_t dropped_bytes = 0;         // torn or corrupt tail cut off
  std::size_t dropped_segments = 0;      // whole segments after the cut, removed
  std::vector<segment_header> segments;  // the segments kept, ascending
  std::string last_segment;              // path of the segment to append to, or ""
  std::uint64_t last_segment_size = 0;
};

// Replays the segments of a journal of `from.size()` streams in order. For
// each segment, calls `fn` once with its valid records whose lsn is at
// least `from[record.stream]` (the views live until `fn` returns). Stops at
// the first torn or corrupt record, truncates that segment there and
// removes the segments after it. Zeros after the last segment's records
// (space the writer allocated ahead) are cut off too, but are not counted
// as dropped. A missing directory is an empty journal. Throws
// std::system_error on I/O errors, and std::runtime_error when a stream's
// records from `from[stream]` on are not all there (removed: its snapshot
// was lost) or the segments were written with another stream count.
using segment_fn = std::function<void(std::span<const record_view>)>;
recovery_result recover_journal(const std::string& dir, std::span<const std::uint64_t> from,
                                const segment_fn& fn);
// The same for a journal of one stream, a record at a time.
recovery_result recover_journal(const std::string& dir, std::uint64_t from_lsn,
                                const std::function<void(const record_view&)>& fn);

class journal final {
 public:
  using done_fn = std::function<void(std::error_code, std::uint64_t lsn)>;

  // `homes[s]` runs stream s's completions; opts.streams must equal its size.
  // `from` is what recover_journal found in opts.dir (nothing, for a new one).
  journal(std::vector<boost::asio::io_context*> homes, journal_options opts,
          const recovery_result& from);
  journal(boost::asio::io_context& home, journal_options opts, const recovery_result& from)
      : journal(std::vector{&home}, std::move(opts), from) {}
  ~journal();  // writes and syncs what was appended, then stops
  journal(const journal&) = delete;
  journal& operator=(const journal&) = delete;

  void append(std::uint32_t stream, record_type type, std::string_view payload, done_fn done);
  void append(record_type type, std::string_view payload, done_fn done) {
    append(0, type, payload, std::move(done));
  }
  bool failed() const noexcept;

  // Stream `stream` no longer needs its records up to `lsn` (a snapshot
  // covers them). Removes the oldest whole segments that no stream needs,
  // gradually (remove_gradually): ~2.5 s per gigabyte. A stream that never
  // called this needs all of its records; one without records in a segment
  // does not hold it. Any thread; the syncer is not disturbed.
  void release_through(std::uint32_t stream, std::uint64_t lsn);
  void release_through(std::uint64_t lsn) { release_through(0, lsn); }
  // Records that stream `stream` no longer needs its records up to `lsn`,
  // without removing anything yet (at start-up, from a snapshot).
  void set_covered(std::uint32_t stream, std::uint64_t lsn);

  // Counters for /metrics (any thread).
  std::uint64_t syncs() const noexcept { return syncs_.load(std::memory_order_relaxed); }
  std::uint64_t synced_records() const noexcept {
    return synced_records_.load(std::memory_order_relaxed);
  }
  // How long each sync (write and fdatasync of a group, and a rotation) took.
  const metrics::histogram* sync_latency() const noexcept { return &sync_latency_; }

 private:
  struct waiter {
    std::uint64_t lsn;
    std::uint32_t stream;
    done_fn done;
  };
  struct batch {
    std::string bytes;
    std::uint64_t first_lsn = 0;
    std::vector<waiter> waiters;
  };
  void run_syncer();
  void complete(std::vector<waiter> waiters, std::error_code ec);
  std::error_code write_batch(batch& b);
  std::error_code open_segment(std::uint64_t first_lsn);
  std::error_code allocate(std::uint64_t end);

  std::vector<boost::asio::io_context*> homes_;
  journal_options opts_;

  // Shared with the syncer and between the streams, under mu_.
  std::mutex mu_;
  std::uint64_t next_lsn_;
  std::condition_variable cv_;
  batch pending_;
  std::chrono::steady_clock::time_point pending_since_{};
  std::chrono::steady_clock::time_point last_append_{};
  std::chrono::nanoseconds append_gap_;  // moving average, see commit_window
  bool stopping_ = false;
  std::vector<segment_header> segments_;  // the live segments, ascending
  std::vector<std::uint64_t> covered_;    // per stream: released through this lsn
  std::atomic<bool> failed_{false};
  std::error_code failure_;

  // Syncer thread only.
  int fd_ = -1;
  std::uint64_t segment_size_ = 0;           // where the next record goes
  std::uint64_t allocated_ = 0;              // the file's size: segment_size_ and zeros after it
  std::vector<std::uint64_t> written_last_;  // per stream: its last record written
  std::atomic<std::uint64_t> syncs_{0};
  std::atomic<std::uint64_t> synced_records_{0};
  metrics::histogram sync_latency_;  // write_batch: the writes, the fdatasync, a rotation
  std::thread syncer_;
};

std::string segment_name(std::uint64_t first_lsn);

}  // namespace gw::store
