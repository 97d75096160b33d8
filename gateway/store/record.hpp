// The journal's on-disk record and segment header (format version 2; version
// 1 is still read; see FORMAT.md): encoding and validating decoding, without
// I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gw::store {

inline constexpr std::uint32_t format_version = 2;
// The fixed part of a segment header; version 2 follows it with one LSN per
// stream (segment_header_size).
inline constexpr std::size_t segment_header_bytes = 32;
inline constexpr std::uint32_t max_streams = 1024;
inline constexpr std::size_t record_header_bytes = 24;
inline constexpr std::size_t max_record_payload = 16 * 1024 * 1024;

enum class record_type : std::uint8_t {
  events = 1,     // one atomic batch of domain events (the event journal)
  directory = 2,  // one directory change, JSON (the directory journal)
  balance = 3,    // one prepaid balance movement (the balance journal)
};

// A journal carries one or more streams (the event journal: one per shard)
// in one LSN sequence. `before[s]` is the LSN of stream s's last record in
// the segments before this one (0: none), so a reader knows whether a
// stream's history starts in this segment, and the writer when a segment
// holds nothing a stream still needs.
struct segment_header {
  std::uint64_t first_lsn = 0;
  std::vector<std::uint64_t> before;  // one per stream
};

// The header's size in bytes for `streams` streams.
inline std::size_t segment_header_size(std::size_t streams) {
  return segment_header_bytes + 8 * streams;
}

void encode_segment_header(std::string& out, const segment_header& h);
// Reads a version 2 header, or a version 1 header as one stream (its
// `before` is first_lsn - 1). nullopt: not a valid header (or `bytes` ends
// inside it).
std::optional<segment_header> decode_segment_header(std::string_view bytes);
// The version field of a segment that starts with the magic, else 0.
std::uint32_t segment_version(std::string_view bytes) noexcept;

// Appends one record (header + payload) of `stream` to `out`.
void encode_record(std::string& out, std::uint64_t lsn, record_type type, std::string_view payload,
                   std::uint32_t stream = 0);

struct record_view {
  std::uint64_t lsn;
  record_type type;
  std::uint32_t stream;  // 0 in a version 1 segment
  std::string_view payload;
  std::size_t size;  // header + payload: where the next record starts
};

enum class decode_status { ok, need_more, corrupt };

// Decodes the record at the start of `bytes`, expecting `expected_lsn` and
// a stream below `streams`. need_more: `bytes` ends inside the record (a
// torn tail); corrupt: bad CRC, length, type, stream or sequence.
decode_status decode_record(std::string_view bytes, std::uint64_t expected_lsn,
                            std::uint32_t streams, record_view& out) noexcept;

}  // namespace gw::store
