// Group-commit journal writer and recovery scan.
#include "gateway/store/journal.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "gateway/obs/log.hpp"
#include "gateway/runtime/thread_name.hpp"
#include "gateway/store/files.hpp"

namespace gw::store {

namespace fs = std::filesystem;

namespace {

std::error_code last_error() { return {errno, std::system_category()}; }

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::system_error(errno, std::system_category(), "open " + p.string());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Segment files in lsn order.
std::vector<std::pair<std::uint64_t, fs::path>> list_segments(const std::string& dir) {
  return numbered_files(dir, "seg-", ".wal");
}

}  // namespace

std::string segment_name(std::uint64_t first_lsn) {
  return numbered_name("seg-", first_lsn, ".wal");
}

namespace {
// A covered segment on its way out: no longer one of the journal's files
// (recovery reads only seg-*.wal), so a crash while it is removed a slice at
// a time never leaves a segment cut short in the journal.
constexpr std::string_view released_suffix = ".released";
}  // namespace

recovery_result recover_journal(const std::string& dir, std::span<const std::uint64_t> from,
                                const segment_fn& fn) {
  const auto streams = static_cast<std::uint32_t>(from.size());
  recovery_result r;
  r.last_lsn.assign(streams, 0);
  auto segments = list_segments(dir);
  std::uint64_t expected = 0;  // unknown until the first segment
  std::vector<record_view> records;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const auto& [first, path] = segments[i];
    std::string bytes = read_file(path);
    auto version = segment_version(bytes);
    if (version > format_version)
      throw std::runtime_error(path.string() + " has journal format " + std::to_string(version) +
                               "; this build reads " + std::to_string(format_version) +
                               ": refusing to touch it");
    auto header = decode_segment_header(bytes);
    if (header && header->before.size() != streams)
      throw std::runtime_error(path.string() + " holds " + std::to_string(header->before.size()) +
                               " streams; this journal has " + std::to_string(streams));
    bool bad_start = !header || header->first_lsn != first || (expected != 0 && first != expected);
    if (!bad_start && expected == 0) {
      // Every record a stream needs must come after what was removed.
      for (std::uint32_t s = 0; s < streams; ++s)
        if (header->before[s] >= from[s])
          throw std::runtime_error("journal in " + dir + " starts at record " +
                                   std::to_string(first) + " but stream " + std::to_string(s) +
                                   " needs its records from " + std::to_string(from[s]) +
                                   " on, and had record " + std::to_string(header->before[s]) +
                                   " before that: history is missing (snapshot lost?)");
      r.last_lsn = header->before;
    }
    std::size_t cut = 0;
    if (!bad_start) {
      if (expected == 0) expected = first;
      r.segments.push_back(*header);
      std::size_t pos = version == 1 ? segment_header_bytes : segment_header_size(streams);
      record_view rec{};
      records.clear();
      while (pos < bytes.size()) {
        auto st = decode_record(std::string_view(bytes).substr(pos), expected, streams, rec);
        if (st != decode_status::ok) break;
        r.last_lsn[rec.stream] = rec.lsn;
        if (rec.lsn >= from[rec.stream]) records.push_back(rec);
        ++expected;
        pos += rec.size;
      }
      if (!records.empty()) fn(records);
      r.records += records.size();
      cut = pos;
    }
    if (bad_start || cut < bytes.size()) {
      // The first bad byte: keep what precedes it, drop everything after.
      if (bad_start) {
        r.dropped_bytes += bytes.size();
        fs::remove(path);
        ++r.dropped_segments;
      } else {
        bool zeros = std::all_of(bytes.begin() + static_cast<std::ptrdiff_t>(cut), bytes.end(),
                                 [](char c) { return c == 0; });
        bool last = i + 1 == segments.size();
        if (!(zeros && last)) r.dropped_bytes += bytes.size() - cut;
        if (::truncate(path.c_str(), static_cast<off_t>(cut)) != 0)
          throw std::system_error(errno, std::system_category(), "truncate " + path.string());
        r.last_segment = path.string();
        r.last_segment_size = cut;
      }
      for (std::size_t j = i + 1; j < segments.size(); ++j) {
        r.dropped_bytes += fs::file_size(segments[j].second);
        fs::remove(segments[j].second);
        ++r.dropped_segments;
      }
      sync_dir(dir);
      break;
    }
    r.last_segment = path.string();
    r.last_segment_size = bytes.size();
  }
  // Past every record, and past every LSN a snapshot has covered.
  std::uint64_t after = std::max<std::uint64_t>(1, *std::max_element(from.begin(), from.end()));
  r.next_lsn = std::max(expected, after);
  return r;
}

