// A conversation's kept history: a vector that drops its oldest entries in
// amortised constant time.
//
// Why not std::deque: libstdc++'s deque allocates its map and a 512-byte
// block when it is constructed, before the first entry, and a conversation
// that holds one message paid ~600 bytes for it, a third of its memory
// (bench/RESULTS.md, M2). Here an empty history owns no memory, and one
// entry costs one entry.
//
// Dropping from the front only advances `first_` (the entry is reset, so
// its strings go at once); the gap is closed when the vector is full, just
// before it would grow. So at steady state (an entry in, the oldest out)
// the vector never reallocates: its capacity stays at the power of two
// above the largest size it held, and each entry is moved about
// size / (capacity - size) times on average.
#pragma once

#include <cstddef>
#include <iterator>
#include <utility>
#include <vector>

namespace gw::domain {

template <class T>
class history_buffer {
 public:
  using value_type = T;
  using iterator = typename std::vector<T>::iterator;
  using const_iterator = typename std::vector<T>::const_iterator;
  using reverse_iterator = std::reverse_iterator<iterator>;
  using const_reverse_iterator = std::reverse_iterator<const_iterator>;

  std::size_t size() const noexcept { return items_.size() - first_; }
  bool empty() const noexcept { return size() == 0; }
  std::size_t capacity() const noexcept { return items_.capacity(); }  // entries it has room for

  iterator begin() noexcept { return items_.begin() + static_cast<std::ptrdiff_t>(first_); }
  iterator end() noexcept { return items_.end(); }
  const_iterator begin() const noexcept {
    return items_.begin() + static_cast<std::ptrdiff_t>(first_);
  }
  const_iterator end() const noexcept { return items_.end(); }
  reverse_iterator rbegin() noexcept { return reverse_iterator(end()); }
  reverse_iterator rend() noexcept { return reverse_iterator(begin()); }
  const_reverse_iterator rbegin() const noexcept { return const_reverse_iterator(end()); }
  const_reverse_iterator rend() const noexcept { return const_reverse_iterator(begin()); }

  T& operator[](std::size_t i) { return items_[first_ + i]; }
  const T& operator[](std::size_t i) const { return items_[first_ + i]; }
  T& front() { return items_[first_]; }
  const T& front() const { return items_[first_]; }
  T& back() { return items_.back(); }
  const T& back() const { return items_.back(); }

  template <class... Args>
  T& emplace_back(Args&&... args) {
    if (first_ > 0 && items_.size() == items_.capacity()) compact();
    return items_.emplace_back(std::forward<Args>(args)...);
  }

  void pop_front() {
    items_[first_] = T{};  // its memory goes now, not at the next compaction
    if (++first_ == items_.size()) clear();
  }

  // Removes one entry; returns the iterator to the entry after it. The
  // oldest goes in constant time, any other by moving the newer ones down.
  iterator erase(iterator it) {
    if (it == begin()) {
      pop_front();
      return begin();
    }
    return items_.erase(it);
  }

  void clear() noexcept {
    items_.clear();
    first_ = 0;
  }

  // Gives back the memory beyond the entries (and the gap before them).
  void shrink_to_fit() {
    compact();
    items_.shrink_to_fit();
  }

 private:
  void compact() {
    items_.erase(items_.begin(), begin());
    first_ = 0;
  }

  std::vector<T> items_;  // [first_, size): the entries, oldest first
  std::size_t first_ = 0;
};

}  // namespace gw::domain
