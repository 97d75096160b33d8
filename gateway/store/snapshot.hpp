// Snapshot files: a shard's whole state as of a journal position, written
// atomically (temporary file, fsync, rename, fsync of the directory), so
// recovery replays only the records after it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/store/files.hpp"

namespace gw::store {

// The payload layout's version (FORMAT.md). Snapshots are written in the
// current one and read back from the oldest one still understood.
inline constexpr std::uint32_t snapshot_version = 4;
inline constexpr std::uint32_t oldest_snapshot_version = 2;

// A snapshot to write whole (write_snapshot: tests and tools; a shard
// streams its own through a snapshot_sink).
struct snapshot {
  std::uint64_t lsn = 0;             // every record with lsn <= this is included
  std::vector<std::string> payload;  // in pieces, in order

  std::size_t size() const noexcept;  // of the payload, in bytes
};

// A snapshot as loaded at start-up. `payload` points into `storage` and is
// valid while this object (or a copy of `storage`) lives: the journal store
// maps the file read-only, so a snapshot the size of the shard's state is
// neither copied nor held in the process's own memory while it is decoded.
struct loaded_snapshot {
  std::uint64_t lsn = 0;                     // every record with lsn <= this is included
  std::uint32_t version = snapshot_version;  // of the payload
  std::string_view payload;
  std::shared_ptr<const void> storage;
};

// A snapshot being written, a piece of payload at a time, from one thread.
// commit() makes it the shard's latest; destroyed without it, it changes
// nothing. Both throw on I/O errors (the previous snapshot stays valid).
class snapshot_sink {
 public:
  virtual ~snapshot_sink() = default;
  virtual void append(std::string_view piece) = 0;
  virtual void commit() = 0;
};

// Writes snap-<lsn>.snap in `dir` a piece of payload at a time, so that a
// shard's state is never held twice in memory: the header, whose length and
// CRC are known only at the end, is written by commit(), which also removes
// older snapshots. Until then (and if destroyed without it) the previous
// snapshot stays the valid one. One thread at a time; throws
// std::system_error on I/O errors.
class snapshot_file final : public snapshot_sink {
 public:
  snapshot_file(const std::string& dir, unsigned shard, std::uint64_t lsn);
  void append(std::string_view piece) override;
  void commit() override;

 private:
  std::string dir_;
  unsigned shard_;
  std::uint64_t lsn_;
  atomic_file file_;
  std::uint64_t size_ = 0;  // of the payload so far
  std::uint32_t crc_ = 0;   // of the payload so far
};

// A whole snapshot through snapshot_file.
void write_snapshot(const std::string& dir, unsigned shard, const snapshot& s);

// The newest snapshot whose header and CRC check out and whose version is
// understood; others are skipped (and logged), older valid ones used instead.
// Removes the temporary file of a snapshot that was never committed: call it
// at start-up, not while a snapshot_file is being written in `dir`.
std::optional<loaded_snapshot> load_latest_snapshot(const std::string& dir, unsigned shard);

}  // namespace gw::store
