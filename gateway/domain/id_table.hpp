// A table keyed by strings, for the lookups on every webhook's path: a
// conversation's provider message ids (its dedupe) and a shard's
// conversations by key. Open addressing; a key's bytes are read only when
// its hash bits match.
//
// Why not std::unordered_map: every webhook asks its conversation's table
// about a new id and then inserts it, and with 10,000 conversations the
// tables are out of cache. A node-based table pays a miss for the bucket,
// one per node it walks, and one for the key's heap bytes it compares; it
// allocates a node per insert; and each time it grows it relinks every node,
// a miss per key (bench/PROFILE.md, "The dedupe table, flat"). Here:
//
// - `slots_`, a power-of-two array of 8-byte slots: the upper 32 bits a
//   32-bit hash of the key, the lower 32 the key's index in `entries_` plus
//   one (0: empty). A lookup walks consecutive slots (linear probing, at
//   most 3/4 full) and compares a key's bytes only when its 32 hash bits
//   match, so a new id costs a slot array read and no key;
// - `entries_`, the keys and values, dense, in insertion order (values
//   move when it grows: hold a pointer to a value only until the next
//   insert, or store values that are pointers);
// - growing rebuilds the slots from their own hash bits: no key is read.
//
// Removal (`erase_if`, a daily sweep) keeps the survivors in order and
// rebuilds the slots. Lookups take a std::string_view. Not thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gw::domain {

template <class V>
class id_table {
 public:
  // Named like std::pair's members, so code that walks the table reads the
  // same as over a std::unordered_map (and structured bindings work).
  struct entry {
    std::string first;
    V second;
  };
  using const_iterator = typename std::vector<entry>::const_iterator;
  using iterator = typename std::vector<entry>::iterator;

  id_table() = default;
  id_table(const id_table& o) : entries_(o.entries_), mask_(o.mask_) {
    if (o.slots_) {
      slots_ = std::make_unique<std::uint64_t[]>(mask_ + 1);
      std::copy(o.slots_.get(), o.slots_.get() + mask_ + 1, slots_.get());
    }
  }
  id_table& operator=(const id_table& o) {
    if (this != &o) *this = id_table(o);
    return *this;
  }
  id_table(id_table&&) noexcept = default;
  id_table& operator=(id_table&&) noexcept = default;

  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }
  // Slots allocated (0 for an empty table): for the memory tests.
  std::size_t slot_count() const noexcept { return slots_ ? mask_ + 1 : 0; }

  iterator begin() noexcept { return entries_.begin(); }
  iterator end() noexcept { return entries_.end(); }
  const_iterator begin() const noexcept { return entries_.begin(); }
  const_iterator end() const noexcept { return entries_.end(); }

  // Room for `n` ids without growing.
  void reserve(std::size_t n) {
    entries_.reserve(n);
    if (slots_needed(n) > slot_count()) rebuild(slots_needed(n), nullptr);
  }

  void clear() noexcept {
    entries_.clear();
    slots_.reset();
    mask_ = 0;
  }

  V* find(std::string_view key) noexcept {
    auto i = index_of(key, hash32(key));
    return i == npos ? nullptr : &entries_[i].second;
  }
  const V* find(std::string_view key) const noexcept {
    return const_cast<id_table*>(this)->find(key);
  }
  bool contains(std::string_view key) const noexcept { return find(key) != nullptr; }
  V& at(std::string_view key) {
    if (auto* v = find(key)) return *v;
    throw std::out_of_range("id_table::at: no such id");
  }
  const V& at(std::string_view key) const { return const_cast<id_table*>(this)->at(key); }

  // Sets the value of `key`, adding it when new. True when it was added.
  bool insert_or_assign(std::string key, V value) {
    const auto h = hash32(key);
    if (auto i = index_of(key, h); i != npos) {
      entries_[i].second = std::move(value);
      return false;
    }
    if (entries_.size() >= max_entries) throw std::length_error("id_table: too many ids");
    if (slots_needed(entries_.size() + 1) > slot_count())
      rebuild(std::max<std::size_t>(slots_needed(entries_.size() + 1), 2 * slot_count()), nullptr);
    entries_.push_back({std::move(key), std::move(value)});
    place(slots_.get(), mask_, h, entries_.size());
    return true;
  }

  // Removes the entries `pred` holds true for; the others keep their order.
  template <class Pred>
  std::size_t erase_if(Pred pred) {
    std::vector<std::uint32_t> moved(entries_.size());  // old index -> new index + 1, 0 if gone
    std::size_t kept = 0;
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      if (pred(std::as_const(entries_[i]))) continue;
      if (kept != i) entries_[kept] = std::move(entries_[i]);
      moved[i] = static_cast<std::uint32_t>(++kept);
    }
    const auto removed = entries_.size() - kept;
    if (removed == 0) return 0;
    entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(kept), entries_.end());
    if (entries_.empty())
      clear();
    else
      rebuild(slots_needed(kept), &moved);
    return removed;
  }

  // The 32 bits of a key's hash that a slot keeps (public for the tests,
  // which need keys that share them).
  static std::uint32_t hash32(std::string_view s) noexcept {
    const std::uint64_t h = std::hash<std::string_view>{}(s);
    return static_cast<std::uint32_t>(h ^ (h >> 32));
  }

  // Equal when they map the same ids to the same values, in any order.
  friend bool operator==(const id_table& a, const id_table& b) {
    if (a.size() != b.size()) return false;
    for (const auto& [k, v] : a) {
      const V* w = b.find(k);
      if (!w || !(*w == v)) return false;
    }
    return true;
  }

 private:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_entries = 0xFFFF'FFFEu;  // a slot holds index + 1 in 32 bits

  // At most 3/4 full, at least 4 slots.
  static std::size_t slots_needed(std::size_t n) noexcept {
    std::size_t cap = 4;
    while (cap * 3 < n * 4) cap *= 2;
    return cap;
  }
  static void place(std::uint64_t* slots, std::size_t mask, std::uint32_t h, std::size_t index1) {
    for (std::size_t i = h & mask;; i = (i + 1) & mask)
      if (slots[i] == 0) {
        slots[i] = (std::uint64_t{h} << 32) | index1;
        return;
      }
  }

  std::size_t index_of(std::string_view key, std::uint32_t h) const noexcept {
    if (!slots_) return npos;
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      const auto s = slots_[i];
      if (s == 0) return npos;
      if (static_cast<std::uint32_t>(s >> 32) == h) {
        const auto at = static_cast<std::size_t>(s & 0xFFFF'FFFFu) - 1;
        if (entries_[at].first == key) return at;
      }
    }
  }

  // New slots of `cap`, from the old ones' hash bits; `moved` renumbers the
  // entries after a removal (0: the entry is gone).
  void rebuild(std::size_t cap, const std::vector<std::uint32_t>* moved) {
    auto fresh = std::make_unique<std::uint64_t[]>(cap);  // zeroed: all empty
    for (std::size_t i = 0; slots_ && i <= mask_; ++i) {
      const auto s = slots_[i];
      if (s == 0) continue;
      std::size_t index1 = s & 0xFFFF'FFFFu;
      if (moved && (index1 = (*moved)[index1 - 1]) == 0) continue;
      place(fresh.get(), cap - 1, static_cast<std::uint32_t>(s >> 32), index1);
    }
    slots_ = std::move(fresh);
    mask_ = cap - 1;
  }

  std::vector<entry> entries_;
  std::unique_ptr<std::uint64_t[]> slots_;
  std::size_t mask_ = 0;  // slot_count() - 1 once slots exist
};

}  // namespace gw::domain
