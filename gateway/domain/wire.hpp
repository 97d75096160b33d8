// Varint and length-prefixed string helpers shared by the binary codecs
// (event batches, snapshots). Readers never read past their input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace gw::domain::wire {

inline void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

inline void put_str(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}

// Reads from `in`; after any failure `ok` is false and results are zero/empty.
struct reader {
  std::string_view in;
  bool ok = true;

  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in.empty()) return fail();
      auto b = static_cast<unsigned char>(in.front());
      in.remove_prefix(1);
      v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    return fail();
  }
  void str(std::string& out) {
    auto n = varint();
    if (!ok || n > in.size()) {
      fail();
      out.clear();
      return;
    }
    out.assign(in.data(), n);
    in.remove_prefix(n);
  }
  // A string like str()'s, as a view into the input.
  std::string_view view() {
    auto n = varint();
    if (!ok || n > in.size()) {
      fail();
      return {};
    }
    auto v = in.substr(0, n);
    in.remove_prefix(n);
    return v;
  }
  std::uint8_t byte() {
    if (in.empty()) return static_cast<std::uint8_t>(fail());
    auto b = static_cast<std::uint8_t>(in.front());
    in.remove_prefix(1);
    return b;
  }
  std::uint64_t fail() {
    ok = false;
    return 0;
  }
};

}  // namespace gw::domain::wire
