#include "gateway/store/snapshot.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/support/process.hpp"

namespace gw::store {
namespace {

namespace fs = std::filesystem;

// Pieces of uneven sizes, some crossing the writer's 1 MiB slices, so the
// file is written in slices that end inside pieces and at their ends.
snapshot pieces_of(std::uint64_t lsn, const std::vector<std::size_t>& sizes) {
  snapshot s;
  s.lsn = lsn;
  char c = 'a';
  for (auto n : sizes) {
    std::string piece;
    for (std::size_t i = 0; i < n; ++i) piece.push_back(static_cast<char>(c + i % 7));
    s.payload.push_back(std::move(piece));
    ++c;
  }
  return s;
}

std::string joined(const snapshot& s) {
  std::string all;
  for (const auto& piece : s.payload) all += piece;
  return all;
}

TEST(Snapshot, PiecesAreWrittenAsOnePayloadAndLoadBackAsOne) {
  test::temp_dir d;
  auto s = pieces_of(42, {1, 0, 700'000, 600'000, 1'048'576, 3, 131'072});
  write_snapshot(d.path(), 1, s);
  auto back = load_latest_snapshot(d.path(), 1);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->lsn, 42u);
  EXPECT_EQ(back->payload, joined(s));
  // The file is the 40-byte header and the payload, nothing else.
  EXPECT_EQ(fs::file_size(d.path() + "/snap-00000000000000000042.snap"), 40 + s.size());
  // Another shard's snapshot is not this shard's.
  EXPECT_FALSE(load_latest_snapshot(d.path(), 2));
}

TEST(Snapshot, AFlippedByteInAnyPieceFallsBackToTheOlderSnapshot) {
  test::temp_dir d;
  auto older = pieces_of(10, {5, 9});
  auto newer = pieces_of(20, {300'000, 200'000, 17});
  write_snapshot(d.path(), 0, older);
  // write_snapshot removes older snapshots once the new one is in place:
  // keep a copy of the older file to put back beside the damaged newer one.
  fs::copy_file(d.path() + "/snap-00000000000000000010.snap", d.path() + "/keep");
  write_snapshot(d.path(), 0, newer);
  fs::rename(d.path() + "/keep", d.path() + "/snap-00000000000000000010.snap");
  {
    // A byte of the second piece, well past the first.
    std::fstream f(d.path() + "/snap-00000000000000000020.snap",
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40 + 300'000 + 1'000);
    f.put('!');
  }
  auto back = load_latest_snapshot(d.path(), 0);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->lsn, 10u);
  EXPECT_EQ(back->payload, joined(older));
}

// A loaded snapshot's payload is the file, mapped: it stays readable for as
// long as the snapshot (or a copy of its storage) lives, even once a newer
// snapshot has removed the file.
TEST(Snapshot, ALoadedPayloadOutlivesItsFile) {
  test::temp_dir d;
  auto s = pieces_of(7, {100'000, 3});
  write_snapshot(d.path(), 0, s);
  auto back = load_latest_snapshot(d.path(), 0);
  ASSERT_TRUE(back);
  write_snapshot(d.path(), 0, pieces_of(8, {1}));  // removes snap-...07
  EXPECT_FALSE(fs::exists(d.path() + "/snap-00000000000000000007.snap"));
  auto copy = *back;
  back.reset();
  EXPECT_EQ(copy.lsn, 7u);
  EXPECT_EQ(copy.payload, joined(s));
}

// A snapshot written piece by piece and abandoned before its commit (the
// gateway stopped, or the disk failed mid-way) leaves the previous one in
// place and no temporary file behind.
TEST(Snapshot, AnUncommittedSnapshotLeavesThePreviousOne) {
  test::temp_dir d;
  auto older = pieces_of(10, {5, 9});
  write_snapshot(d.path(), 0, older);
  {
    snapshot_file newer(d.path(), 0, 20);
    newer.append(std::string(2'500'000, 'n'));  // past a write-back slice
    newer.append("more");
  }
  auto back = load_latest_snapshot(d.path(), 0);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->lsn, 10u);
  EXPECT_EQ(back->payload, joined(older));
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(d.path())) names.push_back(e.path().filename());
  EXPECT_EQ(names, std::vector<std::string>{"snap-00000000000000000010.snap"});
}

// A process killed while writing a snapshot leaves its temporary file; the
// next start-up removes it and loads the last complete snapshot.
TEST(Snapshot, TheTemporaryFileOfAKilledWriterIsRemovedAtStartUp) {
  test::temp_dir d;
  write_snapshot(d.path(), 0, pieces_of(10, {5, 9}));
  std::ofstream(d.path() + "/snap-00000000000000000020.snap.tmp") << std::string(4096, 'x');
  auto back = load_latest_snapshot(d.path(), 0);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->lsn, 10u);
  EXPECT_FALSE(fs::exists(d.path() + "/snap-00000000000000000020.snap.tmp"));
  EXPECT_TRUE(fs::exists(d.path() + "/snap-00000000000000000010.snap"));
}

std::string contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The same for any file replaced through atomic_file.
TEST(AtomicFile, ReplacesTheFileOnlyOnCommit) {
  test::temp_dir d;
  write_file_atomically(d.path(), "EPOCH", {"41\n"});
  auto read = [&] { return contents(d.path() + "/EPOCH"); };
  {
    atomic_file f(d.path(), "EPOCH");
    f.append("42");
    f.overwrite(0, "7");
  }
  EXPECT_EQ(read(), "41\n");
  EXPECT_FALSE(fs::exists(d.path() + "/EPOCH.tmp"));
  atomic_file f(d.path(), "EPOCH");
  f.append("42\n");
  f.overwrite(0, "7");
  f.commit();
  EXPECT_EQ(read(), "72\n");
  EXPECT_FALSE(fs::exists(d.path() + "/EPOCH.tmp"));
}

// Whether files in `dir` can be opened O_DIRECT (not on tmpfs).
bool takes_direct_io(const std::string& dir) {
  int fd = ::open((dir + "/probe").c_str(), O_WRONLY | O_CREAT | O_DIRECT | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  ::close(fd);
  fs::remove(dir + "/probe");
  return true;
}

// io::direct writes whole megabytes past the page cache and the rest through
// it: appends that end anywhere, and overwrites of bytes already written out,
// of bytes still buffered, and of both at once, give the same file as plain
// writes would.
TEST(AtomicFile, DirectIoWritesTheSameBytes) {
  test::temp_dir d;
  constexpr std::size_t mib = 1024 * 1024;
  std::string expected;
  atomic_file f(d.path(), "big", atomic_file::io::direct);
  EXPECT_EQ(f.direct(), takes_direct_io(d.path()));
  for (std::size_t n : {40ul, 700'000ul, mib, 3ul, 2 * mib + 1, 17ul}) {
    std::string part(n, '\0');
    for (std::size_t i = 0; i < n; ++i)
      part[i] = static_cast<char>('a' + (expected.size() + i) % 23);
    f.append(part);
    expected += part;
  }
  auto put = [&](std::size_t at, std::string_view bytes) {
    f.overwrite(at, bytes);
    expected.replace(at, bytes.size(), bytes);
  };
  put(0, std::string(40, 'H'));       // the header, long written out
  put(expected.size() - 5, "tail!");  // still buffered
  put(3 * mib - 3, "across");         // the last whole megabyte and the buffer
  EXPECT_THROW(f.overwrite(expected.size() - 1, "xy"), std::system_error);  // past the end
  f.commit();
  EXPECT_EQ(contents(d.path() + "/big"), expected);
  EXPECT_FALSE(fs::exists(d.path() + "/big.tmp"));
}

// What went direct is not in the page cache after the commit; the bytes
// written through it (the header, the tail) are.
TEST(AtomicFile, DirectIoLeavesTheMegabytesOutOfThePageCache) {
  test::temp_dir d;
  if (!takes_direct_io(d.path())) GTEST_SKIP() << "no O_DIRECT on " << d.path();
  constexpr std::size_t mib = 1024 * 1024;
  {
    atomic_file f(d.path(), "big", atomic_file::io::direct);
    f.append(std::string(3 * mib + 5000, 'x'));
    f.overwrite(0, "header");
    f.commit();
  }
  int fd = ::open((d.path() + "/big").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  auto size = 3 * mib + 5000;
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  ASSERT_NE(p, MAP_FAILED);
  auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> resident((size + page - 1) / page);
  ASSERT_EQ(::mincore(p, size, resident.data()), 0);
  ::munmap(p, size);
  std::size_t cached_direct = 0;
  for (std::size_t i = 1; i < 3 * mib / page; ++i) cached_direct += resident[i] & 1;
  EXPECT_EQ(cached_direct, 0u);
  EXPECT_TRUE(resident[0] & 1);      // the header, overwritten through the cache
  EXPECT_TRUE(resident.back() & 1);  // the tail
}

}  // namespace
}  // namespace gw::store
