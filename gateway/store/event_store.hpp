// The store interface: what the conversation core needs from durable
// storage. journal_store (one journal shared by the shards, and a snapshot
// per shard, in data_dir) implements it now; a Redis-backed store can
// implement it later without the core changing.
//
// Threads: load_snapshot from one thread per shard, in parallel; then
// replay and open from one thread, before the shards serve; begin_snapshot
// and its sink from a helper thread; a shard_log's methods as shard_log.hpp
// says; the counters from any thread once open() has returned.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "gateway/obs/metrics.hpp"
#include "gateway/store/journal.hpp"
#include "gateway/store/record.hpp"
#include "gateway/store/shard_log.hpp"
#include "gateway/store/snapshot.hpp"

namespace gw::store {

class event_store {
 public:
  virtual ~event_store() = default;
  virtual std::optional<loaded_snapshot> load_snapshot(unsigned shard) = 0;
  // A new snapshot of `shard` as of `lsn`, written as it is encoded. Throws
  // on I/O errors; the previous snapshot stays valid.
  virtual std::unique_ptr<snapshot_sink> begin_snapshot(unsigned shard, std::uint64_t lsn) = 0;
  // Calls `fn` with every record of shard s (record_view::stream) whose lsn
  // is at least from[s], in order, some records at a time; repairs a torn
  // tail (see recover_journal). Throws on I/O errors or missing history.
  virtual recovery_result replay(std::span<const std::uint64_t> from, const segment_fn& fn) = 0;
  // One log per shard, continuing where replay() stopped; shard s's
  // completions run on homes[s].
  virtual std::vector<std::unique_ptr<shard_log>> open(std::vector<boost::asio::io_context*> homes,
                                                       const recovery_result& from) = 0;
  // The logs' syncs (group commits) and their times; 0 and null if not
  // measured.
  virtual std::uint64_t syncs() const noexcept { return 0; }
  virtual const metrics::histogram* sync_latency() const noexcept { return nullptr; }
};

// The embedded store (FORMAT.md): data_dir/events/ holds the event journal,
// one stream per shard, and data_dir/events/shard-N/ each shard's snapshot.
//
// It also reads the layout of format version 1, a journal per shard in
// data_dir/shard-N/: a shard without a snapshot in events/ recovers from its
// old directory first (its snapshot and journal), then from the shared
// journal; its first snapshot in events/ covers both, and the old directory
// is removed after it.
class journal_store final : public event_store {
 public:
  // `tuning` gives segment size and group-commit settings.
  journal_store(std::string data_dir, journal_options tuning, unsigned shards);

  std::optional<loaded_snapshot> load_snapshot(unsigned shard) override;
  std::unique_ptr<snapshot_sink> begin_snapshot(unsigned shard, std::uint64_t lsn) override;
  recovery_result replay(std::span<const std::uint64_t> from, const segment_fn& fn) override;
  std::vector<std::unique_ptr<shard_log>> open(std::vector<boost::asio::io_context*> homes,
                                               const recovery_result& from) override;
  std::uint64_t syncs() const noexcept override;
  const metrics::histogram* sync_latency() const noexcept override;

  std::string journal_dir() const;
  std::string snapshot_dir(unsigned shard) const;
  std::string legacy_dir(unsigned shard) const;  // format version 1

 private:
  // Per shard, written by its load_snapshot and read after.
  struct shard_state {
    std::uint64_t covered = 0;      // the loaded snapshot's lsn in events/
    bool legacy = false;            // recovers from legacy_dir first
    std::uint64_t legacy_from = 1;  // ...from this record of it
  };
  class stream;

  std::string data_dir_;
  journal_options tuning_;
  std::vector<shard_state> shards_;
  // Once open; the shards' logs own it, so the last one closed flushes it
  // and stops its syncer.
  std::weak_ptr<journal> journal_;
};

}  // namespace gw::store
