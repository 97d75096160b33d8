// CRC-32C (Castagnoli), as used by the journal's records: SSE4.2 when the
// CPU has it, a table otherwise; both give the same values.
#pragma once

#include <cstddef>
#include <cstdint>

namespace gw::store {

// Extends `crc` (0 to start) over `n` bytes.
std::uint32_t crc32c(std::uint32_t crc, const void* data, std::size_t n) noexcept;

}  // namespace gw::store
