// The embedded journal as an event_store.
#include "gateway/store/event_store.hpp"

#include <filesystem>

namespace gw::store {

journal_store::journal_store(std::string data_dir, journal_options tuning)
    : data_dir_(std::move(data_dir)), tuning_(std::move(tuning)) {}

std::string journal_store::shard_dir(unsigned shard) const {
  auto dir = (std::filesystem::path(data_dir_) / ("shard-" + std::to_string(shard))).string();
  std::filesystem::create_directories(dir);
  return dir;
}

std::optional<loaded_snapshot> journal_store::load_snapshot(unsigned shard) {
  return load_latest_snapshot(shard_dir(shard), shard);
}

std::unique_ptr<snapshot_sink> journal_store::begin_snapshot(unsigned shard, std::uint64_t lsn) {
  return std::make_unique<snapshot_file>(shard_dir(shard), shard, lsn);
}

recovery_result journal_store::replay(unsigned shard, std::uint64_t from,
                                      const std::function<void(const record_view&)>& fn) {
  return recover_journal(shard_dir(shard), from, fn);
}

std::unique_ptr<shard_log> journal_store::open(unsigned shard, boost::asio::io_context& home,
                                               const recovery_result& from) {
  journal_options o = tuning_;
  o.dir = shard_dir(shard);
  o.shard = shard;
  o.thread_name = "gw-sync-" + std::to_string(shard);
  return std::make_unique<journal>(home, std::move(o), from);
}

}  // namespace gw::store
