// Little-endian encoding of segment headers and records, CRC-32C protected.
#include "gateway/store/record.hpp"

#include <cstring>

#include "gateway/store/crc32c.hpp"
#include "gateway/store/files.hpp"

namespace gw::store {

namespace {
constexpr char magic[8] = {'G', 'W', 'J', 'O', 'U', 'R', 'N', 'L'};
}  // namespace

void encode_segment_header(std::string& out, const segment_header& h) {
  auto start = out.size();
  out.append(magic, sizeof magic);
  put_le<std::uint32_t>(out, format_version);
  put_le<std::uint32_t>(out, h.shard);
  put_le<std::uint64_t>(out, h.first_lsn);
  put_le<std::uint32_t>(out, crc32c(0, out.data() + start, 24));
  put_le<std::uint32_t>(out, 0);
}

std::optional<segment_header> decode_segment_header(std::string_view b) noexcept {
  if (b.size() < segment_header_bytes || std::memcmp(b.data(), magic, sizeof magic) != 0)
    return std::nullopt;
  if (get_le<std::uint32_t>(b.data() + 8) != format_version) return std::nullopt;
  if (get_le<std::uint32_t>(b.data() + 24) != crc32c(0, b.data(), 24)) return std::nullopt;
  return segment_header{get_le<std::uint32_t>(b.data() + 12), get_le<std::uint64_t>(b.data() + 16)};
}

std::uint32_t segment_version(std::string_view b) noexcept {
  if (b.size() < 12 || std::memcmp(b.data(), magic, sizeof magic) != 0) return 0;
  return get_le<std::uint32_t>(b.data() + 8);
}

// Record: crc32c u32 | length u32 | lsn u64 | type u8 | flags u8 | reserved u16 |
// reserved u32 | payload. The CRC covers everything after itself.
void encode_record(std::string& out, std::uint64_t lsn, record_type type,
                   std::string_view payload) {
  auto start = out.size();
  put_le<std::uint32_t>(out, 0);  // CRC, filled below
  put_le<std::uint32_t>(out, static_cast<std::uint32_t>(payload.size()));
  put_le<std::uint64_t>(out, lsn);
  put_le<std::uint8_t>(out, static_cast<std::uint8_t>(type));
  put_le<std::uint8_t>(out, 0);
  put_le<std::uint16_t>(out, 0);
  put_le<std::uint32_t>(out, 0);
  out.append(payload);
  std::uint32_t crc = crc32c(0, out.data() + start + 4, out.size() - start - 4);
  for (int i = 0; i < 4; ++i) out[start + i] = static_cast<char>((crc >> (8 * i)) & 0xFF);
}

decode_status decode_record(std::string_view b, std::uint64_t expected_lsn,
                            record_view& out) noexcept {
  if (b.size() < record_header_bytes) return decode_status::need_more;
  auto len = get_le<std::uint32_t>(b.data() + 4);
  if (len > max_record_payload) return decode_status::corrupt;
  if (b.size() < record_header_bytes + len) return decode_status::need_more;
  auto crc = get_le<std::uint32_t>(b.data());
  if (crc != crc32c(0, b.data() + 4, record_header_bytes - 4 + len)) return decode_status::corrupt;
  auto lsn = get_le<std::uint64_t>(b.data() + 8);
  auto type = static_cast<std::uint8_t>(b[16]);
  if (lsn != expected_lsn || type < static_cast<std::uint8_t>(record_type::events) ||
      type > static_cast<std::uint8_t>(record_type::balance))
    return decode_status::corrupt;
  out = record_view{lsn, static_cast<record_type>(type), b.substr(record_header_bytes, len),
                    record_header_bytes + len};
  return decode_status::ok;
}

}  // namespace gw::store
