#include "gateway/store/record.hpp"

#include <gtest/gtest.h>

#include "gateway/store/crc32c.hpp"
#include "gateway/store/files.hpp"

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
  ASSERT_EQ(decode_record(buf, 7, 1, r), decode_status::ok);
  EXPECT_EQ(r.lsn, 7u);
  EXPECT_EQ(r.payload, "hello");
  EXPECT_EQ(r.size, record_header_bytes + 5);
  ASSERT_EQ(decode_record(std::string_view(buf).substr(r.size), 8, 1, r), decode_status::ok);
  EXPECT_EQ(r.payload, "");
  EXPECT_EQ(decode_record(buf, 6, 1, r), decode_status::corrupt);  // wrong lsn
}

TEST(Record, EveryTruncationNeedsMoreEveryBitFlipIsCorrupt) {
  std::string buf;
  encode_record(buf, 1, record_type::events, "payload bytes", 2);
  record_view r{};
  for (std::size_t cut = 0; cut < buf.size(); ++cut)
    EXPECT_NE(decode_record(std::string_view(buf).substr(0, cut), 1, 4, r), decode_status::ok)
        << cut;
  for (std::size_t byte = 0; byte < buf.size(); ++byte)
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = buf;
      bad[byte] = static_cast<char>(bad[byte] ^ (1 << bit));
      EXPECT_NE(decode_record(bad, 1, 4, r), decode_status::ok) << byte << ":" << bit;
    }
}

// A record names its stream; a stream the journal does not have is damage.
TEST(Record, CarriesItsStream) {
  std::string buf;
  encode_record(buf, 9, record_type::events, "x", 3);
  record_view r{};
  ASSERT_EQ(decode_record(buf, 9, 4, r), decode_status::ok);
  EXPECT_EQ(r.stream, 3u);
  EXPECT_EQ(decode_record(buf, 9, 3, r), decode_status::corrupt);
}

TEST(SegmentHeader, RoundTripAndRejection) {
  std::string h;
  encode_segment_header(h, {42, {0, 17, 41}});
  ASSERT_EQ(h.size(), segment_header_size(3));
  auto d = decode_segment_header(h);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->first_lsn, 42u);
  EXPECT_EQ(d->before, (std::vector<std::uint64_t>{0, 17, 41}));
  for (std::size_t byte : {12u, 17u, 40u}) {  // the stream count, the first LSN, a `before`
    auto bad = h;
    bad[byte] ^= 1;
    EXPECT_FALSE(decode_segment_header(bad)) << byte;
  }
  EXPECT_FALSE(decode_segment_header(h.substr(0, h.size() - 1))) << "ends inside the list";
  EXPECT_FALSE(decode_segment_header("short"));
  std::string later;
  encode_segment_header(later, {42, {42}});  // a stream's record before the segment can't be in it
  EXPECT_FALSE(decode_segment_header(later));
}

// Version 1 headers (a journal per shard) still read, as one stream whose
// records before the segment end just before its first.
TEST(SegmentHeader, VersionOneReadsAsOneStream) {
  std::string h = "GWJOURNL";
  put_le<std::uint32_t>(h, 1);
  put_le<std::uint32_t>(h, 5);  // its shard
  put_le<std::uint64_t>(h, 4097);
  put_le<std::uint32_t>(h, crc32c(0, h.data(), 24));
  put_le<std::uint32_t>(h, 0);
  auto d = decode_segment_header(h);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->first_lsn, 4097u);
  EXPECT_EQ(d->before, (std::vector<std::uint64_t>{4096}));
  EXPECT_EQ(segment_version(h), 1u);
}

}  // namespace
}  // namespace gw::store
