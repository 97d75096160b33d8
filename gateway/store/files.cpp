// File helpers for the store.
#include "gateway/store/files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
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

namespace {
// `err` is read by the caller before anything here can change errno.
[[noreturn]] void fail(const char* op, const std::string& path, int err) {
  throw std::system_error(err, std::system_category(), std::string(op) + " " + path);
}

constexpr std::uint64_t slice = 1024 * 1024;
constexpr auto slice_pause = std::chrono::milliseconds(50);  // at most ~20 MB/s
constexpr std::size_t direct_alignment = 4096;  // a page: what any block device asks, or less
}  // namespace

void atomic_file::free_deleter::operator()(char* p) const noexcept { std::free(p); }

atomic_file::atomic_file(const std::string& dir, const std::string& name, io mode)
    : dir_(dir), path_((std::filesystem::path(dir) / name).string()), tmp_(path_ + ".tmp") {
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("open", tmp_, errno);
  if (mode != io::direct) return;
  direct_fd_ = ::open(tmp_.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC);
  if (direct_fd_ < 0) return;  // EINVAL: no O_DIRECT here
  stage_.reset(static_cast<char*>(std::aligned_alloc(direct_alignment, slice)));
  if (!stage_) throw std::bad_alloc();
}

atomic_file::~atomic_file() {
  if (direct_fd_ >= 0) ::close(direct_fd_);
  if (fd_ < 0) return;  // committed
  ::close(fd_);
  ::unlink(tmp_.c_str());
}

// Paced: the disk's cache flushes (every journal fdatasync is one) must not
// find much of this file waiting in them. No pause before the first slice.
void atomic_file::pace() {
  if (pause_due_) std::this_thread::sleep_for(slice_pause);
  pause_due_ = false;
}

void atomic_file::append(std::string_view bytes) {
  while (direct() && !bytes.empty()) {
    auto n = std::min<std::uint64_t>(bytes.size(), slice - staged_);
    std::memcpy(stage_.get() + staged_, bytes.data(), n);
    staged_ += n;
    bytes.remove_prefix(n);
    if (staged_ == slice) write_staged();
  }
  while (!bytes.empty()) {
    pace();
    auto n = std::min<std::uint64_t>(bytes.size(), slice - (written_ - synced_));
    if (auto ec = write_all(fd_, bytes.data(), n)) fail("write", tmp_, ec.value());
    written_ += n;
    bytes.remove_prefix(n);
    if (written_ - synced_ < slice) continue;
    if (::sync_file_range(
            fd_, static_cast<off_t>(synced_), static_cast<off_t>(written_ - synced_),
            SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) != 0)
      fail("sync_file_range", tmp_, errno);
    synced_ = written_;
    pause_due_ = true;
  }
}

// A direct write returns once the device has the bytes (in its cache, which
// commit()'s fdatasync flushes), as sync_file_range's wait does above.
void atomic_file::write_staged() {
  pace();
  if (auto ec = pwrite_all(direct_fd_, stage_.get(), staged_, written_)) {
    if (ec != std::errc::invalid_argument || written_ > 0) fail("write", tmp_, ec.value());
    stop_direct();  // the open took O_DIRECT, the first write did not
    return;
  }
  written_ = synced_ = written_ + staged_;
  staged_ = 0;
  pause_due_ = true;
}

// Leaves io::direct with the staged bytes written through the page cache.
void atomic_file::stop_direct() {
  ::close(direct_fd_);
  direct_fd_ = -1;
  auto stage = std::move(stage_);
  auto n = std::exchange(staged_, 0);
  append({stage.get(), n});
}

void atomic_file::overwrite(std::uint64_t at, std::string_view bytes) {
  if (at + bytes.size() > written_ + staged_)
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            "overwrite past the end of " + tmp_);
  if (at + bytes.size() > written_) {  // the part still in the buffer
    auto from = std::max(at, written_);
    std::memcpy(stage_.get() + (from - written_), bytes.data() + (from - at),
                at + bytes.size() - from);
    bytes = bytes.substr(0, from - at);
  }
  if (auto ec = pwrite_all(fd_, bytes.data(), bytes.size(), at)) fail("write", tmp_, ec.value());
}

void atomic_file::commit() {
  // The last partial megabyte cannot go direct (its length is not aligned).
  if (auto ec = pwrite_all(fd_, stage_.get(), staged_, written_)) fail("write", tmp_, ec.value());
  if (::fdatasync(fd_) != 0) fail("fdatasync", tmp_, errno);
  ::close(fd_);
  fd_ = -1;
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp_.c_str());
    fail("rename", tmp_, err);
  }
  sync_dir(dir_);
}

void write_file_atomically(const std::string& dir, const std::string& name,
                           std::span<const std::string_view> parts) {
  atomic_file f(dir, name);
  for (auto part : parts) f.append(part);
  f.commit();
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
