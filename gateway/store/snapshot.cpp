// Snapshot write/load with CRC-32C over header and payload.
#include "gateway/store/snapshot.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
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

snapshot_file::snapshot_file(const std::string& dir, unsigned shard, std::uint64_t lsn)
    : dir_(dir), shard_(shard), lsn_(lsn), file_(dir, snapshot_name(lsn), atomic_file::io::direct) {
  file_.append(std::string(header_bytes, '\0'));  // commit() writes the real one
}

void snapshot_file::append(std::string_view piece) {
  crc_ = crc32c(crc_, piece.data(), piece.size());
  size_ += piece.size();
  file_.append(piece);
}

void snapshot_file::commit() {
  std::string header;
  header.append(magic, sizeof magic);
  put_le<std::uint32_t>(header, snapshot_version);
  put_le<std::uint32_t>(header, shard_);
  put_le<std::uint64_t>(header, lsn_);
  put_le<std::uint64_t>(header, size_);
  put_le<std::uint32_t>(header, crc_);
  put_le<std::uint32_t>(header, crc32c(0, header.data(), header.size()));
  file_.overwrite(0, header);
  file_.commit();
  for (auto& [lsn, path] : list_snapshots(dir_))
    if (lsn < lsn_) fs::remove(path);
}

void write_snapshot(const std::string& dir, unsigned shard, const snapshot& s) {
  snapshot_file f(dir, shard, s.lsn);
  for (const auto& piece : s.payload) f.append(piece);
  f.commit();
}

namespace {
// A file mapped read-only, unmapped with the last reference.
struct mapped_file {
  void* addr = MAP_FAILED;
  std::size_t size = 0;
  ~mapped_file() {
    if (addr != MAP_FAILED) ::munmap(addr, size);
  }
};

// The whole file, mapped; null if it cannot be opened or mapped (or is empty).
std::shared_ptr<const mapped_file> map_file(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  auto m = std::make_shared<mapped_file>();
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0) {
    m->size = static_cast<std::size_t>(st.st_size);
    m->addr = ::mmap(nullptr, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
  }
  ::close(fd);
  if (m->addr == MAP_FAILED) return nullptr;
  ::madvise(m->addr, m->size, MADV_SEQUENTIAL);  // read front to back: the CRC, then the decoding
  return m;
}
}  // namespace

std::optional<loaded_snapshot> load_latest_snapshot(const std::string& dir, unsigned shard) {
  // A snapshot being written when the process stopped: never complete, and
  // as large as the shard's state.
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().filename().string().ends_with(".snap.tmp")) fs::remove(e.path(), ec);
  auto all = list_snapshots(dir);
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    auto file = map_file(it->second);
    std::string_view bytes;
    if (file) bytes = {static_cast<const char*>(file->addr), file->size};
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
        return loaded_snapshot{get_le<std::uint64_t>(bytes.data() + 16),
                               get_le<std::uint32_t>(bytes.data() + 8), bytes.substr(header_bytes),
                               std::move(file)};
    }
    log::warn("snapshot is corrupt; trying an older one", {{"file", it->second.string()}});
  }
  return std::nullopt;
}

}  // namespace gw::store
