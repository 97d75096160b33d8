// The embedded journal as an event_store.
#include "gateway/store/event_store.hpp"

#include <filesystem>
#include <stdexcept>

#include "gateway/obs/log.hpp"
#include "gateway/store/files.hpp"

namespace gw::store {

namespace fs = std::filesystem;

// Shard s's view of the shared journal.
class journal_store::stream final : public shard_log {
 public:
  stream(std::shared_ptr<journal> j, std::uint32_t index, std::string legacy)
      : journal_(std::move(j)), index_(index), legacy_(std::move(legacy)) {}

  void append(record_type type, std::string_view payload, done_fn done) override {
    journal_->append(index_, type, payload, std::move(done));
  }
  bool failed() const noexcept override { return journal_->failed(); }

  // After the shard's first snapshot in events/, its version 1 directory
  // holds nothing it needs.
  void release_through(std::uint64_t lsn) override {
    journal_->release_through(index_, lsn);
    if (legacy_.empty()) return;
    remove_legacy(legacy_);
    legacy_.clear();
  }

  static void remove_legacy(const std::string& dir) {
    std::error_code ec;
    std::vector<std::string> files;  // listed first: not removed while the listing is read
    for (const auto& e : fs::directory_iterator(dir, ec)) files.push_back(e.path().string());
    for (const auto& f : files) remove_gradually(f);
    fs::remove(dir, ec);
    sync_dir(fs::path(dir).parent_path().string());
    log::info("version 1 journal directory removed: a snapshot in events/ covers it",
              {{"dir", dir}});
  }

 private:
  std::shared_ptr<journal> journal_;
  std::uint32_t index_;
  std::string legacy_;  // the shard's version 1 directory, until its first snapshot
};

journal_store::journal_store(std::string data_dir, journal_options tuning, unsigned shards)
    : data_dir_(std::move(data_dir)), tuning_(std::move(tuning)), shards_(shards) {
  // Made durable now: a snapshot's own directory sync does not cover the
  // directories above it.
  for (unsigned s = 0; s < shards; ++s) fs::create_directories(snapshot_dir(s));
  sync_dir(journal_dir());
  sync_dir(data_dir_);
}

std::string journal_store::journal_dir() const { return (fs::path(data_dir_) / "events").string(); }

std::string journal_store::snapshot_dir(unsigned shard) const {
  return (fs::path(journal_dir()) / ("shard-" + std::to_string(shard))).string();
}

std::string journal_store::legacy_dir(unsigned shard) const {
  return (fs::path(data_dir_) / ("shard-" + std::to_string(shard))).string();
}

std::optional<loaded_snapshot> journal_store::load_snapshot(unsigned shard) {
  auto& state = shards_.at(shard);
  auto legacy = legacy_dir(shard);
  if (auto snap = load_latest_snapshot(snapshot_dir(shard), shard)) {
    state.covered = snap->lsn;
    if (fs::exists(legacy)) stream::remove_legacy(legacy);  // a crash interrupted its removal
    return snap;
  }
  if (!fs::exists(legacy)) return std::nullopt;
  state.legacy = true;
  auto snap = load_latest_snapshot(legacy, shard);
  if (!snap) return std::nullopt;
  // Its LSN counts the old journal's records: replay() goes on from there,
  // and the shard has seen nothing of the shared journal yet.
  state.legacy_from = snap->lsn + 1;
  snap->lsn = 0;
  return snap;
}

std::unique_ptr<snapshot_sink> journal_store::begin_snapshot(unsigned shard, std::uint64_t lsn) {
  return std::make_unique<snapshot_file>(snapshot_dir(shard), shard, lsn);
}

recovery_result journal_store::replay(std::span<const std::uint64_t> from, const segment_fn& fn) {
  // A version 1 directory's records precede everything in the shared
  // journal, under LSNs of their own: they are handed on as the shard's,
  // with LSN 0.
  std::vector<record_view> moved;
  for (unsigned s = 0; s < shards_.size(); ++s) {
    if (!shards_[s].legacy) continue;
    recover_journal(legacy_dir(s), std::span(&shards_[s].legacy_from, 1),
                    [&](std::span<const record_view> records) {
                      moved.assign(records.begin(), records.end());
                      for (auto& r : moved) r.stream = s, r.lsn = 0;
                      fn(moved);
                    });
  }
  return recover_journal(journal_dir(), from, fn);
}

std::vector<std::unique_ptr<shard_log>> journal_store::open(
    std::vector<boost::asio::io_context*> homes, const recovery_result& from) {
  if (homes.size() != shards_.size())
    throw std::invalid_argument("journal_store: one home per shard");
  journal_options o = tuning_;
  o.dir = journal_dir();
  o.streams = static_cast<std::uint32_t>(homes.size());
  o.thread_name = "gw-sync";
  auto j = std::make_shared<journal>(std::move(homes), std::move(o), from);
  std::vector<std::unique_ptr<shard_log>> logs;
  for (std::uint32_t s = 0; s < shards_.size(); ++s) {
    j->set_covered(s, shards_[s].covered);
    logs.push_back(std::make_unique<stream>(j, s, shards_[s].legacy ? legacy_dir(s) : ""));
  }
  journal_ = j;
  return logs;
}

std::uint64_t journal_store::syncs() const noexcept {
  auto j = journal_.lock();
  return j ? j->syncs() : 0;
}

const metrics::histogram* journal_store::sync_latency() const noexcept {
  auto j = journal_.lock();
  return j ? j->sync_latency() : nullptr;  // lives as long as the shards' logs
}

}  // namespace gw::store
