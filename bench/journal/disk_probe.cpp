// The disk alone: what a journal's group commit would wait for with no
// gateway running. Appends BYTES to a new file in DIR and fdatasyncs it,
// then sleeps INTERVAL, for SECONDS; prints one JSON line with the syncs'
// times (each the write and its fdatasync) and how many took over 25 ms,
// the bound the suite counts the gateway's slow syncs by. The suite runs it
// next to its half-rate runs: a disk that stalls on its own stalls every
// durable answer in flight, whatever the gateway does.
//
// usage: disk_probe --dir DIR [--seconds S] [--interval-us N] [--bytes B]
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using clk = std::chrono::steady_clock;

struct options {
  std::string dir;
  double seconds = 4;
  long interval_us = 1000;
  long bytes = 4096;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "disk_probe: %s\nusage: disk_probe --dir DIR [--seconds S] [--interval-us N] "
               "[--bytes B]\n",
               why);
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; i += 2) {
    std::string k = argv[i];
    if (i + 1 >= argc) usage(("no value for " + k).c_str());
    const char* v = argv[i + 1];
    char* end = nullptr;
    if (k == "--dir") {
      o.dir = v;
      continue;
    }
    double n = std::strtod(v, &end);
    if (end == v || *end != '\0' || n < 0) usage(("not a number: " + k + " " + v).c_str());
    bool whole = n == static_cast<double>(static_cast<long>(n));
    if (k == "--seconds")
      o.seconds = n;
    else if (k == "--interval-us" && whole)
      o.interval_us = static_cast<long>(n);
    else if (k == "--bytes" && whole)
      o.bytes = static_cast<long>(n);
    else if (k == "--interval-us" || k == "--bytes")
      usage(("not a whole number: " + k + " " + v).c_str());
    else
      usage(("unknown option " + k).c_str());
  }
  if (o.dir.empty()) usage("--dir is required");
  if (o.bytes < 1 || o.bytes > (64L << 20)) usage("--bytes must be 1 to 64 MiB");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  options o = parse(argc, argv);
  std::string path = o.dir + "/disk_probe." + std::to_string(::getpid());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::fprintf(stderr, "disk_probe: open %s: %s\n", path.c_str(), std::strerror(errno));
    return 1;
  }
  std::vector<char> block(static_cast<std::size_t>(o.bytes), 'x');
  std::vector<double> us;  // each write + fdatasync
  off_t offset = 0;
  auto end = clk::now() + std::chrono::duration<double>(o.seconds);
  while (clk::now() < end) {
    auto t0 = clk::now();
    if (::pwrite(fd, block.data(), block.size(), offset) != o.bytes || ::fdatasync(fd) != 0) {
      std::fprintf(stderr, "disk_probe: write %s: %s\n", path.c_str(), std::strerror(errno));
      ::unlink(path.c_str());
      return 1;
    }
    us.push_back(std::chrono::duration<double, std::micro>(clk::now() - t0).count());
    offset += o.bytes;
    std::this_thread::sleep_for(std::chrono::microseconds(o.interval_us));
  }
  ::close(fd);
  ::unlink(path.c_str());
  if (us.empty()) usage("--seconds too short for one sync");

  auto slow = std::count_if(us.begin(), us.end(), [](double t) { return t > 25'000; });
  std::sort(us.begin(), us.end());
  auto at = [&](double q) { return us[static_cast<std::size_t>(q * (us.size() - 1))]; };
  std::printf(R"({"syncs":%zu,"p50_us":%.0f,"p99_us":%.0f,"max_us":%.0f,"over_25ms":%ld})"
              "\n",
              us.size(), at(0.5), at(0.99), us.back(), static_cast<long>(slow));
}
