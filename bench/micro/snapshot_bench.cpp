// A snapshot's encoding of busy conversations: each has taken `range(0)`
// patient messages shaped like the ingest benchmark's (bench/load), so it
// keeps its last 200 and remembers every provider id. The shard encodes its
// conversations a slice at a time (conversations.cpp, snapshot_slice); this
// is the cost of one conversation, with the output buffer reused as a
// slice's is.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/load/payloads.hpp"
#include "gateway/domain/conversation.hpp"
#include "gateway/store/files.hpp"

namespace {

using namespace gw::domain;

// How much of a file is in the page cache (mincore over a mapping).
std::size_t resident_bytes(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  auto size = static_cast<std::size_t>(::lseek(fd, 0, SEEK_END));
  void* p = size ? ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
  ::close(fd);
  if (p == MAP_FAILED) return 0;
  auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> in((size + page - 1) / page);
  std::size_t n = 0;
  if (::mincore(p, size, in.data()) == 0)
    for (auto v : in) n += (v & 1) * page;
  ::munmap(p, size);
  return n;
}

conversation busy_conversation(long messages, long which) {
  conversation c;
  for (long i = 1; i <= messages; ++i) {
    event e;
    e.kind = event_kind::message_in;
    e.conv = {"bench", "wa-bench", "+3460" + std::to_string(1000000 + which)};
    e.seq = static_cast<std::uint64_t>(i);
    e.offset = static_cast<std::uint64_t>(i);
    e.epoch = 1;
    e.at_ms = 1'750'000'000'000 + i;
    char id[24];
    std::snprintf(id, sizeof id, "%016lX", i * 10'000 + which);
    e.message_id = "m-" + std::string(id);
    e.provider_id =
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA" + std::string(id);
    e.author = "María José Fernández";
    e.text = gw::bench::patient_text;
    e.value = "text";
    apply(c, e);
  }
  return c;
}

void BM_SnapshotEncodeConversation(benchmark::State& state) {
  // Enough conversations that they are out of cache, as in a shard's pass.
  constexpr long conversations = 64;
  std::vector<conversation> convs;
  for (long i = 0; i < conversations; ++i) convs.push_back(busy_conversation(state.range(0), i));
  std::string out;
  std::size_t bytes = 0;
  long i = 0;
  for (auto _ : state) {
    out.clear();
    encode_conversation(out, convs[i]);
    bytes += out.size();
    benchmark::DoNotOptimize(out.data());
    if (++i == conversations) i = 0;
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  state.counters["bytes_per_conversation"] =
      static_cast<double>(bytes) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_SnapshotEncodeConversation)->Arg(1)->Arg(20)->Arg(230);

}  // namespace

namespace {
// The same, as the shard does it: every slice a new ~192 KiB buffer, kept
// until the snapshot is written, so its pages are touched for the first time.
void BM_SnapshotEncodeConversationFreshBuffer(benchmark::State& state) {
  constexpr long conversations = 64;
  std::vector<conversation> convs;
  for (long i = 0; i < conversations; ++i) convs.push_back(busy_conversation(state.range(0), i));
  std::vector<std::string> pieces;
  std::size_t bytes = 0;
  long i = 0;
  for (auto _ : state) {
    auto& out = pieces.emplace_back();
    out.reserve(192 * 1024);
    encode_conversation(out, convs[i]);
    bytes += out.size();
    if (++i == conversations) i = 0;
    if (pieces.size() == 2048) {
      state.PauseTiming();
      pieces.clear();
      state.ResumeTiming();
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_SnapshotEncodeConversationFreshBuffer)->Arg(230);
}  // namespace

namespace {
// A snapshot's file written from its encoded pieces (192 KiB each, as the
// shard's slices make them) through atomic_file, as snapshot_file does:
// through the page cache (Arg 0) or past it (Arg 1). The file goes to the
// temporary directory, which should be on the data directory's file system;
// the writer's pacing sleeps count as no CPU, so the figure to read is bytes
// per CPU second (`bytes_per_second`), and `page_cache_MiB`, how much of the
// file was left in the page cache.
void BM_SnapshotFileWrite(benchmark::State& state) {
  namespace fs = std::filesystem;
  using gw::store::atomic_file;
  constexpr std::size_t piece_bytes = 192 * 1024, pieces = 160;  // 30 MiB
  auto mode = state.range(0) ? atomic_file::io::direct : atomic_file::io::buffered;
  auto dir = fs::temp_directory_path() / ("gw-snapbench-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::vector<std::string> payload(pieces);
  for (std::size_t i = 0; i < pieces; ++i)
    payload[i].assign(piece_bytes, static_cast<char>('a' + i % 26));
  std::size_t bytes = 0;
  double cached = 0;
  for (auto _ : state) {
    atomic_file f(dir.string(), "snap", mode);
    f.append(std::string(40, '\0'));
    for (const auto& piece : payload) f.append(piece);
    f.overwrite(0, std::string(40, 'h'));
    f.commit();
    bytes += 40 + pieces * piece_bytes;
    state.PauseTiming();
    cached = static_cast<double>(resident_bytes((dir / "snap").string())) / (1024 * 1024);
    fs::remove(dir / "snap");
    state.ResumeTiming();
  }
  fs::remove_all(dir);
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  state.counters["page_cache_MiB"] = cached;
}
BENCHMARK(BM_SnapshotFileWrite)->Arg(0)->Arg(1)->Iterations(3)->Unit(benchmark::kMillisecond);
}  // namespace
