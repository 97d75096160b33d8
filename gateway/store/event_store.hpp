// The store interface: what the conversation core needs from durable
// storage, per shard. journal_store (segment files in data_dir) implements it
// now; a Redis-backed store can implement it later without the core changing.
//
// Threads: load_snapshot, replay and open before the shard serves (any one
// thread per shard); begin_snapshot and its sink from a helper thread; a shard_log's
// methods from its home shard's thread (see journal.hpp for the contract).
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

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
  // Calls `fn` for every record with lsn >= from, in order; repairs a torn
  // tail (see recover_journal). Throws on I/O errors or missing history.
  virtual recovery_result replay(unsigned shard, std::uint64_t from,
                                 const std::function<void(const record_view&)>& fn) = 0;
  // The shard's log, continuing where replay() stopped.
  virtual std::unique_ptr<shard_log> open(unsigned shard, boost::asio::io_context& home,
                                          const recovery_result& from) = 0;
};

// The embedded store: data_dir/shard-N/ with segments and snapshots.
class journal_store final : public event_store {
 public:
  // `tuning` gives segment size and group-commit settings; dir and shard are
  // filled in per shard.
  journal_store(std::string data_dir, journal_options tuning);

  std::string shard_dir(unsigned shard) const;
  std::optional<loaded_snapshot> load_snapshot(unsigned shard) override;
  std::unique_ptr<snapshot_sink> begin_snapshot(unsigned shard, std::uint64_t lsn) override;
  recovery_result replay(unsigned shard, std::uint64_t from,
                         const std::function<void(const record_view&)>& fn) override;
  std::unique_ptr<shard_log> open(unsigned shard, boost::asio::io_context& home,
                                  const recovery_result& from) override;

 private:
  std::string data_dir_;
  journal_options tuning_;
};

}  // namespace gw::store
