// JSON log lines with UTC millisecond timestamps.
#include "gateway/obs/log.hpp"

#include <unistd.h>

#include <atomic>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace gw::log {

namespace {
std::atomic<int> current{static_cast<int>(level::info)};
constexpr std::string_view names[] = {"debug", "info", "warn", "error"};

std::string timestamp() {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}
}  // namespace

std::optional<level> parse_level(std::string_view text) noexcept {
  for (int i = 0; i < 4; ++i)
    if (names[i] == text) return static_cast<level>(i);
  return std::nullopt;
}

std::string_view name_of(level l) noexcept { return names[static_cast<int>(l)]; }

void set_level(level l) noexcept { current.store(static_cast<int>(l), std::memory_order_relaxed); }

bool enabled(level l) noexcept {
  return static_cast<int>(l) >= current.load(std::memory_order_relaxed);
}

std::string format_line(level l, std::string_view msg, std::initializer_list<field> fields) {
  boost::json::object o;
  o["ts"] = timestamp();
  o["level"] = name_of(l);
  o["msg"] = msg;
  for (const auto& f : fields) o[f.key] = f.value;
  std::string line = boost::json::serialize(o);
  line += '\n';
  return line;
}

void write(level l, std::string_view msg, std::initializer_list<field> fields) {
  std::string line = format_line(l, msg, fields);
  // One write per line keeps lines whole between threads; retry short writes.
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) return;  // stderr closed: nowhere left to complain
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace gw::log