recovery_result recover_journal(const std::string& dir, std::uint64_t from_lsn,
                                const std::function<void(const record_view&)>& fn) {
  const std::uint64_t from[] = {from_lsn};
  return recover_journal(dir, from, [&](std::span<const record_view> records) {
    for (const auto& rec : records) fn(rec);
  });
}

journal::journal(std::vector<boost::asio::io_context*> homes, journal_options opts,
                 const recovery_result& from)
    : homes_(std::move(homes)),
      opts_(std::move(opts)),
      next_lsn_(from.next_lsn),
      append_gap_(4 * opts_.commit_window),
      segments_(from.segments),
      covered_(opts_.streams, 0),
      written_last_(from.last_lsn) {
  if (homes_.size() != opts_.streams || opts_.streams == 0 || opts_.streams > max_streams)
    throw std::invalid_argument("journal: one home per stream, 1 to " +
                                std::to_string(max_streams));
  written_last_.resize(opts_.streams, 0);
  fs::create_directories(opts_.dir);
  for (const auto& e : fs::directory_iterator(opts_.dir))  // a crash interrupted a release
    if (e.path().string().ends_with(released_suffix)) fs::remove(e.path());
  if (!from.last_segment.empty()) {
    fd_ = ::open(from.last_segment.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd_ < 0) throw std::system_error(last_error(), "open " + from.last_segment);
    segment_size_ = allocated_ = from.last_segment_size;  // recovery cut any zeros
  }
  syncer_ = std::thread([this] { run_syncer(); });
  // Named before the constructor returns, so that a journal that has opened
  // is seen by its name in /metrics at once.
  runtime::name_thread(syncer_, opts_.thread_name);
}

journal::~journal() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  syncer_.join();
  if (fd_ >= 0) ::close(fd_);
}

bool journal::failed() const noexcept { return failed_.load(std::memory_order_acquire); }

void journal::append(std::uint32_t stream, record_type type, std::string_view payload,
                     done_fn done) {
  if (stream >= homes_.size())
    throw std::out_of_range("journal: no stream " + std::to_string(stream));
  if (failed()) {
    boost::asio::post(*homes_[stream], [done = std::move(done), ec = failure_] { done(ec, 0); });
    return;
  }
  // Only the commit window needs the time; read outside the lock.
  const bool windowed = opts_.commit_window.count() > 0;
  const auto now =
      windowed ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
  bool wake;
  {
    std::lock_guard lock(mu_);
    std::uint64_t lsn = next_lsn_++;
    if (windowed) {
      // The gaps' moving average; a gap counts as at most four windows, so
      // after a quiet spell a few quick appends are enough to open the window.
      auto gap = std::min<std::chrono::nanoseconds>(now - last_append_, 4 * opts_.commit_window);
      append_gap_ += (gap - append_gap_) / 4;
      last_append_ = now;
    }
    if (pending_.waiters.empty()) {
      pending_.first_lsn = lsn;
      pending_since_ = now;
    }
    encode_record(pending_.bytes, lsn, type, payload, stream);
    pending_.waiters.push_back({lsn, stream, std::move(done)});
    wake = pending_.waiters.size() == 1 || pending_.bytes.size() >= opts_.commit_bytes;
  }
  if (wake) cv_.notify_one();
}

void journal::run_syncer() {
  for (;;) {
    batch b;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !pending_.waiters.empty(); });
      if (pending_.waiters.empty()) return;  // stopping, nothing left
      // Group commit window: under load, give more appends a moment to join.
      if (opts_.commit_window.count() > 0 && !stopping_ && append_gap_ < opts_.commit_window) {
        auto until = pending_since_ + opts_.commit_window;
        cv_.wait_until(lock, until,
                       [this] { return stopping_ || pending_.bytes.size() >= opts_.commit_bytes; });
      }
      std::swap(b, pending_);
    }
    auto started = std::chrono::steady_clock::now();
    std::error_code ec = failed() ? failure_ : write_batch(b);
    if (!ec) sync_latency_.observe(std::chrono::steady_clock::now() - started);
    if (ec && !failed()) {
      failure_ = ec;
      failed_.store(true, std::memory_order_release);
      log::error("journal write failed; the journal stops accepting writes",
                 {{"dir", opts_.dir}, {"error", ec.message()}});
    }
    syncs_.fetch_add(1, std::memory_order_relaxed);
    if (!ec) synced_records_.fetch_add(b.waiters.size(), std::memory_order_relaxed);
    complete(std::move(b.waiters), ec);
  }
}

