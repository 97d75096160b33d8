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

namespace gw::store {

namespace fs = std::filesystem;

namespace {
constexpr char magic[8] = {'G', 'W', 'S', 'N', 'A', 'P', 'S', 'H'};
constexpr std::size_t header_bytes = 40;

template <class T>
void put(std::string& out, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
template <class T>
T get(const char* p) {
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i)
    v |= static_cast<T>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

std::string snapshot_name(std::uint64_t lsn) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "snap-%020llu.snap", static_cast<unsigned long long>(lsn));
  return buf;
}

std::vector<std::pair<std::uint64_t, fs::path>> list_snapshots(const std::string& dir) {
  std::vector<std::pair<std::uint64_t, fs::path>> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    auto name = e.path().filename().string();
    if (name.size() != 30 || !name.starts_with("snap-") || !name.ends_with(".snap")) continue;
    out.emplace_back(std::stoull(name.substr(5, 20)), e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void check(bool ok, const std::string& what) {
  if (!ok) throw std::system_error(errno, std::system_category(), what);
}
}  // namespace

void write_snapshot(const std::string& dir, unsigned shard, const snapshot& s) {
  std::string header;
  header.append(magic, sizeof magic);
  put<std::uint32_t>(header, 1);
  put<std::uint32_t>(header, shard);
  put<std::uint64_t>(header, s.lsn);
  put<std::uint64_t>(header, s.payload.size());
  put<std::uint32_t>(header, crc32c(0, s.payload.data(), s.payload.size()));
  put<std::uint32_t>(header, crc32c(0, header.data(), header.size()));

  auto final_path = fs::path(dir) / snapshot_name(s.lsn);
  auto tmp = final_path.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  check(fd >= 0, "open " + tmp);
  auto write_all = [&](const std::string& b) {
    const char* p = b.data();
    std::size_t n = b.size();
    while (n > 0) {
      ssize_t w = ::write(fd, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        int err = errno;
        ::close(fd);
        errno = err;
        check(false, "write " + tmp);
      }
      p += w;
      n -= static_cast<std::size_t>(w);
    }
  };
  write_all(header);
  write_all(s.payload);
  bool synced = ::fdatasync(fd) == 0;
  ::close(fd);
  check(synced, "fdatasync " + tmp);
  check(::rename(tmp.c_str(), final_path.c_str()) == 0, "rename " + tmp);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  for (auto& [lsn, path] : list_snapshots(dir))
    if (lsn < s.lsn) fs::remove(path);
}

std::optional<snapshot> load_latest_snapshot(const std::string& dir, unsigned shard) {
  auto all = list_snapshots(dir);
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    std::ifstream in(it->second, std::ios::binary);
    std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    bool ok = bytes.size() >= header_bytes && std::memcmp(bytes.data(), magic, 8) == 0 &&
              get<std::uint32_t>(bytes.data() + 8) == 1 &&
              get<std::uint32_t>(bytes.data() + 12) == shard &&
              get<std::uint32_t>(bytes.data() + 36) == crc32c(0, bytes.data(), 36);
    if (ok) {
      auto len = get<std::uint64_t>(bytes.data() + 24);
      ok = bytes.size() == header_bytes + len &&
           get<std::uint32_t>(bytes.data() + 32) == crc32c(0, bytes.data() + header_bytes, len);
      if (ok) return snapshot{get<std::uint64_t>(bytes.data() + 16), bytes.substr(header_bytes)};
    }
    log::warn("snapshot is corrupt; trying an older one", {{"file", it->second.string()}});
  }
  return std::nullopt;
}

}  // namespace gw::store
