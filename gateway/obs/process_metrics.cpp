#include "gateway/obs/process_metrics.hpp"

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <vector>

#include "gateway/obs/metrics.hpp"

namespace gw::metrics {

namespace {

namespace fs = std::filesystem;

std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool to_u64(std::string_view s, std::uint64_t& v) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc{} && end == s.data() + s.size();
}

// Boot time in Unix seconds (`btime` in /proc/stat), 0 if unknown.
std::uint64_t boot_time() {
  std::ifstream in("/proc/stat");
  std::string key;
  std::uint64_t value = 0;
  while (in >> key) {
    if (key == "btime" && (in >> value)) return value;
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0;
}

// A label value: `"` and `\` escaped, a line break made a space.
std::string label_value(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c == '\n' ? ' ' : c;
  }
  return out;
}

// Since Linux 6.2 the size of /proc/self/fd is the number of open
// descriptors: no walk through tens of thousands of entries on the shard
// that serves /metrics. Older kernels report 0 there, and get the walk.
std::uint64_t open_fds(std::error_code& ec) {
  struct stat st {};
  if (::stat("/proc/self/fd", &st) == 0 && st.st_size > 0)
    return static_cast<std::uint64_t>(st.st_size);
  std::uint64_t fds = 0;
  for (fs::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec))
    ++fds;
  return fds;
}

}  // namespace

std::optional<proc_stat> parse_proc_stat(std::string_view line) {
  auto open = line.find('(');
  auto close = line.rfind(')');
  if (open == line.npos || close == line.npos || close < open) return std::nullopt;
  proc_stat st;
  st.comm = std::string(line.substr(open + 1, close - open - 1));
  // Field 3 (the state) starts after ") "; utime is field 14, stime 15,
  // starttime 22, rss 24 (proc(5)).
  std::vector<std::string_view> fields;
  auto rest = line.substr(close + 1);
  while (!rest.empty()) {
    auto start = rest.find_first_not_of(" \n");
    if (start == rest.npos) break;
    rest.remove_prefix(start);
    auto end = rest.find_first_of(" \n");
    fields.push_back(rest.substr(0, end));
    rest = end == rest.npos ? std::string_view{} : rest.substr(end);
  }
  auto field = [&](std::size_t n, std::uint64_t& v) {
    return n - 3 < fields.size() && to_u64(fields[n - 3], v);
  };
  if (!field(14, st.utime_ticks) || !field(15, st.stime_ticks) || !field(22, st.start_ticks) ||
      !field(24, st.rss_pages))
    return std::nullopt;
  return st;
}

double ticks_to_seconds(std::uint64_t ticks, long hz) noexcept {
  return static_cast<double>(ticks) / static_cast<double>(hz);
}

void write_process_metrics(std::string& out) {
  const long hz = ::sysconf(_SC_CLK_TCK);
  auto seconds = [hz](std::uint64_t ticks) { return ticks_to_seconds(ticks, hz); };
  if (auto self = parse_proc_stat(read_all("/proc/self/stat"))) {
    write_head(out, "process_cpu_seconds_total", "counter", "User and system CPU time, seconds.");
    write_real_sample(out, "process_cpu_seconds_total", {},
                      seconds(self->utime_ticks + self->stime_ticks));
    write_head(out, "process_resident_memory_bytes", "gauge", "Resident memory, bytes.");
    write_sample(out, "process_resident_memory_bytes", {},
                 self->rss_pages * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)));
    static const std::uint64_t boot = boot_time();  // fixed while the machine runs
    if (boot != 0) {
      write_head(out, "process_start_time_seconds", "gauge", "Start of the process, Unix seconds.");
      write_real_sample(out, "process_start_time_seconds", {},
                        static_cast<double>(boot) + seconds(self->start_ticks));
    }
  }
  std::error_code ec;
  std::uint64_t fds = open_fds(ec);
  if (!ec) {
    write_head(out, "process_open_fds", "gauge", "Open file descriptors.");
    write_sample(out, "process_open_fds", {}, fds);
  }
  if (rlimit lim{}; ::getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    write_head(out, "process_max_fds", "gauge", "The limit on open file descriptors.");
    write_sample(out, "process_max_fds", {}, static_cast<std::uint64_t>(lim.rlim_cur));
  }
  std::map<std::string, std::uint64_t> by_name;  // ticks, sorted for a stable output
  for (fs::directory_iterator it("/proc/self/task", ec), end; !ec && it != end; it.increment(ec))
    if (auto st = parse_proc_stat(read_all(it->path() / "stat")))
      by_name[st->comm] += st->utime_ticks + st->stime_ticks;
  if (!by_name.empty()) {
    write_head(out, "gateway_thread_cpu_seconds_total", "counter",
               "User and system CPU time of the gateway's threads, by thread name, seconds.");
    for (const auto& [name, ticks] : by_name)
      write_real_sample(out, "gateway_thread_cpu_seconds_total",
                        "thread=\"" + label_value(name) + "\"", seconds(ticks));
  }
}

}  // namespace gw::metrics