// Each stream's waiters, in order, to its home.
void journal::complete(std::vector<waiter> waiters, std::error_code ec) {
  auto post = [ec](boost::asio::io_context& home, std::vector<waiter> ws) {
    boost::asio::post(home, [ws = std::move(ws), ec] {
      for (const auto& w : ws) w.done(ec, w.lsn);
    });
  };
  std::vector<std::vector<waiter>> per(homes_.size());
  for (auto& w : waiters) per[w.stream].push_back(std::move(w));
  for (std::size_t s = 0; s < per.size(); ++s)
    if (!per[s].empty()) post(*homes_[s], std::move(per[s]));
}

std::error_code journal::open_segment(std::uint64_t first_lsn) {
  if (fd_ >= 0) {
    // The full segment loses its zeros first: recovery reads a segment that
    // is not the last one to its end, and zeros there would read as a cut.
    if (allocated_ > segment_size_) {
      if (::ftruncate(fd_, static_cast<off_t>(segment_size_)) != 0) return last_error();
      if (::fdatasync(fd_) != 0) return last_error();
    }
    ::close(fd_);
  }
  auto path = (fs::path(opts_.dir) / segment_name(first_lsn)).string();
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) return last_error();
  std::string header;
  encode_segment_header(header, {first_lsn, written_last_});
  if (auto ec = write_all(fd_, header.data(), header.size())) return ec;
  if (::fdatasync(fd_) != 0) return last_error();
  sync_dir(opts_.dir);  // the new name must survive a crash too
  segment_size_ = allocated_ = header.size();
  std::lock_guard lock(mu_);
  segments_.push_back({first_lsn, written_last_});
  return {};
}

std::error_code journal::write_batch(batch& b) {
  if (fd_ < 0 || (segment_size_ + b.bytes.size() > opts_.segment_bytes &&
                  segment_size_ > segment_header_size(opts_.streams))) {
    if (auto ec = open_segment(b.first_lsn)) return ec;
  }
  if (auto ec = allocate(segment_size_ + b.bytes.size())) return ec;
  if (auto ec = pwrite_all(fd_, b.bytes.data(), b.bytes.size(), segment_size_)) return ec;
  if (::fdatasync(fd_) != 0) return last_error();  // the zeros, if any, with the records
  segment_size_ += b.bytes.size();
  for (const auto& w : b.waiters) written_last_[w.stream] = w.lsn;
  return {};
}

// Makes the file at least `end` bytes long with written zeros, extending it
// by at least allocate_ahead (but not past the segment's size unless `end`
// is): the next commits then overwrite blocks the file already has.
std::error_code journal::allocate(std::uint64_t end) {
  if (end <= allocated_ || opts_.allocate_ahead == 0) return {};
  auto target = std::max<std::uint64_t>(
      end, std::min<std::uint64_t>(allocated_ + opts_.allocate_ahead, opts_.segment_bytes));
  static const std::string zeros(64 * 1024, '\0');
  for (auto at = allocated_; at < target;) {
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(zeros.size(), target - at));
    if (auto ec = pwrite_all(fd_, zeros.data(), n, at)) return ec;
    at += n;
  }
  allocated_ = target;
  return {};
}

void journal::set_covered(std::uint32_t stream, std::uint64_t lsn) {
  std::lock_guard lock(mu_);
  covered_[stream] = std::max(covered_[stream], lsn);
}

void journal::release_through(std::uint32_t stream, std::uint64_t lsn) {
  std::vector<std::uint64_t> doomed;
  {
    std::lock_guard lock(mu_);
    covered_[stream] = std::max(covered_[stream], lsn);
    // A segment's records of stream s all precede the next segment's
    // before[s]: covered when that is, for every stream. The last segment
    // is being written and stays.
    auto needed = [this](const segment_header& next) {
      for (std::size_t s = 0; s < covered_.size(); ++s)
        if (next.before[s] > covered_[s]) return true;
      return false;
    };
    while (segments_.size() >= 2 && !needed(segments_[1])) {
      doomed.push_back(segments_.front().first_lsn);
      segments_.erase(segments_.begin());
    }
  }
  if (doomed.empty()) return;
  // Out of the journal first, all at once (renames free no blocks), then
  // removed gradually.
  std::vector<std::string> leaving;
  for (auto first : doomed) {
    auto path = (fs::path(opts_.dir) / segment_name(first)).string();
    std::string gone = path + std::string(released_suffix);
    if (::rename(path.c_str(), gone.c_str()) == 0) leaving.push_back(std::move(gone));
  }
  sync_dir(opts_.dir);
  for (const auto& path : leaving) remove_gradually(path);
  sync_dir(opts_.dir);
}

}  // namespace gw::store
