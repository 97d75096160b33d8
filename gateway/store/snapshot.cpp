// Snapshot write/load with CRC-32C over header and payload.
#include "gateway/store/snapshot.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
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

std::string snapshot_name(std::uint64_t lsn) { return numbered_name("snap-", lsn, ".snap"); }

std::vector<std::pair<std::uint64_t, fs::path>> list_snapshots(const std::string& dir) {
  return numbered_files(dir, "snap-", ".snap");
}

void check(bool ok, const std::string& what) {
  if (!ok) throw std::system_error(errno, std::system_category(), what);
}
}  // namespace

void write_snapshot(const std::string& dir, unsigned shard, const snapshot& s) {
  std::string header;
  header.append(magic, sizeof magic);
  put_le<std::uint32_t>(header, 1);
  put_le<std::uint32_t>(header, shard);
  put_le<std::uint64_t>(header, s.lsn);
  put_le<std::uint64_t>(header, s.payload.size());
  put_le<std::uint32_t>(header, crc32c(0, s.payload.data(), s.payload.size()));
  put_le<std::uint32_t>(header, crc32c(0, header.data(), header.size()));

  auto final_path = fs::path(dir) / snapshot_name(s.lsn);
  auto tmp = final_path.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  check(fd >= 0, "open " + tmp);
  std::error_code ec = write_all(fd, header.data(), header.size());
  if (!ec) ec = write_all(fd, s.payload.data(), s.payload.size());
  if (!ec && ::fdatasync(fd) != 0) ec = {errno, std::system_category()};
  ::close(fd);
  if (ec) throw std::system_error(ec, "write " + tmp);
  check(::rename(tmp.c_str(), final_path.c_str()) == 0, "rename " + tmp);
  sync_dir(dir);
  for (auto& [lsn, path] : list_snapshots(dir))
    if (lsn < s.lsn) fs::remove(path);
}

std::optional<snapshot> load_latest_snapshot(const std::string& dir, unsigned shard) {
  auto all = list_snapshots(dir);
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    std::ifstream in(it->second, std::ios::binary);
    std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    bool ok = bytes.size() >= header_bytes && std::memcmp(bytes.data(), magic, 8) == 0 &&
              get_le<std::uint32_t>(bytes.data() + 8) == 1 &&
              get_le<std::uint32_t>(bytes.data() + 12) == shard &&
              get_le<std::uint32_t>(bytes.data() + 36) == crc32c(0, bytes.data(), 36);
    if (ok) {
      auto len = get_le<std::uint64_t>(bytes.data() + 24);
      ok = bytes.size() == header_bytes + len &&
           get_le<std::uint32_t>(bytes.data() + 32) == crc32c(0, bytes.data() + header_bytes, len);
      if (ok) return snapshot{get_le<std::uint64_t>(bytes.data() + 16), bytes.substr(header_bytes)};
    }
    log::warn("snapshot is corrupt; trying an older one", {{"file", it->second.string()}});
  }
  return std::nullopt;
}

}  // namespace gw::store
