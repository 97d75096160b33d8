// Small file helpers shared by the journal and the snapshots: little-endian
// fields, whole writes, directory sync, and listing numbered files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace gw::store {

template <class T>
void put_le(std::string& out, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

template <class T>
T get_le(const char* p) noexcept {
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i)
    v |= static_cast<T>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

// Writes all of [p, p+n), retrying short writes and EINTR.
std::error_code write_all(int fd, const char* p, std::size_t n);
// The same at file offset `at` (pwrite).
std::error_code pwrite_all(int fd, const char* p, std::size_t n, std::uint64_t at);

// fsync of a directory, so that names created or removed in it are durable.
void sync_dir(const std::string& dir);

// Replaces dir/name with the concatenation of `parts` so that a crash leaves
// either the old file or the whole new one: a temporary file is written and
// fdatasync'ed, renamed over the name, and the directory fsync'ed. Throws
// std::system_error.
void write_file_atomically(const std::string& dir, const std::string& name,
                           std::span<const std::string_view> parts);
inline void write_file_atomically(const std::string& dir, const std::string& name,
                                  std::initializer_list<std::string_view> parts) {
  write_file_atomically(dir, name, std::span(parts.begin(), parts.size()));
}

// Removes a file, large ones a few megabytes at a time: on a file system
// mounted with `discard`, freeing a gigabyte of covered journal segments at
// once held every journal's fdatasync for 20-36 ms (bench/PROFILE.md,
// "Releasing covered segments"). Blocks for ~2.5 s per gigabyte. Errors are
// ignored: what is left is only disk space.
void remove_gradually(const std::string& path);

// Files named <prefix><20-digit number><suffix> in `dir`, by number.
std::vector<std::pair<std::uint64_t, std::filesystem::path>> numbered_files(
    const std::string& dir, std::string_view prefix, std::string_view suffix);

// "<prefix><20-digit number><suffix>".
std::string numbered_name(std::string_view prefix, std::uint64_t n, std::string_view suffix);

}  // namespace gw::store
