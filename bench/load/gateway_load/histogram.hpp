// A latency histogram in microseconds, HDR style: exact below 32, then 32
// buckets per power of two (1/32 = 3 % relative precision) up to 2^44 us.
// Fixed size, no allocation on record; one per thread, merged at the end.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

namespace gw::load {

class histogram {
 public:
  void record(std::int64_t us) {
    if (us < 0) us = 0;
    ++counts_[index(static_cast<std::uint64_t>(us))];
    ++total_;
    max_ = std::max(max_, us);
  }
  void merge(const histogram& o) {
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
    total_ += o.total_;
    max_ = std::max(max_, o.max_);
  }
  std::uint64_t total() const { return total_; }
  std::int64_t max() const { return max_; }
  // The smallest recorded bucket bound below which a fraction p of the
  // values lie (never above the maximum seen); 0 when empty.
  std::int64_t percentile(double p) const {
    if (total_ == 0) return 0;
    auto want = static_cast<std::uint64_t>(p * static_cast<double>(total_ - 1)) + 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i)
      if ((seen += counts_[i]) >= want) return std::min<std::int64_t>(upper(i), max_);
    return max_;
  }

 private:
  static constexpr unsigned sub = 32;
  static constexpr unsigned powers = 40;
  static std::size_t index(std::uint64_t v) {
    if (v < sub) return v;
    unsigned e = 63 - static_cast<unsigned>(__builtin_clzll(v));  // >= 5
    auto m = (v >> (e - 5)) & (sub - 1);
    return std::min<std::size_t>((e - 4) * sub + m, powers * sub - 1);
  }
  static std::int64_t upper(std::size_t i) {
    if (i < sub) return static_cast<std::int64_t>(i);
    auto e = i / sub + 4, m = i % sub;
    return static_cast<std::int64_t>(((sub + m + 1) << (e - 5)) - 1);
  }
  std::array<std::uint64_t, powers * sub> counts_{};
  std::uint64_t total_ = 0;
  std::int64_t max_ = 0;
};

}  // namespace gw::load
