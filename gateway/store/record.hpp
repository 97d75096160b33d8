// The journal's on-disk record and segment header (format version 1, see
// FORMAT.md): encoding and validating decoding, without I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gw::store {

inline constexpr std::uint32_t format_version = 1;
inline constexpr std::size_t segment_header_bytes = 32;
inline constexpr std::size_t record_header_bytes = 24;
inline constexpr std::size_t max_record_payload = 16 * 1024 * 1024;

enum class record_type : std::uint8_t {
  events = 1,     // one atomic batch of domain events (shard journals)
  directory = 2,  // one directory change, JSON (the directory journal)
  balance = 3,    // one prepaid balance movement (the balance journal)
};

struct segment_header {
  std::uint32_t shard = 0;
  std::uint64_t first_lsn = 0;
};

void encode_segment_header(std::string& out, const segment_header& h);
std::optional<segment_header> decode_segment_header(std::string_view bytes) noexcept;
// The version field of a segment that starts with the magic, else 0.
std::uint32_t segment_version(std::string_view bytes) noexcept;

// Appends one record (header + payload) to `out`.
void encode_record(std::string& out, std::uint64_t lsn, record_type type, std::string_view payload);

struct record_view {
  std::uint64_t lsn;
  record_type type;
  std::string_view payload;
  std::size_t size;  // header + payload: where the next record starts
};

enum class decode_status { ok, need_more, corrupt };

// Decodes the record at the start of `bytes`, expecting `expected_lsn`.
// need_more: `bytes` ends inside the record (a torn tail); corrupt: bad
// CRC, length, type or sequence.
decode_status decode_record(std::string_view bytes, std::uint64_t expected_lsn,
                            record_view& out) noexcept;

}  // namespace gw::store
