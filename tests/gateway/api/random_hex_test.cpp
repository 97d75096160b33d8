// Ids and secrets: random_hex hands out CSPRNG bytes fetched 4 KiB ahead,
// so the buffer's edges must neither repeat nor lose bytes.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "gateway/api/directory_api.hpp"

namespace gw::api {
namespace {

bool is_hex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

TEST(RandomHex, LowercaseHexOfTheAskedLength) {
  for (std::size_t n : {1u, 8u, 32u, 5000u}) {  // 5000: more than one buffer at once
    auto s = random_hex(n);
    EXPECT_EQ(s.size(), 2 * n);
    EXPECT_TRUE(is_hex(s)) << s.substr(0, 64);
  }
}

TEST(RandomHex, NoIdRepeatsAcrossManyBuffers) {
  // 8-byte ids: 20,000 of them span 39 refills; a repeat would mean a
  // buffer handed out twice (2^-64 per pair otherwise).
  std::set<std::string> seen;
  for (int i = 0; i < 20'000; ++i) ASSERT_TRUE(seen.insert(random_hex(8)).second) << i;
  // Odd sizes straddle the buffer's end.
  for (int i = 0; i < 2'000; ++i) ASSERT_TRUE(seen.insert(random_hex(7)).second) << i;
}

TEST(RandomHex, ThreadsDrawDifferentBytes) {
  std::vector<std::string> a, b;
  std::thread t1([&] {
    for (int i = 0; i < 1000; ++i) a.push_back(random_hex(8));
  });
  std::thread t2([&] {
    for (int i = 0; i < 1000; ++i) b.push_back(random_hex(8));
  });
  t1.join();
  t2.join();
  std::set<std::string> all(a.begin(), a.end());
  all.insert(b.begin(), b.end());
  EXPECT_EQ(all.size(), 2000u);
}

}  // namespace
}  // namespace gw::api
