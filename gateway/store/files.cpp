// File helpers for the store.
#include "gateway/store/files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

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

void sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

void write_file_atomically(const std::string& dir, const std::string& name,
                           std::initializer_list<std::string_view> parts) {
  auto path = (std::filesystem::path(dir) / name).string();
  auto tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::system_error(errno, std::system_category(), "open " + tmp);
  std::error_code ec;
  for (auto part : parts)
    if (!ec) ec = write_all(fd, part.data(), part.size());
  if (!ec && ::fdatasync(fd) != 0) ec = {errno, std::system_category()};
  ::close(fd);
  if (ec) throw std::system_error(ec, "write " + tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    throw std::system_error(errno, std::system_category(), "rename " + tmp);
  sync_dir(dir);
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
