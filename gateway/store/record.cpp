// Little-endian encoding of segment headers and records, CRC-32C protected.
#include "gateway/store/record.hpp"

#include <cstring>

#include "gateway/store/crc32c.hpp"
#include "gateway/store/files.hpp"

namespace gw::store {

namespace {
constexpr char magic[8] = {'G', 'W', 'J', 'O', 'U', 'R', 'N', 'L'};
}  // namespace

// Version 2: magic | version u32 | streams u32 | first lsn u64 | CRC u32 |
// reserved u32 | streams x before u64. The CRC covers bytes 0..23 and the
// `before` list.
void encode_segment_header(std::string& out, const segment_header& h) {
  auto start = out.size();
  out.append(magic, sizeof magic);
  put_le<std::uint32_t>(out, format_version);
  put_le<std::uint32_t>(out, static_cast<std::uint32_t>(h.before.size()));
  put_le<std::uint64_t>(out, h.first_lsn);
  put_le<std::uint32_t>(out, 0);  // CRC, filled below
  put_le<std::uint32_t>(out, 0);
  for (auto lsn : h.before) put_le<std::uint64_t>(out, lsn);
  std::uint32_t crc = crc32c(0, out.data() + start, 24);
  crc = crc32c(crc, out.data() + start + segment_header_bytes,
               out.size() - start - segment_header_bytes);
  for (int i = 0; i < 4; ++i) out[start + 24 + i] = static_cast<char>((crc >> (8 * i)) & 0xFF);
}

std::optional<segment_header> decode_segment_header(std::string_view b) {
  if (b.size() < segment_header_bytes || std::memcmp(b.data(), magic, sizeof magic) != 0)
    return std::nullopt;
  auto version = get_le<std::uint32_t>(b.data() + 8);
  auto first = get_le<std::uint64_t>(b.data() + 16);
  if (version == 1) {  // one stream; bytes 12..15 named the shard
    if (get_le<std::uint32_t>(b.data() + 24) != crc32c(0, b.data(), 24) || first == 0)
      return std::nullopt;
    return segment_header{first, {first - 1}};
  }
  if (version != format_version) return std::nullopt;
  auto streams = get_le<std::uint32_t>(b.data() + 12);
  if (streams == 0 || streams > max_streams || b.size() < segment_header_size(streams) ||
      first == 0)
    return std::nullopt;
  std::uint32_t crc = crc32c(0, b.data(), 24);
  crc = crc32c(crc, b.data() + segment_header_bytes, 8 * std::size_t{streams});
  if (get_le<std::uint32_t>(b.data() + 24) != crc) return std::nullopt;
  segment_header h{first, std::vector<std::uint64_t>(streams)};
  for (std::uint32_t s = 0; s < streams; ++s) {
    h.before[s] = get_le<std::uint64_t>(b.data() + segment_header_bytes + 8 * s);
    if (h.before[s] >= first) return std::nullopt;
  }
  return h;
}

std::uint32_t segment_version(std::string_view b) noexcept {
  if (b.size() < 12 || std::memcmp(b.data(), magic, sizeof magic) != 0) return 0;
  return get_le<std::uint32_t>(b.data() + 8);
}

// Record: crc32c u32 | length u32 | lsn u64 | type u8 | flags u8 | reserved u16 |
// stream u32 (reserved, 0, in version 1) | payload. The CRC covers everything
// after itself.
void encode_record(std::string& out, std::uint64_t lsn, record_type type, std::string_view payload,
                   std::uint32_t stream) {
  auto start = out.size();
  put_le<std::uint32_t>(out, 0);  // CRC, filled below
  put_le<std::uint32_t>(out, static_cast<std::uint32_t>(payload.size()));
  put_le<std::uint64_t>(out, lsn);
  put_le<std::uint8_t>(out, static_cast<std::uint8_t>(type));
  put_le<std::uint8_t>(out, 0);
  put_le<std::uint16_t>(out, 0);
  put_le<std::uint32_t>(out, stream);
  out.append(payload);
  std::uint32_t crc = crc32c(0, out.data() + start + 4, out.size() - start - 4);
  for (int i = 0; i < 4; ++i) out[start + i] = static_cast<char>((crc >> (8 * i)) & 0xFF);
}

decode_status decode_record(std::string_view b, std::uint64_t expected_lsn, std::uint32_t streams,
                            record_view& out) noexcept {
  if (b.size() < record_header_bytes) return decode_status::need_more;
  auto len = get_le<std::uint32_t>(b.data() + 4);
  if (len > max_record_payload) return decode_status::corrupt;
  if (b.size() < record_header_bytes + len) return decode_status::need_more;
  auto crc = get_le<std::uint32_t>(b.data());
  if (crc != crc32c(0, b.data() + 4, record_header_bytes - 4 + len)) return decode_status::corrupt;
  auto lsn = get_le<std::uint64_t>(b.data() + 8);
  auto type = static_cast<std::uint8_t>(b[16]);
  auto stream = get_le<std::uint32_t>(b.data() + 20);
  if (lsn != expected_lsn || type < static_cast<std::uint8_t>(record_type::events) ||
      type > static_cast<std::uint8_t>(record_type::balance) || stream >= streams)
    return decode_status::corrupt;
  out = record_view{lsn, static_cast<record_type>(type), stream, b.substr(record_header_bytes, len),
                    record_header_bytes + len};
  return decode_status::ok;
}

}  // namespace gw::store
