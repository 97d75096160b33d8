#include "gateway/store/record.hpp"

#include <gtest/gtest.h>

#include "gateway/store/crc32c.hpp"

namespace gw::store {
namespace {

TEST(Crc32c, KnownVectors) {
  // RFC 3720 B.4 and the common check value.
  EXPECT_EQ(crc32c(0, "123456789", 9), 0xE3069283u);
  std::string zeros(32, '\0');
  EXPECT_EQ(crc32c(0, zeros.data(), zeros.size()), 0x8A9136AAu);
  // Incremental equals one-shot.
  std::string s = "the quick brown fox jumps over the lazy dog";
  EXPECT_EQ(crc32c(crc32c(0, s.data(), 10), s.data() + 10, s.size() - 10),
            crc32c(0, s.data(), s.size()));
}

TEST(Record, RoundTripAndSequenceCheck) {
  std::string buf;
  encode_record(buf, 7, record_type::events, "hello");
  encode_record(buf, 8, record_type::events, "");
  record_view r{};
  ASSERT_EQ(decode_record(buf, 7, r), decode_status::ok);
  EXPECT_EQ(r.lsn, 7u);
  EXPECT_EQ(r.payload, "hello");
  EXPECT_EQ(r.size, record_header_bytes + 5);
  ASSERT_EQ(decode_record(std::string_view(buf).substr(r.size), 8, r), decode_status::ok);
  EXPECT_EQ(r.payload, "");
  EXPECT_EQ(decode_record(buf, 6, r), decode_status::corrupt);  // wrong lsn
}

TEST(Record, EveryTruncationNeedsMoreEveryBitFlipIsCorrupt) {
  std::string buf;
  encode_record(buf, 1, record_type::events, "payload bytes");
  record_view r{};
  for (std::size_t cut = 0; cut < buf.size(); ++cut)
    EXPECT_NE(decode_record(std::string_view(buf).substr(0, cut), 1, r), decode_status::ok) << cut;
  for (std::size_t byte = 0; byte < buf.size(); ++byte)
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = buf;
      bad[byte] = static_cast<char>(bad[byte] ^ (1 << bit));
      EXPECT_NE(decode_record(bad, 1, r), decode_status::ok) << byte << ":" << bit;
    }
}

TEST(SegmentHeader, RoundTripAndRejection) {
  std::string h;
  encode_segment_header(h, {3, 42});
  ASSERT_EQ(h.size(), segment_header_bytes);
  auto d = decode_segment_header(h);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->shard, 3u);
  EXPECT_EQ(d->first_lsn, 42u);
  h[17] ^= 1;
  EXPECT_FALSE(decode_segment_header(h));
  EXPECT_FALSE(decode_segment_header("short"));
}

}  // namespace
}  // namespace gw::store
