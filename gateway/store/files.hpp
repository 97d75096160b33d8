// Small file helpers shared by the journal and the snapshots: little-endian
// fields, whole writes, directory sync, and listing numbered files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <memory>
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

// Replaces dir/name with what is appended to it, so that a crash leaves
// either the old file or the whole new one: the bytes go to a temporary
// file, which commit() fdatasyncs, renames over the name and makes durable
// with an fsync of the directory. Destroyed without a commit, it removes the
// temporary and leaves the old file as it was. Large files (snapshots) go to
// the disk a megabyte at a time, each written back before the next is
// written and at most ~20 MB/s, as RocksDB's bytes_per_sync and
// PostgreSQL's checkpoint_flush_after do: the final fdatasync then has
// little left to flush, and the journals' syncs never queue behind hundreds
// of megabytes of dirty pages. One thread at a time; methods throw
// std::system_error.
//
// io::direct writes those megabytes with O_DIRECT from one aligned buffer,
// past the page cache: a snapshot is read back only at a restart, and
// through the page cache each of its hundreds of megabytes was copied into
// newly allocated pages (a page's first touch costs ~100 times a warm one's
// in the VMs we measured) and written back from there (bench/PROFILE.md,
// "Snapshots past the page cache"). The few bytes after the last whole
// megabyte, and overwrite() of bytes already written out, go through the
// page cache, which Linux keeps coherent with the direct writes; a file
// system that refuses O_DIRECT (tmpfs) gets io::buffered.
class atomic_file {
 public:
  enum class io { buffered, direct };
  atomic_file(const std::string& dir, const std::string& name, io mode = io::buffered);
  ~atomic_file();
  atomic_file(const atomic_file&) = delete;
  atomic_file& operator=(const atomic_file&) = delete;

  void append(std::string_view bytes);
  // Replaces bytes already appended, at `at` (a header known only at the end).
  void overwrite(std::uint64_t at, std::string_view bytes);
  void commit();

  // Whether the megabytes go past the page cache (io::direct, and the file
  // system took it).
  bool direct() const noexcept { return direct_fd_ >= 0; }

 private:
  struct free_deleter {
    void operator()(char* p) const noexcept;
  };
  void pace();          // before a megabyte, if one was just written
  void write_staged();  // io::direct: the full buffer, at written_
  void stop_direct();   // the file system refused a direct write
  std::string dir_, path_, tmp_;
  int fd_ = -1;
  int direct_fd_ = -1;                         // the same file, O_DIRECT; -1 for buffered
  std::unique_ptr<char, free_deleter> stage_;  // io::direct: the bytes after written_
  std::uint64_t staged_ = 0;                   // how many
  std::uint64_t written_ = 0, synced_ = 0;     // written back up to synced_
  bool pause_due_ = false;                     // a slice was just written back
};

// atomic_file with the concatenation of `parts`.
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
