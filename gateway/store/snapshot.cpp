// Snapshot write/load with CRC-32C over header and payload.
#include "gateway/store/snapshot.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <vector>

#include "gateway/obs/log.hpp"
#include "gateway/store/crc32c.hpp"
#include "gateway/store/files.hpp"

namespace gw::store {

namespace fs = std::filesystem;

namespace {
constexpr char magic[8] = {'G', 'W', 'S', 'N', 'A', 'P', 'S', 'H'};
constexpr std::size_t header_bytes = 40;
// 2: conversations carry their deliveries (FORMAT.md).

std::string snapshot_name(std::uint64_t lsn) { return numbered_name("snap-", lsn, ".snap"); }

std::vector<std::pair<std::uint64_t, fs::path>> list_snapshots(const std::string& dir) {
  return numbered_files(dir, "snap-", ".snap");
}
}  // namespace

std::size_t snapshot::size() const noexcept {
  std::size_t n = 0;
  for (const auto& piece : payload) n += piece.size();
  return n;
}

void write_snapshot(const std::string& dir, unsigned shard, const snapshot& s) {
  std::uint32_t crc = 0;
  for (const auto& piece : s.payload) crc = crc32c(crc, piece.data(), piece.size());
  std::string header;
  header.append(magic, sizeof magic);
  put_le<std::uint32_t>(header, snapshot_version);
  put_le<std::uint32_t>(header, shard);
  put_le<std::uint64_t>(header, s.lsn);
  put_le<std::uint64_t>(header, s.size());
  put_le<std::uint32_t>(header, crc);
  put_le<std::uint32_t>(header, crc32c(0, header.data(), header.size()));

  std::vector<std::string_view> parts{header};
  parts.insert(parts.end(), s.payload.begin(), s.payload.end());
  write_file_atomically(dir, snapshot_name(s.lsn), parts);
  for (auto& [lsn, path] : list_snapshots(dir))
    if (lsn < s.lsn) fs::remove(path);
}

std::optional<snapshot> load_latest_snapshot(const std::string& dir, unsigned shard) {
  auto all = list_snapshots(dir);
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    std::ifstream in(it->second, std::ios::binary);
    std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    bool ok = bytes.size() >= header_bytes && std::memcmp(bytes.data(), magic, 8) == 0 &&
              get_le<std::uint32_t>(bytes.data() + 8) >= oldest_snapshot_version &&
              get_le<std::uint32_t>(bytes.data() + 8) <= snapshot_version &&
              get_le<std::uint32_t>(bytes.data() + 12) == shard &&
              get_le<std::uint32_t>(bytes.data() + 36) == crc32c(0, bytes.data(), 36);
    if (ok) {
      auto len = get_le<std::uint64_t>(bytes.data() + 24);
      ok = bytes.size() == header_bytes + len &&
           get_le<std::uint32_t>(bytes.data() + 32) == crc32c(0, bytes.data() + header_bytes, len);
      if (ok)
        return snapshot{get_le<std::uint64_t>(bytes.data() + 16),
                        {bytes.substr(header_bytes)},
                        get_le<std::uint32_t>(bytes.data() + 8)};
    }
    log::warn("snapshot is corrupt; trying an older one", {{"file", it->second.string()}});
  }
  return std::nullopt;
}

}  // namespace gw::store
