// File helpers for the store.
#include "gateway/store/files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <thread>

namespace gw::store {

std::error_code write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return {errno, std::system_category()};
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return {};
}

std::error_code pwrite_all(int fd, const char* p, std::size_t n, std::uint64_t at) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(at));
    if (w < 0) {
      if (errno == EINTR) continue;
      return {errno, std::system_category()};
    }
    p += w;
    at += static_cast<std::uint64_t>(w);
    n -= static_cast<std::size_t>(w);
  }
  return {};
}

void sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

void write_file_atomically(const std::string& dir, const std::string& name,
                           std::span<const std::string_view> parts) {
  auto path = (std::filesystem::path(dir) / name).string();
  auto tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::system_error(errno, std::system_category(), "open " + tmp);
  // Large files (snapshots) go to the disk a slice at a time, each slice
  // written back before the next is written, as RocksDB's bytes_per_sync and
  // PostgreSQL's checkpoint_flush_after do: the final fdatasync then has
  // little left to flush, and the journal's own syncs never queue behind
  // hundreds of megabytes of dirty snapshot pages.
  constexpr std::size_t slice = 1024 * 1024;
  constexpr auto slice_pause = std::chrono::milliseconds(50);  // at most ~20 MB/s
  std::size_t total = 0;
  for (auto part : parts) total += part.size();
  std::error_code ec;
  std::size_t written = 0, synced = 0;  // slices end wherever a part or a slice does
  for (auto part : parts) {
    while (!ec && !part.empty()) {
      auto n = std::min(part.size(), slice - (written - synced));
      ec = write_all(fd, part.data(), n);
      written += n;
      part.remove_prefix(n);
      if (ec || written - synced < slice) continue;
      if (::sync_file_range(fd, static_cast<off_t>(synced), static_cast<off_t>(written - synced),
                            SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                                SYNC_FILE_RANGE_WAIT_AFTER) != 0)
        ec = {errno, std::system_category()};
      synced = written;
      // Paced: the disk's cache flushes (every journal fdatasync is one)
      // must not find much of this file waiting in them.
      if (written < total) std::this_thread::sleep_for(slice_pause);
    }
  }
  if (!ec && ::fdatasync(fd) != 0) ec = {errno, std::system_category()};
  ::close(fd);
  if (ec) throw std::system_error(ec, "write " + tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    throw std::system_error(errno, std::system_category(), "rename " + tmp);
  sync_dir(dir);
}

void remove_gradually(const std::string& path) {
  constexpr std::uint64_t step = 8 * 1024 * 1024;
  constexpr auto pause = std::chrono::milliseconds(20);
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  while (!ec && size > step) {
    size -= step;
    if (::truncate(path.c_str(), static_cast<off_t>(size)) != 0) break;
    std::this_thread::sleep_for(pause);
  }
  std::filesystem::remove(path, ec);
}

std::vector<std::pair<std::uint64_t, std::filesystem::path>> numbered_files(
    const std::string& dir, std::string_view prefix, std::string_view suffix) {
  std::vector<std::pair<std::uint64_t, std::filesystem::path>> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    auto name = e.path().filename().string();
    if (name.size() != prefix.size() + 20 + suffix.size() || !name.starts_with(prefix) ||
        !name.ends_with(suffix))
      continue;
    auto digits = name.substr(prefix.size(), 20);
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    out.emplace_back(std::stoull(digits), e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string numbered_name(std::string_view prefix, std::uint64_t n, std::string_view suffix) {
  char digits[24];
  std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(n));
  std::string out(prefix);
  out += digits;
  out += suffix;
  return out;
}

}  // namespace gw::store
