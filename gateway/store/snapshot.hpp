// Snapshot files: a shard's whole state as of a journal position, written
// atomically (temporary file, fsync, rename, fsync of the directory), so
// recovery replays only the records after it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gw::store {

// The payload layout's version (FORMAT.md). Snapshots are written in the
// current one and read back from the oldest one still understood.
inline constexpr std::uint32_t snapshot_version = 4;
inline constexpr std::uint32_t oldest_snapshot_version = 2;

struct snapshot {
  std::uint64_t lsn = 0;  // every record with lsn <= this is included
  // The payload in pieces, in order. A shard encodes its snapshot a slice at
  // a time into pieces of its own: one buffer of hundreds of megabytes would
  // be copied whole, on the shard's thread, each time it grew. A loaded
  // snapshot has exactly one piece.
  std::vector<std::string> payload;
  std::uint32_t version = snapshot_version;  // of the payload, as loaded

  std::size_t size() const noexcept;  // of the payload, in bytes
};

// Writes snap-<lsn>.snap in `dir` and removes older snapshots. Throws
// std::system_error on I/O errors (the previous snapshot stays valid).
void write_snapshot(const std::string& dir, unsigned shard, const snapshot& s);

// The newest snapshot whose header and CRC check out and whose version is
// understood; others are skipped (and logged), older valid ones used instead.
std::optional<snapshot> load_latest_snapshot(const std::string& dir, unsigned shard);

}  // namespace gw::store
